"""test_health.py - GET /api/v1/health checks what it claims, on a real server.

What: a healthy server answers 200 with each check (store, blobs, disk,
runner) and the fields the UI and monitors read (status, version,
uptime_seconds); each failing check makes 503 naming it, with a short
generic state, in `failed`, `checks` and the API's error object (the
reason, which may name store errors and paths, goes to the log, never into
the public answer): the store while another
process holds its write lock, the blob store when the directory the check
writes into is replaced by a file, the disk when min-free-disk-mb is above
the real free space. The server recovers by itself once the cause is gone
(the result is cached for a second, not more). A flood of health requests
runs the checks at most about once a second (healer_health_checks_run_total
in /metrics).

Why: a health check that always says ok keeps a broken node in a load
balancer; one that touches the store on every request lets a flood of
probes load it.

Run: python3 tests/api/test_health.py [test_name...]
"""
import os
import re
import shutil
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_json  # noqa: E402

SERVER = {"users": ()}

CHECKS = ("store", "blobs", "disk", "runner")


def health(c):
    r = c.get(API + "/health")
    check(r.status in (200, 503), "health answers 200 or 503", r)
    return r, r.json


def wait_health(c, status, timeout=5.0):
    """Polls health until it answers `status`; returns its body."""
    deadline = time.monotonic() + timeout
    while True:
        r, body = health(c)
        if r.status == status:
            return body
        check(time.monotonic() < deadline, "health should become %d within %.0f s" % (status, timeout), r)
        time.sleep(0.2)


def failing(server, r, name, state, detail):
    """r failed on check `name` alone, saying only `state` publicly; the
    server's log has the reason (`detail`)."""
    body = r.json
    check(body["status"] == "failing", "status failing", body)
    check(body["failed"] == [name], "only %s fails" % name, body)
    check(not body["checks"][name]["ok"] and body["checks"][name]["message"] == state,
          "the %s check says %r" % (name, state), body)
    err = body["error"]
    check(err["code"] == "unhealthy" and err["message"] == name + ": " + state and
          err["details"]["failed"] == [name] and err["request_id"], "the API's error object names it", err)
    check(server.data_dir not in r.text and "healer.db" not in r.text,
          "the public answer names no file of the data directory", r.text)
    log = server.stderr_text()
    check(re.search(r'"msg":"health check failed","check":"%s","message":"[^"]*%s' % (name, re.escape(detail)), log),
          "the log has the %s check's reason (%r)" % (name, detail), server.logs_tail())
    for other in CHECKS:
        if other != name:
            check(body["checks"][other]["ok"], "%s still passes" % other, body)


def test_healthy_answer(c):
    r, body = health(c)
    expect_json(r, 200, "health")
    check(body["status"] == "ok" and body["version"] and isinstance(body["uptime_seconds"], int),
          "the fields the UI and monitors read", body)
    check(sorted(body["checks"]) == sorted(CHECKS), "every check reported", body)
    for name in CHECKS:
        ch = body["checks"][name]
        check(ch["ok"] is True and ch["message"] and ch["ms"] >= 0, "check %s passes" % name, body)
    check(0 <= body["checked_seconds_ago"] < 1.5, "a result at most a second old", body)
    check("failed" not in body and "error" not in body, "nothing failed", body)


def test_store_not_answering_is_503(c):
    db = sqlite3.connect(os.path.join(c.server.data_dir, "healer.db"), isolation_level=None, timeout=10)
    db.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        time.sleep(1.1)  # past the cached result
        wait_health(c, 503)
        r, _ = health(c)
        failing(c.server, r, "store", "not answering", "locked")
    finally:
        db.execute("ROLLBACK")
        db.close()
    wait_health(c, 200)


def test_blob_store_unwritable_is_503(c):
    wait_health(c, 200)  # the check has made its kind's directory
    kind_dir = os.path.join(c.server.data_dir, "blobs", "health")
    check(os.path.isdir(kind_dir), "the blob check writes under blobs/health", kind_dir)
    shutil.rmtree(kind_dir)
    with open(kind_dir, "w") as f:  # a file where the directory must be
        f.write("in the way\n")
    try:
        time.sleep(1.1)
        wait_health(c, 503)
        r, _ = health(c)
        failing(c.server, r, "blobs", "cannot write a file", "Not a directory")
    finally:
        os.remove(kind_dir)
    wait_health(c, 200)


@harness.timeout(40)
def test_low_disk_is_503():
    s = harness.Server(users=(), args=["--min-free-disk-mb", "100000000"])
    try:
        s.start(wait=False)  # never ready: readiness is a 200
        c = s.client()
        deadline = time.monotonic() + 20
        while True:
            try:
                r = c.get(API + "/health", timeout=2)
                break
            except harness.TestFailure:
                check(s.running() and time.monotonic() < deadline, "the server answers health", s.logs_tail())
                time.sleep(0.1)
        check(r.status == 503, "health is 503 below min-free-disk-mb", r)
        failing(s, r, "disk", "free space below min-free-disk-mb", "below the minimum of 100000000 MiB")
    finally:
        s.close()


def metric(c, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), c.get("/metrics").text, re.M)
    check(m, "%s in /metrics" % name)
    return int(m.group(1))


def test_flood_runs_the_checks_about_once_a_second(c):
    wait_health(c, 200)
    before = metric(c, "healer_health_checks_run_total")
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 1.0:
        r, _ = health(c)
        check(r.status == 200, "health answers during the flood", r)
        n += 1
    runs = metric(c, "healer_health_checks_run_total") - before
    check(n >= 50, "the flood sent at least 50 requests in a second (%d)" % n)
    check(runs <= 2, "%d health requests in a second ran the checks %d times (at most 2)" % (n, runs))


if __name__ == "__main__":
    harness.main(globals())
