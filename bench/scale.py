"""Scale benchmark (issue 13): many concurrent keep-alive connections
against a whole deployment, side by side for several set-ups in one run.

Run: `BENCH_SCALE_ONLY=1 sh bench/run.sh` (or /usr/bin/python3
bench/scale.py); standard library only, the load from `wrk` (Debian
package `wrk`, installed by mk/deps.sh with HEALER_BENCH_DEPS=1).

For each set-up (BENCH_SCALE_SETUPS, default "sqlite scaleout"):
  sqlite    `healer serve` all-in-one on SQLite (the `make run` default),
            its per-address and total connection limits raised by flags,
            since every wrk connection comes from 127.0.0.1;
  scaleout  a PostgreSQL cluster (tests/pg/cluster.sh), two `healer serve
            --no-workers` instances and one `healer worker` on it, blobs in
            PostgreSQL (BENCH_SCALE_BLOBS=file: a directory they share),
            nginx in front with deploy/nginx's files (tests/api/nginx_front.py),
            its listener plain HTTP like the single process's;
the script starts the deployment in a temporary directory, adds an
administrator, logs in, uploads simulated data (`healer simulate`) and
trains one model. Then, for each point of BENCH_SCALE_POINTS (default
"100 1000 10000"), one set-up after the other at the same point, wrk opens
that many keep-alive connections and each sends its next request as soon
as the answer arrives (closed loop) for BENCH_SCALE_SECONDS (default 15):
a mix of single-row diagnoses (POST /api/v1/diagnoses, `store: false`)
and GET /api/v1/health, BENCH_SCALE_DIAG_PERCENT (default 50) percent
diagnoses. A Lua script counts the answers by status and kind (wrk's own
non-2xx count and socket errors are read too); the established
connections are counted from /proc/net/tcp while wrk runs. Per point:
connections established, requests/s, latency p50/p90/p99/max, socket
errors, non-2xx answers, and the CPU the deployment, wrk and other
processes used (the machine is shared: compare set-ups within one run).

With BENCH_SCALE_TRAINING=1 (the default) it also measures, per set-up,
BENCH_SCALE_TRAIN_CONNECTIONS (default 1000) connections idle and then
while a large training job runs at full CPU (the issue's target: p99
within 2x of the idle figure); the training job is cancelled afterwards.

Writes bench/out/scale.json and the "Scale-out (issue 13)" section of
docs/benchmarks.md (between <!-- scale --> and <!-- /scale -->); a quick
run (BENCH_QUICK=1: points "100 1000", 3 s each) writes
bench/out/scale-quick.{json,md} only. `--render-only` rewrites the section
from the last bench/out/scale.json. All traffic goes to 127.0.0.1, every
run is bounded in time, and the deployment is stopped at the end. Exits 1
when a point saw errors or a process of the deployment misbehaved.
"""

import datetime
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api  # noqa: E402  (the Web API benchmark: HTTP client, wrk parsing, CPU)
from report import with_section  # noqa: E402

REPO = api.REPO
SECTION = "scale"
HEADING = "## Scale-out (issue 13)"
WRK_THREADS = 2
NOFILE_WANTED = 65536
# The all-in-one server as the benchmark runs it: every wrk connection comes
# from 127.0.0.1, so the per-address limit (64 by default, for untrusted
# clients) is lifted and the total raised above the largest point.
SQLITE_FLAGS = ["--workers", "1", "--http-threads", "4", "--login-rate", "0",
                "--max-connections", "16000", "--max-connections-per-address", "0"]
SIM_TRAIN_ROWS = 3000  # the model the diagnoses use: trained once at set-up
BIG_TRAIN_ROWS = 200000  # the training that runs under load
BIG_TRAIN_PARAMS = {"rounds": 5000, "early_stopping_rounds": 0}


def log(msg):
    print(f"[bench-scale {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


BenchError = api.BenchError  # a step could not be measured; the message says why


# --- settings ----------------------------------------------------------------

def config_from_env(env):
    quick = env.get("BENCH_QUICK", "0") == "1"
    points = env.get("BENCH_SCALE_POINTS", "100 1000" if quick else "100 1000 10000")
    return {
        "quick": quick,
        "points": [int(p) for p in points.split()],
        "setups": env.get("BENCH_SCALE_SETUPS", "sqlite scaleout").split(),
        "blobs": env.get("BENCH_SCALE_BLOBS", "postgresql"),
        "seconds": int(env.get("BENCH_SCALE_SECONDS", 3 if quick else 15)),
        "diag_percent": int(env.get("BENCH_SCALE_DIAG_PERCENT", 50)),
        "modes": env.get("BENCH_SCALE_MODES", "paced closed").split(),
        "rate": int(env.get("BENCH_SCALE_RATE", 2000)),
        "timeout": int(env.get("BENCH_SCALE_TIMEOUT", 30)),
        "training": env.get("BENCH_SCALE_TRAINING", "0" if quick else "1") == "1",
        "train_connections": int(env.get("BENCH_SCALE_TRAIN_CONNECTIONS", 1000)),
        "quiet_wait": float(env.get("BENCH_QUIET_WAIT", 0 if quick else 10)),
        "retries": int(env.get("BENCH_RETRIES", 0 if quick else 1)),
        "healer": os.path.abspath(env.get("HEALER", os.path.join(REPO, "build", "healer"))),
        "out_dir": os.path.abspath(env.get("BENCH_OUT", os.path.join(REPO, "bench", "out"))),
    }


def validate(cfg):
    """Bad settings are refused with a message, before anything starts."""
    unknown = [s for s in cfg["setups"] if s not in SETUPS]
    if unknown:
        raise BenchError(f"unknown set-up {unknown[0]!r} in BENCH_SCALE_SETUPS "
                         f"(known: {', '.join(SETUPS)})")
    if not cfg["points"] or min(cfg["points"]) < WRK_THREADS:
        raise BenchError(f"BENCH_SCALE_POINTS must name connection counts >= {WRK_THREADS}")
    if cfg["blobs"] not in ("postgresql", "file"):
        raise BenchError("BENCH_SCALE_BLOBS must be postgresql or file (a directory the "
                         "scale-out processes share)")
    if not cfg["modes"] or set(cfg["modes"]) - {"paced", "closed"}:
        raise BenchError("BENCH_SCALE_MODES must name paced, closed or both")
    if cfg["rate"] < 1:
        raise BenchError("BENCH_SCALE_RATE must be >= 1 (requests/s offered when paced)")
    if "paced" in cfg["modes"] and max(cfg["points"]) * 1500 / cfg["rate"] >= 10000:
        raise BenchError("BENCH_SCALE_RATE too low for the largest point: a think time would "
                         "reach healer's request-head-timeout (10 s), which closes idle "
                         "kept-alive connections")
    if not 0 <= cfg["diag_percent"] <= 100:
        raise BenchError("BENCH_SCALE_DIAG_PERCENT must be in 0..100")
    if cfg["seconds"] < 1 or cfg["timeout"] < 1:
        raise BenchError("BENCH_SCALE_SECONDS and BENCH_SCALE_TIMEOUT must be >= 1")


def raise_nofile():
    """10,000 connections need 10,000 descriptors in wrk and as many in the
    server: the soft limit goes up to the hard one (children inherit it;
    shell children get it through `ulimit -n` too). Returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE_WANTED if hard == resource.RLIM_INFINITY else min(NOFILE_WANTED, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def check_nofile(cfg, nofile):
    need = max(cfg["points"]) + 256
    if nofile != resource.RLIM_INFINITY and nofile < need:
        raise BenchError(f"the open-file limit is {nofile} (hard limit), {need} are needed for "
                         f"{max(cfg['points'])} connections: raise it (ulimit -Hn) or lower "
                         "BENCH_SCALE_POINTS")


# --- processes and their CPU -----------------------------------------------------

def process_tree(roots):
    """The pids of `roots` and all their descendants (postgres backends,
    nginx workers)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    seen, todo = set(), [p for p in roots if p]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return seen


class CpuWindow:
    """Cores used by the deployment (its processes and their children), by
    wrk and this interpreter, and by everything else during a measurement."""

    def __init__(self, roots):
        self.roots = roots
        self.wall0 = time.perf_counter()
        self.busy0 = api.busy_cpu_seconds()
        self.client0 = api.children_cpu_seconds() + api.self_cpu_seconds()
        self.procs0 = {p: api.process_cpu_seconds(p) for p in process_tree(roots)}

    def stop(self):
        wall = time.perf_counter() - self.wall0
        deployment = sum(api.process_cpu_seconds(p) - self.procs0.get(p, 0.0)
                         for p in process_tree(self.roots))
        client = api.children_cpu_seconds() + api.self_cpu_seconds() - self.client0
        busy = api.busy_cpu_seconds() - self.busy0
        return {"deployment_cores": deployment / wall, "client_cores": client / wall,
                "other_cores": max(0.0, (busy - deployment - client) / wall)}


def established_by(pid, port):
    """wrk's own TCP connections to 127.0.0.1:`port` (or [::1]) that are
    ESTABLISHED: its socket descriptors matched by inode in /proc/net/tcp,
    so the script's own keep-alive connection is not counted."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    except OSError:
        return 0
    want = f":{port:04X}"
    # A set: /proc/net/tcp is read in several reads, and sockets opened or
    # closed meanwhile (nginx's upstream connections) can repeat lines.
    found = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path, encoding="ascii") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and fields[2].endswith(want) and fields[9] in inodes:
                        found.add(fields[9])
        except OSError:
            continue
    return len(found)


def head_timeouts(ports):
    """healer_http_request_head_timeouts_total summed over the instances
    (GET /metrics on each): kept-alive connections the servers closed
    because no whole request head came in within request-head-timeout,
    which wrk sees as read errors. None when an instance did not answer."""
    total = 0
    for port in ports:
        client = api.Client(port)
        try:
            status, _, data = client.request("GET", "/metrics", timeout=10)
        except OSError:
            return None
        finally:
            client.close()
        m = re.search(rb"^healer_http_request_head_timeouts_total (\d+)$", data, re.M)
        if status != 200 or not m:
            return None
        total += int(m.group(1))
    return total


# --- set-ups ------------------------------------------------------------------------

class SqliteSetup:
    """`healer serve` all-in-one on SQLite: HTTP, jobs, store and blobs in
    one process (api.Server, the Web API benchmark's)."""

    name = "sqlite"
    title = "one process, SQLite (`healer serve` all-in-one)"

    def __init__(self, cfg, tmp):
        self.cfg = cfg
        self.server = api.Server({"healer": cfg["healer"], "server_flags": SQLITE_FLAGS}, tmp)

    def start(self):
        self.server.start()
        api.add_admin(self.cfg, self.server.data)

    scheme = "http"

    @property
    def port(self):
        return self.server.port

    def login_port(self):
        return self.server.port

    def instance_ports(self):
        return [self.server.port]

    def roots(self):
        return [self.server.proc.pid] if self.server.proc else []

    def alive(self):
        return self.server.alive()

    def describe(self):
        return [f"`healer serve --listen 127.0.0.1:PORT --data-dir TMP {' '.join(SQLITE_FLAGS)}`"]

    def problems(self):
        return [] if self.server.alive() else ["the server died: " + self.server.stderr_tail(5)]

    def stop(self):
        code = self.server.stop()
        return {"server": code}


def run_checked(cmd, what, timeout=120, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise BenchError(f"{what} exited {r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}")
    return r.stdout


class Worker:
    """`healer worker` with its output in files."""

    def __init__(self, cmd, tmp):
        self.cmd, self.err_path = cmd, os.path.join(tmp, "worker.stderr")
        with open(os.path.join(tmp, "worker.stdout"), "ab") as out, \
                open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        return api.stop_process(self.proc)


def plain_front(site_path, port):
    """deploy/nginx's site, localised by nginx_front, with its HTTPS
    listener on `port` made plain HTTP: the only change, so the rest of
    the site (upstream, keep-alive, failover, limits) is what is run."""
    with open(site_path, encoding="utf-8") as f:
        text = f.read()
    text, n = re.subn(rf"^(\s*)listen 127\.0\.0\.1:{port} ssl[^;]*;$",
                      rf"\1listen 127.0.0.1:{port};", text, flags=re.M)
    if n != 1:
        raise BenchError(f"deploy/nginx/healer.conf: no single HTTPS listener on port {port} "
                         "to make plain")
    with open(site_path, "w", encoding="utf-8") as f:
        f.write(text)


class ScaleOutSetup:
    """The scale-out deployment of issue 13 on one machine: a private
    PostgreSQL cluster (tests/pg/cluster.sh), two `healer serve
    --no-workers` instances and one `healer worker` on it, nginx with
    deploy/nginx's configuration in front (tests/api/nginx_front.py, the
    one copy of the files the tests run), TLS from `healer cert`."""

    name = "scaleout"
    title = ("PostgreSQL + 2 web instances (`healer serve --no-workers`) + 1 `healer worker`, "
             "nginx in front (deploy/nginx, plain HTTP)")
    INSTANCES = 2
    # Plain HTTP to nginx, like the single-process server's: the set-ups are
    # compared on the platform's work, not on TLS handshakes (10,000 of
    # them at the start of a run take nginx and wrk seconds of CPU each).
    tls = False
    # As docs/deploy.md runs them behind nginx: every connection to an
    # instance comes from nginx, so the per-address limit is off (a trusted
    # proxy is not exempt from it by itself), and each instance may hold as
    # many connections as nginx opens to it under the largest point (about
    # half the clients each, in closed loop).
    WEB_FLAGS = ["--no-workers", "--http-threads", "4", "--login-rate", "0",
                 "--max-connections", "16000", "--max-connections-per-address", "0",
                 "--trusted-proxy", "127.0.0.1"]

    def __init__(self, cfg, tmp):
        self.cfg, self.tmp = cfg, tmp
        self.instances, self.worker, self.nginx, self.url = [], None, None, None
        # Directly under the temporary directory: the cluster runs as
        # nobody, who could not reach it through a private (0700) parent.
        self.pg_dir = tempfile.mkdtemp(prefix="healer-scale-pg-")
        self.key = os.path.join(tmp, "data.key")
        self.https_port = None

    def healer_args(self):
        blobs = ("postgresql" if self.cfg["blobs"] == "postgresql"
                 else "file:" + os.path.join(self.tmp, "blobs"))
        return ["--store", self.url, "--blobs", blobs, "--data-key-file", self.key]

    def start(self):
        self.url = run_checked(["sh", os.path.join(REPO, "tests", "pg", "cluster.sh"), "start",
                                self.pg_dir], "tests/pg/cluster.sh start").strip().splitlines()[-1]
        run_checked([self.cfg["healer"], "key", "new", "--out", self.key], "healer key new")
        r = subprocess.run([self.cfg["healer"], "user", "add", api.USER, "--admin",
                            "--store", self.url],
                           input=api.PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise BenchError(f"healer user add --store exited {r.returncode}: "
                             f"{r.stderr.strip()[-300:]}")
        for i in range(self.INSTANCES):
            flags = self.healer_args() + self.WEB_FLAGS
            server = api.Server({"healer": self.cfg["healer"], "server_flags": flags},
                                os.path.join(self.tmp, f"web{i}"))
            os.makedirs(server.tmp, exist_ok=True)
            server.start()
            self.instances.append(server)
        wdir = os.path.join(self.tmp, "worker")
        os.makedirs(wdir, exist_ok=True)
        self.worker = Worker([self.cfg["healer"], "worker", "--data-dir",
                              os.path.join(wdir, "data"), *self.healer_args()], wdir)
        self.start_nginx()

    def start_nginx(self):
        sys.path.insert(0, os.path.join(REPO, "tests", "api"))
        import nginx_front  # noqa: E402  (tests/api: deploy/nginx localised to a prefix)
        certs = os.path.join(self.tmp, "cert")
        run_checked([self.cfg["healer"], "cert", "--out", certs], "healer cert")
        for _ in range(3):  # a free port can be taken between probe and bind
            self.https_port, http_port = api.free_port(), api.free_port()
            prefix, conf = nginx_front.make_prefix(
                [s.port for s in self.instances], self.https_port, http_port,
                os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem"),
                prefix=os.path.join(self.tmp, "nginx"))
            if not self.tls:
                plain_front(os.path.join(prefix, "healer", nginx_front.SITE), self.https_port)
            self.nginx_cmd = nginx_front.command(prefix, conf)
            self.nginx = subprocess.Popen(self.nginx_cmd, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          start_new_session=True)
            if self.wait_front(20):
                return
            self.stop_nginx()
        raise BenchError("nginx did not start in front of the instances")

    def wait_front(self, limit):
        import ssl
        ctx = ssl._create_unverified_context()  # healer cert's self-signed pair
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and self.nginx.poll() is None:
            try:
                conn = (api.http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=2,
                                                        context=ctx) if self.tls else
                        api.http.client.HTTPConnection("127.0.0.1", self.https_port, timeout=2))
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    @property
    def port(self):
        return self.https_port

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def login_port(self):
        """Logins and set-up requests go to the first instance directly
        (plain HTTP on loopback): the session lives in the store, so the
        cookie is good through nginx too."""
        return self.instances[0].port

    def instance_ports(self):
        return [s.port for s in self.instances if s.alive()]

    def pg_pid(self):
        try:
            with open(os.path.join(self.pg_dir, "data", "postmaster.pid"), encoding="ascii") as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def roots(self):
        procs = [s.proc for s in self.instances] + [self.worker and self.worker.proc,
                                                     self.nginx]
        return [p.pid for p in procs if p] + [self.pg_pid()]

    def alive(self):
        return (all(s.alive() for s in self.instances) and self.worker is not None
                and self.worker.alive() and self.nginx is not None
                and self.nginx.poll() is None and self.pg_pid() is not None)

    def blobs_text(self):
        return "postgresql" if self.cfg["blobs"] == "postgresql" else "file:TMP/blobs"

    def describe(self):
        web = " ".join(self.WEB_FLAGS)
        return [
            "`sh tests/pg/cluster.sh start TMP/pg` (a private cluster on a free port, as the "
            "tests run it: fsync and synchronous commit off)",
            "`healer key new --out TMP/data.key`; `healer user add bench --admin --store URL`",
            f"2 x `healer serve --listen 127.0.0.1:PORTi --data-dir TMP/webi --store URL "
            f"--blobs {self.blobs_text()} --data-key-file TMP/data.key {web}`",
            f"`healer worker --data-dir TMP/worker --store URL --blobs {self.blobs_text()} "
            "--data-key-file TMP/data.key`",
            "`nginx -p TMP/nginx -c TMP/nginx/nginx.conf` with deploy/nginx's files localised "
            "by tests/api/nginx_front.py (loopback ports, a `healer cert` certificate, the two "
            "instances in upstream.conf), its HTTPS listener made plain HTTP (the only other "
            "change), as the single process is reached"]

    def problems(self):
        out = []
        for i, s in enumerate(self.instances):
            if not s.alive():
                out.append(f"web instance {i} died: {s.stderr_tail(5)}")
        if self.worker is not None and not self.worker.alive():
            out.append(f"the worker exited with {self.worker.proc.returncode}")
        if self.nginx is not None and self.nginx.poll() is not None:
            out.append(f"nginx exited with {self.nginx.returncode}")
        lines = self.nginx_errors()
        if lines:
            out.append(f"nginx logged {len(lines)} lines at level error or above, e.g. "
                       + " | ".join(lines[:3]))
        return out

    def nginx_errors(self):
        """nginx's error log lines at [error], [crit], [alert], [emerg]."""
        try:
            with open(os.path.join(self.tmp, "nginx", "error.log"), encoding="utf-8",
                      errors="replace") as f:
                return [line.strip()[:300] for line in f
                        if re.search(r"\[(error|crit|alert|emerg)\]", line)]
        except OSError:
            return []

    def stop_nginx(self):
        return api.stop_process(self.nginx, signal.SIGQUIT, 20)  # SIGQUIT: graceful

    def stop(self):
        codes = {"nginx": self.stop_nginx()}
        for i, s in enumerate(self.instances):
            codes[f"web{i}"] = s.stop()
        if self.worker is not None:
            codes["worker"] = self.worker.stop()
        subprocess.run(["sh", os.path.join(REPO, "tests", "pg", "cluster.sh"), "stop",
                        self.pg_dir], capture_output=True, timeout=120)
        shutil.rmtree(self.pg_dir, ignore_errors=True)
        return codes


SETUPS = {"sqlite": SqliteSetup, "scaleout": ScaleOutSetup}


# --- model and request bodies ---------------------------------------------------

def simulate(cfg, path, rows, seed):
    r = subprocess.run([cfg["healer"], "simulate", "--out", path, "--samples", str(rows),
                        "--seed", str(seed)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise BenchError(f"healer simulate exited {r.returncode}: {r.stderr.strip()[-300:]}")


def upload(client, path):
    with open(path, "rb") as f:
        body, ctype = api.multipart("file", os.path.basename(path), f.read())
    uploader = api.Client(client.port, client.cookie, client.csrf)
    try:
        dataset = uploader.json("POST", "/api/v1/datasets", body, expect=(201,),
                                content_type=ctype, timeout=600)
    finally:
        uploader.close()
    return dataset


def wait_job(client, job_id, states, limit):
    deadline = time.monotonic() + limit
    while True:
        job = client.json("GET", f"/api/v1/jobs/{job_id}")
        if job["state"] in states:
            return job
        if job["state"] in ("failed", "cancelled", "succeeded"):
            raise BenchError(f"job {job_id} {job['state']}: {job.get('error')}")
        if time.monotonic() > deadline:
            raise BenchError(f"job {job_id} still {job['state']} after {limit} s")
        time.sleep(0.2)


def train_model(client, csv_path, params=None):
    dataset = upload(client, csv_path)
    body = {"type": "train", "dataset_id": dataset["id"], "algo": "gbdt"}
    if params:
        body["params"] = params
    return client.json("POST", "/api/v1/jobs", body, expect=(202,))


def first_row(csv_path):
    with open(csv_path, encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        values = f.readline().strip().split(",")
    return {k: (float(v) if v != "" else None) for k, v in zip(header, values)
            if k not in ("sample_id", "label")}


# --- wrk ---------------------------------------------------------------------------

LUA = """-- written by bench/scale.py: a mix of single-row diagnoses and health
-- checks on every connection, answers counted by kind and status
local diag_percent = {diag_percent}
local body = [==[{body}]==]
local threads = {{}}
{delay}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  diag_req = wrk.format("POST", "/api/v1/diagnoses",
    {{["Content-Type"] = "application/json", ["Cookie"] = "{cookie}",
      ["X-CSRF-Token"] = "{csrf}"}}, body)
  health_req = wrk.format("GET", "/api/v1/health")
  sent, diag_sent = 0, 0
  diag_ok, health_ok, statuses, sample = 0, 0, {{}}, ""
end

function request()
  sent = sent + 1
  -- diag_percent of every 100 requests, spread evenly
  if math.floor(sent * diag_percent / 100) ~= math.floor((sent - 1) * diag_percent / 100) then
    diag_sent = diag_sent + 1
    return diag_req
  end
  return health_req
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status >= 200 and status < 300 then
    if string.find(body, '"uptime_seconds"', 1, true) then
      health_ok = health_ok + 1
    else
      diag_ok = diag_ok + 1
    end
  elseif #sample < 600 then
    sample = sample .. key .. " " .. string.sub(body, 1, 200) .. " | "
  end
end

function done(summary, latency, requests)
  local total = {{sent = 0, diag_sent = 0, diag_ok = 0, health_ok = 0}}
  local codes, samples = {{}}, ""
  for _, t in ipairs(threads) do
    for _, k in ipairs({{"sent", "diag_sent", "diag_ok", "health_ok"}}) do
      total[k] = total[k] + t:get(k)
    end
    for code, n in pairs(t:get("statuses")) do
      codes[code] = (codes[code] or 0) + n
    end
    samples = samples .. t:get("sample")
  end
  for k, v in pairs(total) do
    io.write(string.format("SCALE %s %d\\n", k, v))
  end
  for code, n in pairs(codes) do
    io.write(string.format("SCALE status_%s %d\\n", code, n))
  end
  io.write("SCALE sample " .. string.gsub(samples, "\\n", " ") .. "\\n")
end
"""


# Paced load: each connection waits a random think time (uniform in
# 0.5..1.5 x think_ms) before each request, the first one included, so N
# connections offer about N * 1000 / think_ms requests per second between
# them. The longest wait stays under healer's request-head-timeout (10 s),
# which closes a kept-alive connection left idle longer (a real client then
# reconnects; wrk would count a read error).
LUA_DELAY = """
function delay()
  return math.random(math.floor({think_ms} / 2), math.floor({think_ms} * 3 / 2))
end
"""


class Load:
    """What the connections send: the diagnosis body and the session."""

    def __init__(self, tmp, setup_name, body, cookie, csrf):
        for value in (cookie, csrf):
            if not re.fullmatch(r"[\w=.\-]+", value or ""):
                raise BenchError("unexpected characters in the session cookie or CSRF "
                                 f"token: {value!r}")
        self.tmp, self.name = tmp, setup_name
        self.body, self.cookie, self.csrf = body, cookie, csrf

    def script(self, cfg, think_ms):
        """The path of the Lua script for a think time (0 = closed loop)."""
        path = os.path.join(self.tmp, f"{self.name}-{think_ms}.lua")
        delay = LUA_DELAY.format(think_ms=think_ms) if think_ms else ""
        with open(path, "w", encoding="utf-8") as f:
            f.write(LUA.format(diag_percent=cfg["diag_percent"], body=self.body,
                               cookie=self.cookie, csrf=self.csrf, delay=delay))
        return path


def think_ms(cfg, mode, connections):
    """Mean think time of a connection: 0 closed, else N / rate."""
    return 0 if mode == "closed" else max(2, round(connections * 1000 / cfg["rate"]))


def parse_scale_lines(out):
    counts, statuses, sample = {}, {}, ""
    for line in out.splitlines():
        if line.startswith("SCALE sample "):
            sample = line[len("SCALE sample "):].strip()
            continue
        m = re.fullmatch(r"SCALE (\w+) (\d+)", line.strip())
        if not m:
            continue
        if m.group(1).startswith("status_"):
            statuses[m.group(1)[len("status_"):]] = int(m.group(2))
        else:
            counts[m.group(1)] = int(m.group(2))
    return {"counts": counts, "statuses": statuses, "non_2xx_sample": sample}


def run_point(cfg, setup, load, connections, mode, seconds):
    """One wrk run against `setup` with `connections` connections, closed
    loop or paced (`mode`)."""
    think = think_ms(cfg, mode, connections)
    lua_path = load.script(cfg, think)
    url = f"{setup.scheme}://127.0.0.1:{setup.port}/"
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency",
           f"--timeout", f"{cfg['timeout']}s", "-s", lua_path, url]
    cut0 = head_timeouts(setup.instance_ports())
    cpu = CpuWindow(setup.roots())
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    established = []
    t0 = time.monotonic()
    try:
        all_connected = None
        while time.monotonic() < t0 + 0.95 * seconds:  # while the connections are open
            time.sleep(0.5)
            established.append(established_by(proc.pid, setup.port))
            if all_connected is None and established[-1] >= connections:
                all_connected = time.monotonic() - t0
        out, err = proc.communicate(timeout=seconds + cfg["timeout"] + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError(f"wrk -c{connections} did not finish")
    result = {"connections": connections, "mode": mode, "think_ms": think,
              "all_connected_seconds": all_connected, "established_samples": established,
              "established": max(established), "command": " ".join(
                  shlex.quote(c) for c in cmd[:-1]) + f" {setup.scheme}://127.0.0.1:PORT/"}
    result.update(cpu.stop())
    cut1 = head_timeouts(setup.instance_ports())
    result["head_timeouts"] = None if cut0 is None or cut1 is None else cut1 - cut0
    if proc.returncode != 0:
        raise BenchError(f"wrk exited {proc.returncode}: {(err or out).strip()[-300:]}")
    result.update(api.parse_wrk(out))
    result.update(parse_scale_lines(out))
    result["raw"] = out
    result["alive"] = setup.alive()
    return result


def measure_point(cfg, setup, load, connections, mode):
    def measure():
        r = run_point(cfg, setup, load, connections, mode, cfg["seconds"])
        errs = sum(r["socket_errors"].values()) if r["socket_errors"] else 0
        log(f"{setup.name} -c{connections} {mode}: {r['established']} established, "
            f"{r['requests_per_sec']:.0f} req/s, p50 {r['latency_ms']['p50']:.1f} ms, "
            f"p99 {r['latency_ms']['p99']:.1f} ms, non-2xx {r['non_2xx']}, socket errors "
            f"{errs}; cores: deployment {r['deployment_cores']:.2f}, wrk "
            f"{r['client_cores']:.2f}, other {r['other_cores']:.2f}")
        return r

    return api.least_disturbed(cfg, measure)


# --- training under load -------------------------------------------------------------

def wait_boosting(client, job_id, limit):
    """The job once it is in its boosting rounds (past loading and binning)."""
    deadline = time.monotonic() + limit
    while True:
        job = wait_job(client, job_id, ("running",), limit)
        if (job.get("round") or 0) >= 1:
            return job
        if time.monotonic() > deadline:
            raise BenchError(f"job {job_id} started no boosting round in {limit} s")
        time.sleep(0.2)


def training_under_load(cfg, setup, client, big_csv, load):
    """1,000 connections idle, then while a training job keeps the CPUs
    busy, paced (the target is about latency at a load the set-up carries,
    not at saturation, where any CPU taken away shows as waiting)."""
    n = cfg["train_connections"]
    idle = measure_point(cfg, setup, load, n, "paced")
    job = train_model(client, big_csv, BIG_TRAIN_PARAMS)
    before = wait_boosting(client, job["id"], 300)
    busy = run_point(cfg, setup, load, n, "paced", cfg["seconds"])
    after = client.json("GET", f"/api/v1/jobs/{job['id']}")
    client.json("POST", f"/api/v1/jobs/{job['id']}/cancel", {}, expect=(200, 409))
    log(f"{setup.name} training under load: p99 {busy['latency_ms']['p99']:.1f} ms against "
        f"{idle['latency_ms']['p99']:.1f} ms idle; job {after['state']}, rounds "
        f"{before.get('round')} -> {after.get('round')}")
    wait_job(client, job["id"], ("cancelled", "succeeded"), 120)
    if after["state"] != "running":
        raise BenchError(f"the training ended ({after['state']}) before the measurement did: "
                         "nothing was measured under it")
    return {"idle": idle, "training": busy, "job_state_after": after["state"],
            "rounds_during": (after.get("round") or 0) - (before.get("round") or 0),
            "p99_ratio": busy["latency_ms"]["p99"] / idle["latency_ms"]["p99"]}


# --- the run ---------------------------------------------------------------------------

def prepare(cfg, setup, tmp, files):
    setup.start()
    client = api.login(setup.login_port())
    job = train_model(client, files["small"])
    job = wait_job(client, job["id"], ("succeeded",), 600)
    body = json.dumps({"model_id": job["model_id"], "store": False, "rows": [files["row"]]},
                      separators=(",", ":"))
    status, _, data = client.request("POST", "/api/v1/diagnoses", body.encode())
    if status != 200:
        raise BenchError(f"{setup.name}: the check diagnosis answered {status}: {data[:300]!r}")
    return client, Load(tmp, setup.name, body, client.cookie, client.csrf)


def run(cfg, tmp, res):
    files = {"small": os.path.join(tmp, "train_small.csv"),
             "big": os.path.join(tmp, "train_big.csv"),
             "rows": os.path.join(tmp, "rows.csv")}
    simulate(cfg, files["small"], SIM_TRAIN_ROWS, 1)
    simulate(cfg, files["rows"], 10, 2)
    if cfg["training"]:
        simulate(cfg, files["big"], BIG_TRAIN_ROWS, 3)
    files["row"] = first_row(files["rows"])
    setups, clients, luas = [], {}, {}
    try:
        for name in cfg["setups"]:
            setup = SETUPS[name](cfg, os.path.join(tmp, name))
            os.makedirs(os.path.join(tmp, name), exist_ok=True)
            setups.append(setup)
            clients[name], luas[name] = prepare(cfg, setup, tmp, files)
            res["setups"][name] = {"title": setup.title, "commands": setup.describe(),
                                   "points": [], "problems": []}
            log(f"{name}: ready on 127.0.0.1:{setup.port}")
        for n in cfg["points"]:
            for mode in cfg["modes"]:
                for setup in setups:
                    entry = res["setups"][setup.name]
                    try:
                        entry["points"].append(measure_point(cfg, setup, luas[setup.name], n,
                                                             mode))
                    except (BenchError, OSError) as e:
                        log(f"{setup.name} -c{n} {mode} failed: {e}")
                        entry["points"].append({"connections": n, "mode": mode,
                                                "error": str(e)})
        if cfg["training"]:
            for setup in setups:
                entry = res["setups"][setup.name]
                try:
                    entry["training"] = training_under_load(cfg, setup, clients[setup.name],
                                                            files["big"], luas[setup.name])
                except (BenchError, OSError) as e:
                    log(f"{setup.name} training under load failed: {e}")
                    entry["training"] = {"error": str(e)}
    finally:
        for setup in setups:
            clients.get(setup.name) and clients[setup.name].close()
            entry = res["setups"].setdefault(setup.name, {"points": [], "problems": []})
            entry["problems"] += setup.problems()
            entry["exit_codes"] = setup.stop()


# --- rendering ---------------------------------------------------------------------------

fmt = api.fmt


def socket_text(r):
    sock = r.get("socket_errors") or {}
    return ", ".join(f"{k} {v}" for k, v in sock.items() if v) or "0"


def mode_text(r):
    if r.get("mode") == "closed":
        return "closed loop"
    return f"paced, {r.get('think_ms', 0) / 1000:g} s think"


def point_row(title, r):
    if "error" in r:
        return (f"| {title} | {r['connections']:,} | {mode_text(r)} | **failed**: "
                f"{r['error']} |" + " |" * 10)
    c = r.get("counts", {})
    lat = r["latency_ms"]
    mix = f"{c.get('diag_ok', 0):,} / {c.get('health_ok', 0):,}"
    after = r.get("all_connected_seconds")
    est = f"{r['established']:,}" + (f" (all after {after:.1f} s)" if after is not None else "")
    return (f"| {title} | {r['connections']:,} | {mode_text(r)} | {est} | "
            f"{r['requests']:,} "
            f"({mix}) | {fmt(r['requests_per_sec'], 4)} | {fmt(lat['p50'])} | "
            f"{fmt(lat.get('p90'))} | {fmt(lat['p99'])} | {fmt(lat['max'])} | "
            f"{socket_text(r)} | {fmt(r.get('head_timeouts'), 6)} | {r['non_2xx']:,} | "
            f"{r['deployment_cores']:.2f} / "
            f"{r['client_cores']:.2f} / {r['other_cores']:.2f} |")


def points_table(res):
    cfg = res["meta"]["config"]
    lines = ["| set-up | connections | load | established | requests (diagnoses / health "
             "2xx) | requests/s | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | socket errors | "
             "closed by healer (head timeout) | non-2xx | CPU cores: deployment / wrk / others |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | "
             "---: | --- |"]
    for mode in cfg["modes"]:
        for n in cfg["points"]:
            for name, entry in res["setups"].items():
                lines += [point_row(name, r) for r in entry["points"]
                          if r["connections"] == n and r.get("mode") == mode]
    return lines


def ratio_lines(res):
    """Throughput and p99 of each set-up against the first, point by point."""
    names = list(res["setups"])
    if len(names) < 2:
        return []
    base = names[0]
    out = []
    for mode in res["meta"]["config"]["modes"]:
        for n in res["meta"]["config"]["points"]:
            out += point_ratios(res, names, mode, n)
    return out + ([""] if out else [])


def ok_per_sec(r):
    """2xx answers per second (requests/s counts the failed ones too)."""
    c = r.get("counts", {})
    return (c.get("diag_ok", 0) + c.get("health_ok", 0)) / r["seconds"] if r["seconds"] else 0


def point_ratios(res, names, mode, n):
    base, out = names[0], []
    by = {name: next((r for r in res["setups"][name]["points"] if r["connections"] == n
                      and r.get("mode") == mode and "error" not in r), None)
          for name in names}
    if by[base] is not None and ok_per_sec(by[base]) and by[base]["latency_ms"]["p99"]:
        for name in names[1:]:
            r = by[name]
            if r is None:
                continue
            out.append(f"- {n:,} connections, {mode_text(r).split(',')[0]}, {name} against "
                       f"{base}: 2xx answers/s "
                       f"{ok_per_sec(r) / ok_per_sec(by[base]):.2f}x, p99 "
                       f"{r['latency_ms']['p99'] / by[base]['latency_ms']['p99']:.2f}x.")
    return out


def training_lines(res):
    cfg = res["meta"]["config"]
    rows = []
    for name, entry in res["setups"].items():
        t = entry.get("training")
        if not t:
            continue
        if "error" in t:
            rows.append(f"| {name} | **failed**: {t['error']} | | | | | |")
            continue
        ok = t["p99_ratio"] <= 2.0
        rows.append(
            f"| {name} | {fmt(t['idle']['latency_ms']['p99'])} | "
            f"{fmt(t['training']['latency_ms']['p99'])} | **{t['p99_ratio']:.2f}x** "
            f"({'met' if ok else 'not met'}) | {fmt(t['idle']['requests_per_sec'], 4)} / "
            f"{fmt(t['training']['requests_per_sec'], 4)} | {t['rounds_during']:,} "
            f"({t['job_state_after']}) | "
            f"{t['training']['deployment_cores']:.2f} / {t['training']['client_cores']:.2f} "
            f"/ {t['training']['other_cores']:.2f} |")
    if not rows:
        return []
    return [
        "### Queries while a training runs", "",
        f"{cfg['train_connections']:,} connections, paced, the same mix, measured idle and "
        "then while "
        f"a training job (`{json.dumps(BIG_TRAIN_PARAMS)}`, gbdt on {BIG_TRAIN_ROWS:,} "
        "simulated rows, all cores) runs; the job is cancelled after the measurement. Target "
        "of the issue: p99 within 2x of the idle figure.", "",
        "| set-up | idle p99 (ms) | p99 while training (ms) | ratio | requests/s idle / "
        "training | boosting rounds done meanwhile (job state after) | CPU cores while "
        "training: deployment / wrk / others |",
        "| --- | ---: | ---: | --- | --- | ---: | --- |",
        *rows, ""]


NOTES_RE = re.compile(r"<!-- scale-notes -->\n(.*?)<!-- /scale-notes -->", re.S)
DEFAULT_NOTES = "(hand-written remarks on the figures go here; bench/scale.py keeps them)\n"


def render_block(res, notes=DEFAULT_NOTES):
    meta, cfg = res["meta"], res["meta"]["config"]
    m = meta["machine"]
    lines = [
        f"<!-- {SECTION} -->",
        "<!-- Written by bench/scale.py from bench/out/scale.json; the other benchmarks keep "
        "this section as it is. Edit only the text between the scale-notes markers, which "
        "the script carries over. -->",
        HEADING, "",
        f"Produced by `{meta['command']}` on {meta['date']} (took "
        f"{meta['duration_seconds'] / 60:.1f} min; load average {m['loadavg_at_start'][0]:.1f} "
        f"when it started). Machine: `nproc` = {m['nproc']} ({m['cpu_model']}), "
        f"{m['memory_gib']} GiB RAM, Linux {m['kernel']}; {m['healer']}, {m['wrk']}. "
        f"Open-file limit raised to {meta['nofile_limit']:,} for the script and its children "
        "(wrk, the servers).", "",
        "Set-ups, each started by the script in a temporary directory, every set-up in the "
        "same run so the shared machine treats them alike:", "",
    ]
    for name, entry in res["setups"].items():
        lines.append(f"- **{name}**: {entry.get('title', '')}:")
        lines += [f"  {c}" for c in entry.get("commands", [])]
    lines += [
        "",
        f"Load: `wrk -t{WRK_THREADS} -cN -d{cfg['seconds']}s --latency --timeout "
        f"{cfg['timeout']}s -s scale.lua` against the front, N keep-alive connections from "
        "127.0.0.1, in two kinds: *paced*, as N users would: each connection waits a random "
        "think time before each request (uniform in 0.5T..1.5T, T = N / "
        f"{cfg['rate']:,} s), so the N connections offer about {cfg['rate']:,} requests/s "
        "between them whatever N is; *closed loop*: each connection sends its next request "
        "as soon as the answer arrives, which finds the set-up's saturation throughput "
        "(and at 10,000 connections asks for 10,000 requests in flight on 2 cores). "
        f"{cfg['diag_percent']} % of the requests are single-row diagnoses "
        "(`POST /api/v1/diagnoses`, `store: false`, 32 KPIs, a GBDT trained at set-up on "
        f"{SIM_TRAIN_ROWS:,} rows of `healer simulate`), the others `GET /api/v1/health`. "
        "*established*: the most of wrk's connections to the front seen ESTABLISHED (its "
        "sockets looked up in /proc/net/tcp every 0.5 s while it ran), and how long after "
        "wrk's start all of them were (connecting takes part of the run at the large points: "
        "requests/s is over the whole run, failed answers included). "
        "*answers*: 2xx answers "
        "counted by the Lua script, by kind. Latencies are wrk's (closed loop, so not "
        "corrected for coordinated omission; an answer slower than the timeout counts as a "
        "socket error `timeout` and not in the percentiles). *closed by healer*: the "
        "instances' `healer_http_request_head_timeouts_total` (GET /metrics) over the run: "
        "kept-alive connections a healer instance closed because no whole request head "
        "came in within request-head-timeout (10 s from accept for a first request, from the "
        "request line for the next ones; a head waiting unread in its socket is not cut) - "
        "wrk sees such a close as a read error. *CPU*: cores used by the "
        "deployment's processes (and their children: postgres backends, nginx workers), by "
        "wrk and by processes outside the benchmark. Load and servers share the 2 cores.",
        "", *points_table(res), "", *ratio_lines(res), *training_lines(res)]
    overload = overload_notes(res)
    if overload:
        lines += ["Closed loop beyond what the set-up carries (reported, not counted as a "
                  "failure):", ""] + [f"- {n}" for n in overload] + [""]
    problems = res.get("errors") or []
    if problems:
        lines += ["Problems seen in this run:", ""] + [f"- {p}" for p in problems] + [""]
    lines += ["<!-- scale-notes -->", notes.rstrip("\n"), "<!-- /scale-notes -->",
              f"<!-- /{SECTION} -->"]
    return "\n".join(lines)


def write_docs(res, cfg, docs_path):
    try:
        with open(docs_path, encoding="utf-8") as f:
            match = NOTES_RE.search(f.read())
    except FileNotFoundError:
        match = None
    block = render_block(res, match.group(1) if match else DEFAULT_NOTES)
    if cfg["quick"]:
        target = os.path.join(cfg["out_dir"], "scale-quick.md")
        with open(target, "w", encoding="utf-8") as f:
            f.write(block + "\n")
        return target
    with open(docs_path, encoding="utf-8") as f:
        text = f.read()
    with open(docs_path, "w", encoding="utf-8") as f:
        f.write(with_section(text, SECTION, block))
    return docs_path


# --- main ----------------------------------------------------------------------------------

def point_findings(name, r):
    """What went wrong at one point, in words."""
    where = f"{name} at {r['connections']:,} connections, {mode_text(r)}"
    if "error" in r:
        return [f"{where}: {r['error']}"]
    out = []
    if r["established"] < r["connections"]:
        out.append(f"{where}: only {r['established']:,} connections established")
    if r["non_2xx"]:
        out.append(f"{where}: {r['non_2xx']:,} non-2xx answers ({r['statuses']}; "
                   f"{r['non_2xx_sample'][:200]})")
    if any((r.get("socket_errors") or {}).values()):
        out.append(f"{where}: socket errors {r['socket_errors']}")
    if not r.get("alive", True):
        out.append(f"{where}: a process of the deployment died")
    return out


def overload_notes(res):
    """Closed-loop findings: N connections each re-sending at once is
    overload by design at the large points, so what the set-up does then
    (waits, sheds connections) is reported, not counted as a failure."""
    return [f for name, entry in res["setups"].items() for r in entry["points"]
            if r.get("mode") == "closed" for f in point_findings(name, r)]


def problems(res):
    out = []
    for name, entry in res["setups"].items():
        out += [f"{name}: {p}" for p in entry.get("problems", [])]
        for r in [r for r in entry["points"] if r.get("mode") != "closed"] + \
                [v for k in ("idle", "training") for v in [entry.get("training", {}).get(k)]
                 if v]:
            out += point_findings(name, r)
        if "error" in entry.get("training", {}):
            out.append(f"{name}: training under load: {entry['training']['error']}")
        bad = {k: v for k, v in (entry.get("exit_codes") or {}).items() if v not in (0,)}
        if bad:
            out.append(f"{name}: exit codes after SIGTERM {bad} (want 0)")
    return out


def main(argv):
    args = api.parse_bench_args(argv, "healer scale-out benchmark (issue 13)", "scale.py",
                                "Scale-out (issue 13)", "scale.json")
    cfg = config_from_env(os.environ)
    out_json = os.path.join(cfg["out_dir"], "scale-quick.json" if cfg["quick"] else "scale.json")
    docs_path = os.path.join(REPO, "docs", "benchmarks.md")
    if args.render_only:
        with open(out_json, encoding="utf-8") as f:
            log(f"wrote {write_docs(json.load(f), cfg, docs_path)} from {out_json}")
        return 0
    try:
        validate(cfg)
        if not os.access(cfg["healer"], os.X_OK):
            raise BenchError(f"{cfg['healer']} not found: build it with `make` first")
        if shutil.which("wrk") is None:
            raise BenchError("wrk is missing (Debian package 'wrk'; "
                             "`HEALER_BENCH_DEPS=1 sh mk/deps.sh`)")
        nofile = raise_nofile()
        check_nofile(cfg, nofile)
    except BenchError as e:
        log(str(e))
        return 2
    os.makedirs(cfg["out_dir"], exist_ok=True)
    start = time.perf_counter()
    res = {"meta": {"date": datetime.datetime.now(datetime.timezone.utc)
                    .strftime("%Y-%m-%d %H:%M UTC"), "command": api.command_line(args.entry),
                    "config": cfg, "machine": api.machine_facts(cfg), "nofile_limit": nofile},
           "setups": {}}
    tmp = tempfile.mkdtemp(prefix="healer-scale-bench-")
    try:
        run(cfg, tmp, res)
    except (BenchError, OSError, subprocess.TimeoutExpired) as e:
        log(f"stopped: {e}")
        res["error"] = str(e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["meta"]["duration_seconds"] = time.perf_counter() - start
    res["errors"] = problems(res) + ([res["error"]] if "error" in res else [])
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    target = write_docs(res, cfg, docs_path)
    log(f"wrote {out_json} and {target}")
    if res["errors"]:
        log("problems:\n  " + "\n  ".join(res["errors"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
