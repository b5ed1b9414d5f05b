"""test_jobs.py - training jobs: queue, run, progress, cancel, bad parameters.

What: POST /api/v1/jobs on an uploaded dataset with small parameters answers
202 queued and the job reaches succeeded with progress 1, a model_id, loss
curves and a finished_at; the list is newest first; unknown or wrongly
typed or out-of-range parameters answer 422 invalid_params naming the field
(and create no job); an unknown or trashed dataset is 404, an unlabelled one
422 invalid_data; a long training (100000 rounds, no early stopping, 5000 x
20) is cancelled within a few seconds and its round stops advancing;
cancelling a finished job is 409. While a long training runs, health, the
dataset list, an upload and a job poll each answer in under a second.

Why: training is the slow, CPU-heavy part of the platform; the API must
stay responsive while it runs and a user must be able to stop it. Every
long job is cancelled in a finally block so one failure cannot leave the
worker busy for the tests after it.

Run: python3 tests/api/test_jobs.py [test_name...]
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, has_fields, is_int, is_num  # noqa: E402

SERVER = {}
SMALL = {"rounds": 30, "early_stopping_rounds": 10, "validation_fraction": 0.2}


def small_dataset(c, seed=1):
    return harness.upload_dataset(c, harness.simulate(samples=600, features=8, classes=3, seed=seed), name="jobs")


def test_train_small_succeeds(c):
    c.login_as("alice")
    ds = small_dataset(c)
    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt",
                                     "name": "small", "params": SMALL})
    job = expect_json(r, 202, "POST /jobs")
    has_fields(job, harness.JOB_FIELDS, "JOB")
    check(job["state"] == "queued", "a new job is queued", r)
    check(job["type"] == "train" and job["dataset_id"] == ds["id"] and job["name"] == "small",
          "the job echoes type, dataset and name", r)
    check(job["owner_id"] == c.user["id"], "the job belongs to its creator", r)
    check(job["model_id"] is None and job["diagnosis_id"] is None and job["error"] is None
          and job["result"] is None, "a queued job has no model, diagnosis, result or error", r)
    check(job["cancel_requested"] is False and job["restarts"] == 0, "fresh job: no cancel, no restarts", r)
    check(is_num(job["progress"]) and 0 <= job["progress"] <= 1, "progress in 0..1", r)
    check(is_int(job["created_at"]) and job["finished_at"] is None, "created_at set, finished_at null", r)
    done = harness.wait_job(c, job["id"], timeout=60)
    check(done["state"] == "succeeded", "the small training succeeds", done)
    check(done["progress"] == 1, "a succeeded job has progress 1", done)
    check(is_int(done["model_id"]), "a succeeded train job has a model_id", done)
    check(done["result"] == {"kind": "model", "id": done["model_id"]} and done["diagnosis_id"] is None,
          "its result is that model", done)
    check(done["error"] is None, "no error on success", done)
    check(is_int(done["started_at"]) and is_int(done["finished_at"])
          and done["created_at"] <= done["started_at"] <= done["finished_at"],
          "created_at <= started_at <= finished_at", done)
    check(is_num(done["elapsed_seconds"]) and done["elapsed_seconds"] >= 0, "elapsed_seconds is a number", done)
    check(is_int(done["round"]) and is_int(done["rounds"]) and 1 <= done["round"] <= max(done["rounds"], 30),
          "round and rounds are integers, round within rounds", done)
    losses = done["losses"]
    check(isinstance(losses, dict) and isinstance(losses.get("train"), list) and losses["train"],
          "losses.train is a non-empty array", done)
    check(isinstance(losses.get("valid"), list) and losses["valid"],
          "losses.valid is a non-empty array (early stopping uses a hold-out)", done)
    check(all(is_num(x) for x in losses["train"] + losses["valid"]), "losses are numbers", losses)
    check(len(losses["train"]) <= 30, "at most 30 rounds of training loss", losses)
    check(isinstance(done["attempts"], list) and len(done["attempts"]) >= 1, "attempts lists the run", done)
    first = done["attempts"][0]
    check(isinstance(first.get("params"), dict) and first.get("error") is None, "attempt: params, no error", first)
    if "rounds" in first["params"]:
        check(first["params"]["rounds"] == 30, "the attempt ran with rounds 30", first)
    model = expect_json(c.get(API + "/models/%d" % done["model_id"]), 200, "the job's model")
    check(model["job_id"] == job["id"] and model["dataset_id"] == ds["id"], "the model points back to job and dataset", model)


def test_progress_says_which_rounds_and_keeps_fold_curves(c):
    # Cross-validation with early stopping and refits: the job says which
    # fold and phase its round counts, has no estimate before a basis, and
    # keeps each finished fold's curve and the refit's apart.
    c.login_as("alice")
    ds = harness.upload_dataset(c, harness.simulate(samples=4000, features=10, classes=3, seed=5), name="cv")
    job = expect_json(c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt",
                                                  "params": {"rounds": 3000, "early_stopping_rounds": 5,
                                                             "cv_folds": 3}}), 202)
    seen = []
    while True:
        j = expect_json(c.get(API + "/jobs/%d" % job["id"]), 200)
        if j["state"] == "running" and j["phase"]:
            seen.append(j)
        if j["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    check(j["state"] == "succeeded", "the training succeeds", j)
    check(seen, "the job was seen running with a phase", j)
    for s in seen:
        check(s["phase"] in ("early_stopping", "refit") and s["folds"] == 3, "phase and folds", s)
        if s["stage"] == "cv":
            check(1 <= s["fold"] <= 3, "a cross-validation fold is named", s)
        if s["phase"] == "early_stopping" and s["stage"] == "cv" and s["fold"] == 1:
            check(s["eta_seconds"] is None, "no estimate while the first fold stops early", s)
        if s["stage"] == "cv" and s["fold"] >= 2:
            check(is_num(s["eta_seconds"]), "an estimate once a fold is done", s)
    progress = [s["progress"] for s in seen]
    check(progress == sorted(progress), "progress never goes back", progress)
    folds = j["losses"]["folds"]
    check([f["fold"] for f in folds] == [1, 2, 3] and all(f["loss"] == "valid" and f["points"] for f in folds),
          "one hold-out curve per fold", folds)
    check(all(p[0] >= 1 and is_num(p[1]) for f in folds for p in f["points"]), "[round, loss] points", folds)
    check(j["stage"] == "refit" and j["phase"] == "refit" and j["losses"]["refit"]
          and len(j["losses"]["refit"]) == j["rounds"], "the final refit's curve is apart, one point per round", j)
    check(j["losses"]["train"] and j["losses"]["valid"], "the final fit's curve stays", j)


def test_job_defaults_without_params(c):
    c.login_as("alice")
    ds = harness.upload_dataset(c, harness.simulate(samples=200, features=4, classes=2, seed=4), name="defaults")
    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"]})
    job = expect_json(r, 202, "a job without algo and params")
    check(job["name"] == "defaults (gbdt)", "the default name is the dataset's and the default algo's", job)
    done = harness.wait_job(c, job["id"], timeout=90)
    check(done["state"] == "succeeded", "training with the default parameters succeeds", done)
    params = done["attempts"][0]["params"]
    check(params.get("algo") == "gbdt" and params.get("learning_rate") == 0.05 and params.get("cv_folds") == 0
          and params.get("class_weight") == "balanced" and "threads" in params,
          "the attempt lists every parameter, defaults included", params)


def test_jobs_list_newest_first(c):
    c.login_as("alice")
    ds = small_dataset(c, seed=2)
    j1 = harness.create_job(c, ds["id"], {"rounds": 5}, name="first")
    j2 = harness.create_job(c, ds["id"], {"rounds": 5}, name="second")
    items = harness.list_items(c, API + "/jobs")
    ids = [j["id"] for j in items]
    check(j1["id"] in ids and j2["id"] in ids, "both jobs are listed", ids)
    check(ids.index(j2["id"]) < ids.index(j1["id"]), "the newer job comes first", ids)
    created = [j["created_at"] for j in items]
    check(created == sorted(created, reverse=True), "the list is ordered newest first", created)
    for j in (j1, j2):
        harness.wait_job(c, j["id"], timeout=60)


PARAM_CASES = [
    ({"bogus": 1}, "bogus"),
    ({"rounds": 0}, "rounds"),
    ({"rounds": -5}, "rounds"),
    ({"rounds": 100001}, "rounds"),
    ({"rounds": "30"}, "rounds"),
    ({"learning_rate": "abc"}, "learning_rate"),
    ({"learning_rate": None}, "learning_rate"),
    ({"max_depth": "deep"}, "max_depth"),
    ({"subsample": 1.5}, "subsample"),
    ({"colsample": "half"}, "colsample"),
    ({"max_bins": 1}, "max_bins"),
    ({"max_bins": 256}, "max_bins"),
    ({"early_stopping_rounds": "ten"}, "early_stopping_rounds"),
    ({"validation_fraction": "x"}, "validation_fraction"),
    ({"class_weight": "x"}, "class_weight"),
    ({"class_weight": 1}, "class_weight"),
    ({"cv_folds": 1}, "cv_folds"),
    ({"cv_folds": 21}, "cv_folds"),
    ({"learning_rate": 2}, "learning_rate"),        # [0.0001, 1], as the CLI's --lr
    ({"learning_rate": 0.00005}, "learning_rate"),
    ({"validation_fraction": 0.005}, "validation_fraction"),
    ({"max_depth": 0}, "max_depth"),                # unlimited depth needs max_leaves
    ({"threads": 2}, "threads"),                    # the server's --train-threads, not a parameter
    ({"seed": "abc"}, "seed"),
    ({"lambda": [1]}, "lambda"),
]


def field_matches(field, key):
    return field in (key, "params." + key, "params/" + key)


def test_invalid_params_422(c):
    c.login_as("alice")
    ds = small_dataset(c, seed=3)
    before = harness.list_ids(c, API + "/jobs")
    cases, accepted = harness.Cases(), []
    for params, key in PARAM_CASES:
        with cases("params %s" % params):
            r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt", "params": params})
            if r.status == 202:
                accepted.append(r.json["id"])
            err = expect_error(r, 422, "invalid_params")
            check(field_matches(details(err).get("field"), key), "details.field should name %r" % key, r)
    for job_id in accepted:  # do not leave wrongly accepted jobs in the queue
        harness.cancel_quietly(c, job_id)
    cases.done()
    check(harness.list_ids(c, API + "/jobs") == before, "refused jobs must not be created")


def test_meaningless_params_422(c):
    # Inside what a double holds, meaningless for training (issue 12: a
    # learning rate of 5e-324 or an L2 of 1e308 trained to a macro-F1 of
    # 0.03): refused naming the parameter and its range, the same range
    # GET /algorithms lists (the engine's table).
    c.login_as("alice")
    ds = small_dataset(c, seed=4)
    algos = {a["name"]: {p["name"]: p for p in a["params"]}
             for a in expect_json(c.get(API + "/algorithms"), 200)["items"]}
    cases, accepted = harness.Cases(), []
    for algo, name, value, rng in (("gbdt", "learning_rate", 5e-324, "[0.0001, 1]"),
                                   ("gbdt", "lambda", 1e308, "[0, 10000]"),
                                   ("mlp", "learning_rate", 5e-324, "[1e-05, 0.1]"),
                                   ("mlp", "weight_decay", 1e308, "[0, 10]"),
                                   ("mlp", "hidden_units", 4, "8..2048")):
        with cases("%s %s %r" % (algo, name, value)):
            r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": algo,
                                             "params": {name: value}})
            if r.status == 202:
                accepted.append(r.json["id"])
            err = expect_error(r, 422, "invalid_params")
            check(details(err).get("field") == "params." + name, "details.field names params.%s" % name, r)
            check(name in err["message"] and rng in err["message"], "the message names %s and %s" % (name, rng), r)
            spec = algos[algo][name]
            check("%g" % spec["min"] in rng and "%g" % spec["max"] in rng,
                  "GET /algorithms lists the same range", spec)
    for job_id in accepted:
        harness.cancel_quietly(c, job_id)
    cases.done()


def test_invalid_type_and_algo_422(c):
    c.login_as("alice")
    ds = small_dataset(c, seed=3)
    before = harness.list_ids(c, API + "/jobs")
    for body, key in (({"type": "predict", "dataset_id": ds["id"], "algo": "gbdt"}, "type"),
                      ({"type": "train", "dataset_id": ds["id"], "algo": "random_forest"}, "algo")):
        err = expect_error(c.post_json(API + "/jobs", body), 422, "invalid_params")
        check(details(err).get("field") == key, "details.field should be %r" % key, err)
    for body in ({"type": "train", "dataset_id": ds["id"], "algo": "gbdt", "params": [1, 2]},
                 {"type": "train", "dataset_id": "abc", "algo": "gbdt"},
                 {"type": "train", "algo": "gbdt"}):
        expect_error(c.post_json(API + "/jobs", body), (400, 422), ("bad_request", "invalid_params"), "body %s" % body)
    check(harness.list_ids(c, API + "/jobs") == before, "refused jobs must not be created")


def test_unknown_or_trashed_dataset_404(c):
    c.login_as("alice")
    expect_error(c.post_json(API + "/jobs", {"type": "train", "dataset_id": 987654, "algo": "gbdt"}), 404, "not_found")
    ds = small_dataset(c, seed=5)
    expect_json(c.delete(API + "/datasets/%d" % ds["id"]), 200)
    expect_error(c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt"}),
                 404, "not_found", "training on a trashed dataset")


def test_unlabelled_dataset_422(c):
    c.login_as("alice")
    ds = harness.upload_dataset(c, b"a,b\n1,2\n3,4\n5,6\n7,8\n", name="nolabel")
    check(ds["trainable"] is False and ds["classes"] == 0, "the dataset says it cannot be trained on", ds)
    listed = [d for d in harness.list_items(c, API + "/datasets") if d["id"] == ds["id"]]
    check(listed and listed[0]["trainable"] is False, "so does the list (the train form reads it)", listed)
    err = expect_error(c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt"}),
                       422, "invalid_data")
    check(details(err).get("field") == "dataset_id", "the refusal names dataset_id", err)
    check("'nolabel' has no label column" in err["message"] and "upload a CSV with a 'label' column" in err["message"],
          "the message says what is missing and what to do", err)
    labelled = harness.upload_dataset(c, harness.simulate(samples=60, features=4, classes=2, seed=3), name="ok")
    check(labelled["trainable"] is True and labelled["classes"] == 2, "a labelled dataset is trainable", labelled)


def test_single_class_dataset_fails_cleanly(c):
    c.login_as("alice")
    rows = "".join("%d,%d,only\n" % (i, i * 2 % 7) for i in range(50))
    ds = harness.upload_dataset(c, ("a,b,label\n" + rows).encode(), name="one-class")
    check(ds["trainable"] is False and ds["classes"] == 1, "a one-class dataset is not trainable", ds)
    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt", "params": {"rounds": 5}})
    if r.status == 422:
        err = expect_error(r, 422, "invalid_data")
        check("has a single class" in err["message"], "the refusal says why", err)
        return
    job = expect_json(r, 202, "a job on a one-class dataset (422 up front or a failed job)")
    done = harness.wait_job(c, job["id"], timeout=60)
    check(done["state"] == "failed", "training on one class cannot succeed", done)
    check(isinstance(done["error"], str) and done["error"], "a failed job says why", done)
    check(done["model_id"] is None, "a failed job has no model", done)
    check(all(isinstance(a.get("error"), str) for a in done["attempts"]) and done["attempts"],
          "every attempt of a failed job has its error", done)


@harness.timeout(60)
def test_failed_attempt_is_retried():
    # HEALER_FAULT_INJECT=train_first_attempt (the older spelling of
    # attempt1=fail) makes every job's first training attempt fail; the
    # retry trains the GBDT's fallback learner. tests/api/test_repair.py
    # covers the retries and their record in full.
    with harness.Server(env={"HEALER_FAULT_INJECT": "train_first_attempt"}, name="fault-injecting server") as s:
        c = s.client().login_as("alice")
        ds = small_dataset(c, seed=9)
        job = harness.create_job(c, ds["id"], {"rounds": 20})
        done = harness.wait_job(c, job["id"], timeout=60)
        check(done["state"] == "succeeded", "the retry succeeds", done)
        att = done["attempts"]
        check(isinstance(att, list) and len(att) == 2, "both attempts appear in attempts", done)
        check(isinstance(att[0].get("error"), str) and att[0]["error"], "the first attempt records its error", att)
        check(att[1].get("error") is None, "the second attempt succeeded", att)
        check(isinstance(att[1].get("params"), dict) and att[1]["params"] != att[0]["params"],
              "the retry runs with other parameters", att)
        check(att[1]["params"]["algo"] == "forest" and att[1]["step"] == "other_learner",
              "the retry is the GBDT's fallback, the forest", att)
        check(is_int(done["model_id"]), "the retried job has its model", done)


@harness.timeout(60)
def test_cancel_long_job(c):
    c.login_as("alice")
    job = harness.start_long_job(c)
    try:
        check(job["stage"] in ("train", "cv", "refit"), "a running training has a stage", job)
        check(0 <= job["progress"] < 1, "a running job has progress in [0, 1)", job)
        check(is_int(job["started_at"]), "a running job has started_at", job)
        r = c.post_json(API + "/jobs/%d/cancel" % job["id"], {})
        body = expect_json(r, 200, "cancel a running job")
        check(body["state"] == "cancelled" or (body["state"] == "running" and body["cancel_requested"] is True),
              "cancel answers cancelled, or running with cancel_requested", r)
        t0 = time.monotonic()
        done = harness.wait_job(c, job["id"], timeout=5)
        took = time.monotonic() - t0
        check(done["state"] == "cancelled", "the job ends cancelled", done)
        check(done["model_id"] is None and is_int(done["finished_at"]), "a cancelled job: no model, finished_at set", done)
        stopped = done["round"]
        time.sleep(1.5)
        later = harness.get_job(c, job["id"])
        check(later["round"] == stopped and later["state"] == "cancelled",
              "the round must stop advancing after cancel (%s -> %s)" % (stopped, later["round"]), later)
        print("    cancelled at round %s, %.2f s after the request" % (stopped, took))
    finally:
        harness.cancel_quietly(c, job["id"])


@harness.timeout(60)
def test_responsive_during_long_training(c):
    c.login_as("alice")
    job = harness.start_long_job(c)
    try:
        small = harness.simulate(samples=200, features=6, classes=3, seed=8)
        other = c.new().login_as("bob")
        slow = []
        for i in range(3):
            for what, r in (("health", c.get(API + "/health")),
                            ("dataset list", c.get(API + "/datasets")),
                            ("job poll", c.get(API + "/jobs/%d" % job["id"])),
                            ("upload", other.upload(API + "/datasets", {"name": "during-%d" % i},
                                                    {"file": ("d.csv", small)}))):
                check(r.status in (200, 201), "%s during a training failed" % what, r)
                if r.elapsed >= 1.0:
                    slow.append("%s took %.2f s" % (what, r.elapsed))
        check(not slow, "requests must answer in < 1 s while a training runs: %s" % "; ".join(slow))
        still = harness.get_job(c, job["id"])
        check(still["state"] == "running", "the training kept running meanwhile", still)
        text = c.get("/metrics").text
        running = [l for l in text.splitlines() if l.startswith('healer_jobs{') and 'state="running"' in l]
        check(running and float(running[0].split()[-1]) >= 1, "healer_jobs{state=\"running\"} should be >= 1", running)
    finally:
        harness.cancel_quietly(c, job["id"])


# The error paths of cancel come last: a server that crashes on them
# would otherwise take the tests after them down too.

def test_cancel_finished_job_409(c):
    c.login_as("alice")
    ds = small_dataset(c, seed=6)
    job = harness.create_job(c, ds["id"], {"rounds": 5})
    done = harness.wait_job(c, job["id"], timeout=60)
    check(done["state"] == "succeeded", "small job succeeds", done)
    expect_error(c.post_json(API + "/jobs/%d/cancel" % job["id"], {}), 409, "conflict", "cancel a succeeded job")
    check(harness.get_job(c, job["id"])["state"] == "succeeded", "a refused cancel changes nothing")
    long_job = harness.create_job(c, ds["id"], dict(harness.LONG_PARAMS))
    try:
        harness.cancel_job(c, long_job["id"])
        expect_error(c.post_json(API + "/jobs/%d/cancel" % long_job["id"], {}), 409, "conflict",
                     "cancel a cancelled job")
    finally:
        harness.cancel_quietly(c, long_job["id"])


def test_cancel_unknown_job_404(c):
    c.login_as("alice")
    expect_error(c.post_json(API + "/jobs/987654/cancel", {}), 404, "not_found")
    expect_error(c.get(API + "/jobs/987654"), 404, "not_found")


if __name__ == "__main__":
    harness.main(globals())
