"""test_admin.py - user administration over HTTP (admin only).

What: an admin lists and creates users (409 for a taken name, 422
invalid_data naming the field for a weak password, a bad name or a bad
role), disables an account (its login then answers 403 account_disabled and
its open sessions stop working), enables it again, resets a password (the
user's sessions end, the old password fails, the new one works); a normal
user gets 403 forbidden and an anonymous caller 401 on every admin endpoint.

Why: administration is where a missing check hands one user power over the
others; every endpoint is tried with each kind of caller. Tests create the
users they change, so they do not depend on each other.

Run: python3 tests/api/test_admin.py [test_name...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, has_fields, USER_FIELDS  # noqa: E402

SERVER = {}


def admin_of(c):
    return c.login_as("admin")


def create_user(admin, role="user"):
    name = harness.unique("adm")
    pw = name + "-pass-1234"
    r = admin.post_json(API + "/users", {"username": name, "password": pw, "role": role})
    u = expect_json(r, 201, "create user")
    has_fields(u, USER_FIELDS, "USER")
    check(u["username"] == name and u["role"] == role, "created user has the asked name and role", r)
    check(u["disabled"] is False and u["locked"] is False, "a new user is enabled and unlocked", r)
    return u, pw


def test_list_users(c):
    admin_of(c)
    r = c.get(API + "/users?limit=1000")
    body = expect_json(r, 200)
    has_fields(body, ("items", "total", "offset", "limit"), "user list")
    by_name = {u["username"]: u for u in body["items"]}
    for name, role in (("admin", "admin"), ("alice", "user"), ("bob", "user")):
        check(name in by_name, "user %s is listed" % name, r)
        has_fields(by_name[name], USER_FIELDS, "USER")
        check(by_name[name]["role"] == role, "%s has role %s" % (name, role), r)
    check(body["total"] >= 3, "total counts every user", r)
    check("password" not in r.text.lower() and "argon" not in r.text.lower(), "no password data in the list", r)
    ids = [u["id"] for u in body["items"]]
    check(len(ids) == len(set(ids)), "user ids are unique", r)


def test_create_user_and_login(c):
    admin_of(c)
    u, pw = create_user(c)
    other = c.new()
    body = other.login(u["username"], pw).json
    check(body["user"]["id"] == u["id"], "the new user can log in", body)
    check(u["id"] in harness.list_ids(c, API + "/users"), "the new user is listed")


def test_create_admin_can_administer(c):
    admin_of(c)
    u, pw = create_user(c, role="admin")
    other = c.new()
    other.login(u["username"], pw)
    expect_json(other.get(API + "/users"), 200, "a created admin lists users")


def test_create_user_taken_409(c):
    admin_of(c)
    for name in ("alice", "admin"):
        r = c.post_json(API + "/users", {"username": name, "password": "another-pass-1234", "role": "user"})
        expect_error(r, 409, "conflict", "creating %s again" % name)
    c.new().login_as("alice")  # alice's password is unchanged


def test_create_user_invalid_422(c):
    admin_of(c)
    before = harness.list_ids(c, API + "/users")
    cases = [
        ({"username": harness.unique("w"), "password": "short", "role": "user"}, "password"),
        ({"username": harness.unique("w"), "password": "", "role": "user"}, "password"),
        ({"username": "bad name!", "password": "good-pass-1234", "role": "user"}, "username"),
        ({"username": "", "password": "good-pass-1234", "role": "user"}, "username"),
        ({"username": "x" * 200, "password": "good-pass-1234", "role": "user"}, "username"),
        ({"username": harness.unique("w"), "password": "good-pass-1234", "role": "root"}, "role"),
    ]
    results = harness.Cases()
    for body, field in cases:
        with results("bad %s %r" % (field, body[field][:20])):
            err = expect_error(c.post_json(API + "/users", body), 422, "invalid_data")
            check(details(err).get("field") == field, "details.field should be %r" % field, err)
    results.done()
    check(harness.list_ids(c, API + "/users") == before, "refused creations must not create users")


def test_disable_user(c):
    admin_of(c)
    u, pw = create_user(c)
    victim = c.new()
    victim.login(u["username"], pw)
    expect_json(victim.get(API + "/auth/me"), 200)
    r = c.post_json(API + "/users/%d/disable" % u["id"], {})
    body = expect_json(r, 200, "disable")
    check(body["id"] == u["id"] and body["disabled"] is True, "disable returns the USER with disabled true", r)
    expect_error(victim.get(API + "/auth/me"), 401, "unauthorized", "an open session of a disabled user")
    r = c.new().post_json(API + "/auth/login", {"username": u["username"], "password": pw})
    expect_error(r, 403, "account_disabled", "login of a disabled user")
    listed = {x["id"]: x for x in harness.list_items(c, API + "/users")}
    check(listed[u["id"]]["disabled"] is True, "the list shows the account disabled", listed[u["id"]])


def test_enable_user(c):
    admin_of(c)
    u, pw = create_user(c)
    expect_json(c.post_json(API + "/users/%d/disable" % u["id"], {}), 200)
    r = c.post_json(API + "/users/%d/enable" % u["id"], {})
    body = expect_json(r, 200, "enable")
    check(body["disabled"] is False, "enable returns the USER with disabled false", r)
    c.new().login(u["username"], pw)


def test_reset_password(c):
    admin_of(c)
    u, pw = create_user(c)
    victim = c.new()
    victim.login(u["username"], pw)
    new_pw = "brand-new-pass-5678"
    r = c.post_json(API + "/users/%d/password" % u["id"], {"password": new_pw})
    body = expect_json(r, 200, "password reset")
    check(body["id"] == u["id"], "reset returns the USER", r)
    expect_error(victim.get(API + "/auth/me"), 401, "unauthorized", "a session from before the reset")
    expect_error(c.new().post_json(API + "/auth/login", {"username": u["username"], "password": pw}),
                 401, "invalid_credentials", "the old password")
    c.new().login(u["username"], new_pw)


def test_reset_password_weak_refused(c):
    admin_of(c)
    u, pw = create_user(c)
    err = expect_error(c.post_json(API + "/users/%d/password" % u["id"], {"password": "short"}),
                       422, "invalid_data", "reset to a weak password")
    check(details(err).get("field") in (None, "password"), "details.field names the password", err)
    c.new().login(u["username"], pw)  # unchanged


def test_admin_actions_on_unknown_user_404(c):
    admin_of(c)
    for action in ("disable", "enable", "unlock"):
        expect_error(c.post_json(API + "/users/987654/%s" % action, {}), 404, "not_found")
    expect_error(c.post_json(API + "/users/987654/password", {"password": "good-pass-1234"}), 404, "not_found")
    expect_error(c.post_json(API + "/notifications/987654/read", {}), 404, "not_found")


def admin_calls(target_id):
    """(method, path, json body) of every admin endpoint."""
    return [
        ("GET", API + "/users", None),
        ("POST", API + "/users", {"username": harness.unique("no"), "password": "good-pass-1234", "role": "admin"}),
        ("POST", API + "/users/%d/disable" % target_id, {}),
        ("POST", API + "/users/%d/enable" % target_id, {}),
        ("POST", API + "/users/%d/unlock" % target_id, {}),
        ("POST", API + "/users/%d/password" % target_id, {"password": "hijacked-pass-1234"}),
        ("GET", API + "/notifications", None),
        ("GET", API + "/notifications?unread=1", None),
        ("POST", API + "/notifications/1/read", {}),
    ]


def _call(client, method, path, body):
    if method == "GET":
        return client.get(path)
    return client.post_json(path, body)


def test_non_admin_forbidden_everywhere(c):
    admin = c.new().login_as("admin")
    admin_id = admin.user["id"]
    c.login_as("alice")
    before = harness.list_ids(admin, API + "/users")
    for method, path, body in admin_calls(admin_id):
        expect_error(_call(c, method, path, body), 403, "forbidden", "alice: %s %s" % (method, path))
    check(harness.list_ids(admin, API + "/users") == before, "alice created no user")
    me = expect_json(admin.get(API + "/auth/me"), 200, "the admin's session survived")
    check(me["user"]["disabled"] is False, "the admin is still enabled", me)
    c.new().login_as("admin")  # password unchanged


def test_anonymous_unauthorized_everywhere(c):
    admin = c.new().login_as("admin")
    for method, path, body in admin_calls(admin.user["id"]):
        expect_error(_call(c, method, path, body), 401, "unauthorized", "anonymous: %s %s" % (method, path))
    c.new().login_as("admin")


if __name__ == "__main__":
    harness.main(globals())
