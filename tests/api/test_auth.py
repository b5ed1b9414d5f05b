"""test_auth.py - login, logout, sessions, CSRF and the lockout over HTTP.

What: a good login sets healer_session with HttpOnly, SameSite=Strict and
Path=/, and Max-Age only with "remember"; a wrong password and an unknown
user get the same 401 invalid_credentials message; /auth/me works with a
session and answers 401 without; logout ends the session on the server (the
old cookie no longer works); every state-changing call needs the session's
X-CSRF-Token (missing or wrong -> 403 csrf_failed, nothing done) except
login; anonymous state-changing calls get 401 first; five wrong passwords
lock the account (the 5th already answers 429 account_locked, then even the
right password does), the admin gets an account_locked notification and
can unlock it.

Why: these are the platform's security promises, and only a real HTTP
exchange shows cookie attributes and header handling. Lockout tests use a
user created for the test, so one test's failures cannot lock another's
account.

Run: python3 tests/api/test_auth.py [test_name...]
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, has_fields, is_int, USER_FIELDS  # noqa: E402

SERVER = {}


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


def test_lockout_after_five_failures_and_unlock(c, server):
    name, pw = fresh_user(server)
    for i in range(1, 5):
        r = c.post_json(API + "/auth/login", {"username": name, "password": "wrong-%d-password" % i})
        expect_error(r, 401, "invalid_credentials", "wrong password #%d" % i)
    r = c.post_json(API + "/auth/login", {"username": name, "password": "wrong-5-password"})
    expect_error(r, 429, "account_locked", "the 5th wrong password")
    r = c.post_json(API + "/auth/login", {"username": name, "password": pw})
    expect_error(r, 429, "account_locked", "the right password while locked")
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
    check(mine, "the admin should have an account_locked notification about %s" % name, notes)
    note = mine[0]
    has_fields(note, harness.NOTIFICATION_FIELDS, "notification")
    check(note["read"] is False, "a new notification is unread", note)
    unread = harness.list_ids(admin, API + "/notifications", "unread=1&limit=1000")
    check(note["id"] in unread, "unread=1 lists the new notification", unread)
    r = admin.post_json(API + "/notifications/%d/read" % note["id"], {})
    check(expect_json(r, 200).get("read") is True, "marking read returns the notification with read true", r)
    unread = harness.list_ids(admin, API + "/notifications", "unread=1&limit=1000")
    check(note["id"] not in unread, "a read notification leaves the unread list", unread)
    r = admin.post_json(API + "/users/%d/unlock" % u["id"], {})
    body = expect_json(r, 200, "unlock")
    check(body["locked"] is False and body["locked_until"] is None, "unlock returns the unlocked USER", r)
    c.login(name, pw)
    check(c.cookie, "login works after the unlock")


def test_login_errors_say_what_is_left_and_what_to_do(c, server):
    name, pw = fresh_user(server)
    left = []
    for i in range(1, 5):
        err = expect_error(c.post_json(API + "/auth/login", {"username": name, "password": "bad-%d-password" % i}),
                           401, "invalid_credentials")
        left.append(details(err).get("attempts_remaining"))
    check(left == [4, 3, 2, 1], "details.attempts_remaining counts down to the lock", left)
    # An unknown name reads as an account with one failure.
    err = expect_error(c.post_json(API + "/auth/login", {"username": "nobody-" + name, "password": "x-password"}),
                       401, "invalid_credentials")
    check(details(err).get("attempts_remaining") == 4, "an unknown user: 4 left", err)
    r = c.post_json(API + "/auth/login", {"username": name, "password": "bad-5-password"})
    err = expect_error(r, 429, "account_locked", "the 5th failure locks")
    until = details(err).get("locked_until")
    check(is_int(until) and 800 < until - time.time() <= 901, "details.locked_until is 15 minutes ahead", err)
    check(0 < details(err).get("retry_after_seconds") <= 900 and r.header("Retry-After"),
          "retry_after_seconds and Retry-After say how long", err)
    check("ask an administrator" in err["message"], "the message says who can lift it", err)
    err = expect_error(c.post_json(API + "/auth/login", {"username": name, "password": pw}), 429, "account_locked")
    check(details(err).get("locked_until") == until, "while locked, the same end is given", err)


def test_a_few_failures_do_not_lock(c, server):
    name, pw = fresh_user(server)
    for i in range(3):
        expect_error(c.post_json(API + "/auth/login", {"username": name, "password": "bad-password-%d" % i}),
                     401, "invalid_credentials")
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
