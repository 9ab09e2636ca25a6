#!/usr/bin/python3
"""test_api_service.py — the service around the API: /openapi.json against the route table,
/healthz, /metrics, and the dashboard's static files (including path traversal attempts)."""

import os
import re
import time

from nndtest import DB, SLOW, SOURCE_DIR, Suite, kc_slice, seed_spec

T = Suite("service")


def server_routes():
    """(method, pattern) of every route in server/srv_routes.c."""
    with open(os.path.join(SOURCE_DIR, "server", "http", "srv_routes.c")) as f:
        text = f.read()
    return re.findall(r'\{"(GET|POST|PUT|DELETE|PATCH)",\s*"([^"]+)"', text)


@T.test
def test_openapi():
    d = T.start_daemon(["--workers", "2"])
    r = d.get("/openapi.json")
    T.status(r, 200, "GET /openapi.json")
    T.check(r.ctype.startswith("application/json"), "openapi Content-Type", r.ctype)
    doc = r.json()
    T.eq(doc.get("openapi"), "3.1.0", "openapi version")
    T.check(isinstance(doc.get("info", {}).get("title"), str), "openapi info.title")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops
                  if m in ("get", "post", "put", "delete", "patch")}
    served = set(server_routes())
    T.check(len(served) >= 20, "route table parsed from srv_routes.c", len(served))
    v1 = {x for x in served if x[1].startswith("/v1/")}
    T.eq(sorted(v1 - documented), [], "every /v1 route of the server is in openapi.json")
    T.eq(sorted(documented - served), [], "every documented path+method is served")

    ds = d.upload(kc_slice(300)).json()["id"]
    run = d.create_run(ds, seed_spec(epochs=3, k=3)).json()["id"]
    T.eq(d.wait_run(run)["status"], "succeeded", "a run to point {id} at")
    study = {"base": seed_spec(epochs=2, k=2), "budget": {"max_trials": 1},
             "space": {"/training/batch_size": {"type": "int", "low": 16, "high": 32}}}
    r = d.post("/v1/studies", body={"dataset": ds, "study": study})
    T.status(r, 202, "a study to point {id} at")
    sid = r.json()["id"]
    index = os.path.isfile(os.path.join(SOURCE_DIR, "web", "index.html"))
    for m, p in sorted(documented):
        if m == "DELETE":
            continue
        ids = {"/v1/datasets/": ds, "/v1/studies/": sid}
        path = p.replace("{id}", next((v for k, v in ids.items() if p.startswith(k)), run))
        r = d.request(m, path, body=b"{}" if m == "POST" else None)
        if p == "/" and not index:
            T.problem(r, 404, "GET / without web/index.html")
            continue
        T.check(r.status not in (404, 405), "%s %s answers (not 404/405)" % (m, p), r)
    if DB != "pg":
        d.wait_study(sid)
    d.wait_idle()
    r = d.request("DELETE", "/v1/datasets/" + ds)
    T.status(r, 204, "DELETE /v1/datasets/{id} answers")
    T.stop_daemon(d)


@T.test
def test_healthz_and_metrics():
    d = T.start_daemon(["--workers", "2"])
    r = d.get("/healthz")
    T.status(r, 200, "GET /healthz")
    T.eq(r.json().get("status"), "ok", "healthz status ok")
    T.check(r.ctype.startswith("application/json"), "healthz Content-Type", r.ctype)
    T.eq(r.header("Cache-Control"), "no-store", "healthz is not cached")
    r = d.get("/metrics")
    T.status(r, 200, "GET /metrics")
    T.check(r.ctype.startswith("text/plain"), "metrics Content-Type", r.ctype)
    m0 = d.metrics()
    for name in ("nnd_requests_total", 'nnd_runs{status="succeeded"}', "nnd_queue_depth",
                 "nnd_samples_trained_total"):
        T.check(name in m0, "metrics has " + name)
    T.eq(m0.get('nnd_runs{status="succeeded"}'), 0.0, "no succeeded runs yet")
    T.eq(m0.get("nnd_samples_trained_total"), 0.0, "no samples trained yet")
    data = kc_slice(300)
    ds = d.upload(data).json()["id"]
    runs = [d.create_run(ds, seed_spec(epochs=3 + i, k=3)).json()["id"] for i in range(2)]
    for rid in runs:
        d.wait_run(rid)
    d.post("/v1/runs/%s/predict" % runs[0], body=data, headers={"Content-Type": "text/csv"})
    # the run gauges are counted at most every 2 s (srv_metrics.h): they catch up within that
    refreshes = d.metrics().get("nnd_metrics_run_counts_total", 0)
    for _ in range(5):
        m = d.metrics()
    T.check(m.get("nnd_metrics_run_counts_total", 0) - refreshes <= 1,
            "5 scrapes in a row count the runs at most once", m.get("nnd_metrics_run_counts_total"))
    deadline = time.time() + 10 * SLOW
    while m.get('nnd_runs{status="succeeded"}') != 2.0 and time.time() < deadline:
        time.sleep(0.2)
        m = d.metrics()
    T.eq(m.get('nnd_runs{status="succeeded"}'), 2.0, 'nnd_runs{status="succeeded"} 2 after two runs')
    T.eq(m.get('nnd_runs{status="queued"}'), 0.0, "none queued")
    T.eq(m.get("nnd_queue_depth"), 0.0, "nnd_queue_depth 0")
    T.check(m.get("nnd_samples_trained_total", 0) > 0, "nnd_samples_trained_total > 0",
            m.get("nnd_samples_trained_total"))
    # 3 folds of 200 train rows × (3 + 4) epochs, plus the refits on 300 rows
    T.eq(m.get("nnd_samples_trained_total"), float((3 * 200 + 300) * (3 + 4)),
         "samples trained = rows × epochs over folds and refits")
    T.check(m.get("nnd_requests_total", 0) > m0.get("nnd_requests_total", 0),
            "nnd_requests_total grows")
    T.eq(m.get("nnd_rows_predicted_total"), 300.0, "rows predicted")
    T.eq(m.get("nnd_upload_bytes_total"), float(len(data)), "upload bytes")
    d.get("/v1/nope")
    T.check(d.metrics().get('nnd_responses_total{class="4xx"}', 0) >= 1, "4xx responses counted")
    T.stop_daemon(d)


@T.test
def test_request_log():
    d = T.start_daemon(quiet=False)
    d.get("/healthz")
    d.get("/v1/nope")
    T.stop_daemon(d)
    log = d.read_log()
    T.check("GET /healthz 200 " in log, "the request log has GET /healthz 200", log[-300:])
    T.check("GET /v1/nope 404 " in log, "the request log has GET /v1/nope 404", log[-300:])


@T.test
def test_static_files():
    d = T.start_daemon()
    index = os.path.join(SOURCE_DIR, "web", "index.html")
    r = d.get("/")
    if os.path.isfile(index):
        T.status(r, 200, "GET / serves web/index.html")
        T.check(r.ctype.startswith("text/html"), "index Content-Type", r.ctype)
        T.check(bool(r.header("Content-Security-Policy")), "index has a CSP")
        T.eq(r.header("X-Content-Type-Options"), "nosniff", "index has X-Content-Type-Options")
        with open(index, "rb") as f:
            T.check(r.body == f.read(), "index is the file's bytes")
    else:
        T.problem(r, 404, "GET / without web/index.html")
    T.eq(r.header("X-Content-Type-Options"), "nosniff", "X-Content-Type-Options on /")
    for path in ("/../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/assets/../../../etc/passwd",
                 "/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/vendor/..%2f..%2f..%2fetc%2fpasswd",
                 "/%252e%252e/etc/passwd", "/.git/config", "/assets/.hidden", "//etc/passwd",
                 "/etc/passwd", "/index.html%00.txt", "/CMakeLists.txt"):
        r = d.get(path)
        T.check(r.status == 404 and b"root:" not in r.body and b"[core]" not in r.body
                and r.ctype.startswith("application/problem+json"),
                "GET %s → 404 problem, no file contents" % path, r)
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
