#!/usr/bin/python3
"""test_api_errors.py — every error nnd answers is an RFC 9457 problem with the right status:
routing (404, 405), bodies (400 malformed JSON, 413 too large, 422 empty or ragged CSV), specs
(422 with an errors list), runs (404, 409, 429 with Retry-After) and the run list's parameters
and pagination."""

import json
import os
import time

from nndtest import Suite, files_settled, kc_slice, seed_spec

T = Suite("errors")


@T.test
def test_routing_and_bodies():
    d = T.start_daemon(["--workers", "1", "--max-upload", "100000", "--max-body", "4096"])
    T.problem(d.get("/v1/nope"), 404, "GET /v1/nope")
    T.problem(d.get("/v2/runs"), 404, "GET /v2/runs")
    T.problem(d.get("/v1/runs/%s/nope" % ("a" * 32)), 404, "GET /v1/runs/{id}/nope")
    T.problem(d.get("/v1/runs/" + "a" * 40), 404, "an id longer than 32 characters")
    T.problem(d.request("PUT", "/v1/runs"), 405, "PUT /v1/runs")
    T.problem(d.request("DELETE", "/v1/runs/" + "a" * 32), 405, "DELETE /v1/runs/{id}")
    T.problem(d.request("POST", "/healthz"), 405, "POST /healthz")
    T.problem(d.get("/v1/specs/validate"), 405, "GET /v1/specs/validate")

    for path in ("/v1/specs/validate", "/v1/runs"):
        body = T.problem(d.post(path, b'{"spec": {"name": "x",\n  "seed": 1,,}}',
                                headers={"Content-Type": "application/json"}), 400,
                         "malformed JSON to " + path)
        T.check(body and "line 2" in body["detail"] and "column" in body["detail"],
                "malformed JSON: detail gives line and column", body)
        T.problem(d.post(path, b"", headers={"Content-Type": "application/json"}), 400,
                  "empty body to " + path)
        T.problem(d.post(path, b"[1, 2]", headers={"Content-Type": "application/json"}), 400,
                  "a JSON array instead of an object to " + path)
        T.problem(d.post(path, b'{"a": 1, "a": 2}'), 400, "duplicate keys to " + path)
    big = {"spec": {"name": "x" * 5000}}
    T.problem(d.post("/v1/specs/validate", big), 413, "JSON body over --max-body")
    r = d.send_oversized("POST", "/v1/specs/validate", json.dumps(big).encode(),
                         {"Content-Type": "application/json"}, chunked=True)
    T.problem(r, 413, "JSON body over --max-body (chunked)")

    # uploads
    before = d.get("/v1/datasets").json()["datasets"]
    data = kc_slice(2000)  # ≈ 233 kB > --max-upload 100000
    r = d.send_oversized("POST", "/v1/datasets?name=big", data, {"Content-Type": "text/csv"})
    T.problem(r, 413, "upload over --max-upload (Content-Length)")
    r = d.send_oversized("POST", "/v1/datasets?name=big", data, {"Content-Type": "text/csv"},
                         chunked=True)
    T.problem(r, 413, "upload over --max-upload (chunked, no Content-Length)")
    T.problem(d.upload(b"", name="empty"), 422, "empty upload")
    T.problem(d.upload(b"a,b,c\n", name="header-only"), 422, "header-only upload")
    ragged = b"a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n"
    body = T.problem(d.upload(ragged, name="ragged"), 422, "ragged CSV upload")
    T.check(body and ":4:" in body["detail"] and "fields" in body["detail"],
            "ragged CSV: detail gives the line (upload:4: …)", body)
    T.problem(d.upload(b"a,b\n1,2\n", name="bad/name"), 400, "dataset name with a slash")
    T.eq(d.get("/v1/datasets").json()["datasets"], before, "nothing kept from refused uploads")
    kept = os.listdir(os.path.join(d.data_dir, "datasets")) if os.path.isdir(
        os.path.join(d.data_dir, "datasets")) else []
    T.eq(kept, [], "no dataset files kept")
    T.eq(files_settled(d.data_dir, "tmp", []), [], "no temporary upload files left")
    T.check(d.get("/healthz").status == 200, "nnd still healthy after refused uploads")
    T.stop_daemon(d)


@T.test
def test_runs():
    d = T.start_daemon(["--workers", "1", "--max-queued", "1", "--max-active-runs", "1"])
    ds = d.upload(kc_slice(1000)).json()["id"]
    spec = seed_spec(epochs=5, k=3)

    body = T.problem(d.create_run("0" * 32, spec), 422, "POST /v1/runs on an unknown dataset")
    T.check(body and any(e["pointer"] == "/dataset" for e in body.get("errors", [])),
            "unknown dataset: errors has pointer /dataset", body)
    body = T.problem(d.post("/v1/runs", {"spec": spec}), 422, "POST /v1/runs without dataset")
    T.check(body and body["errors"][0]["pointer"] == "/dataset", "pointer /dataset", body)
    body = T.problem(d.post("/v1/runs", {"dataset": ds}), 422, "POST /v1/runs without spec")
    T.check(body and body["errors"][0]["pointer"] == "/spec", "pointer /spec", body)
    bad = seed_spec(epochs=5, k=3)
    bad["training"]["epochs"] = -3
    bad["training"]["batch_size"] = "big"
    bad["network"]["hidden"][0]["activation"] = "relux"
    body = T.problem(d.create_run(ds, bad), 422, "POST /v1/runs with spec errors")
    ptrs = [e["pointer"] for e in (body or {}).get("errors", [])]
    T.check({"/training/epochs", "/training/batch_size", "/network/hidden/0/activation"}
            <= set(ptrs), "every spec error is listed with its pointer", ptrs)
    T.check(body and all(e["message"] for e in body["errors"]), "every error has a message")
    T.eq((body or {}).get("type"), "urn:nnd:problem:invalid-spec", "spec problem type")
    bad = seed_spec(epochs=5, k=3)
    bad["target"] = "prise"
    body = T.problem(d.create_run(ds, bad), 422, "POST /v1/runs with a misspelled target")
    T.check(body and "did you mean" in body["detail"] and "price" in body["detail"],
            "misspelled target: did you mean", body)
    T.eq(d.get("/v1/runs").json()["runs"], [], "refused runs are not created")

    T.problem(d.get("/v1/runs/" + "0" * 32), 404, "GET an unknown run")
    for sub in ("history", "predictions", "model", "events"):
        T.problem(d.get("/v1/runs/%s/%s" % ("0" * 32, sub)), 404, "GET %s of an unknown run" % sub)
    T.problem(d.post("/v1/runs/%s/predict" % ("0" * 32), {"rows": [{}]}), 404,
              "predict with an unknown run")

    # queue full: one running, one queued (--max-queued 1) → 429
    a = d.create_run(ds, seed_spec(epochs=20000, k=3)).json()["id"]
    d.wait_progress(a)
    body = T.problem(d.get("/v1/runs/%s/predictions" % a), 409, "predictions of a running run")
    T.problem(d.get("/v1/runs/%s/model" % a), 409, "model of a running run", detail_has="running")
    T.problem(d.post("/v1/runs/%s/predict" % a, {"rows": [{}]}), 409, "predict with a running run",
              detail_has="no model yet")
    T.problem(d.get("/v1/runs/%s/features" % a), 409, "features of a running run")
    b = d.create_run(ds, seed_spec(epochs=20001, k=3))
    T.status(b, 202, "second run queues")
    b = b.json()["id"]
    T.problem(d.get("/v1/runs/%s/predictions" % b), 409, "predictions of a queued run")
    r = d.create_run(ds, spec)
    T.problem(r, 429, "third run with --max-queued 1")
    ra = r.header("Retry-After")
    T.check(ra is not None and ra.isdigit() and int(ra) > 0, "429 has Retry-After seconds", ra)
    T.eq(d.get("/healthz").json().get("queued"), 1, "healthz counts the queued run")
    T.status(d.post("/v1/runs/%s/cancel" % b), 202, "cancel the queued run")
    r = d.create_run(ds, spec)
    T.status(r, 202, "a run is accepted again once the queue has room")
    short = r.json()["id"]
    T.status(d.post("/v1/runs/%s/cancel" % a), 202, "cancel the running run")
    d.wait_run(a, timeout=20)

    # predict errors on a finished run
    c = d.wait_run(short)
    T.eq(c["status"], "succeeded", "the short run succeeds")
    p = "/v1/runs/%s/predict" % c["id"]
    T.problem(d.post(p, b""), 400, "predict without a body")
    T.problem(d.post(p, b"{oops", headers={"Content-Type": "application/json"}), 422,
              "predict with malformed JSON")
    T.problem(d.post(p, {"rows": 3}), 422, "predict with rows not an array")
    T.problem(d.post(p, {"rows": [{"bedrooms": [1]}]}), 422, "predict with a nested value")
    T.problem(d.post(p, {"rows": [{"bedrooms": 3}]}), 422, "predict with missing columns")
    T.problem(d.post(p, b"bedrooms\n3\n", headers={"Content-Type": "text/csv"}), 422,
              "predict CSV with missing columns")
    T.stop_daemon(d)


@T.test
def test_list_parameters_and_pagination():
    d = T.start_daemon(["--workers", "2"])
    ds = d.upload(kc_slice(500)).json()["id"]
    for q in ("cursor=nonsense", "cursor=", "limit=0", "limit=201", "limit=abc", "limit=",
              "status=done", "status="):
        T.problem(d.get("/v1/runs?" + q), 400, "GET /v1/runs?" + q)
    ids = []
    for i in range(7):
        r = d.create_run(ds, seed_spec(epochs=3 + i, k=3))
        ids.append(r.json()["id"])
        time.sleep(0.005)  # distinct created_at (ms): equal ones would order by id
    newest_first = list(reversed(ids))
    got, cursor, pages = [], None, 0
    while True:
        r = d.get("/v1/runs?limit=2" + ("&cursor=" + cursor if cursor else ""))
        T.status(r, 200, "page %d" % (pages + 1))
        page = r.json()
        pages += 1
        T.check(len(page["runs"]) <= 2, "page %d has at most 2 runs" % pages)
        got += [x["id"] for x in page["runs"]]
        cursor = page.get("next_cursor")
        if not cursor or pages > 10:
            break
    T.eq(got, newest_first, "pages hold every run exactly once, newest first")
    T.eq(pages, 4, "7 runs in pages of 2 → 4 pages")
    r = d.get("/v1/runs").json()
    T.eq([x["id"] for x in r["runs"]], newest_first, "one default page holds them all")
    T.check(r.get("next_cursor") is None, "no next_cursor on the last page")
    summary = r["runs"][0]
    T.check({"id", "dataset", "status", "progress", "name", "spec_hash", "created_at",
             "r2", "rmse", "mae"} <= set(summary), "run summary fields", sorted(summary))
    for rid in ids:
        d.wait_run(rid)
    r = d.get("/v1/runs?status=succeeded&limit=3").json()
    T.eq([x["id"] for x in r["runs"]], newest_first[:3], "status filter with limit")
    T.check(all(isinstance(x["r2"], float) for x in r["runs"]), "summaries of finished runs have r2")
    T.eq(d.get("/v1/runs?status=queued").json()["runs"], [], "none queued")
    T.eq(len(d.get("/v1/runs?dataset=" + ds).json()["runs"]), 7, "dataset filter")
    T.eq(d.get("/v1/runs?dataset=" + "0" * 32).json()["runs"], [], "dataset filter, none")
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
