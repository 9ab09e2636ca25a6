#!/usr/bin/python3
"""test_hostile_input.py — nnd under hostile input: malformed and extreme CSVs, specs, names and
ids, oversized headers and bodies, lying Content-Lengths, slowloris clients and diverging
training. Every refusal must be a 4xx RFC 9457 problem, and afterwards the server must be
unchanged and healthy: /healthz 200, the dataset and run lists as before, no file left in
data_dir/tmp or data_dir/datasets except for accepted uploads."""

import json
import os
import random
import socket
import threading
import time

from nndtest import SLOW, Suite, files_settled, kc_slice, seed_spec

T = Suite("hostile")
JSON = {"Content-Type": "application/json"}


def small_spec(**training):
    spec = {"name": "t", "target": "y", "network": {"hidden": [{"units": 4}]},
            "training": {"epochs": 2, "validation": {"type": "kfold", "k": 2}}}
    spec["training"].update(training)
    return spec


def xy_csv(rows=40, bad=None):
    """x,y rows; bad = (row number 1-based, token for x)."""
    lines = ["x,y"]
    for i in range(1, rows + 1):
        x = bad[1] if bad and bad[0] == i else str(i)
        lines.append("%s,%d" % (x, 2 * i + 1))
    return ("\n".join(lines) + "\n").encode()


def files(d, sub):
    p = os.path.join(d.data_dir, sub)
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


class Snapshot:
    """What must not change after a refused request."""

    def __init__(self, d):
        self.d = d
        self.datasets = d.get("/v1/datasets").json()["datasets"]
        self.runs = d.get("/v1/runs").json()["runs"]
        self.tmp = files(d, "tmp")
        self.ds_files = files(d, "datasets")

    def same(self, what):
        d = self.d
        h = d.get("/healthz")
        ok = (h.status == 200 and d.get("/v1/datasets").json()["datasets"] == self.datasets
              and [r["id"] for r in d.get("/v1/runs").json()["runs"]] ==
              [r["id"] for r in self.runs]
              and files_settled(d.data_dir, "tmp", self.tmp) == self.tmp
              and files(d, "datasets") == self.ds_files)
        T.check(ok, "after %s: healthy and unchanged (lists, tmp/, datasets/)" % what,
                "healthz %d, tmp %s, datasets %s" % (h.status, files(d, "tmp"),
                                                     files(d, "datasets")))


@T.test
def test_hostile_csvs():
    d = T.start_daemon(["--workers", "1"])
    snap = Snapshot(d)
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(20000)) + b"\0\0\0"
    cases = [
        ("truncated mid-quote", b'x,y\n1,2\n3,"4\n5,6\n', "unterminated"),
        ("binary garbage with NUL", garbage, None),
        ("an enormous single field (2 MiB > NN_CSV_MAX_FIELD)",
         b"x,y\n1," + b"9" * (2 << 20) + b"\n", None),
        ("ragged rows", b"x,y\n1,2\n3\n4,5\n", "fields"),
        ("empty body", b"", None),
        ("header only", b"x,y\n", None),
        ("non-UTF-8 bytes", b"x,y\n1,\xff\xfe\xfa\n", "UTF-8"),
        ("inf", xy_csv(bad=(3, "inf")), "row" if False else "out of range"),
        ("-inf", xy_csv(bad=(3, "-inf")), "out of range"),
        ("1e999", xy_csv(bad=(3, "1e999")), "out of range"),
    ]
    for what, body, has in cases:
        r = d.upload(body, name="hostile")
        T.problem(r, 422, "CSV upload: " + what, detail_has=has)
    snap.same("hostile CSV uploads")

    # NaN tokens are missing values: the upload is accepted, the column stats count them, and a
    # run on them is refused at POST /v1/runs with 422 at /preprocess naming column and row
    r = d.upload(xy_csv(bad=(5, "NaN")), name="nan")
    T.status(r, 201, "CSV with a NaN token uploads")
    ds = r.json()
    xcol = [c for c in ds["columns"] if c["name"] == "x"]
    T.check(xcol and xcol[0]["missing"] == 1, "column stats show x has 1 missing value", ds)
    body = T.problem(d.create_run(ds["id"], small_spec()), 422, "a run on the NaN column")
    e = (body or {}).get("errors", [{}])[0]
    T.check(e.get("pointer") == "/preprocess" and '"x"' in e.get("message", "")
            and "1 missing value" in e["message"] and "row 5" in e["message"]
            and "impute" in e["message"], "NaN: error at /preprocess names column, count, row "
            "and the impute step", body)
    # 1e308 uploads fine; the float conversion (nn_float = float) or a square refuses the run
    r = d.upload(xy_csv(bad=(7, "1e308")), name="huge")
    T.status(r, 201, "CSV with 1e308 uploads")
    big = r.json()["id"]
    body = T.problem(d.create_run(big, small_spec()), 422, "a run with 1e308 as an input")
    e = (body or {}).get("errors", [{}])[0]
    T.check(e.get("pointer", "").startswith("/preprocess") and '"x"' in e.get("message", "")
            and "row 7" in e["message"], "1e308: error at /preprocess names column and row", body)
    spec = small_spec()
    spec["preprocess"] = [{"op": "square", "columns": ["x"]}]
    body = T.problem(d.create_run(big, spec), 422, "a run squaring 1e308")
    e = (body or {}).get("errors", [{}])[0]
    T.check(e.get("pointer") == "/preprocess/0" and "x^2" in e.get("message", "")
            and "row 7" in e["message"] and "infinite" in e["message"],
            "square of 1e308: error at /preprocess/0 names x^2, row 7, infinite", body)
    T.eq(d.get("/v1/runs").json()["runs"], [], "no run was created")
    T.check(d.get("/healthz").status == 200, "healthy after the CSV battery")
    T.stop_daemon(d)


@T.test
def test_hostile_specs():
    d = T.start_daemon(["--workers", "1"])
    ds = d.upload(kc_slice(300)).json()["id"]
    snap = Snapshot(d)

    def refused(spec, pointer, what, status=422):
        body = T.problem(d.create_run(ds, spec), status, "spec: " + what)
        ptrs = [e["pointer"] for e in (body or {}).get("errors", [])]
        if pointer is not None:
            T.check(any(p == pointer or p.startswith(pointer + "/") for p in ptrs),
                    "spec: %s → error at %s" % (what, pointer), ptrs or body)
        return body

    def with_(path, value, base=None):
        spec = base or seed_spec(epochs=2, k=2)
        node = spec
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        return spec

    # wrong types at many places
    for path, value in [(("name",), 5), (("seed",), "x"), (("target",), 5), (("id",), ["id"]),
                        (("preprocess",), {}), (("preprocess", 0), "drop"),
                        (("network",), []), (("network", "hidden"), "16"),
                        (("network", "hidden", 0, "units"), "16"),
                        (("network", "hidden", 0, "units"), 3.5),
                        (("network", "output", "activation"), 1),
                        (("training",), None), (("training", "epochs"), "10"),
                        (("training", "batch_size"), [1]),
                        (("training", "optimizer", "learning_rate"), "fast"),
                        (("training", "validation", "k"), {"k": 2})]:
        ptr = "/" + "/".join(str(p) for p in path)
        refused(with_(path, value), ptr, "%s = %s" % (ptr, json.dumps(value)))
    refused(with_(("bogus",), 1), "/bogus", "unknown key /bogus")
    refused(with_(("training", "epohcs"), 1), "/training/epohcs", "unknown key /training/epohcs")
    # deep nesting: 100 levels are over the spec's depth limit (422); 10,000 are over the JSON
    # parser's (400, before the spec is read)
    deep = {}
    node = deep
    for _ in range(100):
        node["a"] = {}
        node = node["a"]
    refused(with_(("bogus",), deep), None, "100 levels of nesting")
    body = ('{"dataset": "%s", "spec": %s%s}' % (ds, '{"a":' * 10000, "1" + "}" * 10000)).encode()
    T.problem(d.post("/v1/runs", body, headers=JSON), 400, "10,000 levels of nesting")
    # a 100,000-element hidden list: of objects it is 1.2 MB, over --max-spec-bytes (413 before
    # parsing); of bare numbers (200 kB) the spec parser refuses it at /network/hidden
    T.problem(d.create_run(ds, with_(("network", "hidden"), [{"units": 4}] * 100000)), 413,
              "spec: a 100,000-element hidden list of objects", detail_has="--max-spec-bytes")
    refused(with_(("network", "hidden"), [4] * 100000), "/network/hidden",
            "a 100,000-element hidden list of numbers")
    refused(with_(("network", "hidden"), [{"units": 65536, "repeat": 200}]), "/network/hidden",
            "a network of billions of parameters")
    for v in (0, -1, 10 ** 12):
        refused(with_(("training", "epochs"), v), "/training/epochs", "epochs %d" % v)
    for v in (0, -5, 10 ** 12):
        refused(with_(("training", "batch_size"), v), "/training/batch_size", "batch_size %d" % v)
    sp = seed_spec(epochs=2, k=2)
    sp["preprocess"].insert(0, {"op": "log10", "columns": ["no_such_column"]})
    refused(sp, "/preprocess/0", "an unknown column")
    # a text target is a classification's: the seed spec's mse loss and its date step on that
    # column do not fit it, and 300 rows of dates give a few hundred classes of one or two rows
    # each — one problem that lists the first of them, not one per class
    body = refused(with_(("target",), "date"), "/training/loss", "a text target (date) with mse")
    errs = (body or {}).get("errors", [])
    T.check(len(errs) <= 4 and any(e["pointer"] == "/training/validation/k" and
                                   "classes have fewer rows than the 2 folds" in e["message"]
                                   for e in errs), "spec: one problem for the short classes", errs)
    body = refused(with_(("target",), "nope"), "/target", "an unknown target")
    snap.same("hostile specs")
    T.stop_daemon(d)


@T.test
def test_hostile_names_and_ids():
    d = T.start_daemon(["--workers", "1"])
    ok = d.upload(b"x,y\n1,2\n3,4\n", name="fine")
    T.status(ok, 201, "a plain upload")
    snap = Snapshot(d)
    for what, q in [("../", "..%2F..%2Fetc"), ("%00", "ab%00cd"), ("a lone %00", "%00"),
                    ("quotes", "%22q%22"), ("single quote", "it%27s"),
                    ("SQL", "x%27%3B%20DROP%20TABLE%20runs%3B--"),
                    ("control characters", "a%0Ab%07"), ("DEL", "a%7F"),
                    ("non-UTF-8", "%FF%FE"), ("a 10 KB name", "n" * 10240), ("empty", "")]:
        r = d.post("/v1/datasets?name=" + q, b"x,y\n5,6\n7,8\n", headers={"Content-Type": "text/csv"})
        T.problem(r, 400, "dataset name with " + what)
    snap.same("hostile dataset names")
    T.check(d.get("/v1/runs").status == 200, "the runs table survived the SQL name")
    for path in ("/v1/runs/../../etc/passwd", "/v1/runs/%2e%2e", "/v1/runs/%2e%2e%2f%2e%2e",
                 "/v1/datasets/..%2f..%2fnnd.db/csv", "/v1/runs/zzzz-not-hex",
                 "/v1/runs/" + "g" * 32, "/v1/datasets/" + "z" * 32, "/assets/%2e%2e",
                 "/%2e%2e", "/v1/runs/" + "a" * 32 + "/events/../model", "/v1/runs/%00",
                 "/index.html%00.txt", "/v1/datasets/%00/csv"):
        T.problem(d.get(path), 404, "GET " + path[:60])
    # a 1 KB id makes a path over nnd's path buffer: 414 URI Too Long (never 500)
    T.problem(d.get("/v1/runs/" + "a" * 1024), 414, "GET a 1 KB id")
    T.problem(d.get("/v1/datasets/" + "b" * 1024 + "/csv"), 414, "GET a 1 KB dataset id")
    snap.same("hostile ids")
    T.stop_daemon(d)


def raw(port, data, read=True, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
    try:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


@T.test
def test_hostile_http():
    d = T.start_daemon(["--workers", "1", "--max-body", "65536", "--max-upload", "200000"])
    ds = d.upload(kc_slice(300)).json()["id"]
    snap = Snapshot(d)
    # 100 KB of headers: libmicrohttpd refuses them (431 or 413) and nnd stays up
    hdrs = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 1000) for i in range(100))
    out = raw(d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + hdrs + b"\r\n")
    status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.1 ") else 0
    T.check(status in (413, 431), "100 KB of headers → 431 or 413", out[:200])
    T.check(d.get("/healthz").status == 200, "healthy after 100 KB of headers")
    # oversized bodies
    T.problem(d.send_oversized("POST", "/v1/runs", b"{" + b" " * 100000 + b"}", JSON), 413,
              "a JSON body over --max-body")
    T.problem(d.send_oversized("POST", "/v1/datasets?name=big", b"x,y\n" + b"1,2\n" * 60000,
                               {"Content-Type": "text/csv"}), 413, "an upload over --max-upload")
    # Content-Length larger than the body, then the client goes away: no hang for the others
    for path in ("/v1/datasets?name=short", "/v1/runs"):
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                  b"Content-Length: 100000\r\n\r\nx,y\n1,2\n")
        time.sleep(0.2)
        s.close()
        t0 = time.time()
        r = d.get("/healthz")
        T.check(r.status == 200 and time.time() - t0 < 2 * SLOW,
                "short body then close on %s: others still served" % path.split("?")[0],
                "%r after %.2fs" % (r, time.time() - t0))
    # invalid JSON bodies
    for what, body in [("truncated", b'{"dataset": "x", "spec": {'), ("not JSON", b"hello"),
                       ("NUL bytes", b'{"dataset":"\0"}'), ("a bare string", b'"x"'),
                       ("invalid UTF-8", b'{"dataset": "\xff"}'), ("NaN literal", b'{"a": NaN}')]:
        T.problem(d.post("/v1/runs", body, headers=JSON), 400, "invalid JSON to /v1/runs: " + what)
        T.problem(d.post("/v1/specs/validate", body, headers=JSON), 400,
                  "invalid JSON to /v1/specs/validate: " + what)
    # predict: wrong Content-Type, rows of the wrong types
    run = d.create_run(ds, seed_spec(epochs=2, k=2)).json()["id"]
    T.eq(d.wait_run(run)["status"], "succeeded", "a small run for predict succeeds")
    snap = Snapshot(d)
    path = "/v1/runs/%s/predict" % run
    T.problem(d.post(path, b"id,bedrooms\n1,2\n", headers={"Content-Type": "text/plain"}), 422,
              "predict: CSV sent as text/plain")
    T.problem(d.post(path, b'{"rows": [{"bedrooms": 3}]}', headers={"Content-Type": "text/csv"}),
              422, "predict: JSON sent as text/csv")
    T.problem(d.post(path, b"\xff\xfe\x00garbage", headers={"Content-Type": "application/octet-stream"}),
              422, "predict: binary garbage")
    for what, rows in [("rows not an array", {"rows": 5}), ("a row not an object", {"rows": [1]}),
                       ("bedrooms as a list", {"rows": [{"bedrooms": [3]}]}),
                       ("bedrooms as an object", {"rows": [{"bedrooms": {"n": 3}}]}),
                       ("bedrooms as text", {"rows": [{"bedrooms": "three"}]}),
                       ("bedrooms true", {"rows": [{"bedrooms": True}]})]:
        r = d.post(path, rows)
        T.check(400 <= r.status < 500 and r.ctype.startswith("application/problem+json"),
                "predict: %s → 4xx problem" % what, r)
    snap.same("hostile HTTP")
    T.stop_daemon(d)


@T.test
def test_slowloris():
    d = T.start_daemon(["--workers", "1", "--timeout", "3"])
    socks = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    stop = threading.Event()
    dropped = {}
    t_open = time.time()

    def trickle():
        while not stop.is_set() and len(dropped) < len(socks):
            for i, s in enumerate(socks):
                if i in dropped:
                    continue
                try:
                    s.sendall(b"X")
                    s.setblocking(False)
                    try:
                        if s.recv(100) == b"":
                            dropped[i] = time.time() - t_open
                    except BlockingIOError:
                        pass
                    finally:
                        s.setblocking(True)
                except OSError:
                    dropped[i] = time.time() - t_open
            stop.wait(1.0)

    th = threading.Thread(target=trickle, daemon=True)
    th.start()
    lat = []
    for _ in range(20):
        t0 = time.time()
        r = d.get("/v1/runs")
        lat.append(time.time() - t0)
        T.check(r.status == 200, "GET while 50 slow clients trickle headers", r) if r.status != 200 else None
        time.sleep(0.05)
    T.check(max(lat) < 1.0 * SLOW, "20 GETs during slowloris each answered in < 1 s",
            "max %.3fs" % max(lat))
    print("# slowloris: 20 GETs, max %.1f ms, median %.1f ms" %
          (1000 * max(lat), 1000 * sorted(lat)[10]))
    deadline = time.time() + 15 * SLOW
    while len(dropped) < 50 and time.time() < deadline:
        time.sleep(0.2)
    stop.set()
    th.join(5)
    T.eq(len(dropped), 50, "all 50 slow connections dropped by --timeout 3")
    if dropped:
        print("# slowloris: dropped after %.1f..%.1f s" % (min(dropped.values()),
                                                           max(dropped.values())))
        T.check(max(dropped.values()) < 3 + 4 * SLOW, "dropped within a few seconds of 3 s",
                max(dropped.values()))
    for s in socks:
        s.close()
    m = d.metrics()
    T.check(m.get("nnd_slow_connections_dropped_total{part=\"head\"}", 0) >= 50,
            "/metrics counts the dropped slow connections", m.get("nnd_slow_connections_dropped_total{part=\"head\"}"))
    T.check(d.get("/healthz").status == 200, "healthy after slowloris")
    T.stop_daemon(d)


@T.test
def test_slow_bodies():
    """512 uploads trickling their body a byte at a time from one address, and slow JSON bodies:
    beyond --max-uploads-per-client the uploads get 429 at once; the accepted ones, and the slow
    JSON bodies, lose their connection after one --timeout window below --min-body-rate; no
    temporary file is left; a /healthz from the same address is served throughout."""
    d = T.start_daemon(["--workers", "1", "--timeout", "2"])  # --max-uploads-per-client 16
    n_uploads, n_json = 512, 8
    head = (b"POST /v1/datasets?name=slow HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
            b"Content-Length: 100000\r\n\r\nx,y\n")
    jhead = (b"POST /v1/specs/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n{")
    socks = []
    for i in range(n_uploads + n_json):
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(head if i < n_uploads else jhead)
        socks.append(s)
    t_open = time.time()
    status = {}  # index → 429 or "closed"
    ended = {}  # index → seconds after opening when the answer or the end came

    def poll(i, s):
        s.setblocking(False)
        try:
            b = s.recv(4096)
            if b.startswith(b"HTTP/1.1 429"):
                status[i] = 429
            elif b == b"" or b.startswith(b"HTTP/1.1"):
                status[i] = "closed"
        except BlockingIOError:
            pass
        except OSError:
            status[i] = "closed"
        finally:
            s.setblocking(True)
        if i in status:
            ended[i] = time.time() - t_open

    deadline = time.time() + 20 * SLOW
    healthz = []
    while time.time() < deadline:
        for i, s in enumerate(socks):
            if i in status:
                continue
            try:
                s.send(b"1")
            except OSError:
                status[i] = "closed"
                ended[i] = time.time() - t_open
                continue
            poll(i, s)
        healthz.append(d.get("/healthz").status)
        if len(status) == len(socks):
            break
        time.sleep(0.5)
    took = time.time() - t_open
    # a 429 is answered at once; its connection may then be reset before the answer is read
    # (the unread body), so a refusal is a 429 or an end within the first second, before any
    # --timeout window has passed; a drop is an end after the window
    refused = sum(1 for i, v in status.items() if v == 429 or ended[i] < 1.0)
    dropped = [i for i, v in status.items() if v != 429 and ended[i] >= 1.5]
    T.eq(refused, n_uploads - 16, "uploads beyond --max-uploads-per-client 16 → 429")
    T.eq(len(dropped), 16 + n_json,
         "every accepted slow body (16 uploads, %d JSON) is dropped after the window" % n_json)
    T.eq(len(status), len(socks), "no slow body is left open")
    T.check(took < 2 + 8 * SLOW, "slow bodies dropped within a few seconds of --timeout 2", took)
    T.check(healthz and all(h == 200 for h in healthz),
            "/healthz from the same address answers 200 throughout", healthz)
    for s in socks:
        s.close()
    m = d.metrics()
    T.check(m.get("nnd_slow_connections_dropped_total{part=\"body\"}", 0) >= 16 + n_json,
            "/metrics counts the dropped slow bodies",
            m.get("nnd_slow_connections_dropped_total{part=\"body\"}"))
    T.eq(files_settled(d.data_dir, "tmp", []), [], "no temporary upload file is left")
    r = d.upload(b"a,b\n1,2\n3,4\n", name="after")
    T.status(r, 201, "an upload at a normal speed works afterwards")
    T.stop_daemon(d)


@T.test
def test_diverging_training():
    d = T.start_daemon(["--workers", "1"])
    ds = d.upload(kc_slice(300)).json()["id"]
    spec = seed_spec(epochs=30, k=2)
    spec["training"]["optimizer"] = {"type": "sgd", "learning_rate": 1e6}
    r = d.create_run(ds, spec)
    T.status(r, 202, "a run with sgd learning_rate 1e6 is accepted")
    run_id = r.json()["id"]
    run = d.wait_run(run_id, timeout=120)
    T.eq(run["status"], "failed", "the diverging run fails")
    err = run.get("error") or ""
    T.check("fold" in err and "epoch" in err, "the error names the fold and the epoch", err)
    print("# diverging run: %s" % err)
    T.problem(d.get("/v1/runs/%s/predictions" % run_id), 409, "predictions of the failed run")
    events, resp = d.events(run_id, ndjson=True)
    T.check(events is not None, "the failed run's events can be read", resp)
    raw_events = d.get("/v1/runs/%s/events" % run_id,
                       headers={"Accept": "application/x-ndjson"}).body
    T.check(b"NaN" not in raw_events and b"Infinity" not in raw_events,
            "no NaN/Infinity token in the run's events")
    raw_run = d.get("/v1/runs/" + run_id).body + d.get("/v1/runs/%s/history" % run_id).body
    T.check(b"NaN" not in raw_run and b"Infinity" not in raw_run,
            "no NaN/Infinity token in the run or its history")
    T.eq([e[0] for e in events or []], list(range(1, len(events or []) + 1)),
         "event ids 1..n without gaps")
    T.check(d.get("/healthz").status == 200, "healthy after the diverging run")
    T.stop_daemon(d)


@T.test
def test_limits():
    d = T.start_daemon(["--workers", "1", "--max-streams-per-client", "2", "--max-spec-bytes",
                        "4096", "--max-params", "2000"])
    ds = d.upload(kc_slice(300)).json()["id"]
    # --max-spec-bytes: refused before parsing (even invalid JSON over the limit is a 413)
    for path in ("/v1/runs", "/v1/specs/validate"):
        T.problem(d.post(path, b"{" + b" " * 5000 + b"}", headers=JSON), 413,
                  "%s over --max-spec-bytes" % path, detail_has="--max-spec-bytes")
    # --max-params: planned parameters × ensemble
    spec = seed_spec(epochs=2, k=2)
    spec["network"]["hidden"] = [{"units": 16, "activation": "relu", "repeat": 2}]
    r = d.post("/v1/specs/validate", {"dataset": ds, "spec": spec})
    T.status(r, 200, "a small network validates")
    n_params = r.json().get("parameters", 0)
    T.check(0 < n_params <= 2000, "its parameter count is under --max-params 2000", n_params)
    big = seed_spec(epochs=2, k=2)
    big["network"]["hidden"] = [{"units": 64, "activation": "relu", "repeat": 2}]
    for path in ("/v1/runs", "/v1/specs/validate"):
        body = T.problem(d.post(path, {"dataset": ds, "spec": big}), 422,
                         "%s: a network over --max-params" % path)
        T.check(body and body["errors"][0]["pointer"] == "/network"
                and "--max-params" in body["errors"][0]["message"],
                "over --max-params: error at /network", body)
    ens = seed_spec(epochs=2, k=2)
    ens["network"]["hidden"] = spec["network"]["hidden"]
    ens["training"]["ensemble"] = 2000 // n_params + 1
    body = T.problem(d.create_run(ds, ens), 422, "parameters × ensemble over --max-params")
    T.check(body and "ensemble" in body["errors"][0]["message"], "the message names the ensemble",
            body)
    # --max-streams-per-client 2: a third stream from the same address is a 429
    run = d.create_run(ds, spec)
    T.status(r, 200, "a run within the limits is accepted")
    run_id = run.json()["id"]
    d.wait_run(run_id)
    conns = []
    for i in range(2):
        c = d.conn()
        c.request("GET", "/v1/runs/%s/events?after=100000" % run_id)
        conns.append(c)
    rs = [c.getresponse() for c in conns]
    # a finished run's stream ends at once; hold streams of a run that is still going instead
    for c in conns:
        c.close()
    slow = seed_spec(epochs=100000, k=2)
    slow["network"] = spec["network"]
    live = d.create_run(ds, slow).json()["id"]
    held = []
    for i in range(2):
        c = d.conn()
        c.request("GET", "/v1/runs/%s/events" % live)
        r = c.getresponse()
        T.eq(r.status, 200, "stream %d of 2 opens" % (i + 1))
        held.append(c)
    T.problem(d.get("/v1/runs/%s/events" % live), 429, "a third stream from the same client",
              detail_has="event streams are open")
    held[0].close()
    time.sleep(0.3)
    deadline = time.time() + 5 * SLOW
    while True:
        c = d.conn()
        c.request("GET", "/v1/runs/%s/events" % live)
        r = c.getresponse()
        if r.status == 200 or time.time() > deadline:
            break
        r.read()
        c.close()
        time.sleep(0.2)
    T.eq(r.status, 200, "after one closes, a new stream opens")
    c.close()
    for c in held[1:]:
        c.close()
    T.status(d.post("/v1/runs/%s/cancel" % live), 202, "cancel the long run")
    del rs
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
