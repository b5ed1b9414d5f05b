"""test_workers.py - web instances and workers as separate processes on one
store: `healer serve --no-workers` queues, `healer worker` runs.

What: a deployment here is a SQLite store file and a blob directory in a
temporary directory, shared by processes that each have a data directory
of their own and the same --data-key-file; every test runs again as
TEST_on_postgresql with the store in a new schema of a PostgreSQL server
(a private cluster started once for the file, or HEALER_STORE_URL's).
Five failed logins split over two instances lock the account on both.
A training queued through the API runs in the worker and its model
downloads through the web instance; a cancel through the API stops it in
the worker; SIGTERM of a worker mid-training puts the job back and another
worker finishes it; kill -9 of a worker mid-training: another worker takes
the job over once its lease (2 s here) lapses, and one model comes of it;
two web instances on the store accept each other's sessions and CSRF
tokens; a training that fails in the worker raises the admins'
notification and its alert there; a data directory's server.key of an
earlier version becomes the
store's CSRF key, so the tokens it signed stay valid; a worker whose
data key does not open the store's shared key (another key file, or none
and a key of its own made in its data directory) refuses to start naming
data-key-file, and a worker started first puts that key, so a web
instance with another key is refused; `healer rekey` of
the shared store and blobs re-seals that key, so sessions survive it.

Why this way: only real processes show that nothing of a job's life hides
in one process's memory.
"""

import base64
import hashlib
import hmac
import os
import time

import harness
import sinks
from harness import API, check, expect_json

import deployment
from deployment import ADMIN, LEASE, Deployment

# tests/run.py runs this module in two slices side by side (harness.py,
# HEALER_API_SHARD): its tests on two backends take about 2.5 min under
# the sanitizer on a loaded machine, past the module budget.
SHARDS = 2

# A training that runs a few seconds here, so a worker can be stopped in
# the middle of it and another one still finishes it quickly (600 rounds
# once ended in 0.4 s on a quiet machine, before the kill could land).
MID_PARAMS = {"rounds": 3000, "early_stopping_rounds": 0, "learning_rate": 0.05}


def admin_client(server):
    return server.client().login_as(ADMIN[0])


def mid_job(c):
    ds = harness.upload_dataset(c, harness.simulate(samples=3000, features=20, classes=4, seed=3),
                                name="mid")
    return harness.create_job(c, ds["id"], dict(MID_PARAMS), name="mid")


def models_of_job(c, job_id):
    return [m for m in harness.list_items(c, API + "/models") if m["job_id"] == job_id]


def mid_job_running_in(dep, worker_name):
    """A web instance, its admin client, a worker and a training running
    in it (5 rounds done)."""
    web = dep.serve()
    c = admin_client(web)
    w = dep.worker(worker_name)
    job = mid_job(c)
    harness.wait_running(c, job["id"], timeout=30, min_round=5)
    return c, w, job


def finished_once(c, job_id, restarts, what):
    done = harness.wait_job(c, job_id, timeout=90)
    check(done["state"] == "succeeded" and done["restarts"] == restarts, what, done)
    check(len(models_of_job(c, job_id)) == 1, "nothing trained twice: one model of the job")


@harness.timeout(90)
def test_training_runs_in_the_worker():
    dep = Deployment()
    try:
        web = dep.serve()
        c = admin_client(web)
        health = expect_json(c.get(API + "/health"), 200, "health of a web instance without workers")
        check("runner" not in health["checks"], "no runner here: health does not check one", health)
        ds = harness.upload_dataset(c, harness.simulate(), name="small")
        job = harness.create_job(c, ds["id"], {"rounds": 30})
        time.sleep(1.5)
        check(harness.get_job(c, job["id"])["state"] == "queued",
              "without a worker the job stays queued", harness.get_job(c, job["id"]))
        dep.worker("w1")
        done = harness.wait_job(c, job["id"], timeout=60)
        check(done["state"] == "succeeded", "the worker ran the training", done)
        r = c.get(API + "/models/%d/download" % done["model_id"])
        check(r.status == 200 and len(r.body) > 100, "the model downloads through the web instance", r)
    finally:
        dep.close()


@harness.timeout(90)
def test_cancel_through_the_api_stops_the_worker():
    dep = Deployment()
    try:
        web = dep.serve()
        c = admin_client(web)
        dep.worker("w1")
        job = harness.start_long_job(c)
        t0 = time.monotonic()
        done = harness.cancel_job(c, job["id"], timeout=15)
        check(done["state"] == "cancelled", "the worker stopped the cancelled job", done)
        print("    cancelled in the worker %.2f s after the request" % (time.monotonic() - t0))
    finally:
        dep.close()


@harness.timeout(120)
def test_sigterm_puts_the_job_back_for_another_worker():
    dep = Deployment()
    try:
        c, w1, job = mid_job_running_in(dep, "w1")
        w1.stop()
        back = harness.get_job(c, job["id"])
        check(back["state"] == "queued", "a stopped worker puts its job back in the queue", back)
        dep.worker("w2")
        finished_once(c, job["id"], 0, "the second worker finished it (a graceful hand-over)")
    finally:
        dep.close()


@harness.timeout(120)
def test_kill9_worker_job_taken_over_after_its_lease():
    dep = Deployment()
    try:
        c, w1, job = mid_job_running_in(dep, "w1")
        dep.worker("w2")  # idle: claims nothing while w1's lease holds
        w1.proc.kill()
        w1.proc.wait(10)
        t0 = time.monotonic()
        harness.wait_job(c, job["id"], ("running",), timeout=30,
                         pred=lambda j: j["restarts"] == 1)
        taken = time.monotonic() - t0
        finished_once(c, job["id"], 1, "the other worker took the job over once and finished it")
        print("    taken over %.1f s after the kill (lease %s s)" % (taken, LEASE))
    finally:
        dep.close()


@harness.timeout(60)
def test_a_failed_job_in_the_worker_is_told():
    dep = Deployment()
    hook = sinks.HookSink()
    try:
        alerts = ["--webhook-url", hook.url]  # every process: any may send
        web = dep.serve(args=alerts)
        c = admin_client(web)
        dep.worker("w1", env={"HEALER_FAULT_INJECT": "attempts=fail"}, args=alerts)
        ds = harness.upload_dataset(c, harness.simulate(), name="doomed")
        job = harness.wait_job(c, harness.create_job(c, ds["id"], {"rounds": 5})["id"])
        check(job["state"] == "failed", "every attempt failed in the worker", job)
        # The worker records the job's end, then raises the notification.
        harness.wait_until(lambda: [n for n in harness.list_items(c, API + "/notifications")
                                    if n["kind"] == "training_failed"], 10,
                           "the admins' notification, seen through the web instance")
        posts = hook.wait_posts(1, 10.0)
        check(posts and sinks.json_of(posts[0])["event"] == "training_failed",
              "the failure's alert went out", posts)
        time.sleep(1.0)
        check(len(hook.requests) == 1, "once, whichever process sent it", hook.requests)
    finally:
        dep.close()
        hook.close()


@harness.timeout(60)
def test_two_web_instances_share_sessions_and_csrf():
    dep = Deployment()
    try:
        a, b = dep.serve("web-a"), dep.serve("web-b")
        ca = admin_client(a)
        cb = b.client()
        cb.cookie, cb.csrf = ca.cookie, ca.csrf
        me = expect_json(cb.get(API + "/auth/me"), 200, "a session of instance a on instance b")
        check(me["user"]["username"] == ADMIN[0], "the same user", me)
        expect_json(cb.put_json(API + "/auth/me/preferences", {"preferences": {"theme": "dark"}}), 200,
                    "a CSRF token of instance a on instance b")
        r = cb.put_json(API + "/auth/me/preferences", {"preferences": {"theme": "dark"}}, csrf="A" * 43)
        check(r.status == 403, "a wrong token is still refused", r)
    finally:
        dep.close()


@harness.timeout(90)
def test_rekey_reseals_the_shared_csrf_key():
    dep = Deployment()
    try:
        web = dep.serve()
        c = admin_client(web)
        ds = harness.upload_dataset(c, harness.simulate(), name="kept")
        web.stop()
        new_key = os.path.join(dep.root, "new.key")
        check(harness.run_healer(["key", "new", "--out", new_key]).returncode == 0, "key new")
        p = harness.run_healer(["rekey", "--data-dir", web.data_dir, "--store", dep.store,
                                "--blobs", dep.blobs, "--data-key-file", dep.key,
                                "--new-key-file", new_key], timeout=60)
        check(p.returncode == 0, "rekey of the shared store and blobs: %s" % p.stderr)
        dep.key = new_key
        web.args = ["--no-workers"] + dep.shared()
        web.restart()  # refused if the CSRF key were still under the old key
        expect_json(c.put_json(API + "/auth/me/preferences", {"preferences": {"theme": "dark"}}),
                    200, "the session and CSRF token from before the rotation")
        r = c.get(API + "/datasets/%d/download" % ds["id"])
        check(r.status == 200, "the shared blobs were re-encrypted", r)
    finally:
        dep.close()


def another_key(dep):
    """A data key that is not the deployment's."""
    other = os.path.join(dep.root, "other.key")
    check(harness.run_healer(["key", "new", "--out", other]).returncode == 0, "key new")
    return other


@harness.timeout(60)
def test_worker_with_another_data_key_refuses_to_start():
    dep = Deployment()
    try:
        dep.serve()  # puts the shared CSRF key, sealed under dep.key
        other = another_key(dep)
        for name, args in (("wrong-key", ["--data-key-file", other]), ("own-key", [])):
            cmd = ["worker", "--data-dir", os.path.join(dep.root, name), "--store", dep.store,
                   "--blobs", dep.blobs] + args
            p = harness.run_healer(cmd, timeout=30)
            check(p.returncode != 0, "%s: a worker without the deployment's data key refuses "
                  "to start" % name, p.stdout + p.stderr)
            check("data-key-file" in p.stderr and "running up to" not in p.stdout,
                  "%s: it says why, naming data-key-file, before claiming anything" % name,
                  p.stderr)
        # The key the refused start made in its own directory went with it:
        # started again with the deployment's key file, the worker runs
        # (the directory stayed bound to its own key before).
        own = os.path.join(dep.root, "own-key")
        check(not os.path.exists(os.path.join(own, "data.key")),
              "the refused worker left no key of its own", os.listdir(own))
        dep.worker("own-key").stop()
        # A web instance whose data-key-file was forgotten: the same.
        web = harness.Server(users=(), name="web-own-key",
                             args=["--no-workers", "--store", dep.store, "--blobs", dep.blobs])
        try:
            web.start(wait=False)
            rc = web.proc.wait(30)
            check(rc != 0 and "data-key-file" in web.stderr_text() + web.stdout_text(),
                  "a web instance without the deployment's key is refused", rc)
            check(not os.path.exists(os.path.join(web.data_dir, "data.key")),
                  "the refused web instance left no key of its own", os.listdir(web.data_dir))
            web.args += ["--data-key-file", dep.key]
            web.start()
        finally:
            web.close()
    finally:
        dep.close()


@harness.timeout(60)
def test_first_worker_puts_the_key_a_web_instance_then_checks():
    dep = Deployment()
    try:
        dep.worker("first")  # no web instance yet: the worker puts the key
        other = another_key(dep)
        s = harness.Server(users=(), name="web-wrong",
                           args=["--no-workers", "--store", dep.store, "--blobs", dep.blobs,
                                 "--data-key-file", other])
        try:
            s.start(wait=False)
            rc = s.proc.wait(30)
            text = s.stderr_text() + s.stdout_text()
        finally:
            s.close()
        check(rc != 0 and "data-key-file" in text,
              "a web instance with another key than the first worker's is refused", text)
    finally:
        dep.close()


def expected_csrf(key, session_token):
    """auth.c's CSRF token: HMAC-SHA512-256 under the key of the session
    token's BLAKE2b-256 hash (hex), base64url without padding."""
    token_hash = hashlib.blake2b(session_token.encode(), digest_size=32).hexdigest()
    mac = hmac.new(key, token_hash.encode(), hashlib.sha512).digest()[:32]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


@harness.timeout(60)
def test_old_server_key_moves_into_the_store():
    s = harness.Server(users=(ADMIN + (True,),))
    old = os.urandom(32)
    path = os.path.join(s.data_dir, "server.key")
    with open(path, "wb") as f:
        f.write(old)
    os.chmod(path, 0o600)
    try:
        s.start()
        check(not os.path.exists(path), "server.key is moved into the store")
        c = admin_client(s)
        check(c.csrf == expected_csrf(old, c.cookie),
              "CSRF tokens are made under the old key: those issued before stay valid")
        s.stop()
        s.restart()
        expect_json(c.put_json(API + "/auth/me/preferences", {"preferences": {"theme": "dark"}}), 200,
                    "after a restart, from the store")
    finally:
        s.close()


@harness.timeout(60)
def test_lockout_counts_across_instances():
    dep = Deployment()
    try:
        a, b = dep.serve("web-a"), dep.serve("web-b")
        admin = admin_client(a)
        expect_json(admin.post_json(API + "/users", {"username": "dana", "password": "dana-pass-1234",
                                                     "role": "user"}), 201, "a user")
        for i, web in enumerate((a, b, a, b, a)):
            r = web.client().post_json(API + "/auth/login", {"username": "dana",
                                                             "password": "wrong-%d-password" % i})
            check(r.status == 401, "wrong password #%d refused" % (i + 1), r)
        for web in (b, a):
            c = web.client()
            r = c.post_json(API + "/auth/login", {"username": "dana", "password": "dana-pass-1234"})
            check(r.status == 401 and c.cookie is None,
                  "five failures split over two instances lock the account on both (%s)" % web.name,
                  r)
        users = harness.list_items(admin_client(b), API + "/users")
        dana = [u for u in users if u["username"] == "dana"]
        check(dana and dana[0]["locked"] is True, "the other instance's admin sees it locked", dana)
    finally:
        dep.close()


# Every test of a deployment also runs with the store in PostgreSQL (a
# private cluster started once for the file, deployment.pg_server): the
# same processes, the store a real server shared over connections.
NOT_ON_POSTGRESQL = ("test_old_server_key_moves_into_the_store",)  # no Deployment: its own data dir


def on_postgresql(fn):
    def run():
        deployment.BACKEND[0] = "postgresql"
        try:
            fn()
        finally:
            deployment.BACKEND[0] = "sqlite"
    run.__name__ = fn.__name__ + "_on_postgresql"
    run.__module__ = fn.__module__
    run.timeout = getattr(fn, "timeout", harness.TEST_TIMEOUT)
    return run


for _name, _fn in list(globals().items()):
    if (_name.startswith("test_") and callable(_fn) and _fn.__module__ == __name__
            and _name not in NOT_ON_POSTGRESQL):
        globals()[_name + "_on_postgresql"] = on_postgresql(_fn)

if __name__ == "__main__":
    harness.main(globals())
