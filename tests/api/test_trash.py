"""test_trash.py - undo for every delete: the trash of models and diagnoses.

What: DELETE /models/{id} and /diagnoses/{id} answer as datasets' do (the
record without its summary or results, with deleted_at); the record leaves
its list but ?include_deleted=1 shows it, and it can still be read; POST
.../restore brings it back within 7 days, and answers 409 after them; the
purge (at the server's start and hourly) then deletes it with its blobs,
after which it answers 404 and a diagnosis made with a purged model has
"model_id": null. A trashed model refuses new diagnoses (404, "in the
trash"), and the samples of its diagnoses (409) until it is restored; its
diagnoses say so (model_deleted_at). The access rule of the trash is in
test_access.py, labels and retraining with a trashed diagnosis in
test_feedback.py.

Why: a delete is one click in the UI; what it loses should be one click
away for a week, with one rule for every resource.

Run: python3 tests/api/test_trash.py [test_name...]
"""
import glob
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect, expect_error, expect_json, is_int  # noqa: E402

DATA = dict(samples=300, features=6, classes=3, seed=71)
WEEK = 7 * 24 * 3600


def model_and_diagnosis(c, name="trash"):
    data = harness.simulate(**DATA)
    _, _, model = harness.train_model(c, data, {"rounds": 5}, name=name)
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 5),
                                         "name": name})
    return data, model, expect_json(r, 201, "POST /diagnoses")


def in_list(c, resource, rec_id, query="limit=1000"):
    return [x for x in harness.list_items(c, API + "/" + resource, query) if x["id"] == rec_id]


def test_model_trash_and_restore(c):
    c.login_as("alice")
    data, model, diag = model_and_diagnosis(c)
    body = expect_json(c.delete(API + "/models/%d" % model["id"]), 200, "DELETE model")
    has = harness.has_fields
    has(body, harness.MODEL_FIELDS, "the deleted MODEL")
    check("summary" not in body and is_int(body["deleted_at"]), "a MODEL without summary, with deleted_at", body)
    check(not in_list(c, "models", model["id"]), "a trashed model leaves the list")
    listed = in_list(c, "models", model["id"], "include_deleted=1&limit=1000")
    check(listed and listed[0]["deleted_at"] == body["deleted_at"], "include_deleted=1 lists it", listed)
    got = expect_json(c.get(API + "/models/%d" % model["id"]), 200, "GET a trashed model")
    check(got["deleted_at"] == body["deleted_at"] and "summary" in got, "it still reads, with deleted_at", got)

    # Nothing diagnoses with it; its diagnoses keep it and say so.
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 1)})
    err = expect_error(r, 404, "not_found", "diagnosing with a trashed model")
    check("trash" in err["message"], "the refusal says it is in the trash", err)
    d = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200, "its diagnosis")
    check(d["model_id"] == model["id"] and d["model_deleted_at"] == body["deleted_at"],
          "the diagnosis keeps its model_id and says the model is deleted", d)
    err = expect_error(c.get(API + "/diagnoses/%d/rows/1" % diag["id"]), 409, "conflict", "a sample")
    check("trash" in err["message"], "the sample says the model is in the trash", err)

    back = expect_json(c.post_json(API + "/models/%d/restore" % model["id"], {}), 200, "restore")
    check(back["deleted_at"] is None and back["id"] == model["id"] and "summary" not in back,
          "restore answers the MODEL with deleted_at null", back)
    check(in_list(c, "models", model["id"]), "restored, it is listed again")
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 1)})
    expect_json(r, 201, "a restored model diagnoses again")
    d = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200)
    check(d["model_deleted_at"] is None, "the diagnosis's model is live again", d)
    again = expect_json(c.post_json(API + "/models/%d/restore" % model["id"], {}), 200, "restore a live model")
    check(again["deleted_at"] is None, "restoring a live model changes nothing", again)


def test_diagnosis_trash_and_restore(c):
    c.login_as("alice")
    _, model, diag = model_and_diagnosis(c, name="diag-trash")
    body = expect_json(c.delete(API + "/diagnoses/%d" % diag["id"]), 200, "DELETE diagnosis")
    harness.has_fields(body, harness.DIAGNOSIS_FIELDS, "the deleted DIAGNOSIS")
    check("results" not in body and is_int(body["deleted_at"]), "a DIAGNOSIS without results, with deleted_at",
          body)
    check(not in_list(c, "diagnoses", diag["id"]), "a trashed diagnosis leaves the list")
    check(in_list(c, "diagnoses", diag["id"], "include_deleted=1&limit=1000"), "include_deleted=1 lists it")
    got = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200, "GET a trashed diagnosis")
    check(got["deleted_at"] == body["deleted_at"] and got["results"]["total"] == 5, "it still reads", got)
    again = expect_json(c.delete(API + "/diagnoses/%d" % diag["id"]), 200, "deleting twice")
    check(again["deleted_at"] == body["deleted_at"], "deleting twice keeps the first deleted_at", again)
    back = expect_json(c.post_json(API + "/diagnoses/%d/restore" % diag["id"], {}), 200, "restore")
    check(back["deleted_at"] is None and "results" not in back, "restore answers the DIAGNOSIS", back)
    check(in_list(c, "diagnoses", diag["id"]), "restored, it is listed again")


def test_unknown_ids_404(c):
    c.login_as("alice")
    for res in ("models", "diagnoses"):
        expect_error(c.delete(API + "/%s/987654" % res), 404, "not_found")
        expect_error(c.post_json(API + "/%s/987654/restore" % res, {}), 404, "not_found")


def backdate(server, table, rec_id, seconds):
    """Moves a trashed record's deleted_at back (the server's clock cannot
    be moved from outside)."""
    db = sqlite3.connect(os.path.join(server.data_dir, "healer.db"), timeout=10)
    try:
        db.execute("UPDATE %s SET deleted_at = deleted_at - ? WHERE id = ?" % table, (seconds, rec_id))
        db.commit()
    finally:
        db.close()


def blobs(server, kind):
    return set(glob.glob(os.path.join(server.data_dir, "blobs", kind, "*")))


def test_seven_days_then_purge():
    with harness.Server(name="trash purge") as s:
        c = s.client().login_as("alice")
        _, model, diag = model_and_diagnosis(c, name="old")
        _, _, kept = model_and_diagnosis(c, name="kept")  # another model's diagnosis
        before = {k: blobs(s, k) for k in ("model", "result", "input")}
        expect_json(c.delete(API + "/diagnoses/%d" % diag["id"]), 200)
        expect_json(c.delete(API + "/models/%d" % model["id"]), 200)
        for table, rec_id in (("diagnoses", diag["id"]), ("models", model["id"])):
            backdate(s, table, rec_id, WEEK + 60)
        for res, rec_id in (("diagnoses", diag["id"]), ("models", model["id"])):
            err = expect_error(c.post_json(API + "/%s/%d/restore" % (res, rec_id), {}), 409, "conflict",
                               "restoring after 7 days")
            check("more than 7 days ago" in err["message"], "the 409 says why", err)
        s.stop()
        s.restart()  # the purge runs at the start
        c = s.client().login_as("alice")
        for res, rec_id in (("diagnoses", diag["id"]), ("models", model["id"])):
            expect_error(c.get(API + "/%s/%d" % (res, rec_id)), 404, "not_found", "purged")
            expect_error(c.post_json(API + "/%s/%d/restore" % (res, rec_id), {}), 404, "not_found",
                         "no restore after the purge")
            check(not in_list(c, res, rec_id, "include_deleted=1&limit=1000"), "gone from the trash list")
        after = {k: blobs(s, k) for k in before}
        check(len(after["model"]) == len(before["model"]) - 1, "the model file is gone", after)
        check(len(after["result"]) == len(before["result"]) - 1, "the results are gone", after)
        check(len(after["input"]) == len(before["input"]) - 1, "the stored input is gone", after)
        expect_json(c.get(API + "/diagnoses/%d" % kept["id"]), 200, "what was not in the trash stays")


def test_purge_clears_model_of_live_diagnosis():
    with harness.Server(name="trash purge of a model") as s:
        c = s.client().login_as("alice")
        _, model, diag = model_and_diagnosis(c, name="orphan")
        expect_json(c.delete(API + "/models/%d" % model["id"]), 200)
        backdate(s, "models", model["id"], WEEK + 60)
        s.stop()
        s.restart()
        c = s.client().login_as("alice")
        d = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200, "the diagnosis outlives its model")
        check(d["model_id"] is None and d["model_deleted_at"] is None and d["results"]["total"] == 5,
              "after the purge its model_id is null and its results stay", d)
        expect(c.get(API + "/diagnoses/%d/download?format=csv" % diag["id"]), 200)


if __name__ == "__main__":
    harness.main(globals())
