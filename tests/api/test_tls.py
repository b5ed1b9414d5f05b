"""test_tls.py - `healer serve` over HTTPS, and where it refuses plain HTTP.

What: a server started with a pair made by `healer cert` is talked to
with Python's ssl (OpenSSL) as the only trusted certificate: the protocol
is TLS 1.2 or 1.3 with an AEAD cipher, a client limited to TLS 1.0/1.1 or
to CBC suites is refused, the certificate verifies for localhost,
127.0.0.1 and ::1 and not for another name, every answer carries
Strict-Transport-Security, the session cookie (login and logout) is
Secure, uploads and downloads stream through TLS, and plain HTTP to the
TLS port gets no HTTP answer. The settings work from the config file too,
and so does a production-like certificate made by OpenSSL (issued by a CA,
served with its chain, an RSA key; one expiring soon is warned about). Start-up refusals: a certificate without
its key (and the reverse), an unreadable file, a file that is not PEM, a
key of another certificate - each named, exit non-zero, before the data
directory is created; plain HTTP on 0.0.0.0 or [::] without
--allow-plain-http, which then allows it.

Behind a proxy: --trusted-proxy makes the per-address login limit count
the address the proxy saw, and deploy/nginx's configuration is run as
written (nginx from Debian, in a temporary directory: nginx_front.py) in
front of a healer started with the documented flags.

Why: the platform carries passwords and session cookies; a downgrade to
old protocols or weak ciphers, a cookie that leaks over HTTP, or a server
that quietly serves plain HTTP on a network address would each expose
them. Only a real TLS client on a real socket shows what a browser gets.

Run: python3 tests/api/test_tls.py [test_name...]
"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_json, expect_error  # noqa: E402
import nginx_front  # noqa: E402

SERVER = {"tls": True}
HSTS = "max-age=31536000"
AEAD = ("GCM", "CHACHA20")


def handshake(server, ctx, hostname="localhost"):
    """(protocol, cipher name, peer certificate) of one TLS handshake, or
    the exception that ended it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname=hostname) as t:
                return t.version(), t.cipher()[0], t.getpeercert()
        except (ssl.SSLError, ConnectionError, OSError) as e:
            return e


def old_client(server, maximum, ciphers="DEFAULT:@SECLEVEL=0"):
    """A client that offers at most `maximum` (and only `ciphers`), with
    OpenSSL's own floor lowered so that it really offers them."""
    ctx = server.ssl_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = maximum
    ctx.set_ciphers(ciphers)
    return ctx


def test_protocol_and_cipher(server):
    got = handshake(server, server.ssl_context())
    check(isinstance(got, tuple), "a TLS 1.2+ client must connect", got)
    check(got[0] in ("TLSv1.2", "TLSv1.3"), "negotiated %s" % got[0], got)
    ctx = server.ssl_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    got = handshake(server, ctx)
    check(isinstance(got, tuple) and got[0] == "TLSv1.2", "a TLS 1.2-only client connects", got)
    check(any(a in got[1] for a in AEAD) and "ECDHE" in got[1],
          "TLS 1.2 uses forward-secret AEAD suites, got %s" % got[1])


def test_old_protocols_refused(server):
    for name, maximum in (("TLS 1.1", ssl.TLSVersion.TLSv1_1), ("TLS 1.0", ssl.TLSVersion.TLSv1)):
        got = handshake(server, old_client(server, maximum))
        check(isinstance(got, Exception), "a client limited to %s must be refused" % name, got)


def test_weak_ciphers_refused(server):
    cbc = ("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:"
           "ECDHE-ECDSA-AES256-SHA384:AES128-SHA:AES256-SHA:AES128-SHA256:@SECLEVEL=0")
    got = handshake(server, old_client(server, ssl.TLSVersion.TLSv1_2, cbc))
    check(isinstance(got, Exception), "a TLS 1.2 client offering only CBC suites must be refused", got)


def test_certificate_names(server):
    for host in ("localhost", "127.0.0.1", "::1"):
        got = handshake(server, server.ssl_context(), host)
        check(isinstance(got, tuple), "the certificate must verify for %s" % host, got)
    names = dict((k, []) for k in ("DNS", "IP Address"))
    for kind, value in got[2]["subjectAltName"]:
        names.setdefault(kind, []).append(value)
    check(names["DNS"] == ["localhost"] and "127.0.0.1" in names["IP Address"],
          "subjectAltName: DNS localhost, IP 127.0.0.1 and ::1", got[2])
    got = handshake(server, server.ssl_context(), "healer.example.com")
    check(isinstance(got, ssl.SSLCertVerificationError),
          "the certificate must not verify for another host name", got)


def test_hsts_on_every_answer(c):
    for path, status in ((API + "/health", 200), (API + "/no-such-thing", 404), (API + "/datasets", 401)):
        r = c.get(path)
        check(r.status == status, "GET %s: HTTP %d expected" % (path, status), r)
        check(r.header("Strict-Transport-Security") == HSTS,
              "GET %s: Strict-Transport-Security should be %r" % (path, HSTS), r)


def test_session_cookie_secure(c):
    r = c.login("alice", c.server.password("alice"))
    check(c.cookie_attrs is not None and c.cookie_attrs.get("secure") is True,
          "the login cookie must carry Secure over HTTPS", r.header_all("Set-Cookie"))
    expect_json(c.get(API + "/auth/me"), 200, "the session works over HTTPS")
    r = c.logout()
    expect_json(r, 200, "logout")
    attrs = [harness.parse_set_cookie(v)[2] for v in r.header_all("Set-Cookie")]
    check(attrs and all(a.get("secure") is True for a in attrs),
          "the logout's clearing cookie must carry Secure too", r.header_all("Set-Cookie"))


@harness.timeout(60)
def test_upload_and_download_over_https(c):
    """Bodies stream both ways through TLS: a multipart upload into the
    blob store, and a file answer (sent from a descriptor, which TLS
    cannot hand to sendfile) byte for byte."""
    c.login_as("bob")
    data = harness.simulate(samples=20000, features=12, classes=3, seed=9)
    ds = harness.upload_dataset(c, data, name="over https")
    r = c.get(API + "/datasets/%d/download" % ds["id"])
    check(r.status == 200 and r.body == data, "the download over HTTPS is the upload, byte for byte",
          len(r.body), len(data))
    check(r.header("Strict-Transport-Security") == HSTS, "HSTS on a download", r)


def test_plain_http_to_tls_port_fails(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        got = b""
        try:
            while len(got) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    check(not got.startswith(b"HTTP/"), "plain HTTP to the HTTPS port must get no HTTP answer", got[:200])
    expect_json(harness.Client(server).get(API + "/health"), 200, "the server still answers HTTPS")


def test_plain_server_has_no_hsts():
    with harness.Server(name="plain server", users=(("alice", "alice-pass-1234", False),)) as s:
        c = s.client()
        r = c.login_as("alice")
        r = c.get(API + "/health")
        check(r.header("Strict-Transport-Security") is None, "plain HTTP answers carry no HSTS", r)
        check(c.cookie_attrs.get("secure") is None, "no Secure cookie on loopback plain HTTP", c.cookie_attrs)
        check(re.search(r"listening on http://127\.0\.0\.1:%d" % s.port, s.stdout_text()), "announces http://",
              s.stdout_text())


def test_settings_from_config_file():
    with harness.Server(name="config server", users=(), tls=True) as probe:
        pass  # only for its pair
    conf = harness.tmp_path("tls.conf")
    with open(conf, "w") as f:
        f.write("tls-cert = %s\ntls-key = %s\n" % (probe.tls["cert"], probe.tls["key"]))
    s = harness.Server(name="server with tls in its config file", users=(), args=["--config", conf])
    s.tls = probe.tls
    with s:
        r = harness.Client(s).get(API + "/health")
        check(r.status == 200 and r.header("Strict-Transport-Security") == HSTS,
              "tls-cert / tls-key from the config file serve HTTPS", r)
        check(re.search(r"listening on https://127\.0\.0\.1:%d" % s.port, s.stdout_text()),
              "announces https://", s.stdout_text())


def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "openssl %s failed" % args[0], p.stderr)


@harness.timeout(60)
def test_ca_chain_rsa_key_expiring_soon():
    """A certificate as production has them: issued by a CA, served with
    its chain (leaf then CA in one file), an RSA key in PKCS#1 PEM, made
    by OpenSSL. A client that trusts only the CA verifies it (so the chain
    is sent), and a certificate that expires within 14 days starts with a
    warning in the log."""
    if not shutil.which("openssl"):
        harness.fail("openssl is not installed (make deps installs it)")
    d = harness.tmp_path(harness.unique("ca-"))
    os.makedirs(d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=Healer Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    openssl("genrsa", "-traditional", "-out", "leaf.key", "2048", cwd=d)
    openssl("req", "-new", "-key", "leaf.key", "-subj", "/CN=localhost", "-out", "leaf.csr", cwd=d)
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "7", "-extfile", "ext", "-out", "leaf.pem", cwd=d)
    with open(os.path.join(d, "fullchain.pem"), "w") as out:
        for name in ("leaf.pem", "ca.pem"):
            with open(os.path.join(d, name)) as f:
                out.write(f.read())
    s = harness.Server(name="CA-issued certificate", users=(),
                       args=["--tls-cert", os.path.join(d, "fullchain.pem"),
                             "--tls-key", os.path.join(d, "leaf.key")])
    s.tls = {"cert": os.path.join(d, "ca.pem")}  # clients trust the CA alone
    with s:
        got = handshake(s, s.ssl_context())
        check(isinstance(got, tuple) and got[2]["subject"] == ((("commonName", "localhost"),),),
              "a client trusting only the CA verifies the served chain", got)
        ctx = s.ssl_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        got = handshake(s, ctx)
        check(isinstance(got, tuple) and "ECDHE-RSA" in got[1] and any(a in got[1] for a in AEAD),
              "TLS 1.2 with an RSA key: ECDHE-RSA with an AEAD cipher", got)
        check("expires within 14 days" in s.stderr_text(), "a certificate expiring soon is warned about",
              s.stderr_text())
        check(re.search(r"^HTTPS certificate: .*fullchain\.pem \(valid until \d{4}-\d\d-\d\d", s.stdout_text(), re.M),
              "the start-up message says until when the certificate is valid", s.stdout_text())


# ---- start-up refusals -------------------------------------------------------

def refused_start(args, listen="127.0.0.1"):
    """Runs serve with args on a fresh data directory path that must stay
    uncreated; returns (exit code, stderr)."""
    data = os.path.join(harness.tmp_root(), harness.unique("never-"))
    p = harness.run_healer(["serve", "--listen", "%s:%d" % (listen, harness.free_port()), "--data-dir", data,
                            "--web-dir", ""] + args, timeout=20)
    check(p.returncode != 0, "serve %s must refuse to start" % " ".join(args), p.stdout, p.stderr)
    check(not os.path.exists(data), "a refused start must not create the data directory", p.stderr)
    return p.returncode, p.stderr


def make_pair(name):
    d = harness.tmp_path(name)
    if not os.path.exists(os.path.join(d, "cert.pem")):
        p = harness.run_healer(["cert", "--out", d])
        check(p.returncode == 0, "healer cert", p.stderr)
    return os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")


def test_refuses_half_a_pair():
    cert, key = make_pair("pair-a")
    rc, err = refused_start(["--tls-cert", cert])
    check(rc == 2 and "tls-key" in err, "a certificate without its key is a usage error naming tls-key", err)
    rc, err = refused_start(["--tls-key", key])
    check(rc == 2 and "tls-cert" in err, "a key without its certificate is a usage error naming tls-cert", err)


def test_refuses_bad_files():
    cert, key = make_pair("pair-a")
    other_cert, other_key = make_pair("pair-b")
    garbage = harness.tmp_path("garbage.pem")
    with open(garbage, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    missing = harness.tmp_path("missing.pem")
    cases = harness.Cases()
    for label, args, words in (
            ("missing certificate", ["--tls-cert", missing, "--tls-key", key], (missing, "cannot read")),
            ("missing key", ["--tls-cert", cert, "--tls-key", missing], (missing, "cannot read")),
            ("certificate not PEM", ["--tls-cert", garbage, "--tls-key", key], (garbage, "no PEM certificate")),
            ("key not PEM", ["--tls-cert", cert, "--tls-key", cert], (cert, "no unencrypted PEM private key")),
            ("a directory", ["--tls-cert", harness.tmp_root(), "--tls-key", key], (harness.tmp_root(),)),
            ("key of another certificate", ["--tls-cert", cert, "--tls-key", other_key],
             (other_key, cert, "is not the private key"))):
        with cases(label):
            rc, err = refused_start(args)
            check(rc == 1, "exit code 1 expected, got %d" % rc, err)
            for w in words:
                check(w in err, "the message should contain %r" % w, err)
    cases.done()


def test_refuses_plain_http_on_network_addresses():
    for host in ("0.0.0.0", "[::]"):
        rc, err = refused_start([], listen=host)
        check(rc == 1 and "--allow-plain-http" in err and "--tls-cert" in err and "not a loopback" in err,
              "plain HTTP on %s must be refused with what to do instead" % host, err)


def test_allow_plain_http_on_any_address():
    with harness.Server(name="plain on 0.0.0.0", users=(), host="0.0.0.0", args=["--allow-plain-http"]) as s:
        expect_json(s.client().get(API + "/health"), 200, "plain HTTP on 0.0.0.0 with --allow-plain-http")
    with harness.Server(name="https on 0.0.0.0", users=(), host="0.0.0.0", tls=True) as s:
        r = s.client().get(API + "/health")
        check(r.status == 200 and r.header("Strict-Transport-Security") == HSTS,
              "HTTPS on 0.0.0.0 needs no --allow-plain-http", r)


# ---- behind a proxy ------------------------------------------------------------

def login_statuses(s, forwarded_for, n):
    """Statuses of n logins of an unknown user sent with X-Forwarded-For."""
    c = s.client()
    return [c.post_json(API + "/auth/login", {"username": "nobody", "password": "wrong-password-1"},
                        headers={"X-Forwarded-For": forwarded_for}).status for _ in range(n)]


def test_client_address_behind_trusted_proxy():
    """With --trusted-proxy the per-address login limit counts the
    address the proxy saw (the header's last), so one client hitting it
    does not lock everybody behind the proxy out; without it, or from an
    untrusted peer, the header is ignored."""
    args = ["--login-rate", "2", "--trusted-proxy", "10.9.9.9, 127.0.0.1"]
    with harness.Server(name="behind a proxy", users=(), args=args) as s:
        harness.one_login_window()
        got = login_statuses(s, "198.51.100.1, 203.0.113.1", 3)
        check(got == [401, 401, 429], "the third login from 203.0.113.1 is limited", got)
        got = login_statuses(s, "203.0.113.1, 203.0.113.2", 1)
        check(got == [401], "another client behind the proxy is not limited by the first", got)
        got = login_statuses(s, "203.0.113.1, not-an-address", 3)
        check(got[-1] == 429, "a header that does not end in an address counts as the proxy", got)
    with harness.Server(name="no trusted proxy", users=(), args=["--login-rate", "2"]) as s:
        harness.one_login_window()
        got = login_statuses(s, "203.0.113.1", 2) + login_statuses(s, "203.0.113.2", 1)
        check(got == [401, 401, 429], "without --trusted-proxy X-Forwarded-For is ignored", got)


def test_client_address_behind_trusted_proxy_range():
    """--trusted-proxy takes CIDR ranges (a Kubernetes ingress
    controller's pod range, whose addresses change): a request from
    127.0.0.1 with 127.0.0.0/8 trusted is counted as its X-Forwarded-For
    address; a range the peer is not in leaves the header ignored."""
    args = ["--login-rate", "2", "--trusted-proxy", "fd00::/8, 127.0.0.0/8"]
    with harness.Server(name="behind a proxy range", users=(), args=args) as s:
        harness.one_login_window()
        got = login_statuses(s, "203.0.113.1", 3) + login_statuses(s, "203.0.113.2", 1)
        check(got == [401, 401, 429, 401], "each client behind the range is counted apart", got)
    args = ["--login-rate", "2", "--trusted-proxy", "10.0.0.0/8"]
    with harness.Server(name="outside the range", users=(), args=args) as s:
        harness.one_login_window()
        got = login_statuses(s, "203.0.113.1", 2) + login_statuses(s, "203.0.113.2", 1)
        check(got == [401, 401, 429], "a peer outside the range: X-Forwarded-For ignored", got)


def test_client_address_from_last_forwarded_line():
    """A proxy that adds its own X-Forwarded-For line (HAProxy's option
    forwardfor) leaves the client's line first: the client address is the
    last line's last address, so a client cannot pick its own by sending a
    line of its own."""
    args = ["--login-rate", "2", "--trusted-proxy", "127.0.0.1"]
    body = b'{"username": "nobody", "password": "wrong-password-1"}'
    with harness.Server(name="two forwarded lines", users=(), args=args) as s:
        harness.one_login_window()
        got = []
        for claimed in ("198.51.100.1", "198.51.100.2"):
            # raw() writes each header as "name: value\r\n": the CRLF in the
            # value makes a second X-Forwarded-For line.
            two_lines = claimed + "\r\nX-Forwarded-For: 203.0.113.1"
            got.append(s.client().raw("POST", API + "/auth/login", body,
                                      headers={"Content-Type": "application/json",
                                               "X-Forwarded-For": two_lines}).status)
        got += login_statuses(s, "203.0.113.1", 1)
        check(got == [401, 401, 429], "both logins counted for 203.0.113.1, the last line's address", got)


def test_trusted_proxy_refused_when_malformed():
    for value, words in (("10.0.0.1,", "separated by commas"), ("proxy.example", "is not an IP address"),
                         (",".join(["10.0.0.%d" % i for i in range(17)]), "at most 16"),
                         ("10.1.2.3/8", "the range is 10.0.0.0/8"), ("fd00::/129", "prefix length")):
        rc, err = refused_start(["--trusted-proxy", value])
        check(rc == 2 and "trusted-proxy" in err and words in err,
              "--trusted-proxy %r must be a usage error saying %r" % (value, words), err)


# ---- deploy/nginx's configuration, run ---------------------------------------

DEPLOY_MD = os.path.join(harness.ROOT, "docs", "deploy.md")


def upstream_keepalive_below_idle_timeout(site):
    """nginx must drop an idle upstream connection before healer does
    (after connection-timeout, its idle limit between requests), or a POST
    it reuses the connection for as healer closes it gets a 502."""
    upstream = re.search(r"upstream healer \{(.*?)\}", site, re.S)
    check(upstream, "deploy/nginx/healer.conf has no upstream healer", site)
    keep = re.search(r"^\s*keepalive_timeout\s+(\d+)s;", upstream.group(1), re.M)
    check(keep, "the upstream sets no keepalive_timeout (nginx's default 60 s is not below healer's "
          "connection-timeout)", upstream.group(1))
    help_text = subprocess.run([harness.HEALER, "serve", "--help"], capture_output=True, text=True,
                               timeout=20)
    idle = re.search(r"--connection-timeout .*\((\d+)\)", help_text.stdout + help_text.stderr)
    check(idle, "serve --help names connection-timeout's default", help_text.stdout)
    check(int(keep.group(1)) < int(idle.group(1)), "the upstream's keepalive_timeout must be below "
          "connection-timeout", keep.group(1), idle.group(1))


@harness.timeout(60)
def test_deploy_nginx_in_front():
    """deploy/nginx's configuration (nginx.conf, healer.conf, and
    upstream.conf's line for this healer) and docs/deploy.md's healer
    command, run as written (ports and certificate paths aside): HTTPS
    through nginx with its HSTS once, plain HTTP redirected, the Secure
    cookie, and an upload larger than nginx's default body limit; its
    upstream drops idle connections before healer does."""
    cert, key = make_pair("nginx-pair")
    args = ["--secure-cookies", "--trusted-proxy", "127.0.0.1", "--max-upload-mb", "256",
            "--max-connections-per-address", "0", "--public-url", "https://healer.example.com"]
    with open(DEPLOY_MD) as f:
        doc = f.read()
    for flag in args[::2]:
        check(flag in doc, "docs/deploy.md's healer command should use %s" % flag)
    upstream_keepalive_below_idle_timeout(nginx_front.read(nginx_front.SITE))
    https_port, http_port = harness.free_port(), harness.free_port()
    with harness.Server(name="healer behind nginx", args=args) as s:
        with nginx_front.Nginx([s.port], https_port, http_port, cert, key) as ng:
            front = nginx_front.Front(s, https_port, cert)
            c = harness.Client(front)
            harness.wait_until(lambda: _answers(c), 10, "nginx to answer")
            r = c.get(API + "/health")
            check(r.status == 200 and r.header_all("Strict-Transport-Security") == [HSTS],
                  "one HSTS header through nginx", r.header_all("Strict-Transport-Security"), r)
            c.login_as("alice")
            check(c.cookie_attrs.get("secure") is True, "the cookie is Secure behind the proxy", c.cookie_attrs)
            data = harness.simulate(samples=20000, features=12, classes=3, seed=5)
            check(len(data) > (1 << 20), "the upload should exceed nginx's default 1 MiB body limit")
            ds = harness.upload_dataset(c, data, name="through nginx")
            check(ds["rows"] == 20000, "the whole upload arrived through nginx", ds)
            conn = harness.http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
            try:
                conn.request("GET", API + "/health", headers={"Host": "healer.example.com"})
                resp = conn.getresponse()
                resp.read()
                check(resp.status == 301 and resp.getheader("Location", "").startswith("https://"),
                      "plain HTTP to nginx redirects to HTTPS", resp.status, resp.getheader("Location"))
            finally:
                conn.close()
            check(ng.proc.poll() is None, "nginx kept running", ng.proc.stderr.read() if ng.proc.poll() else "")


def _answers(c):
    try:
        return c.get(API + "/health").status == 200
    except harness.TestFailure:
        return False


if __name__ == "__main__":
    harness.main(globals())
