#!/usr/bin/python3
"""test_structure.py — the layout says the architecture, and this test keeps it true.

1. Layers: libnn is lib/core < data < spec < prep < cv < study, nnd is server/base < store < engine <
   http < (srv_app.c, main.c). A file may include headers of its own layer and the layers below
   (server files any libnn header, cli/ only libnn); headers in <layer>/internal/ only from their
   own layer. A lower layer that includes a higher one fails here (and does not compile: each
   layer is a library linking only downward).
2. No circle of files: from the object files of the build, file A → file B when A uses a symbol
   B defines; no two files of lib/, server/ or cli/ may reach each other (one owner per
   decision: a file that is called back by what it calls is two files pretending to be one).
   Headers may not include each other in a circle either.
3. No C file over 800 lines.

Environment: NN_SOURCE_DIR (the source tree), NN_BUILD_DIR (a build tree with objects)."""

import os
import re
import subprocess
import sys

SRC = os.environ.get("NN_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILD = os.environ.get("NN_BUILD_DIR", "")
LIB = ["core", "data", "spec", "prep", "cv", "study"]
SERVER = ["base", "store", "engine", "http"]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def sources(top):
    for dirpath, _, names in os.walk(os.path.join(SRC, top)):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.join(dirpath, n)


def layer_of(path):
    """(tree, rank, layer, internal) of a file under lib/ or server/ (rank None: on top)."""
    rel = os.path.relpath(path, SRC).split(os.sep)
    if rel[0] == "lib" and len(rel) >= 3:
        return "lib", LIB.index(rel[1]), rel[1], "internal" in rel
    if rel[0] == "server":
        if len(rel) >= 3 and rel[1] in SERVER:
            return "server", SERVER.index(rel[1]), rel[1], "internal" in rel
        return "server", len(SERVER), "app", False
    if rel[0] == "cli":
        return "cli", 0, "cli", False
    return None


def header_index():
    idx = {}
    for top in ("lib", "server", "cli"):
        for p in sources(top):
            if p.endswith(".h"):
                idx.setdefault(os.path.basename(p), []).append(p)
    return idx


def includes(path):
    with open(path, encoding="utf-8") as f:
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.M)


def check_layers():
    idx = header_index()
    checked = 0
    for top in ("lib", "server", "cli"):
        for p in sources(top):
            me = layer_of(p)
            for inc in includes(p):
                targets = idx.get(os.path.basename(inc), [])
                if not targets:
                    continue  # a generated or system header
                if len(targets) > 1:
                    fail("%s: header name %s is not unique" % (p, inc))
                t = layer_of(targets[0])
                checked += 1
                rel = os.path.relpath(p, SRC)
                if me[0] == "lib" and t[0] != "lib":
                    fail("%s includes %s: libnn includes nothing of nnd or nn" % (rel, inc))
                elif me[0] == "cli" and t[0] != "lib" and t[0] != "cli":
                    fail("%s includes %s: nn uses only libnn" % (rel, inc))
                elif me[0] == t[0] and t[1] > me[1]:
                    fail("%s (layer %s) includes %s of the higher layer %s" % (rel, me[2], inc,
                                                                                  t[2]))
                elif t[3] and (me[0], me[2]) != (t[0], t[2]):
                    fail("%s includes %s, internal to %s/%s" % (rel, inc, t[0], t[2]))
    print("ok   layers: %d includes checked" % checked)


def sccs(nodes, edges):
    """Tarjan's strongly connected components of size > 1."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def check_header_circles():
    idx = header_index()
    nodes, edges = set(), {}
    for top in ("lib", "server", "cli"):
        for p in sources(top):
            if not p.endswith(".h"):
                continue
            nodes.add(p)
            for inc in includes(p):
                for t in idx.get(os.path.basename(inc), []):
                    edges.setdefault(p, set()).add(t)
    for comp in sccs(nodes, edges):
        fail("headers include each other in a circle: " +
             ", ".join(os.path.relpath(c, SRC) for c in comp))
    print("ok   header include graph: %d headers" % len(nodes))


def objects():
    """(top, object, source) of every object file built from a source under lib/, server/ or
    cli/ that still exists (a build tree keeps objects of files since moved)."""
    pat = re.compile(r"^(.*)/(lib|server|cli)/CMakeFiles/[^/]+\.dir/(.+)\.o$")
    newest = {}  # source → (mtime, top, object): the object of the current target
    for dirpath, _, names in os.walk(BUILD):
        for n in names:
            obj = os.path.join(dirpath, n)
            m = pat.match(obj)
            if not m or not m.group(3).endswith(".c"):
                continue
            src = os.path.join(SRC, m.group(2), m.group(3))
            if os.path.exists(src):
                t = os.path.getmtime(obj)
                if src not in newest or t > newest[src][0]:
                    newest[src] = (t, m.group(2), obj)
    for src, (_, top, obj) in sorted(newest.items()):
        yield top, obj, os.path.relpath(src, SRC)


def check_call_circles():
    if not BUILD or not os.path.isdir(BUILD):
        fail("NN_BUILD_DIR is not a build tree: cannot check the call graph")
        return
    defs, uses, name = {}, {}, {}
    for top, obj, src in objects():
        key = (top, obj)
        name[key] = src
        out = subprocess.run(["nm", obj], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRC":
                defs.setdefault(parts[2], set()).add(key)
            elif len(parts) == 2 and parts[0] == "U":
                uses.setdefault(key, set()).add(parts[1])
    edges = {}
    for key, syms in uses.items():
        for s in syms:
            for d in defs.get(s, ()):
                if d != key and d[0] == key[0]:
                    edges.setdefault(key, set()).add(d)
    for comp in sccs(set(name), edges):
        fail("files call each other in a circle: " + ", ".join(name[c] for c in comp))
    print("ok   call graph: %d object files" % len(name))
    if len(name) < 60:
        fail("only %d object files found under %s" % (len(name), BUILD))


def check_sizes():
    n = 0
    for top in ("lib", "server", "cli", "tests", "fuzz", "bench", "examples"):
        for p in sources(top):
            n += 1
            with open(p, encoding="utf-8") as f:
                lines = sum(1 for _ in f)
            if lines > 800:
                fail("%s has %d lines (over 800: split it by topic)" %
                     (os.path.relpath(p, SRC), lines))
    print("ok   file sizes: %d C files" % n)


check_layers()
check_header_circles()
check_call_circles()
check_sizes()
print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
