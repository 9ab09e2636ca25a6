#!/usr/bin/python3
"""test_api_classify.py — classification over HTTP: a breast-cancer run (validate says the task
and the classes, epoch events carry val_log_loss and val_accuracy, the run's metrics, history and
predictions name classes by label and match `nn train` on the same spec and data, the predictions'
probabilities sum to 1), predicting new rows by CSV and JSON (the label and every class's
probability; an unseen label in the target column reported, never a failure), a three-class run,
and every spec error of a classification at its JSON pointer with a 422."""

import csv
import io
import json
import os
import subprocess

from nndtest import NN_CLI, Suite

T = Suite("classify")
SRC = os.environ.get("NN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def example(name):
    with open(os.path.join(SRC, "examples", name), "rb") as f:
        return f.read()


def quick(name, epochs=15, ensemble=2):
    spec = json.loads(example(name + ".json"))
    spec["training"]["epochs"] = epochs
    spec["training"]["ensemble"] = ensemble
    return spec


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@T.test
def test_breast_cancer_run_over_http():
    d = T.start_daemon(["--workers", "2"])
    data = example("breast_cancer.csv")
    ds = d.upload(data, name="breast-cancer").json()
    spec = quick("breast_cancer")
    r = d.post("/v1/specs/validate", {"dataset": ds["id"], "spec": spec})
    T.status(r, 200, "validate a classification")
    v = r.json()
    T.eq((v["task"], v["positive"]), ("classification", "malignant"),
         "validate says the task and the positive class")
    T.eq(v["classes"], [{"label": "benign", "rows": 357}, {"label": "malignant", "rows": 212}],
         "validate lists the classes with their rows")
    T.eq(v["parameters"], 30 * 16 + 16 + 16 + 1, "one logit for two classes")
    r = d.create_run(ds["id"], spec)
    T.status(r, 202, "POST /v1/runs")
    run_id = r.json()["id"]
    run = d.wait_run(run_id, timeout=120)
    T.eq(run["status"], "succeeded", "the run succeeds")
    m = run["metrics"]
    T.eq((m["task"], m["classes"], m["positive"]), ("classification", ["benign", "malignant"],
                                                    "malignant"), "metrics: task and classes")
    T.check(0.9 < m["accuracy"] <= 1 and 0 < m["log_loss"] < 0.3 and m["roc_auc"] > 0.95,
            "metrics: accuracy, log loss, AUC", (m["accuracy"], m["log_loss"], m["roc_auc"]))
    T.check(all(k in m for k in ("balanced_accuracy", "pr_auc", "f1_macro", "brier", "confusion",
                                 "per_class", "threshold")), "metrics: every classification key")
    T.eq(sum(sum(row) for row in m["confusion"]["matrix"]), 569, "the confusion counts every row")
    T.check(all("accuracy" in f and "log_loss" in f and "roc_auc" in f for f in m["folds"]),
            "per fold too")
    events, _ = d.events(run_id, ndjson=True)
    epochs = [e for _, t, e in events if t == "epoch"]
    T.check(epochs and all("val_log_loss" in e and "val_accuracy" in e and "val_r2" not in e
                           for e in epochs if e["fold"] > 0),
            "epoch events carry val_log_loss and val_accuracy", epochs[:1])
    ends = [e for _, t, e in events if t == "fold" and e.get("state") == "finished" and e["fold"]]
    T.check(len(ends) == 5 and all("accuracy" in e and "log_loss" in e for e in ends),
            "fold events carry accuracy and log loss")
    final = events[-1][2]
    T.check(final["status"] == "succeeded" and abs(final["accuracy"] - m["accuracy"]) < 1e-9,
            "the final status event carries the accuracy", final)
    runs = d.get("/v1/runs").json()["runs"]
    mine = [x for x in runs if x["id"] == run_id][0]
    T.check(mine["task"] == "classification" and mine["accuracy"] == m["accuracy"],
            "the run list shows task and accuracy", mine)

    r = d.get("/v1/runs/%s/history?format=csv" % run_id)
    T.check(r.text().startswith("fold,member,epoch,train_loss,val_loss,val_log_loss,"
                                "val_accuracy,lr,seconds\n"), "history CSV columns",
            r.text()[:120])
    r = d.get("/v1/runs/%s/predictions?format=csv" % run_id)
    rows = csv_rows(r.text())
    T.eq(list(rows[0].keys()), ["row", "fold", "actual", "predicted", "p_benign", "p_malignant"],
         "predictions.csv columns: row, fold, actual, predicted, p_<label>…")
    T.check(all(abs(float(x["p_benign"]) + float(x["p_malignant"]) - 1) <= 1e-6 for x in rows),
            "each row's probabilities sum to 1")
    T.check(all(x["actual"] in ("benign", "malignant") for x in rows), "labels, not indices")
    js = d.get("/v1/runs/%s/predictions" % run_id).json()["predictions"]
    T.eq(len(js), 569, "JSON predictions: every row")
    T.check(all(set(x) == {"row", "fold", "actual", "predicted", "p_benign", "p_malignant"}
                for x in js), "JSON predictions have the CSV's keys", js[0])
    T.check(all(abs(x["p_malignant"] - float(y["p_malignant"])) <= 1e-15 * 4
                for x, y in zip(js, rows)), "JSON and CSV agree")

    # the same spec and data through nn train: the same numbers (training is deterministic)
    tmp = T.tmpdir()
    with open(os.path.join(tmp, "spec.json"), "w") as f:
        json.dump(spec, f)
    with open(os.path.join(tmp, "data.csv"), "wb") as f:
        f.write(data)
    subprocess.run([NN_CLI, "train", os.path.join(tmp, "spec.json"),
                    os.path.join(tmp, "data.csv"), "--out", os.path.join(tmp, "out"), "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(tmp, "out", "predictions.csv")) as f:
        cli = csv_rows(f.read())
    T.check(len(cli) == len(rows) and all(
        a["fold"] == b["fold"] and a["predicted"] == b["predicted"] and
        float(a["p_malignant"]) == float(b["p_malignant"]) for a, b in zip(cli, rows)),
        "nnd's out-of-fold predictions are nn train's, bit for bit")

    # predict: CSV and JSON bodies, the label and every class's probability
    lines = data.decode().splitlines()
    body = "\n".join(lines[:6]) + "\n"
    r = d.post("/v1/runs/%s/predict" % run_id, body=body, headers={"Content-Type": "text/csv"})
    T.status(r, 200, "predict CSV rows")
    p = r.json()
    T.eq((p["targets"], p["classes"]), (["target"], ["benign", "malignant"]),
         "predict names the target and the classes")
    T.check(len(p["predictions"]) == 5 and all(
        set(x["probabilities"]) == {"benign", "malignant"} and
        x["label"] == max(x["probabilities"], key=x["probabilities"].get)
        for x in p["predictions"]), "each prediction: the label and every class's probability",
        p["predictions"][:1])
    T.eq(p["evaluation"], {"rows": 5, "accuracy": 1.0, "unseen_labels": 0},
         "with the target column, the accuracy on it")
    header = lines[0].split(",")
    rows_json = [dict(zip(header[:-1], map(float, ln.split(",")[:-1]))) for ln in lines[1:4]]
    rows_json[1]["target"] = "borderline"  # a label never seen in training
    r = d.post("/v1/runs/%s/predict" % run_id, {"rows": rows_json})
    T.status(r, 200, "predict JSON rows, one with an unseen label")
    ev = r.json().get("evaluation", {})
    T.eq((ev.get("unseen_labels"), ev.get("first_unseen")), (1, {"row": 2, "label": "borderline"}),
         "the unseen label is reported, not refused")
    r = d.post("/v1/runs/%s/predict" % run_id, body=body,
               headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    got = csv_rows(r.text())
    T.check(r.status == 200 and list(got[0]) == ["predicted", "p_benign", "p_malignant"],
            "predict as CSV: predicted, p_<label>…", r.text()[:200])
    T.stop_daemon(d)


@T.test
def test_wine_three_classes_over_http():
    d = T.start_daemon(["--workers", "2"])
    ds = d.upload(example("wine.csv"), name="wine").json()
    run_id = d.create_run(ds["id"], quick("wine", epochs=30)).json()["id"]
    run = d.wait_run(run_id, timeout=120)
    m = run["metrics"]
    T.eq((run["status"], m["classes"]), ("succeeded", ["class_0", "class_1", "class_2"]),
         "three classes")
    T.check("positive" not in m and m["pr_auc"] is None and m["roc_auc"] > 0.9,
            "one-vs-rest AUC, no positive class", (m.get("positive"), m["roc_auc"]))
    rows = csv_rows(d.get("/v1/runs/%s/predictions?format=csv" % run_id).text())
    T.check(all(abs(sum(float(x["p_class_%d" % c]) for c in range(3)) - 1) <= 1e-6
                for x in rows), "three probabilities summing to 1 on every row")
    model = d.get("/v1/runs/%s/model" % run_id).json()
    T.eq((model["task"], model["classes"]), ("classification", ["class_0", "class_1", "class_2"]),
         "the model file carries the classes")
    T.stop_daemon(d)


@T.test
def test_classification_spec_errors_at_their_pointers():
    d = T.start_daemon(["--workers", "1"])
    ds = d.upload(example("breast_cancer.csv"), name="bc").json()["id"]
    rows = ["x,y"] + ["%d,%s" % (i, "a" if i % 10 else "b") for i in range(40)]
    small = d.upload(("\n".join(rows) + "\n").encode(), name="few-b").json()["id"]

    def refused(dataset, spec, pointer, has, what):
        body = T.problem(d.post("/v1/runs", {"dataset": dataset, "spec": spec}), 422, what)
        errs = (body or {}).get("errors", [])
        T.check(any(e["pointer"] == pointer and has in e["message"] for e in errs),
                "%s: at %s" % (what, pointer), errs)

    base = {"target": "target", "training": {"epochs": 1}}
    refused(ds, dict(base, network={"output": {"activation": "sigmoid"}}),
            "/network/output/activation", "must be linear", "a sigmoid output")
    refused(ds, dict(base, training={"epochs": 1, "loss": "mse"}), "/training/loss",
            "regression loss", "a regression loss on a text target")
    refused(ds, dict(base, positive="maybe"), "/positive", 'no class "maybe"',
            "an unknown positive class")
    refused(ds, dict(base, training={"epochs": 1, "early_stopping": {"monitor": "val_r2",
                                                                      "patience": 3}}),
            "/training/early_stopping/monitor", "val_r2 is for regression", "an R² monitor")
    refused(ds, dict(base, training={"epochs": 1, "loss": {"type": "cross_entropy",
                                                           "class_weight": {"benign": 1,
                                                                            "harmless": 2}}}),
            "/training/loss/class_weight/harmless", 'no class "harmless"',
            "a class weight of no class")
    refused(small, {"target": "y", "training": {"epochs": 1}}, "/training/validation/k",
            'class "b" has 4 rows, fewer than the 5 folds', "a class with fewer rows than k")
    refused(ds, {"target": "mean_radius", "training": {"epochs": 1, "loss": "cross_entropy"}},
            "/training/loss", "cross_entropy is for classification",
            "cross_entropy on a number target")
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
