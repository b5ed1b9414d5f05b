#!/usr/bin/env python3
"""learners.py - every healer learner and the stack vs its peer, in one run.

The table issue 9 asks for: each learner as a user gets it (`healer train
--algo gbdt|forest|extratrees|mlp|stack`, and the stack with `--combiner
vote`, every other setting at the product's defaults, KPI screening
included) next to the peer other benchmarks compare it with, configured as
they configure it:

  gbdt                 XGBoost `hist` as compare.py runs it (300 rounds, lr
                       0.1, depth 6, balanced weights)
  forest               scikit-learn RandomForest as forest.py runs it at
                       healer's forest defaults (300 trees, sqrt)
  extratrees           scikit-learn ExtraTrees at healer's extratrees
                       defaults (300 trees, every KPI a candidate)
  mlp                  mlp.py's torch-mlp: PyTorch, the same network,
                       transform and procedure, read from the healer model
  stack, vote          scikit-learn StackingClassifier / soft VotingClassifier
                       over XGBoost (as above), RandomForest and ExtraTrees
                       of 50 trees each, healer's default members
                       (bench/peer.py)

All on the same de-duplicated stratified folds of
../shared/data/train_10000.csv (bench/benchdata.py, the folds compare.py
uses), one tool after the other, each in a process of its own under GNU
time (compare.measure). Per tool: macro-F1 on each fold's test rows (mean
and standard deviation over folds), training time as the tool reports it,
the time to predict the 2,000 rows of test_2000_x.csv (best of N), peak
resident memory over its processes, and ratios to its healer counterpart.
The machine is shared: ratios of tools run side by side drift far less than
absolute times, and each run records how many cores other processes kept
busy while it trained.

Writes bench/out/learners.json and the section between <!-- learners -->
and <!-- /learners --> of docs/benchmarks.md (the other benchmarks keep it:
report.KEPT_SECTIONS). The remarks between <!-- learners-notes --> and
<!-- /learners-notes --> are hand-written and carried over by every run. A
quick run (BENCH_QUICK=1 or --quick: the first fold, 30 rounds / trees /
epochs, predictions timed once) writes bench/out/learners-quick.{json,md}
and leaves the page alone.

Usage: /usr/bin/python3 bench/learners.py [--quick] [--render-only]
       (BENCH_LEARNERS_ONLY=1 sh bench/run.sh runs it alone)
Environment: BENCH_QUICK, BENCH_FOLDS (5), BENCH_SEED (1), BENCH_THREADS (2),
BENCH_REPEATS (5), BENCH_QUIET_WAIT (10 s), HEALER, BENCH_DATA_DIR,
BENCH_OUT.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import sys
import time
import types

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchdata  # noqa: E402
import compare  # noqa: E402  (measure, checked_json, peer_env, score, ...)
import mlp  # noqa: E402  (the PyTorch twin of healer's MLP)
from report import with_section  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(REPO, "bench", "peer.py")

# learner -> (healer train flags, peer tool, label of the peer: {rounds} and
# {trees} are the peers' settings of the run)
PAIRS = {
    "gbdt": (["--algo", "gbdt"], "xgboost",
             "XGBoost `hist` ({rounds} rounds, lr 0.1, depth 6, balanced weights)"),
    "forest": (["--algo", "forest"], "sklearn-rf",
               "scikit-learn RandomForest ({trees} trees, sqrt)"),
    "extratrees": (["--algo", "extratrees"], "sklearn-et",
                   "scikit-learn ExtraTrees ({trees} trees, every KPI)"),
    "mlp": (["--algo", "mlp"], "torch-mlp",
            "PyTorch MLP, same KPIs, shape, transform and training"),
    "stack": (["--algo", "stack"], "sklearn-stack",
              "scikit-learn StackingClassifier (XGBoost + RF + ET, logistic)"),
    "vote": (["--algo", "stack", "--combiner", "vote"], "sklearn-vote",
             "scikit-learn VotingClassifier, soft (XGBoost + RF + ET)"),
}
HEALER_LABELS = {
    "gbdt": "`--algo gbdt` (the default)",
    "forest": "`--algo forest`",
    "extratrees": "`--algo extratrees`",
    "mlp": "`--algo mlp`",
    "stack": "`--algo stack`",
    "vote": "`--algo stack --combiner vote`",
}
NOTES_RE = re.compile(r"<!-- learners-notes -->\n(.*?)<!-- /learners-notes -->", re.S)
DEFAULT_NOTES = "(hand-written remarks on the table go here; bench/learners.py keeps them)\n"


def config(args):
    env = os.environ
    quick = args.quick or env.get("BENCH_QUICK", "0") == "1"
    return {
        "quick": quick,
        "folds": int(env.get("BENCH_FOLDS", 5)),
        "folds_run": 1 if quick else int(env.get("BENCH_FOLDS", 5)),
        "seed": int(env.get("BENCH_SEED", 1)),
        "threads": int(env.get("BENCH_THREADS", 2)),
        "repeats": int(env.get("BENCH_REPEATS", 1 if quick else 5)),
        "quiet_wait": float(env.get("BENCH_QUIET_WAIT", 0 if quick else 10)),
        # A smoke run shortens what takes long, for healer and the peers alike;
        # a full run leaves every healer default as it is.
        "peer_rounds": 30 if quick else 300,
        "peer_trees": 30 if quick else 300,
        "max_epochs": 30 if quick else None,
        "healer": os.path.abspath(env.get("HEALER", os.path.join(REPO, "build", "healer"))),
        "data_dir": os.path.abspath(env.get("BENCH_DATA_DIR",
                                            os.path.join(REPO, "..", "shared", "data"))),
        "out_dir": os.path.abspath(env.get("BENCH_OUT", os.path.join(REPO, "bench", "out"))),
    }


def healer_tool(learner):
    return "healer-" + learner


# --- running the tools --------------------------------------------------------

def engine(cfg, *args):
    return compare.checked_json([cfg["healer"], *args, "--json"])


def run_healer(cfg, learner, case, x2000_csv):
    """`healer train` at the product's defaults (threads and seed aside), then
    predictions of the fold's test rows and, cfg["repeats"] times, of the
    2,000 rows."""
    stem = f"{case['stem']}_{healer_tool(learner)}"
    threads = ("--threads", str(cfg["threads"]))
    flags = list(PAIRS[learner][0])
    if cfg["max_epochs"] and learner == "mlp":
        flags += ["--epochs", str(cfg["max_epochs"])]
    if cfg["quick"] and learner in ("forest", "extratrees"):
        flags += ["--trees", str(cfg["peer_trees"])]
    train, m_train = engine(cfg, "train", "--data", case["train_csv"], "--model",
                            stem + ".model", *flags, "--seed", str(cfg["seed"]), *threads)
    pred, m_pred = engine(cfg, "predict", "--model", stem + ".model", "--data",
                          case["test_csv"], "--out", stem + "_pred.csv", *threads)
    runs_2000 = [engine(cfg, "predict", "--model", stem + ".model", "--data", x2000_csv,
                        "--out", stem + "_pred2000.csv", *threads)
                 for _ in range(cfg["repeats"])]
    summary = train.get("summary", {})
    report = {
        "train_seconds": train["train_seconds"],
        "predict_2000_seconds": min(p["predict_seconds"] for p, _ in runs_2000),
        "max_rss_kb": max([m_train.max_rss_kb, m_pred.max_rss_kb] +
                          [m.max_rss_kb for _, m in runs_2000]),
        "train_rss_kb": m_train.max_rss_kb,
        "foreign_cpu": m_train.foreign_cpu,
        "algo": summary.get("algo"),
        "attempts": len(train.get("attempts") or [1]),
        "kpis_read": (summary.get("screening") or {}).get("kept"),
        "params": summary.get("params"),
        "kept_kpis": mlp.kept_kpis(summary),
    }
    return report, compare.predicted_labels(stem + "_pred.csv")


def run_peer(cfg, peer, case):
    """One bench/peer.py tool on the fold, in its own process."""
    pred = f"{case['stem']}_{peer}_pred.npy"
    max_features = "all" if peer == "sklearn-et" else "sqrt"
    report, m = compare.checked_json(
        [sys.executable, PEER, peer, case["npz"], pred, "--rounds", str(cfg["peer_rounds"]),
         "--lr", "0.1", "--max-depth", "6", "--trees", str(cfg["peer_trees"]),
         "--max-features", max_features, "--threads", str(cfg["threads"]),
         "--seed", str(cfg["seed"]), "--repeats", str(cfg["repeats"])],
        compare.peer_env(cfg["threads"]))
    report.update(max_rss_kb=m.max_rss_kb, train_rss_kb=m.max_rss_kb,
                  foreign_cpu=m.foreign_cpu)
    classes = np.load(case["npz"])["classes"]
    return report, classes[np.load(pred)]


def run_torch(cfg, case, params):
    """mlp.py's torch-mlp with the settings of this fold's healer MLP."""
    if not params:
        raise compare.ToolError("no healer mlp model on this fold to copy settings from")
    torch_cfg = {"threads": cfg["threads"], "seed": cfg["seed"], "seed_epochs": 0}
    report, predicted, _ = mlp.run_torch(torch_cfg, "torch-mlp", case, params)
    return report, predicted


def attempt(cfg, learner, side, case, y_test, x2000_csv, mlp_params):
    tool = healer_tool(learner) if side == "healer" else PAIRS[learner][1]
    waited = compare.wait_for_quiet(cfg["quiet_wait"])
    try:
        if side == "healer":
            report, predicted = run_healer(cfg, learner, case, x2000_csv)
        elif tool == "torch-mlp":
            report, predicted = run_torch(cfg, case, mlp_params)
        else:
            report, predicted = run_peer(cfg, tool, case)
        report.update(compare.score(y_test, predicted))
    except compare.ToolError as e:
        report = {"error": str(e)}
    report.update(tool=tool, learner=learner, side=side, quiet_wait_seconds=waited)
    compare.log(f"  {tool}: " + (report.get("error") or
                                 f"macro-F1 {report['macro_f1']:.4f}, "
                                 f"train {report['train_seconds']:.2f} s, "
                                 f"{report['max_rss_kb'] / 1024:.0f} MB, "
                                 f"other load {report['foreign_cpu']:.2f} cores"))
    return report


def bench(cfg):
    table = benchdata.read_table(os.path.join(cfg["data_dir"], "train_10000.csv"))
    clean, dataset = benchdata.clean_real(table)
    x2000_csv = os.path.join(cfg["data_dir"], "test_2000_x.csv")
    x2000 = benchdata.read_table(x2000_csv).x
    dataset.update(folds=cfg["folds"], class_counts=benchdata.class_counts(clean.labels))
    # mlp.run_torch also scores a KPI-scaled copy of the test rows; the
    # table does not show it, but the files must exist.
    shift = mlp.kpi_shift(clean.x.shape[1], 1 / 3, cfg["seed"])
    runs = []
    folds = benchdata.stratified_folds(clean.labels, cfg["folds"], cfg["seed"])
    for fold, (train, test) in enumerate(folds[:cfg["folds_run"]]):
        compare.log(f"learners bench: fold {fold + 1}/{cfg['folds']}")
        test_table = benchdata.subset(clean, test)
        case = benchdata.write_case(benchdata.subset(clean, train), test_table, x2000,
                                    os.path.join(cfg["out_dir"], "learners", f"fold{fold}"))
        case.update(mlp.write_shifted(test_table, shift, case["stem"]))
        mlp_params = None
        for learner in PAIRS:
            for side in ("healer", "peer"):
                record = attempt(cfg, learner, side, case, test_table.labels, x2000_csv,
                                 mlp_params)
                if learner == "mlp" and side == "healer" and "params" in record:
                    mlp_params = dict(record["params"], kept_kpis=record["kept_kpis"])
                runs.append(dict(record, fold=fold, rows_test=len(test)))
    return {"dataset": dataset, "runs": runs}


# --- the report ----------------------------------------------------------------

def summarize(runs, tool):
    mine = [r for r in runs if r["tool"] == tool]
    ok = [r for r in mine if "error" not in r]
    if not ok:
        errors = [r["error"] for r in mine]
        return {"error": errors[0] if errors else "not run"}
    f1 = [r["macro_f1"] for r in ok]
    return {
        "folds": len(ok),
        "errors": [r["error"] for r in mine if "error" in r],
        "macro_f1": statistics.fmean(f1),
        "macro_f1_std": statistics.stdev(f1) if len(f1) > 1 else 0.0,
        "accuracy": statistics.fmean(r["accuracy"] for r in ok),
        # medians: on a shared machine one disturbed fold can take 3-10x longer
        "train_seconds": statistics.median(r["train_seconds"] for r in ok),
        "predict_2000_seconds": statistics.median(r["predict_2000_seconds"] for r in ok),
        "max_rss_kb": max(r["max_rss_kb"] for r in ok),
        "foreign_cpu": statistics.fmean(r["foreign_cpu"] for r in ok),
        "attempts": max(r.get("attempts", 1) for r in ok),
        "kpis_read": [r["kpis_read"] for r in ok if r.get("kpis_read") is not None],
    }


def fold_wins(runs, learner):
    """Folds on which healer's macro-F1 is at least its peer's, and folds
    with both."""
    by_fold = {}
    for r in runs:
        if r["learner"] == learner and "macro_f1" in r:
            by_fold.setdefault(r["fold"], {})[r["side"]] = r["macro_f1"]
    both = [f for f in by_fold.values() if len(f) == 2]
    return sum(1 for f in both if f["healer"] >= f["peer"]), len(both)


def times(v, healer_value):
    """The peer's figure as a multiple of healer's (2.0× = twice healer's)."""
    return f"{v / healer_value:.2f}×" if v and healer_value else "n/a"


def table(runs, cfg):
    lines = [
        "| learner | tool | macro-F1 (CV), mean ± sd | F1 − healer | healer ≥ peer (folds) "
        "| train (s) | × healer | predict 2,000 rows (ms) | × healer | peak memory (MB) "
        "| × healer | other load (cores) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for learner, (_, peer, peer_label) in PAIRS.items():
        h = summarize(runs, healer_tool(learner))
        p = summarize(runs, peer)
        wins, both = fold_wins(runs, learner)
        for side, s, label in (("healer", h, f"**healer** {HEALER_LABELS[learner]}"),
                               ("peer", p, peer_label.format(rounds=cfg["peer_rounds"],
                                                             trees=cfg["peer_trees"]))):
            first = learner if side == "healer" else ""
            if "error" in s:
                lines.append(f"| {first} | {label} | not measured: {s['error']} "
                             "| | | | | | | | | |")
                continue
            base = h if "error" not in h and side == "peer" else {}

            def vs_healer(key):
                return times(s[key], base.get(key)) if base else ""

            delta = f"{s['macro_f1'] - base['macro_f1']:+.4f}" if base else ""
            wins_cell = f"{wins} of {both}" if side == "healer" and both else ""
            lines.append(
                f"| {first} | {label} | {s['macro_f1']:.4f} ± {s['macro_f1_std']:.4f} | "
                f"{delta} | {wins_cell} | {s['train_seconds']:.2f} | "
                f"{vs_healer('train_seconds')} | {s['predict_2000_seconds'] * 1e3:.1f} | "
                f"{vs_healer('predict_2000_seconds')} | {s['max_rss_kb'] / 1024:.0f} | "
                f"{vs_healer('max_rss_kb')} | {s['foreign_cpu']:.2f} |")
    return lines


def fold_table(runs):
    tools = [t for learner, (_, peer, _) in PAIRS.items()
             for t in (healer_tool(learner), peer)]
    folds = sorted({r["fold"] for r in runs})
    lines = ["| fold | " + " | ".join(tools) + " |", "|" + " ---: |" * (1 + len(tools))]
    for fold in folds:
        by_tool = {r["tool"]: r for r in runs if r["fold"] == fold}
        cells = [f"{by_tool[t]['macro_f1']:.4f}" if "macro_f1" in by_tool.get(t, {})
                 else "n/a" for t in tools]
        lines.append(f"| {fold + 1} | " + " | ".join(cells) + " |")
    return lines


def exception_lines(runs):
    """Runs that failed, and healer runs its self-repair had to retry (the
    model kept may then be another learner's)."""
    lines = [f"- fold {r['fold'] + 1}, {r['tool']}: not measured: {r['error']}"
             for r in runs if "error" in r]
    lines += [f"- fold {r['fold'] + 1}, {r['tool']}: healer needed {r['attempts']} "
              f"attempts (the model kept: {r.get('algo')})"
              for r in runs if r.get("attempts", 1) > 1]
    return lines


def render(res, notes=DEFAULT_NOTES):
    cfg, ds, machine = res["config"], res["dataset"], res["machine"]
    runs = res["runs"]
    folds_note = (f" (only the first {cfg['folds_run']} of them here)"
                  if cfg["folds_run"] < cfg["folds"] else "")
    kpis = sorted({r["kpis_read"] for r in runs if r.get("kpis_read") is not None})
    screened = (f"it reads {kpis[0]}-{kpis[-1]} of the 107 KPIs depending on the fold"
                if kpis and kpis[0] != kpis[-1] else
                f"it reads {kpis[0]} of the 107 KPIs" if kpis else "")
    loads = [r["foreign_cpu"] for r in runs if "foreign_cpu" in r]
    lines = [
        "<!-- learners -->",
        "<!-- Written by bench/learners.py from bench/out/learners.json; the other "
        "benchmarks keep this section as it is. Edit only the text between the "
        "learners-notes markers, which the script carries over. -->",
        "## Every learner vs its peer",
        "",
        f"Produced by `{res['command']}` on {res['date']} ({res['minutes']:.1f} min); "
        f"{machine['healer']}, XGBoost {machine['xgboost']}, scikit-learn "
        f"{machine['sklearn']}, PyTorch {machine['torch']}, on {machine['nproc']} vCPUs "
        f"({machine['cpu_model']}). Machine load: the machine is shared with other "
        f"workers; the load average was {machine['loadavg_start']:.1f} when the run "
        f"started and {res['loadavg_end']:.1f} when it ended, and while a tool trained "
        f"other processes kept {statistics.fmean(loads) if loads else 0:.2f} cores busy "
        f"on average (at most {max(loads) if loads else 0:.2f}; last column). Before "
        f"each tool the harness waited at most {cfg['quiet_wait']:.0f} s for them to "
        "leave the CPUs. Read times as ratios of tools run side by side in this run.",
        "",
        f"Data: `train_10000.csv`, {ds['rows_read']:,} rows read, {ds['rows_unlabelled']} "
        f"unlabelled and {ds['rows_duplicate']:,} exact duplicates dropped: {ds['rows']:,} "
        f"distinct rows; scikit-learn `StratifiedKFold({cfg['folds']}, shuffle=True, "
        f"random_state={cfg['seed']})`{folds_note}, the folds of the sections above and "
        "the same files for every tool. macro-F1 on each fold's test rows, mean ± "
        "standard deviation over the folds. Every tool on "
        f"{cfg['threads']} threads, each in a process of its own.",
        "",
        "healer runs each learner as a user gets it: `healer train --algo NAME "
        f"--seed {cfg['seed']} --threads {cfg['threads']}`, every other setting at its "
        "default - so the GBDT stops early on a 10 % hold-out and refits (lr 0.05, "
        "subsampling), the stack's members are gbdt + forest + extratrees with 50 trees "
        "per forest, and KPI screening is on for every learner"
        + (f" ({screened})" if screened else "") +
        ". The peers run as the other benchmarks run them: XGBoost as "
        f"compare.py ({cfg['peer_rounds']} rounds, lr 0.1, depth 6, balanced sample "
        "weights), the sklearn forests as forest.py (unlimited depth, balanced class "
        "weights, missing cells filled below every value) at "
        f"{cfg['peer_trees']} trees and sqrt (forest) "
        "or every KPI (extratrees), the PyTorch MLP as mlp.py (the healer model's own "
        "settings, procedure and screened KPIs), and the stack's peers over those "
        "three kinds of member with 50 trees per forest (bench/peer.py): a "
        "StackingClassifier whose "
        "logistic regression learns from 5-fold out-of-fold log-probabilities, and a "
        "soft VotingClassifier. All peers but the PyTorch MLP see every KPI.",
        "",
        "*train*: the fit as the tool reports it (healer's `train_seconds`, CSV parsing "
        "excluded; the peers' fit from in-memory arrays; for the stacks the out-of-fold "
        "fits included), the median over folds (a fold trained next to a busy neighbour "
        "can take several times longer). *predict 2,000 rows*: `test_2000_x.csv` with each fold's model, "
        f"best of {cfg['repeats']} (healer's `predict_seconds`, parsing excluded; the "
        "peers in-process from an array), the median over folds. *peak memory*: GNU "
        "time's maximum RSS over the tool's training and prediction processes, the "
        "largest over folds (a Python peer's includes its interpreter and libraries). "
        "*× healer*: the peer's figure divided by healer's, so above 1 means healer is "
        "faster or smaller.",
        "",
        *table(runs, cfg),
        "",
        "macro-F1 per fold:",
        "",
        *fold_table(runs),
        "",
    ]
    exceptions = exception_lines(runs)
    if exceptions:
        lines += ["Failed or retried runs (the means above leave out a failed fold):", "",
                  *exceptions, ""]
    lines += ["<!-- learners-notes -->", notes.rstrip("\n"), "<!-- /learners-notes -->",
              "<!-- /learners -->"]
    return "\n".join(lines)


def existing_notes(text):
    match = NOTES_RE.search(text)
    return match.group(1) if match else DEFAULT_NOTES


# --- run facts -------------------------------------------------------------------

def machine_facts(cfg):
    import sklearn
    import torch
    import xgboost

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": compare.cpu_model(),
        "healer": compare.healer_version(types.SimpleNamespace(healer=cfg["healer"])),
        "xgboost": xgboost.__version__,
        "sklearn": sklearn.__version__,
        "torch": torch.__version__,
        "loadavg_start": os.getloadavg()[0],
    }


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--render-only", action="store_true",
                   help="re-render the section from the last results file")
    p.add_argument("--entry", default="/usr/bin/python3 bench/learners.py")
    args = p.parse_args(argv)
    cfg = config(args)
    name = "learners-quick" if cfg["quick"] else "learners"
    json_path = os.path.join(cfg["out_dir"], name + ".json")
    if args.render_only:
        with open(json_path, encoding="utf-8") as f:
            res = json.load(f)
    else:
        if not os.access(cfg["healer"], os.X_OK):
            print(f"{cfg['healer']} not found: build it with `make` first", file=sys.stderr)
            return 1
        os.makedirs(cfg["out_dir"], exist_ok=True)
        start = time.perf_counter()
        res = {"date": datetime.datetime.now(datetime.timezone.utc)
               .strftime("%Y-%m-%d %H:%M UTC"),
               "command": compare.command_line(args.entry) + (" (quick)" if cfg["quick"]
                                                              else ""),
               "config": cfg, "machine": machine_facts(cfg)}
        res.update(bench(cfg))
        res["loadavg_end"] = os.getloadavg()[0]
        res["minutes"] = (time.perf_counter() - start) / 60
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)
    docs = os.path.join(REPO, "docs", "benchmarks.md")
    with open(docs, encoding="utf-8") as f:
        text = f.read()
    block = render(res, existing_notes(text))
    if cfg["quick"]:
        target = os.path.join(cfg["out_dir"], name + ".md")
        with open(target, "w", encoding="utf-8") as f:
            f.write(block + "\n")
    else:
        target = docs
        with open(target, "w", encoding="utf-8") as f:
            f.write(with_section(text, "learners", block))
    compare.log(f"wrote {json_path} and {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
