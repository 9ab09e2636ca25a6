"""pgtest.py — a throwaway PostgreSQL cluster for the multi-node tests (standard library only).

Cluster() runs initdb in a new temporary directory (as the `postgres` system user when the
tests run as root: PostgreSQL refuses to run as root), starts the server with pg_ctl on a free
port of 127.0.0.1 (and a Unix socket in the same directory), creates the database `nnd` owned by
the role `nnd` (trust authentication, loopback only), and removes everything at stop(). fsync is
off: the tests restart the server (`pg_ctl restart -m immediate`), they do not crash the machine.

Environment: NND_PG_BIN (the directory of initdb and pg_ctl; default: the newest
/usr/lib/postgresql/*/bin)."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def pg_bin():
    b = os.environ.get("NND_PG_BIN")
    if b:
        return b
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL is not installed (scripts/deps.sh installs postgresql-15)")
    return os.path.dirname(found[-1])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    def __init__(self):
        self.bin = pg_bin()
        self.dir = tempfile.mkdtemp(prefix="nnd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "pg.log")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            shutil.chown(self.dir, user="postgres")
            os.chmod(self.dir, 0o755)
        self._run(["initdb", "-D", self.data, "-U", "nnd", "--auth=trust", "-E", "UTF8",
                   "--no-sync", "--no-instructions"])
        self.start()
        self._run(["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "nnd", "nnd"])

    def _run(self, argv, check=True, timeout=120):
        cmd = [os.path.join(self.bin, argv[0])] + argv[1:]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (argv[0], r.stdout, r.stderr))
        return r

    def _opts(self):
        return ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 "
                "-c shared_buffers=32MB" % (self.port, self.dir))

    def start(self):
        self._run(["pg_ctl", "-D", self.data, "-l", self.log, "-o", self._opts(), "-w", "start"])

    def restart(self, mode="immediate"):
        """Restarts the server (`-m immediate`: every connection cut, no clean shutdown)."""
        self._run(["pg_ctl", "-D", self.data, "-l", self.log, "-o", self._opts(), "-m", mode,
                   "-w", "restart"])

    def stop_server(self, mode="fast"):
        self._run(["pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def url(self):
        return "postgres://nnd@127.0.0.1:%d/nnd" % self.port

    def psql(self, sql):
        """Runs SQL with psql; returns its output (tuples only, unaligned)."""
        r = self._run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "nnd", "-d", "nnd",
                       "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        return r.stdout.strip()

    def stop(self):
        self.stop_server("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(cond, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()
