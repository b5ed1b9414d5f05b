"""test_deploy.py - the deployment files of deploy/ checked without deploying.

What: each kind of file is checked for what it must say and against the
platform it deploys: the systemd units by `systemd-analyze verify` (their
ExecStart pointed at a temporary copy of build/healer; any complaint
fails) and for their hardening and descriptor limit; the nginx
configuration by `nginx -t` in a temporary prefix (tests/api/nginx_front.py,
with a certificate from `healer cert`) and for its sizing; the
Dockerfile statically (stages, a non-root user, COPY sources that exist
and are not ignored, the runtime stage's packages covering every library
build/healer links, HEALTHCHECK on a public route and the exposed port);
the compose file and the Kubernetes manifests parsed (PyYAML) and
cross-checked (objects complete, selectors matching, probes on a public
GET route and the container's port, images and commands the Dockerfile's,
secrets mounted where the flags point). Every `--flag` any file passes to
healer must be one `healer serve --help` or `healer worker --help` lists.
Two things run for real: the image's default command (with this
build/healer) until its HEALTHCHECK URL answers, and nginx with
deploy/nginx in front of two instances, one killed, to show its
failover. test_checks_catch_broken_files breaks a copy of each file in the ways the
checks exist for and requires each check to fail.

Why: none of these files runs in `make test` (no container registry, no
cluster, no systemd as PID 1 here), so without these checks a renamed
flag, a moved route or a typo would only show at a customer's first
deployment. Docker images are not built here: say so, do not pretend.

Run: python3 tests/deploy/test_deploy.py [test_name...]
"""
import copy
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import harness  # noqa: E402
from harness import check, fail  # noqa: E402
import nginx_front  # noqa: E402

try:
    import yaml
except ImportError:  # make deps installs python3-yaml
    yaml = None

ROOT = harness.ROOT
DEPLOY = os.path.join(ROOT, "deploy")
UNITS = ("healer-serve.service", "healer-worker@.service")
ENV_FILE = "healer.env"
LOGROTATE = "healer.logrotate"
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")
COMPOSE = os.path.join(DEPLOY, "compose", "compose.yaml")
K8S = os.path.join(DEPLOY, "k8s")
# The commands the issue defines, with their flags, for as long as the
# binary does not know them yet (`healer worker` and `serve --no-workers`
# are built on other branches of issue 13): once `healer worker --help`
# works, --help alone decides.
ISSUE_FLAGS = {"serve": {"--store", "--blobs", "--no-workers"},
               "worker": {"--store", "--blobs", "--data-dir", "--data-key-file", "--threads"}}
CLIENTS = 10000  # client connections nginx is sized for (issue 13)
UPSTREAM_POOL = 1024  # idle upstream connections per nginx worker, at least
K8S_API = {"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Namespace": "v1",
           "Ingress": "networking.k8s.io/v1", "PodDisruptionBudget": "policy/v1",
           "Kustomization": "kustomize.config.k8s.io/v1beta1"}


def read(path):
    with open(path) as f:
        return f.read()


# ---- what the platform knows ---------------------------------------------------

_CACHE = {}


def cached(fn):
    def wrapper():
        if fn.__name__ not in _CACHE:
            _CACHE[fn.__name__] = fn()
        return _CACHE[fn.__name__]
    wrapper.__name__ = fn.__name__
    return wrapper


def help_flags(command):
    """The --flags `healer COMMAND --help` lists, or None when the binary
    has no such command."""
    p = harness.run_healer([command, "--help"], timeout=20)
    if p.returncode != 0:
        return None
    return set(re.findall(r"^\s+(--[a-z][a-z0-9-]*)", p.stdout + p.stderr, re.M))


@cached
def known_flags():
    """{command: flags} for serve and worker (see ISSUE_FLAGS)."""
    serve, worker = help_flags("serve"), help_flags("worker")
    check(serve, "healer serve --help lists no flags")
    if worker is None:
        return {"serve": serve | ISSUE_FLAGS["serve"], "worker": ISSUE_FLAGS["worker"]}
    return {"serve": serve, "worker": worker}


@cached
def public_get_routes():
    p = harness.run_healer(["routes"], timeout=20)
    check(p.returncode == 0, "healer routes failed", p.stderr)
    return {m.group(1) for m in re.finditer(r"^GET\s+(\S+)\s+PUBLIC\b", p.stdout, re.M)}


@cached
def fd_reserve():
    """Descriptors healer keeps beside its connections (server.c)."""
    m = re.search(r"#define FD_RESERVE (\d+)", read(os.path.join(ROOT, "src/service/server/server.c")))
    check(m, "src/service/server/server.c no longer defines FD_RESERVE: update this test")
    return int(m.group(1))


def check_command(argv, what):
    """argv (without the program) is a healer command whose flags it knows."""
    check(argv and argv[0] in ("serve", "worker"), "%s: not `healer serve` or `healer worker`" % what, argv)
    known = known_flags()[argv[0]]
    unknown = [a for a in argv[1:] if a.startswith("--") and a not in known]
    check(not unknown, "%s: healer %s does not know %s" % (what, argv[0], ", ".join(unknown)), argv)


def flag_value(argv, flag):
    values = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]
    return values[-1] if values else None


def listen_port(argv, what):
    value = flag_value(argv, "--listen")
    check(value and re.match(r"^[^:]+:\d+$", value), "%s: no --listen HOST:PORT" % what, argv)
    return int(value.rsplit(":", 1)[1])


# ---- systemd ---------------------------------------------------------------------

def unit_settings(text):
    """[(key, value)] of a unit, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", text)
    return [(k, v.strip()) for k, v in re.findall(r"^([A-Za-z]+)=(.*)$", text, re.M)]


def env_settings(text):
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", text, re.M))


def check_unit(name, text, env):
    settings = unit_settings(text)
    one = dict(settings)
    for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                      ("Restart", "on-failure")):
        check(one.get(key) == want, "%s: %s=%s expected" % (name, key, want), one.get(key))
    check(one.get("User") and one["User"] not in ("root", "0"), "%s: no dedicated User=" % name, one.get("User"))
    exec_start = shlex.split(one.get("ExecStart", ""))
    check(exec_start and exec_start[0] == "/usr/local/bin/healer", "%s: ExecStart runs no healer" % name, exec_start)
    check_command(exec_start[1:], name)
    used = set(re.findall(r"\$\{?([A-Z_]+)\}?", one["ExecStart"]))
    undefined = sorted(used - set(env))
    check(not undefined, "%s: ExecStart uses variables %s/%s does not set" % (name, ENV_FILE, undefined))
    check(re.fullmatch(r"\d+", one.get("LimitNOFILE", "")), "%s: no numeric LimitNOFILE" % name)
    key_file = flag_value(exec_start, "--data-key-file")
    check(key_file and key_file.startswith("%d/"), "%s: the data key must be a credential (%%d/...)" % name,
          key_file)
    credentials = [v.split(":", 1)[0] for k, v in settings if k == "LoadCredential"]
    check(key_file[3:] in credentials, "%s: no LoadCredential for %s" % (name, key_file), credentials)
    if exec_start[1] == "serve":
        conns = int(env.get("HEALER_MAX_CONNECTIONS", "0"))
        check(conns > 0 and int(one["LimitNOFILE"]) >= conns + fd_reserve(),
              "%s: LimitNOFILE=%s is below max-connections (%d) + %d descriptors healer keeps for files and "
              "the database" % (name, one["LimitNOFILE"], conns, fd_reserve()))
    else:
        check("@" in name and "%i" in flag_value(exec_start, "--data-dir"),
              "%s: a template whose instances each have their own --data-dir (%%i)" % name)


def systemd_verify(units, binary):
    """Complaints of `systemd-analyze verify` on copies of units whose
    ExecStart runs binary (a template checked as instance 1)."""
    d = harness.tmp_path(harness.unique("units-"))
    os.makedirs(d)
    paths = []
    for name, text in units.items():
        path = os.path.join(d, name.replace("@.", "@1."))
        with open(path, "w") as f:
            f.write(text.replace("/usr/local/bin/healer", binary))
        paths.append(path)
    p = subprocess.run(["systemd-analyze", "verify", "--man=no"] + paths, capture_output=True, text=True,
                       timeout=60, cwd=d)
    # verify exits 0 on unknown keys and bad values (it ignores them):
    # anything it says about the units is a failure.
    said = [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]
    return p.returncode, said


def check_logrotate(text, unit):
    """`logrotate -d` on the file, moved to a temporary logs directory
    (and root's account): it must name serve's log directory and raise
    no error (logrotate -d exits 0 on unknown directives: its output
    decides)."""
    data_dir = flag_value(shlex.split(dict(unit_settings(unit))["ExecStart"]), "--data-dir")
    logs = data_dir + "/logs/"
    check(logs + "*.log {" in text, "healer.logrotate must rotate %s*.log" % logs)
    check(re.search(r"^\s*copytruncate\s*$", text, re.M), "healer.logrotate: healer does not reopen its "
          "log: copytruncate")
    if not shutil.which("logrotate"):
        fail("logrotate is not installed (make deps installs it)")
    d = harness.tmp_path(harness.unique("logrotate-"))
    os.makedirs(os.path.join(d, "logs"))
    open(os.path.join(d, "logs", "access.log"), "w").close()
    conf = os.path.join(d, "healer")
    with open(conf, "w") as f:
        f.write(re.sub(r"^(\s*su) \S+ \S+$", r"\1 root root", text.replace(logs, d + "/logs/"), flags=re.M))
    p = subprocess.run(["logrotate", "-d", "-s", os.path.join(d, "state"), conf], capture_output=True,
                       text=True, timeout=20)
    errors = [line for line in (p.stdout + p.stderr).splitlines() if line.startswith("error:")]
    check(p.returncode == 0 and not errors, "logrotate -d complains about healer.logrotate", errors)


def check_units(files):
    env = env_settings(files[ENV_FILE])
    for name in UNITS:
        check_unit(name, files[name], env)
    for var, command in (("HEALER_SERVE_FLAGS", "serve"), ("HEALER_WORKER_FLAGS", "worker")):
        check(var in env, "%s does not set %s" % (ENV_FILE, var))
        check_command([command] + shlex.split(env[var]), "%s %s" % (ENV_FILE, var))
    check_logrotate(files[LOGROTATE], files["healer-serve.service"])
    if not shutil.which("systemd-analyze"):
        fail("systemd-analyze is not installed (Debian's systemd package)")
    binary = harness.tmp_path("healer-for-units")
    if not os.path.exists(binary):
        shutil.copy(harness.HEALER, binary)
    rc, said = systemd_verify({n: files[n] for n in UNITS}, binary)
    check(rc == 0 and not said, "systemd-analyze verify complains about deploy/systemd's units", said)


def systemd_files():
    return {n: read(os.path.join(DEPLOY, "systemd", n)) for n in UNITS + (ENV_FILE, LOGROTATE)}


# ---- nginx -----------------------------------------------------------------------

def directive(text, name, what):
    values = re.findall(r"^\s*%s\s+([^;]+);" % name, text, re.M)
    check(len(values) == 1, "deploy/nginx/%s: one %s expected, found %d" % (what, name, len(values)))
    return values[0].strip()


def mebibytes(value, what):
    m = re.fullmatch(r"(\d+)[mM]", value)
    check(m, "%s: %r is not a size in MiB (NNNm)" % (what, value))
    return int(m.group(1))


def check_nginx(files, env):
    main, site = files[nginx_front.MAIN], files[nginx_front.SITE]
    conns = int(directive(main, "worker_connections", nginx_front.MAIN))
    nofile = int(directive(main, "worker_rlimit_nofile", nginx_front.MAIN))
    check(conns >= 2 * CLIENTS, "worker_connections %d: one worker must hold %d clients and their upstream "
          "connections (%d)" % (conns, CLIENTS, 2 * CLIENTS))
    check(nofile >= conns, "worker_rlimit_nofile %d is below worker_connections %d" % (nofile, conns))
    upload = int(env.get("HEALER_MAX_UPLOAD_MB", "0"))
    body = mebibytes(directive(site, "client_max_body_size", nginx_front.SITE), "client_max_body_size")
    check(body == upload + 1, "client_max_body_size %dm must be max-upload-mb (%d) + 1 MiB" % (body, upload))
    check(directive(site, "proxy_request_buffering", nginx_front.SITE) == "off",
          "uploads must stream to healer (proxy_request_buffering off)")
    retry = re.findall(r"^\s*proxy_next_upstream\s+([^;]+);", site, re.M)
    check(retry and all("non_idempotent" not in r for r in retry),
          "passive failover without resending POSTs: proxy_next_upstream without non_idempotent", retry)
    for header in ("X-Forwarded-For", "X-Forwarded-Proto"):
        check(re.search(r"proxy_set_header\s+%s\s" % header, site), "nginx does not pass %s" % header)
    upstream = re.search(r"upstream healer \{(.*?)\}", site, re.S)
    pool = upstream and re.search(r"^\s*keepalive\s+(\d+);", upstream.group(1), re.M)
    check(pool, "the upstream keeps no connections alive (keepalive N)")
    check(int(pool.group(1)) >= UPSTREAM_POOL,
          "upstream keepalive %s: under thousands of requests in flight a smaller pool makes nginx reopen "
          "its connections to the instances by thousands, overflowing their listen queue (at least %d)"
          % (pool.group(1), UPSTREAM_POOL))
    check("max_conns=" not in files[nginx_front.UPSTREAM],
          "max_conns without an upstream queue (open-source nginx has none) answers 502 over the cap")
    servers = re.findall(r"^server \S+:\d+", files[nginx_front.UPSTREAM], re.M)
    check(len(servers) >= 2, "deploy/nginx/upstream.conf: several web instances expected", servers)
    if not shutil.which("nginx"):
        fail("nginx is not installed (make deps installs it)")
    cert_dir = harness.tmp_path("nginx-cert")
    if not os.path.exists(os.path.join(cert_dir, "cert.pem")):
        p = harness.run_healer(["cert", "--out", cert_dir])
        check(p.returncode == 0, "healer cert", p.stderr)
    prefix, conf = nginx_front.make_prefix([harness.free_port(), harness.free_port()], harness.free_port(),
                                           harness.free_port(), os.path.join(cert_dir, "cert.pem"),
                                           os.path.join(cert_dir, "key.pem"), files=files)
    rc, out = nginx_front.check_only(prefix, conf)
    check(rc == 0, "nginx -t refuses deploy/nginx's configuration", out)


def nginx_files():
    return {n: nginx_front.read(n) for n in (nginx_front.MAIN, nginx_front.SITE, nginx_front.UPSTREAM)}


# ---- Dockerfile ------------------------------------------------------------------

def dockerfile_instructions(text):
    """[(stage index, INSTRUCTION, arguments)], continuations joined."""
    out, stage = [], -1
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines()
                                             if not line.lstrip().startswith("#")))
    for line in joined.splitlines():
        m = re.match(r"^\s*([A-Za-z]+)\s+(.*)$", line)
        if not m:
            check(not line.strip(), "Dockerfile: cannot read %r" % line)
            continue
        op = m.group(1).upper()
        if op == "FROM":
            stage += 1
        check(stage >= 0, "Dockerfile: %s before the first FROM" % op)
        out.append((stage, op, m.group(2).strip()))
    return out


def exec_form(args, what):
    check(args.startswith("["), "Dockerfile: %s must be in exec form ([...])" % what, args)
    import json
    try:
        return json.loads(args)
    except ValueError as e:
        fail("Dockerfile: %s is not a JSON array: %s" % (what, e))


def ignored(path, patterns):
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in patterns)


@cached
def linked_packages():
    """The Debian packages of the libraries build/healer links directly."""
    p = subprocess.run(["readelf", "-d", harness.HEALER], capture_output=True, text=True, timeout=20)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", p.stdout)
    check(needed, "readelf found no NEEDED libraries in build/healer", p.stderr)
    ldd = subprocess.run(["ldd", harness.HEALER], capture_output=True, text=True, timeout=20).stdout
    packages = {}
    for lib in needed:
        m = re.search(r"^\s*%s => (\S+)" % re.escape(lib), ldd, re.M)
        check(m, "ldd does not resolve %s" % lib, ldd)
        owner = None
        for path in (m.group(1), os.path.realpath(m.group(1)), re.sub(r"^/usr/lib/", "/lib/", m.group(1))):
            q = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, timeout=20)
            if q.returncode == 0:
                owner = q.stdout.split(":", 1)[0]
                break
        check(owner, "no Debian package owns %s" % m.group(1))
        packages[lib] = owner
    return packages


_ESSENTIAL = {}


def essential(package):
    if package not in _ESSENTIAL:
        _ESSENTIAL[package] = _essential(package)
    return _ESSENTIAL[package]


def _essential(package):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Essential}", package], capture_output=True, text=True, timeout=20)
    return p.stdout.strip() == "yes"


def check_dockerfile(text, ignore_text, root=ROOT):
    ins = dockerfile_instructions(text)
    froms = [(s, a) for s, op, a in ins if op == "FROM"]
    names = {}
    for s, args in froms:
        m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
        check(m and re.fullmatch(r"debian:(12|bookworm)(-slim)?", m.group(1)),
              "Dockerfile: every stage starts from Debian 12", args)
        if m.group(2):
            names[m.group(2).lower()] = s
    check(len(froms) >= 2 and "build" in names, "Dockerfile: a multi-stage build with a stage named build")
    final = froms[-1][0]
    check(names.get("build") != final, "Dockerfile: the last stage must not be the build stage")
    build_runs = " ".join(a for s, op, a in ins if s == names["build"] and op == "RUN")
    check(re.search(r"\bmake build\b", build_runs), "Dockerfile: the build stage runs no `make build`")
    patterns = [p.strip() for p in ignore_text.splitlines() if p.strip() and not p.startswith("#")]
    stage_of_dest = {}
    for s, op, args in ins:
        if op not in ("COPY", "ADD"):
            continue
        words = args.split()
        opts = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        src_from = [o.split("=", 1)[1] for o in opts if o.startswith("--from=")]
        if src_from:
            check(src_from[0].lower() in names and names[src_from[0].lower()] < s,
                  "Dockerfile: COPY --from=%s names no earlier stage" % src_from[0])
            for src in paths[:-1]:
                rel = os.path.relpath(src, "/src")
                check(rel in ("build/healer", "web/dist"), "Dockerfile: %s is not what `make build` makes "
                      "in the build stage's /src (build/healer, web/dist)" % src)
            stage_of_dest[paths[-1]] = s
            continue
        for src in paths[:-1]:
            check(os.path.exists(os.path.join(root, src)), "Dockerfile: COPY source %s does not exist" % src)
            check(src == "." or not ignored(src, patterns), "Dockerfile: COPY source %s is in .dockerignore" % src)
    final_ins = [(op, a) for s, op, a in ins if s == final]
    users = [a for op, a in final_ins if op == "USER"]
    check(users, "Dockerfile: the runtime stage sets no USER (it would run as root)")
    user = users[-1].split(":")[0]
    check(re.fullmatch(r"\d+", user) and int(user) != 0,
          "Dockerfile: USER must be a numeric non-root uid (Kubernetes' runAsNonRoot checks numbers)", users[-1])
    entry = [exec_form(a, "ENTRYPOINT") for op, a in final_ins if op == "ENTRYPOINT"]
    check(entry and entry[-1] == ["/usr/local/bin/healer"] and stage_of_dest.get("/usr/local/bin/healer") == final,
          "Dockerfile: the entrypoint is healer, copied from the build stage", entry)
    cmd = [exec_form(a, "CMD") for op, a in final_ins if op == "CMD"]
    check(cmd, "Dockerfile: no CMD")
    check_command(cmd[-1], "Dockerfile CMD")
    port = listen_port(cmd[-1], "Dockerfile CMD")
    exposed = [int(p) for op, a in final_ins if op == "EXPOSE" for p in a.split()]
    check(exposed == [port], "Dockerfile: EXPOSE %s, the CMD listens on %d" % (exposed, port))
    health = [a for op, a in final_ins if op == "HEALTHCHECK"]
    check(health, "Dockerfile: the runtime stage has no HEALTHCHECK")
    m = re.search(r"https?://[^/:\s\"]+:(\d+)(/[^\s\"]*)", health[-1])
    check(m and int(m.group(1)) == port and m.group(2) in public_get_routes(),
          "Dockerfile: HEALTHCHECK must GET a public route on the port %d" % port, health[-1])
    installs = " ".join(a for op, a in final_ins if op == "RUN")
    m = re.search(r"apt-get install ((?:\s*-\S+)*)((?:\s+[a-z0-9][a-z0-9.+-]+)+)", installs)
    check(m, "Dockerfile: the runtime stage installs no packages")
    runtime = set(m.group(2).split())
    dev = sorted(p for p in runtime if p.endswith("-dev") or p in ("build-essential", "gcc", "make"))
    check(not dev, "Dockerfile: build packages in the runtime stage", dev)
    missing = sorted("%s (%s)" % (pkg, lib) for lib, pkg in linked_packages().items()
                     if pkg not in runtime and not essential(pkg) and pkg not in ("libc6", "libgcc-s1"))
    check(not missing, "Dockerfile: the runtime stage lacks libraries build/healer links", missing)
    return {"uid": int(user), "stages": set(names), "port": port}


def docker_files():
    return read(DOCKERFILE), read(os.path.join(ROOT, ".dockerignore"))


# ---- compose -----------------------------------------------------------------------

def parse_yaml(text, what, many=False):
    if yaml is None:
        fail("PyYAML is missing (Debian's python3-yaml; make deps installs it)")
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None] if many else yaml.safe_load(text)
    except yaml.YAMLError as e:
        fail("%s does not parse: %s" % (what, e))


def check_compose(text, docker, compose_dir=os.path.dirname(COMPOSE)):
    doc = parse_yaml(text, "deploy/compose/compose.yaml")
    check(isinstance(doc, dict) and isinstance(doc.get("services"), dict), "compose: no services")
    services = doc["services"]
    for name in ("postgres", "web1", "web2", "worker", "nginx"):
        check(name in services, "compose: no service %s" % name)
    secrets = doc.get("secrets") or {}
    volumes = doc.get("volumes") or {}
    healer = {n: s for n, s in services.items() if n in ("web1", "web2", "worker")}
    keys = set()
    for name, s in healer.items():
        build = s.get("build") or {}
        check(os.path.normpath(os.path.join(compose_dir, build.get("context", "?"))) == ROOT
              and build.get("dockerfile") == "deploy/Dockerfile" and "target" not in build,
              "compose: %s must build deploy/Dockerfile's runtime stage from the repository" % name, build)
        argv = [str(a) for a in s.get("command") or []]
        check_command(argv, "compose " + name)
        want = "worker" if name == "worker" else "serve"
        check(argv[0] == want, "compose: %s runs healer %s" % (name, want), argv)
        if want == "serve":
            check("--no-workers" in argv, "compose: %s must serve HTTP only (--no-workers)" % name, argv)
            check(listen_port(argv, name) == docker["port"], "compose: %s listens on another port than the "
                  "image's health check" % name)
        key = flag_value(argv, "--data-key-file")
        check(key and key.startswith("/run/secrets/") and key[len("/run/secrets/"):] in (s.get("secrets") or []),
              "compose: %s's --data-key-file is not one of its secrets" % name, key)
        keys.add(key)
        for flag in ("--store", "--blobs"):
            check(flag_value(argv, flag), "compose: %s has no %s" % (name, flag))
        for v in s.get("volumes") or []:
            src = v.split(":", 1)[0]
            check(src in volumes, "compose: %s mounts undeclared volume %s" % (name, src))
    check(len(keys) == 1, "compose: every healer process must get the same data key", keys)
    images = {s.get("image") for s in healer.values()}
    check(len(images) == 1, "compose: the healer services run one image", images)
    for name, s in services.items():
        for sec in s.get("secrets") or []:
            check(sec in secrets, "compose: %s uses undeclared secret %s" % (name, sec))
    check(services["worker"].get("healthcheck", {}).get("disable") is True,
          "compose: the worker serves no HTTP: disable the image's health check")
    nginx = services["nginx"]
    target = (nginx.get("build") or {}).get("target")
    check(target in docker["stages"], "compose: nginx builds a stage the Dockerfile lacks", target)
    addr = (((nginx.get("networks") or {}).get("healer") or {}).get("ipv4_address"))
    for name in ("web1", "web2"):
        argv = [str(a) for a in services[name]["command"]]
        check(addr and flag_value(argv, "--trusted-proxy") == addr,
              "compose: %s must trust nginx's address %s" % (name, addr))
    mounts = {v.split(":")[1]: v.split(":")[0] for v in nginx.get("volumes") or []}
    upstream = mounts.get("/etc/nginx/healer/upstream.conf")
    check(upstream and os.path.exists(os.path.join(compose_dir, upstream)),
          "compose: nginx gets no upstream.conf of the web services", mounts)
    servers = re.findall(r"^server (\S+):(\d+)", read(os.path.join(compose_dir, upstream)), re.M)
    check(sorted(h for h, _ in servers) == ["web1", "web2"] and all(int(p) == docker["port"] for _, p in servers),
          "compose: upstream.conf must list web1 and web2 on their port", servers)
    return images.pop()


# ---- Kubernetes ----------------------------------------------------------------------

def k8s_docs(texts):
    docs = []
    for name, text in sorted(texts.items()):
        for d in parse_yaml(text, "deploy/k8s/" + name, many=True):
            check(isinstance(d, dict), "deploy/k8s/%s: a document is not a mapping" % name)
            for key in ("apiVersion", "kind"):
                check(d.get(key), "deploy/k8s/%s: a document has no %s" % (name, key), d)
            check(K8S_API.get(d["kind"]) == d["apiVersion"],
                  "deploy/k8s/%s: %s should be %s, is %s" % (name, d["kind"], K8S_API.get(d["kind"]), d["apiVersion"]))
            if d["kind"] != "Kustomization":
                check((d.get("metadata") or {}).get("name"), "deploy/k8s/%s: a %s has no metadata.name" % (name, d["kind"]))
            docs.append((name, d))
    return docs


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_container(c, pod, env_keys, docker, image, what):
    sc = c.get("securityContext") or {}
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False,
          "%s: read-only root file system, no privilege escalation" % what, sc)
    check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), "%s: drop ALL capabilities" % what)
    check(c.get("image") == image, "%s: image %r, the kustomization names %r" % (what, c.get("image"), image))
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
    volumes = {v["name"] for v in pod.get("volumes") or []}
    check(set(mounts.values()) <= volumes, "%s: mounts undeclared volumes" % what, mounts)
    if c.get("command"):
        tool = shutil.which(c["command"][0]) or c["command"][0]
        q = subprocess.run(["dpkg", "-S", tool], capture_output=True, text=True, timeout=20)
        check(q.returncode == 0 and essential(q.stdout.split(":", 1)[0]),
              "%s: %s is not in the image (not from an Essential Debian package)" % (what, c["command"][0]))
        return None
    argv = [str(a) for a in c.get("args") or []]
    check_command(argv, what)
    for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", " ".join(argv)):
        check(var in env_keys, "%s: $(%s) is not in its environment" % (what, var))
    key = flag_value(argv, "--data-key-file")
    check(key and any(key.startswith(p.rstrip("/") + "/") for p in mounts),
          "%s: --data-key-file %s is on no mounted volume" % (what, key))
    return argv


def check_trusted_proxy(argv, c, configmaps, what):
    """The web pods trust the Ingress controller's pod range: a non-empty
    HEALER_TRUSTED_PROXY of their ConfigMap that healer serve accepts
    (empty, every client would count as the controller for the login
    limit)."""
    check(flag_value(argv, "--trusted-proxy") == "$(HEALER_TRUSTED_PROXY)",
          "%s: --trusted-proxy $(HEALER_TRUSTED_PROXY)" % what, argv)
    names = [(r.get("configMapRef") or {}).get("name") for r in c.get("envFrom") or []]
    value = next((configmaps[n]["HEALER_TRUSTED_PROXY"] for n in names
                  if "HEALER_TRUSTED_PROXY" in configmaps.get(n, {})), "")
    check(value, "%s: HEALER_TRUSTED_PROXY is empty (give the cluster's pod range)" % what)
    p = harness.run_healer(["serve", "--trusted-proxy", value, "--listen", "-"], timeout=20)
    check("trusted-proxy" not in p.stderr and "listen" in p.stderr,
          "%s: healer serve refuses HEALER_TRUSTED_PROXY %r" % (what, value), p.stderr)


def check_k8s(texts, docker, image_ref):
    docs = k8s_docs(texts)
    kinds = {}
    for name, d in docs:
        kinds.setdefault(d["kind"], []).append(d)
    kust = kinds.get("Kustomization") or [None]
    check(kust[0] and sorted(kust[0].get("resources") or []) == sorted(n for n in texts if n != "kustomization.yaml"),
          "deploy/k8s/kustomization.yaml must list every other file", kust[0])
    images = {i["name"]: "%s:%s" % (i.get("newName", i["name"]), i.get("newTag", "latest"))
              for i in kust[0].get("images") or []}
    check(len(images) == 1, "kustomization: one image", images)
    image, ref = images.popitem()
    check(ref == image_ref, "kustomization: image %s, the compose file builds %s" % (ref, image_ref))
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in kinds.get("ConfigMap", [])}
    deployments = {d["metadata"]["name"]: d for d in kinds.get("Deployment", [])}
    check({"healer-web", "healer-worker"} <= set(deployments), "deploy/k8s: web and worker Deployments", deployments)
    ports, web_labels = {}, None
    for dname, d in deployments.items():
        spec = d["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        check(matches(spec["selector"]["matchLabels"], labels), "%s: its selector misses its pods" % dname)
        psc = pod.get("securityContext") or {}
        check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == docker["uid"],
              "%s: runAsNonRoot with the image's uid %d" % (dname, docker["uid"]), psc)
        for c in pod.get("initContainers") or []:
            check_container(c, pod, set(), docker, image, "%s init %s" % (dname, c["name"]))
        containers = pod["containers"]
        check(len(containers) == 1, "%s: one container" % dname)
        c = containers[0]
        env_keys = {e["name"] for e in c.get("env") or []}
        for ref in c.get("envFrom") or []:
            cm = (ref.get("configMapRef") or {}).get("name")
            check(cm in configmaps, "%s: envFrom names no ConfigMap of deploy/k8s (%s)" % (dname, cm))
            env_keys |= set(configmaps[cm])
        argv = check_container(c, pod, env_keys, docker, image, dname)
        check(c.get("resources", {}).get("requests"), "%s: no resource requests" % dname)
        if argv[0] == "serve":
            check(spec.get("replicas") == 2, "%s: 2 replicas" % dname)
            check("--no-workers" in argv, "%s: web instances serve HTTP only (--no-workers)" % dname)
            port = listen_port(argv, dname)
            named = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
            check(port in named.values(), "%s: --listen port %d is no containerPort" % (dname, port), named)
            for probe in ("readinessProbe", "livenessProbe"):
                get = (c.get(probe) or {}).get("httpGet") or {}
                check(get.get("path") in public_get_routes(),
                      "%s: %s must GET a public route, not %s" % (dname, probe, get.get("path")))
                check(named.get(get.get("port"), get.get("port")) == port,
                      "%s: %s probes port %s, healer listens on %d" % (dname, probe, get.get("port"), port))
            ports = named
            web_labels = labels
            check_trusted_proxy(argv, c, configmaps, dname)
    check(web_labels, "deploy/k8s: no Deployment runs healer serve")
    services = {d["metadata"]["name"]: d for d in kinds.get("Service", [])}
    selected = [n for n, s in services.items() if matches((s["spec"].get("selector") or {}), web_labels)]
    check(selected, "deploy/k8s: no Service selects the web pods")
    for n in selected:
        for p in services[n]["spec"]["ports"]:
            check(p.get("targetPort") in ports or p.get("targetPort") in ports.values(),
                  "Service %s: targetPort %s is no port of the web pods" % (n, p.get("targetPort")))
    check(any(s["spec"].get("type") == "ExternalName" or not s["spec"].get("selector") for s in services.values()),
          "deploy/k8s: PostgreSQL as an external service (ExternalName, or no selector)")
    for ing in kinds.get("Ingress", []):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                svc = path["backend"]["service"]
                check(svc["name"] in selected, "Ingress: backend %s is not the web Service" % svc["name"])
                names = {p.get("name") for p in services[svc["name"]]["spec"]["ports"]}
                check(svc["port"].get("name") in names or svc["port"].get("number"),
                      "Ingress: port %s is not the Service's" % svc["port"])
    check(kinds.get("Ingress"), "deploy/k8s: no Ingress")
    pdbs = kinds.get("PodDisruptionBudget", [])
    check(any(matches(p["spec"]["selector"]["matchLabels"], web_labels) for p in pdbs),
          "deploy/k8s: no PodDisruptionBudget for the web pods")
    return kinds["Ingress"][0]


def k8s_files():
    return {n: read(os.path.join(K8S, n)) for n in sorted(os.listdir(K8S)) if n.endswith(".yaml")}


# ---- the tests -------------------------------------------------------------------------

def all_files():
    return {"systemd": systemd_files(), "nginx": nginx_files(), "docker": docker_files(),
            "compose": read(COMPOSE), "k8s": k8s_files()}


def run_all(files):
    """Every check on one set of files (the real ones, or a broken copy)."""
    env = env_settings(files["systemd"][ENV_FILE])
    check_units(files["systemd"])
    check_nginx(files["nginx"], env)
    docker = check_dockerfile(*files["docker"])
    image = check_compose(files["compose"], docker)
    ingress = check_k8s(files["k8s"], docker, image)
    body = ingress["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/proxy-body-size", "")
    site_body = directive(files["nginx"][nginx_front.SITE], "client_max_body_size", nginx_front.SITE)
    check(body == site_body, "Ingress proxy-body-size %r differs from nginx's client_max_body_size %r"
          % (body, site_body))


def test_systemd_units():
    check_units(systemd_files())


def test_nginx():
    check_nginx(nginx_files(), env_settings(systemd_files()[ENV_FILE]))


def test_dockerfile():
    check_dockerfile(*docker_files())


def test_compose():
    check_compose(read(COMPOSE), check_dockerfile(*docker_files()))


def test_kubernetes():
    run_all(all_files())


@harness.timeout(60)
def test_image_command_serves():
    """The runtime stage's CMD, run with this build/healer (the data
    directory and port moved to this machine's temporary ones, the web UI
    left out): it starts, and the HEALTHCHECK's URL answers 200."""
    ins = dockerfile_instructions(read(DOCKERFILE))
    final = [(op, a) for s, op, a in ins if s == ins[-1][0]]
    argv = [exec_form(a, "CMD") for op, a in final if op == "CMD"][-1]
    health = [a for op, a in final if op == "HEALTHCHECK"][-1]
    port = harness.free_port()
    changed = {"--listen": "0.0.0.0:%d" % port, "--data-dir": harness.tmp_path(harness.unique("image-")),
               "--web-dir": ""}
    argv = [changed.get(argv[i - 1], a) if i else a for i, a in enumerate(argv)]
    check(argv[0] == "serve", "the image's CMD runs healer serve", argv)
    path = re.search(r"http://127\.0\.0\.1:\d+(/\S*?)\"", health).group(1)
    proc = subprocess.Popen([harness.HEALER] + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def healthy():
            try:
                c = harness.http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", path)
                return c.getresponse().status == 200
            except OSError:
                check(proc.poll() is None, "the image's CMD exited", proc.stdout.read() if proc.poll() else "")
                return False
        harness.wait_until(healthy, 20, "the image's command to answer its health check on %s" % path)
    finally:
        proc.terminate()
        proc.wait(20)


@harness.timeout(90)
def test_nginx_fails_over():
    """deploy/nginx in front of two healer instances, one killed (-9):
    every request still gets its answer from the other - a GET, and a
    POST (a login, 401 from healer, never nginx's 502), since a refused
    connection means the request never reached the dead instance."""
    cert_dir = harness.tmp_path("nginx-cert")
    if not os.path.exists(os.path.join(cert_dir, "cert.pem")):
        check(harness.run_healer(["cert", "--out", cert_dir]).returncode == 0, "healer cert")
    cert = os.path.join(cert_dir, "cert.pem")
    args = ["--trusted-proxy", "127.0.0.1", "--max-connections-per-address", "0"]
    with harness.Server(name="instance a", users=(), args=args) as a, \
            harness.Server(name="instance b", users=(), args=args) as b:
        https_port = harness.free_port()
        with nginx_front.Nginx([a.port, b.port], https_port, harness.free_port(), cert,
                               os.path.join(cert_dir, "key.pem")):
            c = harness.Client(nginx_front.Front(a, https_port, cert))
            harness.wait_until(lambda: answers(c), 10, "nginx to answer")
            a.kill()
            got = []
            for _ in range(6):
                got.append(c.get(harness.API + "/health").status)
                got.append(c.post_json(harness.API + "/auth/login",
                                       {"username": "nobody", "password": "wrong-password-1"}).status)
            check(got == [200, 401] * 6, "after one instance died, the other answers every request", got)


def answers(c):
    try:
        return c.get(harness.API + "/health").status == 200
    except harness.TestFailure:
        return False


def broken(files, group, name, old, new):
    """A deep copy of files with one replacement in one file (which must
    apply: a check of this test that no longer breaks anything fails)."""
    out = copy.deepcopy(files)
    if group == "docker":
        i = ("Dockerfile", ".dockerignore").index(name)
        text = out["docker"][i]
        check(old in text, "broken copy: %r is not in %s" % (old, name))
        out["docker"] = tuple(t.replace(old, new, 1) if j == i else t for j, t in enumerate(out["docker"]))
        return out
    holder = out if group == "compose" else out[group]
    key = "compose" if group == "compose" else name
    check(old in holder[key], "broken copy: %r is not in %s/%s" % (old, group, name))
    holder[key] = holder[key].replace(old, new, 1)
    return out


BREAKAGES = (
    ("systemd", "healer-serve.service", "LimitNOFILE=8192", "LimitNOFILE=4096", "LimitNOFILE"),
    ("systemd", "healer-serve.service", "PrivateDevices=yes", "PrivateDevice=yes", "systemd-analyze"),
    ("systemd", "healer-worker@.service", "ProtectSystem=strict", "ProtectSystem=full", "ProtectSystem"),
    ("systemd", "healer-worker@.service", "--threads", "--thread", "unknown flag"),
    ("systemd", "healer-serve.service", "User=healer", "User=root", "dedicated user"),
    ("systemd", "healer.env", "=--no-workers --secure-cookies", "=--no-worker --secure-cookies", "extra flags"),
    ("systemd", "healer-serve.service", "${HEALER_PUBLIC_URL}", "${HEALER_PUBLIC}", "undefined variable"),
    ("systemd", "healer-serve.service", "LoadCredential=data.key:", "LoadCredential=datakey:", "credential"),
    ("systemd", "healer-serve.service", "StateDirectoryMode=0700", "StateDirectoryMode=07x0", "bad value"),
    ("systemd", "healer.logrotate", "    compress\n", "    compres\n", "logrotate -d"),
    ("systemd", "healer.logrotate", "/var/lib/healer/serve/logs", "/var/log/healer", "log directory"),
    ("nginx", "nginx.conf", "worker_connections 20480;", "worker_connections 768;", "worker_connections"),
    ("nginx", "healer.conf", "keepalive 1024;", "keepalive 64;", "upstream keepalive 64"),
    ("nginx", "upstream.conf", "max_fails=3 fail_timeout=10s;\nserver", "max_fails=3 max_conns=512 fail_timeout=10s;\nserver",
     "max_conns"),
    ("nginx", "healer.conf", "client_max_body_size 257m;", "client_max_body_size 1m;", "body size"),
    ("nginx", "healer.conf", "keepalive_timeout 5s;\n}", "keepalive_timeout 5s;\n", "nginx -t"),
    ("nginx", "healer.conf", "proxy_next_upstream error timeout http_502 http_504;",
     "proxy_next_upstream error timeout non_idempotent;", "non_idempotent"),
    ("nginx", "healer.conf", "proxy_request_buffering off;", "proxy_request_buffering on;", "buffering"),
    ("docker", "Dockerfile", "USER 10001:10001", "USER root", "USER"),
    ("docker", "Dockerfile", "HEALTHCHECK --interval", "#HEALTHCHECK --interval", "HEALTHCHECK"),
    ("docker", "Dockerfile", "8080/api/v1/health", "8080/api/v1/healthz", "HEALTHCHECK route"),
    ("docker", "Dockerfile", "COPY mk/deps.sh", "COPY mk/deps.bash", "COPY source"),
    ("docker", "Dockerfile", " libsodium23", "", "runtime library"),
    ("docker", "Dockerfile", "libpq5 ca-certificates", "libpq-dev ca-certificates", "-dev in runtime"),
    ("docker", "Dockerfile", "FROM debian:12-slim AS runtime", "FROM alpine:3 AS runtime", "base"),
    ("docker", ".dockerignore", "web/dist.tmp", "web/package.json", "ignored source"),
    ("compose", "compose.yaml", "      - --no-workers\n", "", "no-workers"),
    ("compose", "compose.yaml", "      - /run/secrets/data_key\n      - --secure", "      - /run/secrets/dat_key\n"
     "      - --secure", "data key"),
    ("compose", "compose.yaml", "services:", "services:\n  bad: [", "yaml"),
    ("compose", "compose.yaml", "      - 172.28.0.10\n", "      - 172.28.0.11\n", "trusted proxy"),
    ("k8s", "web.yaml", "path: /api/v1/health, port: http}\n            periodSeconds: 5",
     "path: /healthz, port: http}\n            periodSeconds: 5", "probe path"),
    ("k8s", "web.yaml", "containerPort: 8080", "containerPort: 8081", "probe port"),
    ("k8s", "web.yaml", "replicas: 2", "replicas: 1", "replicas"),
    ("k8s", "web.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "read-only"),
    ("k8s", "worker.yaml", "runAsUser: 10001", "runAsUser: 0", "uid"),
    ("k8s", "worker.yaml", "            - --threads", "            - --jobs", "unknown flag"),
    ("k8s", "service.yaml", "targetPort: http", "targetPort: web", "targetPort"),
    ("k8s", "ingress.yaml", "name: healer-web", "name: healer-www", "ingress backend"),
    ("k8s", "ingress.yaml", "proxy-body-size: 257m", "proxy-body-size: 10m", "body size"),
    ("k8s", "pdb.yaml", "apiVersion: policy/v1", "apiVersion: policy/v1beta1", "apiVersion"),
    ("k8s", "pdb.yaml", "  name: healer-web\n", "  nam: healer-web\n", "metadata.name"),
    ("k8s", "web.yaml", "- $(HEALER_PUBLIC_URL)", "- $(HEALER_URL)", "env variable"),
    ("k8s", "config.yaml", 'HEALER_TRUSTED_PROXY: "10.244.0.0/16"', 'HEALER_TRUSTED_PROXY: ""',
     "trusted proxy empty"),
    ("k8s", "config.yaml", 'HEALER_TRUSTED_PROXY: "10.244.0.0/16"',
     'HEALER_TRUSTED_PROXY: "10.244.0.1/16"', "trusted proxy malformed"),
    ("k8s", "kustomization.yaml", "  - pdb.yaml\n", "", "kustomization resources"),
    ("k8s", "web.yaml", 'command: ["install"', 'command: ["sh-install"', "init command"),
)


@harness.timeout(240)
def test_checks_catch_broken_files():
    """Each way of breaking a file that a check exists for is caught: the
    checks pass on the real files (test_kubernetes) and fail on each of
    these copies."""
    files = all_files()
    missed = []
    for group, name, old, new, what in BREAKAGES:
        try:
            run_all(broken(files, group, name, old, new))
        except harness.TestFailure as e:
            if str(e).startswith("broken copy:"):
                raise
            continue
        missed.append("%s/%s (%s)" % (group, name, what))
    check(not missed, "the checks let these broken files through", missed)


if __name__ == "__main__":
    harness.main(globals())
