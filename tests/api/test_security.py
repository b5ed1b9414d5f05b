"""test_security.py - the audit log and the security report over HTTP.

What: admin actions (create, disable, enable, unlock, password reset,
e-mail), a user's own e-mail and password changes and an owner's delete
and restore appear in GET /api/v1/audit with who, what, on what, when and
from where; its filters (action, actor, since/until), paging
(limit/before) and CSV export work and bad values get a clear 400/422; no
method but GET reaches it and the rows cannot be changed. Refused requests
(401, 403, a bad CSRF token, 429), failed logins and locks show up in GET
/api/v1/security/report by route pattern and by source, with JSON and CSV
exports; the background flusher writes them to the store by itself, without
a report being read. Both are admin-only.

Why: an audit log that can be edited, or a report that misses what an
attacker does, is worse than none; each point is checked from the outside.

Run: python3 tests/api/test_security.py [test_name...]
"""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect, expect_error, expect_json  # noqa: E402

# Failed logins here all come from 127.0.0.1: no address back-off, so that
# they never make a later test's login wait (the account's back-off stays).
SERVER = {"args": ["--login-address-backoff-after", "0"]}


def new_user(admin):
    name = harness.unique("sec")
    pw = name + "-pass-1234"
    u = expect_json(admin.post_json(API + "/users", {"username": name, "password": pw}), 201, "create")
    return u, pw


def audit(admin, query=""):
    return expect_json(admin.get(API + "/audit" + query), 200, "audit " + query)


def test_admin_actions_audited(c):
    c.login_as("admin")
    u, pw = new_user(c)
    uid = u["id"]
    for path, body in (("/disable", None), ("/enable", None), ("/unlock", None),
                       ("/password", {"password": "another-pass-5678"})):
        expect_json(c.post_json(API + "/users/%d%s" % (uid, path), body or {}), 200, path)
    rows = [r for r in audit(c, "?limit=1000")["items"] if r["target_id"] == uid]
    actions = [r["action"] for r in rows]
    check(actions == ["password_reset", "user_unlocked", "user_enabled", "user_disabled", "user_created"],
          "every action on the user is on record, newest first", actions)
    for r in rows:
        check(r["actor_name"] == "admin" and r["actor_id"] is not None, "the admin did it", r)
        check(r["address"] == "127.0.0.1", "from the client's address", r)
        check(r["target_kind"] == "user" and r["target_name"] == u["username"], "on that user", r)
        check(isinstance(r["at"], int) and r["time"].endswith("Z"), "dated", r)
    # The users made at start by `healer user add` are the command line's.
    cli = audit(c, "?actor=command%20line&action=user_created")["items"]
    check({r["target_name"] for r in cli} >= {"admin", "alice", "bob"}, "CLI-created users audited", cli)


def test_account_changes_audited(c):
    """The login work's actions: an admin's e-mail change, and a user's own
    e-mail and password changes (the user as the actor); a refused change
    (a wrong current password) leaves no row."""
    admin = c.new().login_as("admin")
    u, pw = new_user(admin)
    uid = u["id"]
    expect_json(admin.put_json(API + "/users/%d/email" % uid, {"email": "x@example.org"}), 200, "admin email")
    me = c.new()
    me.login(u["username"], pw)
    expect_json(me.put_json(API + "/auth/me/email", {"email": "me@example.org", "password": pw}), 200, "own email")
    expect_error(me.post_json(API + "/auth/me/password", {"current": "not-it-at-all", "new": "new-pass-98765"}),
                 403, "wrong_password")
    time.sleep(1.2)  # past the account's back-off after that failure
    expect_json(me.post_json(API + "/auth/me/password", {"current": pw, "new": "new-pass-98765"}), 200, "own pw")
    rows = [r for r in audit(admin, "?limit=1000")["items"] if r["target_id"] == uid]
    check([(r["action"], r["actor_name"]) for r in rows] ==
          [("password_changed", u["username"]), ("email_changed", u["username"]), ("email_changed", "admin"),
           ("user_created", "admin")], "each change on record once, by whom", rows)
    check(all(r["address"] == "127.0.0.1" for r in rows), "from the client's address", rows)
    check(rows[0]["actor_id"] == uid, "the user's own id as the actor", rows[0])
    check("password_changed" in audit(admin, "?limit=1")["actions"], "a known action (the UI's filter)")


def test_owner_delete_restore_audited(c):
    c.login_as("alice")
    data = harness.simulate(samples=60, features=4, classes=2, seed=5)
    d = expect_json(c.upload(API + "/datasets", files={"file": ("audit.csv", data, "text/csv")}), 201, "upload")
    expect(c.delete(API + "/datasets/%d" % d["id"]), 200, "delete")
    expect(c.post_json(API + "/datasets/%d/restore" % d["id"]), 200, "restore")
    admin = c.new().login_as("admin")
    rows = [r for r in audit(admin, "?limit=1000")["items"]
            if r["target_kind"] == "dataset" and r["target_id"] == d["id"]]
    check([r["action"] for r in rows] == ["data_restored", "data_deleted"], "delete and restore recorded", rows)
    check(all(r["actor_name"] == "alice" and r["target_name"] == "audit.csv" for r in rows), "by the owner", rows)
    check(all(r["address"] == "127.0.0.1" for r in rows), "from the owner's address", rows)


def test_audit_filters_paging_export(c):
    c.login_as("admin")
    for _ in range(3):
        new_user(c)
    page1 = audit(c, "?limit=2&action=user_created")
    check(len(page1["items"]) == 2 and page1["next_before"] == page1["items"][1]["id"], "a full page says where to go on", page1)
    check("user_created" in page1["actions"], "the known actions are listed", page1)
    page2 = audit(c, "?limit=2&action=user_created&before=%d" % page1["next_before"])
    check(all(r["id"] < page1["next_before"] for r in page2["items"]), "the next page is older", page2)
    everything = audit(c, "?limit=1000")["items"]
    newest = everything[0]["at"]
    window = audit(c, "?since=%d&until=%d" % (newest, newest + 1))["items"]
    check(window and all(r["at"] == newest for r in window), "since/until select by time", window)
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest + 1))
    check(audit(c, "?since=" + iso)["items"] == [], "ISO times work too")
    r = c.get(API + "/audit?format=csv&limit=1000")
    expect(r, 200, "csv")
    check(r.header("Content-Type").startswith("text/csv"), "CSV type", r)
    check("attachment" in (r.header("Content-Disposition") or ""), "a download", r)
    header, rows = harness.parse_csv(r.body)
    check(header[:6] == ["id", "time", "at", "actor_id", "actor_name", "action"], "CSV header", header)
    check(len(rows) == len(everything), "one CSV row per entry", len(rows))
    for bad, field in (("?limit=0", "limit"), ("?limit=1001", "limit"), ("?before=-1", "before"),
                       ("?since=yesterday", "since"), ("?until=2026-13-01", "until"), ("?format=xml", "format"),
                       ("?actor=" + "x" * 80, "actor")):
        e = expect_error(c.get(API + "/audit" + bad), 400, "bad_request", bad)
        check(harness.details(e).get("field") == field, "names the field " + field, e)
    expect_error(c.get(API + "/audit?action=made_up"), 422, "invalid_data", "unknown action")
    expect_error(c.get(API + "/audit?since=200&until=100"), 422, "invalid_data", "since after until")


def test_audit_log_cannot_be_edited(c):
    c.login_as("admin")
    first = audit(c, "?limit=1000")["items"]
    target = first[-1]["id"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/audit", "/audit/%d" % target):
            r = c.request(method, API + path, body=b"{}", headers={"Content-Type": "application/json"})
            check(r.status in (404, 405), "%s %s does not exist" % (method, path), r)
    after = audit(c, "?limit=1000")["items"]
    check(after == first, "the log is unchanged", len(first), len(after))
    # Below the API too: the database refuses to change or delete a row.
    db = sqlite3.connect(os.path.join(c.server.data_dir, "healer.db"), timeout=10)
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        try:
            db.execute(sql)
            db.commit()
            harness.fail(sql + " went through")
        except sqlite3.DatabaseError as e:
            check("append-only" in str(e), "refused as append-only", str(e))
    db.close()


def test_admin_only(c):
    for path in ("/audit", "/security/report"):
        expect_error(c.get(API + path), 401, "unauthorized", path)
    c.login_as("bob")
    for path in ("/audit", "/audit?format=csv", "/security/report", "/security/report?format=csv"):
        expect_error(c.get(API + path), 403, "forbidden", path)


def report(admin, query=""):
    return expect_json(admin.get(API + "/security/report" + query), 200, "report " + query)


def row_of(rows, key, value):
    return next((r for r in rows if r[key] == value), None)


def settled_report(admin, query, until=None, timeout=15):
    """The report once every refusal answered so far is in it: a refusal is
    counted just after its answer is queued, later still on a loaded
    machine (three suites on two cores: two reads 0.3 s apart agreed while
    an earlier test's five 403s were still to come). Read until until(report)
    holds (if given) and the totals have not moved for 1.5 s."""
    deadline = time.monotonic() + timeout
    last = report(admin, query)
    still_since = time.monotonic()
    while True:
        time.sleep(0.3)
        now = report(admin, query)
        if now["totals"] != last["totals"]:
            still_since = time.monotonic()
        if (time.monotonic() - still_since >= 1.5 and (until is None or until(now))) \
                or time.monotonic() > deadline:
            return now
        last = now


def test_report_counts_refusals_by_route_and_source(c):
    admin = c.new().login_as("admin")
    # The earlier tests' last refusals (403s) must be in `before`, and ours
    # in `after`.
    before = settled_report(admin, "?bucket=60&top=100")
    anon = c.new()
    for _ in range(3):
        expect_error(anon.get(API + "/users"), 401, "unauthorized")
    bob = c.new().login_as("bob")
    expect_error(bob.get(API + "/notifications"), 403, "forbidden")
    expect_error(bob.post_json(API + "/auth/logout", {}, csrf="wrong"), 403, "csrf_failed")
    # Wrong passwords for an existing user: account events (failed logins).
    for _ in range(2):
        c.new().login("alice", "not-her-password", expect_status=401)
    t0 = before["totals"]
    after = settled_report(admin, "?bucket=60&top=100", lambda r: all(
        r["totals"][k] - t0[k] >= n for k, n in
        (("unauthorized", 5), ("forbidden", 1), ("csrf_failed", 1), ("login_failed", 2))))
    t1 = after["totals"]
    check(t1["unauthorized"] - t0["unauthorized"] >= 5, "401s counted (3 + 2 logins)", t0, t1)
    check(t1["forbidden"] - t0["forbidden"] == 1, "the 403 counted", t0, t1)
    check(t1["csrf_failed"] - t0["csrf_failed"] == 1, "the CSRF refusal counted apart", t0, t1)
    check(t1["login_failed"] - t0["login_failed"] == 2, "failed logins from the account events", t0, t1)
    routes = after["top_routes"]
    users = row_of(routes, "route", "GET /api/v1/users")
    check(users and users["unauthorized"] >= 3, "by route pattern", routes)
    check(row_of(routes, "route", "POST /api/v1/auth/logout")["csrf_failed"] >= 1, "the CSRF route", routes)
    check(all("/api/v1/" in r["route"] and "?" not in r["route"] for r in routes), "patterns, never raw URLs", routes)
    src = row_of(after["top_sources"], "source", "127.0.0.1")
    check(src and src["total"] >= 7, "by source address", after["top_sources"])
    series = after["series"]
    check(len(series) == (after["until"] - after["since"]) // 60, "one point per bucket", len(series))
    check(sum(p["csrf_failed"] for p in series) == t1["csrf_failed"], "the series adds up to the totals", t1)


def test_report_counts_locks_and_refused_logins(c):
    """Every refused login answers 401 invalid_credentials (no 429, whatever
    the reason) and counts as `unauthorized` on the login route; an existing
    user's also as a `login_failed` event - back-off refusals included - and
    the lock once as `locked`; an unknown name has no account to record."""
    admin = c.new().login_as("admin")
    u, pw = new_user(admin)
    before = settled_report(admin, "?bucket=60&top=100")
    statuses = []
    for _ in range(5):  # from the 4th, within the account's back-off: alike
        r = c.new().login(u["username"], "wrong-password-1", expect_status=None)
        statuses.append((r.status, r.error_code))
    r = c.new().login(u["username"], pw, expect_status=None)  # locked now
    statuses.append((r.status, r.error_code))
    for _ in range(2):
        r = c.new().login(harness.unique("nobody"), "wrong-password-1", expect_status=None)
        statuses.append((r.status, r.error_code))
    check(statuses == [(401, "invalid_credentials")] * 8, "one answer for every refused login", statuses)
    t0 = before["totals"]
    b = row_of(before["top_routes"], "route", "POST /api/v1/auth/login") or {"unauthorized": 0}

    def login_401s(r):
        return (row_of(r["top_routes"], "route", "POST /api/v1/auth/login") or {"unauthorized": 0})["unauthorized"]
    after = settled_report(admin, "?bucket=60&top=100", lambda r: (
        r["totals"]["login_failed"] - t0["login_failed"] >= 6 and r["totals"]["locked"] > t0["locked"]
        and login_401s(r) - b["unauthorized"] >= 8))
    t1 = after["totals"]
    check(t1["login_failed"] - t0["login_failed"] == 6, "the user's six refusals are failed logins", t0, t1)
    check(t1["locked"] - t0["locked"] == 1, "the lock counted once", t0, t1)
    check(t1["rate_limited"] == t0["rate_limited"], "no 429", t0, t1)
    a = row_of(after["top_routes"], "route", "POST /api/v1/auth/login")
    check(a and a["unauthorized"] - b["unauthorized"] == 8, "all eight 401s on the login route", b, a)


def test_report_rate_limited_counted():
    with harness.Server(args=["--login-rate", "3"]) as s:
        harness.one_login_window()
        admin = s.client().login_as("admin")  # before the limit is used up
        c = s.client()
        statuses = [c.login("nobody", "wrong-password-1", expect_status=None).status for _ in range(4)]
        check(429 in statuses, "the login limit answered 429", statuses)
        t = settled_report(admin, "", lambda r: r["totals"]["rate_limited"] >= statuses.count(429))["totals"]
        check(t["rate_limited"] >= statuses.count(429), "429s counted", t, statuses)


def test_report_exports_and_bad_queries(c):
    c.login_as("admin")
    r = c.get(API + "/security/report?format=csv&bucket=3600")
    expect(r, 200, "csv")
    header, rows = harness.parse_csv(r.body)
    check(header == ["section", "time", "t", "route", "source", "total", "login_failed", "locked",
                      "unauthorized", "forbidden", "csrf_failed", "rate_limited"], "CSV header", header)
    points = [x for x in rows if x[0] == "series"]
    check(len(points) in (24, 25), "a day of hourly points (the current hour included)", points)
    check(all(x[1].endswith(":00:00Z") for x in points), "on the hour", points)
    r = c.get(API + "/security/report?format=json-download")
    expect(r, 200, "json download")
    check("security-report.json" in r.header("Content-Disposition"), "named download", r)
    for bad, field in (("?bucket=59", "bucket"), ("?top=0", "top"), ("?top=101", "top"),
                       ("?since=soon", "since"), ("?format=pdf", "format")):
        e = expect_error(c.get(API + "/security/report" + bad), 400, "bad_request", bad)
        check(harness.details(e).get("field") == field, "names " + field, e)
    for bad, field in (("?bucket=90", "bucket"), ("?since=2000&until=1000", "since"),
                       ("?since=1&until=2026-01-01&bucket=60", "bucket")):
        e = expect_error(c.get(API + "/security/report" + bad), 422, "invalid_data", bad)
        check(harness.details(e).get("field") == field, "names " + field, e)


def test_flusher_writes_without_a_report():
    with harness.Server(args=["--security-flush", "1"]) as s:
        c = s.client()
        for _ in range(5):
            expect_error(c.get(API + "/users"), 401, "unauthorized")
        db_path = os.path.join(s.data_dir, "healer.db")

        def stored():
            db = sqlite3.connect(db_path, timeout=10)
            try:
                return db.execute("SELECT COALESCE(SUM(count), 0) FROM refusal_tallies"
                                  " WHERE route = 'GET /api/v1/users'").fetchone()[0]
            finally:
                db.close()

        harness.wait_until(lambda: stored() == 5, 10, "the flusher wrote the 401s")


if __name__ == "__main__":
    harness.main(globals())
