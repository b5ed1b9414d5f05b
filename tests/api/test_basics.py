"""test_basics.py - the API's ground rules, checked on a real `healer serve`.

What: health and Prometheus metrics (no auth), an X-Request-Id on every
response (matching error.request_id), the error envelope, 404 for unknown
routes and non-integer ids, 405 with an Allow header, 400 invalid_json for
malformed bodies, 415 for JSON endpoints sent something else, 400 for bad
list paging parameters.

Why: every other suite and every client relies on these conventions; they
are checked once here, on one shared server, so a regression names the rule
rather than showing up as a puzzling failure elsewhere.

Run: python3 tests/api/test_basics.py [test_name...]
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, is_int, is_num  # noqa: E402

SERVER = {}


def test_health(c):
    r = c.get(API + "/health")
    body = expect_json(r, 200)
    check(body.get("status") == "ok", "health status should be \"ok\"", r)
    check(body.get("version") == "0.1.0", "health version should be 0.1.0 (healer --help says 0.1.0)", r)
    check(is_int(body.get("uptime_seconds")) and body["uptime_seconds"] >= 0,
          "uptime_seconds should be a non-negative integer", r)


def test_health_needs_no_session_and_ignores_a_bad_cookie(c):
    r = c.get(API + "/health", cookie="not-a-session")
    expect_json(r, 200)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?[ \t]+(\S+)([ \t]+-?\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def _parse_labels(s):
    labels, pos = {}, 0
    while pos < len(s):
        m = _LABEL.match(s, pos)
        if not m:
            return None
        labels[m.group(1)] = m.group(2)
        pos = m.end()
    return labels


def parse_metrics(text):
    """[(name, labels, value)] of a Prometheus text exposition; fails on a
    line that is neither a comment nor a valid sample."""
    samples = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            if line.startswith("#"):
                check(re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* ", line) or not re.match(r"^# (HELP|TYPE)", line),
                      "metrics line %d: malformed comment %r" % (n, line))
            continue
        m = _SAMPLE.match(line)
        check(m, "metrics line %d is not a Prometheus sample: %r" % (n, line))
        labels = _parse_labels(m.group(3) or "")
        check(labels is not None, "metrics line %d: malformed labels: %r" % (n, line))
        v = m.group(4)
        try:
            value = float(v.replace("Inf", "inf").replace("NaN", "nan"))
        except ValueError:
            value = None
        check(value is not None, "metrics line %d: value %r is not a number" % (n, v))
        samples.append((m.group(1), labels, value))
    return samples


def test_metrics_prometheus_text(c):
    for _ in range(3):
        expect_json(c.get(API + "/health"), 200)
    r = c.get("/metrics")
    check(r.status == 200, "GET /metrics should answer 200", r)
    ctype = (r.header("Content-Type") or "").lower()
    check(ctype.startswith("text/plain"), "metrics Content-Type should be text/plain, got %r" % ctype, r)
    samples = parse_metrics(r.text)
    names = {s[0] for s in samples}
    for want in ("healer_http_requests_total", "healer_http_request_duration_seconds_bucket",
                 "healer_http_request_duration_seconds_sum", "healer_http_request_duration_seconds_count",
                 "healer_jobs", "healer_job_queue_length"):
        check(want in names, "metric %s is missing" % want, r)
    reqs = [s for s in samples if s[0] == "healer_http_requests_total"]
    for _, labels, value in reqs:
        for key in ("route", "method", "status"):
            check(key in labels, "healer_http_requests_total sample without label %s: %s" % (key, labels))
        check(value >= 0, "negative request counter %s" % labels)
    health = [s for s in reqs if "health" in s[1]["route"] and s[1]["method"] == "GET" and s[1]["status"] == "200"]
    check(health and sum(s[2] for s in health) >= 3,
          "healer_http_requests_total should count the 3+ GET /api/v1/health answered 200", r)
    states = {s[1].get("state") for s in samples if s[0] == "healer_jobs"}
    for st in ("queued", "running", "succeeded", "failed", "cancelled"):
        check(st in states, "healer_jobs{state=\"%s\"} is missing" % st, r)
    # Histogram: cumulative buckets per label set, ending in le="+Inf" == _count.
    buckets = {}
    for name, labels, value in samples:
        if name == "healer_http_request_duration_seconds_bucket":
            check("le" in labels, "bucket without le label: %s" % labels)
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            le = float(labels["le"].replace("Inf", "inf"))
            buckets.setdefault(key, []).append((le, value))
    counts = {tuple(sorted(l.items())): v for n, l, v in samples if n == "healer_http_request_duration_seconds_count"}
    check(buckets, "no duration buckets", r)
    for key, bs in buckets.items():
        bs.sort()
        check(bs[-1][0] == float("inf"), "histogram %s has no le=\"+Inf\" bucket" % (key,), r)
        vals = [v for _, v in bs]
        check(vals == sorted(vals), "histogram %s buckets are not cumulative: %s" % (key, bs))
        if key in counts:
            check(counts[key] == vals[-1], "histogram %s: _count %s != +Inf bucket %s" % (key, counts[key], vals[-1]))


def test_metrics_count_grows(c):
    def health_count():
        samples = parse_metrics(c.get("/metrics").text)
        return sum(v for n, l, v in samples if n == "healer_http_requests_total"
                   and "health" in l.get("route", "") and l.get("status") == "200")
    before = health_count()
    for _ in range(5):
        c.get(API + "/health")
    after = health_count()
    check(after >= before + 5, "5 more health requests should raise the counter by 5: %s -> %s" % (before, after))


def test_request_id_on_every_response(c):
    c2 = c.new().login_as("alice")
    responses = [
        c.get(API + "/health"),
        c.get("/metrics"),
        c.get(API + "/no-such-thing"),
        c.get(API + "/auth/me"),                       # 401
        c.post_raw(API + "/auth/login", "{", "application/json"),  # 400
        c.post_raw(API + "/auth/login", "x=1", "text/plain"),      # 415
        c2.get(API + "/auth/me"),                      # 200
        c2.get(API + "/datasets"),                     # 200 list
        c2.request("PUT", API + "/datasets", body=b"{}", headers={"Content-Type": "application/json"}),  # 405
        c2.get(API + "/datasets/987654"),              # 404
        c2.post_json(API + "/jobs", {}, csrf=False),   # 403 csrf
        c.post_json(API + "/auth/login", {"username": "alice", "password": "wrong-password"}),  # 401
    ]
    seen = set()
    for r in responses:
        rid = r.header("X-Request-Id")
        check(rid and rid.strip(), "no X-Request-Id on %s %s (HTTP %s)" % (r.method, r.path, r.status), r)
        check(rid not in seen, "X-Request-Id %r repeated on %s %s" % (rid, r.method, r.path))
        seen.add(rid)
        if r.status >= 400 and r.json is not None:
            expect_error(r, r.status)  # checks error.request_id == header


def test_unknown_route_404(c):
    c.login_as("alice")
    for path in (API + "/no-such-thing", API + "/datasets/1/no-such-thing", API + "/v2",
                 API + "/models/1/download/extra"):
        expect_error(c.get(path), 404, "not_found")


def test_wrong_method_405_with_allow(c):
    c.login_as("alice")
    cases = [
        ("DELETE", API + "/health", {"GET"}),
        ("POST", API + "/auth/me", {"GET"}),
        ("GET", API + "/auth/login", {"POST"}),
        ("PUT", API + "/datasets", {"GET", "POST"}),
        ("PATCH", API + "/jobs", {"GET", "POST"}),
        ("PUT", API + "/datasets/1", {"GET", "DELETE"}),
    ]
    results = harness.Cases()
    for method, path, allowed in cases:
        with results("%s %s" % (method, path)):
            r = c.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
            expect_error(r, 405, "method_not_allowed")
            allow = r.header("Allow")
            check(allow, "405 without an Allow header", r)
            got = {m.strip().upper() for m in allow.split(",") if m.strip()}
            check(allowed <= got, "Allow %r should list %s" % (allow, sorted(allowed)), r)
            check(method not in got, "Allow %r lists the refused method" % allow, r)
    results.done()


def test_non_integer_id_404(c):
    c.login_as("alice")
    results = harness.Cases()
    for path in ("/datasets/abc", "/datasets/1.5", "/datasets/12abc", "/datasets/abc/download",
                 "/jobs/x", "/models/1e3", "/models/abc/report", "/diagnoses/%20",
                 "/datasets/99999999999999999999999"):
        with results("GET " + path):
            expect_error(c.get(API + path), 404, "not_found")
    with results("DELETE /datasets/abc"):
        expect_error(c.delete(API + "/datasets/abc"), 404, "not_found")
    with results("POST /jobs/abc/cancel"):
        expect_error(c.post_json(API + "/jobs/abc/cancel", {}), 404, "not_found")
    results.done()


def test_malformed_json_400(c):
    r = c.post_raw(API + "/auth/login", '{"username": "alice", ', "application/json")
    expect_error(r, 400, "invalid_json")
    c.login_as("alice")
    body = '{\n  "type": "train",\n  "dataset_id": ,\n  "algo": "gbdt"\n}'
    err = expect_error(c.post_raw(API + "/jobs", body, "application/json"), 400, "invalid_json")
    d = details(err)
    if d.get("line") is not None:  # "details.line/column when known"
        check(d["line"] == 3, "invalid_json details.line should be 3 (the bad line)", err)
    if d.get("column") is not None:
        check(is_int(d["column"]) and d["column"] >= 1, "invalid_json details.column should be a positive integer", err)
    for bad in ('{"a": 1,}', "{'a': 1}", '{"a": tru}', "\x00", '{"a": "\\x"}', '{"a": 1} trailing'):
        expect_error(c.post_raw(API + "/jobs", bad, "application/json"), 400, "invalid_json")


def test_empty_or_non_object_json_400(c):
    for body in ("", "[]", '"alice"', "42", "null"):
        r = c.post_raw(API + "/auth/login", body, "application/json")
        expect_error(r, 400, ("invalid_json", "bad_request"))


def test_login_field_types_400(c):
    for body in ({"username": "alice"}, {"password": "alice-pass-1234"}, {"username": 5, "password": "x"},
                 {"username": "alice", "password": ["alice-pass-1234"]},
                 {"username": "alice", "password": "alice-pass-1234", "remember": "yes"}):
        expect_error(c.post_json(API + "/auth/login", body), 400, ("bad_request", "invalid_json"))
    check(c.cookie is None, "a refused login must not set a session cookie")


def test_wrong_content_type_415(c):
    login = '{"username": "alice", "password": "alice-pass-1234"}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        expect_error(c.post_raw(API + "/auth/login", login, ctype), 415, "unsupported_media_type")
    check(c.cookie is None, "a 415 login must not log in")
    r = c.post_raw(API + "/auth/login", login, "application/json; charset=utf-8")
    expect_json(r, 200, "login with application/json; charset=utf-8")
    ds_body = '{"type": "train", "dataset_id": 1, "algo": "gbdt"}'
    expect_error(c.post_raw(API + "/jobs", ds_body, "text/plain"), 415, "unsupported_media_type")
    expect_error(c.post_raw(API + "/users", '{"username": "x"}', "text/csv"), (415, 403),
                 ("unsupported_media_type", "forbidden"))


def test_json_responses_are_utf8_json(c):
    c.login_as("alice")
    for path in ("/health", "/auth/me", "/datasets", "/jobs", "/models", "/diagnoses"):
        r = c.get(API + path)
        expect_json(r, 200)


def test_list_envelope_and_paging_params(c):
    c.login_as("alice")
    for res in ("datasets", "jobs", "models", "diagnoses"):
        r = c.get(API + "/%s?offset=0&limit=1000" % res)
        body = expect_json(r, 200)
        check(isinstance(body.get("items"), list) and is_int(body.get("total")), "bad list envelope", r)
        check(body.get("offset") == 0 and body.get("limit") == 1000, "list should echo offset 0 and limit 1000", r)
        r = c.get(API + "/%s?limit=1" % res)
        check(expect_json(r, 200).get("limit") == 1, "limit=1 should be echoed", r)
        for q in ("limit=0", "limit=1001", "limit=-1", "limit=abc", "offset=-1", "offset=x", "limit=1.5"):
            expect_error(c.get(API + "/%s?%s" % (res, q)), 400, "bad_request")


def test_times_are_integers(c):
    r = c.login("alice", "alice-pass-1234")
    body = r.json
    check(is_int(body.get("expires_at")) and body["expires_at"] > time.time(), "expires_at should be a future unix time", r)
    check(is_int(body["user"].get("created_at")), "created_at should be an integer unix time", r)
    h = expect_json(c.get(API + "/health"), 200)
    check(is_num(h["uptime_seconds"]), "uptime should be a number")


def test_head_is_get_without_a_body(c):
    r = c.request("HEAD", API + "/health")
    check(r.status == 200 and not r.body, "HEAD /health answers 200 without a body", r)
    check(r.headers.get("X-Request-Id"), "with a request id", r)


def test_web_ui_is_served_with_caching_and_gzip():
    """The UI's files come from --web-dir: index.html for client routes,
    revalidated by ETag (304), gzip when the client takes it, the right
    types, and no way out of the directory."""
    web = os.path.join(harness.ROOT, "web", "dist")
    check(os.path.isfile(os.path.join(web, "index.html")), "make web has built web/dist", web)
    s = harness.Server(args=["--web-dir", web], name="server with the web UI").start()
    with s:
        c = s.client()
        r = c.get("/")
        check(r.status == 200 and r.headers.get("Content-Type", "").startswith("text/html"), "/ is the UI", r)
        check(b"<html" in r.body.lower(), "an HTML page", r)
        csp = r.headers.get("Content-Security-Policy", "")
        check("script-src 'self'" in csp and "frame-ancestors 'none'" in csp, "a strict CSP", r)
        check(r.headers.get("X-Frame-Options") == "DENY" and r.headers.get("Referrer-Policy") == "no-referrer",
              "no framing, no referrer", r)
        etag = r.headers.get("ETag")
        check(etag and r.headers.get("Cache-Control") == "no-cache", "ETag and no-cache", r)
        r2 = c.get("/", headers={"If-None-Match": etag})
        check(r2.status == 304 and not r2.body, "unchanged: 304 without a body", r2)
        check(c.get("/datasets").status == 200, "a path without a dot is the UI too")
        gz = c.get("/vendor/echarts/echarts.min.js", headers={"Accept-Encoding": "gzip"})
        check(gz.status == 200 and gz.headers.get("Content-Encoding") == "gzip", "gzip when accepted", gz)
        plain = c.get("/vendor/echarts/echarts.min.js")
        check(plain.headers.get("Content-Encoding") is None and len(plain.body) > len(gz.body),
              "plain otherwise, and larger", plain)
        check(plain.headers.get("Content-Type", "").startswith("text/javascript"), "JavaScript type", plain)
        for bad in ("/../Makefile", "/%2e%2e/Makefile", "/vendor/../../Makefile", "/nope.js"):
            r = c.get(bad)
            check(r.status == 404, "%s is not served" % bad, r)
        r = c.post_json("/index.html", {})
        check(r.status == 405 and "GET" in r.headers.get("Allow", ""), "static files are read-only", r)


if __name__ == "__main__":
    harness.main(globals())
