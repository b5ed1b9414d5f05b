"""test_feedback.py - labelling a diagnosis's rows and retraining with them.

What: a stored diagnosis keeps its input (input_stored); its suggestions
(GET /diagnoses/{id}/suggestions, per_class default 5, bounds 1..1000)
name rows of the diagnosis with their class, confidence and margin; PUT
/diagnoses/{id}/labels confirms, corrects, clears (null) and names a new
class only when asked ("new_class": true), all or nothing, and GET shows
who labelled each row and when, with counts; every bad input is a 4xx
naming its field (unknown row, row twice, unknown class, too many labels,
wrong types, bad per_class) and never a 500; another user's diagnosis is
404 and an admin's view works; a diagnosis stored without its input (as
before this existed: made so here by clearing the key in the database)
answers 409 input_not_stored to every feedback endpoint and to a
retraining. A "retrain" job with no labelled row is a 422 naming
feedback.diagnosis_ids; a bad weight is a 422 invalid_params. On the
simulator's shifted data, rows labelled with their true classes and a
retraining make a new model whose predictions on the corrected rows
change to the labels (checked by diagnosing them again), with its parent,
the rows it learnt from and the in-sample comparison on its record; a
second retraining inherits the first one's diagnoses. Deleting a
diagnosis deletes its labels and its input blob.

Why: a correction that silently does not reach the next model, or a
label on someone else's diagnosis, would betray the engineer's trust in
the loop the feature exists for.

Run: python3 tests/api/test_feedback.py [test_name...]
"""
import glob
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, has_fields, is_int  # noqa: E402

SERVER = {"args": ["--sync-rows", "6000"]}
DATA = dict(samples=600, features=8, classes=3, seed=1)
_MODELS = {}
LABEL_FIELDS = ("row", "sample_id", "label", "predicted", "confidence", "agrees", "labelled_by",
                "labelled_at")
LABELS_FIELDS = ("items", "total", "offset", "limit", "class_counts", "confirmed", "corrected",
                 "classes", "new_classes")


def model_for(c):
    """(csv bytes, MODEL) of alice's shared model on c's server."""
    key = id(c.server)
    if key not in _MODELS:
        owner = c.new().login_as("alice")
        data = harness.simulate(**DATA)
        _, _, model = harness.train_model(owner, data, {"rounds": 30})
        _MODELS[key] = (data, model)
    return _MODELS[key]


def diagnose(c, model_id, rows, name="batch"):
    r = c.post_json(API + "/diagnoses", {"model_id": model_id, "rows": rows, "name": name})
    return expect_json(r, 201, "POST /diagnoses")


def fresh_diagnosis(c, count=60, start=0):
    data, model = model_for(c)
    rows = harness.rows_as_json(data, start=start, count=count, with_id=True)
    return diagnose(c, model["id"], rows), model


def labels_of(c, diag_id, query=""):
    body = expect_json(c.get(API + "/diagnoses/%d/labels%s" % (diag_id, query)), 200, "GET labels")
    has_fields(body, LABELS_FIELDS, "labels")
    return body


def put_labels(c, diag_id, items, status=200):
    r = c.put_json(API + "/diagnoses/%d/labels" % diag_id, {"labels": items})
    if status != 200:
        return r
    return expect_json(r, 200, "PUT labels")


def results_of(c, diag_id):
    body = expect_json(c.get(API + "/diagnoses/%d?limit=1000" % diag_id), 200, "GET diagnosis")
    return {it["row"]: it for it in body["results"]["items"]}


def clear_input_key(server, diag_id):
    """Makes a diagnosis look as one stored before diagnoses kept their input."""
    db = sqlite3.connect(os.path.join(server.data_dir, "healer.db"), timeout=10)
    try:
        db.execute("UPDATE diagnoses SET input_blob_key = '' WHERE id = ?", (diag_id,))
        db.commit()
    finally:
        db.close()


def retrain(c, body, status=202):
    body = dict(body, type="retrain")
    r = c.post_json(API + "/jobs", body)
    if status != 202:
        return r
    job = expect_json(r, 202, "POST /jobs retrain")
    has_fields(job, harness.JOB_FIELDS, "JOB")
    check(job["type"] == "retrain" and job["state"] == "queued", "a queued retrain job", job)
    return job


# --------------------------------------------------------------------------


def test_suggestions_and_labels(c):
    c.login_as("alice")
    diag, model = fresh_diagnosis(c)
    check(diag["input_stored"] is True, "a new diagnosis keeps its input", diag)
    classes = model["labels"]
    res = results_of(c, diag["id"])

    body = expect_json(c.get(API + "/diagnoses/%d/suggestions" % diag["id"]), 200, "suggestions")
    has_fields(body, ("per_class", "classes", "items"), "suggestions")
    check(body["per_class"] == 5 and body["classes"] == classes, "default per_class 5, the model's classes", body)
    items = body["items"]
    check(1 <= len(items) <= 5 * len(classes), "at most 5 rows per class", body)
    for it in items:
        has_fields(it, ("row", "sample_id", "predicted", "confidence", "margin", "label"), "suggestion")
        check(1 <= it["row"] <= 60 and it["predicted"] in classes and 0 <= it["margin"] <= 1, "a suggested row", it)
        check(it["predicted"] == res[it["row"]]["predicted"], "the prediction the results show", it)
        check(it["sample_id"] == res[it["row"]]["sample_id"] and it["label"] is None, "sample id, no label yet", it)
    per_class = [it["predicted"] for it in items]
    check(all(per_class.count(k) <= 5 for k in classes), "per class", per_class)
    small = expect_json(c.get(API + "/diagnoses/%d/suggestions?per_class=1" % diag["id"]), 200, "per_class=1")
    check(len(small["items"]) <= len(classes), "per_class=1: one per class at most", small)

    empty = labels_of(c, diag["id"])
    check(empty["total"] == 0 and empty["items"] == [] and empty["classes"] == classes, "no labels yet", empty)

    a, b = items[0]["row"], items[1]["row"]
    other = [k for k in classes if k != res[b]["predicted"]][0]
    out = put_labels(c, diag["id"], [{"row": a, "label": res[a]["predicted"]}, {"row": b, "label": other}])
    check(out["total"] == 2 and out["confirmed"] == 1 and out["corrected"] == 1, "one confirmed, one corrected", out)
    got = labels_of(c, diag["id"])
    check([it["row"] for it in got["items"]] == sorted([a, b]), "labels by row", got)
    for it in got["items"]:
        has_fields(it, LABEL_FIELDS, "label")
        check(it["labelled_by"]["username"] == "alice" and is_int(it["labelled_at"]), "who and when", it)
        check(it["predicted"] == res[it["row"]]["predicted"], "the prediction next to the label", it)
        check(it["agrees"] == (it["label"] == it["predicted"]), "agrees", it)
    check(sum(got["class_counts"].values()) == 2 and got["new_classes"] == [], "counts", got)
    sug = expect_json(c.get(API + "/diagnoses/%d/suggestions" % diag["id"]), 200, "suggestions again")
    labelled = {it["row"]: it["label"] for it in sug["items"] if it["label"] is not None}
    check(labelled == {a: res[a]["predicted"], b: other}, "suggestions show the labels given", sug)

    out = put_labels(c, diag["id"], [{"row": b, "label": None}, {"row": 3, "label": None}])
    check(out["total"] == 1 and out["items"][0]["row"] == a, "null clears a label (none is fine)", out)
    out = put_labels(c, diag["id"], [{"row": a, "label": other}])
    check(out["total"] == 1 and out["items"][0]["label"] == other, "a label again replaces it", out)
    page = labels_of(c, diag["id"], "?offset=1&limit=1")
    check(page["items"] == [] and page["total"] == 1, "labels page", page)

    out = put_labels(c, diag["id"], [{"row": 5, "label": "disk full", "new_class": True}])
    check(out["new_classes"] == ["disk full"] and out["class_counts"]["disk full"] == 1, "a new class, asked for", out)


def test_bad_labels(c):
    c.login_as("alice")
    diag, model = fresh_diagnosis(c)
    path = API + "/diagnoses/%d/labels" % diag["id"]
    cls = model["labels"][0]

    def bad(body, status, code, field, what):
        r = c.put_json(path, body)
        e = expect_error(r, status, code, what)
        check(details(e).get("field") == field, "%s: field %s" % (what, field), e)
        return e

    bad({}, 400, "bad_request", "labels", "no labels")
    bad({"labels": {"row": 1}}, 400, "bad_request", "labels", "labels not an array")
    bad({"labels": []}, 422, "invalid_data", "labels", "empty labels")
    bad({"labels": [{"row": i % 60 + 1, "label": cls} for i in range(1001)]}, 422, "invalid_data", "labels",
        "more than 1000 labels")
    bad({"labels": [5]}, 400, "bad_request", "labels[0]", "an item not an object")
    bad({"labels": [{"row": "1", "label": cls}]}, 400, "bad_request", "labels[0].row", "row not a number")
    bad({"labels": [{"row": 1.5, "label": cls}]}, 400, "bad_request", "labels[0].row", "row not whole")
    bad({"labels": [{"row": 1}]}, 400, "bad_request", "labels[0].label", "no label")
    bad({"labels": [{"row": 1, "label": 3}]}, 400, "bad_request", "labels[0].label", "label a number")
    bad({"labels": [{"row": 1, "label": cls, "new_class": "yes"}]}, 400, "bad_request", "labels[0].new_class",
        "new_class not a boolean")
    e = bad({"labels": [{"row": 1, "label": cls}, {"row": 61, "label": cls}]}, 422, "invalid_data",
            "labels[1].row", "unknown row")
    check("1..60" in e["message"], "the message gives the range", e)
    bad({"labels": [{"row": 0, "label": cls}]}, 422, "invalid_data", "labels[0].row", "row 0")
    bad({"labels": [{"row": 2, "label": cls}, {"row": 2, "label": None}]}, 422, "invalid_data", "labels[1].row",
        "a row twice")
    e = bad({"labels": [{"row": 1, "label": "no-such-class"}]}, 422, "invalid_data", "labels[0].label",
            "unknown class")
    check("new_class" in e["message"], "says how to name a new class", e)
    bad({"labels": [{"row": 1, "label": " padded", "new_class": True}]}, 422, "invalid_data", "labels[0].label",
        "a new class with spaces around")
    bad({"labels": [{"row": 1, "label": "x" * 256, "new_class": True}]}, 422, "invalid_data", "labels[0].label",
        "a new class too long")
    # Nothing of a refused request was kept: all or nothing.
    bad({"labels": [{"row": 1, "label": cls}, {"row": 99, "label": cls}]}, 422, "invalid_data", "labels[1].row",
        "second item bad")
    check(labels_of(c, diag["id"])["total"] == 0, "a refused request keeps nothing")
    r = c.raw("PUT", path, b"[1]", {"Content-Type": "application/json"})
    expect_error(r, 400, "invalid_json", "a body that is not an object")
    expect_error(c.put_json(API + "/diagnoses/999999/labels", {"labels": [{"row": 1, "label": cls}]}), 404,
                 "not_found", "unknown diagnosis")

    sug = API + "/diagnoses/%d/suggestions" % diag["id"]
    for q in ("0", "1001", "abc", "-1", ""):
        e = expect_error(c.get(sug + "?per_class=" + q), 400, "bad_request", "per_class=%s" % q)
        check(details(e).get("field") == "per_class", "per_class field", e)
    expect_json(c.get(sug + "?per_class=1000"), 200, "per_class=1000")
    expect_error(c.get(API + "/diagnoses/999999/suggestions"), 404, "not_found", "unknown diagnosis")


def test_too_many_labels_in_total(server):
    # A diagnosis may hold at most 5000 labelled rows: the sixth request of
    # a thousand fails as a whole.
    c = harness.Client(server).login_as("alice")
    data, model = model_for(c)
    rows = harness.rows_as_json(data, count=600, with_id=True) * 9
    diag = diagnose(c, model["id"], rows[:5100], name="big")
    cls = model["labels"][0]
    for k in range(5):
        put_labels(c, diag["id"], [{"row": k * 1000 + i + 1, "label": cls} for i in range(1000)])
    e = expect_error(put_labels(c, diag["id"], [{"row": 5001 + i, "label": cls} for i in range(10)], status=422),
                     422, "invalid_data", "label 5001")
    check(details(e).get("field") == "labels" and "at most 5000" in e["message"], "total bound", e)
    check(labels_of(c, diag["id"], "?limit=1")["total"] == 5000, "nothing of it was kept")


def test_access(c):
    alice = c.login_as("alice")
    diag, model = fresh_diagnosis(alice)
    cls = model["labels"][0]
    put_labels(alice, diag["id"], [{"row": 1, "label": cls}])
    bob = c.new().login_as("bob")
    for path in ("/labels", "/suggestions"):
        expect_error(bob.get(API + "/diagnoses/%d%s" % (diag["id"], path)), 404, "not_found", "bob: " + path)
    expect_error(bob.put_json(API + "/diagnoses/%d/labels" % diag["id"], {"labels": [{"row": 1, "label": cls}]}),
                 404, "not_found", "bob labels alice's diagnosis")
    expect_error(retrain(bob, {"feedback": {"diagnosis_ids": [diag["id"]]}}, status=404), 404, "not_found",
                 "bob retrains on alice's diagnosis")
    expect_error(retrain(bob, {"model_id": model["id"], "feedback": {"diagnosis_ids": [diag["id"]]}}, status=404),
                 404, "not_found", "bob names alice's model")
    admin = c.new().login_as("admin")
    out = put_labels(admin, diag["id"], [{"row": 2, "label": cls}])
    check(out["total"] == 2, "an admin may label anyone's diagnosis", out)
    by = {it["row"]: it["labelled_by"]["username"] for it in labels_of(alice, diag["id"])["items"]}
    check(by == {1: "alice", 2: "admin"}, "who labelled which row", by)
    r = c.new().get(API + "/diagnoses/%d/labels" % diag["id"])
    expect_error(r, 401, "unauthorized", "no session")
    r = alice.put_json(API + "/diagnoses/%d/labels" % diag["id"], {"labels": [{"row": 1, "label": cls}]},
                       csrf="wrong")
    expect_error(r, 403, "csrf_failed", "no CSRF token")


def test_diagnosis_without_input(c, server):
    c.login_as("alice")
    diag, model = fresh_diagnosis(c)
    put_labels(c, diag["id"], [{"row": 1, "label": model["labels"][0]}])
    clear_input_key(server, diag["id"])
    got = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200, "old diagnosis")
    check(got["input_stored"] is False, "input_stored false", got)
    for method, path, body in (("GET", "/labels", None), ("GET", "/suggestions", None),
                               ("PUT", "/labels", {"labels": [{"row": 1, "label": "0"}]})):
        url = API + "/diagnoses/%d%s" % (diag["id"], path)
        r = c.get(url) if method == "GET" else c.put_json(url, body)
        e = expect_error(r, 409, "input_not_stored", "%s %s of an old diagnosis" % (method, path))
        check("diagnose the data again" in e["message"], "says what to do", e)
    e = expect_error(retrain(c, {"feedback": {"diagnosis_ids": [diag["id"]]}}, status=409), 409,
                     "input_not_stored", "retrain on an old diagnosis")
    check(details(e).get("field") == "feedback.diagnosis_ids", "names the field", e)
    harness.expect(c.get(API + "/diagnoses/%d/download" % diag["id"]), 200, "its results still download")


def test_retrain_bad_requests(c):
    c.login_as("alice")
    diag, model = fresh_diagnosis(c)

    def bad(body, status, code, field, what):
        e = expect_error(retrain(c, body, status=status), status, code, what)
        check(details(e).get("field") == field, "%s: field %s" % (what, field), e)
        return e

    e = bad({"feedback": {"diagnosis_ids": [diag["id"]]}}, 422, "invalid_data", "feedback.diagnosis_ids",
            "no labelled row")
    check("label" in e["message"], "says to label rows first", e)
    bad({}, 400, "bad_request", "feedback", "no feedback")
    bad({"feedback": {}}, 400, "bad_request", "feedback.diagnosis_ids", "no diagnosis ids")
    bad({"feedback": {"diagnosis_ids": []}}, 422, "invalid_data", "feedback.diagnosis_ids", "empty ids")
    bad({"feedback": {"diagnosis_ids": ["1"]}}, 400, "bad_request", "feedback.diagnosis_ids", "an id as text")
    bad({"feedback": {"diagnosis_ids": list(range(1, 22))}}, 422, "invalid_data", "feedback.diagnosis_ids",
        "21 diagnoses")
    bad({"feedback": {"diagnosis_ids": [diag["id"]], "weight": 0}}, 422, "invalid_params", "feedback.weight",
        "weight 0")
    bad({"feedback": {"diagnosis_ids": [diag["id"]], "weight": 1001}}, 422, "invalid_params", "feedback.weight",
        "weight 1001")
    bad({"feedback": {"diagnosis_ids": [diag["id"]], "weight": "10"}}, 400, "bad_request", "feedback.weight",
        "weight as text")
    bad({"model_id": "x", "feedback": {"diagnosis_ids": [diag["id"]]}}, 400, "bad_request", "model_id",
        "model_id as text")
    bad({"feedback": {"diagnosis_ids": [999999]}}, 404, "not_found", "feedback.diagnosis_ids", "unknown diagnosis")
    put_labels(c, diag["id"], [{"row": 1, "label": model["labels"][0]}])
    bad({"model_id": 999999, "feedback": {"diagnosis_ids": [diag["id"]]}}, 404, "not_found", "model_id",
        "unknown model")


def shifted_data():
    """(training CSV bytes, shifted CSV bytes) from `healer simulate --shift`."""
    tr, sh = harness.tmp_path("fb-train.csv"), harness.tmp_path("fb-shift.csv")
    if not os.path.exists(sh):
        p = harness.run_healer(["simulate", "--out", tr, "--samples", "900", "--features", "12",
                                "--classes", "3", "--seed", "5", "--shift-out", sh,
                                "--shift-samples", "300", "--shift", "2"])
        check(p.returncode == 0, "simulate with a shift: %s" % p.stderr)
    with open(tr, "rb") as f, open(sh, "rb") as g:
        return f.read(), g.read()


@harness.timeout(150)
def test_retrain_changes_predictions(c):
    c.login_as("alice")
    train_csv, shift_csv = shifted_data()
    _, _, old = harness.train_model(c, train_csv, {"rounds": 40}, name="before")
    truth = {i + 1: rec["label"] for i, rec in enumerate(harness.csv_records(shift_csv))}
    rows = harness.rows_as_json(shift_csv, with_id=True)
    diag = diagnose(c, old["id"], rows, name="shifted batch")
    res = results_of(c, diag["id"])
    wrong_before = [r for r in res if res[r]["predicted"] != truth[r]]
    check(len(wrong_before) > 10, "the shift makes the old model wrong on many rows", len(wrong_before))

    # The engineer labels the suggested rows, and some wrong ones, with
    # their true classes.
    sug = expect_json(c.get(API + "/diagnoses/%d/suggestions?per_class=15" % diag["id"]), 200, "suggestions")
    chosen = sorted(set([it["row"] for it in sug["items"]] + wrong_before[:15]))
    put_labels(c, diag["id"], [{"row": r, "label": truth[r]} for r in chosen])
    corrected = [r for r in chosen if res[r]["predicted"] != truth[r]]
    check(len(corrected) >= 5, "some labels correct the model", corrected)

    job = retrain(c, {"feedback": {"diagnosis_ids": [diag["id"]]}})
    check(job["name"] == old["name"] + " + corrections" and job["dataset_id"] == old["dataset_id"], "named after it", job)
    job = harness.wait_job(c, job["id"], timeout=120)
    check(job["state"] == "succeeded" and is_int(job["model_id"]), "the retraining succeeded", job)
    check(job["result"] == {"kind": "model", "id": job["model_id"]}, "its result is the model", job)
    new = expect_json(c.get(API + "/models/%d" % job["model_id"]), 200, "the new model")
    check(new["parent_id"] == old["id"] and new["feedback_rows"] == len(chosen), "lineage", new)
    check(new["dataset_id"] == old["dataset_id"] and new["algo"] == old["algo"], "trained as its parent was", new)
    fb = new["feedback"]
    has_fields(fb, ("weight", "diagnosis_ids", "inherited", "rows", "class_counts", "new_classes", "comparison"),
               "feedback")
    check(fb["weight"] == 10 and fb["diagnosis_ids"] == [diag["id"]] and fb["rows"] == len(chosen), "feedback", fb)
    cmp = fb["comparison"]
    has_fields(cmp, ("in_sample", "columns", "rows", "old", "new", "per_class", "fixed", "broken", "changed",
                     "estimates"), "comparison")
    check(cmp["in_sample"] is True and len(cmp["rows"]) == len(chosen), "every labelled row, in-sample", cmp)
    by_row = {r[1]: r for r in cmp["rows"]}
    for r in chosen:
        check(by_row[r][3] == truth[r] and by_row[r][4] == res[r]["predicted"], "label and old prediction", by_row[r])
    check(cmp["new"]["correct"] > cmp["old"]["correct"] and cmp["fixed"] > 0, "the new model is right more often", cmp)
    check(cmp["new"]["accuracy"] > cmp["old"]["accuracy"], "accuracy on the rows", cmp)
    check(cmp["estimates"]["old"]["source"] == cmp["estimates"]["new"]["source"] == "validation",
          "each model's own out-of-sample estimate", cmp["estimates"])
    listed = [m for m in harness.list_items(c, API + "/models") if m["id"] == new["id"]][0]
    check(listed["parent_id"] == old["id"] and "feedback" not in listed, "the list shows the lineage only", listed)

    # The new model, asked again, predicts the corrected rows as labelled.
    again = diagnose(c, new["id"], [rows[r - 1] for r in corrected], name="again")
    fixed = sum(1 for i, r in enumerate(corrected) if results_of(c, again["id"])[i + 1]["predicted"] == truth[r])
    check(fixed >= 0.8 * len(corrected), "the corrected rows now predicted as labelled (%d of %d)"
          % (fixed, len(corrected)))

    # A second version inherits the first one's diagnosis.
    more = diagnose(c, new["id"], rows[:40], name="next batch")
    put_labels(c, more["id"], [{"row": 1, "label": truth[1]}])
    job2 = retrain(c, {"feedback": {"diagnosis_ids": [more["id"]], "weight": 5}})
    job2 = harness.wait_job(c, job2["id"], timeout=120)
    check(job2["state"] == "succeeded", "the second retraining", job2)
    v3 = expect_json(c.get(API + "/models/%d" % job2["model_id"]), 200, "version 3")
    check(v3["parent_id"] == new["id"] and v3["feedback"]["inherited"] == [diag["id"]], "inherited", v3["feedback"])
    check(sorted(v3["feedback"]["diagnosis_ids"]) == sorted([diag["id"], more["id"]]), "both", v3["feedback"])
    check(v3["feedback_rows"] == len(chosen) + 1 and v3["feedback"]["weight"] == 5, "rows and weight", v3["feedback"])

    # Deleting the parent puts it in the trash: the child still names it
    # (the purge clears parent_id, as store_contract.c checks), and a
    # retraining from the trashed model is refused.
    harness.expect(c.delete(API + "/models/%d" % old["id"]), 200, "delete the old model")
    check(expect_json(c.get(API + "/models/%d" % new["id"]), 200, "child")["parent_id"] == old["id"],
          "the child keeps its trashed parent")
    err = expect_error(retrain(c, {"model_id": old["id"], "feedback": {"diagnosis_ids": [more["id"]]}}, 404),
                       404, "not_found", "retraining a trashed model")
    check("trash" in err["message"], "the refusal says the model is in the trash", err)


def test_trash_keeps_labels_and_input(c, server):
    """A trashed diagnosis keeps its labels and input (the purge removes
    them: tests/api/test_trash.py), takes no new labels and teaches no
    retraining until it is restored."""
    c.login_as("alice")
    diag, model = fresh_diagnosis(c)
    label = model["labels"][0]
    put_labels(c, diag["id"], [{"row": 1, "label": label}])
    inputs = lambda: set(glob.glob(os.path.join(server.data_dir, "blobs", "input", "*")))  # noqa: E731
    before = inputs()
    check(before, "input blobs exist", before)
    harness.expect(c.delete(API + "/diagnoses/%d" % diag["id"]), 200, "delete")
    check(inputs() == before, "its input blob stays while it is in the trash")
    check(labels_of(c, diag["id"])["total"] == 1, "its labels stay readable")
    err = expect_error(put_labels(c, diag["id"], [{"row": 2, "label": label}], status=404), 404, "not_found",
                       "labelling a trashed diagnosis")
    check("trash" in err["message"], "the refusal says it is in the trash", err)
    err = expect_error(retrain(c, {"feedback": {"diagnosis_ids": [diag["id"]]}}, 404), 404, "not_found",
                       "retraining with a trashed diagnosis")
    check("trash" in err["message"], "the refusal says it is in the trash", err)
    expect_json(c.post_json(API + "/diagnoses/%d/restore" % diag["id"], {}), 200, "restore")
    put_labels(c, diag["id"], [{"row": 2, "label": label}])
    check(labels_of(c, diag["id"])["total"] == 2, "restored, it takes labels again")


if __name__ == "__main__":
    harness.main(globals())
