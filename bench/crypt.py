#!/usr/bin/python3
"""Encryption at rest: what it costs. The same API calls against a server
without it (--before: a build of the commit before encryption) and with it
(--after: build/healer), side by side, on the same machine in one run.

  upload    POST /api/v1/datasets of a `healer simulate` CSV of about 10 MB
            and 200 MB (multipart), wall time until 201 (the file streamed
            into the blob store, then read back whole and profiled); the
            server's peak RSS (VmHWM) for the upload
  download  GET /api/v1/datasets/{id}/download of the same file from a
            freshly started server (so its peak RSS is the download's
            alone): wall time and peak RSS. Encrypted, the file is
            authenticated whole first, then decrypted as it is sent, a
            chunk at a time: memory must not grow with the file's size
  training  POST /api/v1/jobs (gbdt, 100 rounds) on 20,000 x 20 rows, wall
            time from submit to succeeded (the dataset read from the blob
            store, the model written to it)
  rekey     `healer rekey` of the data directory holding the upload: wall
            time and the process's peak RSS (every byte decrypted and
            encrypted again, a chunk at a time: the encryption layer alone)

Each figure is the median of REPEATS runs (min-max in brackets), before and
after alternating; the ratio is after / before. Standard library only, plus tests/api/harness.py to run
the servers.

Usage: bench/crypt.py --before PATH [--after build/healer] [--quick]
Build the "before" binary from the commit before encryption at rest, e.g.
`git worktree add /tmp/before COMMIT && make -C /tmp/before build/healer`.
Writes bench/out/crypt.json and, unless --quick, the section between
<!-- crypt --> and <!-- /crypt --> of docs/benchmarks.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import harness  # noqa: E402
import report  # noqa: E402

harness.HTTP_TIMEOUT = 600.0
SIZES_MB = (10, 200)
FEATURES = 20


def peak_rss_mib(server):
    with open("/proc/%d/status" % server.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def csv_of(mb, seed=1):
    """Simulated CSV bytes of about `mb` MB (cached by harness.simulate)."""
    rows = int(mb * 1e6 / (FEATURES * 10.5))
    return harness.simulate(samples=rows, features=FEATURES, classes=4, seed=seed)


def use(binary):
    harness.HEALER = binary


def upload_download(binary, data):
    """(upload s, upload peak MiB, download s, download peak MiB, rekey s)."""
    use(binary)
    with harness.Server(users=(("bench", "bench-pass-1234", True),),
                        args=["--max-upload-mb", "1024"]) as s:
        c = s.client()
        c.timeout = 600
        c.login("bench", "bench-pass-1234")
        t0 = time.monotonic()
        ds = harness.upload_dataset(c, data, name="big")
        up = time.monotonic() - t0
        up_rss = peak_rss_mib(s)
        s.stop()
        s.start()
        c = s.client()
        c.timeout = 600
        c.login("bench", "bench-pass-1234")
        t0 = time.monotonic()
        r = c.get(harness.API + "/datasets/%d/download" % ds["id"], timeout=600)
        down = time.monotonic() - t0
        harness.check(r.status == 200 and len(r.body) == len(data), "download", r.status)
        down_rss = peak_rss_mib(s)
        s.stop()
        rekey = None
        if binary != BEFORE[0]:
            key = harness.tmp_path(harness.unique("key"))
            harness.check(harness.run_healer(["key", "new", "--out", key]).returncode == 0, "key new")
            # GNU time's peak RSS: the child's own (a fork's high-water
            # mark would include this Python process's copy).
            t0 = time.monotonic()
            p = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", harness.HEALER, "rekey",
                                "--data-dir", s.data_dir, "--new-key-file", key],
                               capture_output=True, text=True, timeout=600)
            wall = time.monotonic() - t0
            harness.check(p.returncode == 0, "rekey", p.stderr)
            rekey = (wall, int(p.stderr.rsplit("maxrss_kb=", 1)[1]) / 1024.0)
        return up, up_rss, down, down_rss, rekey


def training(binary, data, repeats):
    use(binary)
    times = []
    with harness.Server(users=(("bench", "bench-pass-1234", True),)) as s:
        c = s.client()
        c.login("bench", "bench-pass-1234")
        ds = harness.upload_dataset(c, data, name="train")
        for _ in range(repeats):
            t0 = time.monotonic()
            job = harness.create_job(c, ds["id"], {"rounds": 100, "early_stopping_rounds": 0})
            job = harness.wait_job(c, job["id"], timeout=600)
            times.append(time.monotonic() - t0)
            harness.check(job["state"] == "succeeded", "training", job)
    return times


def stats(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


BEFORE = [None]


def measure(before, after, repeats, quick):
    BEFORE[0] = before
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "repeats": repeats,
           "quick": quick, "nproc": os.cpu_count(), "load": os.getloadavg()[0], "sizes": {}}
    sizes = (2, 20) if quick else SIZES_MB
    for mb in sizes:
        data = csv_of(mb)
        row = {"bytes": len(data)}
        # Alternating, so that a change of the machine's load hits both.
        all_runs = {"before": [], "after": []}
        for _ in range(repeats):
            for name, binary in (("before", before), ("after", after)):
                all_runs[name].append(upload_download(binary, data))
        for name in ("before", "after"):
            runs = all_runs[name]
            row[name] = {"upload_s": stats([r[0] for r in runs]),
                         "upload_peak_mib": max(r[1] for r in runs),
                         "download_s": stats([r[2] for r in runs]),
                         "download_peak_mib": max(r[3] for r in runs)}
            if name == "after":
                row[name]["rekey_s"] = stats([r[4][0] for r in runs])
                row[name]["rekey_peak_mib"] = max(r[4][1] for r in runs)
            print("%d MB %s: %s" % (mb, name, row[name]), file=sys.stderr, flush=True)
        out["sizes"][str(mb)] = row
    train_data = harness.simulate(samples=2000 if quick else 20000, features=FEATURES, classes=4, seed=3)
    times = {"before": [], "after": []}
    for _ in range(repeats):
        for name, binary in (("before", before), ("after", after)):
            times[name] += training(binary, train_data, 1)
    out["training"] = {name: stats(t) for name, t in times.items()}
    print("training: %s" % out["training"], file=sys.stderr, flush=True)
    out["load_after"] = os.getloadavg()[0]
    return out


def fmt(s):
    return "%.2f (%.2f-%.2f)" % (s["median"], s["min"], s["max"])


def docs_block(r, entry):
    lines = ["<!-- crypt -->",
             "<!-- Written by bench/crypt.py from bench/out/crypt.json; the other benchmarks keep this section as it is. -->",
             "## Encryption at rest",
             "",
             "Produced by `%s` on %s (%d cores, load average %.1f before and %.1f after the run): "
             "the same API calls against the commit before encryption at rest (*before*) and "
             "this one (*after*, every stored file encrypted in 64 KiB chunks with "
             "XChaCha20-Poly1305, the KPI values of the database sealed), each on a fresh "
             "server and data directory; median of %d runs (min-max), seconds of wall time. "
             "*Upload*: POST of a `healer simulate` CSV (%d KPIs) until 201 (streamed into the "
             "blob store, then read back and profiled); *download*: GET of the same file from "
             "a freshly started server (encrypted: authenticated whole, then decrypted while "
             "sent); *peak RSS*: the server's VmHWM for that request; *training*: gbdt, 100 "
             "rounds on 20,000 x %d rows, submit to succeeded; *rekey*: `healer rekey` of the "
             "data directory holding that upload (every byte decrypted and encrypted again), "
             "its wall time and peak RSS (the encryption layer alone). The upload's peak RSS "
             "grows with the file before and after alike: the upload is profiled once stored, "
             "and profiling parses the whole CSV into memory; the encryption streams (the "
             "download's and the rekey's peak RSS stay the same from 10 MB to 200 MB)."
             % (entry, r["date"], r["nproc"], r["load"], r["load_after"], r["repeats"], FEATURES, FEATURES),
             "",
             "| file | upload before (s) | upload after (s) | ratio | upload peak RSS before / after (MiB) "
             "| download before (s) | download after (s) | ratio | download peak RSS before / after (MiB) "
             "| rekey (s) | rekey peak RSS (MiB) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mb, row in r["sizes"].items():
        b, a = row["before"], row["after"]
        lines.append("| %s MB (%.1f MB) | %s | %s | %.2f | %.0f / %.0f | %s | %s | %.2f | %.0f / %.0f | %s | %.1f |" % (
            mb, row["bytes"] / 1e6, fmt(b["upload_s"]), fmt(a["upload_s"]),
            a["upload_s"]["median"] / b["upload_s"]["median"], b["upload_peak_mib"], a["upload_peak_mib"],
            fmt(b["download_s"]), fmt(a["download_s"]),
            a["download_s"]["median"] / b["download_s"]["median"], b["download_peak_mib"],
            a["download_peak_mib"], fmt(a["rekey_s"]), a["rekey_peak_mib"]))
    t = r["training"]
    lines += ["",
              "| training | before (s) | after (s) | ratio |",
              "| --- | ---: | ---: | ---: |",
              "| gbdt, 100 rounds, 20,000 x %d | %s | %s | %.2f |" % (
                  FEATURES, fmt(t["before"]), fmt(t["after"]),
                  t["after"]["median"] / t["before"]["median"]),
              "", "<!-- /crypt -->"]
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default=os.path.join(ROOT, "build", "healer"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "crypt.json"))
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--entry", default="/usr/bin/python3 bench/crypt.py --before BEFORE")
    a = ap.parse_args(argv)
    r = measure(os.path.abspath(a.before), os.path.abspath(a.after), a.repeats, a.quick)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(r, f, indent=1)
    block = docs_block(r, a.entry)
    print(block)
    if not a.quick and a.docs:
        report.write_section(a.docs, "crypt", block)


if __name__ == "__main__":
    main(sys.argv[1:])
