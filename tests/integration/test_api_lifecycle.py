#!/usr/bin/python3
"""test_api_lifecycle.py — nnd end to end on a King County slice over real HTTP: upload, validate,
run, history, predictions, model, predict (against `nn predict` on the downloaded model),
deleting a dataset, determinism and Idempotency-Key."""

import csv
import hashlib
import io
import math
import os
import subprocess

from nndtest import NN_CLI, Suite, kc_slice, parse_csv, rel_close, seed_spec, without_timings

T = Suite("lifecycle")
EPOCHS, K = 10, 3


def column(header, rows, name):
    i = header.index(name)
    return [r[i] for r in rows]


@T.test
def test_upload_validate_run_results():
    d = T.start_daemon(["--workers", "2"])
    data = kc_slice(2000)
    header, rows = parse_csv(data)

    # ---- upload ----
    r = d.upload(data, name="kc-2000")
    T.status(r, 201, "POST /v1/datasets")
    ds = r.json()
    T.eq(r.header("Location"), "/v1/datasets/" + ds["id"], "upload Location")
    T.check(len(ds["id"]) == 32 and all(c in "0123456789abcdef" for c in ds["id"]),
            "dataset id is 32 hex characters", ds["id"])
    T.eq(ds["sha256"], hashlib.sha256(data).hexdigest(), "dataset sha256 is that of the bytes")
    T.eq(ds["rows"], 2000, "dataset rows")
    T.eq(ds["bytes"], len(data), "dataset bytes")
    T.eq(ds["name"], "kc-2000", "dataset name")
    T.eq([c["name"] for c in ds["columns"]], header, "dataset columns in CSV order")
    T.check(all({"name", "type", "missing"} <= set(c) for c in ds["columns"]),
            "every column has name/type/missing")
    T.check(all({"min", "max", "mean", "sd"} <= set(c) for c in ds["columns"]
                if c["type"] == "number"), "every number column has min/max/mean/sd")
    types = {c["name"]: c["type"] for c in ds["columns"]}
    T.eq((types["price"], types["id"], types["date"]), ("number", "text", "text"),
         "types of price, id, date")
    price = [float(v) for v in column(header, rows, "price")]
    pc = next(c for c in ds["columns"] if c["name"] == "price")
    mean = math.fsum(price) / len(price)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in price) / len(price))
    T.eq((pc["min"], pc["max"], pc["missing"]), (min(price), max(price), 0), "price min/max/missing")
    T.check(rel_close(pc["mean"], mean, 1e-12), "price mean", (pc["mean"], mean))
    T.check(rel_close(pc["sd"], sd, 1e-9), "price sd (population)", (pc["sd"], sd))

    r2 = d.upload(data, name="again")
    T.status(r2, 200, "same bytes uploaded again")
    T.eq(r2.json()["id"], ds["id"], "same bytes → same dataset id")

    r = d.get("/v1/datasets")
    T.status(r, 200, "GET /v1/datasets")
    T.eq([x["id"] for x in r.json()["datasets"]], [ds["id"]], "list holds the one dataset")
    r = d.get("/v1/datasets/" + ds["id"])
    T.status(r, 200, "GET /v1/datasets/{id}")
    T.eq(r.json()["columns"], ds["columns"], "get returns the same columns")
    r = d.get("/v1/datasets/%s/csv" % ds["id"])
    T.status(r, 200, "GET /v1/datasets/{id}/csv")
    T.check(r.ctype.startswith("text/csv"), "csv Content-Type", r.ctype)
    T.check(r.body == data, "csv download is the exact bytes uploaded")

    # ---- validate ----
    spec = seed_spec(epochs=EPOCHS, k=K)
    r = d.post("/v1/specs/validate", {"spec": spec})
    T.status(r, 200, "validate without dataset")
    v = r.json()
    T.eq((v["valid"], v["name"]), (True, "kc-house-seed"), "validate: valid, name")
    T.check(len(v["hash"]) == 64 and isinstance(v["canonical"], dict), "validate: hash, canonical")
    T.check("features" not in v, "no features without a dataset")
    r = d.post("/v1/specs/validate", {"spec": spec, "dataset": ds["id"]})
    T.status(r, 200, "validate with dataset")
    v = r.json()
    T.eq((v.get("input_width"), v.get("parameters"), v.get("rows")), (34, 2481, 2000),
         "validate: input_width 34, parameters 2481, rows")
    feats = v.get("features") or []
    T.check(len(feats) == 34 and feats[0] == "bedrooms" and "date_month^2" in feats
            and "price" not in feats and "zipcode" not in feats, "validate: features", feats)

    bad = seed_spec(epochs=EPOCHS, k=K)
    bad["training"]["epochs"] = 0
    r = d.post("/v1/specs/validate", {"spec": bad})
    body = T.problem(r, 422, "validate epochs 0")
    errs = (body or {}).get("errors", [])
    T.check(any(e["pointer"] == "/training/epochs" and e["message"] for e in errs),
            "errors list has /training/epochs", errs)
    bad = seed_spec(epochs=EPOCHS, k=K)
    bad["preprocess"][0]["columns"][0] = "zipcod"
    r = d.post("/v1/specs/validate", {"spec": bad, "dataset": ds["id"]})
    body = T.problem(r, 422, "validate misspelled column")
    errs = (body or {}).get("errors", [])
    T.check(any(e["pointer"] == "/preprocess/0/columns/0" and "did you mean \"zipcode\"" in
                e["message"] for e in errs), "misspelled column: pointer and did-you-mean", errs)
    r = d.post("/v1/specs/validate", {"spec": spec, "dataset": "0" * 32})
    body = T.problem(r, 422, "validate on an unknown dataset")
    T.check(any(e["pointer"] == "/dataset" for e in (body or {}).get("errors", [])),
            "unknown dataset: pointer /dataset", body)

    # ---- run ----
    r = d.create_run(ds["id"], spec)
    T.status(r, 202, "POST /v1/runs")
    run_id = r.json()["id"]
    T.eq(r.json(), {"id": run_id, "status": "queued"}, "run create body")
    T.eq(r.header("Location"), "/v1/runs/" + run_id, "run Location")
    run = d.wait_run(run_id)
    T.eq(run["status"], "succeeded", "run succeeded")
    T.eq(run["progress"], 1.0, "progress reached 1.0")
    T.check(run["created_at"] <= run["started_at"] <= run["finished_at"]
            and run["duration_ms"] == run["finished_at"] - run["started_at"],
            "timings set and ordered", {k: run[k] for k in ("created_at", "started_at",
                                                             "finished_at", "duration_ms")})
    T.eq((run["dataset"], run["error"], run["attempts"], run["name"]),
         (ds["id"], None, 1, "kc-house-seed"), "run dataset/error/attempts/name")
    m = run["metrics"] or {}
    T.check(all(isinstance(m.get(k), float) for k in ("r2", "rmse", "mae")),
            "metrics r2/rmse/mae", m)
    T.check(m.get("r2", -1) > 0.0, "r2 > 0 after %d epochs" % EPOCHS, m.get("r2"))
    T.eq(len(m.get("folds", [])), K, "metrics has one entry per fold")
    T.eq(m.get("rows"), 2000, "metrics rows")

    # ---- history ----
    want_rows = K * EPOCHS + EPOCHS  # folds × epochs, then the refit on all rows
    r = d.get("/v1/runs/%s/history" % run_id)
    T.status(r, 200, "GET history")
    hist = r.json()["history"]
    T.eq(len(hist), want_rows, "history rows = folds × epochs + refit epochs")
    T.eq(sorted({h["fold"] for h in hist}), list(range(0, K + 1)), "history folds (0 = refit)")
    T.check(all(h["epoch"] in range(1, EPOCHS + 1) for h in hist), "history epochs in range")
    csvs = []
    for how, path, hdr in (("Accept: text/csv", "/v1/runs/%s/history" % run_id,
                            {"Accept": "text/csv"}),
                           ("?format=csv", "/v1/runs/%s/history?format=csv" % run_id, None)):
        r = d.get(path, headers=hdr)
        T.status(r, 200, "history as CSV (%s)" % how)
        T.check(r.ctype.startswith("text/csv"), "history CSV Content-Type (%s)" % how, r.ctype)
        h, body_rows = parse_csv(r.body)
        T.eq(h, ["fold", "member", "epoch", "train_loss", "val_loss", "val_r2", "lr", "seconds"],
             "history CSV header (%s)" % how)
        T.eq(len(body_rows), want_rows, "history CSV rows (%s)" % how)
        csvs.append(r.body)
    T.check(csvs[0] == csvs[1], "both CSV forms are the same bytes")
    hrow = parse_csv(csvs[0])[1][0]
    T.check(rel_close(float(hrow[3]), hist[0]["train_loss"], 1e-9),
            "history CSV and JSON agree on train_loss")

    # ---- predictions ----
    ids = column(header, rows, "id")
    r = d.get("/v1/runs/%s/predictions" % run_id)
    T.status(r, 200, "GET predictions (JSON)")
    pj = r.json()["predictions"]
    T.eq(len(pj), 2000, "one prediction per data row (JSON)")
    T.eq([p["row"] for p in pj], list(range(1, 2001)), "prediction rows 1..n in order")
    T.check(all(1 <= p["fold"] <= K for p in pj), "prediction folds in 1..k")
    T.eq([p["id"] for p in pj], ids, "prediction ids are the CSV's id text")
    T.check(any(i.startswith("0") for i in ids), "the slice has ids with leading zeros")
    T.check(all(p["actual"] == float(price[i]) for i, p in enumerate(pj)),
            "actual is the CSV's price")
    r = d.get("/v1/runs/%s/predictions" % run_id, headers={"Accept": "text/csv"})
    T.status(r, 200, "GET predictions (CSV)")
    T.check(r.ctype.startswith("text/csv"), "predictions CSV Content-Type", r.ctype)
    ph, prow = parse_csv(r.body)
    T.eq(ph, ["row", "fold", "id", "actual", "predicted"], "predictions CSV header")
    T.eq(len(prow), 2000, "one prediction per data row (CSV)")
    lead = [i for i, x in enumerate(ids) if x.startswith("0")][:5]
    T.check(all(prow[i][2] == ids[i] for i in lead) and lead,
            "ids with leading zeros survive in the CSV", [(prow[i][2], ids[i]) for i in lead])
    T.check(b'"0' in r.body, "ids are quoted text in the CSV")
    T.check(all(int(a[0]) == b["row"] and int(a[1]) == b["fold"] and a[2] == b["id"]
                and float(a[4]) == b["predicted"] for a, b in zip(prow, pj)),
            "CSV and JSON predictions agree exactly")
    r = d.get("/v1/runs/%s/predictions?format=csv" % run_id)
    T.check(r.status == 200 and parse_csv(r.body)[1] == prow, "?format=csv gives the same CSV")

    # ---- model and predict ----
    r = d.get("/v1/runs/%s/model" % run_id)
    T.status(r, 200, "GET model")
    model = r.json()
    T.eq(model.get("format"), "nnd-model", "model format")
    T.check(r.ctype.startswith("application/json"), "model Content-Type", r.ctype)
    T.check("attachment" in (r.header("Content-Disposition") or ""), "model is an attachment")
    T.eq(model.get("spec", {}).get("name"), "kc-house-seed", "model carries its spec")

    few = b"".join(data.splitlines(keepends=True)[:41])  # header + 40 rows
    fh, frows = parse_csv(few)
    r = d.post("/v1/runs/%s/predict" % run_id, body=few, headers={"Content-Type": "text/csv"})
    T.status(r, 200, "predict CSV body")
    pc_json = r.json()
    T.eq(pc_json.get("targets"), ["price"], "predict targets")
    by_csv = pc_json.get("predictions", [])
    T.eq(len(by_csv), 40, "predict: one number per row")
    json_rows = []
    for row in frows:
        o = {}
        for name, val in zip(fh, row):
            o[name] = float(val) if types[name] == "number" else val
        json_rows.append(o)
    r = d.post("/v1/runs/%s/predict" % run_id, body={"rows": json_rows})
    T.status(r, 200, "predict JSON rows")
    by_json = r.json().get("predictions", [])
    T.check(len(by_json) == 40 and all(rel_close(a, b) for a, b in zip(by_csv, by_json)),
            "CSV and JSON rows predict the same numbers", list(zip(by_csv, by_json))[:3])
    r = d.post("/v1/runs/%s/predict" % run_id, body=few,
               headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    T.status(r, 200, "predict with Accept: text/csv")
    ch, crows = parse_csv(r.body)
    T.eq(ch, ["id", "predicted"], "predict CSV header")
    T.check([x[0] for x in crows] == [x[0] for x in frows] and
            all(rel_close(float(x[1]), y) for x, y in zip(crows, by_csv)),
            "predict CSV: ids and numbers")
    # the refit model predicts the training rows; out-of-fold predictions differ but are close
    if NN_CLI:
        tmp = T.tmpdir()
        mpath, dpath = os.path.join(tmp, "model.json"), os.path.join(tmp, "few.csv")
        with open(mpath, "wb") as f:
            f.write(d.get("/v1/runs/%s/model" % run_id).body)
        with open(dpath, "wb") as f:
            f.write(few)
        p = subprocess.run([NN_CLI, "predict", mpath, dpath], capture_output=True, timeout=120)
        T.eq(p.returncode, 0, "nn predict on the downloaded model exits 0")
        out = list(csv.reader(io.StringIO(p.stdout.decode())))
        T.eq(out[0] if out else None, ["id", "predicted"], "nn predict header")
        cli = [float(x[1]) for x in out[1:]]
        T.check(len(cli) == 40 and all(rel_close(a, b) for a, b in zip(cli, by_csv)),
                "nn predict and POST predict agree to 1e-9", list(zip(cli, by_csv))[:3])
        T.check([x[0] for x in out[1:]] == [x[0] for x in frows], "nn predict keeps the ids")
    else:
        T.check(False, "NN_CLI is set (to compare with nn predict)")

    # ---- deleting a dataset ----
    data2 = kc_slice(600)
    r = d.upload(data2, name="kc-600")
    T.status(r, 201, "upload a second dataset")
    ds2 = r.json()["id"]
    long_run = d.create_run(ds2, seed_spec(epochs=20000, k=K)).json()["id"]
    r = d.request("DELETE", "/v1/datasets/" + ds2)
    T.problem(r, 409, "DELETE a dataset with a queued/running run", detail_has=long_run)
    d.wait_progress(long_run)
    r = d.request("DELETE", "/v1/datasets/" + ds2)
    T.problem(r, 409, "DELETE a dataset with a running run")
    T.status(d.post("/v1/runs/%s/cancel" % long_run), 202, "cancel the long run")
    T.eq(d.wait_run(long_run, timeout=30)["status"], "cancelled", "long run cancelled")
    r = d.request("DELETE", "/v1/datasets/" + ds2)
    T.status(r, 204, "DELETE dataset after its run ended")
    T.eq(r.body, b"", "204 has no body")
    T.problem(d.get("/v1/datasets/" + ds2), 404, "GET deleted dataset")
    T.problem(d.get("/v1/datasets/%s/csv" % ds2), 404, "GET deleted dataset's csv")
    T.problem(d.request("DELETE", "/v1/datasets/" + ds2), 404, "DELETE it again")
    T.eq(d.run(long_run)["dataset"], None, "the run lost only its dataset link")
    T.eq([x["id"] for x in d.get("/v1/datasets").json()["datasets"]], [ds["id"]],
         "dataset list after delete")
    T.check(os.listdir(os.path.join(d.data_dir, "datasets")) == [ds["sha256"] + ".csv"],
            "the deleted dataset's file is gone", os.listdir(os.path.join(d.data_dir, "datasets")))
    T.stop_daemon(d)


@T.test
def test_determinism_and_idempotency():
    d = T.start_daemon(["--workers", "2"])
    ds = d.upload(kc_slice(2000)).json()["id"]
    spec = seed_spec(epochs=EPOCHS, k=K)
    a = d.create_run(ds, spec).json()["id"]
    b = d.create_run(ds, spec).json()["id"]
    T.check(a != b, "two posts without a key make two runs")
    ra, rb = d.wait_run(a), d.wait_run(b)
    T.eq((ra["status"], rb["status"]), ("succeeded", "succeeded"), "both runs succeeded")
    T.eq(ra["spec_hash"], rb["spec_hash"], "same spec hash")
    T.check(without_timings(ra["metrics"]) == without_timings(rb["metrics"]),
            "identical metrics (timings aside)", (ra["metrics"]["r2"], rb["metrics"]["r2"]))
    pa = d.get("/v1/runs/%s/predictions?format=csv" % a).body
    pb = d.get("/v1/runs/%s/predictions?format=csv" % b).body
    T.check(pa == pb and len(pa) > 1000, "identical predictions")
    ma, mb = d.get("/v1/runs/%s/model" % a).json(), d.get("/v1/runs/%s/model" % b).json()
    T.check(without_timings(ma) == without_timings(mb), "identical models")

    # Idempotency-Key
    body = {"dataset": ds, "spec": spec}
    r1 = d.post("/v1/runs", body, headers={"Idempotency-Key": "key-1"})
    r2 = d.post("/v1/runs", body, headers={"Idempotency-Key": "key-1"})
    T.status(r1, 202, "first post with a key")
    T.check(r2.status in (200, 202) and r2.json()["id"] == r1.json()["id"],
            "same key and body → same run", (r1, r2))
    T.eq(r2.header("Location"), "/v1/runs/" + r1.json()["id"], "replay has the same Location")
    other = dict(body, spec=seed_spec(epochs=EPOCHS + 1, k=K))
    r3 = d.post("/v1/runs", other, headers={"Idempotency-Key": "key-1"})
    T.problem(r3, 422, "same key, other body", detail_has="Idempotency-Key")
    r4 = d.post("/v1/runs", other, headers={"Idempotency-Key": "key-2"})
    T.check(r4.status == 202 and r4.json()["id"] != r1.json()["id"], "another key → a new run")
    runs = d.get("/v1/runs?limit=200").json()["runs"]
    T.eq(len(runs), 4, "four runs in all (the replay made none)")
    for rid in (r1.json()["id"], r4.json()["id"]):
        d.wait_run(rid)
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
