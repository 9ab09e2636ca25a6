#!/usr/bin/python3
"""test_hostile_http.py — HTTP framing and protocol over raw sockets, where framing matters: two
Content-Lengths (request smuggling), Content-Length beside Transfer-Encoding, malformed
Content-Lengths, unknown transfer codings, absolute-form targets, a missing or doubled Host,
control characters in headers, heads too large for the server; 405 with Allow, HEAD wherever GET
works, media types and the auth scheme without case, CORS preflights. Every refusal is one
application/problem+json answer (one status line) and, where the framing cannot be trusted, the
connection is closed; the server stays healthy."""

import json
import re
import socket
import time

from nndtest import SLOW, Suite

T = Suite("hostile-http")


def exchange(d, data, wait=3.0):
    """Sends raw bytes, reads until the server closes or `wait` seconds pass without a byte;
    returns (bytes received, closed)."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.settimeout(wait * SLOW)
    out, closed = b"", False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    return out, closed


def answers(raw):
    """The (status, headers dict lowercased, body) of each response in raw, in order."""
    out = []
    while raw.startswith(b"HTTP/1."):
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        h = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            h[k.strip().lower()] = v.strip()
        n = int(h.get("content-length", "0"))
        if h.get("transfer-encoding", "").lower() == "chunked":
            body, rest = b"", rest  # not used for refusals
        else:
            body, rest = rest[:n], rest[n:]
        out.append((status, h, body))
        raw = rest
    return out


def refused_once(d, what, data, status, detail_has=None, closed=True):
    raw, was_closed = exchange(d, data)
    got = answers(raw)
    T.check(len(re.findall(rb"(?:^|\r\n)HTTP/1\.\d \d\d\d ", raw)) == 1 and len(got) == 1,
            "%s: exactly one status line" % what, raw[:400])
    if not got:
        return
    st, h, body = got[0]
    ok = st == status and h.get("content-type", "").startswith("application/problem+json")
    try:
        p = json.loads(body)
        ok = ok and p.get("status") == status and isinstance(p.get("detail"), str)
        if detail_has:
            ok = ok and detail_has in p["detail"]
    except ValueError:
        ok = False
    T.check(ok, "%s → one %d problem+json%s" % (what, status,
                                                 " mentioning %r" % detail_has if detail_has else ""),
            raw[:400])
    if closed:
        T.check(was_closed, "%s: the connection is closed after the answer" % what)


def req(method, target, headers=(), body=b"", version="HTTP/1.1", host=True):
    lines = ["%s %s %s" % (method, target, version)]
    if host:
        lines.append("Host: nnd.test")
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@T.test
def test_framing_is_refused_once_and_closed():
    d = T.start_daemon(["--workers", "1", "--timeout", "30"])
    smuggled = req("GET", "/healthz")
    refused_once(d, "two different Content-Lengths (smuggling)",
                 req("POST", "/v1/specs/validate", ["Content-Type: application/json",
                                                    "Content-Length: 2",
                                                    "Content-Length: %d" % (2 + len(smuggled))],
                     b"{}" + smuggled), 400, "Content-Length")
    refused_once(d, "two equal Content-Lengths",
                 req("POST", "/v1/specs/validate", ["Content-Length: 2", "Content-Length: 2"],
                     b"{}"), 400)
    refused_once(d, "Content-Length with Transfer-Encoding",
                 req("POST", "/v1/specs/validate", ["Content-Length: 5",
                                                    "Transfer-Encoding: chunked"],
                     b"0\r\n\r\n"), 400, "Transfer-Encoding")
    for v in ("-1", "abc", "2, 2", "1 2", "0x10"):
        refused_once(d, "Content-Length: %s" % v,
                     req("POST", "/v1/specs/validate", ["Content-Length: " + v], b"{}"), 400)
    t0 = time.time()
    refused_once(d, "Transfer-Encoding: gzip", req("POST", "/v1/specs/validate",
                                                   ["Transfer-Encoding: gzip"], b"abc"), 501)
    T.check(time.time() - t0 < 10 * SLOW, "an unknown transfer coding is answered at once, not at "
            "the timeout", time.time() - t0)
    refused_once(d, "Transfer-Encoding: gzip, chunked",
                 req("POST", "/v1/specs/validate", ["Transfer-Encoding: gzip, chunked"],
                     b"0\r\n\r\n"), 501)
    refused_once(d, "Transfer-Encoding twice",
                 req("POST", "/v1/specs/validate", ["Transfer-Encoding: chunked",
                                                    "Transfer-Encoding: chunked"],
                     b"0\r\n\r\n"), 501)
    refused_once(d, "HTTP/1.1 without Host", req("GET", "/healthz", host=False), 400, "Host")
    refused_once(d, "two Host headers", req("GET", "/healthz", ["Host: other.test"]), 400, "Host")
    refused_once(d, "a control character in a header value",
                 req("GET", "/healthz", ["X-Note: a\x01b"]), 400, "control character")
    refused_once(d, "a NUL in the Authorization header",
                 req("GET", "/v1/runs", ["Authorization: Bearer a\x00b"]), 400)
    # the second request of a kept-alive connection is checked like the first
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10 * SLOW)
    s.sendall(req("GET", "/healthz"))
    first = b""
    while b'"status":"ok"' not in first:
        first += s.recv(4096)
    s.sendall(req("GET", "/v1/runs", ["Authorization: Bearer a\x00b"]))
    second = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            second += b
    except socket.timeout:
        pass
    s.close()
    T.check(second.startswith(b"HTTP/1.1 400"), "a NUL in the head of a kept-alive connection's "
            "second request → 400", second[:200])
    # heads libmicrohttpd refuses itself are problems too (one status line, JSON)
    refused_once(d, "a 70 kB request target", req("GET", "/" + "a" * 70000), 414)
    refused_once(d, "100 kB of headers", req("GET", "/healthz", ["X-Big: " + "b" * 100000]), 431)
    refused_once(d, "HTTP/2.5", req("GET", "/healthz", version="HTTP/2.5"), 505)
    # the smuggled request was never served: the dataset list is still empty, nnd healthy
    T.status(d.get("/healthz"), 200, "healthy after the framing battery")
    T.stop_daemon(d)


@T.test
def test_targets_methods_and_head():
    d = T.start_daemon(["--workers", "1"])
    for target in ("http://nnd.test/healthz", "HTTP://nnd.test:8080/healthz",
                   "http://nnd.test/v1/runs?limit=1"):
        raw, _ = exchange(d, req("GET", target, ["Connection: close"]))
        got = answers(raw)
        T.check(got and got[0][0] == 200, "absolute-form GET %s → 200" % target, raw[:300])
    raw, _ = exchange(d, req("GET", "/healthz", ["Connection: close"], version="HTTP/1.0",
                             host=False))
    T.check(answers(raw) and answers(raw)[0][0] == 200, "HTTP/1.0 without Host is served", raw[:200])

    r = d.request("DELETE", "/v1/runs")
    T.problem(r, 405, "DELETE /v1/runs")
    allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
    T.check({"GET", "POST", "HEAD"} <= allow and "DELETE" not in allow,
            "405 carries Allow: GET, HEAD, POST", r.header("Allow"))
    r = d.request("PUT", "/healthz")
    T.check(r.status == 405 and "GET" in (r.header("Allow") or ""), "405 on /healthz has Allow",
            r.header("Allow"))

    ds = d.upload(b"x,y\n1,3\n2,5\n3,7\n", name="h").json()["id"]
    for path in ("/healthz", "/openapi.json", "/v1/runs", "/v1/datasets", "/v1/datasets/" + ds,
                 "/v1/datasets/%s/csv" % ds, "/", "/metrics"):
        g = d.get(path)
        h = d.request("HEAD", path)
        T.check(h.status == g.status == 200 and h.body == b""
                and h.header("Content-Type") == g.header("Content-Type"),
                "HEAD %s: the GET's status and type, no body" % path, (h, g.status))
        if path not in ("/metrics",):  # /metrics moves between the two requests
            T.eq(h.header("Content-Length"), g.header("Content-Length"),
                 "HEAD %s: the GET's Content-Length" % path)
    r = d.request("HEAD", "/v1/runs/" + "0" * 32)
    T.check(r.status == 404 and r.ctype.startswith("application/problem+json") and r.body == b"",
            "HEAD an unknown run → 404 problem headers, no body", r)
    T.stop_daemon(d)


@T.test
def test_media_types_and_auth_scheme():
    d = T.start_daemon(["--workers", "1"], token="s3cret")
    ds = d.upload(b"x,y\n" + b"".join(b"%d,%d\n" % (i, 2 * i + 1) for i in range(1, 41)),
                  name="m").json()["id"]
    spec = {"name": "m", "target": "y", "network": {"hidden": [{"units": 4}]},
            "training": {"epochs": 3, "validation": {"type": "kfold", "k": 2}}}
    run = d.create_run(ds, spec).json()["id"]
    T.eq(d.wait_run(run)["status"], "succeeded", "a small run succeeds")
    for accept in ("TEXT/CSV", "Text/Csv; charset=utf-8", "text/csv, application/json"):
        r = d.get("/v1/runs/%s/predictions" % run, headers={"Accept": accept})
        T.check(r.status == 200 and r.ctype.startswith("text/csv"),
                "Accept: %s → CSV" % accept, r)
    for accept in ("application/json, text/csv;q=0.5", "text/csv;q=0", "*/*", "text/*"):
        r = d.get("/v1/runs/%s/predictions" % run, headers={"Accept": accept})
        T.check(r.status == 200 and r.ctype.startswith("application/json"),
                "Accept: %s → JSON" % accept, r)
    for ct in ("TEXT/CSV", "text/csv; charset=UTF-8", "Text/CSV;charset=utf-8"):
        r = d.post("/v1/runs/%s/predict" % run, body=b"x\n1\n2\n", headers={"Content-Type": ct})
        T.check(r.status == 200 and len(r.json().get("predictions", [])) == 2,
                "predict with Content-Type: %s reads CSV" % ct, r)
    for scheme in ("bearer", "BEARER", "Bearer", "bEaReR"):
        r = d.get("/v1/runs", headers={"Authorization": scheme + " s3cret"})
        T.status(r, 200, "Authorization: %s <token>" % scheme)
    r = d.get("/v1/runs", headers={"Authorization": "Bearer   s3cret"})
    T.status(r, 200, "several spaces after the scheme")
    for bad in ("Bearers3cret", "Basic s3cret", "Bearer s3cre", "Bearer s3cret2", "s3cret"):
        T.problem(d.get("/v1/runs", headers={"Authorization": bad}), 401,
                  "Authorization: %s" % bad)
    T.stop_daemon(d)


@T.test
def test_cors_preflight():
    origin = "http://dashboard.example"
    d = T.start_daemon(["--workers", "1", "--cors-origin", origin], token="tok")
    for path, method in (("/v1/runs", "POST"), ("/v1/datasets/" + "0" * 32, "DELETE"),
                         ("/v1/specs/validate", "POST")):
        r = d.request("OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type"})
        T.status(r, 204, "preflight of %s %s" % (method, path))
        T.eq(r.header("Access-Control-Allow-Origin"), origin, "preflight: Allow-Origin")
        methods = {m.strip() for m in (r.header("Access-Control-Allow-Methods") or "").split(",")}
        T.check(method in methods, "preflight allows %s" % method, methods)
        hdrs = {h.strip().lower() for h in
                (r.header("Access-Control-Allow-Headers") or "").split(",")}
        T.check({"authorization", "content-type"} <= hdrs,
                "preflight allows the Authorization and Content-Type headers", hdrs)
        T.check((r.header("Access-Control-Max-Age") or "").isdigit(), "preflight: Max-Age")
    T.problem(d.request("OPTIONS", "/v1/nope", headers={"Origin": origin}), 404,
              "preflight of an unknown path")
    r = d.get("/v1/runs")
    T.eq(r.header("Access-Control-Allow-Origin"), origin, "answers carry Allow-Origin")
    T.check("Location" in (r.header("Access-Control-Expose-Headers") or ""),
            "answers expose Location to scripts")
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
