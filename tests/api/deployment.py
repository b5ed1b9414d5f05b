"""deployment.py - several processes of one deployment for the API suites
and benchmarks: `healer serve --no-workers` web instances and `healer
worker` processes sharing a store, a blob directory and a data key.

What: Deployment makes the shared parts in a temporary directory (a key
from `healer key new`, the store - sqlite:ROOT/healer.db, or, when
BACKEND[0] is "postgresql", a new schema of the PostgreSQL server at
HEALER_STORE_URL or else of a private cluster (pgcluster.py) started
once per test process and removed at its exit -, blobs in
ROOT/blobs)
and an administrator with `healer user add --store`; serve() starts a web
instance (a harness.Server with a data directory of its own), worker()
a worker with its own data directory. close() kills them all.

Why here: tests/api/test_workers.py and bench/job_start_latency.py start
the same processes the same way.
"""

import atexit
import os
import signal
import subprocess
import time

import harness
import pgcluster
from harness import check, fail

LEASE = "2"  # seconds: a kill -9 test waits for a lease to lapse
ADMIN = ("admin", "admin-pass-1234")


# The store of the deployments made now: "sqlite" or "postgresql" (a test
# suite runs its tests on each, see test_workers.on_postgresql).
BACKEND = ["sqlite"]
_CLUSTER = []


def pg_server():
    """HEALER_STORE_URL, or the URL of a private cluster (pgcluster.py),
    started on first use and removed when the process exits."""
    url = os.environ.get("HEALER_STORE_URL")
    if url:
        return url
    if not _CLUSTER:
        cluster = pgcluster.Cluster("healer-deploy-pg.")
        atexit.register(cluster.remove)
        cluster.start()  # kept only once started: a later call tries again
        _CLUSTER.append(cluster)
    return _CLUSTER[0].url


def fresh_store(root):
    """An empty store: sqlite:ROOT/healer.db, or (BACKEND "postgresql") a
    new schema of pg_server() (made with psql), so that every deployment
    of a run starts empty."""
    if BACKEND[0] != "postgresql":
        return "sqlite:%s/healer.db" % root
    base = pg_server()
    schema = "d_%d_%d" % (os.getpid(), time.monotonic_ns())
    p = subprocess.run(["psql", base, "-qc", "CREATE SCHEMA %s" % schema], capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 0, "psql: cannot make a schema: %s" % p.stderr)
    return "%s%coptions=-csearch_path%%3D%s" % (base, "&" if "?" in base else "?", schema)


class Deployment:
    """A store, blobs and a data key shared by the processes of a test."""

    def __init__(self):
        self.root = os.path.join(harness.tmp_root(), "deploy-%d" % time.monotonic_ns())
        os.makedirs(self.root, mode=0o700)
        self.key = os.path.join(self.root, "data.key")
        p = harness.run_healer(["key", "new", "--out", self.key])
        check(p.returncode == 0, "healer key new failed: %s" % p.stderr)
        self.store = fresh_store(self.root)
        self.blobs = "file:%s/blobs" % self.root
        self.workers = []
        self.servers = []
        p = harness.run_healer(["user", "add", ADMIN[0], "--admin", "--store", self.store],
                               input=ADMIN[1] + "\n")
        check(p.returncode == 0, "healer user add --store failed: %s" % p.stderr)

    def shared(self):
        return ["--store", self.store, "--blobs", self.blobs, "--data-key-file", self.key]

    def serve(self, name="web", args=()):
        s = harness.Server(users=(), name=name, args=["--no-workers"] + self.shared() + list(args))
        s.users[ADMIN[0]] = (ADMIN[1], True)
        s.start()
        self.servers.append(s)
        return s

    def worker(self, name, lease=LEASE, env=None, args=()):
        w = Worker(self, name, lease, env, args)
        self.workers.append(w)
        return w

    def close(self):
        for w in self.workers:
            w.kill()
        for s in self.servers:
            s.close()


class Worker:
    """A `healer worker` process with its own data directory."""

    def __init__(self, dep, name, lease, env=None, args=()):
        self.name = name
        self.data_dir = os.path.join(dep.root, name)
        self.out = os.path.join(dep.root, name + ".out")
        cmd = [harness.HEALER, "worker", "--data-dir", self.data_dir, "--threads", "1",
               "--train-threads", "1", "--job-lease-seconds", lease, *harness.JOB_PRIORITY] + dep.shared() + list(args)
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         env=dict(os.environ, **(env or {})))
        harness.wait_until(lambda: "running up to" in self.log() or self.proc.poll() is not None,
                           15, "%s to start" % name)
        check(self.proc.poll() is None, "%s exited at start:\n%s" % (name, self.log()))

    def log(self):
        with open(self.out, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=20):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("%s did not stop within %d s of SIGTERM:\n%s" % (self.name, timeout, self.log()))
        check(rc == 0, "%s exited %d after SIGTERM:\n%s" % (self.name, rc, self.log()))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
