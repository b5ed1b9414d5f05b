"""test_scaleout.py - the scale-out deployment of issue 13, small, and its
faults: a PostgreSQL cluster (pgcluster.py), two web instances
(`healer serve --no-workers`) and workers (`healer worker`) on it, with
store and blobs in PostgreSQL and one data key, nginx in front with
deploy/nginx's configuration (tests/api/nginx_front.py).

What: a login through nginx is valid on each instance reached directly,
its CSRF token too (and a wrong one refused); a file uploaded through one
instance downloads through the other and through nginx; PostgreSQL
stopped for a few seconds under load: requests answer 503
store_unavailable meanwhile (with Retry-After; never another error, never
a hang) and the platform answers again once the cluster is back, without
a manual step (the session still valid, every request of the next 20
answered, a file stored and read); kill -9 of a web instance under
load: nginx sends the requests to the other one, none fails, no session
is lost; kill -9 of the worker running a training, KILLS times in a row
(3 here, 20 in `make bench`: HEALER_SCALEOUT_KILLS): the next worker
takes the job over once its lease lapses (2 s here), the job trains
once (one model, one restart), and the models of the earlier rounds are
all still there.

Why this way: the faults of a deployment are process faults, so the test
runs real processes (the PostgreSQL server, nginx, healer) and kills
them; the deployment is built once for the module and the tests run in
file order (the later ones kill processes the earlier ones need; the
database restart comes last, so a fault it leaves behind fails it alone). Helpers
of test_workers.py (its deployment of web instances and workers on one
store, its worker process, its mid-length training) are reused with the
store in PostgreSQL.
"""

import os
import threading
import time

import harness
import nginx_front
import pgcluster
import test_workers
from harness import API, check, expect_json

KILLS = int(os.environ.get("HEALER_SCALEOUT_KILLS", "3"))
# A training that lasts a few seconds on one thread even on a fast
# PostgreSQL deployment (test_workers' MID_PARAMS can end before the kill).
KILL_PARAMS = {"rounds": 4000, "early_stopping_rounds": 0, "learning_rate": 0.05}
OUTAGE_SECONDS = 3  # the cluster stays stopped this long
RECOVERY_SECONDS = 45  # the longest the platform may take to answer again
REQUEST_TIMEOUT = 15  # a request under faults answers within this: no hang
ADMIN = test_workers.ADMIN


class PgDeployment(test_workers.Deployment):
    """test_workers' deployment with the store and the blobs in PostgreSQL,
    its web instances behind nginx on 127.0.0.1 as docs/deploy.md runs
    them: a trusted proxy, no per-address connection limit."""

    def __init__(self, cluster):  # noqa: super().__init__ would make a SQLite store
        self.root = os.path.join(harness.tmp_root(), "scaleout-%d" % time.monotonic_ns())
        os.makedirs(self.root, mode=0o700)
        self.key = os.path.join(self.root, "data.key")
        p = harness.run_healer(["key", "new", "--out", self.key])
        check(p.returncode == 0, "healer key new failed: %s" % p.stderr)
        self.store, self.blobs = cluster.url, "postgresql"
        self.workers, self.servers = [], []
        p = harness.run_healer(["user", "add", ADMIN[0], "--admin", "--store", self.store],
                               input=ADMIN[1] + "\n")
        check(p.returncode == 0, "healer user add --store postgresql://... failed: %s" % p.stderr)

    def serve(self, name="web"):
        s = harness.Server(users=(), name=name,
                           args=["--no-workers", "--trusted-proxy", "127.0.0.1",
                                 "--max-connections-per-address", "0"] + self.shared())
        s.users[ADMIN[0]] = (ADMIN[1], True)
        s.start()
        self.servers.append(s)
        return s


class Platform:
    """The module's deployment: cluster, two instances, nginx, a worker."""

    def __init__(self):
        self.cluster = self.dep = self.nginx = None
        self.cluster = pgcluster.Cluster("healer-scaleout-pg-")
        self.cluster.start()
        self.dep = PgDeployment(self.cluster)
        self.web_a, self.web_b = self.dep.serve("web-a"), self.dep.serve("web-b")
        certs = os.path.join(self.dep.root, "cert")
        p = harness.run_healer(["cert", "--out", certs])
        check(p.returncode == 0, "healer cert failed: %s" % p.stderr)
        cert = os.path.join(certs, "cert.pem")
        port = harness.free_port()
        self.nginx = nginx_front.Nginx([self.web_a.port, self.web_b.port], port,
                                       harness.free_port(), cert, os.path.join(certs, "key.pem"))
        self.front = nginx_front.Front(self.web_a, port, cert)
        harness.wait_until(lambda: self.status("GET", API + "/health")[0] == 200, 20,
                           "nginx to answer for the instances")
        self.worker = self.dep.worker("worker-0")
        self.client = harness.Client(self.front).login_as(ADMIN[0])

    def status(self, method, path, cookie=None, timeout=REQUEST_TIMEOUT):
        """(status, error code, Retry-After, seconds) of one request through
        nginx, or (None, exception text, None, seconds) when it failed."""
        t0 = time.monotonic()
        conn = self.front.connection(timeout=timeout)
        headers = {"Cookie": "healer_session=" + cookie} if cookie else {}
        try:
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            r = harness.Response(method, path, resp.status, resp.headers, resp.read(), 0)
            return r.status, r.error_code, r.header("Retry-After"), time.monotonic() - t0
        except (OSError, harness.http.client.HTTPException) as e:
            return None, "%s: %s" % (type(e).__name__, e), None, time.monotonic() - t0
        finally:
            conn.close()

    def close(self):
        for part in (self.nginx and (lambda: self.nginx.__exit__(None, None, None)),
                     self.dep and self.dep.close, self.cluster and self.cluster.remove):
            if part:
                part()


PLATFORM = []


def platform():
    """The module's deployment, built by the first test that needs it."""
    if not PLATFORM:
        p = Platform.__new__(Platform)
        try:
            p.__init__()
        except BaseException:
            p.close()
            raise
        PLATFORM.append(p)
    return PLATFORM[0]


class Load:
    """A thread that asks for the session's user (a store read) through
    nginx, one request after the other, until stopped; keeps every
    outcome with its time."""

    def __init__(self, p, path=API + "/auth/me"):
        self.p, self.path, self.results = p, path, []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stopping.is_set():
            r = self.p.status("GET", self.path, cookie=self.p.client.cookie)
            self.results.append((time.monotonic(),) + r)
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        self.thread.join(REQUEST_TIMEOUT + 5)
        check(not self.thread.is_alive(), "a request through nginx hung")
        return self.results


def summary(results):
    """Outcomes counted: statuses, and failed requests by their text."""
    counts = {}
    for r in results:
        key = r[1] if r[1] is not None else r[2]
        counts[key] = counts.get(key, 0) + 1
    return counts


@harness.timeout(120)
def test_login_through_nginx_is_valid_on_both_instances():
    p = platform()
    for s in (p.web_a, p.web_b):
        c = s.client()
        c.cookie, c.csrf = p.client.cookie, p.client.csrf
        me = expect_json(c.get(API + "/auth/me"), 200, "the session of a login through nginx on %s" % s.name)
        check(me["user"]["username"] == ADMIN[0], "the same user", me)
        expect_json(c.put_json(API + "/auth/me/preferences", {"preferences": {"theme": "dark"}}), 200,
                    "the CSRF token of a login through nginx on %s" % s.name)
        r = c.put_json(API + "/auth/me/preferences", {"preferences": {"theme": "dark"}}, csrf="A" * 43)
        check(r.status == 403, "a wrong CSRF token is refused on %s" % s.name, r)


@harness.timeout(60)
def test_uploads_and_downloads_through_either_instance():
    p = platform()
    data = harness.simulate(samples=300, features=6, classes=3, seed=11)
    for up, downs in ((p.web_a, (p.web_b, p.front)), (p.front, (p.web_a, p.web_b))):
        c = harness.Client(up)
        c.cookie, c.csrf = p.client.cookie, p.client.csrf
        ds = harness.upload_dataset(c, data, name="either")
        for down in downs:
            d = harness.Client(down)
            d.cookie = p.client.cookie
            r = d.get(API + "/datasets/%d/download" % ds["id"])
            check(r.status == 200 and r.body == data,
                  "dataset %d uploaded through %s downloads whole through %s" % (ds["id"], up.name, down.name), r)


@harness.timeout(90)
def test_kill9_of_a_web_instance_under_load_fails_over():
    p = platform()
    load = Load(p)
    time.sleep(1)
    p.web_b.kill()
    time.sleep(3)
    results = load.stop()
    counts = summary(results)
    print("    %d requests through nginx around the kill: %s" % (len(results), counts))
    check(len(results) >= 20, "the load kept going", counts)
    check(set(counts) == {200}, "nginx sends every request to the instance left: all answered 200", counts)
    expect_json(p.client.get(API + "/auth/me"), 200, "no session lost: the same cookie works")


@harness.timeout(60 + 20 * KILLS)
def test_kill9_of_the_training_worker_hands_the_job_over():
    p = platform()
    c = p.client
    ds = harness.upload_dataset(c, harness.simulate(samples=3000, features=20, classes=4, seed=3),
                                name="mid")
    models = []
    current = p.worker
    for i in range(KILLS):
        job = harness.create_job(c, ds["id"], dict(KILL_PARAMS), name="kill-%d" % i)
        harness.wait_running(c, job["id"], timeout=60, min_round=5)
        nxt = p.dep.worker("worker-%d" % (i + 1))  # idle while the lease holds
        current.proc.kill()
        current.proc.wait(10)
        done = harness.wait_job(c, job["id"], timeout=120)
        check(done["state"] == "succeeded" and done["restarts"] == 1,
              "round %d: the next worker took the job over once and finished it" % i, done)
        own = test_workers.models_of_job(c, job["id"])
        check(len(own) == 1, "round %d: nothing trained twice: one model of the job" % i, own)
        models.append(own[0]["id"])
        for m in models:
            expect_json(c.get(API + "/models/%d" % m), 200, "round %d: the model %d of an earlier round" % (i, m))
        current = nxt
    print("    %d kills: %d jobs taken over, one model each" % (KILLS, len(models)))


@harness.timeout(120)
def test_database_restart_under_load_answers_503_then_recovers():
    p = platform()
    load = Load(p)
    time.sleep(1)
    p.cluster.stop()
    time.sleep(OUTAGE_SECONDS)
    p.cluster.start()
    back = time.monotonic()
    harness.wait_until(lambda: load.results and load.results[-1][1] == 200, RECOVERY_SECONDS,
                       "the platform to answer again after PostgreSQL came back")
    recovered = time.monotonic() - back
    time.sleep(1)
    results = load.stop()
    counts = summary(results)
    print("    %d requests: %s; answering again %.1f s after the restart" % (len(results), counts, recovered))
    bad = [r for r in results if r[1] not in (200, 503)]
    check(not bad, "only 200 or 503 under a database restart, never another status or a failed request",
          bad[:5])
    unavailable = [r for r in results if r[1] == 503]
    check(unavailable, "requests during the outage answer 503", counts)
    wrong = [r for r in unavailable if r[2] != "store_unavailable" or r[3] != "5"]
    check(not wrong, "a 503 of the outage is store_unavailable with Retry-After: 5", wrong[:5])
    slow = [r for r in results if r[4] > REQUEST_TIMEOUT - 1]
    check(not slow, "no request hangs during the outage", slow[:5])
    expect_json(p.client.get(API + "/auth/me"), 200, "the session survived the database restart")
    after = [p.status("GET", API + "/auth/me", cookie=p.client.cookie)[0] for _ in range(20)]
    check(after == [200] * 20, "once back, every request is answered: no connection of the pools "
          "left broken by the restart", after)
    data = harness.simulate(samples=200, features=5, classes=3, seed=12)
    ds = harness.upload_dataset(p.client, data, name="after-restart")
    r = p.client.get(API + "/datasets/%d/download" % ds["id"])
    check(r.status == 200 and r.body == data, "a file stored after the restart downloads whole", r)


def close_platform():
    while PLATFORM:
        PLATFORM.pop().close()


if __name__ == "__main__":
    import atexit

    atexit.register(close_platform)
    harness.main(globals())
