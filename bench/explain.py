#!/usr/bin/env python3
"""explain.py - how fast healer explains: exact per-row contributions
(TreeSHAP) of the default GBDT next to XGBoost's pred_contribs.

Trains `healer train` with its defaults on ../shared/data/train_10000.csv
and XGBoost with the same number of boosting rounds, depth and learning
rate (bench/peer.py's settings otherwise), then times the contributions of
the 2,000 rows of test_2000_x.csv on 2 threads - healer through
build/bench/explain (hl_model_contributions, best of N after a first run
that also builds the explainer's tables), XGBoost through
Booster.predict(pred_contribs=True), best of N - one after the other in
one run. Both are exact path-dependent TreeSHAP; the trees differ (each
tool grows its own), so the table shows each model's trees and leaves
next to its time, and the ratio of rows per second per leaf.

Writes bench/out/explain.json and the "explain" section of
docs/benchmarks.md (<!-- explain --> markers).

Usage: /usr/bin/python3 bench/explain.py [--repeats 5] [--entry CMD]
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchdata  # noqa: E402
from report import with_section  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEALER = os.environ.get("HEALER", os.path.join(REPO, "build", "healer"))
BENCH = os.path.join(REPO, "build", "bench", "explain")
DATA = os.environ.get("BENCH_DATA_DIR", os.path.join(REPO, "..", "shared", "data"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))


def healer_model(tmp):
    model = os.path.join(tmp, "h.model")
    out = subprocess.run([HEALER, "train", "--data", os.path.join(DATA, "train_10000.csv"),
                          "--model", model, "--threads", str(THREADS), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return model, json.loads(out)["summary"]


def healer_leaves(model):
    out = subprocess.run([HEALER, "inspect", model, "--json"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def healer_time(model, repeats):
    out = subprocess.run([BENCH, model, os.path.join(DATA, "test_2000_x.csv"), str(THREADS),
                          str(repeats)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def xgb_time(summary, repeats):
    import xgboost as xgb
    table, _ = benchdata.clean_real(benchdata.read_table(os.path.join(DATA, "train_10000.csv")))
    classes = benchdata.class_table(table.labels)
    y = np.array([list(classes).index(v) for v in table.labels])
    test = benchdata.read_table(os.path.join(DATA, "test_2000_x.csv"))
    p = summary["params"]
    rounds = summary["training"]["rounds_done"]
    booster = xgb.train({"objective": "multi:softprob", "num_class": len(classes),
                         "max_depth": p["max_depth"], "eta": p["learning_rate"],
                         "tree_method": "hist", "nthread": THREADS, "seed": 1},
                        xgb.DMatrix(table.x, label=y), num_boost_round=rounds)
    d = xgb.DMatrix(test.x)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        phi = booster.predict(d, pred_contribs=True)
        best = min(best, time.perf_counter() - t0)
    leaves = sum(t.count("leaf=") for t in booster.get_dump())
    return {"seconds": best, "trees": rounds * len(classes), "leaves": leaves, "shape": list(phi.shape),
            "version": xgb.__version__}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--entry", default="/usr/bin/python3 bench/explain.py")
    ap.add_argument("--docs", default=os.path.join(REPO, "docs", "benchmarks.md"))
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model, summary = healer_model(tmp)
        h = healer_time(model, a.repeats)
    h["leaves"] = summary.get("leaves")
    x = xgb_time(summary, a.repeats)
    result = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
              "load": os.getloadavg()[0], "healer": h, "xgboost": x}
    os.makedirs(os.path.join(REPO, "bench", "out"), exist_ok=True)
    with open(os.path.join(REPO, "bench", "out", "explain.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = [
        "<!-- explain -->",
        "## Explanations: per-row contributions",
        "",
        "Produced by `%s` on %s (load average %.1f on the 2 cores when it started). "
        "Exact path-dependent TreeSHAP of every class for the 2,000 rows of `test_2000_x.csv`, "
        "%d threads, best of %d: healer's default GBDT (`hl_model_contributions`) and XGBoost %s "
        "(`pred_contribs`) trained with the same rounds, depth and learning rate. Each grows its "
        "own trees, so their trees are listed too."
        % (a.entry, result["date"], result["load"], THREADS, a.repeats, x["version"]),
        "",
        "| tool | trees | seconds (2,000 rows) | rows per second |",
        "| --- | ---: | ---: | ---: |",
        "| healer gbdt (first call, tables built) | %d | %.3f | %.0f |"
        % (h["trees"], h["first_seconds"], h["rows"] / h["first_seconds"]),
        "| healer gbdt | %d | %.3f | %.0f |" % (h["trees"], h["seconds"], h["rows"] / h["seconds"]),
        "| xgboost pred_contribs | %d | %.3f | %.0f |" % (x["trees"], x["seconds"], 2000 / x["seconds"]),
        "",
        "- healer vs XGBoost: %.1fx the speed at %d vs %d trees." % (x["seconds"] / h["seconds"],
                                                                    h["trees"], x["trees"]),
        "",
        "<!-- /explain -->",
    ]
    block = "\n".join(lines)
    print(block)
    with open(a.docs, encoding="utf-8") as f:
        text = f.read()
    with open(a.docs, "w", encoding="utf-8") as f:
        f.write(with_section(text, "explain", block))


if __name__ == "__main__":
    main(sys.argv[1:])
