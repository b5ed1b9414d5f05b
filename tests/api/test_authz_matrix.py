"""test_authz_matrix.py - the authorization matrix, generated from the route
table of the binary under test.

What: `healer routes --json` lists every route with its declared rules
(PUBLIC, AUTH, ADMIN, NO_CSRF, OPT_AUTH, OWNED, body type). Every route is
called by every caller - anonymous, the owner of the records (alice),
another user (bob, on alice's records), a non-admin (carol) and an admin -
with a valid, a missing and a wrong CSRF token, and the answer must be the
one the rules give: 401 for anonymous on a route that needs a session, 403
forbidden for a non-admin on an ADMIN route, 403 csrf_failed for a
state-changing route with a session but without the right token (NO_CSRF
routes exempt), 404 for another user's OWNED record (or the same 400/422
that a record nobody has gets, when the empty body is refused first), and
otherwise neither 401, 403, a 404 for the owner or an admin, nor a 5xx.

Why: a rule written per endpoint is forgotten on the next endpoint; here
the rules are data in the route table and the test fails for a route that
has no fixture in FIXTURES below (and for a fixture whose route is gone),
so a new route cannot be added without being covered.

Run: python3 tests/api/test_authz_matrix.py [test_name...]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_rca  # noqa: E402  (its fixtures: a model, a topology, an analysis)
from harness import API, check, expect_json  # noqa: E402

# The logins here come from one address, and the victim's five failed
# ones (for the lock's notification) count toward that address's back-off:
# without it, a later login could be refused like a wrong password.
SERVER = {"args": ["--login-address-backoff-after", "0"]}

# Every route of the table: the world's records its {id} / {ix} take, in
# order ("" for a route without any). A route missing here fails the test.
FIXTURES = {
    ("GET", "/api/v1/health"): (),
    ("GET", "/metrics"): (),
    ("GET", "/api/v1/algorithms"): (),
    ("GET", "/api/v1/setup"): (),
    ("POST", "/api/v1/setup"): (),
    ("POST", "/api/v1/auth/login"): (),
    ("POST", "/api/v1/auth/logout"): (),
    ("GET", "/api/v1/auth/me"): (),
    ("GET", "/api/v1/auth/me/preferences"): (),
    ("PUT", "/api/v1/auth/me/preferences"): (),
    ("POST", "/api/v1/auth/me/password"): (),
    ("PUT", "/api/v1/auth/me/email"): (),
    ("POST", "/api/v1/auth/unlock"): (),
    ("GET", "/api/v1/users"): (),
    ("POST", "/api/v1/users"): (),
    ("POST", "/api/v1/users/{id}/disable"): ("victim",),
    ("POST", "/api/v1/users/{id}/enable"): ("victim",),
    ("POST", "/api/v1/users/{id}/unlock"): ("victim",),
    ("POST", "/api/v1/users/{id}/password"): ("victim",),
    ("PUT", "/api/v1/users/{id}/email"): ("victim",),
    ("GET", "/api/v1/notifications"): (),
    ("POST", "/api/v1/notifications/{id}/read"): ("notification",),
    ("GET", "/api/v1/audit"): (),
    ("GET", "/api/v1/security/report"): (),
    ("POST", "/api/v1/datasets"): (),
    ("GET", "/api/v1/datasets"): (),
    ("GET", "/api/v1/datasets/{id}"): ("dataset",),
    ("DELETE", "/api/v1/datasets/{id}"): ("dataset",),
    ("GET", "/api/v1/datasets/{id}/download"): ("dataset",),
    ("POST", "/api/v1/datasets/{id}/restore"): ("dataset",),
    ("POST", "/api/v1/datasets/{id}/ingest"): ("dataset",),
    ("POST", "/api/v1/jobs"): (),
    ("GET", "/api/v1/jobs"): (),
    ("GET", "/api/v1/jobs/{id}"): ("job",),
    ("POST", "/api/v1/jobs/{id}/cancel"): ("job",),
    ("GET", "/api/v1/models"): (),
    ("POST", "/api/v1/models/leaderboard"): (),
    ("GET", "/api/v1/models/{id}"): ("model",),
    ("DELETE", "/api/v1/models/{id}"): ("model",),
    ("GET", "/api/v1/models/{id}/download"): ("model",),
    ("GET", "/api/v1/models/{id}/report"): ("model",),
    ("PUT", "/api/v1/models/{id}/class-names"): ("model",),
    ("POST", "/api/v1/models/{id}/restore"): ("model",),
    ("POST", "/api/v1/diagnoses"): (),
    ("GET", "/api/v1/diagnoses"): (),
    ("GET", "/api/v1/diagnoses/{id}"): ("diagnosis",),
    ("DELETE", "/api/v1/diagnoses/{id}"): ("diagnosis",),
    ("POST", "/api/v1/diagnoses/{id}/restore"): ("diagnosis",),
    ("GET", "/api/v1/diagnoses/{id}/download"): ("diagnosis",),
    ("GET", "/api/v1/diagnoses/{id}/projection"): ("diagnosis",),
    ("GET", "/api/v1/diagnoses/{id}/rows/{id}"): ("diagnosis", "row"),
    ("GET", "/api/v1/diagnoses/{id}/suggestions"): ("diagnosis",),
    ("GET", "/api/v1/diagnoses/{id}/labels"): ("diagnosis",),
    ("PUT", "/api/v1/diagnoses/{id}/labels"): ("diagnosis",),
    ("POST", "/api/v1/topologies"): (),
    ("GET", "/api/v1/topologies"): (),
    ("GET", "/api/v1/topologies/{id}"): ("topology",),
    ("DELETE", "/api/v1/topologies/{id}"): ("topology",),
    ("GET", "/api/v1/topologies/{id}/download"): ("topology",),
    ("POST", "/api/v1/topologies/{id}/restore"): ("topology",),
    ("GET", "/api/v1/analyses"): (),
    ("GET", "/api/v1/analyses/{id}"): ("analysis",),
    ("DELETE", "/api/v1/analyses/{id}"): ("analysis",),
    ("POST", "/api/v1/analyses/{id}/restore"): ("analysis",),
    ("GET", "/api/v1/analyses/{id}/incidents"): ("analysis",),
    ("GET", "/api/v1/analyses/{id}/incidents/{ix}"): ("analysis", "incident"),
    ("GET", "/api/v1/analyses/{id}/download"): ("analysis",),
}

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# Ids no record has, for comparing answers.
GHOSTS = {k: 999999 for k in ("dataset", "job", "model", "diagnosis", "row", "topology", "analysis",
                              "incident", "victim", "notification")}
CALLERS = ("anonymous", "owner", "other", "nonadmin", "admin")
CSRF_MODES = ("with", "without", "wrong")


def routes_of_binary():
    p = harness.run_healer(["routes", "--json"])
    check(p.returncode == 0, "healer routes --json works", p.stderr)
    return json.loads(p.stdout)


def build_world(s):
    """alice's records (every kind a route takes), the victim of the admin
    routes, a notification, and a session per caller."""
    alice = s.client().login_as("alice")
    m, t, ds = test_rca.rca_inputs(alice)
    done, analysis = test_rca.run_analysis(alice, m, t, ds)
    data, _ = test_rca.samples()
    diag = expect_json(alice.post_json(API + "/diagnoses",
                                       {"model_id": m["id"], "rows": harness.rows_as_json(data, 0, 3)}),
                       201, "diagnosis")
    admin = s.client().login_as("admin")
    victim = expect_json(admin.post_json(API + "/users", {"username": "victim", "password": "victim-pass-1234"}),
                         201, "victim")
    # An account lock raises the admins' notification.
    for _ in range(5):
        s.client().login("victim", "wrong-password-1", expect_status=None)
    notes = expect_json(admin.get(API + "/notifications"), 200, "notifications")["items"]
    check(notes, "a notification exists", notes)
    world = {"dataset": ds["id"], "job": done["id"], "model": m["id"], "diagnosis": diag["id"],
             "row": 1, "topology": t["id"], "analysis": analysis["id"], "incident": 0,
             "victim": victim["id"], "notification": notes[0]["id"]}
    expect_json(admin.post_json(API + "/users", {"username": "carol", "password": "carol-pass-12345"}),
                201, "carol")
    carol = s.client()
    carol.login("carol", "carol-pass-12345")
    sessions = {"anonymous": s.client(), "owner": alice, "other": s.client().login_as("bob"),
                "nonadmin": carol, "admin": admin}
    return world, sessions


def path_of(pattern, ids, world):
    out = pattern
    for key in ids:
        slot = "{ix}" if key == "incident" else "{id}"
        out = out.replace(slot, str(world[key]), 1)
    return out


def expected(route, caller, mode):
    """(status or None for "allowed", error code) the rules give."""
    flags = set(route["flags"])
    needs_session = bool(flags & {"AUTH", "ADMIN"})
    resolves = needs_session or "OPT_AUTH" in flags
    authed = caller != "anonymous"
    if needs_session and not authed:
        return 401, "unauthorized"
    if "ADMIN" in flags and caller != "admin":
        return 403, "forbidden"
    if resolves and authed and route["method"] in STATE_CHANGING and "NO_CSRF" not in flags and mode != "with":
        return 403, "csrf_failed"
    if "OWNED" in flags and caller in ("other", "nonadmin"):
        return 404, "not_found"
    return None, None


def call(client, route, path, mode, tokens):
    method = route["method"]
    flags = set(route["flags"])
    headers, body = {}, None
    if "JSON" in flags:
        headers["Content-Type"] = "application/json"
        body = b"{}"
    elif "MULTIPART" in flags:
        headers["Content-Type"] = "multipart/form-data; boundary=x"
        body = b"--x--\r\n"
    elif method in STATE_CHANGING:
        body = b""
    csrf = {"with": client.csrf or tokens["admin"], "without": False, "wrong": "0" * 64}[mode]
    if method not in STATE_CHANGING and mode != "without":
        headers["X-CSRF-Token"] = csrf or ""
    return client.request(method, path, body=body, headers=headers, csrf=csrf)


def test_every_route_has_a_fixture():
    routes = routes_of_binary()
    keys = {(r["method"], r["pattern"]) for r in routes}
    missing = sorted(keys - set(FIXTURES))
    stale = sorted(set(FIXTURES) - keys)
    check(not missing, "every route has a fixture in FIXTURES (add one for a new route)", missing)
    check(not stale, "every fixture names a route that exists", stale)
    for r in routes:
        ids = FIXTURES.get((r["method"], r["pattern"]), ())
        check(len(ids) == r["pattern"].count("{"), "a fixture per path parameter", r)
        if "OWNED" in r["flags"]:
            check("AUTH" in r["flags"] and "{id}" in r["pattern"], "OWNED routes need a session and an id", r)


def test_matrix(server):
    routes = routes_of_binary()
    world, sessions = build_world(server)
    tokens = {"admin": sessions["admin"].csrf}
    # Logging out ends the session the next calls need: it goes last, and
    # each caller's valid-token call comes last of its three.
    routes.sort(key=lambda r: r["pattern"] == "/api/v1/auth/logout")
    failures, calls = [], 0
    for route in routes:
        ids = FIXTURES.get((route["method"], route["pattern"]))
        check(ids is not None, "fixture for %s %s" % (route["method"], route["pattern"]))
        path = path_of(route["pattern"], ids, world)
        for caller in CALLERS:
            for mode in ("wrong", "without", "with"):
                r = call(sessions[caller], route, path, mode, tokens)
                calls += 1
                want, code = expected(route, caller, mode)
                where = "%s %s as %s, CSRF %s: %d %s" % (route["method"], path, caller, mode, r.status,
                                                         r.error_code or "")
                if want == 404 and r.status in (400, 422):
                    # The body was refused before the record was looked
                    # up: fine as long as a record nobody has answers the
                    # same (nothing about alice's record leaks).
                    ghost = call(sessions[caller], route, path_of(route["pattern"], ids, GHOSTS), mode, tokens)
                    if (ghost.status, ghost.error_code) != (r.status, r.error_code):
                        failures.append(where + " (a record nobody has: %d)" % ghost.status)
                elif want is not None:
                    if r.status != want or (code and r.error_code != code):
                        failures.append(where + " (expected %d %s)" % (want, code))
                elif r.status in (401, 403) or r.status >= 500 or \
                        ("OWNED" in route["flags"] and r.status == 404):
                    failures.append(where + " (expected an allowed answer)")
    check(not failures, "%d of %d calls broke the route rules" % (len(failures), calls), *failures[:40])
    check(calls == len(routes) * len(CALLERS) * len(CSRF_MODES), "every route x caller x token", calls)


if __name__ == "__main__":
    harness.main(globals())
