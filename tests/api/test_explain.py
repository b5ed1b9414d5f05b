"""test_explain.py - opening one sample of a stored diagnosis.

What: GET /diagnoses/{id}/rows/{row} gives the sample's explanation - the
prediction and probabilities, every class's expected score and KPI
contributions (which add up to its score, and whose softmax is the
probabilities; a forest's scores are its probabilities), every KPI with its value, z, normal range and whether it
is abnormal, the abnormal ones farthest first, and the row's stored
label. A training job's params.normal_class picks the class the normal
ranges come from (summary.normal); a bad one is a 422 naming it. A row outside the diagnosis is a 404 naming the row; another
user's diagnosis is a 404; a diagnosis stored without its input is a 409
input_not_stored; a model that cannot explain (an MLP) is a 409 saying so;
never a 500.

Why: the engineer opening a sample must be shown the numbers the model
actually used, and a wrong row or a missing input must say why.

Run: python3 tests/api/test_explain.py [test_name...]
"""
import math
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect_error, expect_json, has_fields  # noqa: E402

DATA = dict(samples=500, features=8, classes=3, seed=4)
SAMPLE_FIELDS = ("sample_id", "row", "label", "result", "predicted", "confidence", "probabilities",
                 "score_scale", "normal_class", "classes", "kpis", "abnormal")


def trained(c, data, algo, params):
    ds = harness.upload_dataset(c, data, name="explain-data")
    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": algo, "params": params})
    job = harness.wait_job(c, expect_json(r, 202, "POST /jobs")["id"], timeout=60)
    check(job["state"] == "succeeded", "training succeeded", job)
    return expect_json(c.get(API + "/models/%d" % job["model_id"]), 200, "GET model")


def diagnosis_of(c, params=None, algo="gbdt", count=30):
    data = harness.simulate(**DATA)
    model = trained(c, data, algo, params or {"rounds": 20})
    rows = harness.rows_as_json(data, count=count, with_id=True, with_label=True)
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows, "name": "open"})
    return expect_json(r, 201, "POST /diagnoses"), model, rows


def test_sample(c):
    c.login_as("alice")
    diag, model, rows = diagnosis_of(c)
    s = expect_json(c.get(API + "/diagnoses/%d/rows/3" % diag["id"]), 200, "GET rows/3")
    has_fields(s, SAMPLE_FIELDS, "sample")
    check(s["row"] == 3 and s["sample_id"] == str(rows[2]["sample_id"]), "row 3 and its id", s)
    check(s["label"] == str(rows[2]["label"]), "the stored label", s)
    check(s["result"]["row"] == 3 and s["result"]["predicted"] == s["predicted"],
          "the stored row, the same prediction without adapt", s["result"])
    check(s["score_scale"] == "logit" and set(s["classes"]) == set(model["labels"]), "classes", s)
    z = sum(math.exp(cl["score"]) for cl in s["classes"].values())
    for name, cl in s["classes"].items():
        check(abs(cl["expected"] + sum(cl["contributions"].values()) - cl["score"]) < 1e-9,
              "contributions add up for " + name, cl)
        check(abs(math.exp(cl["score"]) / z - s["probabilities"][name]) < 1e-6, "softmax of the scores", s)
    check(len(s["kpis"]) == 8 and all(k["normal"] for k in s["kpis"]), "every KPI with its range", s["kpis"])
    sizes = [abs(k["contribution"]) for k in s["kpis"]]
    check(sizes == sorted(sizes, reverse=True), "largest contribution first", sizes)
    for k in s["kpis"]:
        check(k["abnormal"] == (k["z"] is not None and abs(k["z"]) > 3), "abnormal means |z| > 3", k)
    want = sorted((k for k in s["kpis"] if k["abnormal"]), key=lambda k: -abs(k["z"]))
    check([a["kpi"] for a in s["abnormal"]] == [k["kpi"] for k in want], "abnormal farthest first", s)


def test_bad_rows(c, server):
    c.login_as("alice")
    diag, _, _ = diagnosis_of(c, count=10)
    for row in (11, 999999):
        e = expect_error(c.get(API + "/diagnoses/%d/rows/%d" % (diag["id"], row)), 404, "not_found",
                         "row %d" % row)
        check(details(e).get("field") == "row" and "rows 1 to 10" in e["message"], "names the row", e)
    for row in ("0", "x", "-1"):  # not a row number: no such resource
        expect_error(c.get(API + "/diagnoses/%d/rows/%s" % (diag["id"], row)), 404, "not_found", "row " + row)
    expect_error(c.new().login_as("bob").get(API + "/diagnoses/%d/rows/1" % diag["id"]), 404, "not_found",
                 "bob opens alice's sample")
    db = sqlite3.connect(os.path.join(server.data_dir, "healer.db"), timeout=10)
    try:
        db.execute("UPDATE diagnoses SET input_blob_key = '' WHERE id = ?", (diag["id"],))
        db.commit()
    finally:
        db.close()
    expect_error(c.get(API + "/diagnoses/%d/rows/1" % diag["id"]), 409, "input_not_stored", "no input kept")


def test_normal_class(c):
    c.login_as("alice")
    data = harness.simulate(**DATA)
    model = trained(c, data, "gbdt", {"rounds": 10, "normal_class": "0"})
    n = model["summary"]["normal"]
    check(n["class"] == "0" and n["z"] == 3 and len(n["kpis"]) == 8, "ranges from class 0", n)
    check(all(k["low"] <= k["median"] <= k["high"] for k in n["kpis"]), "low <= median <= high", n["kpis"])
    plain = trained(c, data, "gbdt", {"rounds": 10})["summary"]["normal"]
    check(plain["class"] is None and plain["rows"] > n["rows"], "no class 'normal': every row", plain)
    ds = harness.upload_dataset(c, data, name="bad-normal")
    for bad in (7, "", "x" * 64, None):
        r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt",
                                        "params": {"normal_class": bad}})
        e = expect_error(r, 422, None, "normal_class %r" % (bad,))
        check(details(e).get("field") == "params.normal_class", "names params.normal_class", e)


def test_forest_sample(c):
    c.login_as("alice")
    diag, _, _ = diagnosis_of(c, params={"trees": 10}, algo="forest", count=5)
    s = expect_json(c.get(API + "/diagnoses/%d/rows/2" % diag["id"]), 200, "GET rows/2 of a forest")
    check(s["score_scale"] == "probability", "a forest explains probabilities", s["score_scale"])
    for name, cl in s["classes"].items():
        check(abs(cl["expected"] + sum(cl["contributions"].values()) - cl["score"]) < 1e-9,
              "expected + contributions = score", cl)
        check(abs(cl["score"] - s["probabilities"][name]) < 1e-6, "the score is the probability",
              (cl, s["probabilities"]))
    # a few rows of a forest fit in the explanation budget: every row
    # carries its top KPIs, those of the sample view
    d = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200, "GET the forest's diagnosis")
    check(d["explained"] is True and d["explained_rows"] == 5 and d["explain_skipped"] is None,
          "a forest's few rows are explained", d)
    top = [t["kpi"] for t in d["results"]["items"][1]["top"]]
    cl = s["classes"][s["predicted"]]["contributions"]
    check(top and top == sorted((k for k in cl if cl[k] > 0), key=lambda k: -cl[k])[:5],
          "row 2's top KPIs are its sample's", top, cl)
    check(d["abnormal_checked"] is True, "abnormal KPIs are checked", d)
    # an explained export of a few rows works; past the costly cap it is
    # refused, naming the cap and the rows the filters keep
    r = c.get(API + "/diagnoses/%d/download?format=csv&explain=3" % diag["id"])
    harness.expect(r, 200, "a forest's explained export of 5 rows")
    check(b"kpi_1" in r.body.splitlines()[0], "the explained columns", r.body[:200])
    data = harness.simulate(**dict(DATA, samples=1001))
    rows = harness.rows_as_json(data, count=1001, with_id=True)
    big = expect_json(c.post_json(API + "/diagnoses", {"model_id": diag["model_id"], "rows": rows}), 201,
                      "1,001 rows through the forest")
    e = expect_error(c.get(API + "/diagnoses/%d/download?format=csv&explain=3" % big["id"]), 409, "conflict",
                     "an explained export of 1,001 forest rows")
    check("at most 1000 rows" in e["message"] and "keep 1001" in e["message"], "says the cap and the count", e)
    one = c.get(API + "/diagnoses/%d/download?format=csv&explain=3&max_confidence=0" % big["id"])
    harness.expect(one, 200, "filtered under the cap, it is explained")


def test_model_without_explanations(c):
    c.login_as("alice")
    diag, _, _ = diagnosis_of(c, params={"epochs": 5}, algo="mlp", count=5)
    e = expect_error(c.get(API + "/diagnoses/%d/rows/1" % diag["id"]), 409, None, "an MLP")
    check("cannot explain" in e["message"], "says it cannot explain", e)


if __name__ == "__main__":
    harness.main(globals())
