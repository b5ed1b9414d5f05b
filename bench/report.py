"""Renders bench/out/results.json as docs/benchmarks.md.

The page is generated so that a re-run refreshes every figure; only the text
between the <!-- notes --> and <!-- /notes --> markers is hand-written, and
write_docs() carries it over from the existing page. So it does, verbatim,
with the sections other benchmarks own (KEPT_SECTIONS: the "Web API"
section between <!-- api --> and <!-- /api --> that bench/api.py writes,
the stored-results section of bench/results_page.py, the drift
calibration of bench/drift_check.py, the forests' section of
bench/forest.py, the every-learner table of bench/learners.py, ...), each
written by its benchmark with with_section() from its own run. Ratios to
XGBoost are shown beside the absolute times because the machine is shared:
absolute seconds drift from run to run, ratios measured in one run much
less.
"""

import re
import statistics

BASELINE = "xgboost"
NAMES = {
    "healer": "**healer** (this engine)",
    "healer-defaults": "healer, its own defaults (reference: lr 0.05, subsampling, "
                       "early stopping + refit)",
    "xgboost": "XGBoost `hist`, balanced weights",
    "xgboost-unweighted": "XGBoost `hist`, unweighted (reference)",
    "sklearn-hgb": "sklearn HistGradientBoosting, balanced weights",
}
NOTES_RE = re.compile(r"<!-- notes -->\n(.*?)<!-- /notes -->", re.S)
DEFAULT_NOTES = "(hand-written remarks go here; the generator keeps them)\n"
# Sections other benchmarks write, markers included, in page order:
# "api" by bench/api.py, "results_page" by bench/results_page.py, "drift"
# by bench/drift_check.py, "forest" by bench/forest.py, "mlp" by
# bench/mlp.py, "learners" by bench/learners.py, "robust" by
# bench/robust.py, "feedback" by bench/feedback.py, "explain" by
# bench/explain.py, "rca" by bench/rca.py, "crypt" by bench/crypt.py,
# "blob_pg" by hand from bench/blob_pg.sh, "scale" by bench/scale.py.
KEPT_SECTIONS = ("api", "results_page", "drift", "forest", "mlp", "learners", "robust",
                 "feedback", "explain", "rca", "slow_clients", "crypt", "ingest",
                 "blob_pg", "scale")
NOTES_HEADING = "## Notes"


def section_re(name):
    return re.compile(r"<!-- %s -->\n.*?<!-- /%s -->" % (name, name), re.S)


# --- figures -----------------------------------------------------------------

def summarize(runs, tool):
    """Means over the tool's successful runs (folds), max for memory."""
    mine = [r for r in runs if r["tool"] == tool]
    ok = [r for r in mine if "error" not in r]
    errors = [r["error"] for r in mine if "error" in r]
    if not ok:
        return {"error": errors[0] if errors else "not run"}
    f1 = [r["macro_f1"] for r in ok]

    def mean(key):
        return statistics.fmean(r[key] for r in ok)

    return {
        "runs": len(ok), "errors": errors, "rounds": ok[0]["rounds"],
        "macro_f1": statistics.fmean(f1),
        "macro_f1_std": statistics.stdev(f1) if len(f1) > 1 else 0.0,
        "accuracy": mean("accuracy"), "train_seconds": mean("train_seconds"),
        "predict_2000_seconds": mean("predict_2000_seconds"),
        "wall_seconds": mean("wall_seconds"),
        "max_rss_kb": max(r["max_rss_kb"] for r in ok),
        "foreign_cpu": mean("foreign_cpu"),
    }


def secs(v):
    return f"{v:.0f}" if v >= 100 else f"{v:.3g}"


def ratio(num, den, fmt="{:.2f}×"):
    return fmt.format(num / den) if num and den else "n/a"


def table_row(first_cells, s, base):
    if "error" in s:
        blanks = [""] * (len(COLUMNS) - 1)
        return "| " + " | ".join(first_cells + [f"not measured: {s['error']}"] + blanks) + " |"
    b = base if "error" not in base else {}
    f1 = f"{s['macro_f1']:.4f}"
    if s["macro_f1_std"]:
        f1 += f" ± {s['macro_f1_std']:.4f}"
    cells = first_cells + [
        f1, ratio(s["macro_f1"], b.get("macro_f1"), "{:.3f}"), f"{s['accuracy']:.4f}",
        secs(s["train_seconds"]), ratio(b.get("train_seconds"), s["train_seconds"]),
        secs(s["predict_2000_seconds"] * 1000),
        ratio(b.get("predict_2000_seconds"), s["predict_2000_seconds"]),
        f"{s['max_rss_kb'] / 1024:.0f}", secs(s["wall_seconds"]), f"{s['foreign_cpu']:.2f}",
    ]
    return "| " + " | ".join(cells) + " |"


COLUMNS = ("macro-F1", "F1 ÷ XGBoost", "accuracy", "train (s)", "train speed-up vs XGBoost",
           "predict 2,000 rows (ms)", "predict speed-up vs XGBoost", "peak RSS (MiB)",
           "process wall (s)", "other load (cores)")


def header(first):
    cols = list(first) + list(COLUMNS)
    return ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]


def error_lines(summaries):
    return [f"- {NAMES[t]}: {len(s['errors'])} run(s) failed: {s['errors'][0]}"
            for t, s in summaries.items() if s.get("errors")]


def error_block(summaries):
    lines = error_lines(summaries)
    return [""] + lines if lines else []


# --- sections ----------------------------------------------------------------

def machine_section(meta):
    m, env = meta["machine"], meta["peer_env"]
    unset = ", ".join(f"{k}={v}" for k, v in env["unset"].items()) or "none was set"
    rss = m["import_rss_kb"]
    return [
        "## Machine", "",
        f"- CPU: {m['cpu_model']}, `nproc` = {m['nproc']}, {m['memory_gib']} GiB RAM, "
        f"Linux {m['kernel']}",
        f"- Python {m['python']}, numpy {m['numpy']}, xgboost {m['xgboost']}, "
        f"scikit-learn {m['sklearn']} (Debian packages); engine: {m['healer']}",
        f"- Peer processes ran with OMP_NUM_THREADS={env['OMP_NUM_THREADS']} and without the "
        f"OpenBLAS tuning variables (unset for them only: {unset}); the engine ran in the "
        "caller's environment.",
        f"- A bare interpreter importing the peer already peaks at "
        f"{rss['xgboost'] / 1024:.0f} MiB (xgboost) and {rss['sklearn-hgb'] / 1024:.0f} MiB "
        "(sklearn); that floor is included in the peers' peak RSS.",
        "",
    ]


def setup_section(cfg):
    return [
        "## Set-up", "",
        f"Identical hyper-parameters for every tool: {cfg['rounds']} rounds (boosting "
        f"iterations, one tree per class each), learning rate {cfg['lr']}, max depth "
        f"{cfg['depth']}, {cfg['threads']} threads, early stopping off, L2 regularisation 1. "
        "Depth counts edges from the root to the deepest leaf in all three tools (checked in "
        "sklearn's grower: children at depth == max_depth become leaves), so the value is "
        "passed unchanged. Histogram bins: 255 (engine, sklearn `max_bins`) / XGBoost "
        "`max_bin=256`. Minimum leaf size: hessian sum 1 (engine, XGBoost "
        "`min_child_weight=1`); sklearn has no hessian minimum and keeps its default "
        "`min_samples_leaf=20`.",
        "",
        "Class weights: the engine weights classes as `n / (n_classes * n_c)` by default; the "
        "peers get the same weights as sample weights "
        "(`compute_sample_weight('balanced')`). XGBoost unweighted is a reference line.",
        "",
        "Timing: *train* is the fit alone, from data in memory to a model, binning included "
        "(engine: `train_seconds` from `healer train --json`, which excludes CSV parsing; "
        "XGBoost: DMatrix + `xgb.train`; sklearn: `fit`). *Predict 2,000 rows*: best of "
        f"{cfg['repeats']} (engine: `predict_seconds` of {cfg['repeats']} `healer predict "
        f"--threads {cfg['threads']}` runs; peers: in-process `inplace_predict` / "
        "`predict_proba`). "
        "*Peak RSS*: the largest resident set of the tool's own processes (GNU `time`'s "
        "maximum resident set size). "
        "*Process wall*: the training process end to end (start-up, loading the data, for "
        "the engine CSV parsing and saving the model; for the peers also the predictions). "
        "*Other load*: the cores that processes outside the benchmark kept busy, on average, "
        "while the tool trained (from /proc/stat minus the tool's own CPU time); the machine "
        "is shared, and a tool timed next to a busy neighbour can slow down several times "
        "(OpenMP threads wait on each other), so read times with that column. Before each "
        f"tool the harness waits (at most {cfg['quiet_wait']:.0f} s) until other processes "
        "leave the CPUs, and a run during which they kept 0.25 cores or more busy is "
        f"repeated (at most {cfg['retries']} times), keeping the least disturbed attempt.",
        "",
        "Every tool is scored by bench/compare.py with scikit-learn's `f1_score(average="
        "'macro')` on its predicted labels (the engine's from its `predict` output; "
        "`healer eval` is recorded as a cross-check).",
        "",
    ]


ENGINE_KEYS = ("class_weight", "max_bins", "min_child_weight", "lambda", "early_stopping_rounds",
               "subsample", "colsample", "collapse_duplicates")


def engine_params(results):
    """What the engine's own model summary says it trained with."""
    params = next((r["engine_params"] for r in all_runs(results) if r.get("engine_params")),
                  None)
    if not params:
        return []
    shown = ", ".join(f"{k} {params[k]}" for k in ENGINE_KEYS if k in params)
    return [f"The engine's model summary confirms: {shown}.", ""]


def all_runs(results):
    sim = results["simulated"]
    return results["real"]["runs"] + [r for part in sim.values() if isinstance(part, dict)
                                      for r in part["runs"]]


def crosscheck(results):
    """Does `healer eval` agree with the harness' own macro-F1?"""
    checked = [r for r in all_runs(results) if "eval_macro_f1" in r and "macro_f1" in r]
    if not checked:
        return []
    worst = max(abs(r["eval_macro_f1"] - r["macro_f1"]) for r in checked)
    verdict = "agrees" if worst <= 1e-6 else "DISAGREES"
    return [f"Cross-check: `healer eval` {verdict} with the harness' macro-F1 from the "
            f"engine's predictions on all {len(checked)} engine runs (largest difference "
            f"{worst:.1e}).", ""]


def real_table(real):
    runs = real["runs"]
    tools = list(dict.fromkeys(r["tool"] for r in runs))
    summaries = {t: summarize(runs, t) for t in tools}
    base = summaries.get(BASELINE, {"error": "not run"})
    lines = header(["tool"])
    lines += [table_row([NAMES[t]], summaries[t], base) for t in tools]
    return lines + error_block(summaries), summaries


def fold_table(real):
    runs = real["runs"]
    tools = list(dict.fromkeys(r["tool"] for r in runs))
    folds = sorted({r["fold"] for r in runs})
    lines = ["| fold | test rows | " + " | ".join(f"{t} F1" for t in tools) + " | " +
             " | ".join(f"{t} train (s)" for t in tools) + " |",
             "|" + " --- |" * (2 + 2 * len(tools))]
    for fold in folds:
        by_tool = {r["tool"]: r for r in runs if r["fold"] == fold}
        rows = next(r["rows_test"] for r in by_tool.values())
        f1 = [f"{by_tool[t]['macro_f1']:.4f}" if "macro_f1" in by_tool[t] else "n/a" for t in tools]
        tr = [secs(by_tool[t]["train_seconds"]) if "train_seconds" in by_tool[t] else "n/a"
              for t in tools]
        lines.append(f"| {fold + 1} | {rows} | " + " | ".join(f1 + tr) + " |")
    return lines


def targets(real, summaries):
    eng, xgb = summaries.get("healer", {}), summaries.get(BASELINE, {})
    if "error" in eng or "error" in xgb or not eng or not xgb:
        return ["Targets: not measured (the engine or XGBoost has no result)."]
    pairs = {}
    for r in real["runs"]:
        if "macro_f1" in r and r["tool"] in ("healer", BASELINE):
            pairs.setdefault(r["fold"], {})[r["tool"]] = r["macro_f1"]
    wins = sum(1 for p in pairs.values() if len(p) == 2 and p["healer"] >= p[BASELINE])
    speed = xgb["train_seconds"] / eng["train_seconds"]
    f1_ok = eng["macro_f1"] >= xgb["macro_f1"]
    return [
        "Targets of the issue:", "",
        f"- macro-F1 no lower than XGBoost's on the same folds: {eng['macro_f1']:.4f} vs "
        f"{xgb['macro_f1']:.4f} (mean), not lower on {wins} of {len(pairs)} folds: "
        f"**{'met' if f1_ok else 'not met'}** (on the mean).",
        f"- training at least 5× faster than XGBoost at identical hyper-parameters: "
        f"{speed:.2f}×: **{'met' if speed >= 5 else 'not met'}**.",
    ]


def real_section(real, cfg):
    d = real["dataset"]
    counts = ", ".join(f"{k}: {v}" for k, v in d["class_counts"].items())
    table, summaries = real_table(real)
    return [
        "## Real data: `train_10000.csv`, de-duplicated stratified "
        f"{d['folds']}-fold CV", "",
        f"{d['rows_read']:,} rows read; {d['rows_unlabelled']} without a label and "
        f"{d['rows_duplicate']:,} exact duplicates of an earlier row (float32 features, the "
        f"precision the learners use) dropped: {d['rows']:,} rows ({counts}). Folds: "
        f"scikit-learn `StratifiedKFold({d['folds']}, shuffle=True, random_state="
        f"{cfg['seed']})`, the same files for every tool (bench/out/real/). Predict "
        "2,000 rows: `test_2000_x.csv` with each fold's model. Means over folds, peak RSS "
        "is the maximum.", "",
        *table, "",
        "Per fold:", "",
        *fold_table(real), "",
        *targets(real, summaries), "",
        *real_parse_line(d),
    ]


def real_parse_line(dataset):
    seconds = dataset.get("engine_parse_seconds")
    if seconds is None:
        return []
    return [f"Engine CSV parsing of the whole `train_10000.csv` ({dataset['rows_read']:,} "
            f"rows): {seconds * 1000:.1f} ms (best of the `parse_seconds` of one-round "
            "`healer train --json` runs).", ""]


def sim_parse_line(sim):
    parts = [f"{int(size):,} rows {secs(r['parse_seconds'] * 1000)} ms"
             for size, part in sim.items()
             for r in part["runs"] if r["tool"] == "healer" and r.get("parse_seconds")]
    if not parts:
        return []
    return ["", "Engine CSV parsing of the training file (`parse_seconds`, not part of "
                "*train*): " + ", ".join(parts) + "."]


def simulated_section(sim, cfg):
    lines = ["## Simulated data", ""]
    if "error" in sim:
        return lines + [f"Not measured: {sim['error']}", ""]
    first = next(iter(sim.values()))["dataset"]
    lines += [
        f"`healer simulate --samples N+2000 --seed {cfg['seed']}` ({first['features']} KPIs, "
        f"{len(first['class_counts'])} classes): the first N rows train, the "
        "last 2,000 rows are the test set and the predict-2,000 set. One model per tool and "
        "size, so no ± here.", "",
    ]
    lines += header(["training rows", "rounds", "tool"])
    errors = []
    for size, part in sim.items():
        runs = part["runs"]
        summaries = {r["tool"]: summarize(runs, r["tool"]) for r in runs}
        base = summaries.get(BASELINE, {"error": "not run"})
        lines += [table_row([f"{int(size):,}", str(part["rounds"]), NAMES[t]], s, base)
                  for t, s in summaries.items()]
        errors += error_lines(summaries)
    rounds = {part["rounds"] for part in sim.values()}
    if len(rounds) > 1:
        lines += ["", "The largest size runs fewer rounds, for all tools alike, to keep the "
                      "whole run within its time budget."]
    lines += sim_parse_line(sim)
    return lines + ([""] + errors if errors else []) + [""]


def render_markdown(results, notes=DEFAULT_NOTES, kept=()):
    """The whole page for one results.json; `notes` is the hand-written part,
    `kept` the sections other benchmarks wrote (markers included)."""
    meta = results["meta"]
    minutes = meta.get("duration_seconds", 0) / 60
    return "\n".join([
        "# Benchmarks: healer vs XGBoost and scikit-learn", "",
        "<!-- Generated by bench/compare.py from bench/out/results.json (the Web API "
        "section by bench/api.py from bench/out/api.json): edit only the Notes section, "
        "the rest is rewritten by every run. -->", "",
        f"Produced by `{meta['command']}` on {meta['date']} (the whole run took "
        f"{minutes:.1f} min). All tools ran one after another in that single run.", "",
        *machine_section(meta),
        *setup_section(meta["config"]),
        *engine_params(results),
        *real_section(results["real"], meta["config"]),
        *simulated_section(results["simulated"], meta["config"]),
        *crosscheck(results),
        *[line for block in kept for line in (block, "")],
        NOTES_HEADING, "",
        "<!-- notes -->", notes.rstrip("\n"), "<!-- /notes -->", "",
    ])


def existing_notes(path):
    try:
        with open(path, encoding="utf-8") as f:
            match = NOTES_RE.search(f.read())
    except FileNotFoundError:
        return DEFAULT_NOTES
    return match.group(1) if match else DEFAULT_NOTES


def existing_sections(path):
    """The KEPT_SECTIONS found in the page at `path`, markers included."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    found = (section_re(name).search(text) for name in KEPT_SECTIONS)
    return [m.group(0) for m in found if m]


def with_section(text, name, block):
    """`text` (a page) with its section `name` replaced by `block`, or with
    `block` inserted before the Notes section (at the end without one)."""
    match = section_re(name).search(text)
    if match:
        return text[:match.start()] + block + text[match.end():]
    at = text.find("\n" + NOTES_HEADING + "\n")
    if at < 0:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return text[:at + 1] + block + "\n\n" + text[at + 1:]


def write_section(path, name, block):
    """Replaces (or inserts, see with_section) section `name` of the page at
    `path` with `block`, leaving the rest of the page as it is."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(with_section(text, name, block))


def write_docs(results, path, notes_from):
    """Writes the page to `path`, keeping the notes and the sections of
    other benchmarks found in `notes_from`."""
    text = render_markdown(results, existing_notes(notes_from),
                           existing_sections(notes_from))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
