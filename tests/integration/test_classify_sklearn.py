#!/usr/bin/python3
"""test_classify_sklearn.py — nn's classification results checked against scikit-learn.

`nn train` runs on the classification examples (and small variants); every metric it reports —
out of fold and per fold — is computed again by sklearn.metrics from its own predictions.csv
(accuracy, balanced accuracy, log loss, ROC AUC, average precision, macro F1, Brier, confusion
matrix, per-class precision/recall/F1/support, the best-F1 threshold), the probabilities of every
row sum to 1, folds are stratified, a fold with one class has a null AUC, a number target is
classes only when the spec says so, rows without a label are left out and predicted, and
`nn predict` names every class and reports labels it never saw. Needs Debian's python3-sklearn
(CMake runs the integration tests with /usr/bin/python3)."""

import csv
import io
import json
import math
import os
import subprocess

import numpy as np
from sklearn import metrics as M

from nndtest import Suite

T = Suite("classify-sklearn")
NN = os.environ.get("NN_CLI", "")
SRC = os.environ.get("NN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TOL = 1e-9  # metrics.json is written with 10 significant digits


def example(name):
    return os.path.join(SRC, "examples", name)


def train(spec, data_path, quick=True):
    """Runs nn train; returns (metrics, predictions rows, history rows, out dir)."""
    d = T.tmpdir()
    if quick:  # the examples' networks, fewer epochs: these tests check the numbers, not skill
        spec = json.loads(json.dumps(spec))
        spec["training"]["epochs"] = min(spec["training"]["epochs"], 20)
        spec["training"]["ensemble"] = min(spec["training"].get("ensemble", 1), 2)
    sp = os.path.join(d, "spec.json")
    with open(sp, "w") as f:
        json.dump(spec, f)
    out = os.path.join(d, "out")
    r = subprocess.run([NN, "train", sp, data_path, "--out", out, "--quiet"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("nn train failed (%d): %s" % (r.returncode, r.stderr))
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    with open(os.path.join(out, "predictions.csv"), newline="") as f:
        p = list(csv.DictReader(f))
    with open(os.path.join(out, "history.csv"), newline="") as f:
        h = list(csv.DictReader(f))
    return m, p, h, out, r.stdout


def close(a, b, what, tol=TOL):
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return T.check(a is None and (b is None or math.isnan(b)), what, "%r vs %r" % (a, b))
    return T.check(abs(a - b) <= tol * max(1.0, abs(b)), what, "nn %r, sklearn %r" % (a, b))


def check_metrics(m, rows, classes, positive, what):
    """Every metric of record m against sklearn on rows (predictions.csv dicts)."""
    y = np.array([r["actual"] for r in rows])
    pred = np.array([r["predicted"] for r in rows])
    prob = np.array([[float(r["p_" + c]) for c in classes] for r in rows])
    T.eq(m["n"], len(rows), what + ": n")
    close(m["accuracy"], M.accuracy_score(y, pred), what + ": accuracy")
    close(m["balanced_accuracy"], M.balanced_accuracy_score(y, pred), what + ": balanced accuracy")
    close(m["log_loss"], M.log_loss(y, prob, labels=classes), what + ": log loss")
    close(m["f1_macro"], M.f1_score(y, pred, average="macro"), what + ": macro F1")
    onehot = (y[:, None] == np.array(classes)[None, :]).astype(float)
    if len(set(y)) < len(classes):  # sklearn refuses: undefined
        T.check(m["roc_auc"] is None, what + ": a class absent, so the ROC AUC is null")
    if len(classes) == 2:
        pi = classes.index(positive)
        if len(set(y)) == 2:
            close(m["roc_auc"], M.roc_auc_score(y == positive, prob[:, pi]), what + ": ROC AUC")
        if positive in set(y):
            close(m["pr_auc"], M.average_precision_score(y == positive, prob[:, pi]),
                  what + ": average precision")
        close(m["brier"], M.brier_score_loss(y == positive, prob[:, pi]), what + ": Brier")
    else:
        if len(set(y)) == len(classes):
            close(m["roc_auc"], M.roc_auc_score(y, prob, multi_class="ovr", labels=classes),
                  what + ": ROC AUC one-vs-rest macro")
        T.check(m["pr_auc"] is None, what + ": no average precision for more than two classes")
        close(m["brier"], float(np.mean(np.sum((prob - onehot) ** 2, axis=1))),
              what + ": Brier Σ_k (p − y)²")
    T.eq(m["confusion"]["labels"], classes, what + ": confusion labels")
    T.eq(m["confusion"]["matrix"], M.confusion_matrix(y, pred, labels=classes).tolist(),
         what + ": confusion matrix (rows = actual)")
    p, r, f1, s = M.precision_recall_fscore_support(y, pred, labels=classes, zero_division=0)
    for i, c in enumerate(classes):
        pc = m["per_class"][i]
        ok = (pc["label"] == c and abs(pc["precision"] - p[i]) < 1e-9 and
              abs(pc["recall"] - r[i]) < 1e-9 and abs(pc["f1"] - f1[i]) < 1e-9 and
              pc["support"] == s[i])
        T.check(ok, "%s: per class %s" % (what, c), (pc, p[i], r[i], f1[i], s[i]))


def check_run(m, rows, what):
    classes = m["classes"]
    positive = m.get("positive")
    oof = [r for r in rows if r["fold"] != ""]
    check_metrics(m, oof, classes, positive, what + " out of fold")
    for fm in m["folds"]:
        fr = [r for r in oof if int(r["fold"]) == fm["fold"]]
        check_metrics(fm, fr, classes, positive, "%s fold %d" % (what, fm["fold"]))
    sums = [sum(float(r["p_" + c]) for c in classes) for r in rows]
    T.check(max(abs(s - 1) for s in sums) <= 1e-6, what + ": every row's probabilities sum to 1",
            max(abs(s - 1) for s in sums))
    return oof


@T.test
def test_breast_cancer_against_sklearn():
    with open(example("breast_cancer.json")) as f:
        spec = json.load(f)
    m, rows, hist, _, out = train(spec, example("breast_cancer.csv"))
    T.eq((m["task"], m["classes"], m["positive"]), ("classification", ["benign", "malignant"],
                                                    "malignant"),
         "classes in sorted order; the positive class is the second")
    T.eq(m["class_rows"], [357, 212], "rows per class")
    oof = check_run(m, rows, "breast cancer")
    # stratified: every fold holds each class within one row of its share
    for c, n in (("benign", 357), ("malignant", 212)):
        per = [sum(1 for r in oof if r["actual"] == c and int(r["fold"]) == f) for f in range(1, 6)]
        T.check(max(per) - min(per) <= 1, "fold counts of %s are within one row" % c, per)
    # the threshold that maximizes F1 out of fold, and the results at 0.5
    y = np.array([r["actual"] == "malignant" for r in oof])
    s = np.array([float(r["p_malignant"]) for r in oof])
    prec, rec, thr = M.precision_recall_curve(y, s)
    f1 = 2 * prec * rec / np.where(prec + rec > 0, prec + rec, 1)
    best = int(np.argmax(f1[:-1]))
    close(m["threshold"]["best_f1"]["f1"], float(f1[best]), "best F1 as sklearn's PR curve")
    close(m["threshold"]["best_f1"]["threshold"], float(thr[best]), "its threshold")
    close(m["threshold"]["at_0.5"]["f1"], M.f1_score(y, s >= 0.5), "F1 at 0.5")
    close(m["threshold"]["at_0.5"]["accuracy"], m["accuracy"], "accuracy at 0.5 is the accuracy")
    T.check(all(r["val_log_loss"] != "" and r["val_accuracy"] != "" for r in hist
                if r["fold"] != "0"), "history has val_log_loss and val_accuracy per epoch")
    T.check("accuracy" in out and "log loss" in out and "ROC AUC" in out,
            "nn train prints accuracy, log loss and AUC per fold", out)


@T.test
def test_wine_three_classes_against_sklearn():
    with open(example("wine.json")) as f:
        spec = json.load(f)
    m, rows, _, _, _ = train(spec, example("wine.csv"))
    T.eq(m["classes"], ["class_0", "class_1", "class_2"], "three classes in sorted order")
    T.check("positive" not in m and "threshold" not in m, "no positive class or threshold")
    check_run(m, rows, "wine")


def small_csv(rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["x1", "x2", "y"])
    w.writerows(rows)
    return out.getvalue()


def write(text):
    path = os.path.join(T.tmpdir(), "data.csv")
    with open(path, "w") as f:
        f.write(text)
    return path


def small_spec(**training):
    t = {"epochs": 5, "validation": {"type": "kfold", "k": 3}}
    t.update(training)
    return {"target": "y", "seed": 3,
            "preprocess": [{"op": "normalize", "columns": "inputs", "method": "zscore"}],
            "network": {"hidden": [{"units": 4}]}, "training": t}


@T.test
def test_a_fold_with_one_class_has_a_null_auc():
    # unstratified, 3 rows of "b" among 30: with seed 2, two folds validate no "b"
    rows = [[i, (i * 7) % 11, "b" if i in (1, 2, 3) else "a"] for i in range(30)]
    spec = small_spec(validation={"type": "kfold", "k": 3, "stratify": False})
    spec["seed"] = 2
    m, preds, _, _, _ = train(spec, write(small_csv(rows)), quick=False)
    folds = m["folds"]
    lonely = [f for f in folds
              if len({r["actual"] for r in preds if r["fold"] == str(f["fold"])}) == 1]
    T.check(len(lonely) == 2, "two folds validate one class only", folds)
    T.check(all(f["roc_auc"] is None for f in lonely), "its ROC AUC is null, not NaN", lonely)
    check_run(m, preds, "one-class fold")


@T.test
def test_number_target_is_classes_only_when_told():
    rows = [[i % 7, (i * 3) % 5, 1 + i % 5] for i in range(60)]  # ratings 1–5
    path = write(small_csv(rows))
    m, _, _, _, _ = train(small_spec(), path, quick=False)
    T.eq(m["task"], "regression", "ratings 1–5 stay numbers")
    spec = small_spec()
    spec["task"] = "classification"
    m, preds, _, _, _ = train(spec, path, quick=False)
    T.eq((m["task"], m["classes"]), ("classification", ["1", "2", "3", "4", "5"]),
         "with \"task\": \"classification\" they are five classes, named by their values")
    check_run(m, preds, "number labels")


@T.test
def test_rows_without_a_label_are_left_out_and_predicted():
    rows = [[i, (i * 5) % 9, "" if i % 10 == 0 else ("hi" if i % 3 else "lo")] for i in range(60)]
    m, preds, _, _, _ = train(small_spec(), write(small_csv(rows)), quick=False)
    T.eq(m["rows_skipped"], 6, "six rows without a label are skipped")
    T.eq(m["n"], 54, "scored on the other 54")
    skipped = [r for r in preds if r["fold"] == ""]
    T.check(len(skipped) == 6 and all(r["actual"] == "" and r["predicted"] in ("hi", "lo")
                                      for r in skipped),
            "and predicted, with an empty fold and actual", skipped[:2])
    check_run(m, preds, "skipped labels")


@T.test
def test_positive_class_chosen_and_predict_names_classes():
    with open(example("breast_cancer.json")) as f:
        spec = json.load(f)
    spec["positive"] = "benign"
    m, rows, _, out, _ = train(spec, example("breast_cancer.csv"))
    T.eq(m["positive"], "benign", "\"positive\" chooses the positive class")
    check_run(m, rows, "positive benign")
    with open(example("breast_cancer.csv"), newline="") as f:
        lines = f.read().splitlines()
    data = lines[:4] + [lines[4].rsplit(",", 1)[0] + ",borderline"]
    path = write("\n".join(data) + "\n")
    r = subprocess.run([NN, "predict", os.path.join(out, "model.json"), path],
                       capture_output=True, text=True)
    T.eq(r.returncode, 0, "nn predict on rows with an unseen label exits 0")
    got = list(csv.DictReader(io.StringIO(r.stdout)))
    T.check(len(got) == 4 and set(got[0]) == {"predicted", "p_benign", "p_malignant"},
            "nn predict writes the label and every class's probability", r.stdout[:300])
    T.check(all(abs(float(g["p_benign"]) + float(g["p_malignant"]) - 1) < 1e-9 for g in got),
            "they sum to 1")
    T.check("never seen in training" in r.stderr and '"borderline"' in r.stderr,
            "the unseen label is reported", r.stderr)


if __name__ == "__main__":
    T.main()
