"""test_models.py - trained models: list, summary, download, report, delete.

What: a model trained through the API is listed (MODEL without summary);
its detail carries the summary (params, features, classes, training,
curve, feature_importance, validation or cv metrics), which equals `healer
inspect --json` of the downloaded file; the download is an attachment that
`healer inspect` and `healer predict` load (predict writes the documented
CSV for every row); the report is the summary as a JSON attachment; delete
moves it to the trash (the MODEL with deleted_at; not listed, not usable
for diagnoses; tests/api/test_trash.py has the rest). A stack's summary lists its members (learner,
share of the combination, own out-of-fold macro-F1) and its out-of-fold
estimate, which the list shows as its scores; a screened model's summary
has its KPI screening (threshold, kept, every KPI's signal); the stack's
and the screening's parameters out of range are 422s naming them.

Why: the model file is what users take away to run offline, so it must be
the real thing, byte for byte usable by the CLI; the summary is what the
web page shows, so it must describe that same file.

Run: python3 tests/api/test_models.py [test_name...]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect, expect_error, expect_json, has_fields, is_int, is_num  # noqa: E402

SERVER = {}
DATA = dict(samples=600, features=8, classes=3, seed=1)
PARAMS = {"rounds": 30, "early_stopping_rounds": 10, "validation_fraction": 0.2}


def trained(c, params=None, **data):
    d = dict(DATA)
    d.update(data)
    csv_bytes = harness.simulate(**d)
    ds, job, model = harness.train_model(c, csv_bytes, params if params is not None else PARAMS)
    return csv_bytes, ds, job, model


def save(body, suffix):
    path = harness.tmp_path(harness.unique("m") + suffix)
    with open(path, "wb") as f:
        f.write(body)
    return path


def test_models_list(c):
    c.login_as("alice")
    data, ds, job, model = trained(c)
    r = c.get(API + "/models?limit=1000")
    body = expect_json(r, 200)
    mine = [m for m in body["items"] if m["id"] == model["id"]]
    check(len(mine) == 1, "the new model is listed", r)
    m = mine[0]
    has_fields(m, harness.MODEL_FIELDS, "MODEL")
    check("summary" not in m, "list items carry no summary", m)
    check(m["owner_id"] == c.user["id"] and m["algo"] == "gbdt", "owner and algo", m)
    check(m["dataset_id"] == ds["id"] and m["job_id"] == job["id"], "dataset_id and job_id", m)
    check(m["features"] == 8 and m["classes"] == 3, "8 features, 3 classes", m)
    labels = sorted({r["label"] for r in harness.csv_records(data)})
    check(sorted(m["labels"]) == labels, "labels are the classes %s" % labels, m)
    for k in ("macro_f1", "accuracy"):
        check(m[k] is None or (is_num(m[k]) and 0 <= m[k] <= 1), "%s is null or in [0, 1]" % k, m)
    check(is_int(m["size_bytes"]) and m["size_bytes"] > 0 and is_int(m["created_at"]), "size_bytes and created_at", m)


def test_model_detail_summary(c):
    c.login_as("alice")
    data, ds, job, model = trained(c)
    has_fields(model, harness.MODEL_FIELDS + ("summary",), "MODEL detail")
    s = model["summary"]
    has_fields(s, ("algo", "params", "features", "classes", "data", "training", "curve",
                   "feature_importance", "validation", "cv"), "summary")
    check(s["algo"] == "gbdt", "summary.algo", s["algo"])
    check(s["params"].get("rounds") == 30, "summary.params.rounds is what we asked", s["params"])
    check(s["features"] == harness.feature_names(data), "summary.features are the KPI columns in order", s["features"])
    check(s["classes"] == model["labels"], "summary.classes equal labels", s["classes"])
    t = s["training"]
    has_fields(t, ("rounds_done", "best_round", "trees", "train_seconds"), "summary.training")
    check(1 <= t["rounds_done"] <= 30 and t["trees"] > 0, "rounds_done in 1..30, trees > 0", t)
    check(isinstance(s["curve"]["train_loss"], list) and s["curve"]["train_loss"], "curve.train_loss non-empty", s["curve"])
    fi = s["feature_importance"]
    check(isinstance(fi, list) and fi, "feature_importance non-empty", fi)
    for f in fi:
        has_fields(f, ("feature", "gain", "share", "splits"), "feature_importance[]")
        check(f["feature"] in s["features"], "importance names a model feature", f)
    check(abs(sum(f["share"] for f in fi) - 1) < 1e-3, "importance shares sum to 1", fi)
    check(s["validation"] is not None, "with a hold-out the summary has validation metrics", s)
    harness.check_metrics(s["validation"], s["classes"], what="validation")
    check(s["cv"] is None, "no cross-validation asked: cv is null", s["cv"])


def test_model_with_cross_validation(c):
    c.login_as("alice")
    data, ds, job, model = trained(c, {"rounds": 20, "cv_folds": 3})
    cv = model["summary"]["cv"]
    check(isinstance(cv, dict) and cv.get("folds") == 3, "cv.folds should be 3", cv)
    harness.check_metrics(cv["metrics"], model["summary"]["classes"], samples=600, what="cv.metrics")


def test_model_download_loads_with_cli(c):
    c.login_as("alice")
    data, ds, job, model = trained(c)
    r = c.get(API + "/models/%d/download" % model["id"])
    check(r.status == 200, "download answers 200", r)
    check((r.header("Content-Type") or "").lower().startswith("application/octet-stream"), "octet-stream", r)
    check("attachment" in (r.header("Content-Disposition") or "").lower(), "Content-Disposition: attachment", r)
    check(len(r.body) == model["size_bytes"], "size_bytes equals the downloaded length", r)
    path = save(r.body, ".model")
    p = harness.run_healer(["inspect", "--json", path])
    check(p.returncode == 0, "healer inspect --json loads the download: %s" % p.stderr.strip())
    inspected = json.loads(p.stdout)
    check(inspected.pop("class_names") == model["class_names"], "the file's class names are the model's", inspected)
    diff = harness.deep_close(model["summary"], inspected, "summary")
    check(diff is None, "the API summary should equal `healer inspect --json` of the file: %s" % diff)
    check(harness.run_healer(["inspect", path]).returncode == 0, "plain healer inspect loads it too")
    csv_path = save(data, ".csv")
    out = harness.tmp_path(harness.unique("pred") + ".csv")
    p = harness.run_healer(["predict", "--model", path, "--data", csv_path, "--out", out])
    check(p.returncode == 0, "healer predict with the download works: %s" % p.stderr.strip())
    with open(out, "rb") as f:
        header, rows = harness.parse_csv(f.read())
    want = ["sample_id", "label", "confidence"] + ["prob_" + k for k in model["summary"]["classes"]]
    check(header == want, "prediction header should be %s" % want, header)
    check(len(rows) == 600, "one prediction per row", len(rows))


def test_model_report_attachment(c):
    c.login_as("alice")
    data, ds, job, model = trained(c)
    r = c.get(API + "/models/%d/report" % model["id"])
    check(r.status == 200, "report answers 200", r)
    check("attachment" in (r.header("Content-Disposition") or "").lower(), "the report is an attachment", r)
    check(r.json is not None, "the report is JSON", r)
    diff = harness.deep_close(r.json, model["summary"], "report")
    check(diff is None, "the report is the summary: %s" % diff)


def test_model_delete(c):
    c.login_as("alice")
    data, ds, job, model = trained(c, {"rounds": 5})
    r = c.delete(API + "/models/%d" % model["id"])
    body = expect_json(r, 200, "delete model")
    check(body["id"] == model["id"] and is_int(body["deleted_at"]) and "summary" not in body,
          "delete answers the MODEL, without summary, with deleted_at", r)
    for path in ("", "/download", "/report"):
        expect(c.get(API + "/models/%d%s" % (model["id"], path)), 200, "a trashed model reads" + path)
    check(model["id"] not in harness.list_ids(c, API + "/models"), "a deleted model leaves the list")
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 1)})
    err = expect_error(r, 404, "not_found", "diagnosing with a deleted model")
    check("trash" in err["message"], "the refusal says the model is in the trash", err)
    again = expect_json(c.delete(API + "/models/%d" % model["id"]), 200, "deleting twice")
    check(again["deleted_at"] == body["deleted_at"], "deleting twice keeps the first deleted_at", again)
    # The job still records which model it made.
    check(harness.get_job(c, job["id"])["state"] == "succeeded", "the job stays succeeded")


def train_algo(c, algo, params, data=None):
    """(dataset, model) of a training with `algo` on DATA's simulated set."""
    ds = harness.upload_dataset(c, data or harness.simulate(**DATA), name=algo + "-data")
    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": algo, "params": params})
    job = harness.wait_job(c, expect_json(r, 202, "POST /jobs (%s)" % algo)["id"])
    check(job["state"] == "succeeded", "the %s training succeeds" % algo, job)
    return ds, expect_json(c.get(API + "/models/%d" % job["model_id"]), 200)


def test_stack_summary_members(c):
    c.login_as("alice")
    _, model = train_algo(c, "stack", {"stack_folds": 2, "member_trees": 10})
    s = model["summary"]
    check(model["algo"] == "stack" and s["algo"] == "stack", "algo stack", model)
    p = s["params"]
    check(p["members"] == "gbdt+forest+extratrees" and p["combiner"] == "logistic" and p["stack_folds"] == 2 and
          p["member_trees"] == 10 and p["meta_l2"] == 1.0, "the stack's parameters: defaults and what we asked", p)
    members = s["members"]
    check(isinstance(members, list) and [m["algo"] for m in members] == ["gbdt", "forest", "extratrees"],
          "members: gbdt, forest, extratrees in order", members)
    for m in members:
        has_fields(m, ("algo", "weight", "oof_macro_f1"), "members[]")
        check(is_num(m["weight"]) and 0 <= m["weight"] <= 1, "a member's share is in [0, 1]", m)
        check(is_num(m["oof_macro_f1"]) and 0.5 < m["oof_macro_f1"] <= 1, "a member's out-of-fold macro-F1", m)
    check(abs(sum(m["weight"] for m in members) - 1) < 1e-6, "the shares sum to 1", members)
    oob = s["oob"]
    check(isinstance(oob, dict) and oob["rows"] == 600 and 0.5 < oob["macro_f1"] <= 1 and 0 < oob["accuracy"] <= 1,
          "oob holds the stack's out-of-fold estimate over every row", oob)
    check(s["validation"] is None and s["cv"] is None, "no hold-out, no CV asked", s)
    listed = [m for m in harness.list_items(c, API + "/models") if m["id"] == model["id"]]
    check(listed and harness.close(listed[0]["macro_f1"], oob["macro_f1"]) and
          harness.close(listed[0]["accuracy"], oob["accuracy"]), "the list shows the out-of-fold scores", listed)
    path = save(c.get(API + "/models/%d/download" % model["id"]).body, ".model")
    p = harness.run_healer(["inspect", "--json", path])
    check(p.returncode == 0, "healer inspect --json loads the stack: %s" % p.stderr.strip())
    inspected = json.loads(p.stdout)
    inspected.pop("class_names")
    diff = harness.deep_close(s, inspected, "summary")
    check(diff is None, "the stack's summary equals `healer inspect --json`: %s" % diff)
    _, vote = train_algo(c, "stack", {"stack_folds": 2, "member_trees": 10, "combiner": "vote",
                                      "members": "forest+extratrees"})
    vm = vote["summary"]["members"]
    check([m["algo"] for m in vm] == ["forest", "extratrees"] and all(abs(m["weight"] - 0.5) < 1e-9 for m in vm),
          "a vote of two members: equal shares", vm)


def test_screening_summary(c):
    c.login_as("alice")
    data, ds, job, model = trained(c, {"rounds": 20})
    s = model["summary"]
    check(s["members"] is None, "a GBDT has no members", s["members"])
    sc = s["screening"]
    check(isinstance(sc, dict), "screening is on by default", s)
    has_fields(sc, ("threshold", "kept", "kpis"), "screening")
    check(sc["threshold"] == 0.007 and s["params"]["screen_kpis"] == 0.007, "the default threshold 0.007", sc)
    kpis = sc["kpis"]
    check([k["name"] for k in kpis] == s["features"], "every KPI once, in the model's order", kpis)
    for k in kpis:
        has_fields(k, ("name", "signal", "kept"), "screening.kpis[]")
        check(is_num(k["signal"]) and 0 <= k["signal"] <= 1 and isinstance(k["kept"], bool), "signal in [0, 1], kept", k)
        check(k["kept"] == (k["signal"] >= sc["threshold"]), "kept exactly when the signal reaches the threshold", k)
    check(sc["kept"] == sum(k["kept"] for k in kpis), "kept counts the kept KPIs", sc)
    check(0 < sc["kept"] < len(kpis), "the simulator's noise KPI is left out, the others kept", kpis)
    _, _, _, plain = trained(c, {"rounds": 20, "screen_kpis": 0})
    check(plain["summary"]["screening"] is None and plain["summary"]["params"]["screen_kpis"] == 0,
          "screen_kpis 0: no screening", plain["summary"]["screening"])


def test_stack_and_screening_params_refused(c):
    c.login_as("alice")
    ds = harness.upload_dataset(c, harness.simulate(**DATA), name="bad-params")
    cases = [
        ("stack", {"members": "gbdt+svm"}, "params.members"),
        ("stack", {"members": 3}, "params.members"),
        ("stack", {"combiner": "max"}, "params.combiner"),
        ("stack", {"stack_folds": 1}, "params.stack_folds"),
        ("stack", {"stack_folds": 21}, "params.stack_folds"),
        ("stack", {"meta_l2": -1}, "params.meta_l2"),
        ("stack", {"member_trees": 0}, "params.member_trees"),
        ("stack", {"member_trees": "many"}, "params.member_trees"),
        ("gbdt", {"members": "gbdt+forest"}, "params.members"),
        ("gbdt", {"screen_kpis": 0.6}, "params.screen_kpis"),
        ("gbdt", {"screen_kpis": -0.1}, "params.screen_kpis"),
        ("stack", {"screen_kpis": "high"}, "params.screen_kpis"),
    ]
    before = expect_json(c.get(API + "/jobs?limit=1"), 200)["total"]
    for algo, params, field in cases:
        r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": algo, "params": params})
        err = expect_error(r, 422, "invalid_params", "%s %s" % (algo, params))
        check(err.get("details", {}).get("field") == field, "%s %s: details.field is %s" % (algo, params, field), err)
        check(field.split(".")[1] in err["message"], "the message names the parameter", err)
    check(expect_json(c.get(API + "/jobs?limit=1"), 200)["total"] == before, "no job was queued")


def test_unknown_model_404(c):
    c.login_as("alice")
    for path in ("", "/download", "/report"):
        expect_error(c.get(API + "/models/987654" + path), 404, "not_found")
    expect_error(c.delete(API + "/models/987654"), 404, "not_found")


if __name__ == "__main__":
    harness.main(globals())
