"""harness.py - drives a real `healer serve` over HTTP on loopback for the API suites.

What: every tests/api/test_*.py module imports this file. It starts the
server the way an operator does (`build/healer serve --listen 127.0.0.1:PORT
--data-dir DIR`, users made with `healer user add`), talks to it with a
cookie-and-CSRF aware client the way the web front end does, makes its data
with `healer simulate`, and runs the module's test_* functions printing
cmocka's summary lines ("[  PASSED  ] N test(s)." / "[  FAILED  ] M test(s),
listed below:") so tests/run.sh counts the suites like the unit tests.

Why this way: the spec is docs/api-contract.tmp.md, and only a real process
on a real socket checks what a client actually sees (status, headers, cookie
flags, bytes, restart behaviour). Standard library only, so the suites run
wherever `make test` runs. Everything has a timeout: every HTTP call
(HTTP_TIMEOUT), every server start (START_TIMEOUT), every test (TEST_TIMEOUT,
per test via @timeout) and every module (MODULE_BUDGET), and every server
started here is killed when the process exits, so a broken or hung server
makes tests fail instead of hanging CI.

Usage in a module:

    import harness
    from harness import check, expect, expect_error
    SERVER = {"args": ["--max-upload-mb", "1"]}   # shared server (optional)
    def test_something(c):                          # c: fresh anonymous Client
        c.login_as("alice")
        ...
    if __name__ == "__main__":
        harness.main(globals())

A test that takes a parameter `c` gets a fresh Client bound to the module's
shared server (started once, on first use, with the SERVER dict as keyword
arguments of Server, default users admin/alice/bob); one that takes `server`
gets the shared Server itself; one that takes nothing starts its own servers
(use `with harness.Server(...) as s:`). Server(tls=True) serves HTTPS with a
pair made by `healer cert` (clients then verify it as their only trusted
certificate); Server(host="0.0.0.0") listens there (clients still use
127.0.0.1). Arguments after the file name run
only the named tests. HEALER=path overrides the binary; HEALER_API_KEEP=1
keeps the temporary data directories and logs for a post-mortem.
"""

import atexit
import csv
import http.client
import inspect
import io
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HEALER = os.environ.get("HEALER") or os.path.join(ROOT, "build", "healer")
if not os.path.isabs(HEALER):
    HEALER = os.path.join(ROOT, HEALER)

HTTP_TIMEOUT = 15.0      # seconds for any single HTTP exchange
START_TIMEOUT = 20.0     # seconds for a server to answer /api/v1/health
STOP_TIMEOUT = 20.0      # seconds for a graceful stop
TEST_TIMEOUT = 60.0      # default per-test limit (override with @timeout)
MODULE_BUDGET = float(os.environ.get("HEALER_API_BUDGET", "150"))
KEEP = os.environ.get("HEALER_API_KEEP") == "1"

API = "/api/v1"
FINAL_STATES = ("succeeded", "failed", "cancelled")
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")

# The users every shared server gets unless the module says otherwise.
# (name, password, is_admin)
DEFAULT_USERS = (
    ("admin", "admin-pass-1234", True),
    ("alice", "alice-pass-1234", False),
    ("bob", "bob-pass-1234", False),
)

# Fields the contract promises on each object.
USER_FIELDS = ("id", "username", "role", "disabled", "locked", "locked_until", "created_at", "email")
DATASET_FIELDS = ("id", "owner_id", "name", "size_bytes", "rows", "features", "kind", "created_at",
                  "deleted_at", "state", "ingest_error")
PROFILE_FIELDS = ("rows", "features", "rows_read", "rows_skipped_no_label", "unlabelled_rows",
                  "duplicate_rows", "conflicting_rows", "missing_cells", "missing_rate",
                  "constant_features", "has_labels", "class_counts", "kpis", "preview")
KPI_FIELDS = ("name", "missing", "missing_rate", "min", "p05", "median", "p95", "max", "mean", "std")
JOB_FIELDS = ("id", "owner_id", "type", "state", "progress", "stage", "round", "rounds", "losses",
              "error", "attempts", "dataset_id", "model_id", "diagnosis_id", "topology_id",
              "analysis_id", "result", "name",
              "cancel_requested", "restarts", "created_at", "started_at", "finished_at",
              "elapsed_seconds")
MODEL_FIELDS = ("id", "owner_id", "name", "algo", "dataset_id", "job_id", "features", "classes",
                "labels", "class_names", "macro_f1", "accuracy", "size_bytes", "created_at", "deleted_at")
DIAGNOSIS_FIELDS = ("id", "owner_id", "name", "model_id", "job_id", "rows", "created_at", "classes",
                    "class_counts", "metrics", "unknown_labels", "drift", "drift_skipped", "adapt", "warnings",
                    "class_names", "deleted_at")
ADAPT_FIELDS = ("applied", "reason", "reason_code", "min_rows", "iterations", "converged", "class_mix",
                "training_mix", "changed")
DRIFT_FIELDS = ("verdict", "rows", "reference_rows", "significant", "kpis_total", "kpis",
                "reference_class_mix", "thresholds")
DRIFT_KPI_FIELDS = ("kpi", "psi", "ks", "significant", "level", "ks_critical", "chi2", "chi2_critical",
                    "missing_reference", "missing_batch")
METRICS_FIELDS = ("samples", "accuracy", "macro_precision", "macro_recall", "macro_f1",
                  "weighted_f1", "log_loss", "per_class", "confusion")
RESULT_FIELDS = ("row", "sample_id", "predicted", "confidence", "probabilities", "label")
NOTIFICATION_FIELDS = ("id", "kind", "message", "user_id", "created_at", "read")


# --------------------------------------------------------------------------
# assertions

class TestFailure(AssertionError):
    pass


class TestTimeout(BaseException):
    """Raised in the main thread when a test overruns its time limit.
    BaseException so that a test's own `except Exception` cannot eat it."""


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg, *context):
    """Fails the test with msg (and the context objects, e.g. a Response)."""
    if not cond:
        parts = [msg] + [describe(x) for x in context]
        raise TestFailure("\n    ".join(parts))


def describe(x):
    if isinstance(x, Response):
        return x.describe()
    if isinstance(x, (dict, list)):
        s = json.dumps(x, sort_keys=True)
        return s if len(s) < 1500 else s[:1500] + "...(%d bytes)" % len(s)
    return repr(x)


def _status_ok(status, want):
    if isinstance(want, (tuple, list, set, frozenset)):
        return status in want
    if want == "2xx":
        return 200 <= status < 300
    return status == want


def expect(r, status, what=None):
    """The response has `status` (an int, a tuple of ints or "2xx") and,
    unless it is 204 or not JSON by nature, a JSON body; returns the body."""
    label = what or "%s %s" % (r.method, r.path)
    check(_status_ok(r.status, status), "%s: expected HTTP %s, got %s" % (label, status, r.status), r)
    return r.json


def expect_json(r, status, what=None):
    body = expect(r, status, what)
    check(body is not None, "%s: response body is not JSON" % (what or r.path), r)
    ctype = r.header("Content-Type") or ""
    check(ctype.lower().startswith("application/json"),
          "%s: Content-Type should be application/json, got %r" % (what or r.path, ctype), r)
    return body


def expect_error(r, status, code=None, what=None):
    """The response is an error in the contract's format:
    {"error": {"code", "message", "details"?, "request_id"}} with the given
    status and code (a string or a tuple of accepted codes). Returns the
    error object."""
    label = what or "%s %s" % (r.method, r.path)
    check(_status_ok(r.status, status), "%s: expected HTTP %s, got %s" % (label, status, r.status), r)
    body = r.json
    check(isinstance(body, dict) and isinstance(body.get("error"), dict),
          "%s: body is not {\"error\": {...}}" % label, r)
    err = body["error"]
    if code is not None:
        codes = code if isinstance(code, (tuple, list, set)) else (code,)
        check(err.get("code") in codes, "%s: expected error code %s, got %r" % (label, "|".join(codes), err.get("code")), r)
    check(isinstance(err.get("message"), str) and err["message"].strip(),
          "%s: error.message must be a non-empty string" % label, r)
    if "details" in err and err["details"] is not None:
        check(isinstance(err["details"], dict), "%s: error.details must be an object" % label, r)
    rid = r.header("X-Request-Id")
    check(rid, "%s: no X-Request-Id header" % label, r)
    check(err.get("request_id") == rid,
          "%s: error.request_id %r differs from X-Request-Id %r" % (label, err.get("request_id"), rid), r)
    return err


class Cases:
    """Collects the failures of many similar checks so that one run reports
    every failing case, not just the first:
        cases = Cases()
        with cases("rounds 0"): expect_error(...)
        cases.done()
    """

    def __init__(self):
        self.failures, self.count = [], 0

    def __call__(self, label):
        self.label = label
        return self

    def __enter__(self):
        self.count += 1
        return self

    def __exit__(self, et, e, tb):
        if et is not None and issubclass(et, TestFailure):
            self.failures.append("%s: %s" % (self.label, str(e).replace("\n", "\n      ")))
            return True
        return False

    def done(self):
        check(not self.failures, "%d of %d cases failed:\n    - %s"
              % (len(self.failures), self.count, "\n    - ".join(self.failures)))


def details(err):
    d = err.get("details")
    return d if isinstance(d, dict) else {}


def has_fields(obj, fields, what):
    check(isinstance(obj, dict), "%s is not an object" % what, obj)
    missing = [f for f in fields if f not in obj]
    check(not missing, "%s lacks field(s) %s" % (what, ", ".join(missing)), obj)


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def close(a, b, rel=1e-6, abs_tol=1e-9):
    return abs(a - b) <= max(abs_tol, rel * max(abs(a), abs(b)))


def deep_close(a, b, path="", rel=1e-6):
    """None when a and b are equal JSON values (numbers within rel), else a
    string naming the first difference."""
    if is_num(a) and is_num(b):
        return None if close(float(a), float(b), rel) else "%s: %r != %r" % (path or "/", a, b)
    if type(a) != type(b):
        return "%s: %s != %s" % (path or "/", type(a).__name__, type(b).__name__)
    if isinstance(a, dict):
        if set(a) != set(b):
            return "%s: keys differ: %s vs %s" % (path or "/", sorted(set(a) - set(b)), sorted(set(b) - set(a)))
        for k in a:
            d = deep_close(a[k], b[k], path + "/" + str(k), rel)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: length %d != %d" % (path or "/", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = deep_close(x, y, "%s[%d]" % (path, i), rel)
            if d:
                return d
        return None
    return None if a == b else "%s: %r != %r" % (path or "/", a, b)


def check_metrics(m, classes, samples=None, what="metrics"):
    """A METRICS object: rates in [0, 1], per_class in class order, a
    classes x classes confusion matrix whose rows sum to the supports and
    columns to the predicted counts, all summing to samples."""
    has_fields(m, METRICS_FIELDS, what)
    check(is_int(m["samples"]) and m["samples"] > 0, "%s.samples should be a positive integer" % what, m)
    if samples is not None:
        check(m["samples"] == samples, "%s.samples should be %d" % (what, samples), m)
    for k in ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1"):
        check(is_num(m[k]) and 0 <= m[k] <= 1, "%s.%s should be in [0, 1]" % (what, k), m)
    check(is_num(m["log_loss"]) and m["log_loss"] >= 0, "%s.log_loss should be >= 0" % what, m)
    pc = m["per_class"]
    check(isinstance(pc, list) and [p.get("class") for p in pc] == list(classes),
          "%s.per_class should list the classes %s in order" % (what, list(classes)), m)
    for p in pc:
        has_fields(p, ("class", "precision", "recall", "f1", "support", "predicted"), what + ".per_class[]")
    conf = m["confusion"]
    k = len(classes)
    check(isinstance(conf, list) and len(conf) == k and all(isinstance(r, list) and len(r) == k for r in conf),
          "%s.confusion should be %d x %d" % (what, k, k), m)
    check(all(is_int(x) and x >= 0 for r in conf for x in r), "%s.confusion holds counts" % what, m)
    check(sum(map(sum, conf)) == m["samples"], "%s.confusion should sum to samples" % what, m)
    for i, p in enumerate(pc):
        check(sum(conf[i]) == p["support"], "%s: confusion row %d should sum to the support" % (what, i), m)
        check(sum(r[i] for r in conf) == p["predicted"], "%s: confusion column %d should sum to predicted" % (what, i), m)


def wait_until(fn, timeout, what, interval=0.1):
    """Calls fn() until it returns a truthy value (returned) or the timeout
    passes (the test fails naming `what` and fn's last value)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            fail("timed out after %.0f s waiting for %s (last value: %s)" % (timeout, what, describe(last)))
        time.sleep(interval)


def unique(prefix="u"):
    return "%s%s" % (prefix, uuid.uuid4().hex[:10])


# --------------------------------------------------------------------------
# the healer binary and its data

_TMP_ROOT = None
_SIM_CACHE = {}
_SIM_LOCK = threading.Lock()


def tmp_root():
    global _TMP_ROOT
    if _TMP_ROOT is None:
        _TMP_ROOT = tempfile.mkdtemp(prefix="healer-api.")
    return _TMP_ROOT


def tmp_path(name):
    d = os.path.join(tmp_root(), "files")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


def require_healer():
    if not (os.path.isfile(HEALER) and os.access(HEALER, os.X_OK)):
        fail("healer binary not found at %s: run 'make build/healer' first (HEALER=path overrides)" % HEALER)


def run_healer(args, input=None, timeout=60):
    """Runs build/healer ARGS; returns the CompletedProcess (text mode)."""
    require_healer()
    try:
        return subprocess.run([HEALER] + list(args), input=input, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("healer %s did not finish within %s s" % (" ".join(args), timeout))


def simulate(samples=600, features=8, classes=3, seed=1, string_labels=False, missing_rate=None):
    """Bytes of a CSV made by `healer simulate` (cached per parameter set)."""
    key = (samples, features, classes, seed, string_labels, missing_rate)
    with _SIM_LOCK:
        if key in _SIM_CACHE:
            return _SIM_CACHE[key]
        path = tmp_path("sim-%d-%d-%d-%d-%d-%s.csv" % (samples, features, classes, seed,
                                                        int(string_labels), missing_rate))
        args = ["simulate", "--out", path, "--samples", str(samples), "--features", str(features),
                "--classes", str(classes), "--seed", str(seed)]
        if string_labels:
            args.append("--string-labels")
        if missing_rate is not None:
            args += ["--missing-rate", str(missing_rate)]
        p = run_healer(args)
        check(p.returncode == 0, "healer simulate failed (exit %d): %s" % (p.returncode, p.stderr.strip()))
        with open(path, "rb") as f:
            data = f.read()
        _SIM_CACHE[key] = data
        return data


def parse_csv(data):
    """(header, rows) of CSV bytes; rows are lists of strings."""
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], [r for r in rows[1:] if r]


def csv_records(data):
    """The rows of a CSV as dicts (column -> string)."""
    header, rows = parse_csv(data)
    return [dict(zip(header, r)) for r in rows]


def feature_names(data):
    header, _ = parse_csv(data)
    return [h for h in header if h not in ("sample_id", "label")]


def rows_as_json(data, start=0, count=None, with_id=False, with_label=False):
    """Rows of a simulated CSV as the JSON objects POST /diagnoses takes:
    numbers for KPIs, null for empty cells."""
    recs = csv_records(data)
    recs = recs[start:] if count is None else recs[start:start + count]
    out = []
    for rec in recs:
        row = {}
        for k, v in rec.items():
            if k == "sample_id":
                if with_id:
                    row[k] = v
            elif k == "label":
                if with_label:
                    row[k] = v
            else:
                row[k] = float(v) if v != "" else None
        out.append(row)
    return out


# --------------------------------------------------------------------------
# HTTP

class Response:
    """One HTTP exchange. Unpacks as (status, headers, body, json):
    headers is an http.client.HTTPMessage (case-insensitive .get, .get_all),
    body the raw bytes, json the parsed body or None."""

    def __init__(self, method, path, status, headers, body, elapsed):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed
        self.json = None
        if body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.json = None

    def __iter__(self):
        return iter((self.status, self.headers, self.body, self.json))

    def header(self, name):
        return self.headers.get(name) if self.headers is not None else None

    def header_all(self, name):
        return (self.headers.get_all(name) or []) if self.headers is not None else []

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def error_code(self):
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("code")
        return None

    def describe(self):
        body = self.text
        if len(body) > 800:
            body = body[:800] + "...(%d bytes)" % len(self.body)
        return "response to %s %s: HTTP %s, Content-Type %r, body: %s" % (
            self.method, self.path, self.status, self.header("Content-Type"), body)


def parse_set_cookie(value):
    """'name=value; Attr; Attr=x' -> (name, value, {attr_lower: value_or_True})."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), val.strip(), attrs


def multipart(fields=None, files=None, boundary=None):
    """(body bytes, content type) of a multipart/form-data request built by
    hand. fields: {name: str|bytes}; files: {name: (filename, bytes[, type])}."""
    boundary = boundary or "----healer-test-" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in (fields or {}).items():
        if isinstance(value, str):
            value = value.encode("utf-8")
        out.write(b"--" + boundary.encode() + b"\r\n")
        out.write(b'Content-Disposition: form-data; name="%s"\r\n\r\n' % name.encode())
        out.write(value + b"\r\n")
    for name, spec in (files or {}).items():
        filename, content = spec[0], spec[1]
        ctype = spec[2] if len(spec) > 2 else "text/csv"
        out.write(b"--" + boundary.encode() + b"\r\n")
        out.write(b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                  % (name.encode(), filename.encode()))
        out.write(b"Content-Type: " + ctype.encode() + b"\r\n\r\n")
        out.write(content + b"\r\n")
    out.write(b"--" + boundary.encode() + b"--\r\n")
    return out.getvalue(), "multipart/form-data; boundary=" + boundary


class Client:
    """A browser-like client of one Server: keeps the healer_session cookie,
    remembers the csrf_token of login / setup / me responses and sends it as
    X-CSRF-Token on POST/PUT/PATCH/DELETE. Every call has a timeout. Clients
    follow their Server across restarts (it may get a new port)."""

    def __init__(self, server, timeout=HTTP_TIMEOUT):
        self.server = server
        self.timeout = timeout
        self.cookie = None        # value of healer_session
        self.cookie_attrs = None  # attributes of the last healer_session Set-Cookie
        self.csrf = None
        self.user = None          # USER of the last login / me

    def new(self):
        """Another, fresh client of the same server."""
        return Client(self.server, self.timeout)

    # ---- transport ----

    def request(self, method, path, body=None, headers=None, csrf=None, cookie=None, timeout=None):
        """csrf / cookie: None = automatic, False = do not send, a string =
        send this value instead (csrf "" sends an empty header)."""
        hdrs = {"Connection": "close"}
        hdrs.update(headers or {})
        cookie_val = self.cookie if cookie is None else (cookie or None)
        if cookie_val:
            hdrs["Cookie"] = "healer_session=" + cookie_val
        if method in STATE_CHANGING:
            tok = self.csrf if csrf is None else (None if csrf is False else csrf)
            if tok is not None:
                hdrs["X-CSRF-Token"] = tok
        if body is not None and not isinstance(body, bytes):
            body = body.encode("utf-8")
        t0 = time.monotonic()
        conn = self.server.connection(timeout or self.timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            r = Response(method, path, resp.status, resp.headers, data, time.monotonic() - t0)
        except (OSError, http.client.HTTPException) as e:
            fail("%s %s: %s: %s%s" % (method, path, type(e).__name__, e, self.server.death_note()))
        finally:
            conn.close()
        self._absorb(r)
        return r

    def _absorb(self, r):
        for sc in r.header_all("Set-Cookie"):
            name, val, attrs = parse_set_cookie(sc)
            if name != "healer_session":
                continue
            self.cookie_attrs = attrs
            gone = val == "" or str(attrs.get("max-age", "1")).strip() in ("0", "-1")
            if not gone and "expires" in attrs and "max-age" not in attrs:
                gone = _expires_in_past(attrs["expires"])
            self.cookie = None if gone else val
        if isinstance(r.json, dict):
            if isinstance(r.json.get("csrf_token"), str):
                self.csrf = r.json["csrf_token"]
            if r.path in (API + "/auth/login", API + "/setup", API + "/auth/me") and r.status < 300:
                if isinstance(r.json.get("user"), dict):
                    self.user = r.json["user"]

    def raw(self, method, path, body=b"", headers=None, timeout=None):
        """Sends a request over a plain socket, stopping the upload as soon
        as the server answers (a server may reply 413 and close before it
        read the whole body, which http.client reports as a broken pipe).
        Adds the cookie and CSRF header like request(). Plain HTTP only."""
        check(not self.server.tls, "Client.raw speaks plain HTTP; %s serves HTTPS" % self.server.name)
        hdrs = {"Host": "127.0.0.1", "Connection": "close", "Content-Length": str(len(body))}
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}  # None drops a header
        if self.cookie:
            hdrs["Cookie"] = "healer_session=" + self.cookie
        if method in STATE_CHANGING and self.csrf:
            hdrs["X-CSRF-Token"] = self.csrf
        head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
        port = self.server.require_port()
        timeout = timeout or self.timeout
        t0 = time.monotonic()
        deadline = t0 + timeout
        received = b""
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            s.setblocking(False)
            out = memoryview(head.encode("latin-1") + body)
            sent = 0
            while sent < len(out):
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("%s %s: upload timed out after %.0f s%s" % (method, path, timeout, self.server.death_note()))
                rd, wr, _ = select.select([s], [s], [], left)
                if rd:
                    break  # the server answers early: stop sending, read it
                if wr:
                    try:
                        sent += s.send(out[sent:sent + 65536])
                    except (BrokenPipeError, ConnectionResetError):
                        break
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    if received:
                        break
                    fail("%s %s: no response within %.0f s%s" % (method, path, timeout, self.server.death_note()))
                rd, _, _ = select.select([s], [], [], left)
                if not rd:
                    continue
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                received += chunk
                if _complete_response(received):
                    break
        finally:
            s.close()
        if not received:
            fail("%s %s: the server closed the connection without a response%s" % (method, path, self.server.death_note()))
        r = _parse_raw_response(method, path, received, time.monotonic() - t0)
        self._absorb(r)
        return r

    # ---- verbs ----

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def post_json(self, path, obj=None, **kw):
        headers = kw.pop("headers", {}) or {}
        headers.setdefault("Content-Type", "application/json")
        body = json.dumps({} if obj is None else obj)
        return self.request("POST", path, body=body, headers=headers, **kw)

    def put_json(self, path, obj=None, **kw):
        headers = kw.pop("headers", {}) or {}
        headers.setdefault("Content-Type", "application/json")
        return self.request("PUT", path, body=json.dumps({} if obj is None else obj), headers=headers, **kw)

    def post_raw(self, path, body, content_type, **kw):
        headers = kw.pop("headers", {}) or {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.request("POST", path, body=body, headers=headers, **kw)

    def upload(self, path, fields=None, files=None, **kw):
        """multipart/form-data POST; files: {name: (filename, bytes[, type])}."""
        body, ctype = multipart(fields, files)
        return self.post_raw(path, body, ctype, **kw)

    # ---- session ----

    def login(self, username, password, remember=False, expect_status=200):
        r = self.post_json(API + "/auth/login", {"username": username, "password": password,
                                                  "remember": remember})
        if expect_status is not None:
            expect_json(r, expect_status, "login as %s" % username)
        return r

    def login_as(self, name, remember=False):
        """Logs in as one of the server's known users; returns self."""
        self.login(name, self.server.password(name), remember)
        return self

    def logout(self):
        return self.post_json(API + "/auth/logout", {})


def _expires_in_past(value):
    import email.utils
    try:
        t = email.utils.parsedate_to_datetime(value)
        return t.timestamp() <= time.time()
    except (TypeError, ValueError):
        return False


def _complete_response(data):
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = data[:end].decode("latin-1").lower()
    m = re.search(r"\r\ncontent-length:\s*(\d+)", head)
    if m:
        return len(data) - end - 4 >= int(m.group(1))
    if "transfer-encoding: chunked" in head:
        return data.endswith(b"0\r\n\r\n")
    return False


def _parse_raw_response(method, path, data, elapsed):
    end = data.find(b"\r\n\r\n")
    if end < 0:
        fail("%s %s: malformed response (no end of headers): %r" % (method, path, data[:300]))
    lines = data[:end].split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        fail("%s %s: malformed status line %r" % (method, path, lines[0]))
    headers = http.client.parse_headers(io.BytesIO(b"\r\n".join(lines[1:]) + b"\r\n\r\n"))
    body = data[end + 4:]
    if (headers.get("Transfer-Encoding") or "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            line, _, rest = rest.partition(b"\r\n")
            n = int(line.split(b";")[0] or b"0", 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    elif headers.get("Content-Length"):
        body = body[:int(headers["Content-Length"])]
    return Response(method, path, int(m.group(1)), headers, body, elapsed)


# --------------------------------------------------------------------------
# the server process

_SERVERS = []
_START_HUNG = [None]  # set when a start timed out: later starts fail at once
_EARLY_EXITS = set()  # outputs of servers that died at start (shown once)


def one_login_window():
    """Waits, when under 20 s of the current minute are left, for the next
    one: --login-rate counts in fixed one-minute windows of the server's
    clock (domain/throttle.h), so a sequence of logins that straddled two
    would start over at the boundary and not reach the limit."""
    left = 60 - time.time() % 60
    if left < 20:
        time.sleep(left + 0.2)


# Jobs at the HTTP threads' priority (the default job-nice 10 makes them
# yield to requests): make test runs three suites side by side on two
# cores, and a niced training would crawl behind the other suites'
# servers and browsers, not behind its own requests, and overrun the
# tests' waits. test_runner checks that job threads run nicer.
JOB_PRIORITY = ("--job-nice", "0")


def free_port(host="127.0.0.1"):
    """A port free on host (a server on 0.0.0.0 needs one free on every
    address, not only on loopback)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


class ServerError(TestFailure):
    pass


class Server:
    """A `healer serve` process on 127.0.0.1 with its own temporary data
    directory. users: (name, password, is_admin) tuples created with
    `healer user add` before the first start; args: extra serve flags;
    env: extra environment variables. Use as a context manager, or call
    start()/close()."""

    def __init__(self, users=DEFAULT_USERS, args=(), name="server", env=None, tls=False,
                 host="127.0.0.1"):
        self.name = name
        self.args = list(args)
        self.host = host
        self.env = dict(os.environ, **(env or {}))
        self.root = tempfile.mkdtemp(prefix="srv-", dir=tmp_root())
        self.data_dir = os.path.join(self.root, "data")
        os.makedirs(self.data_dir, mode=0o700)  # an empty, fresh data directory
        self.proc = None
        self.port = None
        self.starts = 0
        self.users = {}
        self.stdout_path = self.stderr_path = None
        self._pending_users = list(users)
        self.last_rc = None
        self.tls = None
        if tls:
            self._make_tls()
        _SERVERS.append(self)

    # ---- HTTPS ----

    def _make_tls(self):
        """`healer cert` into ROOT/tls; serve with it and trust only it."""
        d = os.path.join(self.root, "tls")
        p = run_healer(["cert", "--out", d], timeout=30)
        check(p.returncode == 0, "healer cert failed (exit %d): %s" % (p.returncode, p.stderr.strip()))
        self.tls = {"cert": os.path.join(d, "cert.pem"), "key": os.path.join(d, "key.pem")}
        self.args += ["--tls-cert", self.tls["cert"], "--tls-key", self.tls["key"]]

    def ssl_context(self):
        """A client context that trusts this server's certificate alone."""
        ctx = ssl.create_default_context(cafile=self.tls["cert"])
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def connection(self, timeout=HTTP_TIMEOUT):
        """An http.client connection to the server, HTTPS when it serves it."""
        port = self.require_port()
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                               context=self.ssl_context())
        return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- users ----

    def add_user(self, name, password, admin=False, email=None):
        """`printf 'PASSWORD\\n' | healer user add NAME [--admin] [--email ADDR]
        --data-dir DIR` (works before the first start and while the server runs)."""
        args = ["user", "add", name, "--data-dir", self.data_dir]
        if admin:
            args.insert(3, "--admin")
        if email:
            args[3:3] = ["--email", email]
        p = run_healer(args, input=password + "\n", timeout=30)
        check(p.returncode == 0, "healer user add %s failed (exit %d): %s" % (name, p.returncode, p.stderr.strip()))
        self.users[name] = (password, admin)

    def password(self, name):
        check(name in self.users, "unknown test user %r" % name)
        return self.users[name][0]

    def client(self):
        return Client(self)

    # ---- lifecycle ----

    def start(self, wait=True):
        if _START_HUNG[0]:
            raise ServerError("not starting %s: an earlier server start in this run hung (%s)"
                              % (self.name, _START_HUNG[0]))
        require_healer()
        check(self.proc is None or self.proc.poll() is not None, "%s is already running" % self.name)
        for (n, pw, admin) in self._pending_users:
            self.add_user(n, pw, admin)
        self._pending_users = []
        self._launch()
        if wait:
            self.wait_ready()
        return self

    def _launch(self):
        self.starts += 1
        self.port = free_port(self.host)
        self.stdout_path = os.path.join(self.root, "stdout.%d.log" % self.starts)
        self.stderr_path = os.path.join(self.root, "stderr.%d.log" % self.starts)
        cmd = [HEALER, "serve", "--listen", "%s:%d" % (self.host, self.port), "--data-dir", self.data_dir,
               *JOB_PRIORITY] + self.args
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True, env=self.env)
        self.cmd = cmd

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        port_retries = 5
        while True:
            rc = self.proc.poll()
            if rc is not None and port_retries and "Address already in use" in self.stderr_text():
                # free_port's port was taken between its check and the
                # bind (suites run side by side: tests/run.py): another.
                port_retries -= 1
                self._launch()
                continue
            if rc is not None:
                self.last_rc = rc
                msg = "%s exited with code %d%s before it answered /api/v1/health" % (self.name, rc, _signal_name(rc))
                logs = (self.stderr_text() + self.stdout_text()).replace(self.data_dir, "DATA").replace(str(self.port), "PORT")
                if logs in _EARLY_EXITS:
                    raise ServerError(msg + " (with the same output as in the first such failure above)")
                _EARLY_EXITS.add(logs)
                raise ServerError("%s\n    command: %s\n%s" % (msg, " ".join(self.cmd), self.logs_tail()))
            try:
                conn = self.connection(timeout=2)
                try:
                    conn.request("GET", API + "/health", headers={"Connection": "close"})
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 200:
                        return
                    last = "HTTP %d" % resp.status
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException) as e:
                last = "%s: %s" % (type(e).__name__, e)
            if time.monotonic() >= deadline:
                self.kill()
                _START_HUNG[0] = "%s did not answer /api/v1/health within %.0f s" % (self.name, timeout)
                raise ServerError("%s did not answer GET /api/v1/health within %.0f s (last: %s)\n    command: %s\n%s"
                                  % (self.name, timeout, last, " ".join(self.cmd), self.logs_tail()))
            time.sleep(0.05)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def require_port(self):
        if self.proc is None or self.port is None:
            fail("%s was never started" % self.name)
        return self.port

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, expect_rc=0):
        """Sends sig (SIGTERM: graceful) and waits; fails when the server
        does not exit within timeout or exits with another code than
        expect_rc (None: any). Returns the exit code."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("%s did not exit within %.0f s of signal %d\n%s" % (self.name, timeout, sig, self.logs_tail()))
        self.last_rc = rc
        if expect_rc is not None:
            check(rc == expect_rc, "%s exited with code %d after signal %d, expected %d\n%s"
                  % (self.name, rc, sig, expect_rc, self.logs_tail()))
        return rc

    def kill(self):
        """SIGKILL, no questions asked."""
        if self.running():
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            self.last_rc = self.proc.returncode

    def restart(self, wait=True):
        """Starts again on the same data directory (after stop/kill)."""
        check(not self.running(), "restart(): %s still runs; stop or kill it first" % self.name)
        return self.start(wait)

    def close(self):
        self.kill()
        if self in _SERVERS:
            _SERVERS.remove(self)

    # ---- output ----

    def stdout_text(self):
        return _read(self.stdout_path)

    def stderr_text(self):
        return _read(self.stderr_path)

    def logs_tail(self, lines=25):
        out = []
        for label, text in (("stderr", self.stderr_text()), ("stdout", self.stdout_text())):
            tail = text.splitlines()[-lines:]
            out.append("    %s of %s (%s):" % (label, self.name, "empty" if not tail else "last %d lines" % len(tail)))
            out += ["      | " + l[:300] for l in tail]
        return "\n".join(out)

    def death_note(self):
        """Extra text for a failed request when the server has died (its
        log tail only the first time)."""
        if self.proc is not None and self.proc.poll() is not None:
            return "\n    (%s is not running: exit code %s%s)%s" % (
                self.name, self.proc.returncode, _signal_name(self.proc.returncode), self.tail_once())
        return ""

    def tail_once(self):
        if getattr(self, "_tail_shown", None) == self.starts:
            return "; its log tail is printed above"
        self._tail_shown = self.starts
        return "\n" + self.logs_tail()


def _signal_name(rc):
    if rc is not None and rc < 0:
        try:
            return ", killed by " + signal.Signals(-rc).name
        except ValueError:
            pass
    return ""


def _read(path):
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _cleanup():
    for s in list(_SERVERS):
        try:
            s.kill()
        except Exception:
            pass
    if _TMP_ROOT and not KEEP:
        shutil.rmtree(_TMP_ROOT, ignore_errors=True)
    elif _TMP_ROOT:
        sys.stderr.write("kept temporary files in %s\n" % _TMP_ROOT)


atexit.register(_cleanup)


# --------------------------------------------------------------------------
# API helpers (assert success; return parsed bodies)

def upload_dataset(c, data, name=None, filename="data.csv", timeout=60):
    """Uploads data and returns the dataset once it is ready: a large file
    is answered "ingesting" and read by an ingest job (test_ingest.py)."""
    fields = {"name": name} if name is not None else {}
    r = c.upload(API + "/datasets", fields, {"file": (filename, data)})
    ds = expect_json(r, 201, "upload of %s" % filename)
    has_fields(ds, DATASET_FIELDS, "DATASET")
    if ds["state"] == "ingesting":
        def ready():
            d = expect_json(c.get(API + "/datasets/%d" % ds["id"]), 200, "GET dataset")
            return d if d["state"] != "ingesting" else None
        ds = wait_until(ready, timeout, "dataset %d to be ingested" % ds["id"])
    check(ds["state"] == "ready", "the upload of %s became a ready dataset" % filename, ds)
    return ds


def list_items(c, path, query="limit=1000"):
    sep = "&" if "?" in path else "?"
    r = c.get(path + sep + query)
    body = expect_json(r, 200, "GET " + path)
    has_fields(body, ("items", "total", "offset", "limit"), "list")
    check(isinstance(body["items"], list), "list items is not an array", r)
    return body["items"]


def list_ids(c, path, query="limit=1000"):
    return [x["id"] for x in list_items(c, path, query)]


def create_job(c, dataset_id, params=None, name=None, expect_status=202):
    body = {"type": "train", "dataset_id": dataset_id, "algo": "gbdt", "params": params or {}}
    if name is not None:
        body["name"] = name
    r = c.post_json(API + "/jobs", body)
    if expect_status is None:
        return r
    job = expect_json(r, expect_status, "POST /jobs")
    has_fields(job, JOB_FIELDS, "JOB")
    return job


def get_job(c, job_id):
    return expect_json(c.get(API + "/jobs/%d" % job_id), 200, "GET job %d" % job_id)


def wait_job(c, job_id, states=FINAL_STATES, timeout=60, pred=None):
    """Polls GET /jobs/{id} until its state is in `states` (and pred(job),
    when given, holds); returns the job."""
    holder = {}

    def probe():
        job = get_job(c, job_id)
        holder["job"] = job
        return job["state"] in states and (pred is None or pred(job))

    try:
        wait_until(probe, timeout, "job %d to reach %s" % (job_id, "|".join(states)), interval=0.1)
    except TestFailure as e:
        fail("%s\n    last job: %s" % (e, describe(holder.get("job"))))
    return holder["job"]


def wait_running(c, job_id, timeout=30, min_round=1):
    """Waits until a training job runs and has done min_round rounds."""
    def started(job):
        check(job["state"] not in FINAL_STATES, "job %d ended while we waited for it to run" % job_id, job)
        return job["state"] == "running" and (job.get("round") or 0) >= min_round
    return wait_job(c, job_id, ("running", "succeeded", "failed", "cancelled"), timeout, started)


def train_model(c, data=None, params=None, name=None, timeout=60):
    """Uploads data (default: 600 x 8 x 3 simulated), trains a small model
    and returns (dataset, job, model)."""
    data = data if data is not None else simulate()
    ds = upload_dataset(c, data, name=name or "train-data")
    job = create_job(c, ds["id"], params if params is not None else {"rounds": 30})
    job = wait_job(c, job["id"], timeout=timeout)
    check(job["state"] == "succeeded", "training job did not succeed", job)
    check(is_int(job["model_id"]), "succeeded job without model_id", job)
    model = expect_json(c.get(API + "/models/%d" % job["model_id"]), 200, "GET model")
    return ds, job, model


LONG_PARAMS = {"rounds": 100000, "early_stopping_rounds": 0, "learning_rate": 0.01}


def long_data():
    """A dataset big enough that 100000 rounds take well over a minute."""
    return simulate(samples=5000, features=20, classes=4, seed=7)


def start_long_job(c, dataset_id=None):
    """Starts a training that would run for minutes; returns the job once
    it is running (round >= 1)."""
    if dataset_id is None:
        dataset_id = upload_dataset(c, long_data(), name="long")["id"]
    job = create_job(c, dataset_id, dict(LONG_PARAMS), name="long")
    return wait_running(c, job["id"])


def cancel_job(c, job_id, timeout=10):
    """Cancels and waits until the job is cancelled (or otherwise final)."""
    r = c.post_json(API + "/jobs/%d/cancel" % job_id, {})
    if r.status == 409:
        return get_job(c, job_id)
    expect_json(r, 200, "cancel job %d" % job_id)
    return wait_job(c, job_id, timeout=timeout)


def cancel_quietly(c, job_id):
    """Clean-up for finally blocks: cancels the job if the server still
    answers, and never raises (so it cannot mask the test's own failure)."""
    try:
        if c.server.running() and get_job(c, job_id)["state"] not in FINAL_STATES:
            cancel_job(c, job_id)
    except (Exception, TestFailure) as e:
        print("    (clean-up: could not cancel job %d: %s)" % (job_id, str(e).splitlines()[0]))
        c.server._tail_shown = None  # let the test's own report show the log tail


# --------------------------------------------------------------------------
# the runner

def timeout(seconds):
    """Decorator: this test may take up to `seconds`."""
    def deco(fn):
        fn.timeout = seconds
        return fn
    return deco


class _Alarm:
    def __init__(self, seconds, name):
        self.seconds, self.name = seconds, name

    def __enter__(self):
        def on_alarm(signum, frame):
            raise TestTimeout("%s did not finish within %.0f s" % (self.name, self.seconds))
        self.prev = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.prev)
        return False


class _Shared:
    """The module's shared server, started on first use; a failed start is
    remembered so the remaining tests fail at once with the same reason."""

    def __init__(self, config):
        self.config = config
        self.server = None
        self.error = None

    def get(self):
        if self.error:
            raise ServerError("the shared server could not be started (see the first failure): %s"
                              % self.error.splitlines()[0])
        if self.server is None:
            kw = dict(self.config or {})
            kw.setdefault("name", "shared server")
            s = Server(**kw)
            try:
                s.start()
            except BaseException as e:
                self.error = str(e) or type(e).__name__
                s.close()
                raise
            self.server = s
        if not self.server.running():
            rc = self.server.proc.returncode
            raise ServerError("the shared server is not running any more (exit code %s%s)%s"
                              % (rc, _signal_name(rc), self.server.tail_once()))
        return self.server


def _shard(tests):
    """The tests of slice HEALER_API_SHARD=K/N (all without it): N
    consecutive slices of equal count. tests/run.py runs a module that sets
    SHARDS = N in N slices side by side; each is a process of its own, with
    its own shared server, like a test run alone."""
    spec = os.environ.get("HEALER_API_SHARD")
    if not spec:
        return tests
    m = re.match(r"^(\d+)/(\d+)$", spec)
    k, n = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    if not (n >= 1 and 1 <= k <= n):
        print("HEALER_API_SHARD=%s: expected K/N with 1 <= K <= N" % spec)
        sys.exit(2)
    return tests[round((k - 1) * len(tests) / n):round(k * len(tests) / n)]


def main(module_globals):
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.stdout.reconfigure(line_buffering=True)
    tests = [(n, f) for n, f in module_globals.items()
             if n.startswith("test_") and callable(f) and getattr(f, "__module__", None) == module_globals.get("__name__")]
    wanted = sys.argv[1:]
    if wanted:
        tests = [(n, f) for n, f in tests if n in wanted]
    else:
        tests = _shard(tests)
    shared = _Shared(module_globals.get("SERVER"))
    passed, failed = 0, []
    started = time.monotonic()
    print("[==========] Running %d test(s)." % len(tests))
    for name, fn in tests:
        print("[ RUN      ] %s" % name)
        t0 = time.monotonic()
        spent = t0 - started
        try:
            if spent > MODULE_BUDGET:
                raise TestFailure("not run: the module's time budget of %.0f s is used up" % MODULE_BUDGET)
            limit = min(getattr(fn, "timeout", TEST_TIMEOUT), max(5.0, MODULE_BUDGET - spent + 5))
            with _Alarm(limit, name):
                params = inspect.signature(fn).parameters
                kwargs = {}
                if "server" in params or "c" in params:
                    srv = shared.get()
                    if "server" in params:
                        kwargs["server"] = srv
                    if "c" in params:
                        kwargs["c"] = Client(srv)
                fn(**kwargs)
            passed += 1
            print("[       OK ] %s (%.1f s)" % (name, time.monotonic() - t0))
        except (Exception, TestTimeout) as e:
            failed.append(name)
            _report_failure(name, e, shared)
            print("[  FAILED  ] %s (%.1f s)" % (name, time.monotonic() - t0))
        except KeyboardInterrupt:
            failed.append(name)
            print("[  FAILED  ] %s (interrupted)" % name)
            break
    if shared.server is not None:
        # A server that crashes on SIGTERM, or (sanitizer build) reports a
        # leak or an error at exit, fails the module: that is a bug too.
        if shared.server.running():
            print("[ RUN      ] shared_server_stops_cleanly")
            try:
                shared.server.stop()
                passed += 1
                print("[       OK ] shared_server_stops_cleanly")
            except TestFailure as e:
                failed.append("shared_server_stops_cleanly")
                print("    the shared server did not stop cleanly: %s" % e)
                print("[  FAILED  ] shared_server_stops_cleanly")
        shared.server.close()
    print("[==========] %d test(s) run." % (passed + len(failed)))
    print("[  PASSED  ] %d test(s)." % passed)
    if failed:
        print("[  FAILED  ] %d test(s), listed below:" % len(failed))
        for n in failed:
            print("[  FAILED  ] %s" % n)
        print("\n %d FAILED TEST(S)" % len(failed))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


def _report_failure(name, e, shared):
    if isinstance(e, TestFailure) and not isinstance(e, ServerError):
        # Our own assertion: the message says it all; show where it fired.
        tb = traceback.extract_tb(e.__traceback__)
        here = [f for f in tb if os.path.basename(f.filename).startswith("test_")]
        where = here[-1] if here else (tb[-1] if tb else None)
        print("    %s" % str(e).replace("\n", "\n    "))
        if where:
            print("    at %s:%d (%s)" % (os.path.basename(where.filename), where.lineno, where.name))
    elif isinstance(e, ServerError):
        print("    %s" % str(e).replace("\n", "\n    "))
    else:
        print("    %s: %s" % (type(e).__name__, e))
        for line in traceback.format_exception(type(e), e, e.__traceback__):
            for l in line.rstrip().splitlines():
                print("    | " + l)
    srv = shared.server
    if not isinstance(e, ServerError) and srv is not None and srv.proc is not None and srv.proc.poll() is not None:
        rc = srv.proc.returncode
        print("    the shared server has exited (code %s%s)%s" % (rc, _signal_name(rc), srv.tail_once()))
