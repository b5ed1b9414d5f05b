#!/usr/bin/python3
"""How soon a job queued by one process starts in another: the start
latency of the job queue between `healer serve --no-workers` and an idle
`healer worker` sharing the store.

  latency   POST /api/v1/jobs (a 5-round training) on the web instance,
            then GET /jobs/{id} every 5 ms until it is no longer queued:
            the time from the POST's answer to the first answer that says
            running (or done). The worker is idle before each job (the
            previous one finished, then a random pause of 0.2..1.2 s, so
            the queueing falls anywhere in the worker's one-second look).

With SQLite the store has no news, so the figure is the idle worker's
poll (about 0.5 s on average, 1 s at worst); with a store that has
notifications (PostgreSQL: HEALER_STORE_URL=postgresql://...) the
worker's runner is woken at once.

Usage: bench/job_start_latency.py [--jobs N] [--store URL]
(build/healer, or HEALER=path). Prints the median, p90 and max in ms.
"""

import argparse
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "api"))

import harness  # noqa: E402
import deployment  # noqa: E402
from deployment import ADMIN, Deployment  # noqa: E402


def measure(c, dataset_id):
    job = harness.create_job(c, dataset_id, {"rounds": 5})
    t0 = time.monotonic()
    while True:
        state = harness.get_job(c, job["id"])["state"]
        if state != "queued":
            took = time.monotonic() - t0
            break
        if time.monotonic() - t0 > 10:
            raise SystemExit("job %d still queued after 10 s" % job["id"])
        time.sleep(0.005)
    harness.wait_job(c, job["id"], timeout=60)
    return took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--store", help="store URL (default: a SQLite file)")
    a = ap.parse_args()
    if a.store:
        os.environ["HEALER_STORE_URL"] = a.store
        deployment.BACKEND[0] = "postgresql"
    dep = Deployment()
    try:
        web = dep.serve()
        c = web.client().login_as(ADMIN[0])
        ds = harness.upload_dataset(c, harness.simulate(samples=300, features=5), name="tiny")
        dep.worker("w1")
        rnd = random.Random(1)
        times = []
        for _ in range(a.jobs):
            time.sleep(0.2 + rnd.random())
            times.append(measure(c, ds["id"]) * 1000.0)
        times.sort()
        store = a.store.split(":", 1)[0] if a.store else "sqlite"
        print("store %s, %d jobs: start latency median %.0f ms, p90 %.0f ms, max %.0f ms"
              % (store, len(times), statistics.median(times), times[int(0.9 * (len(times) - 1))],
                 times[-1]))
    finally:
        dep.close()


if __name__ == "__main__":
    main()
