#!/usr/bin/python3
"""test_api_checks.py — what is knowable at a request is refused there, at its JSON pointer,
instead of being accepted and failing later: k folds on fewer rows, a holdout that leaves no
training row, best_fold without validation, an absurd l2, an unknown text column, a run name with
control characters, unknown keys in the request envelope, a NUL in JSON. Answers that used to say
too little or lie: {"rows": []} to predict, the features of a failed run, CSV outputs whose column
names hold commas and quotes (server and nn command)."""

import csv
import io
import json
import os
import subprocess

from nndtest import NN_CLI, Suite

T = Suite("checks")


def xy(rows):
    return ("x,y\n" + "".join("%d,%d\n" % (i, 2 * i + 1) for i in range(1, rows + 1))).encode()


def spec(**training):
    s = {"name": "c", "target": "y", "network": {"hidden": [{"units": 4}]},
         "training": {"epochs": 2, "validation": {"type": "kfold", "k": 2}}}
    s["training"].update(training)
    return s


def pointers(r):
    try:
        return [e["pointer"] for e in r.json().get("errors", [])]
    except ValueError:
        return []


@T.test
def test_refused_at_post_with_pointers():
    d = T.start_daemon(["--workers", "1"])
    ten = d.upload(xy(10), name="ten").json()["id"]
    one = d.upload(xy(1), name="one").json()["id"]
    cases = [
        ("k = 50 on 10 rows", ten, spec(validation={"type": "kfold", "k": 50}),
         "/training/validation/k"),
        ("k = 5 on one row", one, spec(validation={"type": "kfold", "k": 5}),
         "/training/validation/k"),
        ("holdout 0.999 on 10 rows", ten, spec(validation={"type": "holdout", "fraction": 0.999}),
         "/training/validation/fraction"),
        ("final best_fold with validation none", ten,
         spec(validation={"type": "none"}, final="best_fold"), "/training/final"),
        ("an absurd l2", ten, dict(spec(), network={"hidden": [{"units": 4, "l2": 1e30}]}),
         "/network/hidden/0/l2"),
        ("an unknown text column", ten, dict(spec(), text_columns=["x", "nope"]),
         "/text_columns/1"),
        ("an unknown id column", ten, dict(spec(), id="ident"), "/id"),
        ("a run name with control characters", ten, dict(spec(), name="evil\u202e\u0007"),
         "/name"),
    ]
    for what, ds, s, ptr in cases:
        for path in ("/v1/runs", "/v1/specs/validate"):
            r = d.post(path, {"dataset": ds, "spec": s})
            T.problem(r, 422, "%s: %s" % (path, what))
            T.check(ptr in pointers(r), "%s: %s at %s" % (path, what, ptr), r.body[:300])
    r = d.post("/v1/specs/validate", {"dataset": ten, "spec": dict(spec(), text_columns=["yy"])})
    T.check(b"did you mean" in r.body, "an unknown text column suggests a close one", r.body[:300])
    T.eq(d.get("/v1/runs").json()["runs"], [], "none of them was accepted")

    # the envelope: unknown keys are refused with a suggestion, not ignored
    r = d.post("/v1/specs/validate", {"datset": ten, "spec": spec()})
    T.problem(r, 422, "validate with {\"datset\": …}")
    T.check("/datset" in pointers(r) and b'did you mean \\"dataset\\"' in r.body,
            "the unknown key at /datset with did-you-mean", r.body[:300])
    r = d.post("/v1/runs", {"dataset": ten, "spec": spec(), "priority": 1})
    T.problem(r, 422, "POST /v1/runs with an unknown key")
    T.check("/priority" in pointers(r), "at /priority", r.body[:300])
    r = d.post("/v1/specs/validate", {"dataset": 42, "spec": spec()})
    T.check(r.status == 422 and "/dataset" in pointers(r), "a dataset that is not a string → 422",
            r)
    r = d.post("/v1/specs/validate", b'{"spec": {"name": "a\\u0000b"}}',
               headers={"Content-Type": "application/json"})
    body = T.problem(r, 400, "a \\u0000 in the JSON")
    T.check(body and "JSON_ALLOW_NUL" not in body["detail"] and "NUL" in body["detail"],
            "the detail says what is wrong, not a parser flag", body)
    # and what is fine still is
    T.status(d.post("/v1/specs/validate", {"dataset": ten, "spec": spec()}), 200, "a fine spec")
    T.stop_daemon(d)


@T.test
def test_predict_without_rows_and_failed_features():
    d = T.start_daemon(["--workers", "1"])
    ds = d.upload(b"date,x,y\n" + b"".join(b"2020010%d,%d,%d\n" % (i % 9 + 1, i, 2 * i)
                                          for i in range(40)), name="p").json()["id"]
    s = dict(spec(), text_columns=["date"],
             preprocess=[{"op": "date", "column": "date", "format": "%Y%m%d"}])
    r = d.create_run(ds, s)
    T.status(r, 202, "a run on a date column")
    rid = r.json()["id"]
    T.eq(d.wait_run(rid)["status"], "succeeded", "a run succeeds")
    r = d.post("/v1/runs/%s/predict" % rid, {"rows": []})
    T.status(r, 200, 'predict {"rows": []}')
    T.eq(r.json().get("predictions"), [], "no rows, no predictions")
    r = d.post("/v1/runs/%s/predict" % rid, b"date,x\n", headers={"Content-Type": "text/csv"})
    T.check(r.status == 200 and r.json().get("predictions") == [], "a CSV header alone → 200, []",
            r)
    bad = spec(optimizer={"type": "sgd", "learning_rate": 1e6})
    fid = d.create_run(ds, dict(bad, preprocess=s["preprocess"], text_columns=["date"]))
    fid = fid.json()["id"]
    run = d.wait_run(fid)
    T.eq(run["status"], "failed", "a run with lr 1e6 fails")
    body = T.problem(d.get("/v1/runs/%s/features" % fid), 409, "features of the failed run")
    T.check(body and "failed" in body["detail"] and "no model yet" not in body["detail"]
            and (run.get("error") or "?")[:20] in body["detail"],
            "it says the run failed, and why", body)
    T.stop_daemon(d)


NAMES_CSV = ('"c,d","say ""hi""",plain,"ta,rg""et"\n' +
             "".join('"k%d,x",%d,%d,%d\n' % (i, i, i % 7, 3 * i + 1) for i in range(1, 41)))


def parse(text):
    return list(csv.reader(io.StringIO(text)))


@T.test
def test_csv_names_are_quoted():
    d = T.start_daemon(["--workers", "1"])
    ds = d.upload(NAMES_CSV.encode(), name="names").json()["id"]
    s = {"name": "names", "target": ['say "hi"', 'ta,rg"et'], "id": "c,d",
         "network": {"hidden": [{"units": 4}]},
         "training": {"epochs": 2, "validation": {"type": "kfold", "k": 2}}}
    rid = d.create_run(ds, s).json()["id"]
    T.eq(d.wait_run(rid)["status"], "succeeded", "a run on columns named with , and \"")
    rows = parse(d.get("/v1/runs/%s/predictions?format=csv" % rid).text())
    T.eq(rows[0], ["row", "fold", "id", 'actual_say "hi"', 'predicted_say "hi"',
                   'actual_ta,rg"et', 'predicted_ta,rg"et'], "predictions CSV header")
    T.check(len(rows) == 41 and all(len(r) == 7 for r in rows), "every row has 7 fields",
            [len(r) for r in rows[:3]])
    T.eq(rows[1][2], "k1,x", "an id with a comma")
    preds = d.get("/v1/runs/%s/predictions" % rid).json()["predictions"]
    T.check('actual_ta,rg"et' in preds[0], "JSON keys carry the names", list(preds[0]))
    body = '"c,d",plain\n"k9,x",3\n'
    r = d.post("/v1/runs/%s/predict" % rid, body=body.encode(),
               headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    got = parse(r.text())
    T.eq(got[0], ["c,d", 'predicted_say "hi"', 'predicted_ta,rg"et'], "predict CSV header")
    T.eq(got[1][0], "k9,x", "predict CSV: the id with a comma")
    hist = parse(d.get("/v1/runs/%s/history?format=csv" % rid).text())
    T.check(hist and all(len(r) == 8 for r in hist), "history CSV rows have 8 fields")
    if NN_CLI and os.access(NN_CLI, os.X_OK):
        tmp = T.tmpdir()
        with open(os.path.join(tmp, "d.csv"), "w") as f:
            f.write(NAMES_CSV)
        with open(os.path.join(tmp, "s.json"), "w") as f:
            json.dump(s, f)
        out = os.path.join(tmp, "out")
        p = subprocess.run([NN_CLI, "train", os.path.join(tmp, "s.json"),
                            os.path.join(tmp, "d.csv"), "--out", out, "--quiet"],
                           capture_output=True, text=True, timeout=120)
        T.check(p.returncode == 0, "nn train on those names", p.stderr[-300:])
        if p.returncode == 0:
            with open(os.path.join(out, "predictions.csv")) as f:
                rows = parse(f.read())
            T.check(rows and all(len(r) == len(rows[0]) for r in rows)
                    and "c,d" in rows[0] and any("ta,rg\"et" in c for c in rows[0]),
                    "nn's predictions.csv quotes the names", rows[0] if rows else None)
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
