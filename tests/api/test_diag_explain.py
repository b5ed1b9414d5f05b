"""test_diag_explain.py - what a diagnosis says about its rows: explanations,
filters, filtered exports, and whether the batch is the training data.

What: every results item carries "top" (the KPIs that pushed most towards
the predicted class, largest first, positive only) and "abnormal" (KPIs
outside their normal range, farthest first), the same as the sample view
of that row says; the DIAGNOSIS says "explained" (false for an MLP, with
explain_skipped.reason "cannot_explain"; false with "not_stored" for a
diagnosis stored before explanations), "abnormal_checked" and
"training_overlap" (training_data for the training CSV itself, none for
another batch). GET /diagnoses/{id}?predicted=&max_confidence=&abnormal=
filters the rows server side (total = the filtered count, rows = all,
"filtered"), each filter alone and combined, paged; bad values are 422s
naming the query field. The CSV and JSON downloads honour the same filters
(equal to filtering the full export), and ?explain=N appends exactly the
columns of `healer predict --explain N` (a 409 without the stored input
or the model). The drift report lists its KPIs
worst first, so a client names the worst three from the DIAGNOSIS alone.

Why: an on-call engineer must see which KPIs drove a verdict and find the
rows that matter in a batch of a million without downloading it.

Run: python3 tests/api/test_diag_explain.py [test_name...]
"""
import csv
import io
import json
import math
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, details, expect, expect_error, expect_json  # noqa: E402

DATA = dict(samples=400, features=8, classes=3, seed=11)
OTHER = dict(samples=120, features=8, classes=3, seed=12)


def body_of(r, what):
    expect(r, 200, what)
    return r.body


def trained(c, data, algo="gbdt", params=None):
    ds = harness.upload_dataset(c, data, name="diag-explain")
    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": algo,
                                    "params": params or {"rounds": 20}})
    job = harness.wait_job(c, expect_json(r, 202, "POST /jobs")["id"], timeout=90)
    check(job["state"] == "succeeded", "training succeeded", job)
    return expect_json(c.get(API + "/models/%d" % job["model_id"]), 200, "GET model")


def diagnose_csv(c, model, data, name="batch.csv"):
    r = c.upload(API + "/diagnoses", {"model_id": str(model["id"]), "name": name}, {"file": (name, data)})
    return expect_json(r, 201, "POST /diagnoses (CSV)")


def all_items(c, diag_id, query=""):
    d = expect_json(c.get(API + "/diagnoses/%d?limit=1000%s" % (diag_id, query)), 200, "GET diagnosis")
    return d, d["results"]["items"]


def test_items_explained(c):
    c.login_as("alice")
    data = harness.simulate(**DATA)
    model = trained(c, data)
    diag = diagnose_csv(c, model, data)
    check(diag["explained"] is True and diag["explain_skipped"] is None, "explained", diag)
    check(diag["abnormal_checked"] is True and diag["filtered"] is False, "abnormal checked", diag)
    d, items = all_items(c, diag["id"])
    check(len(items) == 400 and d["rows"] == 400, "every row", d["results"])
    with_top = 0
    for it in items[:40]:
        top, ab = it["top"], it["abnormal"]
        check(len(top) <= 5 and len(ab) <= 5, "at most five of each", it)
        vals = [t["contribution"] for t in top]
        check(vals == sorted(vals, reverse=True) and all(v > 0 for v in vals), "largest first, towards", it)
        zs = [abs(a["z"]) for a in ab]
        check(zs == sorted(zs, reverse=True) and all(z > 3 for z in zs), "farthest first, |z| > 3", it)
        with_top += bool(top)
        s = expect_json(c.get(API + "/diagnoses/%d/rows/%d" % (diag["id"], it["row"])), 200, "sample")
        contrib = s["classes"][it["predicted"]]["contributions"]
        want = sorted(((v, k) for k, v in contrib.items() if v > 0), key=lambda p: -p[0])[:5]
        check([t["kpi"] for t in top] == [k for _, k in want], "the sample view's top KPIs", it, want)
        check(all(abs(t["contribution"] - v) < 1e-9 for t, (v, _) in zip(top, want)), "same values", it)
        check([a["kpi"] for a in ab] == [a["kpi"] for a in s["abnormal"]][:5], "the sample's abnormal", it, s)
    check(with_top > 30, "most rows have KPIs towards their class", with_top)
    # the POST answer's first page carries them too
    check(diag["results"]["items"][0]["top"] == items[0]["top"], "first page explained", diag["results"])


def check_tops(c, diag_id, items):
    """Each item's top KPIs are the sample view's largest positive
    contributions towards its class, with the same values, and the sample
    view's contributions add up to the score."""
    for it in items:
        s = expect_json(c.get(API + "/diagnoses/%d/rows/%d" % (diag_id, it["row"])), 200, "sample")
        cl = s["classes"][it["predicted"]]
        check(abs(cl["expected"] + sum(cl["contributions"].values()) - cl["score"]) < 1e-9,
              "contributions add up to the score", cl)
        want = sorted(((v, k) for k, v in cl["contributions"].items() if v > 0), key=lambda p: -p[0])[:5]
        check(want and [t["kpi"] for t in it["top"]] == [k for _, k in want], "the sample view's top KPIs",
              it, want)
        check(all(abs(t["contribution"] - v) < 1e-9 for t, (v, _) in zip(it["top"], want)), "same values", it)


def check_all_explained(d, rows):
    check(d["explained"] is True and d["explain_skipped"] is None and d["explained_rows"] == rows,
          "every row explained", {k: d.get(k) for k in ("explained", "explained_rows", "explain_skipped")})


def test_forest_rows_explained(c):
    """A forest's single pasted sample and small batch are explained,
    within the default budget, as a GBDT's are."""
    c.login_as("alice")
    data = harness.simulate(**DATA)
    model = trained(c, data, algo="forest", params={"trees": 20})
    rows = harness.rows_as_json(data, count=1, with_id=True)
    one = expect_json(c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows}), 201,
                      "one pasted row")
    check_all_explained(one, 1)
    check_tops(c, one["id"], one["results"]["items"])
    batch = diagnose_csv(c, model, harness.simulate(**OTHER))
    check_all_explained(batch, 120)
    d, items = all_items(c, batch["id"])
    check_all_explained(d, 120)
    check(all(it["top"] for it in items), "every row has its top KPIs", [it for it in items if not it["top"]][:2])
    check_tops(c, batch["id"], items[:8] + items[-4:])


def test_stack_rows_explained(c):
    c.login_as("alice")
    data = harness.simulate(**DATA)
    model = trained(c, data, algo="stack", params={"stack_folds": 2, "member_trees": 10})
    diag = diagnose_csv(c, model, harness.simulate(**OTHER))
    check_all_explained(diag, 120)
    _, items = all_items(c, diag["id"])
    check(sum(bool(it["top"]) for it in items) > 100, "rows carry their top KPIs", items[:2])
    check_tops(c, diag["id"], [it for it in items if it["top"]][:8])


def row_cost_seconds(model):
    """The engine's estimate of a row's explanation
    (hl_model_explain_row_cost), from the model's trees and splits."""
    s = model["summary"]
    trees = s["training"]["trees"]
    leaves = trees + sum(f["splits"] for f in s["feature_importance"])
    depth = max(1.0, math.log2(leaves / trees))
    return leaves * depth * depth * 2.1e-9


BUDGET_MS = 2


@harness.timeout(180)
def test_over_budget():
    """Past the budget, exactly the first N rows are explained, N the
    budget over the model's estimated row cost, the same in a request and
    in a job; the others keep their abnormal KPIs, and the diagnosis says
    how many rows were and why."""
    s = harness.Server(args=["--sync-rows", "50", "--explain-budget-ms", str(BUDGET_MS)],
                       name="server with --explain-budget-ms %d" % BUDGET_MS).start()
    with s:
        c = s.client().login_as("alice")
        data = harness.simulate(**DATA)
        model = trained(c, data, algo="forest", params={"trees": 100})
        n = int(math.floor(BUDGET_MS / 1000.0 / row_cost_seconds(model)))
        check(0 < n < 50, "the budget covers some rows of 50, not all", n, model["summary"]["training"])
        rows = harness.rows_as_json(data, count=50, with_id=True)
        now = expect_json(c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows}), 201,
                          "50 pasted rows")
        r = c.upload(API + "/diagnoses", {"model_id": str(model["id"]), "name": "job"}, {"file": ("t.csv", data)})
        done = harness.wait_job(c, expect_json(r, 202, "a diagnose job")["job"]["id"], timeout=90)
        check(done["state"] == "succeeded", "the job succeeds", done)
        tops = []
        for diag_id, total in ((now["id"], 50), (done["diagnosis_id"], 400)):
            d, items = all_items(c, diag_id)
            sk = d["explain_skipped"]
            check(d["explained"] is False and d["explained_rows"] == n, "the first N rows", d["explained_rows"], n)
            check(sk["reason"] == "too_costly" and sk["rows_explained"] == n and sk["rows_skipped"] == total - n,
                  "counts and reason", sk)
            check(sk["budget_ms"] == BUDGET_MS and sk["row_cost_ms"] > 0, "the budget and a row's cost", sk)
            check("the first %d of %d rows" % (n, total) in sk["message"], "says so", sk)
            check(all(it["top"] for it in items[:n]), "rows 1..N explained", items[:n])
            check(all(it["top"] == [] for it in items[n:]), "the others not", items[n:n + 2])
            check(any(it["abnormal"] for it in items[n:]), "the others keep their abnormal KPIs", items[n:n + 2])
            check_tops(c, diag_id, items[n - 1:n])
            tops.append([it["top"] for it in items[:n]])
        check(tops[0] == tops[1], "the request and the job explain the same rows alike")


@harness.timeout(240)
def test_request_spends_at_most_a_second():
    """A diagnosis answered at once (not a job) spends at most 1 s of a
    larger budget explaining a costly model's rows: its request holds a
    write thread, with no progress and no cancel."""
    total = 3000
    s = harness.Server(args=["--sync-rows", str(total), "--explain-budget-ms", "600000"],
                       name="server with a large explanation budget").start()
    with s:
        c = s.client().login_as("alice")
        model = trained(c, harness.simulate(**dict(DATA, samples=2000)), algo="forest", params={"trees": 300})
        n = int(math.floor(1.0 / row_cost_seconds(model)))
        check(0 < n < total, "a second covers some rows of %d, not all" % total, n)
        rows = harness.rows_as_json(harness.simulate(**dict(DATA, samples=total, seed=5)), count=total,
                                    with_id=True)
        t0 = time.monotonic()
        d = expect_json(c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": rows}), 201,
                        "%d pasted rows" % total)
        took = time.monotonic() - t0
        sk = d["explain_skipped"]
        check(d["explained_rows"] == n and sk["reason"] == "too_costly" and sk["budget_ms"] == 1000,
              "the first rows that fit in a second", d["explained_rows"], n, sk)
        print("    %d of %d rows explained in a %.2f s request" % (n, total, took))


@harness.timeout(240)
def test_cancel_while_explaining():
    """A diagnose job spending a large budget on a forest's rows stops
    within a few seconds of a cancel: it is asked between small chunks."""
    s = harness.Server(args=["--sync-rows", "50", "--explain-budget-ms", "600000"],
                       name="server with a large explanation budget").start()
    with s:
        c = s.client().login_as("alice")
        model = trained(c, harness.simulate(**dict(DATA, samples=2000)), algo="forest", params={"trees": 300})
        rows = 16000
        check(rows * row_cost_seconds(model) > 8, "explaining the batch would take a while",
              rows * row_cost_seconds(model))
        big = harness.simulate(**dict(DATA, samples=rows, seed=13))
        r = c.upload(API + "/diagnoses", {"model_id": str(model["id"]), "name": "big"}, {"file": ("b.csv", big)})
        job = expect_json(r, 202, "a diagnose job")["job"]
        deadline = time.monotonic() + 150  # a 300-tree forest and 16,000 rows, under load
        while True:  # the explanation is the stage from 0.3 on
            job = harness.get_job(c, job["id"])
            check(job["state"] in ("queued", "running"), "still running", job)
            if job["progress"] > 0.35 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        check(job["progress"] > 0.35, "the rows are being explained", job)
        expect(c.post_json(API + "/jobs/%d/cancel" % job["id"], {}), 200, "cancel")
        t0 = time.monotonic()
        done = harness.wait_job(c, job["id"], timeout=30)
        took = time.monotonic() - t0
        check(done["state"] == "cancelled" and done["diagnosis_id"] is None, "cancelled, no diagnosis", done)
        check(took < 5, "stopped within seconds", took)
        print("    cancelled at %.0f %%, %.2f s after the request" % (100 * job["progress"], took))


def test_mlp_not_explained(c):
    c.login_as("alice")
    model = trained(c, harness.simulate(**DATA), algo="mlp", params={"epochs": 5})
    diag = diagnose_csv(c, model, harness.simulate(**OTHER))
    check(diag["explained"] is False, "an MLP does not explain", diag)
    sk = diag["explain_skipped"]
    check(sk["reason"] == "cannot_explain" and "cannot explain" in sk["message"], "says why", sk)
    check(diag["abnormal_checked"] is True, "normal ranges still checked", diag)
    _, items = all_items(c, diag["id"])
    check(all(it["top"] == [] for it in items), "no top KPIs", items[:2])
    away = [it["abnormal"] for it in items if it["abnormal"]]
    check(away and all(abs(a["z"]) > 3 for ab in away for a in ab), "abnormal KPIs all the same", items[:2])
    r = c.get(API + "/diagnoses/%d/download?format=csv&explain=3" % diag["id"])
    e = expect_error(r, 409, None, "explain= on an MLP")
    check("cannot explain" in e["message"], "says the learner cannot explain", e)


@harness.timeout(120)
def test_stored_before():
    with harness.Server() as server:
        c = server.client()
        c.login_as("alice")
        model = trained(c, harness.simulate(**DATA))
        diag = diagnose_csv(c, model, harness.simulate(**OTHER))
        # The stored summary is encrypted (docs/security.md): write back, in
        # plain as a server before encryption kept it, what the API showed
        # of it (the record's own fields in it are harmless: the same
        # values), then migrate the directory as such a server's is
        # (no data.keyid yet; `healer rekey` seals the plain value, which
        # an encrypted directory would refuse as damage).
        summary = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200, "GET diagnosis")
        db = sqlite3.connect(os.path.join(server.data_dir, "healer.db"), timeout=10)
        try:
            for k in ("explained", "explained_rows", "explain_skipped", "abnormal_checked", "abnormal_kpis",
                      "training_overlap"):
                summary.pop(k, None)
            db.execute("UPDATE diagnoses SET summary_json = ? WHERE id = ?", (json.dumps(summary), diag["id"]))
            db.commit()
        finally:
            db.close()
        server.stop()
        os.unlink(os.path.join(server.data_dir, "data.keyid"))
        new = harness.tmp_path(harness.unique("key"))
        p = harness.run_healer(["key", "new", "--out", new])
        check(p.returncode == 0, "healer key new", p.stderr)
        p = harness.run_healer(["rekey", "--data-dir", server.data_dir, "--new-key-file", new])
        check(p.returncode == 0 and "encrypted from plain 1" in p.stdout, "the migration seals the value",
              p.stdout, p.stderr)
        server.start()
        c = server.client()
        c.login_as("alice")
        d = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200, "GET old diagnosis")
        check(d["explained"] is False and d["explain_skipped"]["reason"] == "not_stored", "not stored", d)
        check(d["explained_rows"] == 0 and d["explain_skipped"]["rows_explained"] == 0 and
              d["explain_skipped"]["rows_skipped"] == 120, "no row explained", d)
        check(d["training_overlap"] is None and d["abnormal_checked"] is False and d["abnormal_kpis"] == [],
              "nothing claimed", d)

def expected(items, predicted=None, max_confidence=None, abnormal=None, full_abnormal=None):
    out = []
    for it in items:
        if predicted is not None and it["predicted"] != predicted:
            continue
        if max_confidence is not None and not it["confidence"] <= max_confidence:
            continue
        if abnormal is not None and abnormal not in full_abnormal[it["row"]]:
            continue
        out.append(it["row"])
    return out


def full_abnormal_sets(c, diag_id, items):
    """Every abnormal KPI of each row, from the sample view (the items
    keep five)."""
    out = {}
    for it in items:
        if len(it["abnormal"]) < 5:
            out[it["row"]] = {a["kpi"] for a in it["abnormal"]}
        else:
            s = expect_json(c.get(API + "/diagnoses/%d/rows/%d" % (diag_id, it["row"])), 200, "sample")
            out[it["row"]] = {a["kpi"] for a in s["abnormal"]}
    return out


def filtered_rows(c, diag_id, query, limit=1000):
    d = expect_json(c.get(API + "/diagnoses/%d?limit=%d&%s" % (diag_id, limit, query)), 200, query)
    return d, [it["row"] for it in d["results"]["items"]]


def test_filters(c):
    c.login_as("alice")
    data = harness.simulate(**DATA)
    model = trained(c, data)
    diag = diagnose_csv(c, model, harness.simulate(samples=300, features=8, classes=3, seed=13))
    _, items = all_items(c, diag["id"])
    full = full_abnormal_sets(c, diag["id"], items)
    counts = {}
    for ks in full.values():
        for k in ks:
            counts[k] = counts.get(k, 0) + 1
    check(counts, "some rows have abnormal KPIs", counts)
    order = harness.feature_names(data)
    want = [{"kpi": k, "rows": counts[k]} for k in sorted(counts, key=lambda k: (-counts[k], order.index(k)))]
    d0 = expect_json(c.get(API + "/diagnoses/%d" % diag["id"]), 200, "GET")
    check(d0["abnormal_kpis"] == want, "abnormal_kpis: every abnormal KPI, most rows first", d0["abnormal_kpis"], want)
    kpi = max(counts, key=counts.get)
    cls = items[0]["predicted"]
    cases = [("predicted=" + cls, dict(predicted=cls)),
             ("max_confidence=0.8", dict(max_confidence=0.8)),
             ("max_confidence=1", dict(max_confidence=1.0)),
             ("max_confidence=0", dict(max_confidence=0.0)),
             ("abnormal=" + kpi, dict(abnormal=kpi)),
             ("predicted=%s&max_confidence=0.9&abnormal=%s" % (cls, kpi),
              dict(predicted=cls, max_confidence=0.9, abnormal=kpi))]
    for query, kw in cases:
        want = expected(items, full_abnormal=full, **kw)
        d, got = filtered_rows(c, diag["id"], query)
        check(got == want, "rows of " + query, got[:10], want[:10])
        check(d["results"]["total"] == len(want) and d["rows"] == 300 and d["filtered"] is True,
              "total is the filtered count, rows all: " + query, d["results"], d["rows"])
    # paging inside the filtered rows
    want = expected(items, predicted=cls)
    _, page = filtered_rows(c, diag["id"], "predicted=%s&offset=3" % cls, limit=4)
    check(page == want[3:7], "a page of the filtered rows", page, want[3:7])
    # empty values are no condition
    d, got = filtered_rows(c, diag["id"], "predicted=&max_confidence=&abnormal=")
    check(d["filtered"] is False and len(got) == 300, "empty filters", d["results"]["total"])


def test_bad_filters(c):
    c.login_as("alice")
    model = trained(c, harness.simulate(**DATA))
    diag = diagnose_csv(c, model, harness.simulate(**OTHER))
    base = API + "/diagnoses/%d" % diag["id"]
    for path in ("", "/download?format=csv&", "/download?format=json&"):
        sep = "?" if path == "" else ""
        for query, field in (("predicted=nosuchclass", "predicted"),
                             ("max_confidence=1.5", "max_confidence"),
                             ("max_confidence=-0.1", "max_confidence"),
                             ("max_confidence=x", "max_confidence"),
                             ("max_confidence=nan", "max_confidence"),
                             ("abnormal=nosuchkpi", "abnormal")):
            e = expect_error(c.get(base + path + sep + query), 422, "invalid_data", query)
            check(details(e).get("field") == field, "names " + field, e)
            if field == "predicted":
                check("its classes: " + ", ".join(diag["classes"]) in e["message"], "lists the classes", e)
    for query in ("explain=0", "explain=101", "explain=x", "explain="):
        e = expect_error(c.get(base + "/download?format=csv&" + query), 422, "invalid_data", query)
        check(details(e).get("field") == "explain", "names explain", e)
    e = expect_error(c.get(base + "/download?format=json&explain=3"), 422, "invalid_data", "explain json")
    check(details(e).get("field") == "explain", "names explain", e)


def test_filtered_exports(c):
    c.login_as("alice")
    model = trained(c, harness.simulate(**DATA))
    diag = diagnose_csv(c, model, harness.simulate(samples=300, features=8, classes=3, seed=14))
    _, items = all_items(c, diag["id"])
    cls = items[0]["predicted"]
    base = API + "/diagnoses/%d/download" % diag["id"]
    full_csv = body_of(c.get(base + "?format=csv"), "full CSV").decode()
    header, *lines = full_csv.splitlines()
    check(header.startswith("sample_id,label,confidence,prob_"), "predict's shape", header)
    for query in ("predicted=" + cls, "max_confidence=0.9", "predicted=%s&max_confidence=0.95" % cls):
        kw = dict(predicted=cls) if query.startswith("predicted") else {}
        if "max_confidence" in query:
            kw["max_confidence"] = float(query.split("max_confidence=")[1])
        keep = set(expected(items, **kw))
        part = body_of(c.get(base + "?format=csv&" + query), query).decode().splitlines()
        check(part[0] == header, "same header", part[0])
        check(part[1:] == [ln for i, ln in enumerate(lines) if i + 1 in keep], "the full CSV's lines", query)
        full_json = expect_json(c.get(base + "?format=json"), 200, "full JSON")
        got = expect_json(c.get(base + "?format=json&" + query), 200, query)
        check(got["rows"] == [r for r in full_json["rows"] if r["row"] in keep], "the full JSON's rows", query)
        check(got["diagnosis"]["filtered"] is True and full_json["diagnosis"]["filtered"] is False,
              "says filtered", got["diagnosis"])
        check(all("top" in r and "abnormal" in r for r in got["rows"]), "rows explained", got["rows"][:1])


def test_explain_columns_match_cli(c):
    c.login_as("alice")
    data = harness.simulate(**DATA)
    model = trained(c, data)
    batch = harness.simulate(samples=150, features=8, classes=3, seed=15)
    diag = diagnose_csv(c, model, batch)
    mfile, bfile, out = harness.tmp_path("m.model"), harness.tmp_path("b.csv"), harness.tmp_path("p.csv")
    with open(mfile, "wb") as f:
        f.write(body_of(c.get(API + "/models/%d/download" % model["id"]), "model file"))
    with open(bfile, "wb") as f:
        f.write(batch)
    p = harness.run_healer(["predict", "--model", mfile, "--data", bfile, "--out", out, "--explain", "3"])
    check(p.returncode == 0, "healer predict --explain 3", p.stderr)
    with open(out) as f:
        cli = f.read().splitlines()
    got = body_of(c.get(API + "/diagnoses/%d/download?format=csv&explain=3" % diag["id"]),
                  "explain=3").decode().splitlines()
    check(got == cli, "the same file as healer predict --explain 3", got[:3], cli[:3])
    # filtered: the CLI file's lines of the kept rows
    _, items = all_items(c, diag["id"])
    cls = items[0]["predicted"]
    keep = set(expected(items, predicted=cls))
    got = body_of(c.get(API + "/diagnoses/%d/download?format=csv&explain=3&predicted=%s" % (diag["id"], cls)),
                  "explain=3 filtered").decode().splitlines()
    check(got == [cli[0]] + [ln for i, ln in enumerate(cli[1:]) if i + 1 in keep], "the kept lines", got[:3])
    # nothing kept: the header alone
    got = body_of(c.get(API + "/diagnoses/%d/download?format=csv&explain=3&max_confidence=0" % diag["id"]),
                  "nothing kept").decode().splitlines()
    check(got == [cli[0]], "header only", got)


def test_explain_export_refusals(c, server):
    """?explain= needs the stored input and the model: without either, a
    409 saying why; the plain export still works."""
    c.login_as("alice")
    model = trained(c, harness.simulate(**DATA))
    diag = diagnose_csv(c, model, harness.simulate(**OTHER))
    url = API + "/diagnoses/%d/download?format=csv" % diag["id"]
    db = sqlite3.connect(os.path.join(server.data_dir, "healer.db"), timeout=10)
    try:
        key = db.execute("SELECT input_blob_key FROM diagnoses WHERE id = ?", (diag["id"],)).fetchone()[0]
        db.execute("UPDATE diagnoses SET input_blob_key = '' WHERE id = ?", (diag["id"],))
        db.commit()
        expect_error(c.get(url + "&explain=2"), 409, "input_not_stored", "no input kept")
        db.execute("UPDATE diagnoses SET input_blob_key = ? WHERE id = ?", (key, diag["id"]))
        db.commit()
    finally:
        db.close()
    body_of(c.get(url + "&explain=2"), "input back")
    expect(c.delete(API + "/models/%d" % model["id"]), 200, "delete the model (to the trash)")
    e = expect_error(c.get(url + "&explain=2"), 409, "conflict", "model in the trash")
    check("in the trash" in e["message"], "says the model is in the trash", e)
    check(len(body_of(c.get(url), "plain export").decode().splitlines()) == 121, "the plain export works")


def test_training_overlap(c):
    c.login_as("alice")
    data = harness.simulate(**DATA)
    model = trained(c, data)
    same = diagnose_csv(c, model, data, name="the training data")
    o = same["training_overlap"]
    check(o["verdict"] == "training_data" and o["rows_checked"] > 0, "the training CSV itself", o)
    check(o["rows_in_training"] == o["rows_checked"] and o["share"] == 1, "every row", o)
    other = diagnose_csv(c, model, harness.simulate(**OTHER), name="another batch")
    o = other["training_overlap"]
    check(o["verdict"] == "none" and o["rows_in_training"] == 0 and o["share"] == 0, "another batch", o)
    # half and half: some
    recs = data.decode().splitlines()
    mixed = "\n".join(recs[:61] + harness.simulate(**OTHER).decode().splitlines()[1:61]) + "\n"
    o = diagnose_csv(c, model, mixed.encode(), name="mixed")["training_overlap"]
    check(o["verdict"] == "some" and 0 < o["share"] < 0.9, "half of them", o)
    again = expect_json(c.get(API + "/diagnoses/%d" % same["id"]), 200, "GET")
    check(again["training_overlap"] == same["training_overlap"], "stored with the diagnosis", again)


@harness.timeout(90)
def test_job_diagnosis_explained():
    """A diagnosis made by a job (over --sync-rows) is explained the same
    way, and says it is the training data."""
    s = harness.Server(args=["--sync-rows", "50"], name="server with --sync-rows 50").start()
    with s:
        c = s.client().login_as("alice")
        data = harness.simulate(**DATA)
        model = trained(c, data)
        r = c.upload(API + "/diagnoses", {"model_id": str(model["id"]), "name": "job"}, {"file": ("t.csv", data)})
        job = expect_json(r, 202, "a diagnose job")["job"]
        done = harness.wait_job(c, job["id"], timeout=60)
        check(done["state"] == "succeeded" and done["progress"] == 1, "the job succeeds", done)
        d, items = all_items(c, done["diagnosis_id"])
        check(d["explained"] is True and d["training_overlap"]["verdict"] == "training_data", "explained", d)
        check(len(items) == 400 and sum(bool(it["top"]) for it in items) > 300, "rows carry top KPIs",
              items[:2])


def test_drift_worst_first(c):
    c.login_as("alice")
    model = trained(c, harness.simulate(**DATA))
    path = harness.tmp_path("shift-base.csv")
    shifted = harness.tmp_path("shifted.csv")
    p = harness.run_healer(["simulate", "--out", path, "--samples", "400", "--features", "8", "--classes", "3",
                            "--seed", "11", "--shift-out", shifted, "--shift-samples", "200", "--shift", "2"])
    check(p.returncode == 0, "simulate a shifted batch", p.stderr)
    with open(shifted, "rb") as f:
        diag = diagnose_csv(c, model, f.read(), name="shifted")
    kpis = diag["drift"]["kpis"]
    check(len(kpis) >= 3, "at least three KPIs listed", diag["drift"])
    sig = [k["significant"] for k in kpis]
    check(sig == sorted(sig, reverse=True), "significant ones first", sig)
    levels = ["none", "moderate", "severe"]
    lv = [levels.index(k["level"]) for k in kpis if k["level"] in levels]
    check(lv == sorted(lv, reverse=True), "worst level first", lv)


if __name__ == "__main__":
    harness.main(globals())
