#!/bin/sh
# Benchmark entry point (`make bench`): installs the peer packages and wrk if
# missing, then runs bench/compare.py, which times build/healer, XGBoost and
# scikit-learn side by side and writes bench/out/results.json plus
# docs/benchmarks.md (a quick run: bench/out/results-quick.json and
# bench/out/benchmarks.md), and after it bench/api.py, which benchmarks the
# web back end (`healer serve`: upload to trained model, single-row
# diagnoses under wrk) and writes bench/out/api.json plus the "Web API"
# section of docs/benchmarks.md (quick: bench/out/api-quick.{json,md}).
#
# /usr/bin/python3 is named explicitly: the peers are Debian packages that
# only the system interpreter sees, whatever `python3` is first in PATH.
#
# Settings (environment):
#   BENCH_QUICK=1         smoke run, < 2 min: 30 rounds, 10k simulated rows only
#   BENCH_ROUNDS=N        boosting rounds for every tool (default 300)
#   BENCH_SIZES="..."     simulated training sizes (default "10000 100000 1000000")
#   BENCH_ROUNDS_LARGE=N  rounds for sizes >= BENCH_LARGE_ROWS (default 1000000),
#                         for all tools alike, should a busy machine need a
#                         shorter run (default: BENCH_ROUNDS)
#   BENCH_THREADS=T       threads for every tool (default 2)
#   BENCH_QUIET_WAIT=S    before each tool, wait at most S seconds (default 60,
#                         quick 0) for other processes to leave the CPUs
#   BENCH_RETRIES=N       re-run a tool up to N times (default 2, quick 0) when
#                         other processes used >= 0.25 cores meanwhile; the
#                         least disturbed attempt is kept
#   BENCH_FOLDS, BENCH_SEED, BENCH_LR, BENCH_DEPTH, BENCH_REPEATS
#   HEALER=PATH           engine binary (default build/healer)
#   BENCH_DATA_DIR=DIR    reference data (default ../shared/data)
#   BENCH_OUT=DIR         derived files and results.json (default bench/out)
#   BENCH_API_ONLY=1      run bench/api.py alone (not compare.py)
#   BENCH_RESULTS_ONLY=1  run bench/results_page.py alone
#   BENCH_DRIFT_ONLY=1    run bench/results_page.py and bench/drift_check.py only
#   BENCH_RESULTS_ROWS="..."  its diagnosis sizes (default "10000 100000 1000000")
#   BENCH_API_SECONDS=S   duration of each wrk run (default 15, quick 3)
#   BENCH_API_REPEATS=N   upload-to-model runs (default 3, quick 1)
#   BENCH_API_SEQUENTIAL=N  sequential diagnosis requests (default 1000, quick 200)
# bench/results_page.py (build/bench/results_page) then times reading stored
# diagnoses of 10k..1M rows and writes its section of docs/benchmarks.md;
# bench/drift_check.py calibrates the drift checks and writes its section,
# and bench/forest.py runs healer's forest and extra-trees side by side with
# scikit-learn's (its section of docs/benchmarks.md; quick: 30 trees, 2
# folds, bench/out/forest-quick.{json,md}).
#   BENCH_FOREST_ONLY=1   run bench/forest.py alone
#   BENCH_FOREST_TREES, BENCH_FOREST_FOLDS, BENCH_FOREST_SIZES (default
#                         "100000"): its trees, folds and simulated sizes
# bench/mlp.py compares the MLP learner with a PyTorch MLP of the same shape
# (and the seed's own) in 5-fold CV on the reference data and writes the
# "MLP" section (quick: bench/out/mlp-quick.{json,md}, the first fold only).
#   BENCH_MLP_ONLY=1      run bench/mlp.py alone
# bench/learners.py runs every healer learner and the stack at the product's
# defaults beside its peer (XGBoost, scikit-learn's forests and stacking,
# the PyTorch MLP) on the same 5 folds and writes the "learners" section
# (quick: the first fold, 30 rounds/trees/epochs,
# bench/out/learners-quick.{json,md}); about an hour.
#   BENCH_LEARNERS_ONLY=1 run bench/learners.py alone
#   BENCH_EXPLAIN_ONLY=1  run bench/explain.py alone (TreeSHAP vs XGBoost's
#                         pred_contribs)
# bench/rca.py scores root-cause analysis on simulated incidents (>= 500 per
# topology shape) against two baselines and times it, and writes the "rca"
# section (quick: 40 incidents per shape, bench/out/rca-quick.{json,md});
# a few minutes.
#   BENCH_RCA_ONLY=1      run bench/rca.py alone
# bench/scale.py (issue 13) runs every deployment set-up side by side under
# 100, 1,000 and 10,000 keep-alive connections of wrk (diagnoses + health),
# then queries under a training at full CPU, and writes the "Scale-out
# (issue 13)" section (quick: 100 and 1,000 connections, 3 s,
# bench/out/scale-quick.{json,md}); a few minutes.
#   BENCH_SCALE_ONLY=1    run bench/scale.py alone
#   BENCH_SCALE_SETUPS, BENCH_SCALE_POINTS, BENCH_SCALE_SECONDS,
#   BENCH_SCALE_DIAG_PERCENT, BENCH_SCALE_TIMEOUT, BENCH_SCALE_TRAINING,
#   BENCH_SCALE_TRAIN_CONNECTIONS: see bench/scale.py
# After it, the long version of the scale-out fault test: kill -9 of the
# worker running a training, 20 times in a row (3 in make test).
#   BENCH_SCALE_KILLS=N   how many (default 20; 0 skips it)
# Re-render docs/benchmarks.md from the last results only:
#   /usr/bin/python3 bench/compare.py --render-only
set -e
cd "$(dirname "$0")/.."

HEALER_BENCH_DEPS=1 sh mk/deps.sh
entry="sh bench/run.sh"
[ -n "$MAKELEVEL" ] && entry="make bench"
if [ "${BENCH_API_ONLY:-0}" = 1 ]; then
    exec /usr/bin/python3 bench/api.py --entry "$entry"
fi
if [ "${BENCH_FOREST_ONLY:-0}" = 1 ]; then
    exec /usr/bin/python3 bench/forest.py --entry "$entry"
fi
if [ "${BENCH_MLP_ONLY:-0}" = 1 ]; then
    exec /usr/bin/python3 bench/mlp.py --entry "$entry"
fi
if [ "${BENCH_EXPLAIN_ONLY:-0}" = 1 ]; then
    make --no-print-directory build/bench/explain
    exec /usr/bin/python3 bench/explain.py --entry "$entry"
fi
if [ "${BENCH_LEARNERS_ONLY:-0}" = 1 ]; then
    exec /usr/bin/python3 bench/learners.py --entry "$entry"
fi
if [ "${BENCH_RCA_ONLY:-0}" = 1 ]; then
    exec /usr/bin/python3 bench/rca.py --entry "$entry"
fi
scale_kills() {
    [ "${BENCH_SCALE_KILLS:-20}" -gt 0 ] || return 0
    HEALER_SCALEOUT_KILLS=${BENCH_SCALE_KILLS:-20} HEALER_API_BUDGET=1200 \
        /usr/bin/python3 tests/api/test_scaleout.py \
        test_kill9_of_the_training_worker_hands_the_job_over
}
if [ "${BENCH_SCALE_ONLY:-0}" = 1 ]; then
    /usr/bin/python3 bench/scale.py --entry "$entry"
    scale_kills
    exit 0
fi
make --no-print-directory build/bench/results_page
/usr/bin/python3 bench/results_page.py --entry "$entry"
if [ "${BENCH_RESULTS_ONLY:-0}" = 1 ]; then
    exit 0
fi
# The drift checks' calibration on the reference data (exit 1 when a
# target is missed); about two minutes.
/usr/bin/python3 bench/drift_check.py --entry "$entry"
if [ "${BENCH_DRIFT_ONLY:-0}" = 1 ]; then
    exit 0
fi
if [ ! -x /usr/bin/time ]; then
    echo "bench: /usr/bin/time is missing (Debian package 'time'): it measures peak memory" >&2
    exit 1
fi
/usr/bin/python3 bench/compare.py --entry "$entry"
/usr/bin/python3 bench/forest.py --entry "$entry"
/usr/bin/python3 bench/mlp.py --entry "$entry"
/usr/bin/python3 bench/learners.py --entry "$entry"
/usr/bin/python3 bench/rca.py --entry "$entry"
/usr/bin/python3 bench/scale.py --entry "$entry"
scale_kills
exec /usr/bin/python3 bench/api.py --entry "$entry"
