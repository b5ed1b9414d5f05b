"""test_ingest.py - large uploads ingested by a job, and what waits for them.

What: an upload over --ingest-async-kb is answered 201 "ingesting" at
once, becomes "ready" with the profile, counts and download a synchronous
upload of the same bytes gives; a training queued on a dataset still
ingesting is not claimed until the ingestion ends (a free worker takes the
ingestion, not the training that the fair claim would otherwise pick),
then runs; a bad large file ends "failed" with the engine's line and
column, keeps no file (download 409), and the training queued on it fails
naming that reason (a new one is refused with it); a server killed with
SIGKILL in the middle of an ingestion finishes it after the restart (the
lease rules re-queue its job); a cancelled ingestion fails its dataset.
Only the engine's rejection of the content deletes the file: an ingestion
that fails for another reason (here a worker whose --max-upload-mb is
smaller) or is cancelled fails the dataset keeping its file, downloadable,
and says so. Ingestions are not the user's jobs: a full job quota does not
refuse a large upload. A dataset name that is not valid UTF-8 or holds
control characters is refused naming the field, on both upload paths.
A failed ingestion whose file was kept is tried again in place (POST
/datasets/{id}/ingest: 202 ingesting, then ready, and it trains); a ready
dataset, one still ingesting and one whose file the engine refused are
409 saying why, another user's and a trashed one 404, and of two retries
at once exactly one is taken (one new ingest job).

Why: reading and profiling a large CSV takes seconds of CPU; on the HTTP
thread it held the client and a connection thread for as long. Jobs that
need the rows must wait without holding a worker, and say why when the
file turns out bad.

Run: python3 tests/api/test_ingest.py [test_name...]
"""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_error, expect_json  # noqa: E402

# 1,000 rows x 50 KPIs: 415 KB, over the 64 KiB threshold the servers here
# use, small enough to keep the suite fast.
THRESHOLD = ("--ingest-async-kb", "64")


def big_data(seed=5, samples=1000):
    return harness.simulate(samples=samples, features=50, classes=3, seed=seed)


def small_data():
    """Under the threshold: ingested at once."""
    return harness.simulate(samples=60, features=4, classes=2, seed=3)


def dataset(c, ds_id):
    return expect_json(c.get(API + "/datasets/%d" % ds_id), 200, "GET dataset")


def wait_ingested(c, ds_id, timeout=30):
    return harness.wait_until(
        lambda: (lambda d: d if d["state"] != "ingesting" else None)(dataset(c, ds_id)),
        timeout, "dataset %d to leave 'ingesting'" % ds_id)


def upload(c, data, name):
    r = c.upload(API + "/datasets", {"name": name}, {"file": (name, data)})
    return expect_json(r, 201, "upload of %s" % name)


def occupy_worker(c, ds_id):
    """A training that runs for minutes on dataset ds_id (cancel it)."""
    job = harness.create_job(c, ds_id, dict(harness.LONG_PARAMS), name="long")
    return harness.wait_running(c, job["id"])


@harness.timeout(90)
def test_large_upload_matches_synchronous():
    data = big_data()
    with harness.Server(name="async", args=THRESHOLD) as s:
        c = s.client().login_as("alice")
        t0 = time.time()
        ds = upload(c, data, "big.csv")
        answered = time.time() - t0
        check(ds["state"] == "ingesting" and ds["ingest_error"] is None and ds["rows"] == 0
              and ds["ingest_progress"] == 0 and ds["trainable"] is False,
              "a large upload is answered ingesting, not trainable yet", ds)
        done = wait_ingested(c, ds["id"])
        check(done["state"] == "ready" and "ingest_progress" not in done and done["trainable"] is True,
              "the ingestion ends ready", done)
        listed = [d for d in harness.list_items(c, API + "/datasets") if d["id"] == ds["id"]]
        check(listed and listed[0]["state"] == "ready", "the list shows the state", listed)
        async_file = c.get(API + "/datasets/%d/download" % ds["id"])
        jobs = [j for j in harness.list_items(c, API + "/jobs") if j["type"] == "ingest"]
        check(len(jobs) == 1 and jobs[0]["state"] == "succeeded" and jobs[0]["progress"] == 1,
              "one ingest job, succeeded", jobs)
    with harness.Server(name="sync", args=("--ingest-async-kb", "0")) as s:
        c = s.client().login_as("alice")
        sync = upload(c, data, "big.csv")
        check(sync["state"] == "ready", "with no threshold the upload is ingested at once", sync)
        sync = dataset(c, sync["id"])
        sync_file = c.get(API + "/datasets/%d/download" % sync["id"])
    for key in ("name", "size_bytes", "rows", "features", "classes", "kind", "profile", "trainable"):
        check(done[key] == sync[key], "%s: the ingest job gives what the upload gives" % key,
              done[key], sync[key])
    check(async_file.status == 200 and async_file.body == sync_file.body == data,
          "both downloads are the uploaded bytes", async_file)
    print("    async answer %.0f ms for %d bytes" % (answered * 1000, len(data)))


@harness.timeout(120)
def test_training_waits_for_ingestion():
    # Two workers, both busy with alice's long trainings; alice uploads a
    # large file (its ingestion queued) and the admin queues a training on
    # it. One long training cancelled frees a worker: the fair claim would
    # pick the admin's job first (alice has one running, the admin none),
    # but it waits for the dataset, so the ingestion runs, then it does.
    with harness.Server(name="waits", args=THRESHOLD + ("--workers", "2")) as s:
        alice = s.client().login_as("alice")
        admin = s.client().login_as("admin")
        long_ds = harness.upload_dataset(alice, harness.long_data(), name="long")
        long1 = occupy_worker(alice, long_ds["id"])
        long2 = occupy_worker(alice, long_ds["id"])
        try:
            ds = upload(alice, big_data(seed=6), "wait.csv")
            job = harness.create_job(admin, ds["id"], {"rounds": 20}, name="after ingest")
            check(dataset(alice, ds["id"])["state"] == "ingesting", "still ingesting when queued")
            harness.cancel_job(alice, long2["id"])
            done = harness.wait_job(admin, job["id"], timeout=60)
            check(done["state"] == "succeeded", "the training runs once the dataset is ready", done)
            ready = dataset(alice, ds["id"])
            check(ready["state"] == "ready", "the dataset was ingested", ready)
            ingest = [j for j in harness.list_items(alice, API + "/jobs") if j["type"] == "ingest"]
            check(ingest and ingest[0]["finished_at"] <= done["started_at"],
                  "the training started after the ingestion ended", ingest, done)
        finally:
            harness.cancel_quietly(alice, long1["id"])
            harness.cancel_quietly(alice, long2["id"])


@harness.timeout(120)
def test_bad_large_file_fails_with_reason():
    lines = big_data(seed=7).decode().splitlines()
    cells = lines[900].split(",")
    cells[3] = "not-a-number"
    lines[900] = ",".join(cells)
    bad = ("\n".join(lines) + "\n").encode()
    with harness.Server(name="bad", args=THRESHOLD + ("--workers", "1")) as s:
        c = s.client().login_as("alice")
        long_ds = harness.upload_dataset(c, harness.long_data(), name="long")
        long = occupy_worker(c, long_ds["id"])
        try:
            ds = upload(c, bad, "bad.csv")
            job = harness.create_job(c, ds["id"], {"rounds": 20}, name="on bad")
        finally:
            harness.cancel_quietly(c, long["id"])
        failed = wait_ingested(c, ds["id"])
        check(failed["state"] == "failed" and "bad.csv:901" in (failed["ingest_error"] or "")
              and "not-a-number" in failed["ingest_error"],
              "the ingestion fails naming the line and the value", failed)
        check(failed["trainable"] is False, "a failed dataset is not trainable", failed)
        r = c.get(API + "/datasets/%d/download" % ds["id"])
        expect_error(r, 409, None, "a failed dataset keeps no file")
        check(failed["ingest_error"] in json.loads(r.body)["error"]["message"], "the download says why", r)
        done = harness.wait_job(c, job["id"], timeout=30)
        check(done["state"] == "failed" and "could not be ingested" in done["error"]
              and "bad.csv:901" in done["error"],
              "the training queued on it fails naming the dataset's reason", done)
        r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "params": {"rounds": 5}})
        expect_error(r, 422, None, "a new training on a failed dataset")
        check("bad.csv:901" in r.text, "the refusal names the reason", r)
        r = c.post_json(API + "/models/leaderboard", {"dataset_id": ds["id"]})
        expect_error(r, 422, None, "a leaderboard on a failed dataset")
        check("could not be ingested" in r.text, "the leaderboard says why", r)


@harness.timeout(90)
def test_cancelled_ingestion_fails_the_dataset():
    # An ingest job cancelled while queued never runs: its dataset must not
    # stay "ingesting" for good.
    with harness.Server(name="cancel", args=THRESHOLD + ("--workers", "1")) as s:
        c = s.client().login_as("alice")
        long_ds = harness.upload_dataset(c, harness.long_data(), name="long")
        long = occupy_worker(c, long_ds["id"])
        try:
            data = big_data(seed=9)
            ds = upload(c, data, "cancel.csv")
            ingest = [j for j in harness.list_items(c, API + "/jobs")
                      if j["type"] == "ingest" and j["dataset_id"] == ds["id"]]
            check(len(ingest) == 1 and ingest[0]["state"] == "queued", "its ingestion waits for the worker", ingest)
            done = harness.cancel_job(c, ingest[0]["id"])
            check(done["state"] == "cancelled", "the queued ingestion is cancelled", done)
            d = dataset(c, ds["id"])
            check(d["state"] == "failed" and "cancelled" in d["ingest_error"]
                  and "file is kept" in d["ingest_error"], "its dataset failed, saying so", d)
            r = c.get(API + "/datasets/%d/download" % ds["id"])
            check(r.status == 200 and r.body == data, "the file was not at fault: kept", r)
        finally:
            harness.cancel_quietly(c, long["id"])


@harness.timeout(150)
def test_sigkill_mid_ingestion_completes_after_restart():
    data = big_data(seed=8, samples=40000)  # ~17 MB: a few tenths of a second to ingest
    with harness.Server(name="killed", args=THRESHOLD + ("--job-lease-seconds", "2",
                                                         "--max-upload-mb", "64")) as s:
        c = s.client().login_as("alice")
        ds = None
        for attempt in range(3):
            ds = upload(c, data, "kill.csv")
            deadline = time.time() + 20
            seen = None
            while time.time() < deadline:
                d = dataset(c, ds["id"])
                if d["state"] != "ingesting" or d.get("ingest_progress", 0) > 0:
                    seen = d
                    break
                time.sleep(0.005)
            if seen and seen["state"] == "ingesting":
                s.kill()
                break
            ds = None  # finished before we saw it running: try again
        check(ds is not None, "an ingestion was caught running")
        s.restart()
        c = s.client().login_as("alice")
        done = wait_ingested(c, ds["id"], timeout=60)
        check(done["state"] == "ready" and done["rows"] == 40000, "the ingestion completes after the restart", done)
        jobs = [j for j in harness.list_items(c, API + "/jobs")
                if j["type"] == "ingest" and j["dataset_id"] == ds["id"]]
        check(jobs and jobs[0]["state"] == "succeeded" and jobs[0]["restarts"] == 1,
              "its job was taken back once and finished", jobs)
        r = c.get(API + "/datasets/%d/download" % ds["id"])
        check(r.status == 200 and r.body == data, "the file is whole", r)


@harness.timeout(90)
def test_failure_not_the_files_fault_keeps_it():
    # Uploaded while no worker runs (limit 2 MiB); the worker that then
    # takes the ingestion allows 1 MiB: not the file's fault.
    data = big_data(seed=11, samples=3000)
    check(1 << 20 < len(data) < 2 << 20, "the file is between 1 and 2 MiB", len(data))
    with harness.Server(name="kept", args=THRESHOLD + ("--no-workers", "--max-upload-mb", "2")) as s:
        c = s.client().login_as("alice")
        ds = upload(c, data, "kept.csv")
        s.stop()
        s.args = list(THRESHOLD) + ["--max-upload-mb", "1"]
        s.restart()
        c = s.client().login_as("alice")
        failed = wait_ingested(c, ds["id"])
        check(failed["state"] == "failed" and "file is kept" in (failed["ingest_error"] or ""),
              "the dataset fails saying its file is kept", failed)
        r = c.get(API + "/datasets/%d/download" % ds["id"])
        check(r.status == 200 and r.body == data, "the file can be downloaded to upload again", r)


def retry(c, ds_id):
    """POST /datasets/{id}/ingest (no body)."""
    return c.request("POST", API + "/datasets/%d/ingest" % ds_id)


def ingest_jobs(c, ds_id):
    return [j for j in harness.list_items(c, API + "/jobs")
            if j["type"] == "ingest" and j["dataset_id"] == ds_id]


def upload_and_cancel(c, data, name):
    """A large upload whose queued ingestion is cancelled (the worker is
    busy): its dataset fails keeping the file."""
    ds = upload(c, data, name)
    harness.cancel_job(c, ingest_jobs(c, ds["id"])[0]["id"])
    failed = dataset(c, ds["id"])
    check(failed["state"] == "failed" and failed["file_kept"] is True
          and "try the ingestion again" in failed["ingest_error"],
          "a cancelled ingestion fails keeping the file, pointing at the retry", failed)
    return failed


@harness.timeout(150)
def test_retry_failed_ingestion_in_place():
    lines = big_data(seed=16).decode().splitlines()
    cells = lines[500].split(",")
    cells[2] = "not-a-number"
    lines[500] = ",".join(cells)
    bad = ("\n".join(lines) + "\n").encode()
    with harness.Server(name="retry", args=THRESHOLD + ("--workers", "1")) as s:
        alice = s.client().login_as("alice")
        bob = s.client().login_as("bob")
        admin = s.client().login_as("admin")
        long_ds = harness.upload_dataset(alice, harness.long_data(), name="long")
        long = occupy_worker(alice, long_ds["id"])
        try:
            data = big_data(seed=14)
            ds = upload_and_cancel(alice, data, "retry.csv")
            expect_error(retry(bob, ds["id"]), 404, "not_found", "bob's retry of alice's dataset")
            again = expect_json(retry(alice, ds["id"]), 202, "the retry")
            check(again["id"] == ds["id"] and again["state"] == "ingesting"
                  and again["ingest_error"] is None and again["ingest_progress"] == 0
                  and again["file_kept"] is True and again["name"] == "retry.csv",
                  "the dataset is ingesting again, as GET shows it", again)
            err = expect_error(retry(alice, ds["id"]), 409, "conflict", "a retry while it ingests")
            check("already being ingested" in err["message"], "the refusal says why", err)
            jobs = ingest_jobs(alice, ds["id"])
            check(len(jobs) == 2 and sorted(j["state"] for j in jobs) == ["cancelled", "queued"],
                  "one new ingest job, queued", jobs)

            # Two retries at once (the admin's and alice's): one is taken.
            race = upload_and_cancel(alice, big_data(seed=15), "race.csv")
            start = threading.Barrier(2)
            answers = []

            def one(c):
                start.wait()
                answers.append(retry(c, race["id"]))
            threads = [threading.Thread(target=one, args=(c,)) for c in (alice, admin)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            check(sorted(r.status for r in answers) == [202, 409], "exactly one retry is taken",
                  [(r.status, r.text) for r in answers])
            check(len([j for j in ingest_jobs(alice, race["id"]) if j["state"] == "queued"]) == 1,
                  "and one ingest job queued", ingest_jobs(alice, race["id"]))

            # In the trash: as for the other dataset routes, not found.
            trashed = upload_and_cancel(alice, big_data(seed=17), "trashed.csv")
            expect_json(alice.delete(API + "/datasets/%d" % trashed["id"]), 200, "trash it")
            err = expect_error(retry(alice, trashed["id"]), 404, "not_found", "a retry in the trash")
            check("trash" in err["message"], "the refusal says it is in the trash", err)

            refused = upload(alice, bad, "bad.csv")
        finally:
            harness.cancel_quietly(alice, long["id"])
        ready = wait_ingested(alice, ds["id"], timeout=60)
        check(ready["state"] == "ready" and ready["rows"] == 1000 and ready["trainable"] is True,
              "the retried ingestion ends ready", ready)
        r = alice.get(API + "/datasets/%d/download" % ds["id"])
        check(r.status == 200 and r.body == data, "its file is the uploaded one", r)
        job = harness.create_job(alice, ds["id"], {"rounds": 5}, name="after retry")
        done = harness.wait_job(alice, job["id"], timeout=60)
        check(done["state"] == "succeeded", "the dataset trains", done)
        err = expect_error(retry(alice, ds["id"]), 409, "conflict", "a retry of a ready dataset")
        check("is ready" in err["message"], "the refusal says it is ready", err)

        failed = wait_ingested(alice, refused["id"], timeout=60)
        check(failed["state"] == "failed" and failed["file_kept"] is False
              and "bad.csv:501" in failed["ingest_error"],
              "the engine refused the file: deleted", failed)
        err = expect_error(retry(alice, refused["id"]), 409, "conflict", "a retry of a refused file")
        check("upload a corrected file" in err["message"] and "bad.csv:501" in err["message"],
              "the refusal says to upload a corrected file, and why it was refused", err)
        wait_ingested(alice, race["id"], timeout=60)


@harness.timeout(60)
def test_upload_not_refused_by_job_quota():
    # alice's share of the queue is full (one queued job, nothing runs):
    # her large upload is still taken, its ingestion queued.
    with harness.Server(name="quota", args=THRESHOLD + ("--no-workers", "--max-queued-jobs-per-user", "1")) as s:
        c = s.client().login_as("alice")
        small = harness.upload_dataset(c, small_data(), name="small")
        harness.create_job(c, small["id"], {"rounds": 5}, name="queued")
        r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": small["id"], "params": {"rounds": 5}})
        expect_error(r, 429, None, "her share of the queue is full")
        ds = upload(c, big_data(seed=12), "quota.csv")
        check(ds["state"] == "ingesting", "the large upload is taken all the same", ds)
        # A retry is her request, not an upload's due: it counts.
        harness.cancel_job(c, ingest_jobs(c, ds["id"])[0]["id"])
        check(dataset(c, ds["id"])["state"] == "failed", "the cancelled ingestion failed", dataset(c, ds["id"]))
        expect_error(retry(c, ds["id"]), 429, None, "a retry while her share of the queue is full")
        check(len(ingest_jobs(c, ds["id"])) == 1, "and no job was queued for it", ingest_jobs(c, ds["id"]))
        harness.cancel_job(c, [j for j in harness.list_items(c, API + "/jobs")
                               if j["state"] == "queued"][0]["id"])
        again = expect_json(retry(c, ds["id"]), 202, "the retry once her share has room")
        check(again["state"] == "ingesting", "the dataset is ingesting again", again)


@harness.timeout(60)
def test_bad_dataset_names_refused():
    small = small_data()
    with harness.Server(name="names", args=THRESHOLD) as s:
        c = s.client().login_as("alice")
        for data, path in ((small, "small"), (big_data(seed=13), "large")):
            for name, why in ((b"bad\xff\xfename", "not valid UTF-8"),
                              (b"tab\there", "control characters"),
                              (b"x" * 300, "at most 255")):
                r = c.upload(API + "/datasets", {"name": name}, {"file": ("f.csv", data)})
                expect_error(r, 422, None, "%s upload named %r" % (path, name[:20]))
                body = json.loads(r.body)["error"]
                check(body["details"].get("field") == "name", "the error names the field", body)
                check(why in body["message"], "the error says what is wrong (%s)" % why, body)
        names = [d["name"] for d in harness.list_items(c, API + "/datasets")]
        check(names == [], "no dataset was made", names)


if __name__ == "__main__":
    harness.main(globals())
