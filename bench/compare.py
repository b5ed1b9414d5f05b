"""Side-by-side benchmark: the healer engine vs XGBoost `hist` and
scikit-learn HistGradientBoosting, in one run, on one machine, with the same
threads, rounds, depth and learning rate.

Run by bench/run.sh (`make bench`) with /usr/bin/python3, the interpreter
that has the Debian peer packages. Two parts:
  real       ../shared/data/train_10000.csv: unlabelled rows and exact
             duplicates dropped, stratified k-fold CV, every tool on the
             same folds;
  simulated  `healer simulate` data of N + 2,000 rows per size N, the last
             2,000 rows held out.
Each tool runs in its own processes (peers through bench/peer.py) under GNU
time, so peak memory is per tool, and every tool is scored here, by the same
function, on its predicted labels; `healer eval` is kept as a cross-check.
The machine is shared and a busy neighbour slows OpenMP code several times,
so each run first waits for idle CPUs, records how busy other processes kept
them, and is repeated when they disturbed it.

Writes bench/out/results.json (raw figures) and renders the markdown with
report.render_markdown into docs/benchmarks.md, keeping the hand-written
notes and the "Web API" section that bench/api.py wrote (between
<!-- api --> and <!-- /api -->) as they are. A quick (BENCH_QUICK=1)
smoke run writes bench/out/results-quick.json and bench/out/benchmarks.md
instead, so it never replaces published figures. `--render-only` re-renders
the page from the existing results file.

Settings come from the environment (see bench/run.sh for the list); nothing
is tuned per tool.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchdata  # noqa: E402
from report import write_docs  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(REPO, "bench", "peer.py")
ENGINE = "healer"
# The engine as a user runs it: its own defaults (early stopping + refit,
# row/column subsampling), not the peers' settings. A reference line.
ENGINE_DEFAULTS = "healer-defaults"
REAL_TOOLS = (ENGINE, ENGINE_DEFAULTS, "xgboost", "xgboost-unweighted", "sklearn-hgb")
SIM_TOOLS = (ENGINE, "xgboost", "sklearn-hgb")
SIM_TEST_ROWS = 2000
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
GNU_TIME = "/usr/bin/time"  # Debian package `time`
DISTURBED = 0.25  # cores used by other processes that make a timing suspect


@dataclass
class Config:
    quick: bool
    rounds: int
    rounds_large: int  # rounds for simulated sizes >= large_rows, all tools alike
    large_rows: int
    lr: float
    depth: int
    threads: int
    folds: int
    seed: int
    repeats: int
    sizes: list
    quiet_wait: float  # seconds to wait at most for a quiet machine before a tool
    retries: int  # extra attempts for a run that other processes disturbed
    healer: str
    data_dir: str
    out_dir: str

    def rounds_for(self, rows):
        return self.rounds_large if rows >= self.large_rows else self.rounds


def config_from_env(env):
    quick = env.get("BENCH_QUICK", "0") == "1"
    rounds = int(env.get("BENCH_ROUNDS", 30 if quick else 300))
    return Config(
        quick=quick,
        rounds=rounds,
        rounds_large=int(env.get("BENCH_ROUNDS_LARGE", rounds)),
        large_rows=int(env.get("BENCH_LARGE_ROWS", 1000000)),
        lr=float(env.get("BENCH_LR", 0.1)),
        depth=int(env.get("BENCH_DEPTH", 6)),
        threads=int(env.get("BENCH_THREADS", 2)),
        folds=int(env.get("BENCH_FOLDS", 5)),
        seed=int(env.get("BENCH_SEED", 1)),
        repeats=int(env.get("BENCH_REPEATS", 5)),
        sizes=[int(s) for s in env.get("BENCH_SIZES", "10000" if quick else
                                       "10000 100000 1000000").split()],
        quiet_wait=float(env.get("BENCH_QUIET_WAIT", 0 if quick else 60)),
        retries=int(env.get("BENCH_RETRIES", 0 if quick else 2)),
        healer=os.path.abspath(env.get("HEALER", os.path.join(REPO, "build", "healer"))),
        data_dir=os.path.abspath(env.get("BENCH_DATA_DIR",
                                         os.path.join(REPO, "..", "shared", "data"))),
        out_dir=os.path.abspath(env.get("BENCH_OUT", os.path.join(REPO, "bench", "out"))),
    )


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------

class ToolError(Exception):
    """A tool could not produce a result; the message says why."""


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float
    max_rss_kb: int
    foreign_cpu: float  # cores busy with other processes meanwhile, on average


def busy_cpu_seconds():
    """CPU seconds all processors have spent busy since boot (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def foreign_load(seconds=1.0):
    """Cores kept busy over the next `seconds` by processes other than ours
    (we are idle while sampling)."""
    busy = busy_cpu_seconds()
    time.sleep(seconds)
    return (busy_cpu_seconds() - busy) / seconds


def wait_for_quiet(limit):
    """Waits, at most `limit` seconds, until other processes leave the CPUs
    (< 0.2 cores busy over one second). Returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit and foreign_load() >= 0.2:
        pass
    return time.perf_counter() - start


def measure(cmd, env=None):
    """Runs cmd to completion under GNU time, which reports the peak RSS and
    CPU time of that process alone. (Reading ru_maxrss from our own wait4()
    would not do: Linux carries the parent's high-water mark across fork and
    exec, so every child would show at least this interpreter's size.)
    The machine is shared, so the CPU that other processes used meanwhile is
    recorded too: it tells which timings were disturbed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as stats:
        busy, start = busy_cpu_seconds(), time.perf_counter()
        code = subprocess.call([GNU_TIME, "-f", "%M %U %S", "-o", stats.name, *cmd],
                               stdout=out, stderr=err, env=env)
        wall = time.perf_counter() - start
        busy = busy_cpu_seconds() - busy
        rss, user, system = stats.read().split()[-3:]
        out.seek(0)
        err.seek(0)
        return Measured(code, out.read().decode(errors="replace"),
                        err.read().decode(errors="replace"), wall, int(rss),
                        max(0.0, (busy - float(user) - float(system)) / wall))


def checked_json(cmd, env=None):
    """measure() + the JSON object the command prints on stdout."""
    m = measure(cmd, env)
    if m.returncode != 0:
        tail = " | ".join(m.stderr.strip().splitlines()[-3:])
        raise ToolError(f"{os.path.basename(cmd[0])} {cmd[1]} exited {m.returncode}: {tail}")
    text = m.stdout
    try:
        return json.loads(text[text.index("{"):text.rindex("}") + 1]), m
    except ValueError:
        raise ToolError(f"{os.path.basename(cmd[0])} {cmd[1]} printed no JSON object: "
                        f"{text.strip()[:200]!r}") from None


def peer_env(threads):
    """Peers get OMP_NUM_THREADS and lose the OpenBLAS tuning variables,
    which slow numpy down on this machine; the engine keeps the caller's env."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    for var in BLAS_VARS:
        env.pop(var, None)
    return env


# --- tools -------------------------------------------------------------------

def require_healer(cfg):
    if not os.access(cfg.healer, os.X_OK):
        raise ToolError(f"{cfg.healer} not found: build it with `make` first")


def engine(cfg, *args):
    require_healer(cfg)
    return checked_json([cfg.healer, *args, "--json"])


def predicted_labels(pred_csv):
    with open(pred_csv, newline="", encoding="utf-8") as f:
        return np.array([row["label"] for row in csv.DictReader(f)])


def engine_train_flags(cfg, rounds):
    """Every parameter spelled out, as for the peers, so that a change of the
    CLI's defaults cannot make the comparison unequal: no row or column
    subsampling, and duplicates kept because the peers keep them too."""
    return ["--algo", "gbdt", "--rounds", str(rounds), "--lr", str(cfg.lr),
            "--max-depth", str(cfg.depth), "--threads", str(cfg.threads),
            "--seed", str(cfg.seed), "--early-stopping-rounds", "0",
            "--subsample", "1", "--colsample", "1", "--min-child-weight", "1",
            "--lambda", "1", "--max-bins", "255", "--class-weight", "balanced",
            "--keep-duplicates"]


def run_engine(cfg, case, rounds, x2000_csv, product_defaults=False):
    stem = case["stem"] + ("_defaults" if product_defaults else "")
    model = stem + ".model"
    pred_csv = stem + "_healer_pred.csv"
    flags = (["--threads", str(cfg.threads), "--seed", str(cfg.seed)] if product_defaults
             else engine_train_flags(cfg, rounds))
    train, m_train = engine(cfg, "train", "--data", case["train_csv"], "--model", model,
                            *flags)
    threads = ("--threads", str(cfg.threads))
    pred, m_pred = engine(cfg, "predict", "--model", model, "--data", case["test_csv"],
                          "--out", pred_csv, *threads)
    evaluation, _ = engine(cfg, "eval", "--model", model, "--data", case["test_csv"], *threads)
    runs_2000 = [engine(cfg, "predict", "--model", model, "--data", x2000_csv,
                        "--out", stem + "_healer_pred2000.csv", *threads)
                 for _ in range(cfg.repeats)]
    report = {
        "train_seconds": train["train_seconds"],
        "rounds_done": train.get("rounds_done"),
        "wall_seconds": m_train.wall_seconds,
        "predict_test_seconds": pred["predict_seconds"],
        "predict_2000_seconds": min(p["predict_seconds"] for p, _ in runs_2000),
        "max_rss_kb": max([m_train.max_rss_kb, m_pred.max_rss_kb] +
                          [m.max_rss_kb for _, m in runs_2000]),
        "foreign_cpu": m_train.foreign_cpu,
        "parse_seconds": train.get("parse_seconds"),
        "eval_macro_f1": evaluation["metrics"]["macro_f1"],
        "engine_params": (None if product_defaults
                          else train.get("summary", {}).get("params")),
    }
    return report, predicted_labels(pred_csv)


def run_peer(cfg, tool, case, rounds):
    pred = f"{case['stem']}_{tool}_pred.npy"
    report, m = checked_json(
        [sys.executable, PEER, tool, case["npz"], pred, "--rounds", str(rounds),
         "--lr", str(cfg.lr), "--max-depth", str(cfg.depth), "--threads", str(cfg.threads),
         "--seed", str(cfg.seed), "--repeats", str(cfg.repeats)],
        peer_env(cfg.threads))
    report.update(wall_seconds=m.wall_seconds, max_rss_kb=m.max_rss_kb,
                  foreign_cpu=m.foreign_cpu)
    classes = np.load(case["npz"])["classes"]
    return report, classes[np.load(pred)]


def score(y_true, y_pred):
    return {"macro_f1": float(f1_score(y_true, y_pred, average="macro")),
            "accuracy": float(accuracy_score(y_true, y_pred))}


def attempt(cfg, tool, case, y_test, rounds, x2000_csv):
    """One run of the tool: its figures and scores, or the error that stopped it."""
    waited = wait_for_quiet(cfg.quiet_wait)
    try:
        if tool in (ENGINE, ENGINE_DEFAULTS):
            report, predicted = run_engine(cfg, case, rounds, x2000_csv,
                                           product_defaults=tool == ENGINE_DEFAULTS)
        else:
            report, predicted = run_peer(cfg, tool, case, rounds)
        report.update(score(y_test, predicted))
    except ToolError as e:
        report = {"error": str(e)}
    report.update(tool=tool, rounds=rounds, quiet_wait_seconds=waited)
    log(f"  {tool}: " + (report.get("error") or
                         f"macro-F1 {report['macro_f1']:.4f}, "
                         f"train {report['train_seconds']:.2f} s, "
                         f"other load {report['foreign_cpu']:.2f} cores"))
    return report


def run_tool(cfg, *args):
    """The least disturbed of up to 1 + cfg.retries attempts: a run during
    which other processes kept DISTURBED cores busy is tried again."""
    best = None
    for tries in range(1, cfg.retries + 2):
        report = attempt(cfg, *args)
        if "error" in report:
            return dict(best or report, attempts=tries)
        if best is None or report["foreign_cpu"] < best["foreign_cpu"]:
            best = report
        if report["foreign_cpu"] < DISTURBED:
            break
    return dict(best, attempts=tries)


# --- the two parts -----------------------------------------------------------

def engine_parse_seconds(cfg, path):
    """Best of cfg.repeats CSV parse times of `path` by the engine (the
    `parse_seconds` of a one-round `healer train`), None if unavailable."""
    model = os.path.join(cfg.out_dir, "parse.model")
    try:
        runs = [engine(cfg, "train", "--data", path, "--model", model,
                       *engine_train_flags(cfg, 1))[0] for _ in range(cfg.repeats)]
    except ToolError as e:
        log(f"engine CSV parse time not measured: {e}")
        return None
    times = [r["parse_seconds"] for r in runs if r.get("parse_seconds") is not None]
    return min(times) if times else None


def bench_real(cfg):
    table_path = os.path.join(cfg.data_dir, "train_10000.csv")
    table = benchdata.read_table(table_path)
    clean, summary = benchdata.clean_real(table)
    x2000_csv = os.path.join(cfg.data_dir, "test_2000_x.csv")
    table_2000 = benchdata.read_table(x2000_csv)
    if benchdata.feature_names(table_2000) != benchdata.feature_names(clean):
        raise SystemExit(f"{x2000_csv}: feature columns differ from the training file's")
    x2000 = table_2000.x
    summary.update(folds=cfg.folds, class_counts=benchdata.class_counts(clean.labels),
                   engine_parse_seconds=engine_parse_seconds(cfg, table_path))
    runs = []
    for fold, (train, test) in enumerate(benchdata.stratified_folds(clean.labels, cfg.folds,
                                                                    cfg.seed)):
        log(f"real data, fold {fold + 1}/{cfg.folds}")
        test_table = benchdata.subset(clean, test)
        case = benchdata.write_case(benchdata.subset(clean, train), test_table, x2000,
                                    os.path.join(cfg.out_dir, "real", f"fold{fold}"))
        for tool in REAL_TOOLS:
            record = run_tool(cfg, tool, case, test_table.labels, cfg.rounds, x2000_csv)
            runs.append(dict(record, fold=fold, rows_test=len(test)))
    return {"dataset": summary, "runs": runs}


def simulate(cfg, rows):
    path = os.path.join(cfg.out_dir, "sim", f"sim_{rows}.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    m = measure([cfg.healer, "simulate", "--out", path, "--samples",
                 str(rows + SIM_TEST_ROWS), "--seed", str(cfg.seed)])
    if m.returncode != 0:
        raise ToolError(f"healer simulate exited {m.returncode}: {m.stderr.strip()[-300:]}")
    return path


def bench_size(cfg, rows):
    log(f"simulated data, {rows} training rows")
    table = benchdata.read_table(simulate(cfg, rows))
    train = benchdata.subset(table, np.arange(rows))
    test = benchdata.subset(table, np.arange(rows, len(table.lines)))
    case = benchdata.write_case(train, test, test.x,
                                os.path.join(cfg.out_dir, "sim", f"case_{rows}"))
    dataset = {"rows_train": rows, "rows_test": len(test.lines),
               "features": int(table.x.shape[1]),
               "class_counts": benchdata.class_counts(train.labels)}
    rounds = cfg.rounds_for(rows)
    runs = [run_tool(cfg, tool, case, test.labels, rounds, case["test_csv"])
            for tool in SIM_TOOLS]
    return {"dataset": dataset, "rounds": rounds, "runs": runs}


def bench_simulated(cfg):
    try:
        require_healer(cfg)
        return {str(rows): bench_size(cfg, rows) for rows in cfg.sizes}
    except ToolError as e:
        log(f"simulated data skipped: {e}")
        return {"error": str(e)}


# --- run facts ---------------------------------------------------------------

def cpu_model():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines()
                 if line.startswith("Model name")), "unknown")


def import_rss_kb(module):
    """Peak RSS of a bare interpreter importing a peer: the floor of its figure."""
    return measure([sys.executable, "-c", f"import numpy, {module}"], peer_env(1)).max_rss_kb


def healer_version(cfg):
    try:
        return subprocess.run([cfg.healer, "--version"], capture_output=True,
                              text=True).stdout.strip() or "unknown"
    except OSError:
        return "not built"


def machine_facts(cfg):
    import sklearn
    import xgboost

    with open("/proc/meminfo", encoding="ascii") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "xgboost": xgboost.__version__,
        "sklearn": sklearn.__version__,
        "healer": healer_version(cfg),
        "import_rss_kb": {"xgboost": import_rss_kb("xgboost"),
                          "sklearn-hgb": import_rss_kb("sklearn.ensemble")},
    }


def command_line(entry):
    settings = [f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items())
                if k.startswith("BENCH_") or k == "HEALER"]
    return " ".join(settings + [entry])


def run_meta(cfg, entry):
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(entry),
        "config": asdict(cfg),
        "machine": machine_facts(cfg),
        "peer_env": {"OMP_NUM_THREADS": str(cfg.threads),
                     "unset": {v: os.environ[v] for v in BLAS_VARS if v in os.environ}},
    }


def parse_args(argv):
    p = argparse.ArgumentParser(description="healer vs XGBoost vs scikit-learn benchmark")
    p.add_argument("--entry", default="/usr/bin/python3 bench/compare.py",
                   help="how the run was started, recorded in the report")
    p.add_argument("--render-only", action="store_true",
                   help="re-render docs/benchmarks.md from bench/out/results.json")
    return p.parse_args(argv)


def docs_target(results, cfg, docs_path):
    """Smoke-run figures never overwrite the published page."""
    quick = results["meta"]["config"]["quick"]
    return os.path.join(cfg.out_dir, "benchmarks.md") if quick else docs_path


def main(argv):
    args = parse_args(argv)
    cfg = config_from_env(os.environ)
    results_path = os.path.join(cfg.out_dir, "results-quick.json" if cfg.quick
                                else "results.json")
    docs_path = os.path.join(REPO, "docs", "benchmarks.md")
    if args.render_only:
        with open(results_path, encoding="utf-8") as f:
            results = json.load(f)
    else:
        os.makedirs(cfg.out_dir, exist_ok=True)
        start = time.perf_counter()
        results = {"meta": run_meta(cfg, args.entry), "real": bench_real(cfg),
                   "simulated": bench_simulated(cfg)}
        results["meta"]["duration_seconds"] = time.perf_counter() - start
        with open(results_path, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    target = docs_target(results, cfg, docs_path)
    write_docs(results, target, docs_path)
    log(f"wrote {target} from {results_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
