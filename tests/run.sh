#!/bin/sh
# Runs every test suite and ends with one line CI can read:
# "N passed, N failed". Unit suites run twice (plain and ASan/UBSan build);
# CLI suites (tests/cli/*.sh) drive build/healer and report with the same
# "[  PASSED  ] N" / "[  FAILED  ] N" lines as cmocka does; so do the checks
# of the deployment files (tests/deploy/test_*.py); API suites
# (tests/api/test_*.py) start real `healer serve` processes on loopback and
# report the same way, and so do the end-to-end UI suites
# (tests/e2e/test_*.mjs, Node + headless Chromium), and the fuzz targets
# run briefly (tests/fuzz/run.sh).
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
broken=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_suite() {
    name=$1
    shift
    printf '== %s\n' "$name"
    started=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    # Per-suite time, so the slow ones are known when the 20-minute
    # budget of `make test` gets tight.
    printf -- '-- %s: %s s\n' "$name" $(($(date +%s) - started))
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or exited early: count the suite as one failure
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -ne 0 ] && broken="$broken $name"
}

# The architecture's rules, on the objects just built (mk/layers.py).
run_suite "mk/layers.py" python3 mk/layers.py build/obj src

export CMOCKA_MESSAGE_OUTPUT=stdout
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in build/tests/test_*; do
    [ -x "$t" ] && run_suite "$t" "$t"
done
for t in build/asan/tests/test_*; do
    [ -x "$t" ] && HEALER_TEST_QUICK=1 run_suite "$t" "$t"
done
for t in tests/cli/*.sh; do
    [ -f "$t" ] && run_suite "$t" sh "$t"
done
# The libFuzzer targets (tests/fuzz), each for a short bounded time
# (FUZZ_SECONDS, 10 s here: a minute for the six, the suite being long already): a crash, leak or timeout fails the suite and
# prints the command that reproduces it (tests/fuzz/run.sh).
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
export FUZZ_SECONDS
run_suite "tests/fuzz/run.sh" sh tests/fuzz/run.sh
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 2>/dev/null)
# The deployment files of deploy/ (tests/deploy): parsed and cross-checked
# against build/healer, nginx -t, systemd-analyze verify; no image or
# cluster is started.
HEALER=build/healer
export HEALER
for t in tests/deploy/test_*.py; do
    [ -f "$t" ] || continue
    if [ -n "$PY" ]; then
        run_suite "$t" "$PY" "$t"
    else
        echo "== $t: python3 not found, counted as failed"
        failed=$((failed + 1))
        broken="$broken $t"
    fi
done
# The API suites run twice: against build/healer, and against the
# sanitizer build of the server (build/asan/healer) so that a memory error
# or a leak in a request path fails the suite (see harness.py).
for healer in build/healer build/asan/healer; do
    [ -x "$healer" ] || continue
    for t in tests/api/test_*.py; do
        [ -f "$t" ] || continue
        if [ -n "$PY" ]; then
            HEALER=$healer; export HEALER
            run_suite "$t ($healer)" "$PY" "$t"
        else
            echo "== $t: python3 not found, counted as failed"
            failed=$((failed + 1))
            broken="$broken $t"
        fi
    done
done
# The web UI's module checks (tests/web/test_*.mjs): imports, cycles, URLs
# outside the API clients, on web/src with Node alone (no browser, no server).
for t in tests/web/test_*.mjs; do
    [ -f "$t" ] || continue
    if command -v node >/dev/null 2>&1; then
        run_suite "$t" node "$t"
        continue
    fi
    echo "== $t: node not found, counted as failed"
    failed=$((failed + 1))
    broken="$broken $t"
done
# The end-to-end suites (tests/e2e/test_*.mjs) drive the web UI (web/dist)
# in headless Chromium against build/healer (see tests/e2e/harness.mjs).
# node and /usr/bin/chromium are dependencies (make deps), so a missing one
# fails the suites instead of skipping them.
HEALER=build/healer
export HEALER
for t in tests/e2e/test_*.mjs; do
    [ -f "$t" ] || continue
    if ! command -v node >/dev/null 2>&1; then
        echo "== $t: node not found, counted as failed"
    elif [ ! -x /usr/bin/chromium ]; then
        echo "== $t: /usr/bin/chromium not found, counted as failed"
    else
        run_suite "$t" node "$t"
        continue
    fi
    failed=$((failed + 1))
    broken="$broken $t"
done

[ -n "$broken" ] && echo "failing suites:$broken"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
