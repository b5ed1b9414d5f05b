"""test_leaderboard.py - POST /api/v1/models/leaderboard: the user's models
scored side by side on one labelled dataset.

What: every model of the user is scored on exactly the dataset asked for
(accuracy, macro-F1 and per-class F1 equal to `healer eval` of the
downloaded model on the same file), its own out-of-sample estimate beside
it, models trained on that very dataset flagged in_sample, a model whose
KPIs the dataset lacks listed as not applicable naming the KPI, the
applicable ones best first; model_ids narrows it down; another user's
model or dataset is 404; bad bodies are 400, too many models and an
unlabelled or too large dataset 422 naming the field.

Why: "which of my models is best on this data?" needs the same rows and
the same labels for every model, or the comparison means nothing.

Run: python3 tests/api/test_leaderboard.py [test_name...]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_error, expect_json  # noqa: E402

SERVER = {}
A = dict(samples=400, features=6, classes=3, seed=3)
NEW = dict(samples=300, features=6, classes=3, seed=3)   # same system, other rows
WIDE = dict(samples=400, features=8, classes=3, seed=5)  # two KPIs more
SHARED = {}


def board(c, body, status=200):
    r = c.post_json(API + "/models/leaderboard", body)
    return expect_json(r, status, "leaderboard %s" % json.dumps(body)[:80]) if status == 200 else r


def fixtures(c):
    """alice's datasets and models, made once."""
    if SHARED.get("server") is not c.server:
        c.login_as("alice")
        a = harness.upload_dataset(c, harness.simulate(**A), name="lb-a")
        new_rows = harness.simulate(samples=700, features=6, classes=3, seed=3)
        lines = new_rows.decode().splitlines(True)
        n = harness.upload_dataset(c, ("".join(lines[:1] + lines[401:])).encode(), name="lb-new")
        w = harness.upload_dataset(c, harness.simulate(**WIDE), name="lb-wide")
        models = []
        for ds, algo, params in ((a, "gbdt", {"rounds": 15}), (a, "forest", {"trees": 10}), (w, "gbdt", {"rounds": 10})):
            r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": algo, "params": params})
            job = harness.wait_job(c, expect_json(r, 202)["id"])
            check(job["state"] == "succeeded", "training for the leaderboard", job)
            models.append(job["model_id"])
        SHARED.update(server=c.server, a=a, new=n, new_csv="".join(lines[:1] + lines[401:]).encode(), wide=w, models=models)
    else:
        c.login_as("alice")
    return SHARED


def test_models_side_by_side(c):
    f = fixtures(c)
    gb, forest, wide = f["models"]
    b = board(c, {"dataset_id": f["new"]["id"]})
    check(b["dataset"]["id"] == f["new"]["id"] and b["dataset"]["rows"] == 300, "the dataset scored", b["dataset"])
    check(b["labels"] == ["0", "1", "2"] and b["truncated"] is False, "labels, not truncated", b)
    check(b["limits"] == {"max_models": 12, "max_rows": 50000}, "the limits", b["limits"])
    rows = {m["model_id"]: m for m in b["models"]}
    check(set(rows) >= {gb, forest, wide}, "every model of alice's is listed", rows.keys())
    for mid in (gb, forest):
        m = rows[mid]
        check(m["applicable"] and m["reason"] is None and m["rows_scored"] == 300, "applicable on the new rows", m)
        check(not m["in_sample"], "not trained on these rows", m)
        check(set(m["per_class_f1"]) == {"0", "1", "2"} and 0 <= m["macro_f1"] <= 1, "per-class F1", m)
        check(m["estimate"]["source"] in ("validation", "cv", "oob") and m["estimate"]["macro_f1"] is not None,
              "its own out-of-sample estimate beside it", m["estimate"])
    w = rows[wide]
    check(not w["applicable"] and "feature6" in w["reason"] and w["macro_f1"] is None, "the wider model is not applicable, naming the KPI", w)
    flags = [m["applicable"] for m in b["models"]]
    check(flags == sorted(flags, reverse=True), "applicable models first", flags)
    f1s = [m["macro_f1"] for m in b["models"] if m["applicable"]]
    check(f1s == sorted(f1s, reverse=True), "best macro-F1 first", f1s)
    # the figures are the engine's: healer eval of the downloaded model on the same file
    model_path = harness.tmp_path(harness.unique("lb") + ".model")
    with open(model_path, "wb") as fh:
        fh.write(c.get(API + "/models/%d/download" % gb).body)
    data_path = harness.tmp_path(harness.unique("lb") + ".csv")
    with open(data_path, "wb") as fh:
        fh.write(f["new_csv"])
    p = harness.run_healer(["eval", "--model", model_path, "--data", data_path, "--json"])
    check(p.returncode == 0, "healer eval: %s" % p.stderr)
    ev = json.loads(p.stdout)["metrics"]
    check(harness.close(ev["accuracy"], rows[gb]["accuracy"]) and harness.close(ev["macro_f1"], rows[gb]["macro_f1"]),
          "scores equal healer eval's", (ev["accuracy"], ev["macro_f1"], rows[gb]))


def test_in_sample_and_model_ids(c):
    f = fixtures(c)
    gb, forest, wide = f["models"]
    b = board(c, {"dataset_id": f["a"]["id"], "model_ids": [forest, gb]})
    check([m["model_id"] for m in b["models"]] and {m["model_id"] for m in b["models"]} == {gb, forest}, "only those asked", b["models"])
    check(all(m["in_sample"] for m in b["models"]), "trained on this very dataset: in_sample", b["models"])
    b = board(c, {"dataset_id": f["wide"]["id"], "model_ids": [wide]})
    check(b["models"][0]["in_sample"] and b["models"][0]["applicable"], "the wide model on its own data", b)


def test_refusals(c):
    f = fixtures(c)
    gb = f["models"][0]
    path = API + "/models/leaderboard"
    cases = [
        ({}, 400, "dataset_id"),
        ({"dataset_id": "x"}, 400, "dataset_id"),
        ({"dataset_id": f["a"]["id"], "model_ids": 3}, 400, "model_ids"),
        ({"dataset_id": f["a"]["id"], "model_ids": [gb, "x"]}, 400, "model_ids.1"),
        ({"dataset_id": f["a"]["id"], "model_ids": list(range(1, 14))}, 422, "model_ids"),
    ]
    for body, status, field in cases:
        err = expect_error(c.post_json(path, body), status, None, json.dumps(body))
        check(err.get("details", {}).get("field") == field, "%s: details.field %s" % (json.dumps(body), field), err)
    expect_error(c.post_json(path, {"dataset_id": 987654}), 404, "not_found", "no such dataset")
    expect_error(c.post_json(path, {"dataset_id": f["a"]["id"], "model_ids": [987654]}), 404, "not_found", "no such model")
    expect_error(c.post_json(path, {"dataset_id": f["a"]["id"]}, csrf=False), 403, None, "without CSRF")
    unlabelled = harness.upload_dataset(c, b"sample_id,feature0\n1,2\n2,3\n", name="no-labels")
    err = expect_error(c.post_json(path, {"dataset_id": unlabelled["id"]}), 422, "invalid_data", "unlabelled")
    check(err.get("details", {}).get("field") == "dataset_id", "the dataset is named", err)
    bob = c.new()
    bob.login_as("bob")
    expect_error(bob.post_json(path, {"dataset_id": f["a"]["id"]}), 404, "not_found", "another user's dataset")
    mine = harness.upload_dataset(bob, harness.simulate(**A), name="bob-a")
    expect_error(bob.post_json(path, {"dataset_id": mine["id"], "model_ids": [gb]}), 404, "not_found", "another user's model")
    b = expect_json(bob.post_json(path, {"dataset_id": mine["id"]}), 200)
    check(b["models"] == [], "bob has no models: none of alice's is listed", b)


def test_large_dataset_refused(c):
    c.login_as("alice")
    rows = "".join("%d,%d\n" % (i % 97, i % 2) for i in range(50001))
    big = harness.upload_dataset(c, ("kpi,label\n" + rows).encode(), name="too-big")
    err = expect_error(c.post_json(API + "/models/leaderboard", {"dataset_id": big["id"]}), 422, "invalid_data", "50001 rows")
    check(err.get("details", {}).get("field") == "dataset_id" and "at most 50000" in err["message"], "the limit is said", err)


if __name__ == "__main__":
    harness.main(globals())
