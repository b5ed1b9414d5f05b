#!/usr/bin/env python3
"""tests/run.py - runs every test suite of `make test`, several at once,
and ends with the one line CI reads: "N passed, N failed".

What runs (in this order of listing; see suites()):
  - mk/layers.py, the architecture's rules on the objects just built;
  - the unit suites (build/tests/test_*), then again from the ASan/UBSan
    build (build/asan/tests/test_*, HEALER_TEST_QUICK=1);
  - the CLI suites (tests/cli/*.sh) against build/healer;
  - the fuzz targets, each briefly (tests/fuzz/run.sh, FUZZ_SECONDS=10);
  - the deployment files' checks (tests/deploy/test_*.py);
  - the benchmarks' reports on made-up results (tests/bench/test_*.py);
  - the API suites (tests/api/test_*.py) against build/healer and again
    against build/asan/healer, so that a memory error or a leak in a
    request path fails the suite (see harness.py);
  - the web UI's module checks (tests/web/test_*.mjs, Node alone);
  - the end-to-end UI suites (tests/e2e/test_*.mjs, headless Chromium).
Every suite prints cmocka's "[  PASSED  ] N" / "[  FAILED  ] N" lines
(the Python and Node harnesses and tests/cli imitate them); a suite that
exits non-zero without a FAILED line counts as one failure.

Why several at once: the suites spend most of their time waiting on
servers, sockets, browsers and sleeps, not on the CPU; run one after the
other they took 33 minutes on the 2-core CI machine, far over the
20-minute budget. Each suite is independent (its own temporary
directories, servers on free ports, its own PostgreSQL cluster), so
TEST_JOBS of them (default: cores + 1) run side by side, the longest
first (the times of the last run, kept in build/test-times.json; a suite
never timed is ranked by a guess for its kind), and a suite's output is
printed whole when it ends, so the log reads as if they had run in turn.

Usage: python3 tests/run.py [SUBSTRING...]  runs only the suites whose
name contains one of the substrings (e.g. `test_auth` or `asan/tests`).
Environment: TEST_JOBS (suites at once, 1 = one after the other),
TEST_SUITE_TIMEOUT (seconds before a hung suite is killed and counted as
failed, default 1800), E2E_SHARDS (slices of each browser suite, default
3), FUZZ_SECONDS.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TIMES = os.path.join(ROOT, "build", "test-times.json")
PY = sys.executable or "/usr/bin/python3"
PASSED_RE = re.compile(r"^\[  PASSED  \] (\d+) test", re.M)
FAILED_RE = re.compile(r"^\[  FAILED  \] (\d+) test", re.M)


class Suite:
    def __init__(self, name, argv, env=None, missing=None, guess=10):
        self.name = name
        self.argv = argv
        self.env = env or {}
        self.missing = missing  # why it cannot run: counted as failed
        self.guess = guess      # seconds, until a run has timed it

    def __repr__(self):
        return self.name


def executables(pattern_dir, prefix):
    d = os.path.join(ROOT, pattern_dir)
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(pattern_dir, n) for n in os.listdir(d)
                  if n.startswith(prefix) and os.access(os.path.join(d, n), os.X_OK)
                  and os.path.isfile(os.path.join(d, n)))


def files(pattern_dir, prefix, suffix):
    d = os.path.join(ROOT, pattern_dir)
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(pattern_dir, n) for n in os.listdir(d)
                  if n.startswith(prefix) and n.endswith(suffix))


def module_shards(path):
    """N of a `SHARDS = N` line in the module, else 1."""
    try:
        with open(os.path.join(ROOT, path)) as f:
            m = re.search(r"^SHARDS = (\d+)", f.read(), re.M)
    except OSError:
        return 1
    return max(1, int(m.group(1))) if m else 1


def suites():
    """Every suite, in the order the log lists them when timings are equal."""
    out = [Suite("mk/layers.py", [PY, "mk/layers.py", "build/obj", "src"])]
    for t in executables("build/tests", "test_"):
        out.append(Suite(t, [t]))
    for t in executables("build/asan/tests", "test_"):
        out.append(Suite(t, [t], {"HEALER_TEST_QUICK": "1"}))
    for t in files("tests/cli", "", ".sh"):
        out.append(Suite(t, ["sh", t], guess=60))
    # A crash, leak or timeout of a fuzz target fails the suite and prints
    # the command that reproduces it (tests/fuzz/run.sh).
    out.append(Suite("tests/fuzz/run.sh", ["sh", "tests/fuzz/run.sh"],
                     {"FUZZ_SECONDS": os.environ.get("FUZZ_SECONDS", "10")}, guess=70))
    # Parsed and cross-checked against build/healer, nginx -t,
    # systemd-analyze verify; no image or cluster is started.
    for t in files("tests/deploy", "test_", ".py"):
        out.append(Suite(t, [PY, t], {"HEALER": "build/healer"}))
    # The benchmarks' reports, rendered from made-up results: nothing runs.
    for t in files("tests/bench", "test_", ".py"):
        out.append(Suite(t, [PY, t]))
    for healer in ("build/healer", "build/asan/healer"):
        if not os.access(os.path.join(ROOT, healer), os.X_OK):
            continue
        for t in files("tests/api", "test_", ".py"):
            # A module that sets SHARDS = N runs in N slices side by side
            # (harness.py: HEALER_API_SHARD).
            shards = module_shards(t)
            for k in range(1, shards + 1):
                name = "%s (%s)" % (t, healer) if shards == 1 else "%s [%d/%d] (%s)" % (t, k, shards, healer)
                out.append(Suite(name, [PY, t], {"HEALER": healer, "HEALER_API_SHARD": "%d/%d" % (k, shards)},
                                 guess=30))
    node = shutil.which("node")
    for t in files("tests/web", "test_", ".mjs"):
        out.append(Suite(t, [node or "node", t], missing=None if node else "node not found"))
    # node and /usr/bin/chromium are dependencies (make deps), so a missing
    # one fails the suites instead of skipping them.
    # Each in E2E_SHARDS slices run side by side (harness.mjs: E2E_SHARD),
    # the longest suite by far otherwise.
    shards = max(1, int(os.environ.get("E2E_SHARDS") or 3))
    for t in files("tests/e2e", "test_", ".mjs"):
        why = None if node else "node not found"
        if not why and not os.access("/usr/bin/chromium", os.X_OK):
            why = "/usr/bin/chromium not found"
        for k in range(1, shards + 1):
            name = t if shards == 1 else "%s [%d/%d]" % (t, k, shards)
            out.append(Suite(name, [node or "node", t],
                             {"HEALER": "build/healer", "E2E_SHARD": "%d/%d" % (k, shards)},
                             missing=why, guess=600 / shards))
    return out


def stop_group(proc, grace=20):
    """Stops a suite: SIGTERM to its process group first, so that its
    harness stops the servers, browsers and PostgreSQL clusters it started
    in sessions of their own (a SIGKILL would leave them running, taking
    the cores from the other suites), then SIGKILL after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def load_times():
    try:
        with open(TIMES) as f:
            return {k: float(v) for k, v in json.load(f).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def save_times(times):
    try:
        os.makedirs(os.path.dirname(TIMES), exist_ok=True)
        tmp = TIMES + ".tmp"
        with open(tmp, "w") as f:
            json.dump(times, f, indent=1, sort_keys=True)
        os.replace(tmp, TIMES)
    except OSError:
        pass  # only the next run's order suffers


EXCERPT_LINES = 16  # per failing suite: CI shows about the last 20 lines of the log


def failure_excerpt(name, text):
    """What a failing suite said about each failed test (from its "[ RUN ]"
    line to its "[  FAILED  ]" line), repeated at the end of the run: CI
    keeps only the log's tail, where the suite's own output is long gone."""
    lines = text.splitlines()
    picked = []
    start = None
    for i, line in enumerate(lines):
        if line.startswith("[ RUN      ]"):
            start = i
        elif "listed below" in line:  # the summary's list of names follows
            break
        elif line.startswith("[  FAILED  ]") and start is not None:
            picked.extend(lines[start:i + 1])
            start = None
    if not picked:  # crashed, timed out or failed outside a test: its last words
        picked = lines[-12:]
    if len(picked) > EXCERPT_LINES:
        picked = picked[:EXCERPT_LINES - 1] + ["    ... (%d more lines above, in the suite's output)" % (len(picked) - EXCERPT_LINES + 1)]
    return "-- %s:\n%s\n" % (name, "\n".join("   " + l for l in picked))


class Runner:
    def __init__(self, jobs, timeout):
        self.jobs = jobs
        self.timeout = timeout
        self.lock = threading.Lock()
        self.passed = 0
        self.failed = 0
        self.broken = []
        self.excerpts = []
        self.times = load_times()
        self.children = set()
        self.stopping = False

    def run_one(self, s):
        if s.missing:
            return "== %s: %s, counted as failed\n" % (s.name, s.missing), 0, 1, 0.0
        env = dict(os.environ)
        env.update(s.env)
        started = time.monotonic()
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(s.argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            with self.lock:
                self.children.add(proc)
                late = self.stopping  # started as the run was being stopped
            if late:
                stop_group(proc)
            try:
                rc = proc.wait(self.timeout)
                note = ""
            except subprocess.TimeoutExpired:
                stop_group(proc)
                rc = proc.wait()
                note = "(stopped: still running after %d s)\n" % self.timeout
            with self.lock:
                self.children.discard(proc)
            log.seek(0)
            text = log.read().decode("utf-8", "replace")
        spent = time.monotonic() - started
        passed = PASSED_RE.findall(text)
        failed = FAILED_RE.findall(text)
        p = int(passed[-1]) if passed else 0
        f = int(failed[-1]) if failed else 0
        if rc != 0 and f == 0:
            f = 1  # crashed or exited early: the suite counts as one failure
        # Per-suite time, so the slow ones are known when the budget of
        # `make test` gets tight.
        text = "== %s\n%s%s-- %s: %d s\n" % (s.name, text, note, s.name, spent)
        return text, p, f, spent

    def worker(self, queue):
        while True:
            with self.lock:
                if not queue or self.stopping:
                    return
                s = queue.pop(0)
            text, p, f, spent = self.run_one(s)
            with self.lock:
                sys.stdout.write(text)
                sys.stdout.flush()
                self.passed += p
                self.failed += f
                if f:
                    self.broken.append(s.name)
                    self.excerpts.append(failure_excerpt(s.name, text))
                if not s.missing:
                    self.times[s.name] = round(spent, 1)

    def run(self, todo):
        # Longest first: the last suites to start are short, so the lanes
        # end together. A suite never timed here (a clean clone: CI) is
        # ranked by its kind's guess (browser slices, then API, CLI and
        # fuzz suites, then unit suites).
        order = {s.name: i for i, s in enumerate(todo)}
        queue = sorted(todo, key=lambda s: (-self.times.get(s.name, s.guess), order[s.name]))
        lanes = [threading.Thread(target=self.worker, args=(queue,))
                 for _ in range(max(1, min(self.jobs, len(queue))))]
        for t in lanes:
            t.start()
        for t in lanes:
            t.join()
        save_times(self.times)

    def kill_children(self):
        with self.lock:
            self.stopping = True
            procs = list(self.children)
        for proc in procs:
            stop_group(proc)


def main():
    os.chdir(ROOT)
    os.environ.setdefault("CMOCKA_MESSAGE_OUTPUT", "stdout")
    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    jobs = int(os.environ.get("TEST_JOBS") or (os.cpu_count() or 1) + 1)
    timeout = int(os.environ.get("TEST_SUITE_TIMEOUT") or 1800)
    todo = suites()
    wanted = sys.argv[1:]
    if wanted:
        todo = [s for s in todo if any(w in s.name for w in wanted)]
    runner = Runner(jobs, timeout)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    started = time.monotonic()
    try:
        runner.run(todo)
    finally:
        runner.kill_children()
    sys.stdout.write("".join(runner.excerpts))
    print("== %d suites, %d at once: %d s" % (len(todo), jobs, time.monotonic() - started))
    if runner.broken:
        print("failing suites: " + " ".join(runner.broken))
    print("%d passed, %d failed" % (runner.passed, runner.failed))
    return 0 if runner.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
