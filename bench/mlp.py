#!/usr/bin/env python3
"""mlp.py - healer's MLP vs a PyTorch MLP of the same shape, side by side.

On ../shared/data/train_10000.csv with unlabelled rows and exact duplicates
dropped (float32 duplicates, as bench/benchdata.py finds them), stratified
k-fold CV (5 folds; the same folds for every tool), every tool one after the
other in one run, each in its own process under GNU time (peak memory per
tool). Tools:

  healer-mlp           `healer train --algo mlp` with the product's defaults
  healer-mlp-quantile  the same with --transform quantile (the other choice)
  torch-mlp            PyTorch, the same network, transform and training
                       procedure: the KPIs the healer model kept after its
                       KPI screening, the robust transform of transform.c
                       re-implemented in numpy and fed to them, the same layer
                       sizes, ReLU, dropout, He initialisation, AdamW (decay
                       on weights only), batch size, balanced class weights,
                       a stratified 10 % hold-out with the same patience, the
                       best epoch's weights, then a refit on all rows for
                       ceil(best x n_all / n_fit) epochs - every setting read
                       from the healer model's own summary, so nothing is
                       tuned per tool
  torch-seed           the seed project's network as it describes it: four
                       linear layers (256, 128, 64, classes), plain
                       standardising (mean / std, missing = 0), Adam 1e-3,
                       batch 64, 30 epochs, unweighted: why the transform
                       matters

Scored here, by one function, on the predicted labels of each fold's test
rows: macro-F1 mean and spread over folds; and on the same rows after a
scale shift of a third of the KPIs (each multiplied or divided by 10, the
same KPIs and factors for every tool), the kind of drift the held-back split
shows. Also: training time (as each
tool reports it: transform, hold-out run and refit included), the time to
predict the 2,000 rows of test_2000_x.csv (best of 5, transform included),
peak resident memory. Ratios are to healer-mlp in the same run.

Writes bench/out/mlp.json and the section between <!-- mlp --> and
<!-- /mlp --> of docs/benchmarks.md (bench/compare.py keeps it). A quick run
(BENCH_QUICK=1: the first of the 5 folds, healer-mlp and the two PyTorch
tools, at most 30 epochs; a few minutes) writes bench/out/mlp-quick.json
and bench/out/mlp-quick.md instead, never the published page.

Usage: /usr/bin/python3 bench/mlp.py [--entry "make bench"]
       (run by bench/run.sh; BENCH_MLP_ONLY=1 sh bench/run.sh runs it alone)
Settings: BENCH_QUICK, BENCH_THREADS (2), BENCH_FOLDS (5), BENCH_SEED (1),
BENCH_QUIET_WAIT, HEALER, BENCH_DATA_DIR, BENCH_OUT (see bench/run.sh).
Internal: mlp.py peer TOOL CASE.npz PRED.npy PARAMS.json runs one PyTorch
tool in a process of its own.
"""

import argparse
import datetime
import json
import math
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchdata  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SELF = os.path.abspath(__file__)
BASE = "healer-mlp"
HEALER_TOOLS = {BASE: [], "healer-mlp-quantile": ["--transform", "quantile"]}
TORCH_TOOLS = ("torch-mlp", "torch-seed")
NAMES = {
    BASE: "**healer mlp** (defaults)",
    "healer-mlp-quantile": "healer mlp, `--transform quantile`",
    "torch-mlp": "PyTorch MLP, same KPIs, shape, transform and training",
    "torch-seed": "PyTorch, the seed's 4-layer MLP, plain standardising",
}
PREDICT_REPEATS = 5


# --- the PyTorch side (runs in its own process) ------------------------------

def robust_transform(params, x_train):
    """transform.c's robust transform, fitted on x_train: returns apply(x)."""
    clip = float(params["input_clip"])
    with np.errstate(all="ignore"):
        t = (np.sign(x_train) * np.log1p(np.abs(x_train))).astype(np.float32)
    t = np.where(np.isfinite(t), t, np.nan)
    center, scale = [], []
    for col in t.T:
        v = col[~np.isnan(col)]
        if len(v) == 0:
            center.append(0.0), scale.append(1.0)
            continue
        q25, q50, q75 = np.percentile(v.astype(np.float64), [25, 50, 75])
        center.append(q50)
        scale.append(q75 - q25 if q75 - q25 > 0 else 1.0)
    center, scale = np.array(center), np.array(scale)
    missing = np.isnan(x_train).any(axis=0) if params["missing_indicators"] else \
        np.zeros(x_train.shape[1], bool)

    def apply(x):
        with np.errstate(all="ignore"):
            s = np.sign(x) * np.log1p(np.abs(x))
            z = np.clip((s - center) / scale, -clip, clip)
        nan = np.isnan(x)
        z = np.where(nan, 0.0, z)
        return np.hstack([z, nan[:, missing].astype(np.float64)]).astype(np.float32)

    return apply


def standardise(x_train):
    """The seed's preprocessing: missing = 0, then (x - mean) / std."""
    filled = np.nan_to_num(x_train, nan=0.0, posinf=0.0, neginf=0.0)
    mean, std = filled.mean(axis=0), filled.std(axis=0)
    std[std == 0] = 1.0

    def apply(x):
        return ((np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0) - mean) / std
                ).astype(np.float32)

    return apply


def balanced_weights(y, k):
    counts = np.bincount(y, minlength=k).astype(np.float64)
    present = np.count_nonzero(counts)
    return np.where(counts > 0, len(y) / (present * np.maximum(counts, 1)), 1.0)


def torch_net(torch, sizes, dropout, he_init):
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        if he_init:
            torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
            if dropout > 0:
                layers.append(torch.nn.Dropout(dropout))
    return torch.nn.Sequential(*layers)


def run_epochs(torch, net, opt, loss_fn, x, y, batch, epochs, gen, watch=None,
               patience=0):
    """Trains; with watch=(x_valid, y_valid, loss) stops early on its loss and
    restores the best epoch. Returns the epochs kept."""
    best, best_epoch, best_state = math.inf, 0, None
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(y), generator=gen)
        for at in range(0, len(y), batch):
            idx = order[at:at + batch]
            opt.zero_grad()
            loss_fn(net(x[idx]), y[idx]).backward()
            opt.step()
        if watch is None:
            continue
        net.eval()
        with torch.no_grad():
            vl = float(watch[2](net(watch[0]), watch[1]))
        if vl < best:
            best, best_epoch = vl, epoch
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    if watch is not None:
        net.load_state_dict(best_state)
        return best_epoch
    return epochs


def fit_torch_mlp(torch, p, x, y, k, seed):
    """The healer MLP's procedure in PyTorch; returns predict(x) -> labels."""
    from sklearn.model_selection import train_test_split

    cols = p.get("kept_kpis")
    if cols is not None:  # the KPIs healer's screening kept, nothing else
        x = x[:, cols]
    if p["transform"] != "robust":
        raise SystemExit(f"torch-mlp: transform {p['transform']} is not re-implemented here")
    info = {}

    def build(inputs):
        info["layers"] = [inputs] + [p["hidden_units"]] * p["hidden_layers"] + [k]
        net = torch_net(torch, info["layers"], p["dropout"], he_init=True)
        decay = [q for n, q in net.named_parameters() if n.endswith("weight")]
        rest = [q for n, q in net.named_parameters() if not n.endswith("weight")]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": p["weight_decay"]},
                                 {"params": rest, "weight_decay": 0.0}],
                                lr=p["learning_rate"], eps=1e-8)
        return net, opt

    cw = torch.tensor(balanced_weights(y, k), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=cw)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    epochs = p["epochs"]
    if p["early_stopping_rounds"] > 0:
        fit_idx, valid_idx = train_test_split(np.arange(len(y)),
                                              test_size=p["validation_fraction"],
                                              stratify=y, random_state=seed)
        t = robust_transform(p, x[fit_idx])
        xs = torch.from_numpy(t(x[fit_idx]))
        net, opt = build(xs.shape[1])
        watch = (torch.from_numpy(t(x[valid_idx])), torch.from_numpy(y[valid_idx]), loss_fn)
        best = run_epochs(torch, net, opt, loss_fn, xs, torch.from_numpy(y[fit_idx]),
                          p["batch_size"], epochs, gen, watch, p["early_stopping_rounds"])
        epochs = min(epochs, max(1, math.ceil(best * len(y) / len(fit_idx))))
    transform = robust_transform(p, x)
    xs = torch.from_numpy(transform(x))
    net, opt = build(xs.shape[1])
    run_epochs(torch, net, opt, loss_fn, xs, torch.from_numpy(y), p["batch_size"], epochs,
               gen)
    net.eval()

    def predict(rows):
        if cols is not None:
            rows = rows[:, cols]
        with torch.no_grad():
            return net(torch.from_numpy(transform(rows))).argmax(1).numpy()

    return predict, dict(info, epochs=epochs)


def fit_torch_seed(torch, x, y, k, seed, epochs):
    """The seed's MLP: four linear layers on standardised raw KPIs."""
    transform = standardise(x)
    torch.manual_seed(seed)
    net = torch_net(torch, [x.shape[1], 256, 128, 64, k], 0.0, he_init=False)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    run_epochs(torch, net, opt, torch.nn.CrossEntropyLoss(), torch.from_numpy(transform(x)),
               torch.from_numpy(y), 64, epochs, gen)
    net.eval()

    def predict(rows):
        with torch.no_grad():
            return net(torch.from_numpy(transform(rows))).argmax(1).numpy()

    return predict, {"epochs": epochs, "layers": [x.shape[1], 256, 128, 64, k]}


def peer_main(argv):
    tool, case_path, pred_out, params_path = argv
    import torch

    with open(params_path, encoding="utf-8") as f:
        p = json.load(f)
    torch.set_num_threads(p["threads"])
    case = np.load(case_path)
    x, y = case["x_train"], case["y_train"].astype(np.int64)
    k = len(case["classes"])
    start = time.perf_counter()
    if tool == "torch-mlp":
        predict, info = fit_torch_mlp(torch, p, x, y, k, p["seed"])
    else:
        predict, info = fit_torch_seed(torch, x, y, k, p["seed"], p["seed_epochs"])
    train_seconds = time.perf_counter() - start
    np.save(pred_out, predict(case["x_test"]))
    np.save(pred_out[:-4] + "_shift.npy", predict(np.load(p["shift_npz"])["x"]))
    times = []
    for _ in range(PREDICT_REPEATS):
        t = time.perf_counter()
        predict(case["x_2000"])
        times.append(time.perf_counter() - t)
    print(json.dumps(dict(info, tool=tool, version=torch.__version__,
                          train_seconds=train_seconds, predict_2000_seconds=min(times))))
    return 0


# --- the driver --------------------------------------------------------------

def config(env):
    quick = env.get("BENCH_QUICK", "0") == "1"
    return {
        "quick": quick,
        "threads": int(env.get("BENCH_THREADS", 2)),
        "folds": int(env.get("BENCH_FOLDS", 5)),
        "folds_run": 1 if quick else int(env.get("BENCH_FOLDS", 5)),
        "seed": int(env.get("BENCH_SEED", 1)),
        "quiet_wait": float(env.get("BENCH_QUIET_WAIT", 0 if quick else 60)),
        "max_epochs": 30 if quick else None,
        "seed_epochs": 10 if quick else 30,
        "shift_fraction": 1 / 3,
        "healer": os.path.abspath(env.get("HEALER", os.path.join(REPO, "build", "healer"))),
        "data_dir": os.path.abspath(env.get("BENCH_DATA_DIR",
                                            os.path.join(REPO, "..", "shared", "data"))),
        "out_dir": os.path.abspath(env.get("BENCH_OUT", os.path.join(REPO, "bench", "out"))),
    }


def kept_kpis(summary):
    """Column indices of the KPIs a healer model reads after its KPI
    screening (None when it screened nothing out): its twin gets those."""
    screening = summary.get("screening") or {}
    kpis = screening.get("kpis")
    if not kpis or all(k["kept"] for k in kpis):
        return None
    if [k["name"] for k in kpis] != summary.get("features"):
        raise SystemExit("mlp.py: the model's screening list is not in feature order")
    return [i for i, k in enumerate(kpis) if k["kept"]]


def run_healer(cfg, tool, case, x2000_csv):
    cmp = _compare()
    model = f"{case['stem']}_{tool}.model"
    pred_csv = f"{case['stem']}_{tool}_pred.csv"
    flags = ["--algo", "mlp", "--threads", str(cfg["threads"]), "--seed", str(cfg["seed"])]
    if cfg["max_epochs"]:
        flags += ["--epochs", str(cfg["max_epochs"])]
    cmd = [cfg["healer"], "train", "--data", case["train_csv"], "--model", model,
           *flags, *HEALER_TOOLS[tool], "--json"]
    train, m_train = cmp.checked_json(cmd)
    threads = ["--threads", str(cfg["threads"])]
    pred, m_pred = cmp.checked_json([cfg["healer"], "predict", "--model", model, "--data",
                                     case["test_csv"], "--out", pred_csv, *threads, "--json"])
    cmp.checked_json([cfg["healer"], "predict", "--model", model, "--data", case["shift_csv"],
                      "--out", pred_csv + ".shift", *threads, "--json"])
    runs = [cmp.checked_json([cfg["healer"], "predict", "--model", model, "--data", x2000_csv,
                              "--out", pred_csv + ".2000", *threads, "--json"])
            for _ in range(PREDICT_REPEATS)]
    summary = train["summary"]
    return {
        "train_seconds": train["train_seconds"],
        "predict_2000_seconds": min(r["predict_seconds"] for r, _ in runs),
        "max_rss_kb": max([m_train.max_rss_kb, m_pred.max_rss_kb] +
                          [m.max_rss_kb for _, m in runs]),
        "foreign_cpu": m_train.foreign_cpu,
        "epochs": summary["training"]["rounds_done"],
        "best_epoch": summary["training"]["best_round"],
        "params": summary["params"],
        "kept_kpis": kept_kpis(summary),
    }, cmp.predicted_labels(pred_csv), cmp.predicted_labels(pred_csv + ".shift")


def run_torch(cfg, tool, case, params):
    cmp = _compare()
    params_path = f"{case['stem']}_{tool}_params.json"
    with open(params_path, "w", encoding="utf-8") as f:
        json.dump(dict(params or {}, threads=cfg["threads"], seed=cfg["seed"],
                       seed_epochs=cfg["seed_epochs"], shift_npz=case["shift_npz"]), f)
    pred = f"{case['stem']}_{tool}_pred.npy"
    report, m = cmp.checked_json([sys.executable, SELF, "peer", tool, case["npz"], pred,
                                  params_path], cmp.peer_env(cfg["threads"]))
    report.update(max_rss_kb=m.max_rss_kb, foreign_cpu=m.foreign_cpu)
    classes = np.load(case["npz"])["classes"]
    return report, classes[np.load(pred)], classes[np.load(pred[:-4] + "_shift.npy")]


def _compare():
    import compare  # the shared process helpers (GNU time, quiet waits, scoring)

    return compare


def attempt(cfg, tool, case, y_test, x2000_csv, params):
    cmp = _compare()
    waited = cmp.wait_for_quiet(cfg["quiet_wait"])
    try:
        if tool in HEALER_TOOLS:
            report, predicted, shifted = run_healer(cfg, tool, case, x2000_csv)
        else:
            report, predicted, shifted = run_torch(cfg, tool, case, params)
        report.update(cmp.score(y_test, predicted))
        report["shift_macro_f1"] = cmp.score(y_test, shifted)["macro_f1"]
    except cmp.ToolError as e:
        report = {"error": str(e)}
    report.update(tool=tool, quiet_wait_seconds=waited)
    cmp.log(f"  {tool}: " + (report.get("error") or
                             f"macro-F1 {report['macro_f1']:.4f}, train "
                             f"{report['train_seconds']:.2f} s, other load "
                             f"{report['foreign_cpu']:.2f} cores"))
    return report


def bench(cfg):
    cmp = _compare()
    table = benchdata.read_table(os.path.join(cfg["data_dir"], "train_10000.csv"))
    clean, summary = benchdata.clean_real(table)
    x2000_csv = os.path.join(cfg["data_dir"], "test_2000_x.csv")
    x2000 = benchdata.read_table(x2000_csv).x
    summary.update(folds=cfg["folds"], class_counts=benchdata.class_counts(clean.labels))
    runs, params = [], None
    folds = benchdata.stratified_folds(clean.labels, cfg["folds"], cfg["seed"])
    shift = kpi_shift(clean.x.shape[1], cfg["shift_fraction"], cfg["seed"])
    summary["shifted_kpis"] = int(np.count_nonzero(shift != 1.0))
    for fold, (train, test) in enumerate(folds[:cfg["folds_run"]]):
        cmp.log(f"MLP, fold {fold + 1}/{cfg['folds']}")
        test_table = benchdata.subset(clean, test)
        case = benchdata.write_case(benchdata.subset(clean, train), test_table, x2000,
                                    os.path.join(cfg["out_dir"], "mlp", f"fold{fold}"))
        case.update(write_shifted(test_table, shift, case["stem"]))
        for tool in tools(cfg):
            record = attempt(cfg, tool, case, test_table.labels, x2000_csv, params)
            if tool == BASE and "params" in record:
                # the torch twin copies these, and reads the same KPIs
                params = dict(record["params"], kept_kpis=record["kept_kpis"])
            runs.append(dict(record, fold=fold, rows_test=len(test)))
    return {"dataset": summary, "runs": runs}


def tools(cfg):
    if cfg["quick"]:
        return [BASE] + list(TORCH_TOOLS)
    return list(HEALER_TOOLS) + list(TORCH_TOOLS)


def kpi_shift(n_features, fraction, seed):
    """Per KPI the factor of the shifted test rows: 10 or 1/10 for a random
    `fraction` of the KPIs, 1 for the others (the same for every tool)."""
    rng = np.random.default_rng(seed)
    factor = np.ones(n_features)
    chosen = rng.choice(n_features, size=int(round(n_features * fraction)), replace=False)
    factor[chosen] = np.where(rng.random(len(chosen)) < 0.5, 0.1, 10.0)
    return factor


def write_shifted(table, factor, stem):
    """The test rows with their KPIs scaled: a CSV for healer (ids and labels
    kept, missing cells empty) and an .npz for the PyTorch tools."""
    x = table.x * factor
    names = table.header.split(",")
    feature_cols = [i for i, n in enumerate(names)
                    if n not in (benchdata.ID_COLUMN, benchdata.LABEL_COLUMN)]
    paths = {"shift_csv": stem + "_shift.csv", "shift_npz": stem + "_shift.npz"}
    with open(paths["shift_csv"], "w", encoding="utf-8") as f:
        f.write(table.header + "\n")
        for line, row in zip(table.lines, x):
            cells = line.split(",")
            for j, col in enumerate(feature_cols):
                cells[col] = "" if np.isnan(row[j]) else repr(float(row[j]))
            f.write(",".join(cells) + "\n")
    np.savez(paths["shift_npz"], x=x)
    return paths


def summarize(runs, tool):
    ok = [r for r in runs if r["tool"] == tool and "error" not in r]
    errors = [r["error"] for r in runs if r["tool"] == tool and "error" in r]
    if not ok:
        return {"error": errors[0] if errors else "not run"}
    f1 = [r["macro_f1"] for r in ok]
    return {
        "folds": len(ok), "errors": errors,
        "macro_f1": statistics.fmean(f1),
        "macro_f1_std": statistics.stdev(f1) if len(f1) > 1 else 0.0,
        "macro_f1_min": min(f1), "macro_f1_max": max(f1),
        "accuracy": statistics.fmean(r["accuracy"] for r in ok),
        "shift_macro_f1": statistics.fmean(r["shift_macro_f1"] for r in ok),
        "train_seconds": statistics.fmean(r["train_seconds"] for r in ok),
        "predict_2000_seconds": statistics.fmean(r["predict_2000_seconds"] for r in ok),
        "max_rss_kb": max(r["max_rss_kb"] for r in ok),
        "epochs": statistics.fmean(r.get("epochs", 0) for r in ok),
        "foreign_cpu": statistics.fmean(r["foreign_cpu"] for r in ok),
    }


def render(res):
    cfg, ds = res["config"], res["dataset"]
    shown = tools(cfg)
    s = {t: summarize(res["runs"], t) for t in shown}
    base = s[BASE]
    params = next((r["params"] for r in res["runs"] if r["tool"] == BASE and "params" in r), {})
    mlp_params = ", ".join(f"{k} {v}" for k, v in params.items()
                           if k not in ("algo", "threads", "seed", "cv_folds",
                                        "collapse_duplicates"))

    def ratio(v, b):
        return f"{v / b:.2f}×" if v and b else "n/a"

    lines = [
        "<!-- mlp -->",
        "<!-- Written by bench/mlp.py from bench/out/mlp.json; bench/compare.py "
        "keeps this section as it is. -->",
        "## MLP: healer vs PyTorch",
        "",
        f"Produced by `{res['command']}` on {res['date']} ({res['minutes']:.1f} min), "
        f"every tool one after the other in that run, {cfg['threads']} threads each "
        f"(healer `--threads {cfg['threads']}`, PyTorch `set_num_threads({cfg['threads']})`). "
        f"Data: `train_10000.csv`, {ds['rows_read']:,} rows read, "
        f"{ds['rows_unlabelled']} unlabelled and {ds['rows_duplicate']:,} exact duplicates "
        f"dropped: {ds['rows']:,} distinct rows; stratified {cfg['folds']}-fold CV"
        + (f" (only the first {cfg['folds_run']} fold here)" if cfg["folds_run"] < cfg["folds"]
           else "") +
        ", the same folds for every tool; macro-F1 on each fold's test rows, mean ± "
        "standard deviation over the folds. \"Scaled KPIs\": the same test rows with "
        f"{ds['shifted_kpis']} of the KPIs multiplied or divided by 10 (the same ones for "
        "every tool), a drift of the kind the held-back split shows. Ratios are to "
        "healer mlp in the same run (the machine is shared: ratios drift far less "
        "than absolute times).",
        "",
        f"healer mlp's defaults: {mlp_params}. The PyTorch twin reads these from the "
        "healer model's summary and repeats the procedure (the KPIs the model kept "
        "after screening, transform re-implemented in numpy, the same network, AdamW, "
        "hold-out, patience, best epoch, refit); "
        "\"the seed's\" is the seed project's own four-layer MLP on plainly "
        "standardised KPIs.",
        "",
        "| tool | macro-F1 (CV) | accuracy | macro-F1, scaled KPIs | train | × healer "
        "| predict 2,000 rows | × healer | peak memory |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in shown:
        v = s[t]
        if "error" in v:
            lines.append(f"| {NAMES[t]} | not measured: {v['error']} | | | | | | | |")
            continue
        lines.append(
            f"| {NAMES[t]} | {v['macro_f1']:.4f} ± {v['macro_f1_std']:.4f} | "
            f"{v['accuracy']:.4f} | {v['shift_macro_f1']:.4f} | {v['train_seconds']:.2f} s | "
            f"{ratio(v['train_seconds'], base.get('train_seconds'))} | "
            f"{v['predict_2000_seconds'] * 1e3:.1f} ms | "
            f"{ratio(v['predict_2000_seconds'], base.get('predict_2000_seconds'))} | "
            f"{v['max_rss_kb'] / 1024:.0f} MB |")
    lines += [
        "",
        "Training time is each tool's own figure (transform, early-stopping run and "
        "refit; healer's also reads nothing but the prepared rows). Prediction of "
        "2,000 rows (`test_2000_x.csv`, best of 5) includes the transform; healer's "
        "excludes CSV parsing, PyTorch's starts from a numpy array. Peak memory is "
        "the whole process (PyTorch's includes the interpreter and the library, "
        f"about {res.get('torch_import_rss_kb', 0) / 1024:.0f} MB before any data).",
        "",
        "<!-- /mlp -->",
    ]
    return "\n".join(lines)


def main(argv):
    if argv and argv[0] == "peer":
        return peer_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entry", default="/usr/bin/python3 bench/mlp.py")
    ap.add_argument("--render-only", action="store_true",
                    help="re-render the section from bench/out/mlp.json")
    args = ap.parse_args(argv)
    cfg = config(os.environ)
    cmp = _compare()
    name = "mlp-quick" if cfg["quick"] else "mlp"
    json_path = os.path.join(cfg["out_dir"], name + ".json")
    if args.render_only:
        with open(json_path, encoding="utf-8") as f:
            res = json.load(f)
    else:
        os.makedirs(cfg["out_dir"], exist_ok=True)
        start = time.perf_counter()
        res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime(
                   "%Y-%m-%d %H:%M UTC"),
               "command": cmp.command_line(args.entry), "config": cfg}
        res.update(bench(cfg))
        res["torch_import_rss_kb"] = cmp.measure(
            [sys.executable, "-c", "import numpy, torch"], cmp.peer_env(1)).max_rss_kb
        res["minutes"] = (time.perf_counter() - start) / 60
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)
    block = render(res)
    from report import with_section

    if cfg["quick"]:
        target = os.path.join(cfg["out_dir"], name + ".md")
        with open(target, "w", encoding="utf-8") as f:
            f.write(block + "\n")
    else:
        target = os.path.join(REPO, "docs", "benchmarks.md")
        with open(target, encoding="utf-8") as f:
            text = f.read()
        with open(target, "w", encoding="utf-8") as f:
            f.write(with_section(text, "mlp", block))
    cmp.log(f"wrote {target} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
