#!/usr/bin/python3
"""test_multinode.py — three nnd nodes on one PostgreSQL database (a throwaway cluster of
pgtest.py on loopback), attacked: a node SIGKILLed mid-fold, a node SIGSTOPped for longer than
its lease and resumed (its late writes land nowhere), many short runs whose folds finish at once
on different nodes (each final fit promoted exactly once), `pg_ctl restart -m immediate` under
load (503 with Retry-After meanwhile, nothing lost), a stream on node A while B and C train,
A killed and the stream resumed on C with Last-Event-ID, a poisoned task failing only its run,
random SIGKILLs across the nodes (seeded), an upload to one node used by the others, a study
whose driving node is SIGKILLed (another node takes it over, the same leaderboard), three
nodes starting at once on an empty database (the migration waits for its advisory lock and is
applied once), a database newer than nnd refused.

After each test: every run terminal; every run's events contiguous from 1 with a terminal status
last; each fold and final fit finished, each attempt of it once (one checkpoint per finished
task while a run trains, none left after); nothing left running or queued; metrics and
predictions bit-identical to the same run on one node (an SQLite nnd, started once). Every wait is bounded by counts and by
deadlines scaled by NND_TEST_SLOW, never by the machine's speed.

Environment: NND_MULTINODE_QUICK=1 runs a subset (sanitizer builds), NND_MULTINODE_EPOCHS and
NND_MULTINODE_LEASE (see below) fit the folds and leases to a slow build, NND_FAULT_SEED (default
2024) seeds the random kills."""

import json
import os
import random
import signal
import subprocess
import threading
import time

from nndtest import SLOW, Suite, kc_slice, read_events, seed_spec, without_timings

T = Suite("multinode", needs_pg=True)
QUICK = os.environ.get("NND_MULTINODE_QUICK") == "1"
SEED = int(os.environ.get("NND_FAULT_SEED", "2024"))
# seconds; a dead node's task trains again after it (NND_MULTINODE_LEASE: ThreadSanitizer's
# builds, whose heartbeats are late under load, take longer ones)
LEASE = int(os.environ.get("NND_MULTINODE_LEASE", "0")) or max(3, int(round(3 * SLOW)))
TERMINAL = ("succeeded", "failed", "cancelled")
DATA = kc_slice(600)
# epochs: a fold of a few seconds on this data (about 0.1 ms an epoch; NND_MULTINODE_EPOCHS
# fewer where an epoch is much slower, ThreadSanitizer's build: about 10 ms)
LONG = int(os.environ.get("NND_MULTINODE_EPOCHS", "20000"))
EVENTS = ["--max-epoch-events", "3000"]  # long folds, few stored epochs
MIGRATE_LOCK = 7262367001  # the migration's pg_advisory_xact_lock key (server/store/srv_pg.c)


def spec(epochs, k=3, units=8):
    s = seed_spec(epochs=epochs, k=k)
    s["network"]["hidden"] = [{"units": units, "activation": "relu", "repeat": 2}]
    return s


# ---- one node's answers, for the references ----

_refs = {}


def reference(s):
    """(status, metrics without timings, predictions CSV) of spec s on one node with the
    embedded SQLite store, cached."""
    key = json.dumps(s, sort_keys=True)
    if key not in _refs:
        d = T.start_daemon(["--workers", "2", "--db", ""] + EVENTS)  # SQLite in its data dir
        try:
            ds = d.upload(DATA).json()["id"]
            run_id = d.create_run(ds, s).json()["id"]
            run = d.wait_run(run_id, timeout=300)
            _refs[key] = (run["status"], without_timings(run["metrics"]),
                          d.get("/v1/runs/%s/predictions?format=csv" % run_id).body)
        finally:
            T.stop_daemon(d, "the reference node exits 0")
    return _refs[key]


# ---- three nodes ----

class Nodes:
    """n nodes on a fresh database of the suite's cluster."""
    count = 0

    def __init__(self, n=3, workers=1, args=()):
        Nodes.count += 1
        self.name = "mn_%d" % Nodes.count
        self.url = T.db_url(self.name)
        self.dbname = self.url.rsplit("/", 1)[1]
        self.args = ["--db", self.url, "--workers", str(workers), "--lease", str(LEASE)] + \
            EVENTS + list(args)
        self.nodes = [T.start_daemon(self.args) for _ in range(n)]
        self.runs = {}  # run id → spec

    def sql(self, q):
        """Rows of a query as lists of strings."""
        out = T.cluster()._run(["psql", "-h", "127.0.0.1", "-p", str(T.pg.port), "-U", "nnd",
                                "-d", self.dbname, "-At", "-F", "|", "-v", "ON_ERROR_STOP=1",
                                "-c", q]).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def one(self, q):
        rows = self.sql(q)
        return rows[0][0] if rows else None

    def alive(self):
        return [d for d in self.nodes if d.alive()]

    def prefix(self, d):
        with open(os.path.join(d.data_dir, "node-id")) as f:
            return f.read().strip()

    def owner_of(self, run_id, task=None):
        """The live node training a task of the run (task None: any), or None."""
        q = "SELECT owner FROM tasks WHERE run_id = '%s' AND state = 'running'" % run_id
        if task is not None:
            q += " AND task = %d" % task
        for (owner,) in self.sql(q):
            for d in self.nodes:
                if d.alive() and owner.startswith(self.prefix(d)):
                    return d
        return None

    def create(self, d, ds, s):
        r = d.create_run(ds, s)
        T.status(r, 202, "a run created on a node")
        run_id = r.json()["id"]
        self.runs[run_id] = s
        return run_id

    def wait_all(self, timeout=240):
        deadline = time.time() + timeout * SLOW
        pending = set(self.runs)
        while pending and time.time() < deadline:
            d = self.alive()[0]
            for run_id in list(pending):
                r = d.get("/v1/runs/" + run_id)
                if r.status == 200 and r.json()["status"] in TERMINAL:
                    pending.discard(run_id)
            time.sleep(0.2)
        T.check(not pending, "every run ended", pending)

    def check_checkpoints(self):
        """Checkpoints are exactly the done folds of runs still training."""
        bad = self.one("SELECT count(*) FROM tasks t FULL JOIN checkpoints c "
                       "ON c.run_id = t.run_id AND c.task = t.task "
                       "WHERE (t.kind = 'fold' AND t.state = 'done') IS DISTINCT FROM "
                       "(c.run_id IS NOT NULL)")
        T.eq(bad, "0", "one checkpoint per done fold, none other")

    def check_end(self, expect=None):
        """Everything the file's docstring promises after a test."""
        self.wait_all()
        d = self.alive()[0]
        T.eq(self.one("SELECT count(*) FROM runs WHERE status IN ('queued', 'running')"), "0",
             "no run left queued or running")
        T.eq(self.one("SELECT count(*) FROM tasks"), "0", "no task left (nothing running)")
        T.eq(self.one("SELECT count(*) FROM checkpoints"), "0", "no checkpoint left")
        gaps = self.sql("SELECT r.id FROM runs r LEFT JOIN events e ON e.run_id = r.id "
                        "GROUP BY r.id, r.last_seq HAVING count(e.seq) <> r.last_seq "
                        "OR coalesce(max(e.seq), 0) <> r.last_seq OR min(e.seq) <> 1")
        T.eq(gaps, [], "every run's events are 1..n without a gap")
        ok = 0
        for run_id, s in self.runs.items():
            run = d.run(run_id)
            evs, _ = d.events(run_id, ndjson=True)
            ids = [e[0] for e in evs or []]
            if ids != list(range(1, len(ids) + 1)) or not evs or evs[-1][1] != "status" or \
                    evs[-1][2].get("status") != run["status"]:
                T.check(False, "run %s: events 1..n ending with its status" % run_id[:8],
                        (ids[-3:], evs[-1] if evs else None, run["status"]))
                continue
            if expect and run_id in expect and run["status"] != expect[run_id]:
                T.check(False, "run %s ended %s" % (run_id[:8], expect[run_id]),
                        (run["status"], run["error"]))
                continue
            if run["status"] != "succeeded":
                ok += 1
                continue
            # an attempt that finished and then lost its end (its node died before recording
            # it) trains again: a fold may finish in several attempts, each attempt once
            finished = sorted((e[2]["fold"], e[2].get("attempt")) for e in evs
                              if e[1] == "fold" and e[2].get("state") == "finished")
            k = s["training"]["validation"]["k"]
            if sorted(set(f for f, _ in finished)) != list(range(0, k + 1)) or \
                    len(set(finished)) != len(finished):
                T.check(False, "run %s: each fold and the final fit finished, each attempt "
                        "once" % run_id[:8], finished)
                continue
            status, metrics, preds = reference(s)
            same = status == "succeeded" and without_timings(run["metrics"]) == metrics and \
                d.get("/v1/runs/%s/predictions?format=csv" % run_id).body == preds
            if not same:
                T.check(False, "run %s: metrics and predictions equal one node's" % run_id[:8],
                        (run["metrics"].get("r2"), metrics.get("r2")))
                continue
            ok += 1
        T.eq(ok, len(self.runs), "every run: contiguous events, its status last, each fold "
             "finished once, results bit-identical to one node's (%d runs)" % len(self.runs))

    def stop(self):
        for d in self.nodes:
            if d.alive():
                T.stop_daemon(d)


def upload(nodes, d=None):
    r = (d or nodes.nodes[0]).upload(DATA)
    T.check(r.status in (200, 201), "upload → 201/200", r)
    return r.json()["id"]


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    T.check(False, what, "not within %ss" % (timeout * SLOW))
    return None


# ---- the tests ----

def full(fn):
    """A test left out of the quick subset (sanitizer builds)."""
    return fn if QUICK else T.test(fn)


@T.test
def test_datasets_and_runs_across_nodes():
    n = Nodes(3)
    a, b, c = n.nodes
    ds = upload(n, a)
    T.eq(b.get("/v1/datasets/%s/csv" % ds).body, DATA, "node B serves A's upload byte for byte")
    sha = b.get("/v1/datasets/" + ds).json()["sha256"]
    cached = os.path.join(b.data_dir, "datasets", sha + ".csv")
    T.check(os.path.exists(cached), "B keeps it in its cache by SHA-256")
    T.check(not os.path.exists(os.path.join(c.data_dir, "datasets", sha + ".csv")),
            "C has not fetched it yet")
    run_id = n.create(c, ds, spec(5, k=2))
    run = c.wait_run(run_id, timeout=120)
    T.eq(run["status"], "succeeded", "a run created on C succeeds")
    T.eq(b.run(run_id)["status"], "succeeded", "B answers for it too")
    T.eq(a.upload(DATA).status, 200, "the same bytes uploaded again: 200, the same dataset")
    r = c.get("/v1/datasets")
    T.eq([x["id"] for x in r.json()["datasets"]], [ds], "one dataset, listed by every node")
    r = a.get("/v1/studies")
    T.eq((r.status, r.json()["studies"]), (200, []), "studies on PostgreSQL: 200, none yet")
    n.check_end()
    T.status(b.request("DELETE", "/v1/datasets/" + ds), 204, "B deletes it")
    T.check(not os.path.exists(cached), "B's cached copy goes with it")
    T.eq(a.get("/v1/datasets/" + ds).status, 404, "A no longer finds it")
    T.eq(n.one("SELECT count(*) FROM dataset_chunks"), "0", "its bytes are gone from the database")
    n.stop()


@T.test
def test_sigkill_mid_fold():
    n = Nodes(3)
    ds = upload(n)
    run_id = n.create(n.nodes[0], ds, spec(LONG, k=3))
    victim = wait_for(lambda: n.owner_of(run_id), 60, "a node trains a fold")
    wait_for(lambda: float(n.one("SELECT progress FROM runs WHERE id = '%s'" % run_id) or 0) > 0.1,
             60, "the run made progress")
    victim.kill()
    n.check_checkpoints()
    T.check(victim.alive() is False, "a node is SIGKILLed mid-fold")
    n.check_end()
    evs, _ = n.alive()[0].events(run_id, ndjson=True)
    T.check(any(e[1] == "log" and "will train again" in e[2].get("message", "") for e in evs),
            "a log event says the dead node's task trains again")
    victim.start()  # its data dir: reclaims nothing of its own (already reclaimed)
    T.check(victim.get("/healthz").status == 200, "the killed node comes back")
    n.stop()


@full
def test_sigstop_longer_than_the_lease():
    n = Nodes(3)
    ds = upload(n)
    run_id = n.create(n.nodes[0], ds, spec(LONG, k=3))
    victim = wait_for(lambda: n.owner_of(run_id), 60, "a node trains a fold")
    task = int(n.one("SELECT task FROM tasks WHERE run_id = '%s' AND state = 'running' AND "
                     "owner LIKE '%s%%' LIMIT 1" % (run_id, n.prefix(victim))))
    wait_for(lambda: float(n.one("SELECT epochs_done::float / epochs_total FROM tasks WHERE "
                                 "run_id = '%s' AND task = %d" % (run_id, task)) or 0) > 0.15,
             60, "its fold made progress")
    attempt = int(n.one("SELECT attempt FROM tasks WHERE run_id = '%s' AND task = %d"
                        % (run_id, task)))
    victim.proc.send_signal(signal.SIGSTOP)
    try:
        wait_for(lambda: int(n.one("SELECT attempt FROM tasks WHERE run_id = '%s' AND task = %d"
                                   % (run_id, task)) or 0) > attempt,
                 LEASE * 6, "another node reclaims the stopped node's task")
        time.sleep(1.0)
    finally:
        victim.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: "lease lost" in victim.read_log(), 30, "the resumed node learns it lost it")
    n.check_end()
    evs, _ = victim.events(run_id, ndjson=True)
    mine = [e for e in evs if e[1] == "fold" and e[2].get("fold") == task + 1]
    T.check(not any(e[2].get("state") == "finished" and e[2].get("attempt") == attempt
                    for e in mine), "the stopped attempt's fold end landed nowhere", mine)
    late = n.one("SELECT count(*) FROM events WHERE run_id = '%s' AND data LIKE "
                 "'%%\"state\":\"finished\"%%\"attempt\":%d%%' AND data LIKE '%%\"fold\":%d,%%'"
                 % (run_id, attempt, task + 1))
    T.eq(late, "0", "nothing of the stopped attempt's end is stored")
    T.check("lease lost" in victim.read_log(), "its log says it stopped (lease lost)")
    n.stop()


@T.test
def test_folds_finishing_at_once():
    n = Nodes(3, args=["--max-active-runs", "2"])
    ds = upload(n)
    ids = [n.create(n.nodes[i % 3], ds, spec(3, k=2, units=4)) for i in range(4 if QUICK else 12)]
    n.check_end()
    d = n.nodes[1]
    once = 0
    for run_id in ids:
        evs, _ = d.events(run_id, ndjson=True)
        starts = [e for e in evs if e[1] == "fold" and e[2].get("fold") == 0 and
                  e[2].get("state") == "started"]
        once += len(starts) == 1
    T.eq(once, len(ids), "every run's final fit started exactly once")
    n.stop()


@T.test
def test_postgres_restart_under_load():
    n = Nodes(3)
    ds = upload(n)
    for i in range(6):
        n.create(n.nodes[i % 3], ds, spec(LONG * 3 // 10 if i % 2 else LONG // 10, k=3))
    wait_for(lambda: int(n.one("SELECT count(*) FROM tasks WHERE state = 'running'") or 0) >= 2,
             60, "tasks train")
    answers = {"503": 0, "retry_after": 0, "other": 0, "no_answer": 0, "ok": 0}
    ok_after = set()  # nodes that answered 200 to a request sent after the restart
    restarted = threading.Event()
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            for i, d in enumerate(n.nodes):
                after = restarted.is_set()
                try:
                    r = d.get("/v1/runs?limit=5", timeout=20)
                except OSError:
                    answers["no_answer"] += 1
                    continue
                if r.status == 503:
                    answers["503"] += 1
                    answers["retry_after"] += r.header("Retry-After") is not None
                elif r.status == 200:
                    answers["ok"] += 1
                    if after:
                        ok_after.add(i)
                else:
                    answers["other"] += 1
            time.sleep(0.02)
    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        time.sleep(0.5)
        T.cluster().restart("immediate")
        restarted.set()
        wait_for(lambda: len(ok_after) == len(n.nodes), 30, "every node answers 200 again")
    finally:
        stop.set()
        t.join(60 * SLOW)
    print("# requests during the restart: %s" % answers)
    T.eq((answers["other"], answers["no_answer"]), (0, 0),
         "every request answered, 200 or 503, while PostgreSQL restarts")
    T.eq(answers["retry_after"], answers["503"], "every 503 carries Retry-After")
    T.check(answers["503"] > 0, "some requests met the restart (503)", answers)
    n.check_end()
    T.check(all(d.alive() for d in n.nodes), "every node lived through it")
    n.stop()


@T.test
def test_stream_moves_to_another_node():
    n = Nodes(2)  # B and C train the folds
    b, c = n.nodes
    ds = upload(n, b)
    run_id = n.create(b, ds, spec(LONG // 2, k=2))
    wait_for(lambda: n.one("SELECT count(*) FROM tasks WHERE run_id = '%s' AND "
                           "state = 'running'" % run_id) == "2", 60, "B and C train a fold each")
    a = T.start_daemon(n.args)  # A only streams (it may take the final fit later)
    n.nodes.append(a)
    got = []
    conn = a.conn(120)
    conn.request("GET", "/v1/runs/%s/events" % run_id)
    resp = conn.getresponse()
    T.eq(resp.status, 200, "A streams the run (SSE)")
    for ev in read_events(resp, False):
        got.append(ev)
        if len(got) >= 40:
            break
    a.kill()
    conn.close()
    last = got[-1][0]
    T.eq([e[0] for e in got], list(range(1, last + 1)), "A streamed ids 1..%d live" % last)
    evs, r = c.events(run_id, headers={"Last-Event-ID": str(last)})
    T.eq(r.status, 200, "C resumes the stream after Last-Event-ID")
    ids = [e[0] for e in evs]
    T.eq(ids, list(range(last + 1, last + 1 + len(ids))), "C continues without gap or repeat")
    T.check(evs and evs[-1][1] == "status" and evs[-1][2]["status"] == "succeeded",
            "and ends with the run's final status", evs[-1] if evs else None)
    T.eq([e[2] for e in got], [e[2] for e in c.events(run_id)[0][:last]],
         "what A sent live is what is stored")
    n.check_end()
    n.stop()


@full
def test_poisoned_task_fails_only_its_run():
    n = Nodes(3)
    ds = upload(n)
    poison = spec(30, k=3)
    poison["training"]["optimizer"] = {"type": "sgd", "learning_rate": 1e6}
    good = [n.create(n.nodes[i], ds, spec(20, k=3)) for i in range(2)]
    bad = n.create(n.nodes[2], ds, poison)
    good.append(n.create(n.nodes[0], ds, spec(20, k=3)))
    expect = {r: "succeeded" for r in good}
    expect[bad] = "failed"
    n.check_end(expect)
    run = n.nodes[1].run(bad)
    T.check("diverged" in (run["error"] or ""), "the poisoned run failed with its reason",
            run["error"])
    n.stop()


@full
def test_random_kills_across_nodes():
    rng = random.Random(SEED)
    n = Nodes(3)
    ds = upload(n)
    kills = 3 if QUICK else 8
    for i in range(kills):
        n.create(n.nodes[rng.randrange(3)] if n.nodes[0].alive() else n.alive()[0], ds,
                 spec(rng.choice((300, 3000, 10000)), k=rng.choice((2, 3))))
        time.sleep(rng.uniform(0.2, 2.0))
        victim = n.nodes[rng.randrange(3)]
        if len(n.alive()) > 1 and victim.alive():
            victim.kill()
            if rng.random() < 0.5:
                n.check_checkpoints()
        time.sleep(rng.uniform(0.0, 1.0))
        for d in n.nodes:
            if not d.alive():
                d.start()
    n.check_end()
    n.stop()


# ---- a study across nodes ----

STUDY_EPOCHS = max(90, LONG // 2 // 9 * 9)  # a fold of about a second (see LONG)


def study_doc():
    """Six trials, two folds each, ASHA rungs at 1/9, 1/3 and all of STUDY_EPOCHS."""
    return {"name": "mn-search", "seed": 5, "base": spec(STUDY_EPOCHS, k=2),
            "space": {"/training/optimizer/learning_rate":
                      {"type": "float", "low": 0.005, "high": 0.05, "log": True},
                      "/network/hidden/0/units": {"type": "int", "low": 4, "high": 12, "step": 4}},
            "objective": {"metric": "r2"}, "sampler": {"type": "tpe", "startup": 3},
            "pruner": {"type": "asha", "min_epochs": STUDY_EPOCHS // 9, "reduction_factor": 3},
            "budget": {"max_trials": 6, "max_failed": 3}, "ensemble": {"top": 2, "rounds": 5}}


def wait_study(d, sid, timeout=300):
    st = wait_for(lambda: (lambda r: r.status == 200 and r.json()["status"] != "running" and
                           r.json())(d.get("/v1/studies/" + sid)), timeout, "the study ends")
    return st or {}


def study_view(d, st):
    """What does not depend on nodes, workers or timing: the leaderboard without its seconds,
    the best trial, and each trial's events in order."""
    board = [{k: v for k, v in row.items() if k != "seconds"} for row in st["leaderboard"]]
    evs = [json.loads(x) for x in d.get("/v1/studies/%s/events" % st["id"], headers={
        "Accept": "application/x-ndjson"}).text().splitlines()]
    per_trial = {}
    for e in evs:
        per_trial.setdefault(e["data"].get("trial"), []).append((e["event"], e["data"]))
    best = st["results"]["best"] if st.get("results") else None
    return board, best and (best["trial"], best["values"], best["objective"]), per_trial, \
        [e["id"] for e in evs]


@T.test
def test_study_across_nodes_survives_its_driver():
    """A study posted to A is trained by both nodes' workers (its trials are ordinary runs);
    its driver (the node holding the study's lease) is SIGKILLed mid-study, the other node
    takes it over once the lease has expired and completes it with the same trials, values and
    objectives as the same study on one SQLite node."""
    one = T.start_daemon(["--workers", "2", "--db", ""])  # the reference: one node, SQLite
    try:
        ds = one.upload(DATA).json()["id"]
        r = one.post("/v1/studies", body={"dataset": ds, "study": study_doc()})
        T.status(r, 202, "the reference study on one node")
        ref_st = wait_study(one, r.json()["id"])
        T.eq(ref_st.get("status"), "completed", "the reference study completes")
        ref = study_view(one, ref_st)
        statuses = [row["status"] for row in ref[0]]
        T.check(len(statuses) == 6 and "completed" in statuses, "six trials, some completed",
                statuses)
    finally:
        T.stop_daemon(one, "the reference node exits 0")
    n = Nodes(2)
    a, b = n.nodes
    ds = upload(n, a)
    r = a.post("/v1/studies", body={"dataset": ds, "study": study_doc()})
    T.status(r, 202, "a study posted to A")
    sid = r.json()["id"]
    trainers = set()  # the nodes (id prefixes) seen training the study's runs
    drivers = set()  # and holding its lease

    def progress():
        drivers.add(n.one("SELECT left(lease_owner, 16) FROM studies WHERE id = '%s'" % sid))
        for (owner,) in n.sql("SELECT DISTINCT left(t.owner, 16) FROM tasks t JOIN study_runs sr "
                              "ON sr.run_id = t.run_id WHERE sr.study_id = '%s' AND "
                              "t.state = 'running'" % sid):
            trainers.add(owner)
        done = n.one("SELECT count(*) FROM study_runs sr JOIN runs r ON r.id = sr.run_id "
                     "WHERE sr.study_id = '%s' AND r.status = 'succeeded'" % sid)
        return len(trainers) == 2 and int(done or 0) >= 4
    wait_for(progress, 120, "both nodes train the study's runs, four of them done")
    T.eq(trainers, {n.prefix(a), n.prefix(b)}, "both nodes' workers train its trials")
    drivers.discard(None)  # not taken yet
    T.check(len(drivers) == 1, "one node drives it while both live (its lease never moved)",
            drivers)
    row = n.sql("SELECT status, left(lease_owner, 16), lease_until > nnd_now_ms() FROM studies "
                "WHERE id = '%s'" % sid)
    T.check(row and row[0][0] == "running" and row[0][2] == "t" and
            row[0][1] in (n.prefix(a), n.prefix(b)), "mid-study, one node holds its lease", row)
    driver = a if row and row[0][1] == n.prefix(a) else b
    other = b if driver is a else a
    board = a.get("/v1/studies/" + sid).json()["leaderboard"] or []
    print("# SIGKILL of the driver (node %s) with %d trials begun, %s" % (
        "A" if driver is a else "B", len(board), [r["status"] for r in board]))
    killed_at = time.time()
    driver.kill()
    wait_for(lambda: n.one("SELECT left(lease_owner, 16) FROM studies WHERE id = '%s'" % sid) ==
             n.prefix(other), LEASE * 4 + 30, "the other node takes the study over")
    took = time.time() - killed_at
    print("# study taken over %.1fs after SIGKILL (lease %ss)" % (took, LEASE))
    T.check(took >= LEASE * 0.5, "only once the lease has expired", took)
    st = wait_study(other, sid)
    T.eq(st.get("status"), "completed", "the study completes on the other node")
    got = study_view(other, st)
    T.eq(got[3], list(range(1, len(got[3]) + 1)), "its events numbered 1..N across the drivers")
    T.eq(got[0], ref[0], "the same leaderboard as on one node: trials, values, objectives")
    T.eq(got[1], ref[1], "the same best trial")
    T.eq(got[2], ref[2], "each trial's events the same as on one node")
    # SIGTERM: the driving node lets its lease go, and the other takes the study over at once
    driver.start()
    r = other.post("/v1/studies", body={"dataset": ds, "study": study_doc()})
    sid = r.json()["id"]
    owner = wait_for(lambda: n.one("SELECT left(lease_owner, 16) FROM studies WHERE id = '%s'"
                                   % sid), 60, "a node drives the second study")
    driver = a if owner == n.prefix(a) else b
    other = b if driver is a else a
    T.stop_daemon(driver, "the driving node exits 0 after SIGTERM")
    stopped_at = time.time()
    wait_for(lambda: n.one("SELECT left(lease_owner, 16) FROM studies WHERE id = '%s'" % sid) ==
             n.prefix(other), LEASE * 4 + 30, "the other node takes the second study over")
    took = time.time() - stopped_at
    print("# second study taken over %.1fs after SIGTERM" % took)
    T.check(took < LEASE * 0.5, "at once: the stopped node let its lease go", took)
    # a lease held elsewhere is respected: while a (fake) node holds it, the live node neither
    # steps the study nor saves it (its saves are fenced), then takes it back once it expires
    fake = "f" * 32
    stolen = n.one("WITH u AS (UPDATE studies SET lease_owner = '%s', lease_until = "
                   "nnd_now_ms() + %d WHERE id = '%s' AND status = 'running' RETURNING id) "
                   "SELECT count(*) FROM u" % (fake, LEASE * 2000, sid))
    T.eq(stolen, "1", "the running study's lease given to another node id")
    record = "SELECT (SELECT count(*) FROM study_events WHERE study_id = '%s'), md5(state_json) " \
        "FROM studies WHERE id = '%s'" % (sid, sid)
    before = n.sql(record)
    time.sleep(LEASE * 1.5)
    T.eq(n.sql(record), before, "nothing of the study saved while another node holds its lease")
    wait_for(lambda: n.one("SELECT lease_owner FROM studies WHERE id = '%s'" % sid) != fake,
             LEASE * 4 + 30, "the live node takes the study back once that lease expired")
    st = wait_study(other, sid)
    T.eq(study_view(other, st)[0], ref[0], "it completes with the same leaderboard")
    n.check_end()
    n.stop()


@T.test
def test_migrations_under_an_advisory_lock():
    """Nodes starting at once on an empty database: each migration applied once, every node up;
    the migration waits for its advisory lock (held here by a psql session meanwhile)."""
    n = Nodes(0)  # a fresh database, no node yet
    url, db, pg = n.url, n.dbname, T.cluster()
    holder = subprocess.Popen([os.path.join(pg.bin, "psql"), "-h", "127.0.0.1", "-p",
                               str(pg.port), "-U", "nnd", "-d", db, "-At", "-q"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        holder.stdin.write("SELECT pg_advisory_lock(%d);\nSELECT 'held';\n" % MIGRATE_LOCK)
        holder.stdin.flush()
        T.eq(holder.stdout.readline().strip(), "", "psql takes the migration's advisory lock")
        T.eq(holder.stdout.readline().strip(), "held", "and holds it")
        args = ["--db", url, "--workers", "1", "--lease", str(LEASE)]
        started, errors = [], []

        def start():
            try:
                started.append(T.start_daemon(args))
            except Exception as e:  # noqa: BLE001 — reported below
                errors.append(e)
        threads = [threading.Thread(target=start) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.5 * SLOW)
        T.eq(started, [], "no node starts while the lock is held")
        T.eq(n.one("SELECT to_regclass('runs') IS NULL"), "t",
             "and no migration is applied meanwhile")
        holder.stdin.write("SELECT pg_advisory_unlock(%d);\n" % MIGRATE_LOCK)
        holder.stdin.flush()
        T.eq(holder.stdout.readline().strip(), "t", "psql lets the lock go")
        for t in threads:
            t.join(60 * SLOW)
        T.eq((len(started), errors), (3, []), "then the three nodes start together")
    finally:
        holder.stdin.close()
        holder.wait(30)
    rows = n.sql("SELECT version, count(*) FROM nnd_schema GROUP BY version ORDER BY version")
    versions = [int(v) for v, _ in rows]
    T.check(versions == list(range(1, len(versions) + 1)) and len(versions) >= 3 and
            all(c == "1" for _, c in rows), "each migration recorded once, 1..n", rows)
    ds = upload(n, started[0]) if started else None
    if ds:
        n.nodes = started
        n.create(started[-1], ds, spec(5, k=2))
        n.check_end()
    for d in started:
        T.stop_daemon(d)


@T.test
def test_newer_schema_is_refused():
    n = Nodes(1)
    n.stop()
    n.sql("INSERT INTO nnd_schema (version) VALUES (999)")
    d = n.nodes[0]
    try:
        d.start(timeout=20)
        started = True
    except RuntimeError:
        started = False
    T.check(not started, "a node refuses a database newer than itself")
    T.check("schema version 999" in d.read_log(), "and says why", d.read_log()[-300:])


if __name__ == "__main__":
    T.main()
