#!/usr/bin/python3
"""test_study.py — studies over real HTTP: a study's trials are ordinary runs in the queue, the
study driver prunes them with ASHA in trial order, and the leaderboard is the same with 1 and 2
workers; a promoted trial continues from its folds' stored states, bit-identical to training
from epoch 1; the ensemble predicts; a bad study is 422 at its pointer; a study survives SIGKILL with
the same trials; cancel stops it; a holdout is set aside and scored.

Small: 500 King County rows, 3 folds, 6 trials of at most 9 epochs."""

import json
import os
import subprocess
import time

from nndtest import NN_CLI, SLOW, SOURCE_DIR, Suite, kc_slice, seed_spec, sse_reader_thread

T = Suite("study")
LIVE = {}  # study id → the events its live stream brought


def base_spec():
    spec = seed_spec(epochs=9, k=3, batch=32)
    spec["network"]["hidden"] = [{"units": 8, "activation": "relu", "repeat": 2}]
    return spec


def study(**over):
    s = {"name": "kc-search", "seed": 3, "base": base_spec(),
         "space": {"/training/optimizer/learning_rate":
                   {"type": "float", "low": 0.01, "high": 0.2, "log": True},
                   "/network/hidden/0/units": {"type": "int", "low": 4, "high": 16, "step": 4}},
         "objective": {"metric": "r2"},
         "sampler": {"type": "tpe", "startup": 3},
         "pruner": {"type": "asha", "min_epochs": 3, "reduction_factor": 3},
         "budget": {"max_trials": 6, "max_failed": 3},
         "ensemble": {"top": 3, "rounds": 5}}
    s.update(over)
    return s


def wait_study(d, sid, timeout=240):
    deadline = time.time() + timeout * SLOW
    while True:
        r = d.get("/v1/studies/" + sid)
        if r.status != 200:
            raise AssertionError("GET study: %r" % r)
        st = r.json()
        if st["status"] != "running":
            return st
        if time.time() > deadline:
            raise AssertionError("study still running after %ss: %s" % (timeout, st["budget"]))
        time.sleep(0.2)


def board_key(board):
    """The leaderboard without wall-clock fields."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in board]


def run_study(workers):
    d = T.start_daemon(["--workers", str(workers)])
    try:
        r = d.upload(kc_slice(500))
        T.status(r, 201, "upload")
        ds = r.json()["id"]
        r = d.post("/v1/studies", body={"dataset": ds, "study": study()})
        T.status(r, 202, "POST /v1/studies")
        sid = r.json()["id"]
        # the study's event stream, followed live: it stays open while the study runs
        seen_running = []
        reader, live = sse_reader_thread(
            d, sid, ndjson=True, kind="studies",
            on_event=lambda *ev: seen_running.append(
                d.get("/v1/studies/" + sid).json()["status"] == "running"))
        st = wait_study(d, sid)
        reader.join(30 * SLOW)
        T.check(not reader.is_alive() and live["closed"] and live["error"] is None,
                "the study's stream ends by itself when the study does", live["error"])
        T.check(any(seen_running), "the stream brought events while the study ran")
        LIVE[sid] = [(i, t, data) for i, t, data, _ in live["events"]]
        return d, ds, sid, st
    except Exception:
        T.stop_daemon(d)
        raise


@T.test
def test_study_leaderboard_same_with_1_and_2_workers():
    d1, ds, sid, st1 = run_study(1)
    evs1 = []
    try:
        T.eq(st1["status"], "completed", "the study completes")
        board = st1["leaderboard"]
        T.eq(len(board), 6, "6 trials on the leaderboard")
        statuses = [row["status"] for row in board]
        T.check(statuses.count("completed") >= 1, "a trial completes", statuses)
        T.check("pruned" in statuses, "ASHA prunes a trial", statuses)
        T.eq([row["rank"] for row in board], list(range(1, 7)), "ranks 1..6")
        done = [row for row in board if row["status"] == "completed"]
        T.check(all(row["epochs"] == 9 for row in done), "completed trials ran 9 epochs")
        T.check(all(row["seconds"] > 0 for row in done), "completed trials' seconds are their runs'",
                [row["seconds"] for row in done])
        T.check(all(row["params"] > 0 for row in done), "with their parameter counts", done)
        T.check(all(row["epochs"] in (3, 9) for row in board if row["status"] == "pruned"),
                "pruned trials stopped at a rung", board)
        objs = [row["objective"] for row in done]
        T.eq(objs, sorted(objs, reverse=True), "completed trials ranked by r2, best first")
        res = st1["results"]
        T.eq(res["best"]["trial"], board[0]["trial"], "the best trial is rank 1")
        T.check(res["best"]["spec"]["training"]["epochs"] == 9, "the best spec is the full spec")
        ens = res["ensemble"]
        T.check(ens and len(ens["members"]) >= 1, "an ensemble", ens)
        T.check(abs(sum(m["weight"] for m in ens["members"]) - 1) < 1e-9, "weights sum to 1")
        T.check(ens["oof_r2"] >= ens["best_trial_oof_r2"] - 1e-9,
                "the ensemble is no worse out of fold than the best trial", ens)
        # every trial is an ordinary run
        runs = d1.get("/v1/runs?limit=200").json()["runs"]
        T.check(len(runs) >= 6, "the trials are runs", len(runs))
        rung_runs = [run for run in runs if run["name"].endswith(" rung 1")]
        T.check(len(rung_runs) == 6, "a first-rung run per trial", [r["name"] for r in runs])
        tr = d1.run(rung_runs[0]["id"])["spec"]["training"]
        T.eq((tr["epochs"], tr.get("stop_at"), tr["final"]), (9, 3, "none"),
             "a rung is the first 3 epochs of the 9-epoch run, without a refit")
        # the leaderboard as CSV
        r = d1.get("/v1/studies/%s/leaderboard?format=csv" % sid)
        T.status(r, 200, "leaderboard CSV")
        lines = r.text().splitlines()
        T.check(lines[0].startswith("rank,trial,status,/network/hidden/0/units,"), "CSV header",
                lines[0])
        T.eq(len(lines), 7, "a header and 6 rows")
        # the ensemble predicts
        rows = b"\n".join(kc_slice(5).split(b"\n")[:4]) + b"\n"
        r = d1.post("/v1/studies/%s/predict" % sid, body=rows,
                    headers={"Content-Type": "text/csv"})
        T.status(r, 200, "ensemble predict")
        p = r.json()["predictions"]
        T.check(len(p) == 3 and all(x > 0 for x in p), "3 house prices", p)
        r = d1.get("/v1/studies/%s/model" % sid)
        T.status(r, 200, "the ensemble as one model file")
        T.eq((r.json()["format"], len(r.json()["members"])),
             ("nnd-weighted-model", len(ens["members"])), "a weighted model of the members")
        if NN_CLI:  # nn predict reads it and predicts what POST …/predict answered
            tmp = T.tmpdir()
            with open(os.path.join(tmp, "model.json"), "wb") as f:
                f.write(r.body)
            with open(os.path.join(tmp, "rows.csv"), "wb") as f:
                f.write(rows)
            out = subprocess.run([NN_CLI, "predict", "model.json", "rows.csv"], cwd=tmp,
                                 capture_output=True, timeout=60 * SLOW)
            got = [float(line.split(",")[-1]) for line in out.stdout.decode().splitlines()[1:]]
            T.check(out.returncode == 0 and len(got) == 3 and
                    all(abs(a - b) <= 1e-9 * abs(b) for a, b in zip(got, p)),
                    "nn predict with it gives the same prices", (out.stderr[-300:], got, p))
        # two trials on the same folds compared with the corrected resampled t-test
        second = [row for row in board if row["status"] == "completed"][1]
        runs_by_name = {run["name"]: run["id"] for run in runs}
        ra = res["best"]["run"]
        rb = runs_by_name["kc-search trial %d" % second["trial"]]
        r = d1.get("/v1/runs/%s/compare?with=%s" % (ra, rb))
        T.status(r, 200, "compare two trials")
        c = r.json()
        diffs = [f["a"] - f["b"] for f in c["folds"]]
        mean = sum(diffs) / 3
        var = sum((x - mean) ** 2 for x in diffs) / 2
        t = mean / ((1 / 3 + c["n_test"] / c["n_train"]) * var) ** 0.5
        T.check(abs(c["mean_difference"] - mean) < 1e-12 and abs(c["t"] - t) < 1e-9 * abs(t)
                and c["df"] == 2 and 0 < c["p"] <= 1, "the statistic from the fold scores", c)
        T.check(abs(c["n_test"] / c["n_train"] - 0.5) < 0.01, "3 folds: test/train = 1/2", c)
        other = d1.create_run(ds, seed_spec(epochs=2, k=2)).json()["id"]
        d1.wait_run(other)
        r = d1.get("/v1/runs/%s/compare?with=%s" % (ra, other))
        T.problem(r, 409, "runs on other folds", detail_has="k-fold with the same k")
        # the events: numbered 1..N, every trial started, each pruned or completed once
        r = d1.get("/v1/studies/%s/events" % sid, headers={"Accept": "application/x-ndjson"})
        T.status(r, 200, "study events (NDJSON)")
        evs1 = [json.loads(line) for line in r.text().splitlines()]
        T.eq([e["id"] for e in evs1], list(range(1, len(evs1) + 1)), "events numbered 1..N")
        T.eq(LIVE[sid], [(e["id"], e["event"], e["data"]) for e in evs1],
             "the live stream equals the stored events")
        kinds = [e["event"] for e in evs1]
        T.eq((kinds.count("trial"), kinds.count("pruned"), kinds.count("completed")),
             (6, statuses.count("pruned"), statuses.count("completed")),
             "a trial event each, a pruned or completed event each")
        T.eq(evs1[-1], {"id": len(evs1), "event": "status",
                        "data": {"status": "completed", "error": ""}}, "the last: completed")
        r = d1.get("/v1/studies/%s/events?after=%d" % (sid, len(evs1) - 2))
        T.check(r.ctype.startswith("text/event-stream") and r.text().count("\nevent: ") == 2
                and r.text().startswith("id: %d\n" % (len(evs1) - 1)), "SSE after N", r.text())
        # which run trained which rung: a run per rung reached, the best trial's last is its run
        r = d1.get("/v1/studies/%s/runs" % sid)
        T.status(r, 200, "the study's runs")
        sr = r.json()["runs"]
        T.eq(sorted((x["trial"], x["rung"]) for x in sr),
             sorted((row["trial"], k) for row in board for k in range(1, row["rungs"] + 1)),
             "a run for each rung each trial reached")
        T.check(all(x["status"] == "succeeded" and x["folds"] == 3 for x in sr),
                "every rung's run succeeded, on the 3 folds", sr)
        best = [x for x in sr if x["trial"] == res["best"]["trial"]]
        T.eq(best[-1]["run"], res["best"]["run"], "the best trial's last rung is its run")
        T.problem(d1.get("/v1/studies/%s/runs" % ("0" * 32)), 404, "the runs of no study")
        # a promoted trial's next rung continued each fold from where its last rung stopped,
        # and trained what a run from epoch 1 trains, bit for bit
        promoted = [x for x in sr if x["rung"] == 2]
        T.check(promoted, "a trial was promoted to rung 2", sr)
        if promoted:
            rid = promoted[0]["run"]
            logs = [data for _, kind, data in d1.events(rid, ndjson=True)[0]
                    if kind == "log" and "continued_from" in data]
            T.eq(sorted((x["fold"], x["continued_from"]) for x in logs), [(1, 3), (2, 3), (3, 3)],
                 "rung 2's folds continued from epoch 3")
            left = T.db_row(d1, "SELECT count(*) FROM fold_states")[0]
            T.eq(left, 0, "the study dropped its fold states when it ended")
            spec = d1.run(rid)["spec"]
            fresh = d1.create_run(ds, spec).json()["id"]
            again = d1.wait_run(fresh)
            T.check(not [data for _, kind, data in d1.events(fresh, ndjson=True)[0]
                         if kind == "log" and "continued_from" in data],
                    "a run without a state trains from epoch 1")
            fold = lambda run: [(f["fold"], f["epochs_run"], f["best_epoch"], f["r2"], f["rmse"],
                                 f["mae"]) for f in run["metrics"]["folds"]]
            T.eq(fold(again), fold(d1.run(rid)), "the continued rung equals a run from epoch 1")
        lst = d1.get("/v1/studies").json()["studies"]
        T.check(len(lst) == 1 and lst[0]["id"] == sid and lst[0]["trials"] == 6, "the list", lst)
        T.check(lst[0]["best"]["trial"] == res["best"]["trial"] and "spec" not in lst[0]["best"],
                "the list's best trial, without its spec", lst)
    finally:
        T.stop_daemon(d1)
    d2, _, _, st2 = run_study(2)
    try:
        T.eq(st2["status"], "completed", "the study completes with 2 workers")
        T.eq(board_key(st2["leaderboard"]), board_key(st1["leaderboard"]),
             "the same leaderboard with 2 workers")
        r = d2.get("/v1/studies/%s/events" % st2["id"], headers={"Accept": "application/x-ndjson"})
        evs2 = [json.loads(line) for line in r.text().splitlines()]
        per_trial = lambda evs, i: [(e["event"], e["data"]) for e in evs
                                    if e["data"].get("trial") == i]
        T.eq([per_trial(evs2, i) for i in range(1, 7)], [per_trial(evs1, i) for i in range(1, 7)],
             "each trial's events the same with 2 workers")
        T.eq(st2["results"]["ensemble"]["members"] and
             [(m["trial"], m["count"]) for m in st2["results"]["ensemble"]["members"]],
             [(m["trial"], m["count"]) for m in st1["results"]["ensemble"]["members"]],
             "the same ensemble")
    finally:
        T.stop_daemon(d2)


@T.test
def test_study_errors_at_pointers():
    d = T.start_daemon(["--workers", "1"])
    try:
        ds = d.upload(kc_slice(100)).json()["id"]
        bad = study()
        bad["space"]["/network/l2"] = {"type": "float", "low": 0, "high": 0.1, "log": True}
        r = d.post("/v1/studies", body={"dataset": ds, "study": bad})
        T.problem(r, 422, "log with low 0", detail_has="/space/~1network~1l2/low")
        bad = study()
        bad["space"] = {"/network/nothing": {"type": "int", "low": 1, "high": 2}}
        r = d.post("/v1/studies", body={"dataset": ds, "study": bad})
        T.problem(r, 422, "a pointer to nothing", detail_has="/space/~1network~1nothing")
        bad = study(sampler={"type": "grid"})
        bad["space"] = {"/network/hidden/0/units": {"type": "int", "low": 1, "high": 64}}
        r = d.post("/v1/studies", body={"dataset": ds, "study": bad})
        T.problem(r, 422, "a grid larger than the budget", detail_has="/budget/max_trials")
        r = d.post("/v1/studies", body={"dataset": "0" * 32, "study": study()})
        T.check(r.status in (404, 422), "an unknown dataset", r)
        # a classification with a regression's objective (and the other way round): refused
        # at /objective/metric, naming the task's objectives
        with open(os.path.join(SOURCE_DIR, "examples", "breast_cancer.csv"), "rb") as f:
            bc = d.upload(f.read(), name="bc").json()["id"]
        with open(os.path.join(SOURCE_DIR, "examples", "breast_cancer.json")) as f:
            bc_spec = json.load(f)
        r = d.post("/v1/studies", body={"dataset": bc, "study": study(base=bc_spec)})
        T.problem(r, 422, "r2 for a classification", detail_has="/objective/metric")
        T.check("log_loss" in r.json()["detail"] and "accuracy" in r.json()["detail"],
                "the problem names the classification's objectives", r.json()["detail"])
        r = d.post("/v1/studies", body={"dataset": ds, "study": study(
            objective={"metric": "accuracy"})})
        T.problem(r, 422, "accuracy for a regression", detail_has="/objective/metric")
        T.check("rmse" in r.json()["detail"], "the problem names the regression's objectives",
                r.json()["detail"])
        r = d.get("/v1/studies/" + "0" * 32)
        T.status(r, 404, "an unknown study")
        # DELETE: refused while the study runs, then its record goes (its runs stay)
        sid = d.post("/v1/studies", body={"dataset": ds, "study": study(
            budget={"max_trials": 40}, pruner={"type": "none"})}).json()["id"]
        T.problem(d.request("DELETE", "/v1/studies/" + sid), 409, "DELETE a running study",
                  detail_has="cancel it first")
        T.status(d.post("/v1/studies/%s/cancel" % sid), 202, "cancel it")
        wait_study(d, sid, timeout=60)
        T.status(d.request("DELETE", "/v1/studies/" + sid), 204, "DELETE it once it has ended")
        T.status(d.get("/v1/studies/" + sid), 404, "it is gone")
        T.eq(d.get("/v1/studies").json()["studies"], [], "and out of the list")
        T.status(d.request("DELETE", "/v1/studies/" + sid), 404, "DELETE it again")
    finally:
        T.stop_daemon(d)


@T.test
def test_study_survives_sigkill_and_cancels():
    d = T.start_daemon(["--workers", "2"])
    data_dir = d.data_dir
    ds = d.upload(kc_slice(500)).json()["id"]
    r = d.post("/v1/studies", body={"dataset": ds, "study": study()})
    sid = r.json()["id"]
    deadline = time.time() + 120 * SLOW
    while time.time() < deadline and len(d.get("/v1/studies/" + sid).json()["leaderboard"] or []) < 3:
        time.sleep(0.1)
    d.kill()
    d = T.start_daemon(["--workers", "2"], data_dir=data_dir)
    try:
        st = wait_study(d, sid)
        T.eq(st["status"], "completed", "the study completes after SIGKILL")
        T.eq(len(st["leaderboard"]), 6, "with its 6 trials")
        # the same trials as an uninterrupted study of the same document (values per trial)
        r = d.post("/v1/studies", body={"dataset": ds, "study": study()})
        st2 = wait_study(d, r.json()["id"])
        by_trial = lambda s: sorted((row["trial"], sorted(row["values"].items()), row["status"])
                                    for row in s["leaderboard"])
        T.eq(by_trial(st), by_trial(st2), "the same trials, values and statuses")
        # cancel
        r = d.post("/v1/studies", body={"dataset": ds, "study": study(
            budget={"max_trials": 40}, pruner={"type": "none"})})
        sid3 = r.json()["id"]
        busy = []
        for _ in range(10):
            time.sleep(0.05)
            busy.append(len(d.get("/v1/runs?status=running").json()["runs"]) +
                        len(d.get("/v1/runs?status=queued").json()["runs"]))
        T.check(max(busy) <= 4, "at most 2 × --workers of its runs queued or training", busy)
        r = d.post("/v1/studies/%s/cancel" % sid3)
        T.status(r, 202, "cancel")
        st3 = wait_study(d, sid3, timeout=60)
        T.eq(st3["status"], "cancelled", "cancelled")
        T.check(len(st3["leaderboard"]) < 40, "before its budget", len(st3["leaderboard"]))
        r = d.post("/v1/studies/%s/cancel" % sid3)
        T.status(r, 409, "cancelling again")
        time.sleep(1)
        runs = d.get("/v1/runs?status=running").json()["runs"] + \
            d.get("/v1/runs?status=queued").json()["runs"]
        T.eq(runs, [], "no run of a cancelled study is left queued or running")
        # a cancel asked just before a SIGKILL is carried out after the restart
        r = d.post("/v1/studies", body={"dataset": ds, "study": study(
            budget={"max_trials": 40}, pruner={"type": "none"}, sampler={"type": "random"})})
        sid4 = r.json()["id"]
        deadline = time.time() + 60 * SLOW
        while not d.get("/v1/runs?status=running").json()["runs"] and time.time() < deadline:
            time.sleep(0.02)
        T.status(d.post("/v1/studies/%s/cancel" % sid4), 202, "cancel, then SIGKILL")
        d.kill()
        d = T.start_daemon(["--workers", "2"], data_dir=data_dir)
        T.eq(wait_study(d, sid4, timeout=60)["status"], "cancelled", "cancelled after the restart")
        d.wait_idle()
        T.check(True, "no run of it left queued or running")
    finally:
        T.stop_daemon(d)


@T.test
def test_study_diverging_trial_counts_against_max_failed():
    d = T.start_daemon(["--workers", "2"])
    try:
        ds = d.upload(kc_slice(300)).json()["id"]
        grid = {"/training/optimizer/learning_rate": {"type": "categorical",
                                                      "choices": [0.01, 1e12]}}
        r = d.post("/v1/studies", body={"dataset": ds, "study": study(
            space=grid, sampler={"type": "grid"}, pruner={"type": "none"},
            budget={"max_trials": 2, "max_failed": 1})})
        st = wait_study(d, r.json()["id"])
        T.eq(st["status"], "completed", "the study goes on past a diverging trial")
        by = {row["trial"]: row for row in st["leaderboard"]}
        T.eq((by[1]["status"], by[2]["status"]), ("completed", "failed"), "trial 2 failed")
        T.check("diverged" in by[2].get("error", ""), "it diverged", by[2])
        r = d.post("/v1/studies", body={"dataset": ds, "study": study(
            space=grid, sampler={"type": "grid"}, pruner={"type": "none"},
            budget={"max_trials": 2, "max_failed": 0})})
        st = wait_study(d, r.json()["id"])
        T.eq(st["status"], "failed", "past max_failed the study fails")
        T.check("more than max_failed 0" in (st["error"] or ""), "saying why", st["error"])
    finally:
        T.stop_daemon(d)


@T.test
def test_study_holdout():
    d = T.start_daemon(["--workers", "2"])
    try:
        ds = d.upload(kc_slice(500)).json()["id"]
        r = d.post("/v1/studies", body={"dataset": ds, "study": study(
            holdout=0.2, budget={"max_trials": 3}, pruner={"type": "none"})})
        T.status(r, 202, "a study with a holdout")
        st = wait_study(d, r.json()["id"])
        T.eq(st["status"], "completed", "it completes")
        search = d.get("/v1/datasets/" + st["dataset"]).json()
        hold = d.get("/v1/datasets/" + st["holdout_dataset"]).json()
        T.eq((search["rows"], hold["rows"]), (400, 100), "400 rows searched, 100 set aside")
        T.check(st["dataset"] != ds, "the trials train on the rows searched only")
        runs = d.get("/v1/runs?limit=200").json()["runs"]
        T.check(all(run["dataset"] == st["dataset"] for run in runs), "every trial run on them")
        h = st["results"]["holdout"]
        T.eq(h["rows"], 100, "the holdout scored on its 100 rows")
        T.check(isinstance(h["best"]["r2"], float) and isinstance(h["ensemble"]["r2"], float),
                "the best trial's and the ensemble's holdout R²", h)
        T.check(h["best"]["r2"] < 1 and h["best"]["rmse"] > 0, "plausible scores", h)
        if NN_CLI:  # nn tune on the same study and data: the same trials and holdout scores
            tmp = T.tmpdir()
            with open(os.path.join(tmp, "study.json"), "w") as f:
                json.dump(study(holdout=0.2, budget={"max_trials": 3}, pruner={"type": "none"}),
                          f)
            with open(os.path.join(tmp, "data.csv"), "wb") as f:
                f.write(kc_slice(500))
            out = os.path.join(tmp, "out")
            p = subprocess.run([NN_CLI, "tune", "study.json", "data.csv", "--out", out,
                                "--quiet"], cwd=tmp, capture_output=True, timeout=300 * SLOW)
            T.check(p.returncode == 0, "nn tune on the same study", p.stderr[-500:])
            with open(os.path.join(out, "study.json")) as f:
                cli = json.load(f)
            T.eq([(r["trial"], r["objective"]) for r in cli["leaderboard"]],
                 [(r["trial"], r["objective"]) for r in st["leaderboard"]],
                 "nn tune's leaderboard is nnd's")
            T.eq(cli["holdout"]["ensemble"], h["ensemble"], "nn tune's holdout score is nnd's")
            ce, se = cli["ensemble"], st["results"]["ensemble"]
            T.check(all(abs(ce[k] - se[k]) <= 1e-12 * abs(se[k])
                        for k in ("oof_r2", "best_trial_oof_r2", "oof_mse"))
                    and (ce["rows"], ce["candidates"]) == (se["rows"], se["candidates"]),
                    "nn tune's ensemble scores out of fold are nnd's", (ce, se))
    finally:
        T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
