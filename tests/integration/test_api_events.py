#!/usr/bin/python3
"""test_api_events.py — a run's event stream over SSE and NDJSON: ids 1, 2, 3 … without gaps,
event types, live delivery while training, resuming with Last-Event-ID and ?after=, replay of a
finished run that ends by itself; and cancelling running, queued and finished runs."""

import time

from nndtest import SLOW, Suite, kc_slice, read_events, seed_spec, sse_reader_thread

T = Suite("events")
TYPES = {"status", "epoch", "fold", "log"}


def check_sequence(evs, what, epochs_want=None, final="succeeded"):
    ids = [e[0] for e in evs]
    T.eq(ids, list(range(1, len(ids) + 1)), what + ": ids 1..n without gaps")
    T.check({e[1] for e in evs} <= TYPES, what + ": types in " + str(sorted(TYPES)),
            {e[1] for e in evs})
    T.check(bool(evs) and evs[0][1] == "status" and evs[0][2].get("status") == "running",
            what + ": first event is status running", evs[:1])
    T.check(bool(evs) and evs[-1][1] == "status" and evs[-1][2].get("status") == final,
            what + ": last event is status " + final, evs[-1:])
    if epochs_want is not None:
        T.eq(sum(1 for e in evs if e[1] == "epoch"), epochs_want,
             what + ": epoch events = history rows")


@T.test
def test_streams_of_a_run():
    d = T.start_daemon(["--workers", "2"])
    ds = d.upload(kc_slice(2000)).json()["id"]
    # long enough (a few seconds) to connect while it trains
    run_id = d.create_run(ds, seed_spec(epochs=150, k=3)).json()["id"]

    seen_running = []

    def on_event(i, typ, data):
        if typ == "epoch" and not seen_running:
            seen_running.append(d.run(run_id)["status"])

    t_sse, sse = sse_reader_thread(d, run_id, on_event=on_event)
    t_nd, nd = sse_reader_thread(d, run_id, ndjson=True)
    t_sse.join(120 * SLOW)
    t_nd.join(120 * SLOW)
    run = d.run(run_id)
    T.eq(run["status"], "succeeded", "the run succeeded")
    T.check(not t_sse.is_alive() and sse["closed"] and sse["error"] is None,
            "SSE stream of a live run ends by itself", sse["error"])
    T.check(not t_nd.is_alive() and nd["closed"] and nd["error"] is None,
            "NDJSON stream of a live run ends by itself", nd["error"])
    T.eq(sse["status"], 200, "SSE status")
    T.check((sse["headers"] or {}).get("Content-Type", "").startswith("text/event-stream"),
            "SSE Content-Type", sse["headers"] and sse["headers"].get("Content-Type"))
    T.eq((sse["headers"] or {}).get("Cache-Control"), "no-store", "SSE Cache-Control: no-store")
    T.check((nd["headers"] or {}).get("Content-Type", "").startswith("application/x-ndjson"),
            "NDJSON Content-Type", nd["headers"] and nd["headers"].get("Content-Type"))
    T.eq(seen_running, ["running"], "epoch events arrive while the run is still running (live)")
    fin = d.run(run_id)["finished_at"] / 1000.0
    first_epoch_at = next((e[3] for e in sse["events"] if e[1] == "epoch"), None)
    T.check(first_epoch_at is not None and first_epoch_at < fin,
            "first epoch event received before the run finished")

    hist = d.get("/v1/runs/%s/history" % run_id).json()["history"]
    T.eq(len(hist), 3 * 150 + 150, "history rows")
    sse_ev = [e[:3] for e in sse["events"]]
    nd_ev = [e[:3] for e in nd["events"]]
    check_sequence(sse_ev, "SSE", len(hist))
    check_sequence(nd_ev, "NDJSON", len(hist))
    T.check(sse_ev == nd_ev, "SSE and NDJSON carry the same events")
    T.eq([e[2] for e in sse_ev if e[1] == "epoch"],
         [dict(h, epochs=150) for h in hist], "epoch events are the history rows")
    folds = [e[2] for e in sse_ev if e[1] == "fold"]
    T.eq(sorted(f["fold"] for f in folds if f["state"] == "finished"), [0, 1, 2, 3],
         "a fold finished event for each fold and the refit")

    # replay of the finished run, whole and closing by itself
    full, r = d.events(run_id, timeout=30)
    T.check(full is not None and [e[:3] for e in full] == sse_ev,
            "replay of the finished run equals the live stream", r)
    full_nd, r = d.events(run_id, ndjson=True, timeout=30)
    T.check(full_nd == nd_ev, "NDJSON replay equals the live stream")

    n = len(full)
    for cut in (1, 5, n // 2, n - 1, n):
        got, _ = d.events(run_id, headers={"Last-Event-ID": str(cut)}, timeout=30)
        T.eq(got, full[cut:], "Last-Event-ID: %d → exactly the events after it" % cut)
        got, _ = d.events(run_id, query="?after=%d" % cut, timeout=30)
        T.eq(got, full[cut:], "?after=%d → exactly the events after it" % cut)
    got, _ = d.events(run_id, ndjson=True, query="?after=7", timeout=30)
    T.eq(got, full[7:], "NDJSON ?after=7")
    got, _ = d.events(run_id, query="?after=%d" % (n + 50), timeout=30)
    T.eq(got, [], "after beyond the last event → none, and the stream ends")
    for bad in ("-1", "abc", "1x"):
        _, r = d.events(run_id, query="?after=" + bad, timeout=30)
        T.problem(r, 400, "?after=%s" % bad)
    _, r = d.events("f" * 32, timeout=30)
    T.problem(r, 404, "events of an unknown run")
    T.stop_daemon(d)


@T.test
def test_resume_during_training():
    """A client that drops the connection mid-run and resumes from its last id misses nothing."""
    d = T.start_daemon(["--workers", "2"])
    ds = d.upload(kc_slice(2000)).json()["id"]
    run_id = d.create_run(ds, seed_spec(epochs=300, k=3)).json()["id"]
    d.wait_progress(run_id)
    c = d.conn(60)
    c.request("GET", "/v1/runs/%s/events" % run_id)
    r = c.getresponse()
    part = []
    for ev in read_events(r, False):
        part.append(ev)
        if len(part) == 25:
            break
    c.close()  # drop it mid-stream
    running = d.run(run_id)["status"]
    T.eq(running, "running", "dropped the stream while the run trains")
    rest, _ = d.events(run_id, headers={"Last-Event-ID": str(part[-1][0])})
    whole = part + rest
    T.eq([e[0] for e in whole], list(range(1, len(whole) + 1)),
         "first 25 + resumed events: ids 1..n, no gap, no duplicate")
    T.check(whole[-1][1] == "status" and whole[-1][2]["status"] == "succeeded",
            "resumed stream ends with status succeeded")
    full, _ = d.events(run_id)
    T.check(full == whole, "the pieces equal the stored stream")
    T.stop_daemon(d)


@T.test
def test_cancel():
    d = T.start_daemon(["--workers", "1", "--max-active-runs", "1"])
    ds = d.upload(kc_slice(2000)).json()["id"]
    long_spec = seed_spec(epochs=20000, k=3)
    a = d.create_run(ds, long_spec).json()["id"]
    b = d.create_run(ds, seed_spec(epochs=20001, k=3)).json()["id"]  # queues behind a
    d.wait_progress(a)
    T.eq(d.run(b)["status"], "queued", "second run queued behind the first (--workers 1)")

    t_ev, ev = sse_reader_thread(d, a)
    t_evb, evb = sse_reader_thread(d, b)
    time.sleep(0.3)
    r = d.post("/v1/runs/%s/cancel" % b)
    T.status(r, 202, "cancel a queued run")
    T.eq(r.json(), {"id": b, "status": "cancelled"}, "queued run is cancelled at once")
    rb = d.run(b)
    T.eq((rb["status"], rb["started_at"]), ("cancelled", None), "queued run: cancelled, never started")
    T.check(bool(rb["error"]), "cancelled run has an error text", rb["error"])
    t_evb.join(30 * SLOW)
    T.check(not t_evb.is_alive() and evb["closed"], "stream of the cancelled queued run ends")

    t0 = time.time()
    r = d.post("/v1/runs/%s/cancel" % a)
    T.status(r, 202, "cancel a running run")
    T.eq(r.json().get("id"), a, "cancel answer names the run")
    ra = d.wait_run(a, timeout=10)
    took = time.time() - t0
    T.eq(ra["status"], "cancelled", "running run ends cancelled")
    T.check(took < 5 * SLOW, "cancel took effect within %gs" % (5 * SLOW), "%.1fs" % took)
    T.eq(ra["metrics"], None, "a cancelled run has no metrics")
    t_ev.join(30 * SLOW)
    T.check(not t_ev.is_alive() and ev["closed"], "stream of the cancelled run ends")
    evs = [e[:3] for e in ev["events"]]
    T.eq([e[0] for e in evs], list(range(1, len(evs) + 1)), "cancelled run's ids without gaps")
    T.check(evs and evs[-1][1] == "status" and evs[-1][2].get("status") == "cancelled",
            "final status event is cancelled", evs[-1:])
    T.problem(d.get("/v1/runs/%s/predictions" % a), 409, "predictions of a cancelled run")
    T.problem(d.get("/v1/runs/%s/model" % a), 409, "model of a cancelled run", detail_has="cancelled")

    r = d.post("/v1/runs/%s/cancel" % a)  # idempotent: the run was cancelled on request
    T.status(r, 202, "cancel a run cancelled on request again")
    T.eq(r.json(), {"id": a, "status": "cancelled"}, "repeated cancel answers cancelled")
    c = d.create_run(ds, seed_spec(epochs=5, k=3)).json()["id"]
    T.eq(d.wait_run(c)["status"], "succeeded", "a short run succeeds after the cancels")
    T.problem(d.post("/v1/runs/%s/cancel" % c), 409, "cancel a finished run")
    T.eq(d.run(c)["status"], "succeeded", "it stays succeeded")
    T.problem(d.post("/v1/runs/%s/cancel" % ("e" * 32)), 404, "cancel an unknown run")
    T.stop_daemon(d)


@T.test
def test_many_streams_and_stop():
    """Streams waiting on a running run end when nnd stops; nnd still exits 0."""
    d = T.start_daemon(["--workers", "1", "--max-streams", "3"])
    ds = d.upload(kc_slice(1000)).json()["id"]
    a = d.create_run(ds, seed_spec(epochs=20000, k=3)).json()["id"]
    d.wait_progress(a)
    readers = [sse_reader_thread(d, a, ndjson=bool(i % 2)) for i in range(3)]
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline and d.metrics().get("nnd_event_streams", 0) < 3:
        time.sleep(0.05)
    T.eq(d.metrics().get("nnd_event_streams"), 3.0, "three streams open")
    _, r = d.events(a, timeout=10)
    T.problem(r, 429, "a fourth stream over --max-streams 3")
    T.check(r.header("Retry-After") is not None, "429 has Retry-After")
    T.stop_daemon(d, max_seconds=10 * SLOW)
    for t, res in readers:
        t.join(10 * SLOW)
    T.check(all(not t.is_alive() for t, _ in readers), "every stream ended at shutdown")
    T.check(all(res["events"] and res["events"][0][1] == "status" for _, res in readers),
            "each stream had received events")


if __name__ == "__main__":
    T.main()
