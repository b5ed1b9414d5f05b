"""test_repair.py - self-repair of training jobs: retries, their record, and
the admins' notice when no attempt made a model.

What: with HEALER_FAULT_INJECT (docs/cli.md, "Self-repair") a train job
whose first attempt fails succeeds with the learner's fallback (gbdt ->
forest), and GET of the job, the job list and GET of the model all show
both attempts (number, step, algo, outcome, reason, seconds, params); a
diverged MLP falls back to the forest; when every attempt is degenerate
the job fails naming the attempts, makes no model, and the admins (only
they) get one "training_failed" notification listing them, which they can
mark read - and no "job_failed" beside it. Without any fault, data whose
only KPI is constant makes a constant predictor, which every attempt
refuses. A malformed HEALER_FAULT_INJECT stops `healer serve` at start
(exit 2) with a message naming it.

Why: a training that fails for good must be visible - on the job page, and
to the administrators - with why each attempt failed; and a retry must
never hide a broken model.

Run: python3 tests/api/test_repair.py [test_name...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_error, expect_json, has_fields, is_int, is_num  # noqa: E402

SMALL = {"rounds": 20, "early_stopping_rounds": 10, "validation_fraction": 0.2}
ATTEMPT_FIELDS = ("number", "step", "algo", "outcome", "reason", "seconds", "params", "error")


def small_dataset(c, seed=1):
    return harness.upload_dataset(c, harness.simulate(samples=500, features=8, classes=3, seed=seed),
                                  name="repair")


def train(c, dataset_id, algo="gbdt", params=None):
    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": dataset_id, "algo": algo,
                                     "params": params if params is not None else SMALL})
    job = expect_json(r, 202, "POST /jobs")
    check(job["attempts"] == [], "a queued job has no attempts yet", job)
    return harness.wait_job(c, job["id"], timeout=90)


def check_attempts(att, want):
    """att: a job's or model's attempts; want: [(step, algo, outcome)]."""
    check(isinstance(att, list) and len(att) == len(want), "%d attempts" % len(want), att)
    for i, (a, (step, algo, outcome)) in enumerate(zip(att, want)):
        has_fields(a, ATTEMPT_FIELDS, "attempt")
        check(a["number"] == i + 1, "attempts are numbered from 1 in order", att)
        check((a["step"], a["algo"], a["outcome"]) == (step, algo, outcome),
              "attempt %d is %s / %s / %s" % (i + 1, step, algo, outcome), a)
        check(is_num(a["seconds"]) and a["seconds"] >= 0, "an attempt says how long it took", a)
        check(isinstance(a["params"], dict) and a["params"].get("algo") == algo,
              "an attempt lists the parameters it ran with", a)
        if outcome == "succeeded":
            check(a["reason"] is None and a["error"] is None, "a success has no reason", a)
        else:
            check(isinstance(a["reason"], str) and a["reason"] and a["error"] == a["reason"],
                  "an attempt that did not succeed says why", a)


@harness.timeout(120)
def test_failed_attempt_falls_back_to_another_learner():
    with harness.Server(env={"HEALER_FAULT_INJECT": "attempt1=fail"}, name="attempt1=fail server") as s:
        c = s.client().login_as("alice")
        ds = small_dataset(c, seed=3)
        done = train(c, ds["id"])
        check(done["state"] == "succeeded", "the retry with the forest succeeds", done)
        check_attempts(done["attempts"], [("requested", "gbdt", "failed"),
                                          ("other_learner", "forest", "succeeded")])
        check("injected failure (attempt 1" in done["attempts"][0]["reason"],
              "attempt 1 says it was an injected failure", done["attempts"])
        check(done["error"] is None, "a job that succeeded on a retry has no error", done)

        model = expect_json(c.get(API + "/models/%d" % done["model_id"]), 200, "GET the model")
        check(model["algo"] == "forest", "the model is the fallback learner's", model)
        check(model["attempts"] == done["attempts"], "the model shows its job's attempts", model)
        listed = [j for j in harness.list_items(c, API + "/jobs") if j["id"] == done["id"]]
        check(len(listed) == 1 and listed[0]["attempts"] == done["attempts"],
              "the job list shows each job's attempts", listed)
        # Another user sees neither the job nor the model, attempts included.
        bob = s.client().login_as("bob")
        expect_error(bob.get(API + "/jobs/%d" % done["id"]), 404, "not_found")
        expect_error(bob.get(API + "/models/%d" % done["model_id"]), 404, "not_found")
        check(all(j["id"] != done["id"] for j in harness.list_items(bob, API + "/jobs")),
              "bob's job list does not hold alice's job")
        admin = s.client().login_as("admin")
        check(not [n for n in harness.list_items(admin, API + "/notifications")
                   if n["kind"] in ("training_failed", "job_failed")],
              "a training that succeeded on a retry tells the admins nothing")


@harness.timeout(120)
def test_diverged_mlp_falls_back_to_the_forest():
    with harness.Server(env={"HEALER_FAULT_INJECT": "attempt1=diverge"}, name="attempt1=diverge server") as s:
        c = s.client().login_as("alice")
        ds = small_dataset(c, seed=4)
        done = train(c, ds["id"], algo="mlp", params={"epochs": 5})
        check(done["state"] == "succeeded", "a diverged MLP is retried, and the retry succeeds", done)
        check_attempts(done["attempts"], [("requested", "mlp", "failed"),
                                          ("other_learner", "forest", "succeeded")])
        check("diverge" in done["attempts"][0]["reason"], "attempt 1 says the training diverged",
              done["attempts"])


@harness.timeout(150)
def test_every_attempt_degenerate_notifies_the_admins():
    with harness.Server(env={"HEALER_FAULT_INJECT": "attempts=degenerate"}, name="degenerate server") as s:
        c = s.client().login_as("alice")
        ds = small_dataset(c, seed=5)
        done = train(c, ds["id"])
        check(done["state"] == "failed", "no healthy model: the job fails", done)
        check_attempts(done["attempts"], [("requested", "gbdt", "degenerate"),
                                          ("other_learner", "forest", "degenerate"),
                                          ("safer_parameters", "gbdt", "degenerate")])
        check(done["error"].startswith("training failed after 3 attempts; the last (gbdt, safer parameters): "
                                       "the model is degenerate"),
              "the job's error names the attempts and the last reason", done)
        check(done["model_id"] is None and done["result"] is None, "a failed training has no model", done)
        check(harness.list_items(c, API + "/models") == [], "no model was stored")

        expect_error(c.get(API + "/notifications"), 403, "forbidden", "notifications are the admins'")
        admin = s.client().login_as("admin")
        notes = harness.list_items(admin, API + "/notifications")
        mine = [n for n in notes if "job %d " % done["id"] in n["message"]]
        check(len(mine) == 1 and mine[0]["kind"] == "training_failed",
              "one training_failed notification for the job, no job_failed beside it", notes)
        note = mine[0]
        has_fields(note, harness.NOTIFICATION_FIELDS, "notification")
        check(note["user_id"] == c.user["id"] and note["read"] is False,
              "it is about the job's owner, and unread", note)
        check("after 3 attempts: 1 gbdt degenerate, 2 forest degenerate, 3 gbdt degenerate; the last: "
              "injected degenerate model" in note["message"],
              "it lists every attempt and the last reason", note)
        body = expect_json(admin.post_json(API + "/notifications/%d/read" % note["id"], {}), 200, "mark read")
        check(body["read"] is True and body["kind"] == "training_failed", "marked read", body)
        check(note["id"] not in harness.list_ids(admin, API + "/notifications", "unread=1&limit=1000"),
              "a read notification leaves the unread list")


@harness.timeout(120)
def test_constant_data_makes_no_model(c):
    # No fault injected: the only KPI is the same on every row, so every
    # learner predicts one class, and every attempt is refused for it.
    c.login_as("alice")
    rows = "".join("5,%s\n" % ("disk" if i % 2 else "cpu") for i in range(200))
    ds = harness.upload_dataset(c, ("kpi,label\n" + rows).encode(), name="flat")
    done = train(c, ds["id"], params={"rounds": 5})
    check(done["state"] == "failed", "a constant predictor is no model", done)
    check(len(done["attempts"]) == 3 and all(a["outcome"] == "degenerate" for a in done["attempts"]),
          "every attempt is degenerate", done["attempts"])
    check(all("constant predictor" in a["reason"] for a in done["attempts"]),
          "each says it predicts one class", done["attempts"])
    check(done["model_id"] is None, "no model", done)


@harness.timeout(60)
def test_malformed_fault_spec_stops_the_server():
    s = harness.Server(env={"HEALER_FAULT_INJECT": "attempt9=boom"}, name="bad fault spec server")
    try:
        s.start(wait=False)
        rc = s.proc.wait(30)
        check(rc == 2, "a malformed HEALER_FAULT_INJECT is a usage error (exit 2)", rc)
        err = s.stderr_text()
        check("HEALER_FAULT_INJECT" in err and "bad item 'attempt9=boom'" in err,
              "the message names the variable and the bad item", err)
    finally:
        s.close()


if __name__ == "__main__":
    harness.main(globals())
