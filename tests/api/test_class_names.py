"""test_class_names.py - the names, descriptions and first actions of a
model's classes: MODEL.class_names, PUT /models/{id}/class-names, a
training job's params.class_names, DIAGNOSIS.class_names, downloads.

What: a model has {} until named; its owner (or an admin) replaces the
names with PUT (CSRF required like every write), each refusal a 400 or
422 naming its field as `healer train --class-names` would refuse it
(empty name, a label that is not a class, too long, a line break, unknown
keys, wrong types), and another user gets 404; a diagnosis shows its
model's names as they are now ({} once the model is deleted); the download
carries the current names (`healer inspect --json` reads them); a training
job takes the same object as params.class_names, checked against the
dataset's classes when submitted; a retrained version keeps its parent's
names.

Why: the names are what an on-call engineer reads instead of "4", so every
path that shows or edits them must agree, and a typo must be refused with
the place it is at.

Run: python3 tests/api/test_class_names.py [test_name...]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_error, expect_json, has_fields  # noqa: E402

SERVER = {}
NAMES = {
    "1": {"name": "Disk full", "description": "The data disk, at 100 %", "action": "Run \"df -h\"; https://runbook/disk"},
    "2": {"name": "磁盘满", "description": "", "action": ""},
}


def named_model(c, params=None):
    ds, job, model = harness.train_model(c, harness.simulate(samples=400, features=6, classes=3, seed=3),
                                         params if params is not None else {"rounds": 10})
    return ds, model


def put(c, model_id, names, **kw):
    return c.put_json(API + "/models/%d/class-names" % model_id, {"class_names": names}, **kw)


def test_model_starts_without_names_and_owner_sets_them(c):
    c.login_as("alice")
    ds, model = named_model(c)
    has_fields(model, harness.MODEL_FIELDS, "MODEL")
    check(model["class_names"] == {}, "a new model has no names", model)
    check(model["labels"] == ["0", "1", "2"], "labels are the classes", model)
    m = expect_json(put(c, model["id"], NAMES), 200, "PUT class-names")
    has_fields(m, harness.MODEL_FIELDS, "MODEL")
    check(m["class_names"] == NAMES, "the answer is the MODEL with the names", m["class_names"])
    got = expect_json(c.get(API + "/models/%d" % model["id"]), 200)
    check(got["class_names"] == NAMES, "GET shows them", got["class_names"])
    listed = [x for x in harness.list_items(c, API + "/models") if x["id"] == model["id"]]
    check(listed[0]["class_names"] == NAMES, "the list shows them", listed)
    # description and action may be omitted or null; {} removes every name
    m = expect_json(put(c, model["id"], {"0": {"name": "Normal", "description": None}}), 200)
    check(m["class_names"] == {"0": {"name": "Normal", "description": "", "action": ""}}, "replaced, not merged", m)
    m = expect_json(put(c, model["id"], {}), 200)
    check(m["class_names"] == {}, "{} removes them", m)


def test_refusals_name_their_field(c):
    c.login_as("alice")
    ds, model = named_model(c)
    path = API + "/models/%d/class-names" % model["id"]
    cases = [
        ({"1": {"name": ""}}, 422, "invalid_data", "class_names.1.name", "empty"),
        ({"9": {"name": "Nine"}}, 422, "invalid_data", "class_names.9", "not a class"),
        ({"1": {"name": "x" * 81}}, 422, "invalid_data", "class_names.1.name", "at most 80"),
        ({"1": {"name": "ok", "description": "d" * 301}}, 422, "invalid_data", "class_names.1.description", "at most 300"),
        ({"1": {"name": "ok", "action": "a" * 501}}, 422, "invalid_data", "class_names.1.action", "at most 500"),
        ({"1": {"name": "two\nlines"}}, 422, "invalid_data", "class_names.1.name", "one line"),
        ({"1": {"description": "no name"}}, 400, "bad_request", "class_names.1.name", "required"),
        ({"1": {"name": 7}}, 400, "bad_request", "class_names.1.name", "string"),
        ({"1": {"name": "ok", "action": 3}}, 400, "bad_request", "class_names.1.action", "string"),
        ({"1": {"name": "ok", "owner": "me"}}, 400, "bad_request", "class_names.1.owner", "unknown field"),
        ({"1": "Disk full"}, 400, "bad_request", "class_names.1", "object"),
        (["1"], 400, "bad_request", "class_names", "object"),
    ]
    expect_json(put(c, model["id"], NAMES), 200)
    for names, status, code, field, words in cases:
        err = expect_error(c.put_json(path, {"class_names": names}), status, code, json.dumps(names)[:60])
        check(err.get("details", {}).get("field") == field, "%s: details.field %s" % (json.dumps(names)[:60], field), err)
        check(words in err["message"], "%s: the message says '%s'" % (field, words), err)
    err = expect_error(c.put_json(path, {"names": {}}), 400, "bad_request", "no class_names")
    check(err.get("details", {}).get("field") == "class_names", "missing class_names named", err)
    got = expect_json(c.get(API + "/models/%d" % model["id"]), 200)
    check(got["class_names"] == NAMES, "a refused PUT changes nothing", got["class_names"])


def test_permissions_and_csrf(c):
    c.login_as("alice")
    ds, model = named_model(c)
    path = API + "/models/%d/class-names" % model["id"]
    expect_error(c.put_json(path, {"class_names": NAMES}, csrf=False), 403, None, "PUT without CSRF")
    bob = c.new()
    bob.login_as("bob")
    expect_error(put(bob, model["id"], NAMES), 404, "not_found", "another user's model")
    expect_error(put(bob, 987654, NAMES), 404, "not_found", "no such model")
    admin = c.new()
    admin.login_as("admin")
    m = expect_json(put(admin, model["id"], NAMES), 200, "an admin may")
    check(m["class_names"] == NAMES, "set by the admin", m)
    anon = c.new()
    expect_error(put(anon, model["id"], NAMES), 401, None, "anonymous")


def test_diagnosis_carries_the_models_names(c):
    c.login_as("alice")
    data = harness.simulate(samples=400, features=6, classes=3, seed=3)
    ds, job, model = harness.train_model(c, data, {"rounds": 10})
    rows = harness.rows_as_json(data, count=5)
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows})
    diag = expect_json(r, 201, "diagnose")
    has_fields(diag, harness.DIAGNOSIS_FIELDS, "DIAGNOSIS")
    check(diag["class_names"] == {}, "no names yet", diag["class_names"])
    expect_json(put(c, model["id"], NAMES), 200)
    got = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200)
    check(got["class_names"] == NAMES, "the diagnosis shows the names as they are now", got["class_names"])
    listed = [d for d in harness.list_items(c, API + "/diagnoses") if d["id"] == diag["id"]]
    check(listed[0]["class_names"] == NAMES, "the list shows them too", listed)
    # a model in the trash can come back: its diagnoses keep its names
    expect_json(c.delete(API + "/models/%d" % model["id"]), 200)
    got = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200)
    check(got["class_names"] == NAMES and got["model_deleted_at"], "model in the trash: names kept", got)
    e = expect_error(put(c, model["id"], NAMES), 404, "not_found", "renaming a trashed model's classes")
    check("trash" in e["message"], "says the model is in the trash", e)


def test_download_carries_the_current_names(c):
    c.login_as("alice")
    ds, model = named_model(c)
    r = c.get(API + "/models/%d/download" % model["id"])
    check(r.status == 200 and len(r.body) == model["size_bytes"], "never named: the stored file", r)
    expect_json(put(c, model["id"], NAMES), 200)
    for expected in (NAMES, {}):
        if expected == {}:
            expect_json(put(c, model["id"], {}), 200)
        r = c.get(API + "/models/%d/download" % model["id"])
        check(r.status == 200, "download", r)
        check("attachment" in (r.header("Content-Disposition") or "").lower(), "an attachment", r)
        path = harness.tmp_path(harness.unique("named") + ".model")
        with open(path, "wb") as f:
            f.write(r.body)
        p = harness.run_healer(["inspect", "--json", path])
        check(p.returncode == 0, "healer inspect loads it: %s" % p.stderr)
        check(json.loads(p.stdout)["class_names"] == expected, "the file carries %s" % expected, p.stdout[-300:])


def test_training_job_takes_class_names(c):
    c.login_as("alice")
    data = harness.simulate(samples=400, features=6, classes=3, seed=3)
    ds = harness.upload_dataset(c, data)
    job = harness.create_job(c, ds["id"], {"rounds": 10, "class_names": NAMES})
    job = harness.wait_job(c, job["id"])
    check(job["state"] == "succeeded", "the job succeeds", job)
    model = expect_json(c.get(API + "/models/%d" % job["model_id"]), 200)
    check(model["class_names"] == NAMES, "the model carries them", model["class_names"])
    r = c.get(API + "/models/%d/download" % model["id"])
    path = harness.tmp_path(harness.unique("job") + ".model")
    with open(path, "wb") as f:
        f.write(r.body)
    p = harness.run_healer(["inspect", "--json", path])
    check(json.loads(p.stdout)["class_names"] == NAMES, "and so does its file", p.stdout[-300:])
    before = expect_json(c.get(API + "/jobs?limit=1"), 200)["total"]
    for names, status, field in [
        ({"7": {"name": "Seven"}}, 422, "params.class_names.7"),
        ({"1": {"name": ""}}, 422, "params.class_names.1.name"),
        ({"1": {"name": 1}}, 400, "params.class_names.1.name"),
        ("Disk", 400, "params.class_names"),
    ]:
        r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "params": {"rounds": 5, "class_names": names}})
        err = expect_error(r, status, None, "job with %s" % names)
        check(err.get("details", {}).get("field") == field, "details.field %s" % field, err)
    check(expect_json(c.get(API + "/jobs?limit=1"), 200)["total"] == before, "no job was queued")


def test_retrained_model_inherits_the_names(c):
    c.login_as("alice")
    data = harness.simulate(samples=400, features=6, classes=3, seed=3)
    ds, job, model = harness.train_model(c, data, {"rounds": 10})
    expect_json(put(c, model["id"], NAMES), 200)
    rows = harness.rows_as_json(data, count=20)
    diag = expect_json(c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows}), 201, "diagnose")
    truth = harness.csv_records(data)[0]["label"]
    expect_json(c.put_json(API + "/diagnoses/%d/labels" % diag["id"], {"labels": [{"row": 1, "label": truth}]}), 200,
                "label a row")
    r = c.post_json(API + "/jobs", {"type": "retrain", "feedback": {"diagnosis_ids": [diag["id"]]}})
    job = harness.wait_job(c, expect_json(r, 202, "retrain")["id"], timeout=120)
    check(job["state"] == "succeeded", "the retraining succeeded", job)
    new = expect_json(c.get(API + "/models/%d" % job["model_id"]), 200)
    check(new["parent_id"] == model["id"] and new["class_names"] == NAMES, "the new version keeps the names", new["class_names"])


if __name__ == "__main__":
    harness.main(globals())
