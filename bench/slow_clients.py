"""Slow-client (slowloris) benchmark: how `healer serve` fares against
clients that open many connections and trickle their request heads.

Run: python3 bench/slow_clients.py [HEALER ...] (default build/healer);
standard library only. For each binary, at its default settings (only
--listen and --data-dir given), two attacks of BENCH_SLOW_SECONDS (default
20) each, while a client on 127.0.0.1 asks GET /api/v1/health every 0.1 s
(a 2 s timeout counts as a failure):
  one:    4,100 connections from 127.0.0.2, each sending a header line
          every 10 s (the review's attack);
  spread: 4,100 connections spread over 100 addresses (127.0.1.1 - 100,
          41 each, under the per-address limit), each sending a header line
          every 10 s and reconnecting as soon as it is closed, so the
          attack stays as large as the server lets it be.
Prints, per binary and attack, the attacker's connections open (median and
largest count over the run, as the attacker sees them: accepted or waiting
in the listen queue), those closed within a second of connecting (refused),
those closed later (cut), and the health latency (median, p99, max) and
failures, as a Markdown table; with --write, also writes it as the "slow
clients" section of docs/benchmarks.md (between <!-- slow_clients --> and
<!-- /slow_clients -->, which bench/compare.py keeps).
Traffic goes to loopback addresses only and every loop is bounded in time.
"""
import os
import platform
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SECONDS = float(os.environ.get("BENCH_SLOW_SECONDS", "20"))
N_CONN = 4100
LINE_EVERY = 10.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(healer, tmp):
    port = free_port()
    data = os.path.join(tmp, "data")
    proc = subprocess.Popen([healer, "serve", "--listen", "127.0.0.1:%d" % port, "--data-dir", data],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "err.log"), "wb"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if health(port, 1.0)[0] == 200:
            return proc, port
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("%s did not start" % healer)


def health(port, timeout):
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(timeout)
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    except (OSError, ValueError, IndexError):
        status = 0
    return status, time.monotonic() - t0


class Slow:
    """One slow connection from `source`."""

    def __init__(self, port, source):
        self.port, self.source = port, source
        self.sock, self.opened, self.next_line = None, 0.0, 0.0

    def connect(self, now):
        s = socket.socket()
        s.setblocking(False)
        s.bind((self.source, 0))
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        self.sock, self.opened, self.next_line, self.sent_first = s, now, now, False

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None


def attack(port, sources, reconnect):
    per = N_CONN // len(sources)
    conns = [Slow(port, src) for src in sources for _ in range(per)]
    t0 = time.monotonic()
    for c in conns:
        c.connect(time.monotonic())
    refused = cut = 0
    open_counts, lat, fails = [], [], 0
    next_health = t0
    while time.monotonic() - t0 < SECONDS:
        now = time.monotonic()
        live = [c for c in conns if c.sock]
        by_fd = {c.sock.fileno(): c for c in live}
        poller = select.poll()
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        for fd, _ in poller.poll(50):
            c = by_fd[fd]
            try:
                gone = c.sock.recv(4096) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                if now - c.opened < 1.0:
                    refused += 1
                else:
                    cut += 1
                c.close()
                if reconnect:
                    c.connect(now)
        for c in conns:
            if c.sock and now >= c.next_line:
                try:
                    c.sock.send(b"GET /api/v1/health HTTP/1.1\r\n" if not c.sent_first else b"X-Slow: 1\r\n")
                    c.sent_first = True
                except (BlockingIOError, OSError):
                    pass
                c.next_line = now + LINE_EVERY
        if now >= next_health:
            next_health = now + 0.1
            open_counts.append(sum(1 for c in conns if c.sock and now - c.opened >= 1.0))
            st, dt = health(port, 2.0)
            lat.append(dt)
            fails += st != 200
    for c in conns:
        c.close()
    lat.sort()
    return {
        "held_median": int(statistics.median(open_counts)) if open_counts else 0,
        "held_max": max(open_counts) if open_counts else 0,
        "refused": refused, "cut": cut,
        "p50": lat[len(lat) // 2], "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "max": lat[-1],
        "fails": fails, "probes": len(lat),
    }


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    args = sys.argv[1:]
    write = "--write" in args
    binaries = [a for a in args if a != "--write"] or [os.path.join(ROOT, "build", "healer")]
    rows = []
    for healer in binaries:
        for name, sources, reconnect in (("one", ["127.0.0.2"], False),
                                         ("spread", ["127.0.1.%d" % i for i in range(1, 101)], True)):
            tmp = tempfile.mkdtemp(prefix="slow-")
            proc, port = start(healer, tmp)
            try:
                r = attack(port, sources, reconnect)
            finally:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                shutil.rmtree(tmp, ignore_errors=True)
            rows.append((healer, name, r))
            print("%s %s %s" % (healer, name, r), file=sys.stderr, flush=True)
    table = ["| binary | attack | attacker's connections open (median / max) | refused at once | cut later "
             "| health p50 / p99 / max | health failures |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for healer, name, r in rows:
        table.append("| `%s` | %s | %d / %d | %d | %d | %.1f / %.1f / %.1f ms | %d of %d |"
                     % (os.path.basename(healer), name, r["held_median"], r["held_max"], r["refused"], r["cut"],
                        r["p50"] * 1e3, r["p99"] * 1e3, r["max"] * 1e3, r["fails"], r["probes"]))
    print("\n".join(table))
    if write:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import report
        block = ("<!-- slow_clients -->\n<!-- Written by bench/slow_clients.py --write; the other benchmarks keep "
                 "this section as it is. -->\n## Slow clients\n\n"
                 "`python3 bench/slow_clients.py --write BINARY...` on %s (%d CPUs), %s UTC, %.0f s per attack, "
                 "each binary at its default settings; the attacker (Python, one thread) and the server share "
                 "the CPUs. *one*: 4,100 connections from 127.0.0.2, a header line every 10 s each (the "
                 "review's attack). *spread*: 4,100 connections over 100 addresses (41 each, under the "
                 "per-address limit), a header line every 10 s, reconnecting as soon as one is closed. Health: "
                 "`GET /api/v1/health` from 127.0.0.1 every 0.1 s between the attacker's rounds, a 2 s "
                 "timeout counted as a failure. `healer-before` is the server before the HTTP hardening.\n\n"
                 "%s\n<!-- /slow_clients -->"
                 % (platform.node() or "this machine", os.cpu_count() or 0,
                    time.strftime("%Y-%m-%d %H:%M", time.gmtime()), SECONDS, "\n".join(table)))
        report.write_section(os.path.join(ROOT, "docs", "benchmarks.md"), "slow_clients", block)


if __name__ == "__main__":
    main()
