#!/usr/bin/python3
"""test_hostile_races.py — requests racing each other: a dataset deleted while other requests
download it, validate specs on it and create runs on it (never a 5xx; a run creation is 202 or
the documented 422 at /dataset, never 404; once the DELETE has answered, the dataset is gone for
every new request), and 20 run creations at once against --max-queued 5 (exactly 5 queue)."""

import threading

from nndtest import Suite

T = Suite("hostile-races")


def xy_csv(rows, salt):
    lines = ["x,y,id"]
    for i in range(1, rows + 1):
        lines.append("%d,%d,r%d_%d" % (i, 3 * i + salt, salt, i))
    return ("\n".join(lines) + "\n").encode()


SPEC = {"name": "race", "target": "y", "id": "id", "network": {"hidden": [{"units": 4}]},
        "training": {"epochs": 20000, "validation": {"type": "kfold", "k": 2}}}


@T.test
def test_delete_races_reads_validations_and_runs():
    d = T.start_daemon(["--workers", "1", "--max-active-runs", "1", "--max-queued", "1000"])
    statuses = {"csv": {}, "validate": {}, "run": {}, "delete": {}}
    bad = []
    lock = threading.Lock()
    runs = []

    def note(kind, r, ds):
        with lock:
            statuses[kind][r.status] = statuses[kind].get(r.status, 0) + 1
            ok = {"csv": (200, 404), "validate": (200, 422), "run": (202, 422),
                  "delete": (204, 409, 404)}[kind]
            if r.status not in ok:
                bad.append((kind, r.status, r.body[:200]))
            elif kind in ("validate", "run") and r.status == 422:
                ptrs = [e.get("pointer") for e in r.json().get("errors", [])]
                if ptrs != ["/dataset"]:
                    bad.append((kind, 422, r.body[:200]))
            if kind == "run" and r.status == 202:
                runs.append((r.json()["id"], ds))

    for rnd in range(12):
        ds = d.upload(xy_csv(300, rnd), name="race%d" % rnd).json()["id"]
        with_runs = rnd % 2 == 1
        go = threading.Event()
        answered = threading.Semaphore(0)
        run_answered = threading.Event()

        def client(kind):
            go.wait()
            for _ in range(6):
                if kind == "csv":
                    r = d.get("/v1/datasets/%s/csv" % ds)
                elif kind == "validate":
                    r = d.post("/v1/specs/validate", {"dataset": ds, "spec": SPEC})
                else:
                    r = d.create_run(ds, SPEC)
                note(kind, r, ds)
                answered.release()
                if kind == "run":
                    run_answered.set()

        kinds = ["csv", "csv", "validate", "validate"] + (["run"] if with_runs else [])
        threads = [threading.Thread(target=client, args=(k,)) for k in kinds]
        for t in threads:
            t.start()
        go.set()
        if rnd in (1, 5):  # a run creation first: the DELETE then finds the dataset in use
            run_answered.wait(60)
        for _ in range(rnd % 4 + 1):  # the DELETE lands after 1..4 answers: in the thick of it
            answered.acquire()
        r = d.request("DELETE", "/v1/datasets/" + ds)
        note("delete", r, ds)
        if r.status == 204:
            # gone for every request that starts after the answer
            g = d.post("/v1/specs/validate", {"dataset": ds, "spec": SPEC})
            T.check(g.status == 422 and [e["pointer"] for e in g.json()["errors"]] == ["/dataset"],
                    "round %d: validate right after the DELETE → 422 at /dataset" % rnd, g)
            T.check(d.get("/v1/datasets/%s/csv" % ds).status == 404,
                    "round %d: the CSV right after the DELETE → 404" % rnd)
            c = d.create_run(ds, SPEC)
            T.check(c.status == 422, "round %d: a run right after the DELETE → 422" % rnd, c)
        for t in threads:
            t.join()
        # runs that got in hold the dataset: cancel them and delete it for good
        for rid, rds in list(runs):
            if rds == ds:
                d.post("/v1/runs/%s/cancel" % rid)
                d.wait_run(rid, timeout=60)
        r = d.request("DELETE", "/v1/datasets/" + ds)
        T.check(r.status in (204, 404), "round %d: the dataset can be deleted after" % rnd, r)
    print("# races: %s" % statuses)
    T.eq(bad, [], "no 5xx, no 404 for a run creation, every 422 at /dataset")
    T.check(statuses["delete"].get(204, 0) >= 3, "some DELETEs won their race", statuses["delete"])
    T.check(statuses["csv"].get(200, 0) > 0 and statuses["validate"].get(200, 0) > 0
            and statuses["csv"].get(404, 0) > 0 and statuses["validate"].get(422, 0) > 0,
            "reads and validations both won and lost their races", statuses)
    T.check(statuses["run"].get(202, 0) > 0 and statuses["delete"].get(409, 0) > 0,
            "runs created first hold the dataset: its DELETE → 409", statuses)
    m = d.metrics()
    T.eq(m.get('nnd_responses_total{class="5xx"}'), 0.0, "/metrics counts no 5xx")
    T.eq(d.get("/healthz").status, 200, "healthy after the races")
    T.stop_daemon(d)


@T.test
def test_queue_bound_under_concurrency():
    d = T.start_daemon(["--workers", "1", "--max-active-runs", "1", "--max-queued", "5"])
    ds = d.upload(xy_csv(200, 7), name="q").json()["id"]
    first = d.create_run(ds, SPEC).json()["id"]  # takes the only active slot
    d.wait_progress(first)
    results = []
    lock = threading.Lock()
    go = threading.Event()

    def submit(i):
        spec = dict(SPEC, name="q%d" % i)
        go.wait()
        r = d.create_run(ds, spec)
        with lock:
            results.append(r.status)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    T.eq(results.count(202), 5, "20 concurrent submissions with --max-queued 5: exactly 5 queue")
    T.eq(results.count(429), 15, "the other 15 → 429")
    T.eq(len(d.get("/v1/runs?status=queued").json()["runs"]), 5, "5 runs are queued")
    T.eq(d.get("/healthz").json().get("queued"), 5, "healthz counts 5 queued")
    for r in d.get("/v1/runs?status=queued").json()["runs"] + [{"id": first}]:
        d.post("/v1/runs/%s/cancel" % r["id"])
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
