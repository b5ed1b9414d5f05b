"""test_pipelines.py - pipelines: train on one dataset and diagnose another as one job.

What: POST /api/v1/jobs type "pipeline" on `healer simulate` data answers 202
and reaches succeeded with one progress over both steps (training within its
0.85 share, diagnosing above it), a diagnosis as its result whose model is
the one trained (both pointing back to the job); a cancel during training
leaves no model and no diagnosis; a dataset to diagnose that lacks a KPI of
the training dataset is refused at submission, naming it and the KPI; a
dataset to diagnose that went to the trash while the training ran fails the
diagnose step (failed_step "diagnosing", the error naming the dataset) and
the model trained is not kept; a rerun ("rerun_of") takes the previous
pipeline's learner and parameters with new datasets, and refuses parameters
of its own, a job that is not a pipeline and someone else's pipeline;
another user's datasets are 404 naming the field; GET /jobs?type=pipeline
lists only pipelines.

Why: a pipeline is one action for the user - one thing to follow and one
thing to stop - and must never leave half of its work behind.

Run: python3 tests/api/test_pipelines.py [test_name...]
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, has_fields, is_int  # noqa: E402

SERVER = {}
SMALL = {"rounds": 30, "early_stopping_rounds": 10, "validation_fraction": 0.2}
TRAINING_SHARE = 0.85
PIPELINE_FIELDS = ("phase", "step", "steps", "failed_step", "model_id", "diagnose_dataset_id", "algo",
                   "params", "adapt", "rerun_of")


def datasets(c, seed=1, rows=300):
    """A training dataset and one to diagnose: rows of one simulated system
    (the same fault signatures), split in two."""
    lines = harness.simulate(samples=600 + rows, features=8, classes=3, seed=seed).decode().splitlines()
    header, body = lines[0], lines[1:]
    train = harness.upload_dataset(c, ("\n".join([header] + body[:600]) + "\n").encode(),
                                   name="pl-train-%d" % seed)
    diag = harness.upload_dataset(c, ("\n".join([header] + body[600:]) + "\n").encode(),
                                  name="pl-diag-%d" % seed)
    return train, diag


def submit(c, body, status=202):
    r = c.post_json(API + "/jobs", dict({"type": "pipeline"}, **body))
    if status != 202:
        return r
    job = expect_json(r, 202, "POST /jobs (pipeline)")
    has_fields(job, harness.JOB_FIELDS, "JOB")
    has_fields(job["pipeline"], PIPELINE_FIELDS, "JOB.pipeline")
    return job


def made_by(c, path, job_id):
    return [x for x in harness.list_items(c, API + path) if x.get("job_id") == job_id]


def check_nothing_left(c, done):
    """A pipeline that did not succeed: no result, no model, no diagnosis."""
    check(done["result"] is None and done["pipeline"]["model_id"] is None, "no result, no model named", done)
    check(not made_by(c, "/models", done["id"]), "no model of the pipeline exists")
    check(not made_by(c, "/diagnoses", done["id"]), "no diagnosis of the pipeline exists")


def test_pipeline_end_to_end(c):
    c.login_as("alice")
    train, diag = datasets(c)
    job = submit(c, {"dataset_id": train["id"], "diagnose_dataset_id": diag["id"], "algo": "gbdt",
                     "params": SMALL})
    check(job["type"] == "pipeline" and job["state"] == "queued" and job["dataset_id"] == train["id"],
          "a queued pipeline on the training dataset", job)
    p = job["pipeline"]
    check(p["diagnose_dataset_id"] == diag["id"] and p["algo"] == "gbdt" and p["params"] == SMALL
          and p["adapt"] is False and p["rerun_of"] is None and p["steps"] == 2,
          "the pipeline view echoes its request", p)
    check(job["name"] == "pl-train-1 (gbdt) -> pl-diag-1", "the default name names both datasets", job)
    seen = []

    def note(j):
        seen.append((j["pipeline"]["phase"], j["progress"], j["state"]))
        return j["state"] in harness.FINAL_STATES
    done = harness.wait_job(c, job["id"], states=("queued", "running") + harness.FINAL_STATES, timeout=90,
                            pred=note)
    check(done["state"] == "succeeded", "the pipeline succeeds", done)
    check(done["progress"] == 1 and done["error"] is None, "progress 1, no error", done)
    training = [pr for ph, pr, st in seen if ph == "training" and st == "running"]
    diagnosing = [pr for ph, pr, st in seen if ph == "diagnosing" and st == "running"]
    check(all(pr <= TRAINING_SHARE + 1e-9 for pr in training), "training stays within its share", seen)
    check(all(pr >= TRAINING_SHARE - 1e-9 for pr in diagnosing), "diagnosing comes after it", seen)
    progress = [pr for _, pr, _ in seen]
    check(progress == sorted(progress), "one progress that never goes back", seen)
    p = done["pipeline"]
    check(p["phase"] == "diagnosing" and p["step"] == 2 and p["failed_step"] is None, "both steps ran", p)
    check(done["result"]["kind"] == "diagnosis" and is_int(done["diagnosis_id"])
          and done["result"]["id"] == done["diagnosis_id"], "the result is the diagnosis", done)
    check(is_int(p["model_id"]), "the pipeline names its model", p)
    check(done["attempts"] and done["attempts"][0]["params"]["rounds"] == 30, "the training's attempts", done)
    check(done["losses"]["train"], "the training's loss curve stays shown", done)
    d = expect_json(c.get(API + "/diagnoses/%d" % done["diagnosis_id"]), 200, "the diagnosis")
    check(d["model_id"] == p["model_id"] and d["job_id"] == job["id"] and d["rows"] == 300
          and d["name"] == "pl-diag-1", "the diagnosis: the model trained, this job, every row", d)
    check(d["metrics"] and d["metrics"]["accuracy"] > 0.5, "a labelled input is scored", d["metrics"])
    m = expect_json(c.get(API + "/models/%d" % p["model_id"]), 200, "the model")
    check(m["job_id"] == job["id"] and m["dataset_id"] == train["id"] and m["name"] == job["name"],
          "the model: this job, the training dataset, the pipeline's name", m)


def test_pipeline_cancel_during_training_leaves_nothing(c):
    c.login_as("alice")
    train = harness.upload_dataset(c, harness.long_data(), name="pl-long")
    diag = harness.upload_dataset(c, harness.simulate(samples=5000, features=20, classes=4, seed=8),
                                  name="pl-long-diag")
    job = submit(c, {"dataset_id": train["id"], "diagnose_dataset_id": diag["id"],
                     "params": dict(harness.LONG_PARAMS)})
    try:
        running = harness.wait_running(c, job["id"])
        check(running["pipeline"]["phase"] == "training" and running["progress"] <= TRAINING_SHARE,
              "it is training", running)
        done = harness.cancel_job(c, job["id"])
        check(done["state"] == "cancelled" and done["error"] == "cancelled by the user", "cancelled", done)
        check(done["pipeline"]["failed_step"] is None, "no step failed", done)
        check_nothing_left(c, done)
    finally:
        harness.cancel_quietly(c, job["id"])


def test_pipeline_diagnose_step_failure_drops_model(c):
    c.login_as("alice")
    train = harness.upload_dataset(c, harness.long_data(), name="pl-mid")
    diag = harness.upload_dataset(c, harness.simulate(samples=400, features=20, classes=4, seed=9),
                                  name="pl-gone")
    params = {"rounds": 1500, "early_stopping_rounds": 0, "learning_rate": 0.01}
    job = submit(c, {"dataset_id": train["id"], "diagnose_dataset_id": diag["id"], "params": params})
    try:
        harness.wait_running(c, job["id"], timeout=60)
        expect_json(c.delete(API + "/datasets/%d" % diag["id"]), 200, "trash the dataset to diagnose")
        done = harness.wait_job(c, job["id"], timeout=120)
        check(done["state"] == "failed", "the pipeline fails", done)
        check(done["pipeline"]["failed_step"] == "diagnosing", "the diagnose step failed", done)
        check(done["error"].startswith("diagnosing: ") and "pl-gone" in done["error"]
              and "trash" in done["error"], "the error names the step and the dataset", done)
        check_nothing_left(c, done)
    finally:
        harness.cancel_quietly(c, job["id"])


def test_pipeline_bad_second_file_refused(c):
    c.login_as("alice")
    train, _ = datasets(c, seed=3)
    data = harness.simulate(samples=200, features=8, classes=3, seed=4).decode()
    lines = data.splitlines()
    header = lines[0].split(",")
    lost = header[1]  # a KPI (column 0 is the sample id or a KPI; keep the label)
    keep = [i for i, h in enumerate(header) if h != lost]
    cut = "\n".join(",".join(row.split(",")[i] for i in keep) for row in lines) + "\n"
    bad = harness.upload_dataset(c, cut.encode(), name="pl-short")
    before = harness.list_ids(c, API + "/jobs")
    err = expect_error(submit(c, {"dataset_id": train["id"], "diagnose_dataset_id": bad["id"],
                                  "params": SMALL}, status=422), 422, "invalid_data")
    check(details(err).get("field") == "diagnose_dataset_id", "the field is diagnose_dataset_id", err)
    check("pl-short" in err["message"] and lost in err["message"], "the message names the file and the KPI",
          err)
    check(harness.list_ids(c, API + "/jobs") == before, "no job was made")


def test_pipeline_request_errors(c):
    c.login_as("alice")
    train, diag = datasets(c, seed=5)
    unlabelled = harness.upload_dataset(c, b"a,b\n1,2\n3,4\n5,6\n", name="pl-nolabel")
    before = harness.list_ids(c, API + "/jobs")
    cases = [
        ({"dataset_id": train["id"]}, 400, "bad_request", "diagnose_dataset_id"),
        ({"diagnose_dataset_id": diag["id"]}, 400, "bad_request", "dataset_id"),
        ({"dataset_id": train["id"], "diagnose_dataset_id": "x"}, 400, "bad_request", "diagnose_dataset_id"),
        ({"dataset_id": train["id"], "diagnose_dataset_id": diag["id"], "params": {"rounds": 0}},
         422, "invalid_params", "params.rounds"),
        ({"dataset_id": train["id"], "diagnose_dataset_id": diag["id"], "algo": "nope"},
         422, "invalid_params", "algo"),
        ({"dataset_id": train["id"], "diagnose_dataset_id": diag["id"], "adapt": "yes"},
         400, "bad_request", "adapt"),
        ({"dataset_id": unlabelled["id"], "diagnose_dataset_id": diag["id"]}, 422, "invalid_data", "dataset_id"),
        ({"dataset_id": train["id"], "diagnose_dataset_id": 987654}, 404, "not_found", "diagnose_dataset_id"),
        ({"dataset_id": 987654, "diagnose_dataset_id": diag["id"]}, 404, "not_found", "dataset_id"),
    ]
    for body, status, code, field in cases:
        err = expect_error(submit(c, body, status=status), status, code, "body %s" % body)
        check(details(err).get("field") == field, "details.field %r for %s" % (field, body), err)
    expect_json(c.delete(API + "/datasets/%d" % diag["id"]), 200)
    err = expect_error(submit(c, {"dataset_id": train["id"], "diagnose_dataset_id": diag["id"]}, status=404),
                       404, "not_found", "a trashed dataset to diagnose")
    check("trash" in err["message"], "the message says it is in the trash", err)
    check(harness.list_ids(c, API + "/jobs") == before, "refused pipelines make no job")


def test_pipeline_rerun_on_new_files(c):
    c.login_as("alice")
    train, diag = datasets(c, seed=11)
    params = {"rounds": 20, "early_stopping_rounds": 0, "max_depth": 3}
    first = submit(c, {"dataset_id": train["id"], "diagnose_dataset_id": diag["id"], "algo": "gbdt",
                       "params": params, "adapt": True, "name": "nightly"})
    first = harness.wait_job(c, first["id"], timeout=90)
    check(first["state"] == "succeeded", "the first pipeline succeeds", first)
    train2, diag2 = datasets(c, seed=12, rows=120)
    again = submit(c, {"rerun_of": first["id"], "dataset_id": train2["id"], "diagnose_dataset_id": diag2["id"]})
    p = again["pipeline"]
    check(p["rerun_of"] == first["id"] and p["algo"] == "gbdt" and p["params"] == params and p["adapt"] is True,
          "the rerun takes the learner, parameters and adapt of the first", p)
    check(again["dataset_id"] == train2["id"] and p["diagnose_dataset_id"] == diag2["id"],
          "on the new datasets", again)
    done = harness.wait_job(c, again["id"], timeout=90)
    check(done["state"] == "succeeded", "the rerun succeeds", done)
    check(done["attempts"][0]["params"]["rounds"] == 20 and done["attempts"][0]["params"]["max_depth"] == 3,
          "it trained with the first pipeline's parameters", done["attempts"])
    d = expect_json(c.get(API + "/diagnoses/%d" % done["diagnosis_id"]), 200, "the rerun's diagnosis")
    check(d["rows"] == 120 and d["model_id"] == done["pipeline"]["model_id"]
          and d["model_id"] != first["pipeline"]["model_id"], "a new model diagnosed the new file", d)
    check(d["adapt"] is not None, "adapt was asked for again", d)
    # What a rerun refuses.
    base = {"rerun_of": first["id"], "dataset_id": train2["id"], "diagnose_dataset_id": diag2["id"]}
    for extra, field in (({"params": {"rounds": 5}}, "params"), ({"algo": "forest"}, "algo"),
                         ({"adapt": False}, "adapt")):
        err = expect_error(submit(c, dict(base, **extra), status=422), 422, "invalid_params")
        check(details(err).get("field") == field, "a rerun refuses its own %s" % field, err)
    trained = harness.create_job(c, train["id"], {"rounds": 5})
    err = expect_error(submit(c, dict(base, rerun_of=trained["id"]), status=422), 422, "invalid_data")
    check(details(err).get("field") == "rerun_of" and "not a pipeline" in err["message"],
          "only a pipeline can be rerun", err)
    err = expect_error(submit(c, dict(base, rerun_of=987654), status=404), 404, "not_found")
    check(details(err).get("field") == "rerun_of", "an unknown pipeline is 404 on rerun_of", err)
    bob = c.new().login_as("bob")
    b_train, b_diag = datasets(bob, seed=13)
    err = expect_error(bob.post_json(API + "/jobs", {"type": "pipeline", "rerun_of": first["id"],
                                                     "dataset_id": b_train["id"],
                                                     "diagnose_dataset_id": b_diag["id"]}), 404, "not_found")
    check(details(err).get("field") == "rerun_of", "someone else's pipeline is 404", err)
    harness.wait_job(c, trained["id"], timeout=60)


def test_pipeline_other_users_datasets_404(c):
    alice = c.login_as("alice")
    a_train, a_diag = datasets(alice, seed=21)
    bob = c.new().login_as("bob")
    b_train, b_diag = datasets(bob, seed=22)
    before = harness.list_ids(bob, API + "/jobs")
    for body, field in (({"dataset_id": a_train["id"], "diagnose_dataset_id": b_diag["id"]}, "dataset_id"),
                        ({"dataset_id": b_train["id"], "diagnose_dataset_id": a_diag["id"]},
                         "diagnose_dataset_id")):
        err = expect_error(bob.post_json(API + "/jobs", dict({"type": "pipeline", "params": SMALL}, **body)),
                           404, "not_found", "bob names alice's dataset")
        check(details(err).get("field") == field, "the 404 names %s" % field, err)
    check(harness.list_ids(bob, API + "/jobs") == before, "no job was made")
    job = submit(alice, {"dataset_id": a_train["id"], "diagnose_dataset_id": a_diag["id"], "params": SMALL})
    expect_error(bob.get(API + "/jobs/%d" % job["id"]), 404, "not_found", "bob reads alice's pipeline")
    expect_error(bob.post_json(API + "/jobs/%d/cancel" % job["id"], {}), 404, "not_found",
                 "bob cancels alice's pipeline")
    harness.wait_job(alice, job["id"], timeout=90)


def test_jobs_list_by_type(c):
    c.login_as("alice")
    train, diag = datasets(c, seed=31)
    pipe = submit(c, {"dataset_id": train["id"], "diagnose_dataset_id": diag["id"], "params": SMALL})
    trained = harness.create_job(c, train["id"], {"rounds": 5})
    items = harness.list_items(c, API + "/jobs", "type=pipeline&limit=1000")
    check(items and all(j["type"] == "pipeline" for j in items), "only pipelines are listed", items)
    ids = [j["id"] for j in items]
    check(pipe["id"] in ids and trained["id"] not in ids, "the pipeline, not the training", ids)
    check(all("pipeline" in j for j in items), "each with its pipeline view", items)
    err = expect_error(c.get(API + "/jobs?type=bogus"), 422, "invalid_params")
    check(details(err).get("field") == "type", "an unknown type is refused", err)
    plain = harness.get_job(c, trained["id"])
    check("pipeline" not in plain, "a training has no pipeline view", plain)
    for j in (pipe, trained):
        harness.wait_job(c, j["id"], timeout=90)


if __name__ == "__main__":
    harness.main(globals())
