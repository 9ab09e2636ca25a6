#!/usr/bin/python3
"""test_faults.py — nnd under faults: SIGKILL at random moments (seeded) across uploads,
training and writes, then a clean start: every run ends, nothing finished is lost, the database
passes PRAGMA integrity_check and event ids are contiguous; a full disk (a 3 MB tmpfs) gives 507
problems, leaves no partial file and keeps reads working, and uploads work again once space is
freed; a write lock held on nnd.db from outside is waited for when short and turns into a clean
503 with Retry-After when longer than nnd's bounded wait.

Environment: NND_FAULT_SEED (default 2024), NND_FAULT_KILLS (default 22), NN_SKIP_FULL_DISK=1 to
skip the full-disk test where tmpfs cannot be mounted (it fails otherwise). The work is fixed by
the seed (a plan of actions per life, at most 24 runs of at most 400 epochs), so the test does
the same amount of work on a fast or a slow, loaded machine."""

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

from nndtest import SLOW, Daemon, Suite, files_settled, kc_slice, seed_spec

T = Suite("faults")
SEED = int(os.environ.get("NND_FAULT_SEED", "2024"))
KILLS = int(os.environ.get("NND_FAULT_KILLS", "22"))
TERMINAL = ("succeeded", "failed", "cancelled")


def small(epochs, k=2):
    spec = seed_spec(epochs=epochs, k=k)
    spec["network"]["hidden"] = [{"units": 8, "activation": "relu", "repeat": 2}]
    return spec


def event_ids(d, run_id):
    r = d.get("/v1/runs/%s/events" % run_id, headers={"Accept": "application/x-ndjson"},
              timeout=30)
    if r.status != 200:
        return None
    import json
    return [json.loads(x)["id"] for x in r.body.splitlines() if x.strip()]


def all_runs(d, query=""):
    """Every run, following next_cursor."""
    out, cursor = [], None
    while True:
        q = "/v1/runs?limit=200" + query + ("&cursor=" + cursor if cursor else "")
        page = d.get(q, timeout=30).json()
        out += page["runs"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def integrity(db_path):
    con = sqlite3.connect(db_path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


@T.test
def test_random_kills():
    rng = random.Random(SEED)
    data_dir = tempfile.mkdtemp(prefix="data-", dir=T.tmp)
    d = Daemon(data_dir, args=["--workers", "2"])
    T.daemons.append(d)
    base = kc_slice(2000)  # ≈ 230 kB: a kill often lands mid-upload
    datasets = {}   # id → sha256 of what was uploaded (answered 201/200)
    finished = {}   # run id → (status, error, event ids, predictions digest) seen finished
    runs = set()
    lock = threading.Lock()
    n_up = [0]

    def upload():
        n_up[0] += 1
        body = base + b"".join(b"%d,20141013T000000,%d,3,1,1180,5650,1,0,0,3,7,1180,0,"
                               b"1955,0,98178,47.5,-122.2,1340,5650\n" %
                               (9000000000 + n_up[0] * 10 + j, 200000 + j) for j in range(3))
        r = d.upload(body, name="u%d" % n_up[0])
        if r.status in (200, 201):
            with lock:
                datasets[r.json()["id"]] = r.json()["sha256"]

    def create(epochs):
        if not datasets:
            return
        ds = sorted(datasets)[epochs % len(datasets)]
        r = d.create_run(ds, small(epochs))
        if r.status == 202:
            with lock:
                runs.add(r.json()["id"])

    def read():
        lst = d.get("/v1/runs?limit=200", timeout=10)
        for run in lst.json()["runs"] if lst.status == 200 else []:
            rid = run["id"]
            if run["status"] not in TERMINAL or rid in finished:
                continue
            ids = event_ids(d, rid)
            pred = None
            if run["status"] == "succeeded":
                p = d.get("/v1/runs/%s/predictions" % rid, timeout=10)
                pred = hashlib.sha256(p.body).hexdigest() if p.status == 200 else None
            full = d.get("/v1/runs/" + rid, timeout=10)  # the list has no error
            if full.status == 200 and ids is not None and (run["status"] != "succeeded" or pred):
                with lock:
                    finished[rid] = (run["status"], full.json().get("error"), ids, pred)
                runs.add(rid)

    # The work is planned by count from the seed, not by how fast this machine is: each life runs
    # a fixed list of actions, the last of them interrupted by the kill after a seeded delay of
    # at most 0.3 s; at most RUNS runs are created, of at most 400 epochs.
    RUNS = 24
    plan, created = [], 0
    for life in range(KILLS):
        acts = []
        for _ in range(rng.randint(3, 7)):
            x = rng.random()
            if x < 0.3 or life == 0:
                acts.append(("upload", 0))
            elif x < 0.6 and created < RUNS:
                acts.append(("create", rng.choice([5, 20, 100, 400])))
                created += 1
            else:
                acts.append(("read", 0))
        plan.append((acts, rng.uniform(0.0, 0.3)))

    def act(acts):
        for kind, arg in acts:
            try:
                if kind == "upload":
                    upload()
                elif kind == "create":
                    create(arg)
                else:
                    read()
            except Exception:  # noqa: BLE001 — the kill cuts requests off
                pass

    for acts, delay in plan:
        d.start()
        act(acts[:-1])
        th = threading.Thread(target=act, args=(acts[-1:],), daemon=True)
        th.start()  # the last action is in flight when the kill comes
        time.sleep(delay)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        th.join(30)
        d._forget()
    print("# %d SIGKILLs (seed %d): %d datasets, %d runs created, %d seen finished before a kill"
          % (KILLS, SEED, len(datasets), len(runs), len(finished)))
    T.check(len(runs) >= 5 and len(finished) >= 3, "the kills hit a mix of work",
            (len(runs), len(finished)))
    T.eq(integrity(os.path.join(data_dir, "nnd.db")), "ok",
         "PRAGMA integrity_check after %d SIGKILLs (before a clean start)" % KILLS)

    tmp = os.path.join(data_dir, "tmp")
    print("# partial uploads left in tmp/ by the kills: %d" %
          len(os.listdir(tmp) if os.path.isdir(tmp) else []))
    d.start()
    T.eq(os.listdir(tmp) if os.path.isdir(tmp) else [], [],
         "a clean start removes the partial uploads of killed processes")
    T.check(runs <= {r["id"] for r in all_runs(d)}, "every accepted run is still listed",
            sorted(runs - {r["id"] for r in all_runs(d)})[:5])
    deadline = time.time() + 300 * SLOW
    while time.time() < deadline:
        left = [r for r in all_runs(d) if r["status"] not in TERMINAL]
        if not left:
            break
        time.sleep(0.2)
    ends = {}
    lost = []
    gaps = []
    for r in all_runs(d):
        run = d.run(r["id"])
        ends[run["status"]] = ends.get(run["status"], 0) + 1
        T.check(run["status"] in TERMINAL and (run["status"] != "failed" or run.get("error")),
                "run %s ends succeeded, failed with a reason or cancelled" % r["id"][:8],
                (run["status"], run.get("error")))
        ids = event_ids(d, r["id"])
        if ids != list(range(1, len(ids or []) + 1)) or not ids:
            gaps.append((r["id"], (ids or [])[:5], len(ids or [])))
        if r["id"] in finished:
            st, err, fids, pred = finished[r["id"]]
            now_pred = None
            if st == "succeeded":
                p = d.get("/v1/runs/%s/predictions" % r["id"])
                now_pred = hashlib.sha256(p.body).hexdigest() if p.status == 200 else None
            if (run["status"], run.get("error"), ids, now_pred) != (st, err, fids, pred):
                lost.append((r["id"][:8], "was", st, err, len(fids), pred and pred[:8], "now",
                             run["status"], run.get("error"), len(ids or []),
                             now_pred and now_pred[:8]))
    print("# after the kills: runs %s" % ends)
    reasons = sorted({(d.run(r["id"]).get("error") or "")[:60]
                      for r in all_runs(d, "&status=failed")})
    if reasons:
        print("# failure reasons: %s" % reasons)
    T.eq(lost, [], "no finished run, event or prediction lost (%d checked)" % len(finished))
    T.eq(gaps, [], "event ids of every run contiguous from 1")
    listed = {x["id"]: x["sha256"] for x in d.get("/v1/datasets").json()["datasets"]}
    T.check(all(listed.get(k) == v for k, v in datasets.items()),
            "every accepted upload is still there (%d)" % len(datasets),
            [k for k in datasets if k not in listed])
    for k, sha in list(datasets.items())[:5]:
        body = d.get("/v1/datasets/%s/csv" % k).body
        T.eq(hashlib.sha256(body).hexdigest(), sha, "dataset %s intact" % k[:8])
    T.stop_daemon(d)
    T.eq(os.listdir(tmp) if os.path.isdir(tmp) else [], [],
         "no temporary upload left after a clean start and stop")
    T.eq(integrity(os.path.join(data_dir, "nnd.db")), "ok", "PRAGMA integrity_check = ok at the end")


@T.test
def test_kill_mid_upload():
    """A SIGKILL in the middle of an upload leaves a partial file in tmp/; the next start
    removes it (the files of a live process sharing the data dir are kept)."""
    d = T.start_daemon(["--workers", "1"])
    c = d.conn()
    c.putrequest("POST", "/v1/datasets?name=half")
    c.putheader("Content-Type", "text/csv")
    c.putheader("Content-Length", str(1 << 20))
    c.endheaders()
    c.send(kc_slice(1000))
    tmp = os.path.join(d.data_dir, "tmp")
    deadline = time.time() + 10 * SLOW
    while not (os.path.isdir(tmp) and os.listdir(tmp)) and time.time() < deadline:
        time.sleep(0.05)
    T.eq(len(os.listdir(tmp)) if os.path.isdir(tmp) else 0, 1, "a partial upload in tmp/")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d._forget()
    c.close()
    keep = os.path.join(tmp, "upload-1-abcdef")  # pid 1 is alive: not ours to remove
    open(keep, "wb").close()
    d.start()
    T.eq(os.listdir(tmp), ["upload-1-abcdef"], "the next start removes the killed one's file")
    os.unlink(keep)
    T.stop_daemon(d)


def mount_tmpfs(path, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                       capture_output=True, text=True)
    return r.returncode == 0, (r.stderr or r.stdout).strip()


def fill(path):
    """Writes to path until the disk is full; returns the bytes written."""
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    w = os.write(fd, b"\0" * size)
                except OSError:
                    break
                n += w
                if w < size:
                    break
    finally:
        os.close(fd)
    return n


@T.test
def test_full_disk():
    mnt = tempfile.mkdtemp(prefix="tmpfs-", dir=T.tmp)
    ok, why = mount_tmpfs(mnt, "3m")
    if not ok:
        if os.environ.get("NN_SKIP_FULL_DISK") == "1":
            print("# full disk test skipped (NN_SKIP_FULL_DISK=1): mount failed: %s" % why)
            return
        T.check(False, "mount a 3 MB tmpfs for the full-disk test (as root; NN_SKIP_FULL_DISK=1 "
                "skips it)", why)
        return
    try:
        data_dir = os.path.join(mnt, "data")
        d = T.start_daemon(["--workers", "1"], data_dir=data_dir)
        first = d.upload(kc_slice(200), name="before")
        T.status(first, 201, "an upload before the disk fills")
        ds = first.json()["id"]
        run = d.create_run(ds, small(2)).json()["id"]
        T.eq(d.wait_run(run)["status"], "succeeded", "a run before the disk fills")
        datasets_before = d.get("/v1/datasets").json()["datasets"]
        runs_before = [r["id"] for r in d.get("/v1/runs").json()["runs"]]
        files_before = sorted(os.listdir(os.path.join(data_dir, "datasets")))
        filler = os.path.join(mnt, "filler")
        n = fill(filler)
        print("# full disk: filled %d kB of the 3 MB tmpfs" % (n // 1024))
        big = kc_slice(2000)
        for i in range(3):
            r = d.upload(big, name="full%d" % i)
            T.problem(r, 507, "upload on a full disk")
            T.eq(r.json().get("title") if r.ctype.startswith("application/problem") else None,
                 "Insufficient Storage", "507 title")
        body = T.problem(d.create_run(ds, small(2)), 507, "POST /v1/runs on a full disk")
        if body:
            print("# full disk: run refused with: %s" % body["detail"])
        r = d.get("/v1/datasets")
        T.status(r, 200, "GET /v1/datasets on a full disk")
        T.eq(r.json()["datasets"], datasets_before, "the dataset list is unchanged")
        T.eq([x["id"] for x in d.get("/v1/runs").json()["runs"]], runs_before,
             "the run list is unchanged")
        T.status(d.get("/v1/runs/%s/predictions" % run), 200, "predictions read on a full disk")
        T.status(d.get("/healthz"), 200, "healthz on a full disk")
        T.eq(sorted(os.listdir(os.path.join(data_dir, "datasets"))), files_before,
             "no partial dataset file")
        T.eq(files_settled(data_dir, "tmp", []), [], "no partial temporary file")
        os.unlink(filler)
        r = d.upload(big, name="after")
        T.status(r, 201, "upload once space is freed")
        run2 = d.create_run(r.json()["id"], small(2))
        T.status(run2, 202, "a run once space is freed")
        T.eq(d.wait_run(run2.json()["id"])["status"], "succeeded", "and it succeeds")
        T.stop_daemon(d)
        T.eq(integrity(os.path.join(data_dir, "nnd.db")), "ok", "integrity_check after the full disk")
    finally:
        for dd in T.daemons:
            dd.kill()
        subprocess.run(["umount", "-l", mnt], capture_output=True)


@T.test
def test_busy_database():
    d = T.start_daemon(["--workers", "1"])
    ds = d.upload(kc_slice(200)).json()["id"]
    db = os.path.join(d.data_dir, "nnd.db")

    def hold(seconds, started):
        con = sqlite3.connect(db, timeout=10, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        started.set()
        time.sleep(seconds)
        con.execute("ROLLBACK")
        con.close()

    # a 2 s lock (shorter than nnd's bounded wait of 5 s): the writes wait and succeed
    started = threading.Event()
    th = threading.Thread(target=hold, args=(2, started))
    th.start()
    started.wait()
    t0 = time.time()
    r1 = d.upload(b"x,y\n1,2\n3,4\n5,6\n", name="during-lock")
    r2 = d.create_run(ds, small(2))
    took = time.time() - t0
    th.join()
    T.status(r1, 201, "upload during a 2 s write lock")
    T.status(r2, 202, "run creation during a 2 s write lock")
    T.check(took >= 1.0, "they waited for the lock", "%.2fs" % took)
    print("# busy: writes during a 2 s lock answered after %.1f s" % took)
    d.wait_run(r2.json()["id"], timeout=60)
    # a 14 s lock (longer than the bounded wait): a clean 503 with Retry-After, no hang
    started = threading.Event()
    th = threading.Thread(target=hold, args=(14, started))
    th.start()
    started.wait()
    t0 = time.time()
    r = d.upload(b"x,y\n7,8\n9,10\n", name="long-lock")
    took = time.time() - t0
    body = T.problem(r, 503, "upload during a 14 s write lock")
    T.check(body and "busy" in body["detail"], "the 503 says the database is busy", body)
    ra = r.header("Retry-After")
    T.check(ra and ra.isdigit() and int(ra) > 0, "the 503 has Retry-After", ra)
    T.check(took < 8 * SLOW, "answered within the bounded wait, not after the lock",
            "%.1fs" % took)
    print("# busy: a write during a 14 s lock got 503 after %.1f s" % took)
    r = d.create_run(ds, small(2))
    T.problem(r, 503, "run creation during a 14 s write lock")
    T.status(d.get("/v1/datasets"), 200, "reads go on during the lock")
    T.status(d.get("/healthz"), 200, "healthz during the lock")
    th.join()
    r = d.upload(b"x,y\n7,8\n9,10\n", name="after-lock")
    T.status(r, 201, "an upload after the lock is released")
    run = d.create_run(ds, small(2))
    T.status(run, 202, "a run after the lock is released")
    T.eq(d.wait_run(run.json()["id"], timeout=60)["status"], "succeeded", "and it succeeds")
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
