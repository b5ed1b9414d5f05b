"""test_diagnoses.py - diagnosing samples with a trained model.

What: inline JSON rows (one and several, with ids, labels and missing
values) answer 201 with results whose probabilities sum to 1 and match
what `healer predict` computes with the downloaded model; "store": false
answers 200 with id null and stores nothing; a labelled CSV sent as
multipart gets metrics; results page with offset/limit; the CSV download
has the header sample_id,label,confidence,prob_<class>... and one line per
row, the JSON download every row; bad inputs are refused with the right
status, code and details (non-numeric value -> row/column, a KPI the model
needs missing from every row, empty rows, bad CSV, unknown or another
user's model). With --sync-rows 100, requests above 100 rows become
diagnose jobs (202) whose diagnosis can be fetched once they succeed.
Diagnoses of 50 rows or more carry a drift report (null below): none for
rows of the training distribution, the shifted KPIs of the simulator's
shifted file found, the same report read back, in quick checks and in
jobs. "adapt": true re-estimates the batch's class mix for a GBDT (50 rows
or more: applied, the stored predictions are the corrected ones, equal to
`healer predict --adapt`), and says why not for a forest or under 50
rows, by JSON, multipart and in jobs; anything but a boolean is a 422
naming the field.

Why: this is the platform's purpose - a wrong probability or a silently
dropped KPI would be a wrong diagnosis. The model is trained once per
server and shared by the read-only tests.

Run: python3 tests/api/test_diagnoses.py [test_name...]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, has_fields, is_int  # noqa: E402

SERVER = {}
DATA = dict(samples=600, features=8, classes=3, seed=1)
_MODELS = {}


def model_for(c):
    """(csv bytes, MODEL) of alice's shared model on c's server."""
    key = id(c.server)
    if key not in _MODELS:
        owner = c.new().login_as("alice")
        data = harness.simulate(**DATA)
        _, _, model = harness.train_model(owner, data, {"rounds": 30})
        _MODELS[key] = (data, model)
    return _MODELS[key]


def diagnose(c, model_id, rows, expect_status=201, **extra):
    body = {"model_id": model_id, "rows": rows}
    body.update(extra)
    r = c.post_json(API + "/diagnoses", body)
    return expect_json(r, expect_status, "POST /diagnoses (%d rows)" % len(rows)), r


def check_results(diag, classes, first_row=1):
    res = diag["results"]
    has_fields(res, ("items", "total", "offset", "limit"), "results")
    check(res["total"] == diag["rows"], "results.total equals rows", res)
    for i, it in enumerate(res["items"]):
        has_fields(it, harness.RESULT_FIELDS, "result item")
        check(it["row"] == first_row + i, "result rows are 1-based and in order", it)
        probs = it["probabilities"]
        check(set(probs) == set(classes), "probabilities cover the classes %s" % classes, it)
        check(abs(sum(probs.values()) - 1) < 1e-4, "probabilities sum to 1", it)
        check(it["predicted"] in classes, "predicted is a class", it)
        check(abs(it["confidence"] - max(probs.values())) < 1e-6 and abs(probs[it["predicted"]] - it["confidence"]) < 1e-6,
              "confidence is the probability of the predicted class, the largest", it)


def check_diagnosis(diag, model, rows):
    has_fields(diag, harness.DIAGNOSIS_FIELDS, "DIAGNOSIS")
    check(diag["rows"] == rows, "rows should be %d" % rows, diag)
    check(diag["model_id"] == model["id"], "model_id", diag)
    check(diag["classes"] == model["labels"], "classes are the model's", diag)
    check(sum(diag["class_counts"].values()) == rows and set(diag["class_counts"]) <= set(diag["classes"]),
          "class_counts count every row by predicted class", diag)
    check(isinstance(diag["warnings"], list), "warnings is an array", diag)
    check(is_int(diag["unknown_labels"]), "unknown_labels is an integer", diag)


def test_inline_single_row(c):
    data, model = model_for(c)
    c.login_as("alice")
    diag, r = diagnose(c, model["id"], harness.rows_as_json(data, 0, 1), name="one")
    check_diagnosis(diag, model, 1)
    check(is_int(diag["id"]) and diag["owner_id"] == c.user["id"] and diag["job_id"] is None,
          "a stored sync diagnosis: id set, owner, no job", diag)
    check(diag["name"] == "one", "name is kept", diag)
    check(diag["metrics"] is None, "no labels: metrics null", diag)
    check(len(diag["results"]["items"]) == 1, "one result", diag)
    check_results(diag, model["labels"])
    it = diag["results"]["items"][0]
    check(it["sample_id"] is None and it["label"] is None, "no sample_id / label given: both null", it)
    got = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200)
    diff = harness.deep_close(got["results"]["items"], diag["results"]["items"], "results", rel=1e-6)
    check(diff is None, "GET returns the same results as the POST: %s" % diff, got)


def test_inline_matches_cli_predict(c):
    data, model = model_for(c)
    c.login_as("alice")
    n = 25
    diag, _ = diagnose(c, model["id"], harness.rows_as_json(data, 0, n))
    r = c.get(API + "/models/%d/download" % model["id"])
    check(r.status == 200, "model download", r)
    mpath = harness.tmp_path(harness.unique() + ".model")
    with open(mpath, "wb") as f:
        f.write(r.body)
    header, rows = harness.parse_csv(data)
    part = harness.tmp_path(harness.unique() + ".csv")
    with open(part, "w") as f:
        f.write(",".join(header) + "\n" + "".join(",".join(row) + "\n" for row in rows[:n]))
    out = harness.tmp_path(harness.unique() + ".pred.csv")
    p = harness.run_healer(["predict", "--model", mpath, "--data", part, "--out", out])
    check(p.returncode == 0, "healer predict: %s" % p.stderr)
    with open(out, "rb") as f:
        preds = harness.csv_records(f.read())
    items = diag["results"]["items"]
    check(len(items) == n, "first page holds all %d rows" % n, diag["results"])
    for it, pr in zip(items, preds):
        check(it["predicted"] == pr["label"], "row %d: API predicts %s, healer predict %s" % (it["row"], it["predicted"], pr["label"]))
        for k, v in it["probabilities"].items():
            check(abs(v - float(pr["prob_" + k])) < 1e-5, "row %d: prob_%s %s vs CLI %s" % (it["row"], k, v, pr["prob_" + k]))


def test_inline_several_rows_with_ids_labels_missing(c):
    data, model = model_for(c)
    c.login_as("alice")
    rows = harness.rows_as_json(data, 10, 6, with_id=True, with_label=True)
    rows[1]["feature0"] = None          # null: a missing value
    del rows[2]["feature3"]             # absent: a missing value too
    diag, _ = diagnose(c, model["id"], rows)
    check_diagnosis(diag, model, 6)
    check_results(diag, model["labels"])
    items = diag["results"]["items"]
    check([it["sample_id"] for it in items] == [r["sample_id"] for r in rows], "sample_ids are echoed", items)
    check([it["label"] for it in items] == [r["label"] for r in rows], "true labels are echoed", items)
    check(diag["metrics"] is not None, "labelled input: metrics present", diag)
    harness.check_metrics(diag["metrics"], diag["classes"], samples=6, what="diagnosis metrics")
    check(diag["unknown_labels"] == 0, "all labels are known classes", diag)


def test_unknown_labels_counted(c):
    data, model = model_for(c)
    c.login_as("alice")
    rows = harness.rows_as_json(data, 0, 4, with_label=True)
    rows[0]["label"] = "no-such-class"
    diag, _ = diagnose(c, model["id"], rows)
    check(diag["unknown_labels"] == 1, "one label unknown to the model", diag)


def test_store_false_quick_check(c):
    data, model = model_for(c)
    c.login_as("alice")
    before = harness.list_ids(c, API + "/diagnoses")
    diag, r = diagnose(c, model["id"], harness.rows_as_json(data, 0, 3), expect_status=200, store=False)
    check(diag["id"] is None, "store false: id null", diag)
    check(len(diag["results"]["items"]) == 3, "the results are returned", diag)
    check_results(diag, model["labels"])
    check(harness.list_ids(c, API + "/diagnoses") == before, "store false stores nothing")


_SHIFTED = {}


def shifted_data():
    """(csv bytes, shifted KPI names) of the simulator's shifted file for
    the system of DATA (its main file is DATA's)."""
    if not _SHIFTED:
        main = harness.tmp_path(harness.unique() + ".csv")
        path = harness.tmp_path(harness.unique() + "-shifted.csv")
        p = harness.run_healer(["simulate", "--out", main, "--samples", str(DATA["samples"]),
                                "--features", str(DATA["features"]), "--classes", str(DATA["classes"]),
                                "--seed", str(DATA["seed"]), "--shift-out", path, "--shift-samples", "300"])
        check(p.returncode == 0, "healer simulate --shift-out: %s" % p.stderr)
        named = [l for l in p.stderr.splitlines() if l.startswith("shifted KPIs:")]
        check(named, "simulate names the shifted KPIs", p.stderr)
        with open(path, "rb") as f:
            _SHIFTED["data"] = (f.read(), set(named[0].split(":")[1].split()))
    return _SHIFTED["data"]


def check_drift(drift, rows, what):
    has_fields(drift, harness.DRIFT_FIELDS, what)
    check(drift["verdict"] in ("none", "moderate", "severe") and drift["rows"] == rows, what + ": verdict, rows", drift)
    check(drift["kpis_total"] == DATA["features"] and drift["reference_rows"] == DATA["samples"],
          what + ": every KPI of the model, the training rows", drift)
    kpis = drift["kpis"]
    for k in kpis:
        has_fields(k, harness.DRIFT_KPI_FIELDS, what + " KPI")
        check(k["psi"] >= 0 and 0 <= k["ks"] <= 1 and isinstance(k["significant"], bool),
              what + ": psi, ks, significant", k)
        check(k["level"] == "none" if not k["significant"] else k["level"] in ("moderate", "severe"),
              what + ": a KPI has a level only when significant", k)
    check(len({k["kpi"] for k in kpis}) == len(kpis), what + ": each KPI once", kpis)
    check(sum(k["significant"] for k in kpis) == drift["significant"], what + ": every significant KPI is listed", drift)
    check(len(kpis) == min(drift["kpis_total"], max(10, drift["significant"])),
          what + ": the significant KPIs and the worst others up to ten", drift)
    order = {"severe": 2, "moderate": 1, "none": 0}
    check(all((order[a["level"]], a["psi"]) >= (order[b["level"]], b["psi"]) for a, b in zip(kpis, kpis[1:])),
          what + ": worst first", kpis)
    check(drift["thresholds"]["min_rows"] == 50, what + ": the thresholds", drift["thresholds"])
    check(abs(sum(drift["reference_class_mix"].values()) - 1) < 1e-9, what + ": the training class mix", drift)


def test_drift_from_50_rows(c):
    data, model = model_for(c)
    c.login_as("alice")
    diag, _ = diagnose(c, model["id"], harness.rows_as_json(data, 0, 49))
    check(diag["drift"] is None, "49 rows: no drift report", diag)
    check(diag["drift_skipped"] == {"reason": "too_few_rows", "min_rows": 50,
                                    "message": "drift is checked from 50 rows"},
          "49 rows: drift_skipped says why", diag)
    diag, _ = diagnose(c, model["id"], harness.rows_as_json(data, 0, 50), name="fifty")
    check_drift(diag["drift"], 50, "50 training rows")
    check(diag["drift_skipped"] is None, "a drift report: drift_skipped null", diag)
    check(diag["drift"]["verdict"] == "none" and diag["drift"]["significant"] == 0,
          "rows of the training data have not drifted", diag["drift"])
    got = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200)
    check(got["drift"] == diag["drift"], "GET returns the drift report stored with the diagnosis", got["drift"])
    listed = [d for d in harness.list_items(c, API + "/diagnoses") if d["id"] == diag["id"]]
    check(listed and listed[0]["drift"] == diag["drift"], "the list shows it too", listed)
    quick, _ = diagnose(c, model["id"], harness.rows_as_json(data, 100, 60), expect_status=200, store=False)
    check_drift(quick["drift"], 60, "a quick check of 60 rows")


def test_drift_of_a_shifted_csv(c):
    _, model = model_for(c)
    c.login_as("alice")
    shifted, moved = shifted_data()
    diag = expect_json(upload_diagnosis(c, model["id"], shifted, "shifted.csv"), 201, "the shifted file")
    drift = diag["drift"]
    check_drift(drift, 300, "the shifted file")
    check(drift["verdict"] != "none", "the shifted file has drifted", drift)
    found = {k["kpi"] for k in drift["kpis"] if k["significant"]}
    check(moved <= found, "the KPIs the simulator moved (%s) are significant (%s)" % (sorted(moved), sorted(found)), drift)
    got = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200)
    check(got["drift"] == drift, "GET returns the same report", got["drift"])


def upload_diagnosis(c, model_id, csv_bytes, filename="samples.csv", fields=None):
    form = {"model_id": str(model_id)}
    form.update(fields or {})
    return c.upload(API + "/diagnoses", form, {"file": (filename, csv_bytes)})


# ---- adapting to the batch's class mix ----

_FOREST = {}


def forest_for(c):
    """alice's forest (votes: not calibrated) on c's server, trained on DATA."""
    key = id(c.server)
    if key not in _FOREST:
        owner = c.new().login_as("alice")
        ds = harness.upload_dataset(owner, harness.simulate(**DATA), name="forest-data")
        r = owner.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "forest",
                                            "params": {"trees": 20}})
        job = harness.wait_job(owner, expect_json(r, 202, "POST /jobs (forest)")["id"])
        check(job["state"] == "succeeded", "the forest trains", job)
        _FOREST[key] = expect_json(owner.get(API + "/models/%d" % job["model_id"]), 200)
    return _FOREST[key]


def skewed_rows(data, major, n_major=90, n_other=10):
    """n_major labelled rows of class `major` then n_other of the others: a
    batch whose class mix is far from the training data's."""
    rows = harness.rows_as_json(data, with_label=True)
    return ([r for r in rows if r["label"] == major][:n_major] +
            [r for r in rows if r["label"] != major][:n_other])


def check_adapt(a, classes, what):
    has_fields(a, harness.ADAPT_FIELDS, what)
    check(isinstance(a["applied"], bool) and isinstance(a["converged"], bool), what + ": applied, converged", a)
    check(a["min_rows"] == 50 and is_int(a["iterations"]) and is_int(a["changed"]) and a["changed"] >= 0,
          what + ": min_rows 50, iterations, changed", a)
    check(set(a["training_mix"]) == set(classes) and abs(sum(a["training_mix"].values()) - 1) < 1e-6,
          what + ": the training mix covers the classes", a)
    if a["applied"]:
        check(a["reason"] is None and a["reason_code"] is None, what + ": applied, no reason", a)
        check(set(a["class_mix"]) == set(classes) and abs(sum(a["class_mix"].values()) - 1) < 1e-6,
              what + ": the estimated mix covers the classes and sums to 1", a)
        check(a["iterations"] >= 1, what + ": EM ran", a)
    else:
        check(isinstance(a["reason"], str) and a["reason"], what + ": a reason", a)
        check(a["class_mix"] == {} and a["changed"] == 0 and a["iterations"] == 0, what + ": nothing estimated", a)


def test_adapt_applied_on_gbdt(c):
    data, model = model_for(c)
    c.login_as("alice")
    classes = model["labels"]
    major = classes[-1]
    rows = skewed_rows(data, major)
    plain, _ = diagnose(c, model["id"], rows, name="plain")
    check(plain["adapt"] is None, "not asked: adapt null", plain)
    off, _ = diagnose(c, model["id"], rows, adapt=False, name="off")
    check(off["adapt"] is None, "adapt false: null", off)
    diag, _ = diagnose(c, model["id"], rows, adapt=True, name="adapted")
    check_diagnosis(diag, model, len(rows))
    a = diag["adapt"]
    check_adapt(a, classes, "adapt of 100 GBDT rows")
    check(a["applied"] and a["converged"], "a GBDT is calibrated: adapted, converged", a)
    check(a["class_mix"][major] > a["training_mix"][major] and a["class_mix"][major] > 0.5,
          "the batch is %d %% class %s: its estimated share grows past a half" % (90, major), a)
    items = diag["results"]["items"]
    check(len(items) == len(rows), "every row on the first page", diag["results"])
    check_results(diag, classes)
    before = {it["row"]: it["predicted"] for it in plain["results"]["items"]}
    check(sum(before[it["row"]] != it["predicted"] for it in items) == a["changed"],
          "changed counts the rows whose prediction the correction changed", a)
    counts = {k: 0 for k in classes}
    for it in items:
        counts[it["predicted"]] += 1
    check(counts == diag["class_counts"], "class_counts count the corrected predictions", diag["class_counts"])
    check(diag["metrics"]["samples"] == len(rows), "the metrics score the corrected predictions", diag["metrics"])
    got = expect_json(c.get(API + "/diagnoses/%d?limit=1000" % diag["id"]), 200)
    check(got["adapt"] == a, "GET returns the stored report", got["adapt"])
    check(harness.deep_close(got["results"]["items"], items, "results", rel=1e-6) is None,
          "the stored rows are the corrected ones", got["results"]["items"][:2])
    # The same as the command line's predict --adapt with the downloaded model.
    r = c.get(API + "/models/%d/download" % model["id"])
    mpath = harness.tmp_path(harness.unique() + ".model")
    with open(mpath, "wb") as f:
        f.write(r.body)
    feats = harness.feature_names(data)
    part = harness.tmp_path(harness.unique() + ".csv")
    with open(part, "w") as f:
        f.write(",".join(feats + ["label"]) + "\n")
        for row in rows:
            f.write(",".join("" if row[k] is None else repr(row[k]) for k in feats) + "," + row["label"] + "\n")
    out = harness.tmp_path(harness.unique() + ".pred.csv")
    p = harness.run_healer(["predict", "--model", mpath, "--data", part, "--out", out, "--adapt", "--json"])
    check(p.returncode == 0, "healer predict --adapt: %s" % p.stderr)
    cli = json.loads(p.stdout)["adapt"]
    check(cli["changed"] == a["changed"] and cli["iterations"] == a["iterations"],
          "the CLI and the API adapt alike", {"cli": cli, "api": a})
    with open(out, "rb") as f:
        preds = harness.csv_records(f.read())
    for it, pr in zip(items, preds):
        check(it["predicted"] == pr["label"], "row %d: API %s, healer predict --adapt %s" % (it["row"], it["predicted"], pr["label"]))
        for k, v in it["probabilities"].items():
            check(abs(v - float(pr["prob_" + k])) < 1e-5, "row %d: prob_%s %s vs CLI %s" % (it["row"], k, v, pr["prob_" + k]))
    quick, _ = diagnose(c, model["id"], rows, expect_status=200, store=False, adapt=True)
    check(quick["adapt"] == a, "a quick check (store false) adapts alike", quick["adapt"])


def test_adapt_not_applied_says_why(c):
    data, model = model_for(c)
    c.login_as("alice")
    diag, _ = diagnose(c, model["id"], harness.rows_as_json(data, 0, 49), adapt=True)
    a = diag["adapt"]
    check_adapt(a, model["labels"], "adapt of 49 rows")
    check(not a["applied"] and a["reason_code"] == "too_few_rows" and "too few" in a["reason"],
          "49 rows are too few: not applied, with the reason", a)
    plain, _ = diagnose(c, model["id"], harness.rows_as_json(data, 0, 49))
    check([it["probabilities"] for it in plain["results"]["items"]] ==
          [it["probabilities"] for it in diag["results"]["items"]], "not applied: the predictions are as without")
    forest = forest_for(c)
    c.login_as("alice")
    diag, _ = diagnose(c, forest["id"], harness.rows_as_json(data, 0, 120), adapt=True)
    a = diag["adapt"]
    check_adapt(a, forest["labels"], "adapt with a forest")
    check(not a["applied"] and a["reason_code"] == "not_calibrated" and "not calibrated" in a["reason"],
          "a forest's votes are not calibrated: not applied, with the reason", a)
    up = expect_json(upload_diagnosis(c, forest["id"], data, fields={"adapt": "true"}), 201, "multipart adapt=true, forest")
    check(up["adapt"]["reason_code"] == "not_calibrated", "multipart: the same reason", up["adapt"])


def test_adapt_multipart(c):
    data, model = model_for(c)
    c.login_as("alice")
    diag = expect_json(upload_diagnosis(c, model["id"], data, fields={"adapt": "true"}), 201, "multipart adapt=true")
    check_adapt(diag["adapt"], model["labels"], "multipart adapt")
    check(diag["adapt"]["applied"], "600 rows, a GBDT: applied", diag["adapt"])
    diag = expect_json(upload_diagnosis(c, model["id"], data, fields={"adapt": "false"}), 201, "multipart adapt=false")
    check(diag["adapt"] is None, "adapt=false: null", diag)


def test_adapt_must_be_a_boolean(c):
    data, model = model_for(c)
    c.login_as("alice")
    rows = harness.rows_as_json(data, 0, 3)
    before = harness.list_ids(c, API + "/diagnoses")
    for bad in ("yes", "true", 1, 0, [], {}):
        r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows, "adapt": bad})
        err = expect_error(r, 422, "invalid_data", "adapt: %r" % (bad,))
        check(details(err).get("field") == "adapt", "details.field names adapt", err)
        check("adapt" in err["message"] and "true or false" in err["message"], "the message says what is expected", err)
    for bad in ("yes", "1", "", "TRUE"):
        r = upload_diagnosis(c, model["id"], data, fields={"adapt": bad})
        err = expect_error(r, 422, "invalid_data", "multipart adapt=%r" % bad)
        check(details(err).get("field") == "adapt", "details.field names adapt (multipart)", err)
    check(harness.list_ids(c, API + "/diagnoses") == before, "nothing was stored")
    diag, _ = diagnose(c, model["id"], rows, adapt=None)
    check(diag["adapt"] is None, "adapt null counts as absent", diag)


def test_multipart_csv_with_labels(c):
    data, model = model_for(c)
    c.login_as("alice")
    r = upload_diagnosis(c, model["id"], data)
    diag = expect_json(r, 201, "multipart diagnosis")
    check_diagnosis(diag, model, 600)
    check_results(diag, model["labels"])
    res = diag["results"]
    check(res["offset"] == 0 and 1 <= len(res["items"]) <= res["limit"] and len(res["items"]) == min(600, res["limit"]),
          "the first page of results", res)
    recs = harness.csv_records(data)
    for it in res["items"]:
        check(it["sample_id"] == recs[it["row"] - 1]["sample_id"] and it["label"] == recs[it["row"] - 1]["label"],
              "row %d keeps its sample_id and label" % it["row"], it)
    check(diag["metrics"] is not None, "a labelled CSV gets metrics", diag)
    harness.check_metrics(diag["metrics"], diag["classes"], samples=600, what="diagnosis metrics")
    check(diag["metrics"]["accuracy"] > 0.8, "the model trained on this data should mostly agree with it", diag["metrics"])


def test_projection_for_the_scatter(c):
    """The 2-D PCA projection of the diagnosed samples: one point per row
    with its predicted class index and confidence; evenly sampled and
    flagged as such beyond max_points; the same answer every time."""
    data, model = model_for(c)
    c.login_as("alice")
    diag = expect_json(upload_diagnosis(c, model["id"], data), 201)
    path = API + "/diagnoses/%d/projection" % diag["id"]
    p = expect_json(c.get(path), 200, "projection")
    has_fields(p, ("total", "sampled", "shown", "explained_variance", "classes", "columns", "points"), "projection")
    check(p["total"] == 600 and p["shown"] == 600 and p["sampled"] is False, "every row is shown", p)
    check(p["columns"] == ["row", "x", "y", "predicted", "confidence"], "column names", p)
    check(len(p["points"]) == 600 and [pt[0] for pt in p["points"]] == list(range(1, 601)), "rows 1..600 in order")
    ev = p["explained_variance"]
    check(len(ev) == 2 and 0 < ev[1] <= ev[0] <= 1, "explained variance is ordered fractions", ev)
    counts = {}
    for row, x, y, k, conf in p["points"]:
        check(isinstance(x, float) and isinstance(y, float), "coordinates are numbers", [row, x, y])
        check(0 <= k < len(p["classes"]) and 0 < conf <= 1, "class index and confidence", [row, k, conf])
        counts[p["classes"][k]] = counts.get(p["classes"][k], 0) + 1
    check(counts == {k: v for k, v in diag["class_counts"].items() if v}, "points carry the predicted classes", counts)
    again = expect_json(c.get(path), 200)
    check(again["points"] == p["points"], "the projection is deterministic")
    small = expect_json(c.get(path + "?max_points=50"), 200, "sampled projection")
    check(small["sampled"] is True and small["shown"] == 50 and len(small["points"]) == 50, "sampled to 50", small)
    check(len({pt[0] for pt in small["points"]}) == 50, "sampled rows are distinct", small)
    for bad in ("0", "abc", "-3", "100001"):
        expect_error(c.get(path + "?max_points=" + bad), 400, "bad_request")
    other = c.new().login_as("bob")
    expect_error(other.get(path), 404, "not_found")


def test_download_csv_and_json(c):
    data, model = model_for(c)
    c.login_as("alice")
    diag = expect_json(upload_diagnosis(c, model["id"], data), 201)
    r = c.get(API + "/diagnoses/%d/download?format=csv" % diag["id"])
    check(r.status == 200 and (r.header("Content-Type") or "").lower().startswith("text/csv"), "CSV download", r)
    header, rows = harness.parse_csv(r.body)
    want = ["sample_id", "label", "confidence"] + ["prob_" + k for k in diag["classes"]]
    check(header == want, "CSV header should be %s" % ",".join(want), header)
    check(len(rows) == 600, "one CSV line per row", len(rows))
    recs = harness.csv_records(data)
    check([row[0] for row in rows] == [x["sample_id"] for x in recs], "sample_id column is the input's")
    r = c.get(API + "/diagnoses/%d/download?format=json" % diag["id"])
    body = expect_json(r, 200, "JSON download")
    has_fields(body, ("diagnosis", "rows"), "JSON download")
    check(body["diagnosis"]["id"] == diag["id"], "the JSON download names the diagnosis", body["diagnosis"])
    check(len(body["rows"]) == 600, "the JSON download holds every row", len(body["rows"]))
    for row, item in zip(rows, body["rows"]):
        check(row[1] == item["predicted"], "CSV label is the predicted class (row %d)" % item["row"], (row, item))
        check(abs(float(row[2]) - item["confidence"]) < 1e-5, "CSV confidence matches (row %d)" % item["row"], (row, item))
        probs = [float(x) for x in row[3:]]
        check(abs(sum(probs) - 1) < 1e-4, "CSV probabilities sum to 1 (row %d)" % item["row"], row)
    page = expect_json(c.get(API + "/diagnoses/%d?offset=0&limit=50" % diag["id"]), 200)["results"]["items"]
    diff = harness.deep_close(body["rows"][:50], page, "rows", rel=1e-6)
    check(diff is None, "the JSON download rows equal the paged results: %s" % diff)
    expect_error(c.get(API + "/diagnoses/%d/download?format=xml" % diag["id"]), 400, "bad_request")


def test_csv_download_numbers_rows_without_ids(c):
    data, model = model_for(c)
    c.login_as("alice")
    diag, _ = diagnose(c, model["id"], harness.rows_as_json(data, 0, 4))
    r = c.get(API + "/diagnoses/%d/download?format=csv" % diag["id"])
    header, rows = harness.parse_csv(r.body)
    check([row[0] for row in rows] == ["1", "2", "3", "4"], "without ids, sample_id is the 1-based row number", rows)


def test_results_pagination(c):
    data, model = model_for(c)
    c.login_as("alice")
    diag = expect_json(upload_diagnosis(c, model["id"], data), 201)
    r = c.get(API + "/diagnoses/%d?offset=10&limit=5" % diag["id"])
    res = expect_json(r, 200)["results"]
    check(res["offset"] == 10 and res["limit"] == 5 and res["total"] == 600, "page echoes offset, limit, total", res)
    check([it["row"] for it in res["items"]] == [11, 12, 13, 14, 15], "offset 10 limit 5 is rows 11..15", res)
    last = expect_json(c.get(API + "/diagnoses/%d?offset=598&limit=10" % diag["id"]), 200)["results"]
    check([it["row"] for it in last["items"]] == [599, 600], "the last page is short", last)
    past = expect_json(c.get(API + "/diagnoses/%d?offset=600&limit=10" % diag["id"]), 200)["results"]
    check(past["items"] == [], "past the end: no items", past)
    whole = expect_json(c.get(API + "/diagnoses/%d?limit=1000" % diag["id"]), 200)["results"]
    check(len(whole["items"]) == 600, "limit 1000 returns all 600", len(whole["items"]))
    for q in ("limit=0", "limit=1001", "offset=-1", "limit=x"):
        expect_error(c.get(API + "/diagnoses/%d?%s" % (diag["id"], q)), 400, "bad_request")


def test_non_numeric_value_422(c):
    data, model = model_for(c)
    c.login_as("alice")
    before = harness.list_ids(c, API + "/diagnoses")
    rows = harness.rows_as_json(data, 0, 3)
    rows[1]["feature2"] = "abc"
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows})
    err = expect_error(r, 422, "invalid_data")
    check(details(err).get("row") == 2, "details.row should be 2 (1-based)", r)
    check(details(err).get("column") == "feature2", "details.column should be feature2", r)
    for bad in ("1,5", "high", True, [1], {"v": 1}):
        rows = harness.rows_as_json(data, 0, 1)
        rows[0]["feature0"] = bad
        r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows})
        err = expect_error(r, 422, "invalid_data", "value %r" % (bad,))
        check(details(err).get("row") == 1 and details(err).get("column") == "feature0", "row 1, column feature0", r)
    check(harness.list_ids(c, API + "/diagnoses") == before, "refused diagnoses store nothing")


def test_rows_may_omit_kpis_with_one_warning(c):
    # A pasted sample need not have every KPI: what a row leaves out is a
    # missing value there, and ONE warning names every KPI left out.
    data, model = model_for(c)
    c.login_as("alice")
    rows = harness.rows_as_json(data, 0, 3)
    for row in rows:
        del row["feature5"]
        del row["feature2"]
    del rows[1]["feature0"]  # left out in one row only
    diag, _ = diagnose(c, model["id"], rows)
    check(diag["rows"] == 3 and diag["results"]["total"] == 3, "the rows are diagnosed", diag)
    named = [w for w in diag["warnings"] if "taken as missing" in w]
    check(len(named) == 1, "one warning for the KPIs left out", diag["warnings"])
    w = named[0]
    check(all(k in w for k in ("feature0", "feature2", "feature5")) and "feature1" not in w,
          "the warning lists every KPI left out and only those", w)
    check(w.startswith("3 of the model's 8 KPIs"), "the warning counts them", w)
    # A null value is a missing value given: no warning about it.
    rows = harness.rows_as_json(data, 0, 2)
    for row in rows:
        row["feature1"] = None
    diag, _ = diagnose(c, model["id"], rows)
    check(not [w for w in diag["warnings"] if "taken as missing" in w], "null is not left out", diag["warnings"])
    # Many KPIs left out: all of them are still listed (no cut at 1 KiB).
    wide_data = harness.simulate(samples=300, features=120, classes=3, seed=4)
    _, _, wide = harness.train_model(c, wide_data, {"rounds": 3})
    rows = [{"sample_id": "only-one", "feature0": 1.0}]
    diag, _ = diagnose(c, wide["id"], rows)
    w = [w for w in diag["warnings"] if "taken as missing" in w]
    f = wide["features"]
    check(len(w) == 1 and w[0].startswith("%d of the model's %d KPIs" % (f - 1, f)) and len(w[0]) > 1024
          and w[0].count(", feature") == f - 2 and "feature119" in w[0],
          "all %d KPIs left out are named, past 1 KiB" % (f - 1), diag["warnings"])


def test_rows_with_none_of_the_kpis_422(c):
    data, model = model_for(c)
    c.login_as("alice")
    err = expect_error(c.post_json(API + "/diagnoses", {"model_id": model["id"],
                                                        "rows": [{"cpu": 1.0}, {"mem": 2.0}]}),
                       422, "invalid_data")
    check(details(err).get("field") == "rows" and "none of the model's 8 KPIs" in err["message"],
          "the refusal says the rows have none of the model's KPIs", err)


def test_extra_columns_are_ignored(c):
    data, model = model_for(c)
    c.login_as("alice")
    rows = harness.rows_as_json(data, 0, 2)
    for row in rows:
        row["not_a_feature"] = 1.0
    diag, _ = diagnose(c, model["id"], rows)
    check(diag["rows"] == 2, "extra keys do not stop a diagnosis", diag)


def test_empty_rows_422(c):
    data, model = model_for(c)
    c.login_as("alice")
    expect_error(c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": []}), 422, "invalid_data")
    for body in ({"model_id": model["id"]}, {"model_id": model["id"], "rows": "x"},
                 {"model_id": model["id"], "rows": [1, 2]}, {"rows": harness.rows_as_json(data, 0, 1)}):
        expect_error(c.post_json(API + "/diagnoses", body), (400, 422), ("bad_request", "invalid_data", "invalid_params"),
                     "body %s" % list(body))


def test_unknown_model_404(c):
    data, model = model_for(c)
    c.login_as("alice")
    expect_error(c.post_json(API + "/diagnoses", {"model_id": 987654, "rows": harness.rows_as_json(data, 0, 1)}),
                 404, "not_found")
    expect_error(upload_diagnosis(c, 987654, data), 404, "not_found")


def test_other_users_model_404(c):
    data, model = model_for(c)
    c.login_as("bob")
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 1)})
    expect_error(r, 404, "not_found", "bob diagnosing with alice's model")
    expect_error(upload_diagnosis(c, model["id"], data), 404, "not_found", "bob uploading for alice's model")
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 1),
                                          "store": False})
    expect_error(r, 404, "not_found", "bob's quick check with alice's model")


def test_multipart_bad_csv_422(c):
    data, model = model_for(c)
    c.login_as("alice")
    header, rows = harness.parse_csv(data)
    lines = [",".join(header)] + [",".join(r) for r in rows[:5]]
    col = header.index("feature3")
    bad = rows[2][:]
    bad[col] = "high"  # ("n/a", "NA", "null", "NaN" are missing values, not errors)
    lines[3] = ",".join(bad)
    r = upload_diagnosis(c, model["id"], ("\n".join(lines) + "\n").encode())
    err = expect_error(r, 422, "invalid_csv")
    check(details(err).get("line") == 4, "details.line should be 4 (header is line 1)", err)
    check(details(err).get("column") == "feature3", "details.column should be feature3", err)
    drop = header.index("feature6")
    cut = [",".join(v for i, v in enumerate(line.split(",")) if i != drop) for line in lines[:1] + lines[4:]]
    r = upload_diagnosis(c, model["id"], ("\n".join(cut) + "\n").encode())
    err = expect_error(r, 422, "invalid_data", "a CSV lacking feature6")
    check("feature6" in err["message"] or "feature6" in details(err).values(), "the error names feature6", err)
    expect_error(upload_diagnosis(c, model["id"], b""), 422, "invalid_csv", "an empty CSV")
    r = c.upload(API + "/diagnoses", {}, {"file": ("x.csv", data)})
    expect_error(r, (400, 422), ("bad_request", "invalid_params", "invalid_data"), "multipart without model_id")
    r = c.upload(API + "/diagnoses", {"model_id": str(model["id"])}, {})
    expect_error(r, 400, "bad_request", "multipart without file")


def test_list_and_delete(c):
    data, model = model_for(c)
    c.login_as("alice")
    diag, _ = diagnose(c, model["id"], harness.rows_as_json(data, 0, 2), name="to-delete")
    items = harness.list_items(c, API + "/diagnoses")
    mine = [d for d in items if d["id"] == diag["id"]]
    check(mine and "results" not in mine[0], "listed without results", mine)
    has_fields(mine[0], harness.DIAGNOSIS_FIELDS, "listed DIAGNOSIS")
    r = c.delete(API + "/diagnoses/%d" % diag["id"])
    body = expect_json(r, 200)
    check(body["id"] == diag["id"] and harness.is_int(body["deleted_at"]) and "results" not in body,
          "delete answers the DIAGNOSIS, without results, with deleted_at", r)
    check(diag["id"] not in harness.list_ids(c, API + "/diagnoses"), "a deleted diagnosis leaves the list")
    # In the trash it can still be read (tests/api/test_trash.py has the rest).
    expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200)
    harness.expect(c.get(API + "/diagnoses/%d/download?format=csv" % diag["id"]), 200)


def sync_rows_server():
    """A server with --sync-rows 100, alice logged in, a trained model."""
    s = harness.Server(args=["--sync-rows", "100"], name="server with --sync-rows 100").start()
    c = s.client().login_as("alice")
    data = harness.simulate(**DATA)
    _, _, model = harness.train_model(c, data, {"rounds": 20})
    return s, c, data, model


def csv_head(data, n):
    header, rows = harness.parse_csv(data)
    return (",".join(header) + "\n" + "".join(",".join(row) + "\n" for row in rows[:n])).encode()


def wait_diagnose_job(c, r, rows, what):
    body = expect_json(r, 202, what)
    check(isinstance(body.get("job"), dict), "202 answers {\"job\": JOB}", r)
    job = body["job"]
    has_fields(job, harness.JOB_FIELDS, "JOB")
    check(job["type"] == "diagnose" and job["state"] in ("queued", "running", "succeeded"),
          "a diagnose job, queued", job)
    done = harness.wait_job(c, job["id"], timeout=30)
    check(done["state"] == "succeeded" and is_int(done["diagnosis_id"]), "the diagnose job succeeds with a diagnosis_id", done)
    check(done["progress"] == 1, "progress 1 when done", done)
    check(done["result"] == {"kind": "diagnosis", "id": done["diagnosis_id"]} and is_int(done["model_id"]),
          "its result is the diagnosis; model_id is the model it used", done)
    d = expect_json(c.get(API + "/diagnoses/%d" % done["diagnosis_id"]), 200)
    check(d["rows"] == rows and d["job_id"] == job["id"], "the diagnosis has %d rows and points to its job" % rows, d)
    check(done["id"] in harness.list_ids(c, API + "/jobs"), "the diagnose job is listed with the jobs")
    return done, d


@harness.timeout(60)
def test_large_csv_diagnosis_becomes_job():
    s, c, data, model = sync_rows_server()
    with s:
        # exactly --sync-rows rows: still synchronous
        diag = expect_json(upload_diagnosis(c, model["id"], csv_head(data, 100)), 201, "100 CSV rows, --sync-rows 100")
        check(diag["rows"] == 100 and diag["job_id"] is None, "100 rows with --sync-rows 100 is synchronous", diag)
        # 500 rows: a job
        done, d = wait_diagnose_job(c, upload_diagnosis(c, model["id"], csv_head(data, 500)), 500,
                                    "500 CSV rows with --sync-rows 100")
        check(d["metrics"] is not None, "labelled rows: metrics", d)
        check_results(d, model["labels"])
        check_drift(d["drift"], 500, "a diagnose job's drift")
        check(d["drift"]["verdict"] == "none", "training rows diagnosed by a job: no drift", d["drift"])
        r = c.get(API + "/diagnoses/%d/download?format=csv" % d["id"])
        check(len(harness.parse_csv(r.body)[1]) == 500, "the CSV download has 500 lines", r)
        page = expect_json(c.get(API + "/diagnoses/%d?offset=490&limit=100" % d["id"]), 200)["results"]
        check([it["row"] for it in page["items"]] == list(range(491, 501)), "the last rows page right", page)


@harness.timeout(60)
def test_large_csv_missing_kpi_is_refused_at_once():
    """A CSV over --sync-rows that lacks a KPI of the model is a 422 naming
    it, like a small one - not a job that fails later."""
    s, c, data, model = sync_rows_server()
    with s:
        header, rows = harness.parse_csv(data)
        drop = header.index("feature3")
        keep = [i for i in range(len(header)) if i != drop]
        body = (",".join(header[i] for i in keep) + "\n" +
                "".join(",".join(r[i] for i in keep) + "\n" for r in rows[:300])).encode()
        before = expect_json(c.get(API + "/jobs"), 200)["total"]
        err = expect_error(upload_diagnosis(c, model["id"], body), 422, "invalid_data")
        check(details(err).get("column") == "feature3", "details.column names the KPI", err)
        check(expect_json(c.get(API + "/jobs"), 200)["total"] == before, "no job was queued")
        err = expect_error(c.post_json(API + "/diagnoses", {"model_id": model["id"]}), 400, "bad_request")
        check(details(err).get("field") == "rows", "a body without rows names the field", err)


@harness.timeout(60)
def test_large_json_diagnosis_becomes_job():
    # The contract says "small requests (<= --sync-rows rows)" for both forms;
    # this is the JSON form.
    s, c, data, model = sync_rows_server()
    with s:
        diag, _ = diagnose(c, model["id"], harness.rows_as_json(data, 0, 100))
        check(diag["rows"] == 100 and diag["job_id"] is None, "100 JSON rows with --sync-rows 100 is synchronous", diag)
        r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 101)})
        _, d = wait_diagnose_job(c, r, 101, "101 JSON rows with --sync-rows 100")
        check(d["adapt"] is None, "a job not asked to adapt: adapt null", d)
        r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 101),
                                             "adapt": True})
        _, d = wait_diagnose_job(c, r, 101, "101 JSON rows with adapt")
        check_adapt(d["adapt"], model["labels"], "a diagnose job's adapt")
        check(d["adapt"]["applied"], "a diagnose job adapts too", d["adapt"])
        r = upload_diagnosis(c, model["id"], csv_head(data, 300), fields={"adapt": "true"})
        _, d = wait_diagnose_job(c, r, 300, "300 CSV rows with adapt")
        check(d["adapt"] is not None and d["adapt"]["applied"], "a CSV job adapts too", d["adapt"])


if __name__ == "__main__":
    harness.main(globals())
