"""test_queue.py - one user cannot take the job queue or the workers from
the others.

What: with `--max-queued-jobs-per-user 3` and one worker, alice's fourth
queued job is refused 429 "you have 3 jobs queued; the limit is 3" (with
Retry-After), while bob's job is accepted; when alice's running job ends,
the worker takes bob's job before alice's backlog (the fair claim: the
user with the fewest running jobs, then the one whose latest job started
longest ago).

Why: one user used to fill the global queue (102 jobs) and block everybody
else, first-come first-served.

Run: python3 tests/api/test_queue.py [test_name...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, expect_error  # noqa: E402


@harness.timeout(120)
def test_one_user_cannot_hold_the_queue():
    args = ("--workers", "1", "--max-queued-jobs-per-user", "3")
    with harness.Server(name="shared queue", args=args) as s:
        alice = s.client().login_as("alice")
        bob = s.client().login_as("bob")
        long_ds = harness.upload_dataset(alice, harness.long_data(), name="long")["id"]
        running = harness.start_long_job(alice, long_ds)
        backlog = [harness.create_job(alice, long_ds, dict(harness.LONG_PARAMS), name="backlog %d" % i)
                   for i in range(3)]
        try:
            r = harness.create_job(alice, long_ds, dict(harness.LONG_PARAMS), expect_status=None)
            expect_error(r, 429, "too_many_jobs", "alice's fourth queued job")
            check(r.json["error"]["message"] == "you have 3 jobs queued; the limit is 3",
                  "the refusal says how many and the limit", r)
            check(r.header("Retry-After"), "a 429 says when to try again", r)

            data = harness.simulate(samples=300, features=6, classes=3, seed=5)
            ds = harness.upload_dataset(bob, data, name="bob")
            job = harness.create_job(bob, ds["id"], {"rounds": 20}, name="bob's")
            check(job["state"] == "queued", "bob's job is accepted behind alice's", job)

            # One worker: had it taken alice's next (minutes long) job, bob's
            # would still wait when this times out.
            harness.cancel_job(alice, running["id"])
            done = harness.wait_job(bob, job["id"], timeout=30)
            check(done["state"] == "succeeded", "bob's job ran next, before alice's backlog", done)
            later = [harness.get_job(alice, b["id"]) for b in backlog]
            started = [j for j in later if j["state"] != "queued"]
            check(len(started) <= 1 and all(j["started_at"] >= done["finished_at"] for j in started),
                  "alice's backlog waited for bob's job", later)
        finally:
            for b in backlog + [running]:
                harness.cancel_quietly(alice, b["id"])
        s.stop()


if __name__ == "__main__":
    harness.main(globals())
