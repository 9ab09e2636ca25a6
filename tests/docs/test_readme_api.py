#!/usr/bin/env python3
"""test_readme_api — the README's API table and server/openapi.json name the same endpoints.

Every (method, path) of openapi.json must appear in a row of the README's "The HTTP API" table
(a row may list several, e.g. "GET /v1/datasets, GET /v1/datasets/{id}"), and every endpoint a
README row names must exist in openapi.json. Also checks that every flag `nnd --help` prints is in
the README's configuration table."""
import json
import os
import re
import subprocess
import sys

root = os.environ.get("NN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
api = json.load(open(os.path.join(root, "server", "openapi.json"), encoding="utf-8"))
section = readme.split("## The HTTP API", 1)[1].split("\n## ", 1)[0]
named = set()
for row in section.splitlines():
    if not row.startswith("| `"):
        continue
    cell = row.split("|")[1]
    for method, path in re.findall(r"`(GET|POST|DELETE|PUT|PATCH) ([^`?\s]+)", cell):
        named.add((method, path))
documented = {(m.upper(), p) for p, ops in api["paths"].items() for m in ops}
for ep in sorted(documented):
    check(ep in named, f"README's API table lacks {ep[0]} {ep[1]}")
for ep in sorted(named):
    check(ep in documented, f"README names {ep[0]} {ep[1]}, which openapi.json does not have")
check(len(documented) >= 19, f"openapi.json documents only {len(documented)} endpoints")

nnd = os.environ.get("NND_BIN")
if nnd:
    out = subprocess.run([nnd, "--help"], capture_output=True, text=True, timeout=10).stdout
    flags = set(re.findall(r"^\s+(--[a-z-]+)", out, re.M)) - {"--help", "--version"}
    config = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for f in sorted(flags):
        check(f"`{f}" in config, f"README's configuration table lacks {f}")
    check(len(flags) >= 10, f"nnd --help lists only {len(flags)} flags")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
