#!/usr/bin/python3
"""test_api_auth.py — bearer auth: with NND_TOKEN set every /v1 route of /openapi.json answers 401
(with WWW-Authenticate: Bearer) without the header or with a wrong token, and works with the right
one, while /healthz, /metrics, /openapi.json and / stay open; without a token nothing is asked."""

import re

from nndtest import Suite, kc_slice, seed_spec

T = Suite("auth")
TOKEN = "s3cret-token-for-tests"


def routes_from_openapi(d):
    doc = d.get("/openapi.json").json()
    return [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops
            if m in ("get", "post", "put", "delete", "patch")]


@T.test
def test_token_required():
    d = T.start_daemon(["--workers", "2"], token=TOKEN)
    T.check(re.search(r"token required", d.read_log()) is not None, "banner says token required")
    ds = d.upload(kc_slice(500))
    T.status(ds, 201, "upload with the right token")
    ds = ds.json()["id"]
    run = d.create_run(ds, seed_spec(epochs=3, k=3))
    T.status(run, 202, "create a run with the right token")
    run = run.json()["id"]
    T.eq(d.wait_run(run)["status"], "succeeded", "the run succeeds")

    study = {"base": seed_spec(epochs=2, k=2), "budget": {"max_trials": 1},
             "space": {"/training/batch_size": {"type": "int", "low": 16, "high": 32}}}
    sid = d.post("/v1/studies", body={"dataset": ds, "study": study})
    T.status(sid, 202, "create a study with the right token")
    ids = {"/v1/datasets/": ds, "/v1/studies/": sid.json()["id"]}
    T.eq(d.wait_study(ids["/v1/studies/"])["status"], "completed", "the study completes")

    def id_path(p):
        path = p.replace("{id}", next((v for k, v in ids.items() if p.startswith(k)), run))
        return path + "?with=" + run if p.endswith("/compare") else path

    routes = routes_from_openapi(d)
    v1 = [(m, p) for m, p in routes if p.startswith("/v1/")]
    T.check(len(v1) >= 15, "openapi lists the /v1 routes", len(v1))
    bad_headers = [("no Authorization", {"Authorization": None}),
                   ("a wrong token", {"Authorization": "Bearer wrong"}),
                   ("a token prefix", {"Authorization": "Bearer " + TOKEN[:-1]}),
                   ("a longer token", {"Authorization": "Bearer " + TOKEN + "x"}),
                   ("another scheme", {"Authorization": "Basic " + TOKEN}),
                   ("no space after Bearer", {"Authorization": "Bearer" + TOKEN})]
    for m, p in v1:
        path = id_path(p)
        for what, h in bad_headers:
            r = d.request(m, path, headers=h, body=b"{}" if m == "POST" else None)
            ok = (r.status == 401 and r.header("WWW-Authenticate") == "Bearer"
                  and r.ctype.startswith("application/problem+json"))
            T.check(ok, "%s %s with %s → 401 + WWW-Authenticate: Bearer" % (m, p, what), r)
    # the right token: anything but 401 (and the reads succeed)
    for m, p in v1:
        if m == "DELETE":
            continue  # below, last
        path = id_path(p)
        r = d.request(m, path, body=b"{}" if m == "POST" else None)
        if m == "GET":
            T.status(r, 200, "%s %s with the token" % (m, p))
        else:
            T.check(r.status != 401, "%s %s with the token is not 401" % (m, p), r)
    d.wait_study(ids["/v1/studies/"])
    d.wait_idle()
    r = d.request("DELETE", "/v1/datasets/" + ds)
    T.status(r, 204, "DELETE /v1/datasets/{id} with the token")
    for path in ("/healthz", "/metrics", "/openapi.json"):
        r = d.get(path, headers={"Authorization": None})
        T.status(r, 200, "GET %s without a token" % path)
    r = d.get("/", headers={"Authorization": None})
    T.check(r.status in (200, 404) and r.status != 401, "GET / without a token is not 401", r)
    T.stop_daemon(d)


@T.test
def test_token_file():
    path = T.tmpdir() + "/token"
    with open(path, "w") as f:
        f.write(TOKEN + "\n")
    d = T.start_daemon(["--token-file", path])
    T.problem(d.get("/v1/runs"), 401, "token file: no header")
    T.status(d.get("/v1/runs", headers={"Authorization": "Bearer " + TOKEN}), 200,
             "token file: right token (trailing newline ignored)")
    T.stop_daemon(d)


@T.test
def test_no_token_no_auth():
    d = T.start_daemon()
    T.check("token required" not in d.read_log(), "banner does not ask for a token")
    T.status(d.get("/v1/datasets"), 200, "GET /v1/datasets without a token")
    T.status(d.get("/v1/datasets", headers={"Authorization": "Bearer anything"}), 200,
             "an Authorization header is ignored without a token")
    T.status(d.upload(kc_slice(100)), 201, "upload without a token")
    T.status(d.get("/v1/runs"), 200, "GET /v1/runs without a token")
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
