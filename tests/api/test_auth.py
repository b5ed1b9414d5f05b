"""test_auth.py - login, logout, sessions, CSRF and the lockout over HTTP.

What: a good login sets healer_session with HttpOnly, SameSite=Strict and
Path=/, and Max-Age only with "remember"; a wrong password and an unknown
user get the same 401 invalid_credentials message; /auth/me works with a
session and answers 401 without; logout ends the session on the server (the
old cookie no longer works); every state-changing call needs the session's
X-CSRF-Token (missing or wrong -> 403 csrf_failed, nothing done) except
login; anonymous state-changing calls get 401 first; five wrong passwords
lock the account, yet every refusal (unknown name, wrong password, back-off,
locked account) is the same 401 invalid_credentials with the same body and
about the same time; attempts refused by back-off count as failures; the
lock queues an account_locked alert with a one-time unlock link
(POST /auth/unlock: once, then 410; garbage 400); the admin gets an
account_locked notification and can unlock it; one address backs off after
ten failures whatever names it tries; users change their own password
(other sessions end, this one stays) and e-mail.

Why: these are the platform's security promises, and only a real HTTP
exchange shows cookie attributes and header handling. Lockout tests use a
user created for the test, so one test's failures cannot lock another's
account.

Run: python3 tests/api/test_auth.py [test_name...]
"""
import os
import json
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, has_fields, is_int, USER_FIELDS  # noqa: E402

# The shared server's per-address back-off is off: every test here logs in
# from 127.0.0.1, and their failures would hold up each other's logins.
# test_address_backoff runs its own server with the default.
SERVER = {"args": ["--login-address-backoff-after", "0"]}


def fresh_user(server, admin=False):
    name = harness.unique("user")
    server.add_user(name, name + "-pw-1234", admin)
    return name, name + "-pw-1234"


def test_login_ok_cookie_flags(c):
    r = c.login("alice", "alice-pass-1234")
    body = r.json
    has_fields(body, ("user", "csrf_token", "expires_at"), "login response")
    u = body["user"]
    has_fields(u, USER_FIELDS, "USER")
    check(u["username"] == "alice" and u["role"] == "user", "login returns alice as a user", r)
    check(u["disabled"] is False and u["locked"] is False and u["locked_until"] is None,
          "alice is neither disabled nor locked", r)
    check(is_int(u["id"]) and is_int(u["created_at"]), "id and created_at are integers", r)
    check(isinstance(body["csrf_token"], str) and len(body["csrf_token"]) >= 16, "csrf_token looks too short", r)
    check(is_int(body["expires_at"]) and body["expires_at"] > time.time(), "expires_at is in the future", r)
    check(not any("password" in k or "hash" in k for k in u), "USER must not expose password data", r)
    cookies = [sc for sc in r.header_all("Set-Cookie") if sc.startswith("healer_session=")]
    check(len(cookies) == 1, "exactly one healer_session Set-Cookie expected", r)
    name, value, attrs = harness.parse_set_cookie(cookies[0])
    check(len(value) >= 16, "the session token looks too short: %r" % value)
    check(attrs.get("httponly") is True, "session cookie lacks HttpOnly: %s" % cookies[0])
    check(str(attrs.get("samesite", "")).lower() == "strict", "session cookie lacks SameSite=Strict: %s" % cookies[0])
    check(attrs.get("path") == "/", "session cookie should have Path=/: %s" % cookies[0])
    check("max-age" not in attrs, "without remember the cookie must have no Max-Age: %s" % cookies[0])
    check(value not in r.text, "the session token must not appear in the response body", r)


def test_login_remember_sets_max_age(c):
    r = c.login("alice", "alice-pass-1234", remember=True)
    cookies = [sc for sc in r.header_all("Set-Cookie") if sc.startswith("healer_session=")]
    check(cookies, "no session cookie", r)
    _, _, attrs = harness.parse_set_cookie(cookies[0])
    check("max-age" in attrs, "remember=true should set Max-Age: %s" % cookies[0])
    check(str(attrs["max-age"]).isdigit() and int(attrs["max-age"]) > 3600,
          "Max-Age should be a positive number of seconds (days, for remember): %s" % cookies[0])
    check(attrs.get("httponly") is True and str(attrs.get("samesite", "")).lower() == "strict",
          "remember cookie keeps HttpOnly and SameSite=Strict: %s" % cookies[0])
    check(r.json["expires_at"] > time.time() + 3600, "a remembered session lasts more than an hour", r)
    expect_json(c.get(API + "/auth/me"), 200)


def test_wrong_password_and_unknown_user_same_answer(c, server):
    name, pw = fresh_user(server)
    a = c.post_json(API + "/auth/login", {"username": name, "password": "wrong-password-1"})
    b = c.post_json(API + "/auth/login", {"username": "nobody-" + name, "password": "wrong-password-1"})
    ea = expect_error(a, 401, "invalid_credentials", "wrong password")
    eb = expect_error(b, 401, "invalid_credentials", "unknown user")
    check(ea["message"] == eb["message"], "wrong password and unknown user must read the same: %r vs %r"
          % (ea["message"], eb["message"]))
    check(c.cookie is None, "a failed login must not hand out a session", a)


def test_me_with_and_without_session(c):
    expect_error(c.get(API + "/auth/me"), 401, "unauthorized")
    expect_error(c.get(API + "/auth/me", cookie="forged-session-token-value"), 401, "unauthorized")
    c.login_as("alice")
    r = c.get(API + "/auth/me")
    body = expect_json(r, 200)
    has_fields(body, ("user", "csrf_token"), "me")
    check(body["user"]["username"] == "alice", "me returns the logged-in user", r)
    # The token from /me is good for state-changing calls.
    me_token = body["csrf_token"]
    expect_json(c.post_json(API + "/auth/logout", {}, csrf=me_token), 200, "logout with the csrf token from /me")


def test_sessions_are_independent(c):
    a = c.login_as("alice")
    b = c.new().login_as("alice")
    check(a.cookie != b.cookie, "two logins must get two different sessions")
    expect_json(b.logout(), 200)
    expect_json(a.get(API + "/auth/me"), 200, "logging out one session leaves the other")
    expect_error(b.get(API + "/auth/me", cookie=b.cookie or "gone"), 401, "unauthorized")


def test_logout_ends_session(c):
    c.login_as("bob")
    old = c.cookie
    r = c.logout()
    body = expect_json(r, 200)
    check(body == {"ok": True}, "logout returns {\"ok\": true}", r)
    cleared = [sc for sc in r.header_all("Set-Cookie") if sc.startswith("healer_session=")]
    check(cleared, "logout should clear the cookie with a Set-Cookie", r)
    _, val, attrs = harness.parse_set_cookie(cleared[0])
    check(val == "" or str(attrs.get("max-age")) == "0" or "expires" in attrs,
          "logout's Set-Cookie should empty or expire the cookie: %s" % cleared[0])
    check(c.cookie is None, "the client should have dropped the cookie")
    expect_error(c.get(API + "/auth/me", cookie=old), 401, "unauthorized")
    expect_error(c.get(API + "/datasets", cookie=old), 401, "unauthorized")


def test_logout_needs_csrf(c):
    c.login_as("bob")
    expect_error(c.post_json(API + "/auth/logout", {}, csrf=False), 403, "csrf_failed")
    expect_json(c.get(API + "/auth/me"), 200, "the session survives a refused logout")


def test_csrf_missing_wrong_right(c):
    c.login_as("alice")
    before = harness.list_ids(c, API + "/datasets")
    data = harness.simulate(samples=100, features=4, classes=2, seed=11)
    body, ctype = harness.multipart({"name": "csrf"}, {"file": ("csrf.csv", data)})
    r = c.post_raw(API + "/datasets", body, ctype, csrf=False)
    expect_error(r, 403, "csrf_failed", "upload without X-CSRF-Token")
    r = c.post_raw(API + "/datasets", body, ctype, csrf="0" * len(c.csrf))
    expect_error(r, 403, "csrf_failed", "upload with a wrong X-CSRF-Token")
    r = c.post_raw(API + "/datasets", body, ctype, csrf="")
    expect_error(r, 403, "csrf_failed", "upload with an empty X-CSRF-Token")
    check(harness.list_ids(c, API + "/datasets") == before, "refused uploads must not create datasets")
    r = c.post_raw(API + "/datasets", body, ctype)
    ds = expect_json(r, 201, "upload with the right X-CSRF-Token")
    # DELETE needs it too.
    expect_error(c.delete(API + "/datasets/%d" % ds["id"], csrf=False), 403, "csrf_failed")
    expect_error(c.delete(API + "/datasets/%d" % ds["id"], csrf="nope"), 403, "csrf_failed")
    check(ds["id"] in harness.list_ids(c, API + "/datasets"), "a refused delete must not delete")
    expect_json(c.delete(API + "/datasets/%d" % ds["id"]), 200)


def test_csrf_token_is_bound_to_its_session(c):
    a = c.login_as("alice")
    b = c.new().login_as("bob")
    r = b.post_json(API + "/jobs", {"type": "train", "dataset_id": 1, "algo": "gbdt"}, csrf=a.csrf)
    expect_error(r, 403, "csrf_failed", "bob's session with alice's CSRF token")
    a2 = c.new().login_as("alice")
    r = a2.post_json(API + "/auth/logout", {}, csrf=a.csrf)
    if a.csrf != a2.csrf:  # per-session tokens: another session's must fail
        expect_error(r, 403, "csrf_failed", "a session with another session's CSRF token")


def test_login_needs_no_csrf(c):
    r = c.post_json(API + "/auth/login", {"username": "alice", "password": "alice-pass-1234"}, csrf=False)
    expect_json(r, 200, "login without X-CSRF-Token")
    # Also while already holding a session (and so a known csrf token).
    r = c.post_json(API + "/auth/login", {"username": "bob", "password": "bob-pass-1234"}, csrf=False)
    expect_json(r, 200, "second login without X-CSRF-Token")
    check(expect_json(c.get(API + "/auth/me"), 200)["user"]["username"] == "bob", "the new session is bob's")


def test_anonymous_state_changing_gets_401(c):
    data = harness.simulate(samples=100, features=4, classes=2, seed=11)
    for r in (c.upload(API + "/datasets", {}, {"file": ("a.csv", data)}),
              c.post_json(API + "/jobs", {"type": "train", "dataset_id": 1, "algo": "gbdt"}),
              c.delete(API + "/datasets/1"),
              c.post_json(API + "/auth/logout", {}),
              c.post_json(API + "/users", {"username": "x", "password": "xxxxxxxxxx", "role": "user"})):
        expect_error(r, 401, "unauthorized")


def refusal(r):
    """What a refused login shows a client: status, headers that matter and
    the body without its request id."""
    body = dict(r.json["error"]) if isinstance(r.json, dict) and "error" in r.json else r.json
    if isinstance(body, dict):
        body.pop("request_id", None)
    return (r.status, r.header("Retry-After"), r.header("Content-Type"), json.dumps(body, sort_keys=True))


def test_lockout_after_five_failures_and_unlock(c, server):
    name, pw = fresh_user(server)
    first = None
    for i in range(1, 6):
        r = c.post_json(API + "/auth/login", {"username": name, "password": "wrong-%d-password" % i})
        expect_error(r, 401, "invalid_credentials", "wrong password #%d" % i)
        first = first or refusal(r)
        check(refusal(r) == first, "every refusal reads the same", r)
    r = c.post_json(API + "/auth/login", {"username": name, "password": pw})
    expect_error(r, 401, "invalid_credentials", "the right password while locked")
    check(refusal(r) == first, "a locked account answers like a wrong password", r)
    check(c.cookie is None, "a locked account gets no session", r)
    # Another account is not affected.
    c.new().login_as("bob")
    admin = c.new().login_as("admin")
    users = {u["username"]: u for u in harness.list_items(admin, API + "/users")}
    check(name in users, "the new user is listed", users)
    u = users[name]
    check(u["locked"] is True and is_int(u["locked_until"]) and u["locked_until"] > time.time(),
          "the admin sees the account locked with a future locked_until", u)
    notes = harness.list_items(admin, API + "/notifications")
    mine = [n for n in notes if n.get("kind") == "account_locked"
            and (n.get("user_id") == u["id"] or name in (n.get("message") or ""))]
    check(len(mine) == 1, "the admin should have one account_locked notification about %s" % name, notes)
    note = mine[0]
    has_fields(note, harness.NOTIFICATION_FIELDS, "notification")
    check(note["read"] is False, "a new notification is unread", note)
    unread = harness.list_ids(admin, API + "/notifications", "unread=1&limit=1000")
    check(note["id"] in unread, "unread=1 lists the new notification", unread)
    r = admin.post_json(API + "/notifications/%d/read" % note["id"], {})
    check(expect_json(r, 200).get("read") is True, "marking read returns the notification with read true", r)
    unread = harness.list_ids(admin, API + "/notifications", "unread=1&limit=1000")
    check(note["id"] not in unread, "a read notification leaves the unread list", unread)
    # With no mail relay the alert is logged (never its body: the link).
    log = server.stderr_text()
    lines = [l for l in log.splitlines() if '"alert' in l and '"account_locked"' in l and name in l]
    check(lines, "an account_locked alert about %s is queued (logged without a relay)" % name, log[-2000:])
    r = admin.post_json(API + "/users/%d/unlock" % u["id"], {})
    body = expect_json(r, 200, "unlock")
    check(body["locked"] is False and body["locked_until"] is None, "unlock returns the unlocked USER", r)
    c.login(name, pw)
    check(c.cookie, "login works after the unlock")


def test_unknown_existing_locked_answer_alike():
    """Unknown name, wrong password, locked account: the same status, the
    same body, no Retry-After, and about the same time (one Argon2 each;
    before, a locked account answered 429 at once)."""
    with harness.Server(args=["--login-address-backoff-after", "0"]) as s:
        c = s.client()
        s.add_user("carol", "carol-pass-1234")
        for i in range(5):
            c.post_json(API + "/auth/login", {"username": "carol", "password": "bad-%d-password" % i})
        kinds = {"unknown": ("nobody-here", "alice-pass-1234"),
                 "wrong": ("alice", "not-alices-password"),
                 "locked": ("carol", "carol-pass-1234")}
        seen = {}
        # Each kind's quickest of 5 interleaved rounds (a busy machine only
        # adds delay: medians failed with three suites on two cores); a
        # real difference shows in every measurement, so up to three.
        for _ in range(3):
            times = {k: [] for k in kinds}
            for _ in range(5):
                for k, (user, pw) in kinds.items():
                    t0 = time.monotonic()
                    r = c.post_json(API + "/auth/login", {"username": user, "password": pw})
                    times[k].append(time.monotonic() - t0)
                    expect_error(r, 401, "invalid_credentials", "%s login" % k)
                    seen.setdefault(k, refusal(r))
                    check(refusal(r) == seen["unknown"], "%s reads exactly like an unknown name" % k,
                          refusal(r), seen["unknown"])
            quickest = {k: min(v) for k, v in times.items()}
            lo, hi = min(quickest.values()), max(quickest.values())
            sys.stderr.write("quickest logins (s): %s\n" % {k: round(v, 4) for k, v in quickest.items()})
            if hi - lo < max(0.5 * lo, 0.03):
                break
        check(hi - lo < max(0.5 * lo, 0.03), "the answers take about as long: %r" % quickest)


def test_backoff_refusals_count_and_the_fifth_locks(c, server):
    """Three quick failures make the account wait 1 s; the right password
    tried at once is refused like a failure and counts: two such refusals
    are the 4th and 5th failures, which lock the account."""
    name, pw = fresh_user(server)
    for i in range(3):
        expect_error(c.post_json(API + "/auth/login", {"username": name, "password": "bad-%d-password" % i}),
                     401, "invalid_credentials")
    for i in range(2):
        expect_error(c.post_json(API + "/auth/login", {"username": name, "password": pw}), 401,
                     "invalid_credentials", "the right password during the back-off")
    admin = c.new().login_as("admin")
    u = {x["username"]: x for x in harness.list_items(admin, API + "/users")}[name]
    check(u["locked"] is True, "the two refusals counted: the account is locked", u)


def tapped_alerts(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_unlock_link_works_once():
    """The fifth failure queues the account_locked mail to the user (from
    which address, when, the link) and one to the admins without the link; the link's token unlocks
    once (then 410), garbage is 400, and the login works again."""
    s = harness.Server(args=["--public-url", "https://healer.example.com/"])
    tap = os.path.join(s.root, "alerts.jsonl")
    s.env["HEALER_ALERT_TAP"] = tap
    with s:
        c = s.client()
        s.add_user("dave", "dave-pass-1234")
        t0 = time.monotonic()
        for i in range(5):
            c.post_json(API + "/auth/login", {"username": "dave", "password": "bad-%d-password" % i})
        alerts = [a for a in tapped_alerts(tap) if a["kind"] == "account_locked"]
        check(len(alerts) == 2 and time.monotonic() - t0 < 5, "two account_locked alerts, queued at once", alerts)
        a = alerts[0]
        check(a["audience"] == 1 and "dave" in a["subject"], "the first to the user, about dave", a)
        check(alerts[1]["audience"] == 2 and "token=" not in alerts[1]["body"],
              "the admins' has no link", alerts[1])
        check("127.0.0.1" in a["body"] and " UTC" in a["body"], "the mail says from where and when", a)
        link = re.search(r"https://healer\.example\.com/#/unlock\?token=([A-Za-z0-9_-]{43})", a["body"])
        check(link, "the mail carries the unlock link under public-url", a)
        token = link.group(1)
        check(token not in s.stderr_text(), "the token never reaches the log")
        expect_error(c.post_json(API + "/auth/unlock", {"token": "garbage"}, csrf=False), 400,
                     "unlock_token_invalid")
        expect_error(c.post_json(API + "/auth/unlock", {"token": "A" * 43}, csrf=False), 400,
                     "unlock_token_invalid")
        expect_error(c.post_json(API + "/auth/unlock", {}, csrf=False), 400, "bad_request")
        r = c.post_json(API + "/auth/unlock", {"token": token}, csrf=False)
        check(expect_json(r, 200, "unlock with the link") == {"ok": True, "username": "dave"}, "unlocked dave", r)
        err = expect_error(c.post_json(API + "/auth/unlock", {"token": token}, csrf=False), 410,
                           "unlock_token_used", "the link a second time")
        check("already used" in err["message"], "says it was used", err)
        time.sleep(1.1)  # the account's back-off from the five failures
        c.login("dave", "dave-pass-1234")
        check(c.cookie, "dave logs in after the unlock")
        # The audit log has the unlock once, done by dave himself.
        admin = s.client().login_as("admin")
        rows = expect_json(admin.get(API + "/audit?action=user_unlocked"), 200, "audit")["items"]
        check([(r["actor_name"], r["target_name"], r["address"]) for r in rows] == [("dave", "dave", "127.0.0.1")],
              "the link's unlock audited, the user as the actor", rows)


def test_change_own_password(c, server):
    name, pw = fresh_user(server)
    here = c
    c.login(name, pw)
    other = c.new()
    other.login(name, pw)
    url = API + "/auth/me/password"
    err = expect_error(c.post_json(url, {"current": "wrong-password", "new": "brand-new-pw-1"}), 403,
                       "wrong_password")
    check(details(err).get("field") == "current", "the field is named", err)
    err = expect_error(c.post_json(url, {"current": pw, "new": "short"}), 422, "invalid_data")
    check(details(err).get("field") == "new", "policy: the field is named", err)
    expect_error(c.post_json(url, {"current": pw, "new": pw}), 422, "invalid_data")
    expect_error(c.post_json(url, {"current": pw}), 400, "bad_request")
    expect_error(c.post_json(url, {"current": pw, "new": "brand-new-pw-1"}, csrf=False), 403, "csrf_failed")
    expect_error(c.new().post_json(url, {"current": pw, "new": "brand-new-pw-1"}), 401, "unauthorized")
    time.sleep(1.1)  # one failure so far: no back-off, but be safe
    r = c.post_json(url, {"current": pw, "new": "brand-new-pw-1"})
    check(expect_json(r, 200, "change")["user"]["username"] == name, "answers with the user", r)
    expect_json(here.get(API + "/auth/me"), 200, "this session is kept")
    expect_error(other.get(API + "/auth/me"), 401, "unauthorized", "the other session was ended")
    expect_error(c.new().post_json(API + "/auth/login", {"username": name, "password": pw}), 401,
                 "invalid_credentials", "the old password")
    c.new().login(name, "brand-new-pw-1")


def test_reauth_during_backoff_says_wait(c, server):
    """A logged-in user who mistyped their current password until the
    back-off started is told to wait (429 backed_off, Retry-After, the
    field), even with the right password, instead of "wrong"; after the
    wait the right password works."""
    name, pw = fresh_user(server)
    c.login(name, pw)
    url = API + "/auth/me/password"
    r = None
    for i in range(8):
        r = c.post_json(url, {"current": "wrong-%d-password" % i, "new": "brand-new-pw-1"})
        if r.status != 403:
            break
    err = expect_error(r, 429, "backed_off", "wrong passwords lead to the back-off")
    r = c.post_json(url, {"current": pw, "new": "brand-new-pw-1"})
    err = expect_error(r, 429, "backed_off", "the right password during the back-off")
    wait = int(r.header("Retry-After") or 0)
    check(wait >= 1 and details(err).get("field") == "current" and
          details(err).get("retry_after") == wait, "the wait and the field", err, wait)
    time.sleep(wait + 0.2)
    expect_json(c.post_json(url, {"current": pw, "new": "brand-new-pw-1"}), 200, "after the wait")


def test_email_on_user_records(c, server):
    admin = c.login_as("admin")
    name = harness.unique("mail")
    r = admin.post_json(API + "/users", {"username": name, "password": name + "-pw-1234", "role": "user",
                                         "email": "Ops.Team@Example.COM"})
    u = expect_json(r, 201, "create with email")
    check(u["email"] == "Ops.Team@Example.COM", "the address is kept as given (case too)", u)
    for bad in ("no-at-sign", "two@@example.com", "a b@example.com", "tab\t@x.org", "x@" + "d" * 260):
        err = expect_error(admin.post_json(API + "/users", {"username": harness.unique("bad"), "password":
                                                            "long-enough-1", "email": bad}), 422, "invalid_data")
        check(details(err).get("field") == "email", "the field is named for %r" % bad, err)
    expect_error(admin.post_json(API + "/users", {"username": harness.unique("bad"), "password": "long-enough-1",
                                                  "email": 5}), 400, "bad_request")
    listed = {x["username"]: x for x in harness.list_items(admin, API + "/users")}
    check(listed[name]["email"] == "Ops.Team@Example.COM", "GET /users shows it", listed[name])
    r = admin.put_json(API + "/users/%d/email" % u["id"], {"email": "new@example.org"})
    check(expect_json(r, 200)["email"] == "new@example.org", "an admin sets it", r)
    expect_error(admin.put_json(API + "/users/%d/email" % u["id"], {"email": "nope"}), 422, "invalid_data")
    expect_error(admin.put_json(API + "/users/%d/email" % u["id"], {}), 400, "bad_request")
    expect_error(admin.put_json(API + "/users/999999/email", {"email": "a@b"}), 404, "not_found")
    user = c.new()
    user.login(name, name + "-pw-1234")
    expect_error(user.put_json(API + "/users/%d/email" % u["id"], {"email": "a@b"}), 403, "forbidden")
    me = API + "/auth/me/email"
    err = expect_error(user.put_json(me, {"email": "mine@example.org", "password": "wrong-password"}), 403,
                       "wrong_password")
    check(details(err).get("field") == "password", "the password is proved first", err)
    expect_error(user.put_json(me, {"email": "mine@example.org"}), 400, "bad_request")
    r = user.put_json(me, {"email": "mine@example.org", "password": name + "-pw-1234"})
    check(expect_json(r, 200)["user"]["email"] == "mine@example.org", "the user sets their own", r)
    check(expect_json(user.get(API + "/auth/me"), 200)["user"]["email"] == "mine@example.org", "/auth/me shows it")
    r = user.put_json(me, {"email": None, "password": name + "-pw-1234"})
    check(expect_json(r, 200)["user"]["email"] is None, "null clears it", r)


def test_address_backoff():
    """One address spraying names waits after ten failures, whoever it
    tries next - the right password of another user included."""
    with harness.Server() as s:
        c = s.client()
        for i in range(10):
            expect_error(c.post_json(API + "/auth/login", {"username": "spray-%d" % i, "password": "guess-1234"}),
                         401, "invalid_credentials")
        r = c.post_json(API + "/auth/login", {"username": "alice", "password": "alice-pass-1234"})
        expect_error(r, 401, "invalid_credentials", "alice from a backed-off address")
        time.sleep(3.1)  # the refusal was the 11th failure: 2 s, to the end of its second
        c.login("alice", "alice-pass-1234")
        check(c.cookie, "after the wait the address may try again")


def test_a_few_failures_do_not_lock(c, server):
    name, pw = fresh_user(server)
    for i in range(3):
        expect_error(c.post_json(API + "/auth/login", {"username": name, "password": "bad-password-%d" % i}),
                     401, "invalid_credentials")
    time.sleep(2.1)  # three failures ask the account to wait 1 s, to the end of its second
    c.login(name, pw)
    expect_json(c.get(API + "/auth/me"), 200)


def test_notifications_not_for_users(c):
    c.login_as("alice")
    expect_error(c.get(API + "/notifications"), 403, "forbidden")

def test_preferences_saved_per_user(c):
    """Language, theme, palette, density and the last dataset/model are
    saved per user (the UI restores them), validated, and private."""
    c.login_as("alice")
    r = c.get(API + "/auth/me/preferences")
    prefs = expect_json(r, 200, "preferences")["preferences"]
    check(isinstance(prefs, dict), "preferences is an object", prefs)
    want = {"language": "zh-CN", "theme": "dark", "palette": "vivid", "density": "compact",
            "last_dataset_id": 3, "last_model_id": None}
    r = c.put_json(API + "/auth/me/preferences", {"preferences": want})
    check(expect_json(r, 200, "PUT preferences")["preferences"] == want, "echoes what was saved", r)
    check(expect_json(c.get(API + "/auth/me/preferences"), 200)["preferences"] == want, "read back")
    other = c.new().login_as("bob")
    check(expect_json(other.get(API + "/auth/me/preferences"), 200)["preferences"] != want,
          "another user does not see them")
    for bad, field in (({"language": "fr"}, "language"), ({"theme": 3}, "theme"),
                       ({"density": "tiny"}, "density"), ({"last_model_id": "x"}, "last_model_id"),
                       ({"palette": "p" * 40}, "palette")):
        err = expect_error(c.put_json(API + "/auth/me/preferences", {"preferences": bad}), 422,
                           "invalid_data")
        check(details(err).get("field") == field, "the field is named", err)
    expect_error(c.put_json(API + "/auth/me/preferences", {"prefs": {}}), 400, "bad_request")
    expect_error(c.put_json(API + "/auth/me/preferences", {"preferences": {"x": "y" * 9000}}), 413,
                 "payload_too_large")
    r = c.put_json(API + "/auth/me/preferences", {"preferences": want}, csrf=False)
    expect_error(r, 403, "csrf_failed")
    anon = c.new()
    expect_error(anon.get(API + "/auth/me/preferences"), 401, "unauthorized")


def test_layout_preference(c):
    """The panels' layout (views/panels.js) is a known key: its shape is
    checked, each refusal names the field, and its size is bounded."""
    c.login_as("alice")
    layout = {"model": {"order": ["curve", "scores", "f1"], "hidden": ["f1"]},
              "diagnosis": {"order": [], "hidden": ["scatter"]}, "models": {}}
    r = c.put_json(API + "/auth/me/preferences", {"preferences": {"theme": "dark", "layout": layout}})
    check(expect_json(r, 200, "PUT layout")["preferences"]["layout"] == layout, "echoes the layout", r)
    got = expect_json(c.get(API + "/auth/me/preferences"), 200)["preferences"]
    check(got["layout"] == layout and got["theme"] == "dark", "reads it back with the rest", got)
    expect_json(c.put_json(API + "/auth/me/preferences", {"preferences": {"layout": None}}), 200, "null: none")
    many = ["p%d" % i for i in range(49)]
    for bad, field in (
            ("columns", "layout"),
            ([], "layout"),
            ({"Model!": {}}, "layout"),
            ({"p%d" % i: {} for i in range(33)}, "layout"),
            ({"model": []}, "layout.model"),
            ({"model": {"order": "curve"}}, "layout.model.order"),
            ({"model": {"order": ["curve", 3]}}, "layout.model.order[1]"),
            ({"model": {"hidden": ["curve", "curve"]}}, "layout.model.hidden[1]"),
            ({"model": {"hidden": ["x" * 33]}}, "layout.model.hidden[0]"),
            ({"model": {"hidden": ["Curve"]}}, "layout.model.hidden[0]"),
            ({"model": {"order": many}}, "layout.model.order"),
            ({"model": {"sizes": []}}, "layout.model.sizes")):
        err = expect_error(c.put_json(API + "/auth/me/preferences", {"preferences": {"layout": bad}}), 422,
                           "invalid_data", "layout %r" % (bad if len(repr(bad)) < 80 else field))
        check(details(err).get("field") == field, "the field %s is named" % field, err)
    check(expect_json(c.get(API + "/auth/me/preferences"), 200)["preferences"].get("layout") is None,
          "a refused layout changes nothing")


if __name__ == "__main__":
    harness.main(globals())
