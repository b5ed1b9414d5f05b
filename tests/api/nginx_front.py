"""nginx_front.py - deploy/nginx's configuration, run in a temporary prefix.

What: the files an operator installs (deploy/nginx/nginx.conf,
healer.conf, upstream.conf) copied into a temporary directory with only
what must differ on a test machine changed: the listen ports, the
certificate, the upstream's server lines (the test's instances), and the
paths nginx writes to (pid, logs, temporary bodies), which the files leave
at nginx's built-in defaults. `Nginx` starts it in the foreground and stops
it; `Front` is what harness.Client needs to talk HTTPS to it; `check_only`
runs `nginx -t` on a prefix.

Why a module: tests/api/test_tls.py (healer behind nginx), the deployment
checks (tests/deploy/test_deploy.py) and the scale-out tests and
benchmarks run the one configuration of deploy/nginx, never a copy of it,
so a change there is what they test.
"""
import os
import re
import resource
import shutil
import ssl
import subprocess

import harness

NGINX_DIR = os.path.join(harness.ROOT, "deploy", "nginx")
MAIN, SITE, UPSTREAM = "nginx.conf", "healer.conf", "upstream.conf"


def read(name):
    with open(os.path.join(NGINX_DIR, name)) as f:
        return f.read()


def subst_once(text, pattern, repl, what):
    """text with pattern replaced; exactly one match, or the configuration
    changed under the tests (say which file)."""
    text, n = re.subn(pattern, lambda _m: repl, text, flags=re.M)
    harness.check(n == 1, "deploy/nginx/%s should have exactly one %r (found %d)" % (what, pattern, n))
    return text


def fitted_nofile(text):
    """worker_rlimit_nofile and worker_connections no higher than this
    machine's hard open-file limit (nginx cannot raise it past that, even
    as root in a container, and would log an error at every start); the
    repository's values are sized for 10,000 clients on a real host."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return text
    for name in ("worker_rlimit_nofile", "worker_connections"):
        m = re.search(r"^(\s*)%s (\d+);$" % name, text, re.M)
        harness.check(m, "deploy/nginx/%s has no %s" % (MAIN, name))
        if int(m.group(2)) > hard:
            text = subst_once(text, r"^\s*%s \d+;$" % name, "%s%s %d;" % (m.group(1), name, hard), MAIN)
    return text


def localised_main(text, prefix):
    """nginx.conf on this machine: no user switch unless root (whose
    workers then stay root: the prefix is not www-data's), the access log
    and temporary files in the prefix, the open-file sizing within the
    machine's limit (fitted_nofile)."""
    text = fitted_nofile(text)
    text = subst_once(text, r"^user \S+;$", "user root;" if os.getuid() == 0 else "", MAIN)
    text = subst_once(text, r"^(\s*)access_log \S+;$", "    access_log %s/access.log;" % prefix, MAIN)
    temps = "".join("    %s_temp_path %s/%s;\n" % (kind, prefix, kind)
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return subst_once(text, r"^http \{$", "http {\n" + temps, MAIN)


def localised_site(text, https_port, http_port, cert, key):
    """healer.conf on loopback ports with the test certificate: only
    addresses and file names change."""
    subs = ((r"listen 443 ssl", "listen 127.0.0.1:%d ssl" % https_port),
            (r"^\s*listen \[::\]:443 [^;]*;\n", ""),
            (r"listen 80;", "listen 127.0.0.1:%d;" % http_port),
            (r"^\s*listen \[::\]:80;\n", ""),
            (r"ssl_certificate +\S+;", "ssl_certificate %s;" % cert),
            (r"ssl_certificate_key +\S+;", "ssl_certificate_key %s;" % key))
    for pattern, repl in subs:
        text = subst_once(text, pattern, repl, SITE)
    return text


def upstream_lines(ports, upstream):
    """upstream.conf (its text) for instances on 127.0.0.1, keeping the
    file's parameters (max_fails, fail_timeout) on every line."""
    m = re.search(r"^server \S+:\d+( [^;]*)?;$", upstream, re.M)
    harness.check(m, "deploy/nginx/upstream.conf has no server line")
    params = m.group(1) or ""
    return "".join("server 127.0.0.1:%d%s;\n" % (p, params) for p in ports)


def make_prefix(backends, https_port, http_port, cert, key, prefix=None, files=None):
    """A prefix directory holding the deploy/nginx files (or `files`,
    {name: text}, in their place) localised for backends (ports on
    127.0.0.1); returns (prefix, path of nginx.conf)."""
    text = files or {name: read(name) for name in (MAIN, SITE, UPSTREAM)}
    prefix = prefix or harness.tmp_path(harness.unique("nginx-"))
    os.makedirs(os.path.join(prefix, "healer"), exist_ok=True)
    os.chmod(prefix, 0o755)
    shutil.copy("/etc/nginx/mime.types", os.path.join(prefix, "mime.types"))
    conf = os.path.join(prefix, MAIN)
    out = ((conf, localised_main(text[MAIN], prefix)),
           (os.path.join(prefix, "healer", SITE), localised_site(text[SITE], https_port, http_port, cert, key)),
           (os.path.join(prefix, "healer", UPSTREAM), upstream_lines(backends, text[UPSTREAM])))
    for path, body in out:
        with open(path, "w") as f:
            f.write(body)
    return prefix, conf


def command(prefix, conf):
    """nginx in the foreground with its pid file and error log in prefix."""
    return ["nginx", "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log"), "-g",
            "daemon off; pid %s/nginx.pid; error_log %s/error.log;" % (prefix, prefix)]


def check_only(prefix, conf):
    """(exit code, output) of `nginx -t` on a prefix."""
    p = subprocess.run(command(prefix, conf) + ["-t"], capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout + p.stderr


class Nginx:
    """nginx in a temporary prefix in front of backends (ports on
    127.0.0.1), foreground, stopped (SIGQUIT, then SIGKILL) on exit."""

    def __init__(self, backends, https_port, http_port, cert, key):
        if not shutil.which("nginx"):
            harness.fail("nginx is not installed (make deps installs it)")
        self.dir, conf = make_prefix(backends, https_port, http_port, cert, key)
        rc, out = check_only(self.dir, conf)
        harness.check(rc == 0, "nginx -t refuses deploy/nginx's configuration", out)
        self.cmd = command(self.dir, conf)
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(3)  # SIGQUIT: graceful
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return False


class Front:
    """What harness.Client needs of a server, for healer reached through
    nginx over HTTPS (verified against the test certificate)."""

    def __init__(self, backend, port, cert):
        self.backend, self.port, self.cert = backend, port, cert
        self.name = "nginx in front of " + backend.name

    def connection(self, timeout=harness.HTTP_TIMEOUT):
        ctx = ssl.create_default_context(cafile=self.cert)
        return harness.http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)

    def require_port(self):
        return self.port

    def password(self, name):
        return self.backend.password(name)

    def death_note(self):
        return self.backend.death_note()
