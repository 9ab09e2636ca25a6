#!/usr/bin/python3
"""pg_nodes.py — is PostgreSQL the bottleneck? nnd on one throwaway PostgreSQL cluster, side by
side in one command:

  - claim latency: a run posted to an idle node, from its creation to its start (created_at →
    started_at, both stamped by the store), median of CLAIMS runs;
  - 8 queued runs of the seed spec (examples/kc_house_seed.json, EPOCHS epochs × 8 folds + the
    refit) on one node with 2 workers against two nodes with 1 worker each, and on SQLite (one
    node, 2 workers) for reference: wall time from the first POST to the last run's end, and
    events stored per second meanwhile;
  - the metrics of every run compared across the three: the same spec and data give the same
    numbers bit for bit, whatever the node count.

  bench/pg_nodes.py [BUILD_DIR]      (default build/rel; needs nnd built there and PostgreSQL)

EPOCHS (default 300: the seed workflow) and RUNS (default 8) shorten it for a smoke run. Prints
one table. Exit 1 when a step fails, 2 when PostgreSQL or nnd is missing."""

import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build", "rel")
os.environ.setdefault("NND_BIN", os.path.join(BUILD, "server", "nnd"))
os.environ.setdefault("NN_SOURCE_DIR", REPO)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import nndtest  # noqa: E402
import pgtest  # noqa: E402

EPOCHS = int(os.environ.get("EPOCHS", "300"))
RUNS = int(os.environ.get("RUNS", "8"))
CLAIMS = 7


def seed_spec(seed):
    with open(nndtest.KC_SEED) as f:
        spec = json.load(f)
    spec["training"]["epochs"] = EPOCHS
    spec["seed"] = seed
    return spec


def start(args, data_root, i):
    os.makedirs(data_root, exist_ok=True)
    d = nndtest.Daemon(os.path.join(data_root, "node-%d" % i), args)
    d.start()
    return d


def events_stored(cluster, dbname, sqlite_path):
    if sqlite_path:
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % sqlite_path, uri=True)
        try:
            return db.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            db.close()
    out = cluster._run(["psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "nnd", "-d",
                        dbname, "-At", "-c", "SELECT count(*) FROM events"]).stdout
    return int(out.strip())


def postgres_cpu():
    """CPU seconds used so far by every postgres process (server and backends) of the machine."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        if comm.startswith("postgres"):
            fields = st[st.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / hz


def measure(label, cluster, dbname, nodes_workers, root):
    """Starts the nodes, measures; returns (claim ms, wall s, events/s, {seed: metrics})."""
    args_db = [] if dbname is None else ["--db", cluster.url().rsplit("/", 1)[0] + "/" + dbname]
    if dbname:
        cluster.psql("CREATE DATABASE %s" % dbname)
    nodes = [start(args_db + ["--workers", str(w), "--max-queued", "100"], os.path.join(root, label), i)
             for i, w in enumerate(nodes_workers)]
    try:
        with open(nndtest.KC_CSV, "rb") as f:
            ds = nodes[0].upload(f.read(), name="kc").json()["id"]
        # claim latency on an idle system: one short run at a time
        claims = []
        for i in range(CLAIMS):
            spec = seed_spec(1000 + i)
            spec["training"]["epochs"] = 1
            spec["training"]["validation"] = {"type": "holdout"}
            rid = nodes[i % len(nodes)].create_run(ds, spec).json()["id"]
            run = nodes[0].wait_run(rid, timeout=120)
            if run["status"] != "succeeded":
                raise RuntimeError("%s: claim run %s" % (label, run["status"]))
            claims.append(run["started_at"] - run["created_at"])
        sqlite_path = None if dbname else os.path.join(nodes[0].data_dir, "nnd.db")
        e0 = events_stored(cluster, dbname, sqlite_path)
        c0 = postgres_cpu()
        t0 = time.time()
        ids = {}
        for i in range(RUNS):
            ids[i] = nodes[i % len(nodes)].create_run(ds, seed_spec(i + 1)).json()["id"]
        metrics = {}
        for i, rid in ids.items():
            run = nodes[0].wait_run(rid, timeout=3600)
            if run["status"] != "succeeded":
                raise RuntimeError("%s: run %s %s: %s" % (label, rid, run["status"], run.get("error")))
            m = run["metrics"]
            metrics[i] = (m["r2"], m["rmse"], m["mae"])
        wall = time.time() - t0
        cpu = postgres_cpu() - c0
        e1 = events_stored(cluster, dbname, sqlite_path)
        return statistics.median(claims), wall, (e1 - e0) / wall, cpu, e1 - e0, metrics
    finally:
        for d in nodes:
            d.stop()


def main():
    if not os.access(os.environ["NND_BIN"], os.X_OK):
        print("pg_nodes: build nnd in %s first" % BUILD, file=sys.stderr)
        return 2
    try:
        cluster = pgtest.Cluster()
    except RuntimeError as e:
        print("pg_nodes: %s" % e, file=sys.stderr)
        return 2
    import tempfile
    root = tempfile.mkdtemp(prefix="nnd-pgbench-")
    rows = []
    try:
        rows.append(("SQLite, 1 node × 2 workers",) + measure("sqlite", cluster, None, [2], root))
        rows.append(("PostgreSQL, 1 node × 2 workers",) + measure("pg1", cluster, "bench_one", [2], root))
        rows.append(("PostgreSQL, 2 nodes × 1 worker",) + measure("pg2", cluster, "bench_two", [1, 1], root))
    except (RuntimeError, AssertionError, OSError, KeyError) as e:
        print("pg_nodes: %s" % e, file=sys.stderr)
        return 1
    finally:
        cluster.stop()
        import shutil
        shutil.rmtree(root, ignore_errors=True)
    import platform
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.machine())
    print()
    print("nnd on PostgreSQL — %s, %d cores; %d seed runs of %d epochs × 8 folds + refit"
          % (cpu, os.cpu_count(), RUNS, EPOCHS))
    print("%-32s %9s %8s %10s %9s %16s" % ("store", "claim ms", "wall s", "vs 1 node", "events/s",
                                             "PostgreSQL CPU"))
    base = rows[1][2]
    for label, claim, wall, evs, cpu, n_ev, _ in rows:
        pg = "%.1f s (%.0f µs/ev)" % (cpu, 1e6 * cpu / n_ev) if "PostgreSQL" in label and n_ev else "-"
        print("%-32s %9.1f %8.1f %9.2fx %9.0f %16s" % (label, claim, wall, wall / base, evs, pg))
    same = all(r[6] == rows[0][6] for r in rows)
    print("metrics of every run bit-identical across the three: %s" % ("yes" if same else "NO"))
    print("(goal: two nodes × 1 worker within 1.10x of one node × 2 workers)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
