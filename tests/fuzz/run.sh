#!/bin/sh
# Runs libFuzzer targets (build/fuzz/<target>, built by `make fuzz-build`)
# each for a bounded time, and reports like the other suites: one
# "[ RUN      ]"/"[       OK ]" or "[  FAILED  ]" line per target, then
# "[  PASSED  ] N test(s)." and, when some failed, "[  FAILED  ] N test(s)."
# (tests/run.sh counts those lines).
#
#   sh tests/fuzz/run.sh [TARGET...]      every target when none is named
#   FUZZ_SECONDS=20 (per target, default 20; `make fuzz` sets 600)
#
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>,
# never written here) plus a working corpus of what earlier runs found
# (build/fuzz/corpus/<target>, grown by each run, so `make fuzz` goes on
# where it stopped). A crash, a leak, a sanitizer report, a timeout
# (-timeout) or running out of memory (-rss_limit_mb) fails the target;
# the input is saved under build/fuzz/crashes/ and the command that
# reproduces it is printed. One libFuzzer process at a time (-jobs 1):
# the machine's cores are shared with the other suites.
cd "$(dirname "$0")/../.." || exit 2
seconds=${FUZZ_SECONDS:-20}
timeout_s=${FUZZ_TIMEOUT:-30}
rss_mb=${FUZZ_RSS_MB:-2048}
crashes=build/fuzz/crashes
mkdir -p "$crashes"
# The service's targets keep a data directory in TMPDIR (memory when
# /dev/shm is there: the store fsyncs); a crashed target cannot remove
# its own, so this directory goes at the end whatever happened.
shm=/dev/shm
[ -w "$shm" ] || shm=${TMPDIR:-/tmp}
TMPDIR=$(mktemp -d "$shm/healer-fuzz-run.XXXXXX") || exit 2
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
if [ $# -eq 0 ]; then
    set -- $(ls tests/fuzz/*.c | sed 's|tests/fuzz/\(.*\)\.c|\1|')
fi
passed=0
failed=0
for t in "$@"; do
    bin=build/fuzz/$t
    printf '[ RUN      ] fuzz_%s\n' "$t"
    if [ ! -x "$bin" ]; then
        printf '%s not built (make fuzz-build)\n[  FAILED  ] fuzz_%s\n' "$bin" "$t"
        failed=$((failed + 1))
        continue
    fi
    work=build/fuzz/corpus/$t
    mkdir -p "$work"
    dict=
    [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
    log=build/fuzz/$t.log
    before=$(ls "$crashes" | wc -l)
    # -max_total_time bounds the run; `timeout` is the backstop if the
    # process hangs outside an input (startup, a stuck thread).
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        timeout -s KILL $((seconds + 120)) "$bin" -max_total_time="$seconds" \
        -timeout="$timeout_s" -rss_limit_mb="$rss_mb" -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$crashes/$t-" $dict \
        "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    # The summary: executions, speed, coverage and features reached.
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -E '^#[0-9]+.*(DONE|pulse|INITED)' "$log" | tail -n 1 |
        sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')
    printf 'fuzz %s: %s runs in %s s, %s exec/s, coverage %s edges, %s features\n' \
        "$t" "${runs:-?}" "$seconds" "${speed:-?}" "${cov% *}" "${cov#* }"
    if [ "$rc" -eq 0 ]; then
        printf '[       OK ] fuzz_%s\n' "$t"
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    grep -E 'ERROR|SUMMARY|fuzz:|==[0-9]+==' "$log" | head -n 20
    new=$(ls -t "$crashes" | head -n $(($(ls "$crashes" | wc -l) - before)))
    for f in $new; do
        printf 'reproduce: %s %s/%s\n' "$bin" "$crashes" "$f"
    done
    [ -n "$new" ] || printf 'exit status %s, no input saved; log: %s\n' "$rc" "$log"
    printf '[  FAILED  ] fuzz_%s\n' "$t"
done
printf '[  PASSED  ] %d test(s).\n' "$passed"
[ "$failed" -eq 0 ] || printf '[  FAILED  ] %d test(s).\n' "$failed"
[ "$failed" -eq 0 ]
