"""Upload answers with and without ingest jobs: the figure behind the
`ingest-async-kb` default (docs/benchmarks.md, "Large uploads").

Starts two `healer serve` (tests/api/harness.py: loopback, fresh data
directories): one with `--ingest-async-kb 0` (every upload read, checked
and profiled before its answer, as before issue 13) and one with the
default, and times `POST /api/v1/datasets` round trips (multipart, on
127.0.0.1) for simulated files of 1,000 to 64,000 rows x 50 KPIs, three
uploads each (median and minimum), plus, with the default, how long the
ingest job took to make the dataset ready. Prints a Markdown table.

Run: python3 bench/ingest.py   (HEALER=path for another binary)
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "api"))
import harness  # noqa: E402
from harness import API, expect_json  # noqa: E402

ROWS = (1000, 4000, 16000, 64000)
RUNS = 3


def timed_uploads(c, data):
    answers, ready = [], []
    for _ in range(RUNS):
        t0 = time.monotonic()
        ds = expect_json(c.upload(API + "/datasets", {}, {"file": ("b.csv", data)}), 201)
        answers.append(time.monotonic() - t0)
        while ds["state"] == "ingesting":
            time.sleep(0.01)
            ds = expect_json(c.get(API + "/datasets/%d" % ds["id"]), 200)
        ready.append(time.monotonic() - t0)
    return answers, ready


def main():
    files = {n: harness.simulate(samples=n, features=50, classes=4, seed=3) for n in ROWS}
    got = {}
    for label, kb in (("sync", "0"), ("async", None)):
        args = ("--max-upload-mb", "256") + (("--ingest-async-kb", kb) if kb else ())
        with harness.Server(name=label, args=args) as s:
            c = s.client().login_as("alice")
            for n in ROWS:
                got[(label, n)] = timed_uploads(c, files[n])
    print("| rows x 50 KPIs | file | answer, all on the request (ms) | answer, default threshold (ms) | state | ready after (ms) |")
    print("| ---: | ---: | ---: | ---: | --- | ---: |")
    for n in ROWS:
        size = len(files[n])
        sync, _ = got[("sync", n)]
        answer, ready = got[("async", n)]
        state = "ingesting" if size > 1024 * 1024 else "ready"
        print("| %d | %.1f MiB | %.0f (min %.0f) | %.0f (min %.0f) | %s | %.0f |" % (
            n, size / 1048576, statistics.median(sync) * 1e3, min(sync) * 1e3,
            statistics.median(answer) * 1e3, min(answer) * 1e3, state, statistics.median(ready) * 1e3))


if __name__ == "__main__":
    main()
