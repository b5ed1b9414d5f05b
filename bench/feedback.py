#!/usr/bin/python3
"""Learning from deployment labels: how much a few labelled rows from a
shifted environment help, and the weight they should get.

`healer train --feedback LABELLED.csv --feedback-weight W` trains on the
training file plus rows a person labelled in deployment, each counting W
times. This benchmark chooses the default W and shows what to expect:

  real   the reference file's de-duplicated stratified folds (the folds of
         bench/robust.py). The "new environment" is the test fold with a
         quarter of its KPIs rescaled by 10^u, u in [-2, 2]. PER_CLASS
         rows per class of it are the feedback; the scored rows are drawn
         from its other rows at a class mix from a flat Dirichlet (the two
         shifts the data's README names), never copies of a feedback row.
  sim    `healer simulate` training data and its `--shift-out` file at a
         strong shift; PER_CLASS rows per class of the shifted file are the
         feedback, the rest is scored.

Every W of WEIGHTS, and no feedback at all, is trained with the same
learner and options (the default learner unless --algo), by the real
binary. Macro-F1 on the scored rows, mean and sd over folds / seeds.

Usage: bench/feedback.py [--quick] [--algo NAME] [--entry CMD]
Writes bench/out/feedback.json and, unless --quick, its section of
docs/benchmarks.md (<!-- feedback -->).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchdata  # noqa: E402
import report  # noqa: E402
import robust  # noqa: E402  (the folds, the perturbation, the CSV writer)

HEALER = os.environ.get("HEALER", "build/healer")
PER_CLASS = 20
WEIGHTS = [1, 3, 10, 30, 100]
SIM_SEEDS = [1, 2, 3]
SIM_SHIFT = 2.0


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("feedback.py: %s failed:\n%s" % (" ".join(cmd), p.stderr))
    return p.stdout


def macro_f1(model, path):
    out = run([HEALER, "eval", "--model", model, "--data", path, "--json"])
    return json.loads(out)["metrics"]["macro_f1"]


def pick_feedback(y, rng):
    """Indices of PER_CLASS rows per class (fewer when a class has fewer)."""
    idx = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        idx.extend(rng.choice(rows, min(PER_CLASS, len(rows) // 2), replace=False))
    return np.array(sorted(idx))


def score_weights(train_csv, fb_csv, rest_csv, tmp, algo):
    """{"none": f1, W: f1, ...} for one environment."""
    res = {}
    base = ["train", "--data", train_csv, "--threads", "2"] + (["--algo", algo] if algo else [])
    model = os.path.join(tmp, "m.model")
    run([HEALER] + base + ["--model", model])
    res["none"] = macro_f1(model, rest_csv)
    for w in WEIGHTS:
        run([HEALER] + base + ["--model", model, "--feedback", fb_csv, "--feedback-weight", str(w)])
        res[str(w)] = macro_f1(model, rest_csv)
    return res


def real_environments(tmp, quick):
    table, _ = benchdata.clean_real(benchdata.read_table(robust.DATA))
    classes = benchdata.class_table(table.labels)
    y_all = np.array([list(classes).index(v) for v in table.labels])
    header = robust.header_of(table)
    folds = benchdata.stratified_folds(table.labels, robust.FOLDS, robust.SEED)
    for f, (tr, te) in enumerate(folds[:1] if quick else folds):
        rng = np.random.default_rng(robust.SEED + 100 + f)
        train_csv = os.path.join(tmp, "train.csv")
        benchdata.write_csv(benchdata.subset(table, tr), train_csv)
        x, y = table.x[te].copy(), y_all[te]
        cols = rng.choice(x.shape[1], int(round(robust.SCALE_FRACTION * x.shape[1])), replace=False)
        x[:, cols] *= 10.0 ** rng.uniform(-robust.SCALE_DECADES, robust.SCALE_DECADES, size=len(cols))
        # The feedback rows are set aside first; the scored rows are drawn
        # (at a new class mix, with replacement) from the other rows only,
        # so that no scored row is a copy of a feedback row.
        fb = pick_feedback(y, rng)
        others = np.setdiff1d(np.arange(len(y)), fb)
        mix = rng.dirichlet(np.ones(len(classes)))
        rest = np.concatenate([rng.choice(others[y[others] == c], max(10, int(round(mix[c] * len(others)))))
                               for c in range(len(classes)) if np.any(y[others] == c)])
        fb_csv, rest_csv = os.path.join(tmp, "fb.csv"), os.path.join(tmp, "rest.csv")
        robust.write_matrix(fb_csv, header, x[fb], [classes[v] for v in y[fb]])
        robust.write_matrix(rest_csv, header, x[rest], [classes[v] for v in y[rest]])
        yield "real", train_csv, fb_csv, rest_csv


def read_labels(path):
    with open(path, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split(",")
        li = head.index("label")
        return head, [line.rstrip("\n") for line in f], li


def sim_environments(tmp, quick):
    for seed in SIM_SEEDS[:1] if quick else SIM_SEEDS:
        train_csv, shift_csv = os.path.join(tmp, "sim.csv"), os.path.join(tmp, "shift.csv")
        run([HEALER, "simulate", "--out", train_csv, "--samples", "4000", "--seed", str(seed),
             "--shift-out", shift_csv, "--shift-samples", "3000", "--shift", str(SIM_SHIFT)])
        head, lines, li = read_labels(shift_csv)
        y = np.array([line.split(",")[li] for line in lines])
        fb = set(pick_feedback(y, np.random.default_rng(seed)).tolist())
        fb_csv, rest_csv = os.path.join(tmp, "fb.csv"), os.path.join(tmp, "rest.csv")
        with open(fb_csv, "w", encoding="utf-8") as a, open(rest_csv, "w", encoding="utf-8") as b:
            a.write(",".join(head) + "\n")
            b.write(",".join(head) + "\n")
            for i, line in enumerate(lines):
                (a if i in fb else b).write(line + "\n")
        yield "sim", train_csv, fb_csv, rest_csv


def summarise(scores):
    keys = ["none"] + [str(w) for w in WEIGHTS]
    return {kind: {k: {"mean": float(np.mean([s[k] for s in runs])),
                       "sd": float(np.std([s[k] for s in runs]))} for k in keys}
            for kind, runs in scores.items()}


def docs_block(result, entry):
    keys = ["none"] + [str(w) for w in WEIGHTS]
    lines = ["<!-- feedback -->",
             "<!-- Written by bench/feedback.py from bench/out/feedback.json; the other benchmarks keep this section as it is. -->",
             "## Learning from deployment labels", "",
             "Produced by `%s` on %s, learner `%s`. *real*: each of the reference file's 5 "
             "de-duplicated folds becomes a new environment (a quarter of the KPIs rescaled by "
             "10^u, u in [-2, 2]; the scored rows drawn from the rows that are not feedback, "
             "at a class mix from a flat Dirichlet); *sim*: `healer "
             "simulate` with `--shift %g`, %d seeds. %d labelled rows per class of the new "
             "environment are the feedback; macro-F1 on its other rows, mean ± sd."
             % (entry, result["date"], result["algo"] or "default", SIM_SHIFT, len(SIM_SEEDS),
                PER_CLASS), "",
             "| environment | no feedback | " + " | ".join("W = %s" % k for k in keys[1:]) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in keys[1:]) + " |"]
    for kind, row in result["results"].items():
        lines.append("| %s | " % kind + " | ".join("%.4f ± %.4f" % (row[k]["mean"], row[k]["sd"])
                                                   for k in keys) + " |")
    lines += ["", "<!-- /feedback -->"]
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--algo", default="")
    ap.add_argument("--out", default="bench/out/feedback.json")
    ap.add_argument("--docs", default="docs/benchmarks.md")
    ap.add_argument("--entry", default="/usr/bin/python3 bench/feedback.py")
    a = ap.parse_args(argv)
    scores = {"real": [], "sim": []}
    with tempfile.TemporaryDirectory(prefix="feedback") as tmp:
        for gen in (real_environments(tmp, a.quick), sim_environments(tmp, a.quick)):
            for kind, train_csv, fb_csv, rest_csv in gen:
                scores[kind].append(score_weights(train_csv, fb_csv, rest_csv, tmp, a.algo))
                print("%s: %s" % (kind, scores[kind][-1]), file=sys.stderr, flush=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": a.quick,
              "algo": a.algo, "results": summarise(scores)}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    block = docs_block(result, a.entry)
    print(block)
    if not a.quick and a.docs:
        with open(a.docs, encoding="utf-8") as f:
            text = f.read()
        with open(a.docs, "w", encoding="utf-8") as f:
            f.write(report.with_section(text, "feedback", block))


if __name__ == "__main__":
    main(sys.argv[1:])
