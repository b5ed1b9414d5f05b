"""sinks.py - an SMTP sink and an HTTP sink on 127.0.0.1 for the alert tests.

What: SmtpSink is a minimal SMTP server (RFC 5321: EHLO/HELO, MAIL, RCPT,
DATA with dot-unstuffing, RSET, NOOP, QUIT; optionally STARTTLS with a
certificate made by `openssl req` in a temporary directory) that keeps every
message it accepts, with its envelope and the time it arrived. It can hold
each new connection for a while before its greeting (a slow relay), and can
start on a port chosen beforehand (a relay that comes up late).
HookSink is an HTTP server that keeps every POST (path, headers, JSON body)
and answers the statuses it is given in turn (500, then 204, ...).

Why our own: smtpd left Python's standard library and the suites use the
standard library only; this is small enough to read, and it lets a test see
exactly the bytes healer sent. Both listen on loopback only, run in daemon
threads, and stop when closed (or with the process).
"""

import email
import email.policy
import http.server
import json
import os
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time


def reserve_port():
    """A free loopback port nobody listens on (yet)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Mail:
    """One message as the sink received it."""

    def __init__(self, mail_from, rcpts, data, tls):
        self.mail_from = mail_from
        self.rcpts = rcpts
        self.data = data  # bytes, CRLF line ends, dots unstuffed
        self.tls = tls
        self.at = time.monotonic()
        self.msg = email.message_from_bytes(data, policy=email.policy.default)

    @property
    def subject(self):
        return str(self.msg["Subject"])

    @property
    def text(self):
        return self.msg.get_content()

    def __repr__(self):
        return "<mail to %s: %r>" % (",".join(self.rcpts), self.subject)


def make_cert(directory):
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class _Smtp(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        sink = self.server.sink
        sink.connections += 1
        if sink.hold_seconds:
            time.sleep(sink.hold_seconds)
        self.reply("220 sink ESMTP ready")
        state = {"from": None, "rcpts": [], "tls": False}
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd[:4].upper()
            sink.commands.append(cmd)
            if verb in ("EHLO", "HELO"):
                if verb == "EHLO":
                    self.wfile.write(b"250-sink\r\n250-8BITMIME\r\n")
                    if sink.context and not state["tls"]:
                        self.wfile.write(b"250-STARTTLS\r\n")
                    self.reply("250 SIZE 10000000")
                else:
                    self.reply("250 sink")
            elif cmd.upper() == "STARTTLS" and sink.context and not state["tls"]:
                self.reply("220 go ahead")
                tls = sink.context.wrap_socket(self.connection, server_side=True)
                self.connection = tls
                self.rfile = tls.makefile("rb")
                self.wfile = tls.makefile("wb")
                state = {"from": None, "rcpts": [], "tls": True}
            elif verb == "MAIL":
                state["from"] = cmd.split(":", 1)[1].strip()
                state["rcpts"] = []
                self.reply("250 ok")
            elif verb == "RCPT":
                state["rcpts"].append(cmd.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while True:
                    data = self.rfile.readline(65536)
                    if not data:
                        return
                    if data == b".\r\n":
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                with sink.lock:
                    sink.mails.append(Mail(state["from"], state["rcpts"], b"".join(lines), state["tls"]))
                self.reply("250 queued")
            elif verb == "RSET":
                state["from"], state["rcpts"] = None, []
                self.reply("250 ok")
            elif verb == "NOOP":
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _wait(lock, items, count, timeout):
    """Waits until `items` (guarded by `lock`) holds `count`; returns a copy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with lock:
            if len(items) >= count:
                return list(items)
        time.sleep(0.05)
    with lock:
        return list(items)


class _Sink:
    """What both sinks share: a server in a thread, closed on exit."""

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class SmtpSink(_Sink):
    """An SMTP server on 127.0.0.1:port (a free one unless given); with
    starttls=True it offers STARTTLS; hold_seconds delays every greeting."""

    def __init__(self, port=None, starttls=False, hold_seconds=0):
        self.mails = []
        self.commands = []
        self.connections = 0
        self.lock = threading.Lock()
        self.hold_seconds = hold_seconds
        self.context = None
        self._tmp = None
        if starttls:
            self._tmp = tempfile.TemporaryDirectory(prefix="smtp-sink-")
            cert, key = make_cert(self._tmp.name)
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(cert, key)
            self.cert = cert
        self.server = _Server(("127.0.0.1", port or 0), _Smtp)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.url = "smtp://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_mails(self, count, timeout):
        """Waits until `count` messages arrived; returns them (all so far)."""
        return _wait(self.lock, self.mails, count, timeout)

    def close(self):
        _Sink.close(self)
        if self._tmp:
            self._tmp.cleanup()


class _Hook(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        sink = self.server.sink
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        with sink.lock:
            status = sink.statuses.pop(0) if sink.statuses else 204
            sink.requests.append({"path": self.path, "headers": dict(self.headers),
                                  "body": body, "status": status, "at": time.monotonic()})
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class HookSink(_Sink):
    """An HTTP server on 127.0.0.1 that keeps POSTs; answers `statuses` in
    turn, then 204."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests = []
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        self.server.daemon_threads = True
        self.server.sink = self
        self.url = "http://127.0.0.1:%d/hooks/healer" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_posts(self, count, timeout):
        """Waits until `count` POSTs arrived; returns them (all so far)."""
        return _wait(self.lock, self.requests, count, timeout)


def json_of(request):
    return json.loads(request["body"].decode("utf-8"))
