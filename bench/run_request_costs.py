#!/usr/bin/python3
"""run_request_costs.py — what expensive requests cost nnd, and what they cost the others:

  1. POST /v1/specs/validate on a large generated dataset (NND_BENCH_ROWS rows, default
     2,000,000: about 170 MB of CSV): the first validation (parse + plan) and the next ones
     (the parsed table comes from the cache: plan only), median of NND_BENCH_REPEAT (10);
  2. /healthz while 8 validations of that dataset run at once with --table-cache 0 (each parses):
     the worst and median latency of /healthz polled every 50 ms;
  3. GET /metrics with 15,000 stored runs (written straight into nnd.db), median of 50.

Usage: NND_BIN=build/release/server/nnd bench/run_request_costs.py [--quick]
(--quick: 200,000 rows, for a smoke run). Python 3 standard library only."""

import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import http.client

NND = os.environ.get("NND_BIN", "build/release/server/nnd")
QUICK = "--quick" in sys.argv
ROWS = int(os.environ.get("NND_BENCH_ROWS", "200000" if QUICK else "2000000"))
REPEAT = int(os.environ.get("NND_BENCH_REPEAT", "10"))

SPEC = {"name": "bench", "target": "y", "preprocess": [
    {"op": "one_hot", "columns": ["label"]}, {"op": "log10", "columns": ["a"]},
    {"op": "normalize", "columns": "inputs"}],
    "network": {"hidden": [{"units": 32}, {"units": 32}]}, "training": {"epochs": 10}}


class Nnd:
    def __init__(self, tmp, args=(), data_dir=None):
        self.dir = data_dir or tempfile.mkdtemp(dir=tmp)
        self.proc = subprocess.Popen([NND, "--listen", "127.0.0.1:0", "--data-dir", self.dir,
                                      "--quiet", *args], stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        m = re.search(r":(\d+) ", line)
        if not m:
            raise SystemExit("nnd did not start: " + line)
        self.port = int(m.group(1))

    def req(self, method, path, body=None, headers=None, timeout=3600):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)


def make_csv(path, rows):
    with open(path, "w") as f:
        f.write("a,b,c,d,e,f,g,label,y\n")
        for i in range(rows):
            f.write("%d,%d.5,%d,%d.25,%d,%d,%d,k%d,%d\n" % (i + 1, i % 97, i % 13, i % 1000,
                                                            i * 7 % 101, i % 3, i % 17, i % 50,
                                                            i % 11))


def upload(n, path):
    with open(path, "rb") as f:
        status, body = n.req("POST", "/v1/datasets?name=bench", body=f,
                             headers={"Content-Type": "text/csv",
                                      "Content-Length": str(os.path.getsize(path))})
    if status not in (200, 201):
        raise SystemExit("upload: %d %s" % (status, body[:200]))
    return json.loads(body)["id"]


def validate(n, ds):
    t = time.time()
    status, body = n.req("POST", "/v1/specs/validate", body=json.dumps({"dataset": ds, "spec": SPEC}),
                         headers={"Content-Type": "application/json"})
    if status != 200:
        raise SystemExit("validate: %d %s" % (status, body[:300]))
    return time.time() - t


def main():
    tmp = tempfile.mkdtemp(prefix="nnd-bench-")
    try:
        csv = os.path.join(tmp, "big.csv")
        make_csv(csv, ROWS)
        mb = os.path.getsize(csv) / 1e6
        n = Nnd(tmp)
        ds = upload(n, csv)
        first = validate(n, ds)
        again = statistics.median(validate(n, ds) for _ in range(REPEAT))
        n.stop()
        print("| validate on %s rows (%.0f MB) | first (parse + plan) %.2f s | repeated (cached "
              "table, plan only) %.3f s |" % (format(ROWS, ","), mb, first, again))

        # an nnd from before the table cache has no --table-cache: every validation parses there
        has_cache = "--table-cache" in subprocess.run([NND, "--help"], capture_output=True,
                                                      text=True).stdout
        n = Nnd(tmp, ["--table-cache", "0"] if has_cache else [])
        ds = upload(n, csv)
        threads = [threading.Thread(target=validate, args=(n, ds)) for _ in range(8)]
        for t in threads:
            t.start()
        lat = []
        while any(t.is_alive() for t in threads):
            t0 = time.time()
            status, _ = n.req("GET", "/healthz")
            lat.append(time.time() - t0)
            time.sleep(0.05)
        for t in threads:
            t.join()
        n.stop()
        print("| /healthz during 8 uncached validations | %d polls | median %.1f ms, worst %.1f ms |"
              % (len(lat), 1000 * statistics.median(lat), 1000 * max(lat)))

        n = Nnd(tmp)
        n.stop()
        db = sqlite3.connect(os.path.join(n.dir, "nnd.db"))
        spec = json.dumps({"name": "fake", "target": ["y"]})
        db.executemany("INSERT INTO runs (id, status, progress, spec_json, spec_hash, spec_name, "
                       "created_at, attempts) VALUES (?, ?, 1, ?, ?, 'fake', ?, 1)",
                       [("%032x" % (i + 1), ("succeeded", "failed")[i % 2], spec, "e" * 64, i)
                        for i in range(15000)])
        db.commit()
        db.close()
        n2 = Nnd(tmp, data_dir=n.dir)
        lat = []
        for _ in range(50):
            t0 = time.time()
            n2.req("GET", "/metrics")
            lat.append(time.time() - t0)
        n2.stop()
        print("| GET /metrics with 15,000 runs | 50 scrapes | median %.2f ms, worst %.2f ms |" %
              (1000 * statistics.median(lat), 1000 * max(lat)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
