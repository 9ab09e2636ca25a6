#!/usr/bin/python3
"""test_load.py — nnd under load: 100 event streams on one run each get every event (ids 1..n,
no gaps); then, with two runs training, 64 client threads GET the run and POST predict for
NND_LOAD_SECONDS (default 10) while 16 distinct CSVs upload at once and 100 runs are submitted
in a burst with --max-queued 20 (202 or 429 with Retry-After). No 5xx anywhere; the peak RSS of
nnd (VmRSS) stays under 400 MB (NND_LOAD_MAX_RSS_MB); p50/p99 latencies are printed."""

import os
import tempfile
import subprocess
import shutil
import re
import threading
import time

from nndtest import SLOW, Suite, kc_slice, seed_spec, sse_reader_thread

T = Suite("load")
SECONDS = float(os.environ.get("NND_LOAD_SECONDS", "10"))
# ASan's shadow memory and quarantine (256 MB) inflate RSS: sanitizer builds (SLOW > 1) get 4×
MAX_RSS_MB = float(os.environ.get("NND_LOAD_MAX_RSS_MB", "400")) * (4 if SLOW > 1 else 1)


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class RssSampler:
    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self.stop.wait(0.1)

    def end(self):
        self.stop.set()
        self.t.join()
        return self.peak


def pct(xs, p):
    xs = sorted(xs)
    return 1000 * xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))] if xs else float("nan")


def small(epochs, k=2):
    spec = seed_spec(epochs=epochs, k=k)
    spec["network"]["hidden"] = [{"units": 8, "activation": "relu", "repeat": 2}]
    return spec


WRK_SECONDS = int(os.environ.get("NND_WRK_SECONDS", "10"))


def parse_wrk(out):
    """Requests/s, p50 and p99 in ms, non-2xx count and socket errors from wrk --latency."""
    def ms(v):
        n = float(re.match(r"[\d.]+", v).group(0))
        return n * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[re.search(r"[a-z]+$", v).group(0)]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors:.*", out)
    return rps, p50, p99, int(non2xx.group(1)) if non2xx else 0, sock.group(0) if sock else ""


def wrk_phase(d, run_id, model_run, predict_body):
    """wrk with 64 connections in all (32 on GET /v1/runs/{id}, 32 on a 20-row CSV predict)
    for NND_WRK_SECONDS while the two runs train: every answer 2xx, no socket errors."""
    wrk = shutil.which("wrk")
    T.check(wrk is not None, "wrk is installed (scripts/deps.sh installs it)")
    if not wrk:
        return
    tmp = tempfile.mkdtemp(prefix="nnd-wrk-")
    body = os.path.join(tmp, "body.csv")
    with open(body, "wb") as f:
        f.write(predict_body)
    script = os.path.join(tmp, "predict.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "text/csv"\n'
                'local f = io.open("%s", "rb")\nwrk.body = f:read("*a")\nf:close()\n' % body)
    base = "http://127.0.0.1:%d" % d.port
    common = [wrk, "-t1", "-c32", "-d%ds" % WRK_SECONDS, "--latency", "--timeout", "10s"]
    procs = [subprocess.Popen(common + [base + "/v1/runs/" + run_id], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True),
             subprocess.Popen(common + ["-s", script, base + "/v1/runs/%s/predict" % model_run],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]
    outs = [p.communicate(timeout=WRK_SECONDS * 3 + 60)[0] for p in procs]
    shutil.rmtree(tmp, ignore_errors=True)
    for name, out in zip(("GET /v1/runs/{id}", "predict 20 rows"), outs):
        try:
            rps, p50, p99, non2xx, sock = parse_wrk(out)
        except (AttributeError, ValueError):
            T.check(False, "wrk output parsed", out[-400:])
            continue
        print("# wrk %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, 64 connections, %ds, 2 runs "
              "training" % (name, rps, p50, p99, WRK_SECONDS))
        T.eq(non2xx, 0, "wrk %s: every answer 2xx" % name)
        T.eq(sock, "", "wrk %s: no socket errors" % name)
        T.check(rps > 0, "wrk %s: requests answered" % name)


@T.test
def test_load():
    d = T.start_daemon(["--workers", "2", "--max-queued", "20", "--max-streams", "300",
                        "--max-streams-per-client", "200"])
    rss = RssSampler(d.proc.pid)
    statuses = {}
    lock = threading.Lock()

    def note(kind, status):
        with lock:
            statuses.setdefault(kind, {}).setdefault(status, 0)
            statuses[kind][status] += 1

    data = kc_slice(1000)
    ds = d.upload(data).json()["id"]
    done = d.create_run(ds, small(5)).json()["id"]
    T.eq(d.wait_run(done, timeout=120)["status"], "succeeded", "a model to predict with")

    # ---- 100 event streams on one short run ----
    short = d.create_run(ds, small(40, k=3)).json()["id"]
    readers = [sse_reader_thread(d, short, ndjson=(i % 2 == 1)) for i in range(100)]
    for t, _ in readers:
        t.join(180 * SLOW)
    run = d.wait_run(short, timeout=120)
    T.eq(run["status"], "succeeded", "the streamed run succeeds")
    stored = d.get("/v1/runs/%s/events" % short, headers={"Accept": "application/x-ndjson"})
    n_stored = len([x for x in stored.body.splitlines() if x.strip()])
    complete = [r for _, r in readers
                if r["status"] == 200 and r["closed"] and not r["error"]
                and [e[0] for e in r["events"]] == list(range(1, n_stored + 1))]
    T.eq(len(complete), 100, "100 streams each got events 1..%d with no gap" % n_stored)
    bad = [(r["status"], r["error"], len(r["events"])) for _, r in readers if r not in complete]
    if bad:
        print("# incomplete streams: %s" % bad[:5])

    # ---- two runs training, then the load ----
    long_runs = [d.create_run(ds, small(200000)).json()["id"] for _ in range(2)]
    for rid in long_runs:
        d.wait_progress(rid)
    stop = threading.Event()
    lat = {"get": [], "predict": []}
    predict_body = b"\n".join(data.splitlines()[:21]) + b"\n"
    r = d.post("/v1/runs/%s/predict" % done, predict_body, headers={"Content-Type": "text/csv"})
    T.status(r, 200, "predict with CSV rows works before the load")

    def client(i):
        n = 0
        while not stop.is_set():
            t0 = time.time()
            try:
                if n % 2 == 0:
                    r = d.get("/v1/runs/" + long_runs[i % 2], timeout=30)
                    kind = "get"
                else:
                    r = d.post("/v1/runs/%s/predict" % done, predict_body,
                               headers={"Content-Type": "text/csv"}, timeout=30)
                    kind = "predict"
                with lock:
                    lat[kind].append(time.time() - t0)
                note(kind, r.status)
            except Exception as e:  # noqa: BLE001
                note("client", type(e).__name__)
            n += 1

    uploads = []

    def upload(i):
        body = b"x,y,z\n" + b"".join(b"%d,%d,%d\n" % (i, j, i * j) for j in range(200))
        r = d.upload(body, name="load-%d" % i)
        note("upload", r.status)
        uploads.append(r.status)

    burst = []

    def submit(i):
        r = d.create_run(ds, small(1 + i % 3))
        note("submit", r.status)
        with lock:
            burst.append((r.status, r.header("Retry-After")))

    t_start = time.time()
    clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(64)]
    for t in clients:
        t.start()
    ups = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(16)]
    subs = [threading.Thread(target=submit, args=(i,), daemon=True) for i in range(100)]
    for t in ups + subs:
        t.start()
    for t in ups + subs:
        t.join(120 * SLOW)
    while time.time() - t_start < SECONDS:
        time.sleep(0.1)
    stop.set()
    for t in clients:
        t.join(60 * SLOW)
    elapsed = time.time() - t_start

    T.eq(sorted(uploads), [201] * 16, "16 concurrent distinct uploads all 201")
    codes = sorted(set(s for s, _ in burst))
    accepted = sum(1 for s, _ in burst if s == 202)
    refused = [(s, ra) for s, ra in burst if s == 429]
    T.check(set(codes) <= {202, 429} and accepted >= 1 and refused,
            "burst of 100 submissions: some 202, the rest 429", codes)
    T.eq(accepted + len(refused), 100, "every submission answered 202 or 429")
    T.check(all(ra and ra.isdigit() and int(ra) > 0 for _, ra in refused),
            "every 429 has Retry-After")
    five = {(k, s): v for k, m in statuses.items() for s, v in m.items()
            if isinstance(s, int) and s >= 500}
    T.eq(five, {}, "no 5xx at all")
    T.eq(statuses.get("client", {}), {}, "no client errors (timeouts, resets)")
    T.eq(sorted(statuses.get("get", {})), [200], "every GET /v1/runs/{id} 200")
    T.eq(sorted(statuses.get("predict", {})), [200], "every predict 200")
    n_req = len(lat["get"]) + len(lat["predict"])
    print("# load: %.1fs, 64 clients, %d requests (%.0f/s); GET run p50 %.1f ms p99 %.1f ms; "
          "predict (20 rows) p50 %.1f ms p99 %.1f ms; burst %d×202 %d×429" %
          (elapsed, n_req, n_req / elapsed, pct(lat["get"], 50), pct(lat["get"], 99),
           pct(lat["predict"], 50), pct(lat["predict"], 99), accepted, len(refused)))

    wrk_phase(d, long_runs[0], done, predict_body)

    for rid in long_runs:
        d.post("/v1/runs/%s/cancel" % rid)
    for r in d.get("/v1/runs?status=queued&limit=200").json()["runs"]:
        d.post("/v1/runs/%s/cancel" % r["id"])
    for rid in long_runs:
        T.eq(d.wait_run(rid, timeout=60)["status"], "cancelled", "long run cancelled")
    peak = rss.end()
    print("# load: peak RSS of nnd %.0f MB" % peak)
    T.check(0 < peak < MAX_RSS_MB, "peak RSS under %.0f MB" % MAX_RSS_MB, "%.0f MB" % peak)
    m = d.metrics()
    T.eq(m.get('nnd_responses_total{class="5xx"}'), 0, "/metrics counts no 5xx")
    T.stop_daemon(d)


if __name__ == "__main__":
    T.main()
