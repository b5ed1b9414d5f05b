#!/usr/bin/python3
"""Robustness to deployment shift: the evidence behind the engine's defaults.

Real-world accuracy is judged on data whose KPI distributions differ from
the training file's (docs/benchmarks.md, "Robustness"). Plain cross-
validation cannot see that, so every method here is scored on the same
de-duplicated stratified folds of the reference file three times: on the
test fold as it is, on the fold resampled to other class mixes, and on the
fold with the scale of some KPIs changed, the two kinds of shift the data's
README names. A method is a `healer train` command line plus, optionally,
`healer predict` options (--adapt); every run is the real binary.

The perturbations (seeded, the same for every method):
  mix    each test fold drawn MIX_DRAWS times with a class mix from a flat
         Dirichlet (some classes rare, some common), rows drawn with
         replacement within each class;
  scale  the fold at a uniform class mix, with SCALE_FRACTION of the KPIs
         each multiplied by 10^u, u uniform in [-SCALE_DECADES, SCALE_DECADES]
         (a counter reported in other units, a component resized).

Usage: bench/robust.py [--quick] [--methods a,b] [--out bench/out/robust.json]
       [--docs docs/benchmarks.md] [--entry CMD]
Writes its section of docs/benchmarks.md (<!-- robust -->) unless --quick.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchdata  # noqa: E402
import report  # noqa: E402

HEALER = os.environ.get("HEALER", "build/healer")
DATA = os.path.join(os.environ.get("BENCH_DATA_DIR", "../shared/data"), "train_10000.csv")
FOLDS = 5
SEED = 7
MIX_DRAWS = 3
SCALE_FRACTION = 0.25
SCALE_DECADES = 2.0

# A predict "option" handled here: kNN smoothing of the probabilities.
KNN = "py:knn"
KNN_K = 10
KNN_ALPHA = 0.5
KNN_ROUNDS = 3

# name -> (healer train options, healer predict options, what it is)
METHODS = {
    "gbdt-all": (["--algo", "gbdt", "--screen-kpis", "0"], [],
                 "GBDT, every KPI (the default before KPI screening)"),
    "gbdt": (["--algo", "gbdt", "--screen-kpis", "0.007"], [], "GBDT, KPIs screened"),
    "forest-all": (["--algo", "forest", "--screen-kpis", "0"], [],
                   "random forest, every KPI"),
    "forest": (["--algo", "forest", "--screen-kpis", "0.007"], [],
               "random forest, KPIs screened"),
    "extratrees": (["--algo", "extratrees", "--screen-kpis", "0.007"], [],
                   "extra-trees, KPIs screened"),
    "mlp": (["--algo", "mlp", "--screen-kpis", "0.007"], [], "MLP, KPIs screened"),
    "gbdt+families": (["--algo", "gbdt", "--screen-kpis", "0.007", "--families", "0.9"], [],
                      "GBDT, KPIs screened, KPI families at correlation 0.9"),
    "gbdt+families-0.8": (["--algo", "gbdt", "--screen-kpis", "0.007", "--families", "0.8"], [],
                          "the same at correlation 0.8"),
    "forest+families": (["--algo", "forest", "--screen-kpis", "0.007", "--families", "0.9"], [],
                        "random forest, KPIs screened, KPI families at 0.9"),
    "stack-all": (["--algo", "stack", "--screen-kpis", "0"], [],
                  "stack of the trees, every KPI"),
    "vote": (["--algo", "stack", "--combiner", "vote", "--screen-kpis", "0.007"], [],
             "soft vote of the trees, KPIs screened"),
    "stack": (["--algo", "stack", "--screen-kpis", "0.007"], [],
              "stack of the trees, KPIs screened"),
    "stack+adapt": (["--algo", "stack", "--screen-kpis", "0.007"], ["--adapt"],
                    "the same, `predict --adapt`"),
    "gbdt+adapt": (["--algo", "gbdt", "--screen-kpis", "0.007"], ["--adapt"],
                   "GBDT screened, `predict --adapt`"),
    # Evaluated and not built into healer (see docs/benchmarks.md): the
    # batch-level kNN smoothing the issue names, applied here to healer's
    # probabilities.
    "gbdt+knn": (["--algo", "gbdt", "--screen-kpis", "0.007"], [KNN],
                 "GBDT screened, kNN smoothing within the batch"),
    "stack+knn": (["--algo", "stack", "--screen-kpis", "0.007"], [KNN],
                  "stack screened, kNN smoothing within the batch"),
}


def macro_f1(y, p, k):
    f = []
    for c in range(k):
        tp = np.sum((y == c) & (p == c))
        fp = np.sum((y != c) & (p == c))
        fn = np.sum((y == c) & (p != c))
        if tp + fp + fn:
            f.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f)) if f else 0.0


def fmt(v):
    return "" if math.isnan(v) else repr(float(v))


def write_matrix(path, header, x, labels):
    with open(path, "w", encoding="utf-8") as f:
        f.write(header + "\n")
        for i in range(len(x)):
            f.write(",".join([str(i)] + [fmt(v) for v in x[i]] + [labels[i]]) + "\n")


def header_of(table):
    return ",".join([benchdata.ID_COLUMN] + benchdata.feature_names(table) +
                    [benchdata.LABEL_COLUMN])


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), r.stderr[-2000:]))
    return r


def predictions(path, classes):
    index = {c: i for i, c in enumerate(classes)}
    with open(path, encoding="utf-8") as f:
        next(f)
        return np.array([index[line.split(",")[1]] for line in f])


def probabilities(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        return np.array([[float(v) for v in line.rstrip("\n").split(",")[3:]] for line in f])


def knn_smooth(proba, x):
    """Each row's probabilities moved towards the mean of its KNN_K nearest
    neighbours in the batch, KNN_ROUNDS times: distances in a space made
    inside the batch (signed log, then median / IQR per KPI, missing at the
    median), so that a KPI's drift between training and batch does not
    matter. Returns the smoothed argmax."""
    z = np.sign(x) * np.log1p(np.abs(x))
    med = np.nanmedian(z, axis=0)
    iqr = np.nanpercentile(z, 75, axis=0) - np.nanpercentile(z, 25, axis=0)
    z = np.nan_to_num((z - med) / np.where(iqr > 0, iqr, 1.0))
    sq = np.sum(z * z, axis=1)
    d = sq[:, None] + sq[None, :] - 2 * z @ z.T
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :KNN_K]
    p = proba
    for _ in range(KNN_ROUNDS):
        p = (1 - KNN_ALPHA) * proba + KNN_ALPHA * p[nn].mean(axis=1)
    return np.argmax(p, axis=1)


def perturbed_sets(x, y, k, rng, n_features):
    """[(kind, x, y)] of one test fold."""
    out = [("clean", x, y)]
    for _ in range(MIX_DRAWS):
        mix = rng.dirichlet(np.ones(k))
        idx = np.concatenate([rng.choice(np.flatnonzero(y == c), max(3, int(round(mix[c] * len(y)))))
                              for c in range(k) if np.any(y == c)])
        out.append(("mix", x[idx], y[idx]))
    smallest = min(np.sum(y == c) for c in range(k) if np.any(y == c))
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), smallest, replace=False)
                          for c in range(k) if np.any(y == c)])
    xs = x[idx].copy()
    cols = rng.choice(n_features, int(round(SCALE_FRACTION * n_features)), replace=False)
    xs[:, cols] *= 10.0 ** rng.uniform(-SCALE_DECADES, SCALE_DECADES, size=len(cols))
    out.append(("scale", xs, y[idx]))
    return out


def evaluate(methods, folds, clean, classes, tmp, threads):
    y_all = np.array([list(classes).index(v) for v in clean.labels])
    header = header_of(clean)
    scores = {m: {} for m in methods}
    seconds = {m: 0.0 for m in methods}
    for f, (tr, te) in enumerate(folds):
        train_csv = os.path.join(tmp, "fold%d_train.csv" % f)
        benchdata.write_csv(benchdata.subset(clean, tr), train_csv)
        rng = np.random.default_rng(SEED + f)
        sets = perturbed_sets(clean.x[te], y_all[te], len(classes), rng, clean.x.shape[1])
        paths = []
        for j, (kind, xs, ys) in enumerate(sets):
            p = os.path.join(tmp, "fold%d_%d.csv" % (f, j))
            write_matrix(p, header, xs, [classes[v] for v in ys])
            paths.append((kind, p, ys))
        trained = {}
        for m in methods:
            train_opts, predict_opts, _ = METHODS[m]
            key = tuple(train_opts)
            model = os.path.join(tmp, "fold%d_%s.model" % (f, m))
            if key in trained:
                model = trained[key]
            else:
                t = time.monotonic()
                run([HEALER, "train", "--data", train_csv, "--model", model,
                     "--threads", str(threads)] + train_opts)
                seconds[m] += time.monotonic() - t
                trained[key] = model
            for (kind, p, ys), (_, xs, _) in zip(paths, sets):
                out = p + "." + m + ".out"
                opts = [o for o in predict_opts if o != KNN]
                run([HEALER, "predict", "--model", model, "--data", p, "--out", out,
                     "--threads", str(threads)] + opts)
                pred = (knn_smooth(probabilities(out), xs) if KNN in predict_opts
                        else predictions(out, classes))
                scores[m].setdefault(kind, []).append(macro_f1(ys, pred, len(classes)))
        print("fold %d/%d done" % (f + 1, len(folds)), file=sys.stderr, flush=True)
    return scores, seconds


def summary(scores, seconds, methods, n_folds):
    rows = {}
    for m in methods:
        rows[m] = {kind: {"mean": float(np.mean(v)), "sd": float(np.std(v))}
                   for kind, v in scores[m].items()}
        rows[m]["train_seconds_per_fold"] = seconds[m] / n_folds if seconds[m] else None
    return rows


def docs_block(result, entry):
    lines = ["<!-- robust -->",
             "<!-- Written by bench/robust.py from bench/out/robust.json; the other benchmarks keep this section as it is. -->",
             "## Robustness to deployment shift",
             "",
             "Produced by `%s` on %s. De-duplicated stratified %d-fold CV on the reference file; "
             "every test fold scored as it is (*clean*), drawn %d times with a class mix from a flat "
             "Dirichlet (*mix*), and at a uniform class mix with %d %% of the KPIs rescaled by "
             "10^u, u in [-%g, %g] (*scale*). Macro-F1, mean ± sd over folds (and draws)."
             % (entry, result["date"], FOLDS, MIX_DRAWS, int(SCALE_FRACTION * 100),
                SCALE_DECADES, SCALE_DECADES),
             "",
             "| method | clean | mix | scale | training per fold |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for m, row in result["methods"].items():
        cells = ["%.4f ± %.4f" % (row[k]["mean"], row[k]["sd"]) for k in ("clean", "mix", "scale")]
        t = row["train_seconds_per_fold"]
        lines.append("| %s (%s) | %s | %s |" % (m, METHODS[m][2], " | ".join(cells),
                                                "" if t is None else "%.1f s" % t))
    lines.append("")
    lines.append("<!-- /robust -->")
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default="bench/out/robust.json")
    ap.add_argument("--docs", default="docs/benchmarks.md")
    ap.add_argument("--entry", default="/usr/bin/python3 bench/robust.py")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    methods = [m for m in a.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        sys.exit("robust.py: unknown method(s) %s; known: %s" % (", ".join(unknown), ", ".join(METHODS)))
    table, _ = benchdata.clean_real(benchdata.read_table(DATA))
    classes = benchdata.class_table(table.labels)
    folds = benchdata.stratified_folds(table.labels, FOLDS, SEED)
    if a.quick:
        folds = folds[:1]
    with tempfile.TemporaryDirectory(prefix="robust") as tmp:
        scores, seconds = evaluate(methods, folds, table, classes, tmp, a.threads)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "quick": a.quick, "methods": summary(scores, seconds, methods, len(folds))}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(docs_block(result, a.entry))
    if not a.quick and a.docs:
        with open(a.docs, encoding="utf-8") as f:
            text = f.read()
        with open(a.docs, "w", encoding="utf-8") as f:
            f.write(report.with_section(text, "robust", docs_block(result, a.entry)))


if __name__ == "__main__":
    main(sys.argv[1:])
