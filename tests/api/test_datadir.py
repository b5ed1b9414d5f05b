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
import sqlite3
import stat
import sys
import threading
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
        job = harness.create_job(c, ds["id"], {"rounds": 4000, "early_stopping_rounds": 0,
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


def wide_entries(root):
    """Entries under root whose mode is not 0600 (files) / 0700 (dirs)."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name, want in [(".", 0o700)] + [(d, 0o700) for d in dirnames] + [(f, 0o600) for f in filenames]:
            path = os.path.normpath(os.path.join(dirpath, name))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            if stat.S_IMODE(st.st_mode) != want:
                bad.append("%s %o" % (os.path.relpath(path, root), stat.S_IMODE(st.st_mode)))
    return bad


def wait_log(s, text, timeout=10):
    return harness.wait_until(lambda: text in s.stderr_text(), timeout, "the server to log %r" % text)


@harness.timeout(120)
def test_files_private_whatever_the_umask():
    for mask in (0o000, 0o022):
        old = os.umask(mask)  # inherited by `healer user add` and `healer serve`
        try:
            with harness.Server(name="umask %03o" % mask) as s:
                c = s.client().login_as("alice")
                data = harness.simulate(samples=300, features=6, classes=3, seed=9)
                ds, job, model = harness.train_model(c, data, {"rounds": 10})
                expect_json(c.post_json(API + "/diagnoses", {"model_id": model["id"],
                                                              "rows": harness.rows_as_json(data, 0, 5)}), 201)
                files = [os.path.join(d, f) for d, _, fs in os.walk(s.data_dir) for f in fs]
                check(len(files) >= 8 and any(f.endswith("healer.db-wal") for f in files),
                      "the walk sees the database, its WAL, blobs and logs", files)
                bad = wide_entries(s.data_dir)
                check(not bad, "under umask %03o every file is 0600 and every directory 0700" % mask, bad)
                s.stop()
                # An older installation's modes are narrowed at the next start.
                os.chmod(os.path.join(s.data_dir, "healer.db"), 0o644)
                os.chmod(os.path.join(s.data_dir, "blobs"), 0o755)
                s.restart()
                wait_log(s, "data directory modes narrowed")
                check(not wide_entries(s.data_dir), "modes narrowed at start", wide_entries(s.data_dir))
                s.stop()
        finally:
            os.umask(old)


def referenced_keys(data_dir):
    """The blob keys the database's records name (read-only, as the store's
    blob_refs does)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data_dir, "healer.db"), uri=True)
    try:
        rows = db.execute(
            "SELECT blob_key FROM datasets UNION SELECT blob_key FROM models"
            " UNION SELECT input_blob_key FROM jobs UNION SELECT blob_key FROM diagnoses"
            " UNION SELECT input_blob_key FROM diagnoses UNION SELECT blob_key FROM topologies"
            " UNION SELECT csv_blob_key FROM analyses UNION SELECT json_blob_key FROM analyses"
            " UNION SELECT incidents_blob_key FROM analyses").fetchall()
    finally:
        db.close()
    return {r[0] for r in rows if r[0]}


def stored_blobs(data_dir):
    """Committed blobs ("kind/hex") and writers' temporary files."""
    root = os.path.join(data_dir, "blobs")
    keys, temps = set(), []
    for kind in os.listdir(root):
        path = os.path.join(root, kind)
        if kind == "tmp":
            temps = os.listdir(path)
        elif os.path.isdir(path):
            keys |= {"%s/%s" % (kind, name) for name in os.listdir(path)}
    return keys, temps


def kill_mid_upload(s, data, mode):
    """Uploads data and SIGKILLs the server mid-ingest: "stream" while the
    body streams into a temporary file, "commit" right after the blob is
    committed (before its record). Returns True when the kill hit that
    window (the upload did not finish)."""
    before, _ = stored_blobs(s.data_dir)
    c = s.client().login_as("alice")
    result = {}

    def upload():
        try:
            result["r"] = c.upload(API + "/datasets", {"name": "killed"}, {"file": ("big.csv", data)}, timeout=30)
        except Exception as e:  # the server dies under it
            result["e"] = e

    t = threading.Thread(target=upload, daemon=True)
    t.start()
    deadline = time.monotonic() + 15
    hit = False
    while time.monotonic() < deadline and t.is_alive():
        keys, temps = stored_blobs(s.data_dir)
        if (mode == "stream" and temps) or (mode == "commit" and keys - before):
            s.kill()
            hit = True
            break
        time.sleep(0.002)
    t.join(10)
    if not hit:
        s.kill()
        return False
    r = result.get("r")
    return r is None or r.status != 201


@harness.timeout(120)
def test_killed_uploads_leave_no_blobs():
    # A file big enough that its ingest (read, profile) takes a while after
    # the commit: about 12 MB. Ingested before the answer (--ingest-async-kb
    # 0): an upload answered "ingesting" has its record written right after
    # the commit, which leaves the kill no window to orphan the blob in
    # (test_ingest.py kills that path).
    big = harness.simulate(samples=60000, features=24, classes=3, seed=21)
    kept = harness.simulate(samples=400, features=6, classes=3, seed=22)
    with harness.Server(name="killed mid-upload", args=["--ingest-async-kb", "0"]) as s:
        c = s.client().login_as("alice")
        ds = harness.upload_dataset(c, kept, name="kept")
        hits = 0
        t0 = time.monotonic()
        for mode in ("commit", "stream", "commit", "commit"):
            if not s.running():
                s.restart()
            hits += kill_mid_upload(s, big, mode)
            if time.monotonic() - t0 > 20:
                break
        keys, temps = stored_blobs(s.data_dir)
        refs = referenced_keys(s.data_dir)
        print("    (%d kills mid-ingest left %d unreferenced blobs and %d temp files, %.1f s)"
              % (hits, len(keys - refs), len(temps), time.monotonic() - t0))
        check(hits >= 2 and keys - refs, "the kills left orphans to sweep (the test reproduces the leak)",
              hits, sorted(keys - refs))
        s.args += ["--blob-grace-seconds", "0"]
        s.restart()
        wait_log(s, "orphan blobs removed")
        keys, temps = stored_blobs(s.data_dir)
        refs = referenced_keys(s.data_dir)
        check(keys == refs, "the blob directory holds exactly the blobs the records refer to",
              sorted(keys - refs), sorted(refs - keys))
        check(temps == [], "no writer's temporary file is left", temps)
        c = s.client().login_as("alice")
        for d in harness.list_items(c, API + "/datasets"):
            r = c.get(API + "/datasets/%d/download" % d["id"])
            check(r.status == 200, "dataset %d downloads" % d["id"], r)
            if d["id"] == ds["id"]:
                check(r.body == kept, "the dataset recorded before the kills is intact", len(r.body))
            else:
                check(r.body == big, "a dataset recorded between kills is intact", len(r.body))
        s.stop()


if __name__ == "__main__":
    harness.main(globals())
