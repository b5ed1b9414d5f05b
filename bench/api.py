"""Web API benchmark: `healer serve` end to end, over HTTP on 127.0.0.1.

Run by bench/run.sh after compare.py (`BENCH_API_ONLY=1 sh bench/run.sh` runs
this part alone) with /usr/bin/python3; standard library only, plus the
`wrk` load generator (Debian package `wrk`, installed by mk/deps.sh).

  1. starts `build/healer serve` on a free loopback port with a fresh data
     directory in a temp dir, adds an administrator with `healer user add`
     and logs in (session cookie + CSRF token);
  2. upload to trained model: POST /api/v1/datasets with train_10000.csv
     (multipart), POST /api/v1/jobs (gbdt, default parameters), GET the job
     every 0.1 s until it succeeded; BENCH_API_REPEATS times (default 3),
     median and range;
  3. single-row diagnosis (POST /api/v1/diagnoses, the first row of
     test_2000_x.csv): 1,000 sequential requests on one keep-alive
     connection (no contention), then wrk at 100 and 1,000 connections with
     "store": false and at 100 connections with "store": true, the last one
     with a probe beside it: GET /api/v1/health every 20 ms on a connection
     of its own, whose latencies say whether the other requests wait for
     the stored diagnoses' fsyncs;
  4. writes bench/out/api.json and the "Web API" section of
     docs/benchmarks.md, between <!-- api --> and <!-- /api --> (compare.py
     keeps that section as it is when it re-renders the page);
  5. stops the server with SIGTERM, checks that it exits 0, removes the
     temp dir.

A quick run (BENCH_QUICK=1) does one training and 3-second wrk runs and
writes bench/out/api-quick.json and bench/out/api-quick.md only.
`--render-only` rewrites the section from the last bench/out/api.json.
Settings (environment): BENCH_API_SECONDS (wrk duration, default 15),
BENCH_API_REPEATS, BENCH_API_SEQUENTIAL (default 1000), BENCH_QUIET_WAIT,
HEALER, BENCH_DATA_DIR, BENCH_OUT (as for compare.py).

Every request has a timeout, wrk runs for a fixed time, and all traffic
goes to 127.0.0.1. Exits 1 when a step failed or the server misbehaved
(crash, non-2xx answers, socket errors, exit code other than 0); the
figures measured up to then are still written.
"""

import argparse
import csv
import datetime
import http.client
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import with_section  # noqa: E402  (stdlib only, like this file)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER, PASSWORD = "bench", "pw-benchmark-1"
# wrk's 1,000 connections all come from 127.0.0.1: no per-address limit
# (the server's default of 64 is for untrusted clients, docs/security.md).
SERVER_FLAGS = ["--workers", "1", "--http-threads", "4", "--login-rate", "0",
                "--max-connections", "4096", "--max-connections-per-address", "0"]
WRK_THREADS = 2
REQUEST_TIMEOUT = 60  # seconds, every request of this script
TRAIN_TIMEOUT = 900  # seconds for one training job
POLL_SECONDS = 0.1
NOFILE_WANTED = 65536
DISTURBED = 0.25  # cores used by other processes that make a measurement suspect


def log(msg):
    print(f"[bench-api {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A step could not be measured; the message says why."""


# --- settings ----------------------------------------------------------------

def config_from_env(env):
    quick = env.get("BENCH_QUICK", "0") == "1"
    return {
        "quick": quick,
        "seconds": int(env.get("BENCH_API_SECONDS", 3 if quick else 15)),
        "repeats": int(env.get("BENCH_API_REPEATS", 1 if quick else 3)),
        "sequential": int(env.get("BENCH_API_SEQUENTIAL", 200 if quick else 1000)),
        "quiet_wait": float(env.get("BENCH_QUIET_WAIT", 0 if quick else 30)),
        "retries": int(env.get("BENCH_RETRIES", 0 if quick else 2)),
        "healer": os.path.abspath(env.get("HEALER", os.path.join(REPO, "build", "healer"))),
        "data_dir": os.path.abspath(env.get("BENCH_DATA_DIR",
                                            os.path.join(REPO, "..", "shared", "data"))),
        "out_dir": os.path.abspath(env.get("BENCH_OUT", os.path.join(REPO, "bench", "out"))),
        "server_flags": SERVER_FLAGS,
    }


def raise_nofile():
    """wrk with 1,000 connections needs more descriptors than a usual soft
    limit of 1024; children (the server, wrk) inherit the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE_WANTED if hard == resource.RLIM_INFINITY else min(NOFILE_WANTED, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- CPU accounting (the machine is shared) ------------------------------------

def cpu_ticks():
    with open("/proc/stat", encoding="ascii") as f:
        return [int(v) for v in f.readline().split()[1:9]]


def busy_cpu_seconds():
    """CPU seconds all processors spent busy since boot (steal included)."""
    ticks = cpu_ticks()
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def steal_cpu_seconds():
    """CPU seconds the hypervisor gave to other guests."""
    return cpu_ticks()[7] / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid):
    """utime + stime of one live process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def self_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def wait_for_quiet(limit):
    """At most `limit` seconds, until other processes use < 0.2 cores."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        busy = busy_cpu_seconds()
        time.sleep(1.0)
        if busy_cpu_seconds() - busy < 0.2:
            break
    return time.perf_counter() - start


def least_disturbed(cfg, measure):
    """The least disturbed of up to 1 + retries calls of measure() (each
    returns a dict with other_cores): as in compare.py, a measurement during
    which other processes kept DISTURBED cores busy is taken again. The
    figures of the attempts that were set aside are kept in `discarded`."""
    attempts = []
    for _ in range(cfg["retries"] + 1):
        waited = wait_for_quiet(cfg["quiet_wait"])
        result = measure()
        result["quiet_wait_seconds"] = waited
        attempts.append(result)
        if result["other_cores"] < DISTURBED:
            break
        log(f"  other processes used {result['other_cores']:.2f} cores meanwhile"
            + ("; measuring again" if len(attempts) <= cfg["retries"] else ""))
    best = min(attempts, key=lambda r: r["other_cores"])
    best["attempts"] = len(attempts)
    best["discarded"] = [{k: v for k, v in r.items() if k != "raw"}
                         for r in attempts if r is not best]
    return best


class CpuWindow:
    """Cores used by the server, by the client (wrk or this interpreter) and
    by everything else while a measurement ran."""

    def __init__(self, server_pid):
        self.pid = server_pid
        self.start = (time.perf_counter(), busy_cpu_seconds(), process_cpu_seconds(server_pid),
                      children_cpu_seconds(), self_cpu_seconds(), steal_cpu_seconds())

    def stop(self):
        wall0, busy0, server0, children0, self0, steal0 = self.start
        wall = time.perf_counter() - wall0
        server = process_cpu_seconds(self.pid) - server0
        client = (children_cpu_seconds() - children0) + (self_cpu_seconds() - self0)
        busy = busy_cpu_seconds() - busy0
        return {"server_cores": server / wall, "client_cores": client / wall,
                "other_cores": max(0.0, (busy - server - client) / wall),
                "steal_cores": (steal_cpu_seconds() - steal0) / wall}


# --- HTTP ----------------------------------------------------------------------

class Client:
    """One keep-alive connection to the server, with the session cookie and
    the CSRF token once logged in."""

    def __init__(self, port, cookie=None, csrf=None):
        self.port, self.cookie, self.csrf = port, cookie, csrf
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def headers(self, extra=None):
        h = {}
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf:
            h["X-CSRF-Token"] = self.csrf
        h.update(extra or {})
        return h

    def request(self, method, path, body=None, content_type="application/json",
                timeout=REQUEST_TIMEOUT):
        """(status, headers, body bytes); reconnects once if the server closed
        the keep-alive connection."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        extra = {"Content-Type": content_type} if body is not None else {}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                self.conn.request(method, path, body=body, headers=self.headers(extra))
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            return resp.status, resp, data
        raise AssertionError("unreachable")

    def json(self, method, path, body=None, expect=(200,), **kw):
        status, _, data = self.request(method, path, body, **kw)
        if status not in expect:
            raise BenchError(f"{method} {path} answered {status}: {data[:300]!r}")
        return json.loads(data)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(field, filename, content):
    boundary = "healer-bench-" + secrets.token_hex(12)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


# --- the server ----------------------------------------------------------------

class Server:
    def __init__(self, cfg, tmp):
        self.cfg, self.tmp = cfg, tmp
        self.data = os.path.join(tmp, "data")
        self.err_path = os.path.join(tmp, "server.stderr")
        self.out_path = os.path.join(tmp, "server.stdout")
        self.proc = None
        self.port = None

    def start(self):
        for _ in range(3):  # the free port can be taken between probe and bind
            self.port = free_port()
            cmd = [self.cfg["healer"], "serve", "--listen", f"127.0.0.1:{self.port}",
                   "--data-dir", self.data, *self.cfg["server_flags"]]
            self.command = cmd
            with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
                self.proc = subprocess.Popen(cmd, stdout=out, stderr=err,
                                             stdin=subprocess.DEVNULL)
            if self.wait_ready(20):
                return
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
        raise BenchError(f"the server did not start: {self.stderr_tail(5)}")

    def wait_ready(self, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                status, _, _ = Client(self.port).request("GET", "/api/v1/health", timeout=1)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_tail(self, lines=20):
        try:
            with open(self.err_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.err_path) - 64 * 1024))
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_offset(self):
        try:
            return os.path.getsize(self.err_path)
        except OSError:
            return 0

    def log_since(self, offset):
        """What the server logged from `offset` on: answers by status, its
        own handling time (the `ms` of each request line) and any line that
        is not level info."""
        statuses, ms, unusual = {}, [], []
        with open(self.err_path, "rb") as f:
            f.seek(offset)
            for raw in f:
                try:
                    line = json.loads(raw)
                except ValueError:
                    unusual.append(raw.decode(errors="replace").rstrip()[:300])
                    continue
                if line.get("level") != "info":
                    unusual.append(raw.decode(errors="replace").rstrip()[:300])
                if line.get("msg") == "request":
                    key = str(line.get("status"))
                    statuses[key] = statuses.get(key, 0) + 1
                    if isinstance(line.get("ms"), (int, float)):
                        ms.append(line["ms"])
        ms.sort()
        return {"statuses": statuses,
                "handler_ms_p50": percentile(ms, 50) if ms else None,
                "handler_ms_p99": percentile(ms, 99) if ms else None,
                "handler_ms_max": ms[-1] if ms else None,
                "handler_over_100ms": sum(v > 100 for v in ms),
                "unusual_lines": len(unusual), "unusual_sample": unusual[:5]}

    def stop(self):
        """SIGTERM, then the exit code (None if it had to be killed)."""
        return stop_process(self.proc)


def stop_process(proc, sig=signal.SIGTERM, limit=60):
    """Sends `sig` to a child process still running and waits at most
    `limit` seconds: its exit code, or None when it had to be killed (or
    was never started)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            return None
    return proc.returncode


def add_admin(cfg, data_dir):
    r = subprocess.run([cfg["healer"], "user", "add", USER, "--admin", "--data-dir", data_dir],
                       input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise BenchError(f"healer user add exited {r.returncode}: {r.stderr.strip()[-300:]}")


def login(port):
    client = Client(port)
    status, resp, data = client.request("POST", "/api/v1/auth/login",
                                        {"username": USER, "password": PASSWORD})
    if status != 200:
        raise BenchError(f"login answered {status}: {data[:300]!r}")
    cookies = [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]
    session = next((c.split(";", 1)[0] for c in cookies
                    if c.startswith("healer_session=")), None)
    if session is None:
        raise BenchError(f"login set no healer_session cookie: {cookies!r}")
    client.cookie, client.csrf = session, json.loads(data)["csrf_token"]
    return client


# --- statistics ----------------------------------------------------------------

def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": values}


# --- 2. upload to trained model ------------------------------------------------

def train_once(client, csv_bytes, name):
    body, ctype = multipart("file", name, csv_bytes)
    upload = Client(client.port, client.cookie, client.csrf)
    t0 = time.perf_counter()
    status, _, data = upload.request("POST", "/api/v1/datasets", body, content_type=ctype,
                                     timeout=300)
    t_upload = time.perf_counter()
    upload.close()
    if status != 201:
        raise BenchError(f"upload answered {status}: {data[:300]!r}")
    dataset = json.loads(data)
    job = client.json("POST", "/api/v1/jobs", {"type": "train", "dataset_id": dataset["id"],
                                                "algo": "gbdt"}, expect=(202,))
    polls = 0
    while job["state"] not in ("succeeded", "failed", "cancelled"):
        if time.perf_counter() - t_upload > TRAIN_TIMEOUT:
            raise BenchError(f"job {job['id']} still {job['state']} after {TRAIN_TIMEOUT} s")
        time.sleep(POLL_SECONDS)
        job = client.json("GET", f"/api/v1/jobs/{job['id']}")
        polls += 1
    t_done = time.perf_counter()
    if job["state"] != "succeeded":
        raise BenchError(f"job {job['id']} {job['state']}: {job.get('error')}")
    model = client.json("GET", f"/api/v1/models/{job['model_id']}")
    training = model["summary"]["training"]
    return {
        "dataset_id": dataset["id"], "dataset_rows": dataset["rows"],
        "size_bytes": dataset["size_bytes"], "job_id": job["id"], "model_id": model["id"],
        "upload_seconds": t_upload - t0,
        "queue_train_seconds": t_done - t_upload,
        "total_seconds": t_done - t0,
        "job_elapsed_seconds": job.get("elapsed_seconds"),
        "job_attempts": len(job.get("attempts") or []),
        "polls": polls,
        "train_seconds": training["train_seconds"],
        "rounds_done": training["rounds_done"],
        "best_round": training.get("best_round"),
        "trees": training.get("trees"),
        "macro_f1": model.get("macro_f1"),
        "params": model["summary"].get("params"),
    }


def bench_training(cfg, client, server):
    path = os.path.join(cfg["data_dir"], "train_10000.csv")
    with open(path, "rb") as f:
        csv_bytes = f.read()
    runs = []

    def measure():
        cpu = CpuWindow(server.proc.pid)
        run = train_once(client, csv_bytes, os.path.basename(path))
        run.update(cpu.stop())
        return run

    for i in range(cfg["repeats"]):
        run = least_disturbed(cfg, measure)
        log(f"training {i + 1}/{cfg['repeats']}: upload {run['upload_seconds']:.3f} s, "
            f"queue+train {run['queue_train_seconds']:.2f} s, model train_seconds "
            f"{run['train_seconds']:.2f} s, {run['rounds_done']} rounds")
        runs.append(run)
    keys = ("upload_seconds", "queue_train_seconds", "total_seconds", "train_seconds",
            "rounds_done")
    return {"file": os.path.basename(path), "size_bytes": len(csv_bytes), "runs": runs,
            "summary": {k: spread([r[k] for r in runs]) for k in keys}}


# --- disk reference ------------------------------------------------------------------

def fsync_probe(directory, count=1000):
    """Latency of a 4 KiB append + fsync on the data directory's file
    system: the floor under a stored diagnosis, and where its tail comes
    from when the disk stalls."""
    path = os.path.join(directory, "fsync-probe")
    lat = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = b"\0" * 4096
        for _ in range(count):
            os.write(fd, block)
            t = time.perf_counter()
            os.fsync(fd)
            lat.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    return {"count": count, "p50_ms": percentile(lat, 50) * 1e3,
            "p99_ms": percentile(lat, 99) * 1e3, "max_ms": lat[-1] * 1e3}


class HealthProbe:
    """GET /api/v1/health every `interval` seconds on a keep-alive
    connection of its own, in a thread, while a load runs: what a request
    that writes nothing sees of the load's writes."""

    def __init__(self, port, interval=0.02):
        self.client, self.interval = Client(port), interval
        self.lat, self.bad, self.stopping = [], {}, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            t = time.perf_counter()
            try:
                status, _, _ = self.client.request("GET", "/api/v1/health", timeout=10)
            except OSError as e:
                status = type(e).__name__
            self.lat.append(time.perf_counter() - t)
            if status != 200:
                self.bad[str(status)] = self.bad.get(str(status), 0) + 1
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.thread.join(15)
        self.client.close()
        lat = sorted(self.lat)
        if not lat:
            return {"count": 0}
        return {"count": len(lat), "interval_ms": self.interval * 1e3,
                "p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3,
                "max_ms": lat[-1] * 1e3, "over_100ms": sum(x > 0.1 for x in lat),
                "non_200": self.bad}


# --- 3. diagnoses ----------------------------------------------------------------

def first_test_row(cfg):
    with open(os.path.join(cfg["data_dir"], "test_2000_x.csv"), newline="",
              encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    return {k: (float(v) if v != "" else None) for k, v in row.items() if k != "sample_id"}


def diagnosis_body(model_id, row, store):
    return json.dumps({"model_id": model_id, "store": store, "rows": [row]},
                      separators=(",", ":"))


def check_diagnosis(client, body, store):
    """One request before a run: it must succeed (201 stored, 200 not)."""
    want = 201 if store else 200
    status, _, data = client.request("POST", "/api/v1/diagnoses", body.encode())
    if status != want:
        raise BenchError(f"check request answered {status} (want {want}): {data[:300]!r}")
    answer = json.loads(data)
    items = (answer.get("results") or {}).get("items") or [{}]
    return {"status": status, "predicted": items[0].get("predicted"),
            "confidence": items[0].get("confidence")}


def bench_sequential(cfg, client, server, body):
    """N requests one after another on one keep-alive connection."""
    check = check_diagnosis(client, body, store=False)
    return least_disturbed(cfg, lambda: sequential_once(cfg, client, server, body, check))


def sequential_once(cfg, client, server, body, check):
    payload = body.encode()
    lat, bad = [], {}
    offset = server.log_offset()
    cpu = CpuWindow(server.proc.pid)
    t0 = time.perf_counter()
    for _ in range(cfg["sequential"]):
        start = time.perf_counter()
        status, _, _ = client.request("POST", "/api/v1/diagnoses", payload)
        lat.append(time.perf_counter() - start)
        if status != 200:
            bad[str(status)] = bad.get(str(status), 0) + 1
    wall = time.perf_counter() - t0
    lat.sort()
    result = {"client": "python-http.client", "connections": 1, "store": False,
              "requests": len(lat), "seconds": wall, "requests_per_sec": len(lat) / wall,
              "latency_ms": {"p50": percentile(lat, 50) * 1e3, "p90": percentile(lat, 90) * 1e3,
                             "p99": percentile(lat, 99) * 1e3, "max": lat[-1] * 1e3,
                             "mean": statistics.fmean(lat) * 1e3},
              "non_2xx": sum(bad.values()), "non_2xx_statuses": bad,
              "socket_errors": {}, "check": check}
    result.update(cpu.stop())
    result["server_log"] = server.log_since(offset)
    return result


LUA = """-- written by bench/api.py
wrk.method = "POST"
wrk.path = "/api/v1/diagnoses"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "{cookie}"
wrk.headers["X-CSRF-Token"] = "{csrf}"
"""

# Added only for a short re-run when wrk saw non-2xx answers: parsing every
# answer in Lua costs client CPU that the measured runs must not pay.
LUA_SAMPLER = """
local shown = 0
function response(status, headers, body)
  if status > 299 and shown < 2 then
    shown = shown + 1
    io.stderr:write("SAMPLE " .. status .. " " .. string.sub(body, 1, 400) .. "\\n")
  end
end
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise BenchError(f"unreadable wrk duration {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out):
    """The figures of `wrk --latency` output."""
    def grab(pattern, cast=float, default=None):
        m = re.search(pattern, out, re.M)
        return cast(m.group(1)) if m else default

    dist = {f"p{p}": to_ms(v) for p, v in
            re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M)}
    lat = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    if "p50" not in dist or lat is None or "Requests/sec" not in out:
        raise BenchError(f"unreadable wrk output: {out[-500:]!r}")
    dist.update(mean=to_ms(lat.group(1)), stdev=to_ms(lat.group(2)), max=to_ms(lat.group(3)))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": grab(r"^\s+(\d+) requests in", int),
        "seconds": to_ms(grab(r"requests in ([\d.]+\w+),", str)) / 1e3,
        "requests_per_sec": grab(r"^Requests/sec:\s+([\d.]+)"),
        "latency_ms": dist,
        "non_2xx": grab(r"Non-2xx or 3xx responses: (\d+)", int, 0),
        "socket_errors": (dict(zip(("connect", "read", "write", "timeout"),
                                   map(int, sock.groups()))) if sock else {}),
    }


def run_wrk(url, lua_path, connections, seconds, threads=WRK_THREADS):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "-s", lua_path, url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0:
        raise BenchError(f"wrk exited {r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}")
    return cmd, r.stdout, r.stderr


def bench_wrk(cfg, client, server, model_id, row, connections, store, tmp):
    body = diagnosis_body(model_id, row, store)
    check = check_diagnosis(client, body, store)
    lua_path = os.path.join(tmp, f"diagnose-{connections}-{'store' if store else 'nostore'}.lua")
    script = LUA.format(body=body, cookie=client.cookie, csrf=client.csrf)
    with open(lua_path, "w", encoding="utf-8") as f:
        f.write(script)
    url = f"http://127.0.0.1:{server.port}/api/v1/diagnoses"

    def measure():
        if store:
            fsync = fsync_probe(server.data)
            log(f"fsync probe in the data dir: p50 {fsync['p50_ms']:.2f} ms, "
                f"p99 {fsync['p99_ms']:.2f} ms, max {fsync['max_ms']:.1f} ms")
        offset = server.log_offset()
        cpu = CpuWindow(server.proc.pid)
        probe = HealthProbe(server.port) if store else None
        try:
            cmd, out, _ = run_wrk(url, lua_path, connections, cfg["seconds"])
        finally:
            health = probe.stop() if probe else None
        result = {"client": "wrk", "connections": connections, "threads": WRK_THREADS,
                  "store": store, "command": " ".join(shlex.quote(c) for c in cmd[:-1]) +
                  " http://127.0.0.1:PORT/api/v1/diagnoses", "check": check}
        result.update(cpu.stop())
        result.update(parse_wrk(out))
        # Little's law: mean latency x throughput = requests in flight. Well
        # below the connection count means connections sat idle or starved.
        result["busy_connection_share"] = (result["latency_ms"]["mean"] / 1e3 *
                                           result["requests_per_sec"] / connections)
        result["raw"] = out
        result["server_log"] = server.log_since(offset)
        result["server_alive"] = server.alive()
        if store:
            result["fsync_probe"] = fsync
            result["health_probe"] = health
        log(f"wrk -c{connections} store={store}: {result['requests_per_sec']:.0f} req/s, "
            f"p50 {result['latency_ms']['p50']:.2f} ms, "
            f"p99 {result['latency_ms']['p99']:.2f} ms, non-2xx {result['non_2xx']}, "
            f"socket errors {result['socket_errors']}, server {result['server_cores']:.2f} "
            f"cores, wrk {result['client_cores']:.2f}, other {result['other_cores']:.2f}")
        if health and health["count"]:
            log(f"  health meanwhile: {health['count']} requests, p50 {health['p50_ms']:.2f} ms, "
                f"p99 {health['p99_ms']:.2f} ms, max {health['max_ms']:.1f} ms, "
                f"non-200 {health['non_200']}")
        return result

    result = least_disturbed(cfg, measure)
    if any(r["non_2xx"] for r in [result] + result["discarded"]) and server.alive():
        with open(lua_path, "a", encoding="utf-8") as f:
            f.write(LUA_SAMPLER)
        _, out2, err2 = run_wrk(url, lua_path, connections, 3)
        samples = [line[len("SAMPLE "):] for line in err2.splitlines()
                   if line.startswith("SAMPLE ")][:4]
        result["non_2xx_samples"] = samples
        result["non_2xx_rerun"] = parse_wrk(out2)["non_2xx"]
        log(f"  non-2xx sample ({result['non_2xx_rerun']} in a 3 s re-run): "
            + (" | ".join(samples) or "none seen in the re-run"))
    return result


def bench_diagnoses(cfg, client, server, model_id, tmp):
    row = first_test_row(cfg)
    body = diagnosis_body(model_id, row, False)
    runs = []
    seq = bench_sequential(cfg, client, server, body)
    log(f"sequential: {seq['requests_per_sec']:.0f} req/s, p50 {seq['latency_ms']['p50']:.2f} ms, "
        f"p99 {seq['latency_ms']['p99']:.2f} ms, non-2xx {seq['non_2xx']}")
    runs.append(seq)
    for connections, store in ((100, False), (1000, False), (100, True)):
        if not server.alive():
            runs.append({"client": "wrk", "connections": connections, "store": store,
                         "error": "the server was no longer running"})
            continue
        try:
            runs.append(bench_wrk(cfg, client, server, model_id, row, connections, store, tmp))
        except (BenchError, OSError, subprocess.TimeoutExpired) as e:
            log(f"wrk -c{connections} store={store} failed: {e}")
            runs.append({"client": "wrk", "connections": connections, "store": store,
                         "error": str(e)})
    return {"row_features": len(row), "row_missing": sum(v is None for v in row.values()),
            "request_bytes": len(body.encode()), "model_id": model_id, "runs": runs}


# --- facts ----------------------------------------------------------------------

def machine_facts(cfg):
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as f:
        mem_kb = int(f.readline().split()[1])
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    version = subprocess.run([cfg["healer"], "--version"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": model,
            "memory_gib": round(mem_kb / 2**20, 1), "kernel": platform.release(),
            "python": platform.python_version(), "healer": version or "unknown",
            "wrk": (wrk.stdout or wrk.stderr).splitlines()[0].split(" Copyright")[0]
            if (wrk.stdout or wrk.stderr) else "unknown",
            "loadavg_at_start": os.getloadavg()}


def command_line(entry):
    settings = [f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items())
                if k.startswith("BENCH_") or k == "HEALER"]
    return " ".join(settings + [entry])


# --- rendering ----------------------------------------------------------------------

def fmt(x, digits=3):
    """Significant digits, but never scientific notation for table figures."""
    if x is None:
        return "-"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}" if abs(x) >= 1 else f"{x:.{digits}f}".rstrip("0").rstrip(".")


def seconds_row(label, s):
    return (f"| {label} | {fmt(s['median'])} | {fmt(s['min'])} - {fmt(s['max'])} |")


def training_lines(tr, cfg):
    if "error" in tr:
        return [f"Upload to trained model: **failed**: {tr['error']}", ""]
    s = tr["summary"]
    runs = tr["runs"]
    rounds = sorted({r["rounds_done"] for r in runs})
    best = sorted({r["best_round"] for r in runs})
    p = runs[0].get("params") or {}
    return [
        f"### Upload to trained model: `{tr['file']}` ({tr['size_bytes'] / 1e6:.1f} MB), "
        f"{len(runs)} run{'s' if len(runs) != 1 else ''}",
        "",
        "| step | median (s) | range (s) |",
        "| --- | --- | --- |",
        seconds_row("upload: `POST /api/v1/datasets` (multipart, round trip: parsing, "
                    "profile, storing)", s["upload_seconds"]),
        seconds_row("queue + train: `POST /api/v1/jobs` until `GET /api/v1/jobs/ID` shows "
                    "`succeeded` (polled every 0.1 s)", s["queue_train_seconds"]),
        seconds_row("**total**, upload to trained model", s["total_seconds"]),
        seconds_row("training as the model summary reports (`training.train_seconds`)",
                    s["train_seconds"]),
        "",
        f"Default parameters (`{{\"type\": \"train\", \"algo\": \"gbdt\"}}`, no params): "
        f"learning rate {p.get('learning_rate')}, at most {p.get('rounds')} rounds with early "
        f"stopping (patience {p.get('early_stopping_rounds')}) on a "
        f"{p.get('validation_fraction')} hold-out, then a refit on all rows; "
        f"subsample {p.get('subsample')}, colsample {p.get('colsample')}, "
        f"{'all cores' if p.get('threads') == 0 else p.get('threads')}. "
        f"Rounds done: {', '.join(map(str, rounds))} (best round "
        f"{', '.join(map(str, best))}); the same on every run since the seed is fixed. "
        f"While the jobs ran the server used {fmt(min(r['server_cores'] for r in runs), 2)}"
        f" - {fmt(max(r['server_cores'] for r in runs), 2)} cores and other processes "
        f"{fmt(min(r['other_cores'] for r in runs), 2)} - "
        f"{fmt(max(r['other_cores'] for r in runs), 2)}.",
        "",
    ]


def diag_row(r, seconds):
    if r["client"] == "wrk":
        client = f"wrk -t{WRK_THREADS} -c{r['connections']} -d{seconds}s"
    else:
        client = "Python `http.client`, sequential, one keep-alive connection"
    store = "true" if r["store"] else "false"
    if "error" in r:
        return f"| {client} | {r['connections']} | {store} | **failed**: {r['error']} |" + \
            " |" * 8
    sock = r.get("socket_errors") or {}
    store += " (disturbed)" if r["other_cores"] >= DISTURBED else ""
    sock_text = ", ".join(f"{k} {v}" for k, v in sock.items() if v) or "0"
    srv = r.get("server_log", {})
    return (f"| {client} | {r['connections']:,} | {store} | {r['requests']:,} | "
            f"{fmt(r['requests_per_sec'], 4)} | {fmt(r['latency_ms']['p50'])} | "
            f"{fmt(r['latency_ms']['p99'])} | {fmt(r['latency_ms']['max'])} | "
            f"{fmt(srv.get('handler_ms_p50'))} / {fmt(srv.get('handler_ms_p99'))} / "
            f"{fmt(srv.get('handler_ms_max'))} | "
            f"{r['non_2xx']:,} | {sock_text} | "
            f"{r['server_cores']:.2f} / {r['client_cores']:.2f} / {r['other_cores']:.2f} |")


def diagnosis_lines(dg, seconds, server_flags):
    flags = list(server_flags)
    http_threads = flags[flags.index("--http-threads") + 1]
    if "error" in dg:
        return [f"Single-row diagnosis: **failed**: {dg['error']}", ""]
    lines = [
        "### Single-row diagnosis: `POST /api/v1/diagnoses`",
        "",
        f"One row per request: the first row of `test_2000_x.csv` ({dg['row_features']} KPIs, "
        f"{dg['row_missing']} of them null), {dg['request_bytes']:,} bytes of JSON, "
        "with the session cookie and the CSRF token; `store: false` answers 200 and keeps "
        "nothing, `store: true` answers 201 and stores the diagnosis (a blob written and "
        "fsynced, a row in the store). Latencies are the client's, in ms; *server handling* "
        "is the `ms` of the server's own request log lines, from the moment the server "
        "has read the request's headers to its answer: the difference to the client's "
        f"figure is the time a request waits in its socket for one of the {http_threads} HTTP "
        "threads (and for a CPU).",
        "",
        "| client | connections | store | requests | requests/s | p50 (ms) | p99 (ms) | "
        "max (ms) | server handling p50 / p99 / max (ms) | non-2xx | socket errors | "
        "CPU cores: server / client / others |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [diag_row(r, seconds) for r in dg["runs"]]
    lines.append("")
    for r in dg["runs"]:
        share = r.get("busy_connection_share")
        if share is not None and share < 0.8:
            lines.append(f"- {r['connections']} connections, store {r['store']}: mean latency "
                         f"x requests/s covers only {share:.0%} of the connections (Little's "
                         "law): the others were idle or waiting to be accepted for part of "
                         "the run.")
        probe = r.get("fsync_probe")
        if probe:
            srv = r.get("server_log", {})
            lines.append(
                f"- `store: true`: the disk's own reference, {probe['count']:,} appends of "
                f"4 KiB + `fsync` in the data directory just before the run: p50 "
                f"{fmt(probe['p50_ms'])} ms, p99 {fmt(probe['p99_ms'])} ms, max "
                f"{fmt(probe['max_ms'])} ms. {srv.get('handler_over_100ms', 0)} stored "
                f"diagnoses took the server over 100 ms (the longest "
                f"{fmt(srv.get('handler_ms_max'))} ms).")
        health = r.get("health_probe")
        if health and health.get("count"):
            lines.append(
                f"- `store: true`: meanwhile `GET /api/v1/health` every "
                f"{fmt(health['interval_ms'])} ms on a keep-alive connection of its own "
                f"({health['count']:,} requests): p50 {fmt(health['p50_ms'])} ms, p99 "
                f"{fmt(health['p99_ms'])} ms, max {fmt(health['max_ms'])} ms, "
                f"{health['over_100ms']} over 100 ms: what a request that writes nothing "
                "waits for the others' fsyncs.")
        if r.get("non_2xx_samples"):
            lines.append(f"- {r['connections']} connections, store {r['store']}: "
                         f"non-2xx sample: `{r['non_2xx_samples'][0][:200]}`")
        if r.get("server_log", {}).get("unusual_lines"):
            lines.append(f"- {r['connections']} connections, store {r['store']}: the server "
                         f"logged {r['server_log']['unusual_lines']} lines not at level info, "
                         f"e.g. `{r['server_log']['unusual_sample'][0][:200]}`")
    if lines[-1] != "":
        lines.append("")
    return lines


def render_block(res):
    meta, cfg = res["meta"], res["meta"]["config"]
    m = meta["machine"]
    flags = " ".join(cfg["server_flags"])
    seconds = cfg["seconds"]
    lines = [
        "<!-- api -->",
        "## Web API",
        "",
        "<!-- Written by bench/api.py from bench/out/api.json; bench/compare.py keeps this "
        "section as it is. -->",
        "",
        f"Produced by `{meta['command']}` on {meta['date']} (took "
        f"{meta['duration_seconds'] / 60:.1f} min); `sh bench/run.sh` runs it after the "
        "comparison above. Machine: `nproc` = "
        f"{m['nproc']} ({m['cpu_model']}), {m['memory_gib']} GiB RAM, Linux {m['kernel']}; "
        f"{m['healer']}, {m['wrk']}, Python {m['python']}.",
        "",
        f"Server: `build/healer serve --listen 127.0.0.1:PORT --data-dir TMP {flags}` "
        "(log level info, its JSON lines to a file), a fresh data directory, one "
        "administrator added with `healer user add` and logged in. Client and server run "
        f"on the same {m['nproc']} CPUs, so the load generator takes CPU from the server: "
        "the CPU column says how the cores were shared (server, client = wrk or the Python "
        "loop, others = processes outside the benchmark; *(disturbed)*: others used "
        f"{DISTURBED} cores or more in every attempt). All traffic is HTTP/1.1 over "
        "127.0.0.1.",
        "",
        *training_lines(res["training"], cfg),
        *diagnosis_lines(res["diagnoses"], seconds, cfg["server_flags"]),
        f"Server stop: SIGTERM, exit code {res.get('server_exit_code')}"
        + (" (as it should)." if res.get("server_exit_code") == 0 else " (**expected 0**)."),
        "",
        "What was measured: *upload* is the client's round trip of the multipart POST "
        "(the server parses and profiles the 8,658 x 107 CSV and stores the file before it "
        "answers 201); *queue + train* runs from sending the job until a poll sees "
        "`succeeded`, so it includes the job queue (one worker, idle here), the training, "
        "saving the model and up to one 0.1 s poll interval; *total* is the sum from the "
        "upload's first byte. The diagnosis runs give wrk's latency distribution "
        "(`--latency`: from writing a request to reading its answer, closed loop, so not "
        "corrected for coordinated omission) and throughput at a fixed number "
        "of open keep-alive connections, each sending its next request as soon as the "
        "answer arrives; the sequential Python loop is the latency without contention "
        "(one request in flight). wrk counts answers other than 2xx/3xx and socket errors "
        "(connect, read, write, timeout after 2 s); each run is preceded by one checked "
        "request (200, or 201 when stored). The machine is shared: before each measurement "
        f"(each training, each diagnosis run) the script waits at most {cfg['quiet_wait']:g} s "
        "for idle CPUs, and a measurement during which other processes kept "
        f"{DISTURBED} cores or more busy is taken again (at most {cfg['retries']} times), "
        "keeping the least disturbed attempt.",
    ]
    errors = res.get("errors") or []
    if errors:
        lines += ["", "Problems seen in this run:", ""] + [f"- {e}" for e in errors]
    lines.append("<!-- /api -->")
    return "\n".join(lines)


def write_docs(res, cfg, docs_path):
    block = render_block(res)
    if cfg["quick"]:
        target = os.path.join(cfg["out_dir"], "api-quick.md")
        with open(target, "w", encoding="utf-8") as f:
            f.write(block + "\n")
        return target
    try:
        with open(docs_path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    with open(docs_path, "w", encoding="utf-8") as f:
        f.write(with_section(text, "api", block))
    return docs_path


# --- main ------------------------------------------------------------------------

def problems(res):
    """What went wrong, in words, for the report and the exit code."""
    out = []
    for part in ("training", "diagnoses"):
        if "error" in res.get(part, {}):
            out.append(f"{part}: {res[part]['error']}")
    for r in res.get("diagnoses", {}).get("runs", []):
        where = f"{r['client']} {r['connections']} connections store={r['store']}"
        if "error" in r:
            out.append(f"{where}: {r['error']}")
            continue
        for a in [r] + r.get("discarded", []):
            tag = where if a is r else f"{where} (an attempt set aside as disturbed)"
            if a.get("non_2xx"):
                out.append(f"{tag}: {a['non_2xx']} non-2xx answers "
                           f"(server log statuses {a['server_log']['statuses']})")
            if any((a.get("socket_errors") or {}).values()):
                out.append(f"{tag}: socket errors {a['socket_errors']}")
            if a.get("server_alive") is False:
                out.append(f"{tag}: the server died during the run")
    if res.get("server_exit_code") != 0:
        out.append(f"server exit code {res.get('server_exit_code')} after SIGTERM (want 0)")
    return out


def parse_bench_args(argv, description, script, section, json_name):
    """The command line of the web benchmarks (this one, bench/scale.py):
    --entry (how the run was started) and --render-only."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--entry", default=f"/usr/bin/python3 bench/{script}",
                   help="how the run was started, recorded in the report")
    p.add_argument("--render-only", action="store_true",
                   help=f"rewrite the {section} section from bench/out/{json_name} only")
    return p.parse_args(argv)


def parse_args(argv):
    return parse_bench_args(argv, "healer serve REST API benchmark", "api.py", "Web API",
                            "api.json")


def main(argv):
    args = parse_args(argv)
    cfg = config_from_env(os.environ)
    out_json = os.path.join(cfg["out_dir"], "api-quick.json" if cfg["quick"] else "api.json")
    docs_path = os.path.join(REPO, "docs", "benchmarks.md")
    if args.render_only:
        with open(out_json, encoding="utf-8") as f:
            log(f"wrote {write_docs(json.load(f), cfg, docs_path)} from {out_json}")
        return 0
    if not os.access(cfg["healer"], os.X_OK):
        log(f"{cfg['healer']} not found: build it with `make` first")
        return 1
    if shutil.which("wrk") is None:
        log("wrk is missing (Debian package 'wrk'; `HEALER_BENCH_DEPS=1 sh mk/deps.sh`)")
        return 1
    for name in ("train_10000.csv", "test_2000_x.csv"):
        if not os.path.exists(os.path.join(cfg["data_dir"], name)):
            log(f"{name} not found in {cfg['data_dir']} (set BENCH_DATA_DIR)")
            return 1
    nofile = raise_nofile()
    os.makedirs(cfg["out_dir"], exist_ok=True)
    start = time.perf_counter()
    res = {"meta": {"date": datetime.datetime.now(datetime.timezone.utc)
                    .strftime("%Y-%m-%d %H:%M UTC"),
                    "command": command_line(args.entry), "config": cfg,
                    "machine": machine_facts(cfg), "nofile_limit": nofile}}
    tmp = tempfile.mkdtemp(prefix="healer-api-bench-")
    server = Server(cfg, tmp)
    try:
        server.start()
        res["meta"]["server_command"] = [c if c != server.data else "TMP/data"
                                         for c in server.command]
        log(f"server pid {server.proc.pid} on 127.0.0.1:{server.port}, data in {server.data}")
        add_admin(cfg, server.data)
        client = login(server.port)
        try:
            res["training"] = bench_training(cfg, client, server)
        except (BenchError, OSError) as e:
            log(f"training failed: {e}")
            res["training"] = {"error": str(e)}
        model_id = (res["training"]["runs"][-1]["model_id"]
                    if "runs" in res["training"] else None)
        if model_id is None:
            res["diagnoses"] = {"error": "no model (the training failed)"}
        else:
            try:
                res["diagnoses"] = bench_diagnoses(cfg, client, server, model_id, tmp)
            except (BenchError, OSError) as e:
                log(f"diagnoses failed: {e}")
                res["diagnoses"] = {"error": str(e)}
        client.close()
    except (BenchError, OSError, subprocess.TimeoutExpired) as e:
        log(f"stopped: {e}")
        res.setdefault("training", {"error": str(e)})
        res.setdefault("diagnoses", {"error": str(e)})
    finally:
        res["server_exit_code"] = server.stop()
        res["server_stderr_tail"] = server.stderr_tail(30)
        shutil.rmtree(tmp, ignore_errors=True)
    res["meta"]["duration_seconds"] = time.perf_counter() - start
    res["errors"] = problems(res)
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    target = write_docs(res, cfg, docs_path)
    log(f"wrote {out_json} and {target}; server exit code {res['server_exit_code']}")
    if res["errors"]:
        log("problems:\n  " + "\n  ".join(res["errors"]))
        log("server stderr tail:\n" + "\n".join(res["server_stderr_tail"].splitlines()[-10:]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
