#!/usr/bin/python3
"""test_api_recovery.py — nnd killed or stopped while training: after SIGKILL the restarted daemon
queues the interrupted run again and finishes it with the numbers of an uninterrupted run, its
events continuing without duplicate ids, earlier results intact and the database sound; after
SIGTERM nnd exits 0 promptly and the run goes back to the queue."""

import time

from nndtest import SLOW, Suite, kc_slice, seed_spec, without_timings

T = Suite("recovery")
LONG_EPOCHS = 250  # a few seconds of training: long enough to interrupt, short enough to rerun


def db_run(d, run_id):
    return T.db_row(d, "SELECT status, attempts, progress, started_at FROM runs WHERE id = ?",
                    (run_id,))


def wait_stored_events(d, run_id, n, timeout=60):
    """Waits until the store holds at least n events of the run (a replay is served from it once
    the hub drops them, but while training the hub answers: poll the progress instead)."""
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        run = d.run(run_id)
        if run["status"] == "running" and run["progress"] >= n:
            return run
        time.sleep(0.02)
    raise AssertionError("run %s: progress did not reach %s" % (run_id, n))


def check_ids(evs, what):
    T.eq([e[0] for e in evs], list(range(1, len(evs) + 1)),
         what + ": ids 1..n, strictly increasing, no gap or duplicate")


@T.test
def test_sigkill_mid_training():
    d = T.start_daemon(["--workers", "2"])
    ds = d.upload(kc_slice(2000)).json()["id"]
    short = d.create_run(ds, seed_spec(epochs=5, k=3)).json()["id"]
    T.eq(d.wait_run(short)["status"], "succeeded", "a short run finishes first")
    before = {
        "run": d.run(short),
        "events": d.events(short)[0],
        "pred": d.get("/v1/runs/%s/predictions?format=csv" % short).body,
        "hist": d.get("/v1/runs/%s/history?format=csv" % short).body,
        "model": d.get("/v1/runs/%s/model" % short).body,
    }
    spec = seed_spec(epochs=LONG_EPOCHS, k=3)
    long_id = d.create_run(ds, spec).json()["id"]
    wait_stored_events(d, long_id, 0.15)
    d.kill()  # SIGKILL mid-training
    status, attempts, progress, _ = db_run(d, long_id)
    T.eq(status, "running", "the killed run is left running in the database")
    T.check(0 < progress < 1, "it had made progress", progress)
    T.eq(T.integrity(d), "ok", "integrity_check after SIGKILL")

    d.start()
    T.check("1 interrupted run(s) queued again" in d.read_log(), "restart reports the re-queued run",
            d.read_log()[-500:])
    run = d.wait_run(long_id, timeout=120)
    T.eq(run["status"], "succeeded", "the interrupted run finishes after the restart")
    T.eq(run["attempts"], 2, "it took two attempts")
    T.eq(run["progress"], 1.0, "progress 1.0")
    evs, _ = d.events(long_id)
    check_ids(evs, "events of the interrupted run")
    starts = [e[2] for e in evs if e[1] == "status" and e[2].get("status") == "running"]
    T.eq([s.get("attempt") for s in starts], [1, 2], "a status running event per attempt")
    T.check(evs[-1][1] == "status" and evs[-1][2]["status"] == "succeeded",
            "the last event is status succeeded")
    i2 = next(i for i, e in enumerate(evs) if e[1] == "status" and e[2].get("attempt") == 2)
    after = [e for e in evs[i2:] if e[1] == "epoch"]
    T.eq(len(after), 3 * LONG_EPOCHS + LONG_EPOCHS, "the second attempt trained every epoch")
    hist = d.get("/v1/runs/%s/history" % long_id).json()["history"]
    T.eq(len(hist), 3 * LONG_EPOCHS + LONG_EPOCHS,
         "history of the recovered run = folds × epochs + refit epochs (the finished attempt)")

    # the numbers of an uninterrupted run of the same spec
    fresh = d.create_run(ds, spec).json()["id"]
    ref = d.wait_run(fresh, timeout=120)
    T.check(without_timings(run["metrics"]) == without_timings(ref["metrics"]),
            "recovered run's metrics equal an uninterrupted run's",
            (run["metrics"]["r2"], ref["metrics"]["r2"]))
    T.check(d.get("/v1/runs/%s/predictions?format=csv" % long_id).body ==
            d.get("/v1/runs/%s/predictions?format=csv" % fresh).body,
            "recovered run's predictions equal an uninterrupted run's")

    # what finished before the kill is intact
    T.eq(d.run(short), before["run"], "the earlier run is unchanged")
    T.eq(d.events(short)[0], before["events"], "its events are intact")
    T.check(d.get("/v1/runs/%s/predictions?format=csv" % short).body == before["pred"],
            "its predictions are intact")
    T.check(d.get("/v1/runs/%s/history?format=csv" % short).body == before["hist"],
            "its history is intact")
    T.check(d.get("/v1/runs/%s/model" % short).body == before["model"], "its model is intact")
    T.eq(d.get("/v1/datasets/%s/csv" % ds).body, kc_slice(2000), "the dataset is intact")
    T.stop_daemon(d)
    T.eq(T.integrity(d), "ok", "PRAGMA integrity_check after the stop")


@T.test
def test_sigterm_mid_training():
    d = T.start_daemon(["--workers", "2"])
    ds = d.upload(kc_slice(2000)).json()["id"]
    run_id = d.create_run(ds, seed_spec(epochs=LONG_EPOCHS * 40, k=3)).json()["id"]
    wait_stored_events(d, run_id, 0.001)
    _, took = T.stop_daemon(d, "nnd exits 0 after SIGTERM during training", max_seconds=10)
    status, attempts, progress, started = db_run(d, run_id)
    T.eq((status, attempts, progress, started), ("queued", 0, 0.0, None),
         "the run went back to the queue (attempt not counted)")
    T.eq(T.integrity(d), "ok", "integrity_check after SIGTERM")

    d.start()
    T.check("interrupted" not in d.read_log(), "a clean stop leaves nothing to recover")
    d.wait_progress(run_id)
    T.eq(d.run(run_id)["status"], "running", "the run trains again after the restart")
    T.status(d.post("/v1/runs/%s/cancel" % run_id), 202, "cancel it")
    run = d.wait_run(run_id, timeout=20)
    T.eq((run["status"], run["attempts"]), ("cancelled", 1), "cancelled on its first counted attempt")
    evs, _ = d.events(run_id)
    check_ids(evs, "events across the stop")
    T.eq(evs[-1][2].get("status"), "cancelled", "last event: status cancelled")

    # a run stopped by SIGTERM finishes after the restart
    short = d.create_run(ds, seed_spec(epochs=LONG_EPOCHS, k=3)).json()["id"]
    wait_stored_events(d, short, 0.05)
    T.stop_daemon(d, "nnd exits 0 after a second SIGTERM", max_seconds=10)
    T.eq(db_run(d, short)[0], "queued", "the second run is queued again")
    d.start()
    run = d.wait_run(short, timeout=120)
    T.eq((run["status"], run["attempts"]), ("succeeded", 1), "it succeeds after the restart")
    evs, _ = d.events(short)
    check_ids(evs, "events of the restarted run")
    T.eq(len(d.get("/v1/runs/%s/history" % short).json()["history"]), 4 * LONG_EPOCHS,
         "its history holds the finished attempt's epochs")
    T.stop_daemon(d)
    T.eq(T.integrity(d), "ok", "integrity_check at the end")


@T.test
def test_gives_up_after_three_attempts():
    d = T.start_daemon(["--workers", "1"])
    ds = d.upload(kc_slice(1000)).json()["id"]
    run_id = d.create_run(ds, seed_spec(epochs=LONG_EPOCHS * 40, k=3)).json()["id"]
    for attempt in (1, 2, 3):
        if attempt > 1:
            d.start()
        wait_stored_events(d, run_id, 0.001)
        T.eq(d.run(run_id)["attempts"], attempt, "attempt %d is training" % attempt)
        d.kill()
    d.start()
    run = d.wait_run(run_id, timeout=20)
    T.eq(run["status"], "failed", "after three interrupted attempts the run fails")
    T.check(bool(run["error"]), "with a reason", run["error"])
    T.check("given up" in d.read_log(), "the start-up log says it gave up", d.read_log()[-400:])
    evs, _ = d.events(run_id)
    check_ids(evs, "events over three attempts")
    T.stop_daemon(d)
    T.eq(T.integrity(d), "ok", "integrity_check after three kills")


if __name__ == "__main__":
    T.main()
