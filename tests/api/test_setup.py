"""test_setup.py - first-run setup of a fresh data directory.

What: a server on a data directory without users says setup_required, prints
"SystemHealer listening on http://HOST:PORT" and a one-time setup token on
stdout; POST /api/v1/setup refuses a wrong token (403 setup_token_invalid),
accepts the right one (201, the new admin is logged in with a session cookie),
and refuses a second setup (409 conflict); a server whose store already has
users needs no setup and prints no token. GET /api/v1/setup also states the
lockout rule (for the login page), and the rule it states is the one applied.

Why: this is how an operator gets the first admin account without a CLI
session; a token that leaked into the logs only, or a setup that could be
replayed, would hand the platform to whoever gets there first. Every test
starts its own server, because setup changes the store for good.

Run: python3 tests/api/test_setup.py [test_name...]
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_error, expect_json, has_fields, is_int, USER_FIELDS  # noqa: E402

TOKEN_RE = re.compile(r"^\s*setup token: ([A-Z2-9]{5}(?:-[A-Z2-9]{5}){3})\s*$", re.M)
# The contract's line is "SystemHealer listening on http://HOST:PORT"; a
# version between the name and "listening" is tolerated.
LISTEN_RE = r"^SystemHealer(?: \S+)? listening on http://127\.0\.0\.1:%d\s*$"


def fresh_server():
    return harness.Server(users=(), name="fresh server")


def setup_token(server):
    """The token the server printed on stdout (waits a little: the line may
    follow the readiness of /health by a few milliseconds)."""
    def find():
        m = TOKEN_RE.search(server.stdout_text())
        return m.group(1) if m else None
    try:
        return harness.wait_until(find, 3, "the setup token line on stdout")
    except harness.TestFailure:
        harness.fail("no 'setup token: XXXXX-XXXXX-XXXXX-XXXXX' line on stdout (is stdout flushed?)\n"
                     + server.logs_tail())


def wrong_token(token):
    """A well-formed token that differs from `token`."""
    first = "B" if token[0] != "B" else "C"
    return first + token[1:]


def test_fresh_dir_requires_setup_and_prints_token():
    with fresh_server() as s:
        c = s.client()
        body = expect_json(c.get(API + "/setup"), 200)
        check(body.get("setup_required") is True, "a store without users needs setup", body)
        setup_token(s)
        out = s.stdout_text()
        check(re.search(LISTEN_RE % s.port, out, re.M),
              "stdout lacks 'SystemHealer listening on http://127.0.0.1:%d'" % s.port, out)
        check(len(TOKEN_RE.findall(out)) == 1, "the setup token should be printed once", out)


def test_wrong_token_403():
    with fresh_server() as s:
        token = setup_token(s)
        c = s.client()
        for bad in (wrong_token(token), "nope", "AAAAA-AAAAA-AAAAA-AAAAA"):
            r = c.post_json(API + "/setup", {"token": bad, "username": "root", "password": "root-pass-1234"})
            expect_error(r, 403, "setup_token_invalid")
            check(c.cookie is None, "a refused setup must not log anyone in", r)
        check(expect_json(c.get(API + "/setup"), 200)["setup_required"] is True,
              "setup is still required after wrong tokens")
        # The real token still works afterwards.
        r = c.post_json(API + "/setup", {"token": token, "username": "root", "password": "root-pass-1234"})
        expect_json(r, 201, "setup with the right token after wrong ones")


def test_right_token_creates_admin_and_logs_in():
    with fresh_server() as s:
        token = setup_token(s)
        c = s.client()
        r = c.post_json(API + "/setup", {"token": token, "username": "root", "password": "root-pass-1234"})
        body = expect_json(r, 201)
        has_fields(body, ("user", "csrf_token", "expires_at"), "setup response")
        has_fields(body["user"], USER_FIELDS, "USER")
        check(body["user"]["username"] == "root" and body["user"]["role"] == "admin",
              "setup creates an admin named as asked", body)
        check(is_int(body["expires_at"]) and body["expires_at"] > time.time(), "expires_at in the future", body)
        check(c.cookie, "setup should set the healer_session cookie", r)
        me = expect_json(c.get(API + "/auth/me"), 200, "me after setup")
        check(me["user"]["username"] == "root", "the session belongs to the new admin", me)
        users = harness.list_items(c, API + "/users")
        check([u["username"] for u in users] == ["root"], "exactly the new admin exists", users)
        check(expect_json(c.get(API + "/setup"), 200)["setup_required"] is False,
              "no setup required once a user exists")
        # The new admin's password works for a normal login too.
        c.new().login("root", "root-pass-1234")


def test_setup_remember_me():
    with fresh_server() as s:
        c = s.client()
        body = expect_json(c.post_json(API + "/setup", {"token": setup_token(s), "username": "root",
                                                        "password": "root-pass-1234", "remember": True}), 201)
        check(body["remember"] is True, "a remembered setup session", body)
        check(604000 < body["expires_at"] - time.time() <= 604800, "it lasts 7 days, as a login's", body)
        me = expect_json(c.get(API + "/auth/me"), 200)
        check(me["remember"] is True, "me says the session is remembered", me)
    with fresh_server() as s:
        c = s.client()
        body = expect_json(c.post_json(API + "/setup", {"token": setup_token(s), "username": "root",
                                                        "password": "root-pass-1234"}), 201)
        check(body["remember"] is False and body["expires_at"] - time.time() < 3600,
              "without it, a browser session", body)
        expect_error(c.new().post_json(API + "/setup", {"token": "x", "username": "r", "password": "p",
                                                        "remember": "yes"}), 400, "bad_request")


def test_startup_message_stays_readable():
    with fresh_server() as s:
        setup_token(s)
        c = s.client()
        for _ in range(5):
            expect_json(c.get(API + "/health"), 200)
        out = s.stdout_text()
        exe = os.path.realpath(harness.HEALER)
        data = os.path.realpath(s.data_dir)
        check("shell: %s user add NAME --admin --data-dir %s" % (exe, data) in out,
              "the start-up message names the real binary and data directory", out)
        log = os.path.join(data, "logs", "access.log")
        check("Request log: %s" % log in out, "and where the request log is", out)
        check('"msg":"request"' not in s.stderr_text() + out, "no request lines on the console", s.stderr_text())
        text = harness.wait_until(lambda: open(log).read().count('"route":"/api/v1/health"') >= 5 and open(log).read(),
                                  3, "five health requests in the access log")
        check(all(json.loads(line)["msg"] == "request" for line in text.splitlines()), "JSON lines", text)
        check(os.stat(log).st_mode & 0o077 == 0, "the access log is private to the server's user", oct(os.stat(log).st_mode))
    s = harness.Server(users=(), name="stderr access log", args=["--access-log", "-"])
    with s:
        expect_json(s.client().get(API + "/health"), 200)
        harness.wait_until(lambda: '"route":"/api/v1/health"' in s.stderr_text(), 3, "a request line on stderr")
        check("Request log: stderr" in s.stdout_text(), "the message says so", s.stdout_text())
    s = harness.Server(users=(), name="bad access log", args=["--access-log", "/nonexistent/dir/a.log"])
    try:
        s.start(wait=False)
        rc = s.proc.wait(30)
        check(rc != 0 and "cannot open the access log" in s.stderr_text() + s.stdout_text(),
              "an access log that cannot be opened stops the server with the reason", s.stderr_text())
    finally:
        s.close()


def test_second_setup_409():
    with fresh_server() as s:
        token = setup_token(s)
        c = s.client()
        expect_json(c.post_json(API + "/setup", {"token": token, "username": "root", "password": "root-pass-1234"}), 201)
        other = s.client()
        r = other.post_json(API + "/setup", {"token": token, "username": "root2", "password": "root-pass-1234"})
        expect_error(r, 409, "conflict")
        check(other.cookie is None, "a refused second setup must not log in", r)
        users = harness.list_items(c, API + "/users")
        check([u["username"] for u in users] == ["root"], "the second setup created nobody", users)


def test_setup_needs_no_csrf_but_login_state_is_fresh():
    # POST /setup is exempt from CSRF: our fresh client has no token at all.
    with fresh_server() as s:
        token = setup_token(s)
        c = s.client()
        check(c.csrf is None, "fresh client")
        r = c.post_json(API + "/setup", {"token": token, "username": "root", "password": "root-pass-1234"}, csrf=False)
        expect_json(r, 201)
        # ...but the session it opened needs CSRF like any other.
        expect_error(c.post_json(API + "/users", {"username": "x1", "password": "x1-pass-1234", "role": "user"},
                                 csrf=False), 403, "csrf_failed")
        expect_json(c.post_json(API + "/users", {"username": "x1", "password": "x1-pass-1234", "role": "user"}), 201)


def test_setup_weak_password_refused():
    with fresh_server() as s:
        token = setup_token(s)
        c = s.client()
        r = c.post_json(API + "/setup", {"token": token, "username": "root", "password": "short"})
        expect_error(r, (400, 422), ("invalid_data", "bad_request"))
        check(expect_json(c.get(API + "/setup"), 200)["setup_required"] is True, "still no users")


def test_existing_users_no_setup_no_token():
    with harness.Server(users=(("admin", "admin-pass-1234", True),), name="server with users") as s:
        c = s.client()
        check(expect_json(c.get(API + "/setup"), 200).get("setup_required") is False,
              "a store with users needs no setup")
        time.sleep(0.3)
        check("setup token" not in s.stdout_text(), "no setup token when users exist", s.stdout_text())
        r = c.post_json(API + "/setup", {"token": "AAAAA-BBBBB-CCCCC-DDDDD", "username": "root",
                                          "password": "root-pass-1234"})
        # Users exist: 409 is the contract's answer; a server that checks the
        # (non-existent) token first would say 403 - both refuse.
        expect_error(r, (409, 403), ("conflict", "setup_token_invalid"))
        check(c.cookie is None, "a refused setup must not log in", r)


def test_setup_states_the_lockout_rule():
    """GET /setup (public) states the lockout rule the login page shows,
    from the policy the server runs with: max_failures refused logins
    within window_seconds lock the account for lock_seconds, one fewer
    does not."""
    users = (("admin", "admin-pass-1234", True), ("bob", "bob-pass-1234", False))
    with harness.Server(users=users, name="server with users") as s:
        anon = s.client()
        rule = expect_json(anon.get(API + "/setup"), 200).get("lockout")
        check(rule == {"max_failures": 5, "window_seconds": 900, "lock_seconds": 900},
              "the rule of auth.h's HS_LOCKOUT_DEFAULT (5 failures within 15 minutes lock for 15 minutes)", rule)
        admin = s.client()
        admin.login_as("admin")

        def bob():
            return next(u for u in harness.list_items(admin, API + "/users") if u["username"] == "bob")
        for _ in range(rule["max_failures"] - 1):
            anon.login("bob", "wrong-password", expect_status=401)
        check(bob()["locked"] is False, "one failure fewer than the rule says does not lock", bob())
        anon.login("bob", "wrong-password", expect_status=401)
        locked = bob()
        check(locked["locked"] is True, "the rule's number of failures locks", locked)
        left = locked["locked_until"] - time.time()
        check(rule["lock_seconds"] - 60 < left <= rule["lock_seconds"] + 1, "for the rule's time", left)


if __name__ == "__main__":
    harness.main(globals())
