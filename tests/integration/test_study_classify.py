#!/usr/bin/python3
"""test_study_classify.py — a classification study over real HTTP against a real nnd: the breast
cancer data, log_loss by default, ASHA over a classification's rungs, a holdout. Checked
independently with scikit-learn (Debian's python3-sklearn) from the trials' stored out-of-fold
probabilities: every completed trial's objective (fold mean and sd of log loss) and its
out-of-fold accuracy and log loss on the leaderboard (JSON and CSV); the ensemble re-selected
greedily in Python over the top trials' probabilities, with its scores; the holdout scores of
the best trial and the ensemble from their models' predictions of the holdout dataset; predict
on the ensemble answers probabilities summing to 1 and their argmax; nn tune on the same study
and data gives the same trials, ensemble and holdout scores.

Small: 569 rows (20 % set aside), 3 folds, 6 trials of at most 9 epochs, one network each."""

import csv
import io
import json
import os
import statistics
import subprocess
import time

from sklearn import metrics as M

from nndtest import NN_CLI, SLOW, SOURCE_DIR, Suite

T = Suite("study-class")


def bc_csv():
    with open(os.path.join(SOURCE_DIR, "examples", "breast_cancer.csv"), "rb") as f:
        return f.read()


def bc_study(**over):
    with open(os.path.join(SOURCE_DIR, "examples", "breast_cancer.json")) as f:
        base = json.load(f)
    base["network"]["hidden"] = [{"units": 8, "activation": "relu"}]
    base["training"].update({"epochs": 9, "ensemble": 1,
                             "validation": {"type": "kfold", "k": 3}})
    s = {"name": "bc-search", "seed": 11, "base": base,
         "space": {"/training/optimizer/learning_rate":
                   {"type": "float", "low": 0.001, "high": 0.05, "log": True},
                   "/network/hidden/0/units": {"type": "categorical", "choices": [4, 8, 16]}},
         "sampler": {"type": "random"},
         "pruner": {"type": "asha", "min_epochs": 3, "reduction_factor": 2},
         "budget": {"max_trials": 6},
         "ensemble": {"top": 3, "rounds": 6},
         "holdout": 0.2}
    s.update(over)
    return s


def wait_study(d, sid, timeout=240):
    deadline = time.time() + timeout * SLOW
    while True:
        st = d.get("/v1/studies/" + sid).json()
        if st["status"] != "running":
            return st
        if time.time() > deadline:
            raise AssertionError("study still running after %ss" % timeout)
        time.sleep(0.2)


def close(a, b, what, tol=1e-9):
    return T.check(a is not None and abs(a - b) <= tol * max(1.0, abs(b)), what,
                   "nnd %r, sklearn %r" % (a, b))


def predicted(p, classes, positive):
    """The class a model answers: the positive of two when its probability is ≥ 0.5."""
    if len(classes) == 2:
        pos = classes.index(positive)
        return pos if p[pos] >= 0.5 else 1 - pos
    return max(range(len(p)), key=lambda c: (p[c], -c))


def oof(d, run_id, classes):
    """A run's stored out-of-fold rows: {row: (fold, class, [probabilities])}."""
    rows = d.get("/v1/runs/%s/predictions" % run_id).json()["predictions"]
    return {r["row"]: (r["fold"], classes.index(r["actual"]),
                       [r["p_" + c] for c in classes]) for r in rows if r["fold"]}


@T.test
def test_classification_study_against_sklearn():
    d = T.start_daemon(["--workers", "2"])
    try:
        ds = d.upload(bc_csv(), name="bc").json()["id"]
        r = d.post("/v1/studies", body={"dataset": ds, "study": bc_study()})
        T.status(r, 202, "POST a classification study")
        sid = r.json()["id"]
        st = wait_study(d, sid)
        T.eq(st["status"], "completed", "it completes")
        T.eq(st["study"]["objective"], {"metric": "log_loss", "direction": "minimize"},
             "without an objective a classification minimizes log_loss")
        board = st["leaderboard"]
        T.eq(len(board), 6, "6 trials")
        done = [row for row in board if row["status"] == "completed"]
        T.check(len(done) >= 2, "at least two complete", [row["status"] for row in board])
        T.check(all(row["metric"] == "log_loss" for row in board), "ranked by log loss")
        T.eq([row["objective"] for row in done], sorted(row["objective"] for row in done),
             "completed trials best (lowest) first")
        runs = {run["name"]: run["id"] for run in d.get("/v1/runs?limit=200").json()["runs"]}
        metrics = d.run(runs["bc-search trial %d" % done[0]["trial"]])["metrics"]
        classes, positive = metrics["classes"], metrics["positive"]
        T.eq(sorted(classes), ["benign", "malignant"], "two classes")
        # every completed trial's numbers from its stored out-of-fold probabilities
        probs = {}
        for row in done:
            rows = oof(d, runs["bc-search trial %d" % row["trial"]], classes)
            probs[row["trial"]] = rows
            y = [rows[i][1] for i in sorted(rows)]
            p = [rows[i][2] for i in sorted(rows)]
            T.check(all(abs(sum(q) - 1) < 1e-9 for q in p), "probabilities sum to 1")
            folds = sorted({rows[i][0] for i in rows})
            per_fold = [M.log_loss([rows[i][1] for i in rows if rows[i][0] == f],
                                   [rows[i][2] for i in rows if rows[i][0] == f], labels=[0, 1])
                        for f in folds]
            t = row["trial"]
            close(row["objective"], statistics.mean(per_fold), "trial %d: fold mean log loss" % t)
            close(row["objective_sd"], statistics.stdev(per_fold), "trial %d: its sd" % t)
            close(row["objective_oof"], M.log_loss(y, p, labels=[0, 1]),
                  "trial %d: log loss out of fold" % t)
            close(row["metrics"]["accuracy"],
                  M.accuracy_score(y, [predicted(q, classes, positive) for q in p]),
                  "trial %d: accuracy out of fold" % t)
            close(row["metrics"]["roc_auc"],
                  M.roc_auc_score(y, [q[classes.index(positive)] for q in p]
                                  if classes.index(positive) == 1 else [q[1] for q in p]),
                  "trial %d: ROC AUC out of fold" % t)
        # the CSV leaderboard carries the same
        r = d.get("/v1/studies/%s/leaderboard?format=csv" % sid)
        rows = list(csv.DictReader(io.StringIO(r.text())))
        T.check(all(k in rows[0] for k in ("objective", "objective_sd", "accuracy", "log_loss",
                                           "roc_auc", "f1_macro")), "CSV columns", list(rows[0]))
        by = {int(x["trial"]): x for x in rows}
        for row in done:
            x = by[row["trial"]]
            close(float(x["accuracy"]), row["metrics"]["accuracy"], "CSV accuracy", 1e-9)
            close(float(x["log_loss"]), row["objective_oof"], "CSV log loss", 1e-9)
            close(float(x["objective"]), row["objective"], "CSV objective", 1e-9)
        # the ensemble, selected again here: greedy by log loss over the top 3 completed trials
        ens = st["results"]["ensemble"]
        cand = [row["trial"] for row in done[:3]]
        T.eq(ens["candidates"], len(cand), "the top completed trials are the candidates")
        common = sorted(set.intersection(*(set(probs[t]) for t in cand)))
        y = [probs[cand[0]][i][1] for i in common]
        P = {t: [probs[t][i][2] for i in common] for t in cand}

        def average(counts):
            n = sum(counts.values())
            return [[sum(counts[t] * P[t][i][c] for t in counts) / n for c in range(2)]
                    for i in range(len(common))]

        counts = {t: 0 for t in cand}
        for _ in range(6):
            best, pick = None, None
            for t in cand:
                counts[t] += 1
                v = M.log_loss(y, average(counts), labels=[0, 1])
                counts[t] -= 1
                if best is None or v < best:
                    best, pick = v, t
            counts[pick] += 1
        T.eq(sorted((m["trial"], m["count"]) for m in ens["members"]),
             sorted((t, c) for t, c in counts.items() if c), "the same members and counts")
        avg = average(counts)
        close(ens["objective_oof"], M.log_loss(y, avg, labels=[0, 1]), "ensemble log loss")
        close(ens["oof"]["log_loss"], M.log_loss(y, avg, labels=[0, 1]), "ensemble oof log loss")
        close(ens["oof"]["accuracy"],
              M.accuracy_score(y, [predicted(q, classes, positive) for q in avg]),
              "ensemble oof accuracy")
        T.check(ens["oof"]["log_loss"] <= ens["best_trial_oof"]["log_loss"] + 1e-12,
                "the ensemble is no worse than the best trial out of fold", ens)
        T.eq(ens["rows"], len(common), "scored on the rows every candidate predicted")
        # the holdout: the best trial's model and the ensemble predict the rows set aside
        hold_csv = d.get("/v1/datasets/%s/csv" % st["holdout_dataset"]).body
        truth = [r["target"] for r in csv.DictReader(io.StringIO(hold_csv.decode()))]
        h = st["results"]["holdout"]
        T.eq(h["rows"], len(truth), "the holdout's rows")
        T.eq(len(truth), 114, "20 % of 569 rows set aside")
        yh = [classes.index(v) for v in truth]
        for who, path in (("best", "/v1/runs/%s/predict" % st["results"]["best"]["run"]),
                          ("ensemble", "/v1/studies/%s/predict" % sid)):
            r = d.post(path, body=hold_csv, headers={"Content-Type": "text/csv"})
            T.status(r, 200, "%s predicts the holdout" % who)
            ans = r.json()
            T.eq(ans["classes"], classes, "%s: the classes in order" % who)
            ph = [[x["probabilities"][c] for c in classes] for x in ans["predictions"]]
            T.check(all(abs(sum(q) - 1) < 1e-9 for q in ph),
                    "%s: probabilities summing to 1" % who)
            T.check(all(x["label"] == classes[predicted([x["probabilities"][c] for c in classes],
                                                        classes, positive)]
                        for x in ans["predictions"]), "%s: the label is their argmax" % who)
            close(h[who]["log_loss"], M.log_loss(yh, ph, labels=[0, 1]),
                  "%s: holdout log loss" % who)
            close(h[who]["accuracy"],
                  M.accuracy_score(yh, [predicted(q, classes, positive) for q in ph]),
                  "%s: holdout accuracy" % who)
        # the ensemble's model file predicts like POST …/predict
        model = d.get("/v1/studies/%s/model" % sid).json()
        T.eq((model["format"], len(model["members"])), ("nnd-weighted-model", len(ens["members"])),
             "the ensemble as a weighted model")
        if NN_CLI:
            tmp = T.tmpdir()
            with open(os.path.join(tmp, "study.json"), "w") as f:
                json.dump(bc_study(), f)
            with open(os.path.join(tmp, "data.csv"), "wb") as f:
                f.write(bc_csv())
            out = os.path.join(tmp, "out")
            p = subprocess.run([NN_CLI, "tune", "study.json", "data.csv", "--out", out,
                                "--quiet"], cwd=tmp, capture_output=True, timeout=300 * SLOW)
            T.check(p.returncode == 0, "nn tune on the same study", p.stderr[-500:])
            with open(os.path.join(out, "study.json")) as f:
                cli = json.load(f)
            T.eq([(r["trial"], r["status"]) for r in cli["leaderboard"]],
                 [(r["trial"], r["status"]) for r in board], "nn tune's trials are nnd's")
            for a, b in zip(cli["leaderboard"], board):
                if b["status"] == "completed":
                    close(a["objective"], b["objective"], "nn tune's trial %d" % b["trial"], 1e-12)
            T.eq([(m["trial"], m["count"]) for m in cli["ensemble"]["members"]],
                 [(m["trial"], m["count"]) for m in ens["members"]], "nn tune's ensemble")
            for who in ("best", "ensemble"):
                close(cli["holdout"][who]["log_loss"], h[who]["log_loss"],
                      "nn tune's holdout log loss (%s)" % who, 1e-12)
            with open(os.path.join(tmp, "rows.csv"), "wb") as f:
                f.write(hold_csv)
            p = subprocess.run([NN_CLI, "predict", os.path.join(out, "model.json"), "rows.csv"],
                               cwd=tmp, capture_output=True, timeout=60 * SLOW)
            lines = list(csv.DictReader(io.StringIO(p.stdout.decode())))
            T.check(p.returncode == 0 and len(lines) == 114 and all(
                abs(sum(float(x["p_" + c]) for c in classes) - 1) < 1e-9 for x in lines),
                "nn predict with nn tune's ensemble: probabilities summing to 1",
                p.stderr[-300:])
    finally:
        T.stop_daemon(d)


@T.test
def test_classification_objectives_and_refusals():
    d = T.start_daemon(["--workers", "2"])
    try:
        ds = d.upload(bc_csv(), name="bc").json()["id"]
        r = d.post("/v1/studies", body={"dataset": ds, "study": bc_study(
            objective={"metric": "mae"})})
        T.problem(r, 422, "a regression's objective", detail_has="/objective/metric")
        T.check("accuracy, balanced_accuracy, log_loss, roc_auc, f1_macro, brier"
                in r.json()["detail"], "naming the classification's", r.json()["detail"])
        r = d.post("/v1/studies", body={"dataset": ds, "study": bc_study(
            objective={"metric": "pr_auc"})})
        T.problem(r, 422, "pr_auc is not an objective", detail_has="/objective/metric")
        # accuracy, maximized: the trials ranked highest first, the ensemble by accuracy
        r = d.post("/v1/studies", body={"dataset": ds, "study": bc_study(
            objective={"metric": "accuracy"}, budget={"max_trials": 3}, pruner={"type": "none"},
            holdout=0)})
        T.status(r, 202, "an accuracy study")
        st = wait_study(d, r.json()["id"])
        T.eq(st["status"], "completed", "it completes")
        T.eq(st["study"]["objective"]["direction"], "maximize", "accuracy is maximized")
        objs = [row["objective"] for row in st["leaderboard"]]
        T.eq(objs, sorted(objs, reverse=True), "highest accuracy first")
        T.check(all(row["objective_oof"] == row["metrics"]["accuracy"]
                    for row in st["leaderboard"]), "objective_oof is the run's accuracy")
        ens = st["results"]["ensemble"]
        T.check(ens["metric"] == "accuracy" and ens["objective_oof"] == ens["oof"]["accuracy"] and
                ens["objective_oof"] >= ens["best_trial_oof"]["accuracy"],
                "the ensemble selected by accuracy, no worse than the best trial", ens)
    finally:
        T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
