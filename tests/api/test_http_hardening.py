"""test_http_hardening.py - the HTTP layer against hostile clients, on raw sockets.

What: request smuggling (Content-Length with Transfer-Encoding is 400 and
the connection closes before the smuggled second request is read; two
Content-Length or Transfer-Encoding headers are 400), an unknown
Transfer-Encoding is 501 at once, a 32 KB request target is 414 and a 32 KB
header 431 in the API's JSON error format, and chunked bodies still work.
Slow clients: one address holding more connections than
max-connections-per-address, each trickling header lines, gets the extra
ones refused at once, the rest cut at request-head-timeout, while
/api/v1/health from another loopback address (127.0.0.1 vs 127.0.0.2, all
of 127/8 is loopback on Linux) keeps answering quickly; /metrics counts the
refusals and the cuts. A trusted proxy (--trusted-proxy) has no
per-address connection limit; a kept-alive connection may pause between
requests longer than the head deadline (its clock starts at the next
request line), but not trickle a request line forever. listen-backlog
reaches the listening socket.

Why raw sockets: http.client frames requests correctly and would never send
what an attacker sends; only bytes on a socket show what the server does
with them and whether it closes the connection.

Run: python3 tests/api/test_http_hardening.py [test_name...]
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check  # noqa: E402

SERVER = {}

PROMPT = 2.0  # seconds a refusal may take to arrive


def exchange(server, data, wait=5.0, source=None):
    """Sends data on a fresh connection and reads until the server closes
    it (or `wait` passes). Returns (bytes received, seconds until the close
    or None when it stayed open)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.settimeout(wait)
    s.connect(("127.0.0.1", server.require_port()))
    t0 = time.monotonic()
    got = b""
    closed = None
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = time.monotonic() - t0
                break
            if not chunk:
                closed = time.monotonic() - t0
                break
            got += chunk
    finally:
        s.close()
    return got, closed


def responses(data):
    """The (status, headers, body) of each response in data."""
    out = []
    rest = data
    while rest.startswith(b"HTTP/1."):
        head, _, rest = rest.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        n = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:n]))
        rest = rest[n:]
    return out


def refused_with(server, data, status, code, what):
    """data gets exactly one answer, `status` with the JSON error `code`,
    promptly, and the connection is closed."""
    got, closed = exchange(server, data)
    rs = responses(got)
    check(len(rs) == 1, "%s: expected one response, got %d: %r" % (what, len(rs), got[:600]))
    st, headers, body = rs[0]
    check(st == status, "%s: expected %d, got %d: %r" % (what, status, st, body[:300]))
    check(closed is not None and closed < PROMPT,
          "%s: the connection should be closed within %.0f s (closed after: %s)" % (what, PROMPT, closed))
    check(headers.get("connection", "").lower() == "close", "%s: Connection: close expected" % what, headers)
    check(headers.get("content-type", "").startswith("application/json"),
          "%s: the API's JSON error expected, got %s" % (what, headers.get("content-type")), body[:200])
    err = json.loads(body)["error"]
    check(err["code"] == code, "%s: error code %s expected" % (what, code), err)
    check(err["request_id"] == headers.get("x-request-id"), "%s: the request id in the body and header" % what, err)
    return err


def access_log(server):
    path = os.path.join(server.data_dir, "logs", "access.log")
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def test_content_length_with_transfer_encoding_is_400_and_not_smuggled(server):
    smuggled = b"GET /api/v1/smuggled-probe HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % (5 + len(smuggled))) + smuggled
    err = refused_with(server, data, 400, "bad_request", "CL+TE")
    check("Content-Length" in err["message"] and "Transfer-Encoding" in err["message"], "the message names both", err)
    # The smuggled request was never read as one: not in the access log.
    time.sleep(0.2)
    check("smuggled-probe" not in access_log(server), "the smuggled second request must not be served")
    # Transfer-Encoding first, Content-Length second: the same.
    data = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 5\r\nContent-Type: application/json\r\n\r\n0\r\n\r\n") + smuggled
    refused_with(server, data, 400, "bad_request", "TE+CL")
    time.sleep(0.2)
    check("smuggled-probe" not in access_log(server), "the smuggled second request must not be served (TE+CL)")


def test_duplicate_framing_headers_are_400(server):
    refused_with(server, b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}", 400, "bad_request", "two Content-Length")
    refused_with(server, b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                 400, "bad_request", "two Transfer-Encoding")


def test_unknown_transfer_encoding_is_501(server):
    for te in (b"gzip", b"gzip, chunked", b"identity", b"chunked, gzip"):
        err = refused_with(server, b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   b"Transfer-Encoding: " + te + b"\r\n\r\nabc", 501, "not_implemented",
                           "Transfer-Encoding: %s" % te.decode())
        check("chunked" in err["message"], "the message says what is supported", err)


def test_chunked_body_still_served(c):
    body = json.dumps({"username": "alice", "password": "wrong-password-1"}).encode()
    data = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    got, _ = exchange(c.server, data)
    rs = responses(got)
    check(len(rs) == 1 and rs[0][0] == 401, "a chunked login with a wrong password is read and refused 401", got[:400])


def test_long_target_is_414(server):
    target = b"/api/v1/health?q=" + b"a" * 32768
    err = refused_with(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long", "32 KB URL")
    check("8192" in err["message"], "the limit in the message", err)
    # Just under the limit is served.
    got, _ = exchange(server, b"GET /api/v1/health?q=" + b"a" * 8000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check(responses(got) and responses(got)[0][0] == 200, "an 8 KB target is served", got[:200])


def test_large_header_is_431(server):
    refused_with(server, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 32768 + b"\r\n\r\n",
                 431, "headers_too_large", "32 KB header")
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    refused_with(server, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n",
                 431, "headers_too_large", "150 headers")
    # Far past libmicrohttpd's memory: still 431, promptly, closed (its words).
    got, closed = exchange(server, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    rs = responses(got)
    check(rs and rs[0][0] == 431 and closed is not None and closed < PROMPT,
          "a 200 KB header: 431 and closed promptly (closed after %s)" % closed, got[:200])


def metric(text, name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


@harness.timeout(40)
def test_slow_clients_cannot_starve_others():
    limit, deadline, n_slow = 20, 4, 60
    with harness.Server(users=(), args=["--max-connections-per-address", str(limit),
                                        "--request-head-timeout", str(deadline)]) as s:
        port = s.require_port()
        socks = []
        t0 = time.monotonic()
        for _ in range(n_slow):
            k = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            k.bind(("127.0.0.2", 0))
            k.connect(("127.0.0.1", port))
            k.setblocking(False)
            k.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
            socks.append(k)
        closed_at = {}

        def poll_closed():
            now = time.monotonic() - t0
            for i, k in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    if k.recv(4096) == b"":
                        closed_at[i] = now
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[i] = now

        latencies = []
        next_line = time.monotonic() + 1
        while time.monotonic() - t0 < deadline + 2.5:
            poll_closed()
            if time.monotonic() >= next_line:  # a header line a second
                next_line += 1
                for i, k in enumerate(socks):
                    if i not in closed_at:
                        try:
                            k.send(b"X-Slow: %d\r\n" % i)
                        except OSError:
                            closed_at[i] = time.monotonic() - t0
            h0 = time.monotonic()
            r = s.client().get(API + "/health", timeout=5)
            latencies.append(time.monotonic() - h0)
            check(r.status == 200, "health answers during the attack", r)
            time.sleep(0.1)
        poll_closed()
        for k in socks:
            k.close()
        early = sorted(t for t in closed_at.values() if t < deadline - 0.5)
        late = sorted(t for t in closed_at.values() if t >= deadline - 0.5)
        check(len(early) == n_slow - limit,
              "the %d connections over the per-address limit are closed at once (early closes: %d)"
              % (n_slow - limit, len(early)), early)
        check(len(late) == limit and late[-1] <= deadline + 1.5,
              "the %d admitted slow heads are cut at the %d s deadline, not kept by trickling "
              "(cut: %d, last at %.1f s)" % (limit, deadline, len(late), late[-1] if late else -1), late)
        worst = max(latencies)
        check(worst < 1.0, "health stays quick under the attack (worst %.3f s)" % worst, latencies)
        m = s.client().get("/metrics").text
        check(metric(m, "healer_http_connections_refused_total") >= n_slow - limit, "refusals counted", m[:800])
        check(metric(m, "healer_http_request_head_timeouts_total") >= limit, "head timeouts counted", m[:800])
        # The attacking address is served again once its connections are gone.
        got, _ = exchange(s, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                          source="127.0.0.2")
        check(responses(got) and responses(got)[0][0] == 200, "127.0.0.2 is served after the attack", got[:200])


def keep_alive(port, source=None):
    k = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        k.bind((source, 0))
    k.settimeout(5)
    k.connect(("127.0.0.1", port))
    return k


def ask(k, path="/api/v1/health"):
    """One request on the kept-alive socket k; its status (None when the
    server closed the connection instead of answering)."""
    try:
        k.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
        got = b""
        while True:
            rs = responses(got)
            if rs and len(rs[0][2]) >= int(rs[0][1].get("content-length", "0")):
                return rs[0][0]
            chunk = k.recv(65536)
            if not chunk:
                return None
            got += chunk
    except (ConnectionResetError, BrokenPipeError):
        return None


def closed_within(k, seconds):
    """Seconds until the server closes k, or None if it stays open."""
    t0 = time.monotonic()
    k.settimeout(seconds)
    try:
        while k.recv(4096):
            pass
        return time.monotonic() - t0
    except socket.timeout:
        return None
    except OSError:
        return time.monotonic() - t0


@harness.timeout(40)
def test_trusted_proxy_has_no_connection_limit():
    """--trusted-proxy exempts the proxy's address from
    max-connections-per-address (behind nginx every client comes from it);
    another address keeps its limit."""
    limit, n = 3, 12
    with harness.Server(users=(), args=["--max-connections-per-address", str(limit),
                                        "--trusted-proxy", "127.0.0.2"]) as s:
        port = s.require_port()
        proxied = [keep_alive(port, "127.0.0.2") for _ in range(n)]
        statuses = [ask(k) for k in proxied]
        check(statuses == [200] * n, "all %d connections of the trusted proxy answered" % n, statuses)
        others = [keep_alive(port, "127.0.0.3") for _ in range(limit + 1)]
        statuses = [ask(k) for k in others]
        # The kernel completes all the handshakes before the server accepts
        # any, and its HTTP threads accept them in no set order: which one
        # is refused varies.
        check(sorted(statuses, key=str) == [200] * limit + [None],
              "another address still gets at most %d" % limit, statuses)
        for k in proxied + others:
            k.close()


@harness.timeout(40)
def test_kept_alive_connection_may_pause_between_requests():
    """The request-head deadline starts at a kept-alive connection's next
    request line, not at the end of the previous response: a client pausing
    longer than the deadline (but less than connection-timeout) keeps its
    connection; a request line trickled that long is still cut, at
    connection-timeout + request-head-timeout after the response."""
    head, idle = 1, 3
    with harness.Server(users=(), args=["--request-head-timeout", str(head),
                                        "--connection-timeout", str(idle)]) as s:
        port = s.require_port()
        k = keep_alive(port)
        check(ask(k) == 200, "first request")
        time.sleep(head + 1.0)
        check(ask(k) == 200, "the second request after a %d s pause is answered on the same connection"
              % (head + 1))
        # A request line trickled byte by byte after a response: not idle
        # for libmicrohttpd, cut by the guard at idle + head seconds.
        t = keep_alive(port)
        check(ask(t) == 200, "first request (trickler)")
        t0 = time.monotonic()
        line = b"GET /api/v1/health" + b"x" * 100
        closed = None
        for i in range(len(line)):
            try:
                t.send(line[i:i + 1])
            except OSError:
                closed = time.monotonic() - t0
                break
            left = closed_within(t, 0.4)
            if left is not None:
                closed = time.monotonic() - t0
                break
        # Early is the bug this guards against; late only by the guard's
        # 0.25 s tick plus scheduling on a loaded machine (CI saw 1.9 s
        # with three suites side by side on two cores), while never being
        # cut would leave closed None.
        check(closed is not None and idle + head - 0.5 <= closed <= idle + head + 3.5,
              "a trickled request line is cut at about %d s (after %s s)" % (idle + head, closed))
        k.close()
        t.close()


def listen_backlog(port):
    """The backlog of the socket listening on 127.0.0.1:port (ss shows it
    as a listening socket's Send-Q)."""
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True, text=True,
                         timeout=10).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    check(len(rows) == 1, "one listening socket on port %d" % port, out)
    return int(rows[0][2])


def somaxconn():
    with open("/proc/sys/net/core/somaxconn") as f:
        return int(f.read())


@harness.timeout(40)
def test_listen_backlog_setting():
    """listen-backlog reaches listen(2) (default 4096, capped by the
    kernel's somaxconn): behind nginx a burst of upstream connects overflowed
    the old fixed 1024 and timed out; a value out of range is refused."""
    with harness.Server(users=()) as s:
        got = listen_backlog(s.require_port())
        check(got == min(4096, somaxconn()), "default backlog 4096 (somaxconn %d), got %d"
              % (somaxconn(), got))
    with harness.Server(users=(), args=["--listen-backlog", "100"]) as s:
        check(listen_backlog(s.require_port()) == 100, "--listen-backlog 100 is the socket's backlog")
    p = harness.run_healer(["serve", "--listen-backlog", "8"])
    check(p.returncode != 0 and "--listen-backlog: expected a whole number in 16..65535, got '8'" in p.stderr,
          "a backlog out of range is refused by name", p.stderr)


if __name__ == "__main__":
    harness.main(globals())
