"""test_durable_writes.py - slow durable writes do not hold up other requests.

What: with the commits of stored files made slow on purpose
(HEALER_FAULT_COMMIT_DELAY, as on a disk whose fsyncs stall: 1 s per
commit, two commits per stored diagnosis), twice as many stored diagnoses
as there are HTTP threads are kept in flight, and meanwhile health, the
session's user, a list and a record answer within 0.6 s (90 % of them);
every stored
diagnosis still answers 201 and reads back. The same for uploads, whose
file is committed before the handler runs. A client that goes away while
its write runs leaves the write done and the server well (the sanitizer
build's exit at the end finds no leak). SIGTERM with stored diagnoses in
flight finishes them (each answered 201, readable after a restart) and
exits within seconds. With one write thread and a queue of one, a third
write is answered 503 busy with Retry-After at once (and /metrics counts
it), and none is dropped. Over HTTPS the same requests park and resume.
The writes start 30 ms apart, so that without write threads each of the
first four blocks an HTTP thread of its own (a thread busy in a handler
accepts no connection): the suite fails on the code before them.

Why: an answer must not wait on the fsyncs of other requests (issue 13).
Before the write threads, the handler of a state-changing request ran on
one of the 4 HTTP threads, so 4 stalled fsyncs stalled every connection
(docs/benchmarks.md, "Web API tails").

Run: python3 tests/api/test_durable_writes.py [test_name...]
"""
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_error, expect_json  # noqa: E402

COMMIT_MS = 1000
DELAYS = "result=%d,input=%d,upload=%d" % (COMMIT_MS, COMMIT_MS, COMMIT_MS)
SERVER = {"env": {"HEALER_FAULT_COMMIT_DELAY": DELAYS}}
HTTP_THREADS = 4       # healer serve's default http-threads
WRITES = 2 * HTTP_THREADS
# The writes start this far apart: a connection thread that is handling
# a request accepts no connection, so without write threads each of the
# first HTTP_THREADS writes blocks a thread of its own (sent at once, one
# thread may take them all and leave the others free).
STAGGER = 0.03
# What "not held up" means here: 90 % of the probes answer in well under
# one commit's delay (a request that waits on a commit waits it all), so a
# slow moment of a loaded machine (the suites run side by side, this one
# under the sanitizer too) does not fail the suite.
FAST = 0.6 * COMMIT_MS / 1000
DATA = dict(samples=300, features=6, classes=3, seed=13)
_MODELS = {}


def model_for(c):
    """alice's small model on c's server (trained once per server start)."""
    key = (id(c.server), c.server.starts)
    if key not in _MODELS:
        owner = c.new().login_as("alice")
        _, _, model = harness.train_model(owner, harness.simulate(**DATA), {"rounds": 10})
        _MODELS[key] = model
    return _MODELS[key]


def one_row():
    return harness.rows_as_json(harness.simulate(**DATA), count=1)


def start_all(fns, stagger=0.0):
    """Runs each fn in a thread of its own, started `stagger` seconds
    apart; returns (threads, results, errors), filled in as they end."""
    results, errors = [None] * len(fns), [None] * len(fns)

    def body(i):
        try:
            results[i] = fns[i]()
        except BaseException as e:  # reported by the caller
            errors[i] = e

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(len(fns))]
    for t in threads:
        t.start()
        time.sleep(stagger)
    return threads, results, errors


def join_all(threads, errors, timeout=60):
    for t in threads:
        t.join(timeout)
        check(not t.is_alive(), "a client thread did not finish within %s s" % timeout)
    for i, e in enumerate(errors):
        if e is not None:
            harness.fail("client %d failed: %s: %s" % (i, type(e).__name__, e))


def probe_while(c, paths, threads):
    """GETs each path in turn until every thread has ended; returns
    [(path, status, seconds)]."""
    samples = []
    while any(t.is_alive() for t in threads):
        for p in paths:
            r = c.get(p)
            samples.append((p, r.status, r.elapsed))
        time.sleep(0.05)
    return samples


def check_fast(samples, rounds, paths):
    if samples:
        worst = max(samples, key=lambda s: s[2])
        print("    %d probes while the writes ran, the slowest %.3f s (%s)" % (len(samples), worst[2], worst[0]))
    bad = [s for s in samples if s[1] != 200]
    check(not bad, "every probe answers 200", bad)
    slow = [(p, round(t, 3)) for p, _, t in samples if t >= FAST]
    check(len(slow) <= len(samples) // 10,
          "%d of %d probes took %.1f s or more while the slow writes ran (the slowest %.3f s)"
          % (len(slow), len(samples), FAST, max((t for _, _, t in samples), default=0.0)), slow)
    check(len(samples) >= rounds * len(paths),
          "the probes ran %d times while the writes were in flight, expected %d at least"
          % (len(samples), rounds * len(paths)), samples)


def stored_diagnosis(c, model_id, rows, name):
    def go():
        return c.post_json(API + "/diagnoses", {"model_id": model_id, "rows": rows, "name": name})
    return go


@harness.timeout(120)
def test_stored_diagnoses_leave_other_requests_fast(c):
    c.login_as("alice")
    model = model_for(c)
    rows = one_row()
    threads, results, errors = start_all(
        [stored_diagnosis(c.new().login_as("alice"), model["id"], rows, "slow-%d" % i) for i in range(WRITES)], STAGGER)
    paths = [API + "/health", API + "/auth/me", API + "/diagnoses?limit=5", API + "/models/%d" % model["id"]]
    samples = probe_while(c, paths, threads)
    join_all(threads, errors)
    check_fast(samples, 2, paths)
    for r in results:
        d = expect_json(r, 201, "a slow stored diagnosis")
        back = expect_json(c.get(API + "/diagnoses/%d" % d["id"]), 200, "GET the stored diagnosis")
        check(back["rows"] == 1 and back["name"] == d["name"], "the stored diagnosis reads back", back)


@harness.timeout(120)
def test_uploads_leave_other_requests_fast(c):
    c.login_as("bob")
    data = harness.simulate(**DATA)

    def upload(i):
        cl = c.new().login_as("bob")
        return lambda: cl.upload(API + "/datasets", {"name": "slow-%d" % i}, {"file": ("d%d.csv" % i, data)})

    threads, results, errors = start_all([upload(i) for i in range(WRITES)], STAGGER)
    paths = [API + "/health", API + "/auth/me", API + "/datasets?limit=5"]
    samples = probe_while(c, paths, threads)
    join_all(threads, errors)
    check_fast(samples, 2, paths)
    for r in results:
        ds = expect_json(r, 201, "a slow upload")
        got = c.get(API + "/datasets/%d/download" % ds["id"])
        check(got.status == 200 and got.body == data, "the uploaded file reads back whole", got)


def send_and_vanish(c, path, body):
    """Sends a JSON POST over a plain socket and closes it without reading
    the answer."""
    body = body.encode()
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nCookie: healer_session=%s\r\nX-CSRF-Token: %s\r\n\r\n"
            % (path, len(body), c.cookie, c.csrf))
    s = socket.create_connection(("127.0.0.1", c.server.require_port()), timeout=5)
    try:
        s.sendall(head.encode("latin-1") + body)
        time.sleep(0.1)  # read by the server, its write under way
    finally:
        s.close()


@harness.timeout(90)
def test_client_gone_while_its_write_runs(c):
    import json
    c.login_as("alice")
    model = model_for(c)
    name = harness.unique("gone-")
    body = json.dumps({"model_id": model["id"], "rows": one_row(), "name": name})
    for _ in range(3):
        send_and_vanish(c, API + "/diagnoses", body)

    def stored():
        items = harness.list_items(c, API + "/diagnoses")
        return [d for d in items if d["name"] == name]
    done = harness.wait_until(lambda: len(stored()) == 3 and stored(), 15,
                              "the three diagnoses of vanished clients to be stored")
    for d in done:
        expect_json(c.get(API + "/diagnoses/%d" % d["id"]), 200, "a diagnosis whose client left")
    expect_json(c.get(API + "/health"), 200, "health after the clients left")


@harness.timeout(120)
def test_sigterm_finishes_the_writes_in_flight(server):
    c = server.client().login_as("alice")
    model = model_for(c)
    rows = one_row()
    n = WRITES - 2
    threads, results, errors = start_all(
        [stored_diagnosis(c.new().login_as("alice"), model["id"], rows, "at-stop-%d" % i) for i in range(n)], STAGGER)
    time.sleep(0.3)  # every request read and its write under way
    t0 = time.monotonic()
    server.stop(signal.SIGTERM, timeout=20)
    took = time.monotonic() - t0
    join_all(threads, errors)
    check(took < 10, "the server exited %.1f s after SIGTERM, expected within 10 s" % took)
    ids = [expect_json(r, 201, "a stored diagnosis in flight at SIGTERM")["id"] for r in results]
    server.restart()
    c = server.client().login_as("alice")
    for i in ids:
        back = expect_json(c.get(API + "/diagnoses/%d" % i), 200, "a diagnosis answered before the stop")
        check(back["rows"] == 1, "it holds its row", back)


@harness.timeout(120)
def test_write_queue_full_answers_503_with_retry_after():
    env = {"HEALER_FAULT_COMMIT_DELAY": "result=800"}
    with harness.Server(args=["--write-threads", "1", "--write-queue", "1"], env=env, name="one writer") as s:
        c = s.client().login_as("alice")
        model = model_for(c)
        rows = one_row()
        # Logged in first: a login writes too, and would take a place.
        clients = [c.new().login_as("alice") for _ in range(2)]
        first = start_all([stored_diagnosis(clients[0], model["id"], rows, "first")])
        time.sleep(0.2)  # running on the one write thread
        second = start_all([stored_diagnosis(clients[1], model["id"], rows, "second")])
        time.sleep(0.2)  # waiting in the queue
        r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows, "name": "third"})
        expect_error(r, 503, "busy", "a write past the queue")
        check(r.header("Retry-After"), "a 503 for a full queue says when to retry", r)
        check(r.elapsed < FAST, "the refusal comes at once, not after the queue (%.3f s)" % r.elapsed)
        m = c.get("/metrics").text
        for line in ('healer_http_write_requests{state="running"} 1',
                     'healer_http_write_requests{state="waiting"} 1', "healer_http_write_refused_total 1"):
            check(line in m.splitlines(), "/metrics shows %r" % line, m[:1500])
        for threads, results, errors in (first, second):
            join_all(threads, errors)
            expect_json(results[0], 201, "a queued write is answered, not dropped")
        expect_json(c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows}), 201,
                    "a write once the queue has room")
        names = [d["name"] for d in harness.list_items(c, API + "/diagnoses")]
        check(sorted(n for n in names if n in ("first", "second", "third")) == ["first", "second"],
              "the refused write stored nothing, the queued ones are stored", names)
        s.stop()


@harness.timeout(120)
def test_tls_writes_park_and_resume():
    with harness.Server(tls=True, env={"HEALER_FAULT_COMMIT_DELAY": DELAYS}, name="https") as s:
        c = s.client().login_as("alice")
        model = model_for(c)
        rows = one_row()
        threads, results, errors = start_all(
            [stored_diagnosis(c.new().login_as("alice"), model["id"], rows, "tls-%d" % i) for i in range(WRITES)], STAGGER)
        paths = [API + "/health", API + "/auth/me"]
        samples = probe_while(c, paths, threads)
        join_all(threads, errors)
        check_fast(samples, 2, paths)
        for r in results:
            d = expect_json(r, 201, "a slow stored diagnosis over HTTPS")
            expect_json(c.get(API + "/diagnoses/%d" % d["id"]), 200, "it reads back")
        s.stop()


if __name__ == "__main__":
    harness.main(globals())
