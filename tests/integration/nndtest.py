"""nndtest.py — the harness of nnd's integration tests (standard library only).

A test file builds a Suite, registers test functions with @suite.test, and calls suite.main().
Each test function receives nothing and starts its own daemon(s) through start_daemon(): a fresh
temporary data dir, `--listen 127.0.0.1:0` (the port is read from nnd's banner on stderr), the
stderr log kept in a file and shown when a check fails. Every daemon is stopped when its test
ends (try/finally), and at exit (atexit) whatever is still alive is killed. A daemon stopped with
SIGTERM must exit 0: with an ASan build (ASAN_OPTIONS=detect_leaks=1) a leak makes it exit
nonzero, which is reported as a failure with the log's tail.

Checks count one each: the file ends with "N passed, M failed" and exits 1 when M > 0. An
exception in a test counts as one failure and the test's remaining checks are skipped.

Environment: NND_BIN (the nnd binary), NN_CLI (the nn binary, optional), NN_SOURCE_DIR (the
repository, for examples/kc_house_data.csv and kc_house_seed.json), NND_TEST_DB (`sqlite`, the
default, or `pg`: the suite starts a throwaway PostgreSQL cluster (pgtest.py) and every daemon of
start_daemon gets `--db` with a database of its own, one per data dir, so a restarted daemon
finds its database again; T.db_row and T.integrity read the store either way).
"""

import atexit
import csv
import http.client
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

NND_BIN = os.environ.get("NND_BIN", "")
NN_CLI = os.environ.get("NN_CLI", "")
SOURCE_DIR = os.environ.get("NN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
KC_CSV = os.path.join(SOURCE_DIR, "examples", "kc_house_data.csv")
KC_SEED = os.path.join(SOURCE_DIR, "examples", "kc_house_seed.json")

# Sanitizer builds are several times slower: every wait below scales with this.
SLOW = float(os.environ.get("NND_TEST_SLOW", "1"))
# The store the daemons use: "sqlite" (in the data dir) or "pg" (a throwaway cluster).
DB = os.environ.get("NND_TEST_DB", "sqlite")

_live = []  # daemons still running, for atexit


def _kill_all():
    for d in list(_live):
        d.kill()


atexit.register(_kill_all)


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the finally blocks and atexit


for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


# ---- data ----

def kc_slice(rows=2000):
    """The header and the first `rows` data rows of the King County CSV, as bytes."""
    with open(KC_CSV, "rb") as f:
        lines = []
        for i, line in enumerate(f):
            if i > rows:
                break
            lines.append(line)
    return b"".join(lines)


def files_settled(data_dir, sub, want, timeout=10):
    """The sorted names in data_dir/sub once they equal want, or as they are after timeout × SLOW
    seconds: a refused upload's temporary file is removed when libmicrohttpd reports the request
    completed, which may come a moment after its answer reached the client."""
    p = os.path.join(data_dir, sub)
    deadline = time.time() + timeout * SLOW
    while True:
        got = sorted(os.listdir(p)) if os.path.isdir(p) else []
        if got == sorted(want) or time.time() >= deadline:
            return got
        time.sleep(0.02)


def parse_csv(data):
    """bytes → (header, list of rows as lists of str)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    return rows[0], rows[1:]


def seed_spec(epochs=10, k=3, batch=16, **training):
    """examples/kc_house_seed.json with few epochs and folds (a run takes about a second)."""
    with open(KC_SEED) as f:
        spec = json.load(f)
    spec["training"]["epochs"] = epochs
    spec["training"]["batch_size"] = batch
    spec["training"]["validation"]["k"] = k
    spec["training"].update(training)
    return spec


def without_timings(v):
    """A copy of metrics without the wall-clock fields (they differ between equal runs)."""
    if isinstance(v, dict):
        return {k: without_timings(x) for k, x in v.items() if "seconds" not in k}
    if isinstance(v, list):
        return [without_timings(x) for x in v]
    return v


def rel_close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


# ---- HTTP ----

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive get)
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    @property
    def ctype(self):
        return self.headers.get("Content-Type", "")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.ctype, self.body[:300])


class Daemon:
    """One nnd process on a free port with its own data dir (see start_daemon)."""

    def __init__(self, data_dir, args=(), token=None, env=None, quiet=True):
        self.data_dir = data_dir
        self.args = list(args)
        self.token = token
        self.extra_env = dict(env or {})
        self.quiet = quiet
        self.proc = None
        self.port = None
        self.log_path = None
        self.starts = 0

    def start(self, timeout=30):
        if not NND_BIN or not os.access(NND_BIN, os.X_OK):
            raise RuntimeError("NND_BIN is not set to the nnd binary (got %r)" % NND_BIN)
        self.starts += 1
        self.log_path = os.path.join(os.path.dirname(self.data_dir),
                                     "nnd-%d.log" % self.starts)
        env = dict(os.environ)
        env.pop("NND_TOKEN", None)
        env["OPENBLAS_NUM_THREADS"] = "1"
        if self.token is not None:
            env["NND_TOKEN"] = self.token
        env.update(self.extra_env)
        argv = [NND_BIN, "--listen", "127.0.0.1:0", "--data-dir", self.data_dir] + self.args
        if self.quiet:
            argv.append("--quiet")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        _live.append(self)
        deadline = time.time() + timeout * SLOW
        while time.time() < deadline:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+) ", self.read_log())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("nnd did not start:\n" + self.read_log()[-2000:])

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signals nnd and waits; returns (exit status, seconds taken). Killed on timeout."""
        if not self.proc:
            return 0, 0.0
        t0 = time.time()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "timeout"
            self.proc.wait()
        self._forget()
        return rc, time.time() - t0

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def _forget(self):
        if self in _live:
            _live.remove(self)
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    # -- requests --

    def conn(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)

    def auth_headers(self, headers):
        h = dict(headers or {})
        if self.token is not None and "Authorization" not in h:
            h["Authorization"] = "Bearer " + self.token
        h = {k: v for k, v in h.items() if v is not None}
        return h

    def request(self, method, path, body=None, headers=None, timeout=60):
        """One request on a fresh connection; a dict body is sent as JSON."""
        h = self.auth_headers(headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return Resp(r.status, r.headers, r.read())
        finally:
            c.close()

    def send_oversized(self, method, path, body, headers=None, chunked=False):
        """Sends a body the server may refuse before reading it all: a write error after the
        headers went out is expected, the answer is read anyway."""
        h = self.auth_headers(headers)
        c = self.conn()
        try:
            c.putrequest(method, path, skip_accept_encoding=True)
            for k, v in h.items():
                c.putheader(k, v)
            if chunked:
                c.putheader("Transfer-Encoding", "chunked")
            else:
                c.putheader("Content-Length", str(len(body)))
            c.endheaders()
            try:
                step = 16384
                for i in range(0, len(body), step):
                    part = body[i:i + step]
                    c.send(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                if chunked:
                    c.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = c.getresponse()
            return Resp(r.status, r.headers, r.read())
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    # -- API shortcuts --

    def upload(self, data, name="kc"):
        return self.post("/v1/datasets?name=" + name, body=data,
                         headers={"Content-Type": "text/csv"})

    def create_run(self, dataset, spec, headers=None):
        return self.post("/v1/runs", body={"dataset": dataset, "spec": spec}, headers=headers)

    def run(self, run_id):
        r = self.get("/v1/runs/" + run_id)
        if r.status != 200:
            raise AssertionError("GET run %s: %r" % (run_id, r))
        return r.json()

    def wait_run(self, run_id, statuses=("succeeded", "failed", "cancelled"), timeout=60,
                 poll=0.05):
        """Polls the run until its status is one of statuses; returns the run JSON."""
        deadline = time.time() + timeout * SLOW
        while True:
            run = self.run(run_id)
            if run["status"] in statuses:
                return run
            if time.time() > deadline:
                raise AssertionError("run %s still %s after %ss (progress %s)" %
                                     (run_id, run["status"], timeout * SLOW, run["progress"]))
            time.sleep(poll)

    def wait_study(self, study_id, timeout=120):
        """Polls the study until it has ended; returns its JSON."""
        deadline = time.time() + timeout * SLOW
        while True:
            r = self.get("/v1/studies/" + study_id)
            if r.status != 200:
                raise AssertionError("GET study %s: %r" % (study_id, r))
            if r.json()["status"] != "running":
                return r.json()
            if time.time() > deadline:
                raise AssertionError("study %s still running after %ss" % (study_id, timeout))
            time.sleep(0.1)

    def wait_idle(self, timeout=60):
        """Waits until no run is queued or running (a cancelled study's runs stop in a batch)."""
        deadline = time.time() + timeout * SLOW
        while time.time() < deadline:
            busy = [r for st in ("queued", "running")
                    for r in self.get("/v1/runs?status=" + st).json()["runs"]]
            if not busy:
                return
            time.sleep(0.1)
        raise AssertionError("runs still queued or running after %ss" % timeout)

    def wait_progress(self, run_id, min_progress=0.0, timeout=60):
        """Waits until the run is running with progress > min_progress; returns the run."""
        deadline = time.time() + timeout * SLOW
        while True:
            run = self.run(run_id)
            if run["status"] == "running" and run["progress"] > min_progress:
                return run
            if run["status"] not in ("queued", "running"):
                raise AssertionError("run %s ended %s before training was seen" %
                                     (run_id, run["status"]))
            if time.time() > deadline:
                raise AssertionError("run %s: no progress after %ss" % (run_id, timeout * SLOW))
            time.sleep(0.02)

    def events(self, run_id, ndjson=False, headers=None, query="", timeout=120):
        """The whole event stream of a run (read until the server closes it): a list of
        (id, type, data dict), and the response (status, headers)."""
        h = dict(headers or {})
        if ndjson:
            h["Accept"] = "application/x-ndjson"
        c = self.conn(timeout)
        try:
            c.request("GET", "/v1/runs/%s/events%s" % (run_id, query), headers=self.auth_headers(h))
            r = c.getresponse()
            if r.status != 200:
                return None, Resp(r.status, r.headers, r.read())
            out = list(read_events(r, ndjson))
            return out, Resp(r.status, r.headers, b"")
        finally:
            c.close()

    def metrics(self):
        """/metrics as {"name{labels}": value}."""
        r = self.get("/metrics")
        out = {}
        for line in r.text().splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
        return out


def read_events(resp, ndjson, on_event=None):
    """Yields (id, type, data) from an SSE or NDJSON response until the server ends it."""
    if ndjson:
        while True:
            line = resp.readline()
            if not line:
                return
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            yield o["id"], o["event"], o["data"]
    ev = {}
    while True:
        line = resp.readline()
        if not line:
            return
        line = line.decode("utf-8").rstrip("\r\n")
        if line == "":
            if "data" in ev:
                yield int(ev["id"]), ev.get("event", "message"), json.loads(ev["data"])
            ev = {}
        elif line.startswith(":"):
            continue  # keep-alive comment
        else:
            k, _, v = line.partition(":")
            ev[k] = v[1:] if v.startswith(" ") else v


# ---- the suite ----

class Failed(Exception):
    pass


class Suite:
    def __init__(self, name, needs_pg=False):
        self.name = name
        self.needs_pg = needs_pg or DB == "pg"  # skipped (exit 77) without PostgreSQL
        self.tests = []
        self.passed = 0
        self.failed = 0
        self.daemons = []
        self.tmp = None
        self.pg = None  # pgtest.Cluster when DB == "pg"
        self.pg_dbs = {}  # data dir → database URL

    def test(self, fn):
        self.tests.append(fn)
        return fn

    # checks
    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed += 1
            print("FAIL " + what + ((": " + str(detail)) if detail != "" else ""))
            for d in self.daemons:
                if d.log_path:
                    tail = d.read_log()[-1500:]
                    if tail:
                        print("    | nnd log (%s):\n    | " % d.log_path +
                              "\n    | ".join(tail.splitlines()[-12:]))
        sys.stdout.flush()
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, what, "got %r, expected %r" % (got, want))

    def status(self, r, want, what):
        return self.check(r.status == want, "%s → %d" % (what, want),
                          "got %d %s" % (r.status, r.body[:400]))

    def problem(self, r, want, what, detail_has=None):
        """r is an RFC 9457 problem with status want (type/title/status/detail)."""
        ok = r.status == want and r.ctype.startswith("application/problem+json")
        body = None
        if ok:
            try:
                body = r.json()
                ok = (isinstance(body.get("type"), str) and isinstance(body.get("title"), str)
                      and body.get("status") == want and isinstance(body.get("detail"), str))
                if ok and detail_has is not None:
                    ok = detail_has in body["detail"]
            except ValueError:
                ok = False
        self.check(ok, "%s → %d problem%s" % (what, want,
                                             " mentioning %r" % detail_has if detail_has else ""),
                   "got %d %s %s" % (r.status, r.ctype, r.body[:400]))
        return body

    # -- the store --

    def cluster(self):
        """The suite's PostgreSQL cluster, started on first use."""
        if self.pg is None:
            import pgtest
            self.pg = pgtest.Cluster()
        return self.pg

    def db_url(self, key):
        """A database of its own for key (a data dir), created on first use."""
        if key not in self.pg_dbs:
            name = "nnd_%d" % (len(self.pg_dbs) + 1)
            self.cluster().psql("CREATE DATABASE %s" % name)
            self.pg_dbs[key] = self.cluster().url().rsplit("/", 1)[0] + "/" + name
        return self.pg_dbs[key]

    def db_row(self, d, sql, params=()):
        """One row of a query on d's store (None when there is none): SQLite's values, or
        psql's text turned into int, float or None (params are substituted as SQL literals)."""
        if DB != "pg":
            import sqlite3
            db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.data_dir, "nnd.db"), uri=True)
            try:
                return db.execute(sql, params).fetchone()
            finally:
                db.close()
        for p in params:
            lit = "NULL" if p is None else str(p) if isinstance(p, (int, float)) else \
                "'" + str(p).replace("'", "''") + "'"
            sql = sql.replace("?", lit, 1)
        db = self.pg_dbs[d.data_dir].rsplit("/", 1)[1]
        out = self.cluster()._run(["psql", "-h", "127.0.0.1", "-p", str(self.pg.port), "-U",
                                   "nnd", "-d", db, "-At", "-F", "\x1f", "-P", "null=\x1e",
                                   "-v", "ON_ERROR_STOP=1", "-c", sql]).stdout
        if not out.strip("\n"):
            return None

        def conv(v):
            if v == "\x1e":
                return None
            for f in (int, float):
                try:
                    return f(v)
                except ValueError:
                    pass
            return v
        return tuple(conv(v) for v in out.split("\n")[0].split("\x1f"))

    def integrity(self, d):
        """PRAGMA integrity_check of d's SQLite file ("ok" when sound); for PostgreSQL, whose
        crash safety is its own, "ok" when its tables answer."""
        if DB == "pg":
            return "ok" if self.db_row(d, "SELECT count(*) FROM runs") is not None else "broken"
        return self.db_row(d, "PRAGMA integrity_check")[0]

    def start_daemon(self, args=(), token=None, env=None, data_dir=None, quiet=True):
        if data_dir is None:
            data_dir = tempfile.mkdtemp(prefix="data-", dir=self.tmp)
        args = list(args)
        if DB == "pg" and "--db" not in args:
            args += ["--db", self.db_url(data_dir)]
        d = Daemon(data_dir, args=args, token=token, env=env, quiet=quiet)
        self.daemons.append(d)
        return d.start()

    def stop_daemon(self, d, what="nnd exits 0 after SIGTERM", max_seconds=None):
        rc, took = d.stop(signal.SIGTERM)
        ok = rc == 0 and (max_seconds is None or took < max_seconds)
        self.check(ok, what + (" within %gs" % max_seconds if max_seconds else ""),
                   "exit %s after %.1fs; log tail:\n%s" % (rc, took, d.read_log()[-3000:]))
        return rc, took

    def tmpdir(self):
        return tempfile.mkdtemp(prefix="t-", dir=self.tmp)

    def main(self):
        t_start = time.time()
        if self.needs_pg:
            import pgtest
            try:
                pgtest.pg_bin()
            except RuntimeError as e:
                print("# skipped: %s" % e)
                sys.exit(77)  # ctest's SKIP_RETURN_CODE
        self.tmp = tempfile.mkdtemp(prefix="nnd-%s-" % self.name)
        only = sys.argv[1:]
        try:
            for fn in self.tests:
                if only and fn.__name__ not in only:
                    continue
                print("# " + fn.__name__)
                sys.stdout.flush()
                t0 = time.time()
                self.daemons = []
                try:
                    fn()
                except Exception as e:  # noqa: BLE001 — any error is a failed test
                    self.check(False, "%s raised %s" % (fn.__name__, type(e).__name__),
                               "".join(traceback.format_exception(e)).rstrip())
                finally:
                    for d in self.daemons:
                        if d.alive():
                            # a test that forgot to stop its daemon still must exit cleanly
                            self.stop_daemon(d, "nnd (left running by the test) exits 0")
                    self.daemons = []
                print("# %s: %.1fs" % (fn.__name__, time.time() - t0))
        finally:
            _kill_all()
            if self.pg is not None:
                self.pg.stop()
            if self.failed == 0 or not os.environ.get("NND_TEST_KEEP"):
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                print("# kept " + self.tmp)
        print("# %s (%s): %.1fs" % (self.name, DB, time.time() - t_start))
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()
        sys.exit(1 if self.failed else 0)


def sse_reader_thread(daemon, run_id, ndjson=False, query="", headers=None, on_event=None,
                      kind="runs"):
    """Reads a run's (kind "studies": a study's) event stream in a thread; returns (thread,
    result dict with "events", "status", "error", "closed"). on_event(id, type, data) is called
    as events arrive."""
    result = {"events": [], "status": None, "error": None, "closed": False, "headers": None}

    def body():
        h = dict(headers or {})
        if ndjson:
            h["Accept"] = "application/x-ndjson"
        c = daemon.conn(300)
        try:
            c.request("GET", "/v1/%s/%s/events%s" % (kind, run_id, query),
                      headers=daemon.auth_headers(h))
            r = c.getresponse()
            result["status"] = r.status
            result["headers"] = r.headers
            for ev in read_events(r, ndjson):
                result["events"].append(ev + (time.time(),))
                if on_event:
                    on_event(*ev)
            result["closed"] = True
        except Exception as e:  # noqa: BLE001
            result["error"] = repr(e)
        finally:
            c.close()

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, result


__all__ = ["Suite", "Daemon", "Resp", "kc_slice", "parse_csv", "seed_spec", "without_timings",
           "rel_close", "read_events", "sse_reader_thread", "NN_CLI", "SOURCE_DIR", "KC_CSV",
           "SLOW", "DB"]
