#!/bin/sh
# test_cli.sh - end-to-end tests of the `healer` command (build/healer).
#
# What: every subcommand is driven the way a user or a script drives it, and
# the tests check what those callers rely on: exit codes (0 ok, 1 runtime
# error, 2 usage error), messages that name the flag / file / line / column
# at fault, the exact shape of the prediction CSV and of the JSON reports,
# atomic output files and determinism by seed and across thread counts.
#
# Why this way: plain POSIX sh so it runs wherever `make test` runs, and it
# prints cmocka's summary lines ("[  PASSED  ] N test(s)." and
# "[  FAILED  ] M test(s), listed below:") so tests/run.sh counts it like the
# unit suites. Each test is a function t_NAME run in its own subshell and its
# own directory, so a failing test cannot leak state into the next one. All
# data is made by `healer simulate` in a private temporary directory: the
# suite needs nothing but the binary (and python3 to validate JSON), and stays
# small (800-1000 rows, 10 KPIs, 20 rounds) so it runs in a few seconds.
#
# What it deliberately does not do: test the learners' quality in depth (the
# unit tests do) or measure speed (bench/ does).
#
# Run from anywhere: sh tests/cli/test_cli.sh [TEST...]   (HEALER=path overrides
# the binary; each TEST names a t_TEST function and only those run)

cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
H=${HEALER:-$ROOT/build/healer}
case $H in /*) ;; *) H=$ROOT/$H ;; esac

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 2>/dev/null)
# A hung command must fail its test, not hang CI.
TO=""
command -v timeout >/dev/null 2>&1 && TO="timeout 120"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/healer-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP
FIX=$TMP/fixtures

# ---- helpers (used inside tests; `fail` ends the test's subshell) ----

fail() {
    printf '    %s\n' "$@"
    exit 1
}

# Runs a command; its stdout, stderr and exit code land in out, err and $rc.
run() {
    "$@" >out 2>err
    rc=$?
}

healer() {
    $TO "$H" "$@"
}

show() { # FILE: a few indented lines of a captured output, for failure reasons
    if [ -s "$1" ]; then
        printf '    %s:\n' "$1"
        head -n 8 "$1" | sed 's/^/      | /'
    else
        printf '    %s: (empty)\n' "$1"
    fi
}

expect_rc() {
    [ "$rc" -eq "$1" ] && return 0
    printf '    %s: expected exit %s, got %s\n' "$2" "$1" "$rc"
    show err
    show out
    exit 1
}

expect_in() { # FILE TEXT [WHAT]: FILE contains TEXT (fixed string)
    grep -qF -- "$2" "$1" && return 0
    printf '    %s: %s does not contain "%s"\n' "${3:-check}" "$1" "$2"
    show "$1"
    exit 1
}

expect_not_in() {
    grep -qF -- "$2" "$1" || return 0
    printf '    %s: %s unexpectedly contains "%s"\n' "${3:-check}" "$1" "$2"
    show "$1"
    exit 1
}

expect_match() { # FILE ERE [WHAT]
    grep -qE -- "$2" "$1" && return 0
    printf '    %s: %s does not match /%s/\n' "${3:-check}" "$1" "$2"
    show "$1"
    exit 1
}

expect_empty() {
    [ -s "$1" ] || return 0
    printf '    %s: %s should be empty\n' "${2:-check}" "$1"
    show "$1"
    exit 1
}

# Usage error: exit 2, nothing on stdout, stderr names TEXT.
expect_usage_error() { # TEXT WHAT
    expect_rc 2 "$2"
    expect_in err "$1" "$2"
    expect_empty out "$2 (stdout)"
}

# JSON_FILE PYTHON_EXPR: the file is valid JSON and EXPR (over d) is true.
json_check() {
    [ -n "$PY" ] || fail "python3 is needed to validate JSON (apt-get install python3)"
    "$PY" - "$1" "$2" <<'EOF' || { show "$1"; exit 1; }
import json, sys
try:
    with open(sys.argv[1]) as f:
        d = json.load(f)
except Exception as e:
    print("    %s is not valid JSON: %s" % (sys.argv[1], e))
    sys.exit(1)
try:
    ok = eval(sys.argv[2], {"d": d})
except Exception as e:
    ok = False
    print("    JSON check raised %s: %s" % (type(e).__name__, e))
if not ok:
    print("    JSON check failed on %s: %s" % (sys.argv[1], sys.argv[2]))
    sys.exit(1)
EOF
}

expect_absent() { # FILE...: none of these was created
    for f in "$@"; do
        [ ! -e "$f" ] || fail "$f was written although the command failed"
    done
}

# No "*.tmp.*" leftovers of an atomic write in DIR.
expect_no_tmp_files() {
    left=$(find "$1" -name '*.tmp.*' 2>/dev/null)
    [ -z "$left" ] || fail "temporary files left behind: $left"
}

data_rows() { echo $(($(wc -l <"$1") - 1)); }

# Checks a prediction CSV: header sample_id,label,confidence,prob_<c>...,
# probabilities sum to 1, confidence is the max, label is the argmax.
check_prediction_rows() {
    awk -F, '
        NR == 1 { for (i = 4; i <= NF; i++) cls[i] = substr($i, 6); next }
        {
            s = 0; best = 4
            for (i = 4; i <= NF; i++) {
                s += $i
                if ($i + 0 > $best + 0) best = i
            }
            if (s < 0.9999 || s > 1.0001) { printf "    row %d: probabilities sum to %.8g\n", NR - 1, s; bad++ }
            if ($3 + 0 != $best + 0) { printf "    row %d: confidence %s != max prob %s\n", NR - 1, $3, $best; bad++ }
            if ($2 != cls[best]) { printf "    row %d: label %s != argmax class %s\n", NR - 1, $2, cls[best]; bad++ }
            if (bad >= 5) exit 1
        }
        END { exit bad > 0 }' "$1" || exit 1
}

# ---- fixtures, shared read-only by the tests ----

make_fixtures() {
    mkdir -p "$FIX" && cd "$FIX" || return 1
    # 1000 rows of one system: the first 800 train, the last 200 are held out.
    "$H" simulate --out all.csv --samples 1000 --features 10 --seed 11 \
        --shift-out shifted.csv --shift-samples 300 2>/dev/null || return 1
    head -n 801 all.csv >train.csv
    { head -n 1 all.csv; tail -n 200 all.csv; } >test.csv
    "$H" train --data train.csv --model model.model --rounds 20 --seed 42 \
        >train.txt 2>train.err || return 1
    # The same samples without the label column, and without sample_id.
    cut -d, -f1-11 test.csv >unlabelled.csv
    cut -d, -f2-11 test.csv >noid.csv
    [ -s model.model ] && [ -s shifted.csv ] || return 1
    cd "$ROOT" || return 1
}

# ---- tests: help and usage errors ----

t_help_top() {
    run healer --help
    expect_rc 0 "healer --help"
    expect_in out "Usage: healer COMMAND"
    for c in train predict eval drift inspect simulate; do expect_in out "  $c " "command list"; done
    expect_in out "Exit codes"
    expect_empty err
    run healer -h
    expect_rc 0 "healer -h"
    expect_in out "Usage: healer COMMAND"
}

# docs/api.md's table of settings is a view of the key table in
# src/service/server/config.c: the keys of `healer serve` and of `healer
# worker` (its own, such as threads), the same defaults.
t_serve_settings_documented() {
    run healer serve --help
    expect_rc 0 "healer serve --help"
    cp out serve_help.txt
    run healer worker --help
    expect_rc 0 "healer worker --help"
    cat serve_help.txt out |
        sed -n 's/^  --\([a-z-]*\)  .*(\([^()]*\))$/\1 \2/p' | grep -v '^config ' | sort -u >help.txt
    [ -s help.txt ] || fail "no settings found in serve --help"
    awk '/^\| setting \| default \| meaning \|/ { on = 1; next } on && /^$/ { exit } on' \
        "$ROOT/docs/api.md" |
        sed -n 's/^| `\([a-z-]*\)` | `\{0,1\}\([^`|]*\)`\{0,1\} | .*/\1 \2/p' |
        sed 's/ *$//' | sort >doc.txt
    [ -s doc.txt ] || fail "no settings table found in docs/api.md"
    diff help.txt doc.txt >diff.txt || fail "docs/api.md's settings differ from serve and worker --help: $(cat diff.txt)"
}

t_version() {
    run healer --version
    expect_rc 0 "healer --version"
    expect_match out '^healer [0-9]+\.[0-9]+\.[0-9]+'
    expect_empty err
}

# `healer routes` prints the route table the binary serves, as text or as
# the JSON the authorization matrix test reads; a stray option is a usage
# error.
t_routes() {
    run healer routes --json
    expect_rc 0 "healer routes --json"
    "$PY" - out <<'PYEOF' || fail "healer routes --json is not the route table"
import json, sys
routes = json.load(open(sys.argv[1]))
keys = {(r["method"], r["pattern"]): r["flags"] for r in routes}
assert keys[("GET", "/api/v1/audit")] == ["AUTH", "ADMIN"], keys[("GET", "/api/v1/audit")]
assert keys[("GET", "/api/v1/health")] == ["PUBLIC"]
assert "OWNED" in keys[("DELETE", "/api/v1/datasets/{id}")]
assert not any(m != "GET" for m, p in keys if p.startswith("/api/v1/audit"))
PYEOF
    run healer routes
    expect_rc 0 "healer routes"
    expect_in out "/api/v1/security/report" "text table"
    run healer routes --xml
    expect_rc 2 "healer routes --xml"
    expect_in err "unknown option '--xml'" "routes usage"
}

# `healer audit` reads the audit log of a data directory: the CLI's own
# `healer user add` is on it, as text and as JSON lines, filtered; a bad
# filter is a usage error, a missing data directory a runtime error that
# creates nothing.
t_audit() {
    printf 'audit-pass-1234\n' | healer user add auditor --admin --data-dir "$TMP/audit" >/dev/null 2>&1 ||
        fail "healer user add failed"
    run healer audit --data-dir "$TMP/audit"
    expect_rc 0 "healer audit"
    expect_in out "user_created" "text row"
    expect_in out "auditor" "the target"
    run healer audit --data-dir "$TMP/audit" --json --action user_created --actor "command line"
    expect_rc 0 "healer audit --json"
    "$PY" - out <<'PYEOF' || fail "healer audit --json is not the audit rows"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1, rows
r = rows[0]
assert (r["action"], r["target_name"], r["actor_name"], r["actor_id"], r["address"]) == \
    ("user_created", "auditor", "command line", None, "local"), r
PYEOF
    run healer audit --data-dir "$TMP/audit" --action made_up
    expect_rc 2 "an unknown action"
    expect_in err "unknown action 'made_up'" "names the action"
    run healer audit --data-dir "$TMP/audit" --limit 1001
    expect_rc 2 "--limit 1001"
    run healer audit --data-dir "$TMP/no-such-dir"
    expect_rc 1 "a missing data directory"
    [ ! -e "$TMP/no-such-dir" ] || fail "healer audit created the data directory"
}

t_help_subcommands() {
    for c in train predict eval drift inspect simulate rca rca-eval cert; do
        run healer $c --help
        expect_rc 0 "healer $c --help"
        expect_in out "Usage: healer $c" "$c --help"
        expect_empty err "$c --help (stderr)"
        run healer $c -h
        expect_rc 0 "healer $c -h"
        expect_in out "Usage: healer $c" "$c -h"
    done
}

t_no_command() {
    run healer
    expect_rc 2 "healer (no command)"
    expect_in err "Usage: healer COMMAND"
    expect_empty out
}

t_unknown_command() {
    run healer bogus
    expect_rc 2 "healer bogus"
    expect_in err "bogus"
    expect_empty out
}

t_usage_missing_required() {
    d=$FIX/train.csv
    run healer train --model m.model
    expect_usage_error --data "train without --data"
    run healer train --data "$d"
    expect_usage_error --model "train without --model"
    run healer predict --data "$d" --out p.csv
    expect_usage_error --model "predict without --model"
    run healer predict --model "$FIX/model.model" --data "$d"
    expect_usage_error --out "predict without --out"
    run healer eval --data "$d"
    expect_usage_error --model "eval without --model"
    run healer eval --model "$FIX/model.model"
    expect_usage_error --data "eval without --data"
    run healer simulate --samples 10
    expect_usage_error --out "simulate without --out"
    run healer inspect
    expect_usage_error "model file" "inspect without a model"
    [ ! -e m.model ] || fail "a usage error wrote a model file"
}

t_usage_unknown_option() {
    d=$FIX/train.csv
    run healer train --data "$d" --model m.model --bogus
    expect_usage_error "'--bogus'" "train --bogus"
    run healer predict --model "$FIX/model.model" --data "$d" --out p.csv --bogus
    expect_usage_error "'--bogus'" "predict --bogus"
    run healer eval --model "$FIX/model.model" --data "$d" --out p.csv
    expect_usage_error "'--out'" "eval --out"
    run healer simulate --out s.csv --bogus
    expect_usage_error "'--bogus'" "simulate --bogus"
    run healer inspect --bogus "$FIX/model.model"
    expect_usage_error "'--bogus'" "inspect --bogus"
    run healer train --data "$d" --model m.model --rounds
    expect_usage_error "--rounds" "train --rounds (no value)"
    expect_absent m.model p.csv s.csv
}

# Values inside what a double holds but meaningless for training (a
# learning rate of the smallest subnormal, an L2 of 1e308) are refused
# before any data is read, naming the flag and its range (the engine's
# tables; issue 12 found them training to a macro-F1 of 0.03).
t_train_meaningless_values() {
    d=$FIX/train.csv
    while IFS='|' read -r args range; do
        # shellcheck disable=SC2086 # split "--flag value" and "--algo A"
        set -- $args
        run healer train --data "$d" --model m.model "$@"
        flag=$1
        [ "$1" = --algo ] && flag=$3
        expect_usage_error "$flag expects a number in $range" "train $args"
        expect_absent m.model
    done <<'EOF'
--lr 5e-324|[0.0001, 1]
--lambda 1e308|[0, 10000]
--min-child-weight 1e308|[0, 10000]
--algo mlp --lr 5e-324|[1e-05, 0.1]
--algo mlp --weight-decay 1e308|[0, 10]
--algo stack --meta-l2 1e308|[0, 1e+06]
EOF
    run healer train --data "$d" --model m.model --algo mlp --hidden-units 4
    expect_usage_error "--hidden-units expects" "an MLP layer of 4 units"
}

t_usage_bad_numbers() {
    d=$FIX/train.csv
    for args in "--rounds 3OO" "--rounds 0" "--lr -1" "--lr abc" "--max-depth 100" \
        "--cv 1" "--cv 21" "--lr 2" "--threads two" "--subsample 1.5" "--seed -1" \
        "--max-bins 1"; do
        # shellcheck disable=SC2086 # split "--flag value"
        set -- $args
        run healer train --data "$d" --model m.model "$1" "$2"
        expect_usage_error "$1" "train $args"
        expect_in err "'$2'" "train $args (echoes the value)"
    done
    run healer predict --model "$FIX/model.model" --data "$d" --out p.csv --threads -3
    expect_usage_error --threads "predict --threads -3"
    run healer simulate --out s.csv --samples 10x
    expect_usage_error --samples "simulate --samples 10x"
    run healer simulate --out s.csv --classes 1
    expect_usage_error --classes "simulate --classes 1"
    expect_absent m.model s.csv
}

t_usage_negative_seed() {
    # strtoull skips leading blanks and wraps negatives: " -1" must not
    # become seed 18446744073709551615.
    run healer train --data "$FIX/train.csv" --model m.model --rounds 5 --seed " -1"
    expect_usage_error --seed "train --seed ' -1'"
    run healer simulate --out s.csv --samples 10 --seed " -1"
    expect_usage_error --seed "simulate --seed ' -1'"
    expect_absent m.model s.csv
}

t_usage_bad_choices() {
    d=$FIX/train.csv
    run healer train --data "$d" --model m.model --class-weight maybe
    expect_usage_error --class-weight "train --class-weight maybe"
    expect_in err "maybe"
    run healer train --data "$d" --model m.model --algo svm
    expect_usage_error --algo "train --algo svm"
    expect_in err "svm"
    [ ! -e m.model ] || fail "a usage error wrote a model file"
}

t_usage_stray_argument() {
    d=$FIX/train.csv
    run healer train --data "$d" --model m.model stray
    expect_usage_error "'stray'" "train with a stray argument"
    run healer predict --model "$FIX/model.model" --data "$d" --out p.csv stray
    expect_usage_error "'stray'" "predict with a stray argument"
    run healer simulate --out s.csv stray
    expect_usage_error "'stray'" "simulate with a stray argument"
    run healer inspect "$FIX/model.model" "$FIX/model.model"
    expect_usage_error "exactly one" "inspect with two models"
    expect_absent m.model p.csv s.csv
}

# Every training flag, as `healer train --help` lists it from the engine's
# parameter tables: min and max (or each choice) are accepted and values just
# outside are refused with exit 2 and a message naming the flag. The web API
# runs the same walk over the same tables (test_service.c,
# train_params_walk_the_tables), so both accept exactly the same ranges.
# "Accepted" means parsing went on to read the data: the missing file then
# fails with exit 1, so nothing is trained.
t_train_flags_walk_the_tables() {
    [ -n "$PY" ] || fail "python3 is needed to read the help"
    healer train --help >help.txt || fail "train --help failed"
    "$PY" - help.txt >cases <<'EOF'
import math, re, sys
text = open(sys.argv[1]).read()
# Options after "Training options": "  --flag [META]" then text up to the next.
# Each is walked under the learner whose section lists it ("-" = shared).
body = text[text.index("Training options"):]
heads = [(m.start(), m.group(1)) for m in re.finditer(r"^Learner (\S+) \(--algo", body, re.M)]
opts = [(m.start(), m.groups()) for m in
        re.finditer(r"^  --(\S+)(?: (\S+))?\s+(.*?)(?=^  --|^\n|^Learner|\Z)", body, re.M | re.S)]
if len(opts) < 10:
    sys.exit("too few options in the help: %d" % len(opts))
def emit(*fields):
    print(algo, *fields)
for at, (flag, meta, desc) in opts:
    algo = ([name for start, name in heads if start < at] or ["-"])[-1]
    desc = " ".join(desc.split())
    if not meta:                      # a bool flag: takes no value
        emit(flag, "-", "ok")
        continue
    if meta == "MODE":
        choices = re.search(r"; ([\w+, ]+?) or ([\w+]+) \(default", desc)
        for c in choices.group(1).split(", ") + [choices.group(2)]:
            emit(flag, c, "ok")
        emit(flag, "no-such-choice", "refused")
        continue
    m = re.search(r"; (0 \(off\) or )?(?:(-?\d+)\.\.(\d+)|\[([^,]+), ([^\]]+)\]) \(default", desc)
    if not m:
        sys.exit("no range for --%s in: %s" % (flag, desc))
    if m.group(1):
        emit(flag, "0", "ok")
    if m.group(2) is not None:
        lo, hi = int(m.group(2)), int(m.group(3))
        emit(flag, lo, "ok"); emit(flag, hi, "ok")
        emit(flag, lo - 1, "refused" if not (m.group(1) and lo == 1) else "ok")
        if m.group(1) and lo > 2:
            emit(flag, 1, "refused")
        emit(flag, hi + 1, "refused")
    else:
        lo, hi = float(m.group(4)), float(m.group(5))
        emit(flag, repr(lo), "ok"); emit(flag, repr(hi), "ok")
        emit(flag, repr(math.nextafter(lo, -math.inf)), "refused")
        emit(flag, repr(math.nextafter(hi, math.inf)), "refused")
EOF
    [ $? -eq 0 ] || fail "could not read the ranges from train --help"
    [ "$(grep -c . cases)" -ge 40 ] || fail "only $(grep -c . cases) cases"
    bad=0
    while read -r algo flag value expect; do
        # A learner's own flags are walked with --algo naming it; the shared
        # ones with the default learner. gbdt: a depth of 0 needs a leaf
        # limit, so every walk of the default learner has one.
        extra="--max-leaves 64"
        [ "$flag" = max-leaves ] && extra=""
        [ "$algo" = - ] || [ "$algo" = gbdt ] || extra="--algo $algo"
        if [ "$value" = - ]; then
            run healer train --data nonexistent.csv --model m.model $extra "--$flag"
        else
            run healer train --data nonexistent.csv --model m.model $extra "--$flag" "$value"
        fi
        if [ "$expect" = ok ] && { [ "$rc" -ne 1 ] || ! grep -qF nonexistent.csv err; }; then
            echo "    --$flag $value: expected to be accepted, got exit $rc: $(head -n 1 err)"
            bad=1
        elif [ "$expect" = refused ] && { [ "$rc" -ne 2 ] || ! grep -qF -- "--$flag" err; }; then
            echo "    --$flag $value: expected a usage error naming --$flag, got exit $rc: $(head -n 1 err)"
            bad=1
        fi
    done <cases
    [ "$bad" -eq 0 ]
}

t_train_learner_flags() {
    # Flags exist for every learner; --algo decides which apply. An unknown
    # learner is refused naming --algo, a rule between parameters naming
    # the flag.
    run healer train --data "$FIX/train.csv" --model m.model --algo none --rounds 5
    expect_usage_error --algo "train --algo none"
    run healer train --data "$FIX/train.csv" --model m.model --max-depth 0
    expect_usage_error --max-depth "train --max-depth 0 without --max-leaves"
    expect_in err max_leaves
    run healer train --help
    expect_in out "Learner gbdt (--algo gbdt)"
    expect_in out "--cv N"
    expect_in out "0 (off) or 2..20"
    expect_absent m.model
}

# The forests end to end: train, predict, inspect; their flags in --help;
# the out-of-bag estimate in the text and JSON summaries; another
# learner's flag refused naming it; the same seed gives the same
# predictions whatever the thread count.
t_train_forests() {
    run healer train --help
    for f in "Learner forest (--algo forest)" "Learner extratrees (--algo extratrees)" \
        "--trees N" "--max-features MODE" "--feature-fraction X" "--min-samples-leaf N" \
        "--no-bootstrap" "--bootstrap" "sqrt, log2 or all"; do
        expect_in out "$f" "train --help"
    done
    for a in forest extratrees; do
        run healer train --data "$FIX/train.csv" --model $a.model --algo $a --trees 40 --seed 3
        expect_rc 0 "train --algo $a"
        expect_in out "model: $a"
        expect_in out "40 trees"
        expect_not_in out "early_stopping_rounds" "$a summary (no rounds)"
        run healer predict --model $a.model --data "$FIX/test.csv" --out $a.csv --threads 1
        expect_rc 0 "predict with $a"
        [ "$(data_rows $a.csv)" -eq 200 ] || fail "$a: $(data_rows $a.csv) predictions, expected 200"
        check_prediction_rows $a.csv
        run healer train --data "$FIX/train.csv" --model $a-t2.model --algo $a --trees 40 --seed 3 --threads 2
        run healer predict --model $a-t2.model --data "$FIX/test.csv" --out $a-t2.csv --threads 2
        cmp -s $a.csv $a-t2.csv || fail "$a: --threads 1 and 2 give different predictions"
        run healer eval --model $a.model --data "$FIX/test.csv" --json
        expect_rc 0 "eval with $a"
        json_check out "d['metrics']['macro_f1'] > 0.6" || fail "$a: held-out macro-F1 too low"
    done
    run healer train --data "$FIX/train.csv" --model f.model --algo forest --trees 30
    expect_in out "out-of-bag"
    run healer inspect f.model --json
    expect_rc 0 "inspect --json of a forest"
    json_check out "d['algo'] == 'forest' and 0.5 < d['oob']['macro_f1'] <= 1 and d['oob']['rows'] > 0 and d['training']['trees'] == 30"
    run healer inspect extratrees.model --json
    json_check out "d['oob'] is None"
    run healer train --data "$FIX/train.csv" --model x.model --algo forest --rounds 5
    expect_usage_error --rounds "train --algo forest --rounds"
    run healer train --data "$FIX/train.csv" --model x.model --trees 5
    expect_usage_error --trees "train --trees without --algo forest"
    run healer train --data "$FIX/train.csv" --model x.model --algo extratrees --max-features half
    expect_usage_error --max-features "train --max-features half"
    expect_absent x.model
}

# The stack end to end: trained from its members, shown with their
# shares and out-of-fold scores in text and JSON, predicting like any
# model; its flags are its own, a member's flag is refused.
t_train_stack() {
    run healer train --data "$FIX/train.csv" --model s.model --algo stack \
        --stack-folds 3 --members forest+extratrees --threads 2 --json
    expect_rc 0 "train --algo stack"
    json_check out 'd["summary"]["algo"] == "stack" and [m["algo"] for m in d["summary"]["members"]] == ["forest", "extratrees"]'
    json_check out 'abs(sum(m["weight"] for m in d["summary"]["members"]) - 1) < 1e-9'
    json_check out '0.5 < d["summary"]["oob"]["macro_f1"] <= 1'
    run healer inspect s.model
    expect_rc 0 "inspect a stack"
    expect_in out "members (share of the combination"
    expect_in out "out-of-fold ("
    run healer predict --model s.model --data "$FIX/test.csv" --out s.csv --json
    expect_rc 0 "predict with a stack"
    json_check out 'd["metrics"]["macro_f1"] > 0.7 and d["rows"] == 200'
    check_prediction_rows s.csv
    run healer train --data "$FIX/train.csv" --model x.model --algo stack --trees 5
    expect_usage_error --trees "train --algo stack --trees"
    run healer train --data "$FIX/train.csv" --model x.model --algo stack --members gbdt+svm
    expect_usage_error --members "train --members gbdt+svm"
    run healer train --data "$FIX/train.csv" --model x.model --algo stack --stack-folds 1
    expect_usage_error --stack-folds "train --stack-folds 1"
    expect_absent x.model
}

# KPI screening: the summary says how many KPIs were kept; 0 turns it off;
# out of range is a usage error naming the flag.
t_train_screening() {
    run healer train --data "$FIX/train.csv" --model k.model --screen-kpis 0.01 --json
    expect_rc 0 "train --screen-kpis 0.01"
    json_check out 'd["summary"]["screening"]["threshold"] == 0.01 and 1 <= d["summary"]["screening"]["kept"] <= len(d["summary"]["features"])'
    json_check out 'all(k["kept"] == (k["signal"] >= 0.01) for k in d["summary"]["screening"]["kpis"]) or d["summary"]["screening"]["kept"] == 4'
    run healer inspect k.model
    expect_in out "KPI screening: "
    run healer predict --model k.model --data "$FIX/test.csv" --out k.csv
    expect_rc 0 "predict with a screened model"
    check_prediction_rows k.csv
    run healer train --data "$FIX/train.csv" --model n.model --screen-kpis 0 --json
    json_check out 'd["summary"]["screening"] is None'
    run healer train --data "$FIX/train.csv" --model x.model --screen-kpis 0.9
    expect_usage_error --screen-kpis "train --screen-kpis 0.9"
    expect_absent x.model
}

# --families: the model's families are in the summary (JSON and text),
# prediction reads them; off by default; a threshold out of range is a
# usage error naming the flag, and no model is written.
t_train_families() {
    run healer train --data "$FIX/train.csv" --model f.model --families 0.8 --rounds 30 --json
    expect_rc 0 "train --families 0.8"
    json_check out 'd["summary"]["families"]["threshold"] == 0.8'
    json_check out 'all(len(f["kpis"]) >= 2 for f in d["summary"]["families"]["families"])'
    json_check out 'len(sum([f["kpis"] for f in d["summary"]["families"]["families"]], [])) == len(set(sum([f["kpis"] for f in d["summary"]["families"]["families"]], [])))'
    run healer inspect f.model
    expect_in out "families 0.8"
    expect_in out "KPI families: "
    run healer predict --model f.model --data "$FIX/test.csv" --out f.csv
    expect_rc 0 "predict with families"
    check_prediction_rows f.csv
    run healer train --data "$FIX/train.csv" --model n.model --rounds 10 --json
    json_check out 'd["summary"]["families"] is None'
    run healer train --data "$FIX/train.csv" --model x.model --families 0.5
    expect_usage_error --families "train --families 0.5"
    expect_absent x.model
}

# --explain N: the predictions file keeps its columns and gains kpi_i,
# contrib_i and abnormal. On simulated faults whose signatures
# `simulate --truth` wrote, a true signature KPI is among the 3 KPIs that
# pushed most towards the prediction for at least 95 % of the faulty
# held-out rows (the explanations find what made the fault). Bad N is a
# usage error; a learner without explanations says so.
t_predict_explain() {
    run healer simulate --out s.csv --samples 3000 --string-labels --truth truth.json --seed 5
    expect_rc 0 "simulate --truth"
    json_check truth.json 'd["classes"]["normal"]["kpis"] == [] and all(1 <= len(c["kpis"]) <= 5 and all(k["direction"] in "+-" for k in c["kpis"]) for n, c in d["classes"].items() if n != "normal")'
    # the truth replaces its file whole (temporary name, rename): a truth
    # that cannot be written is an error naming the file; an existing one
    # is replaced, with no temporary file left beside it
    run healer simulate --out s2.csv --samples 200 --truth nodir/t.json --seed 5
    expect_rc 1 "simulate --truth into a missing directory"
    expect_in err "nodir/t.json"
    mkdir tdir && echo stale >tdir/t.json
    run healer simulate --out s2.csv --samples 200 --truth tdir/t.json --seed 5
    expect_rc 0 "simulate --truth over an existing file"
    json_check tdir/t.json '"normal" in d["classes"] or len(d["classes"]) > 1'
    [ "$(ls tdir)" = "t.json" ] || fail "simulate --truth left $(ls tdir) behind"
    head -n 2001 s.csv >tr.csv
    { head -n 1 s.csv; tail -n 1000 s.csv; } >te.csv
    run healer train --data tr.csv --model s.model
    expect_rc 0 "train"
    expect_in out "normal ranges: from the "
    run healer predict --model s.model --data te.csv --out p.csv --explain 3
    expect_rc 0 "predict --explain 3"
    head -n 1 p.csv >hdr
    expect_in hdr "sample_id,label,confidence,prob_cpu_saturation,"
    expect_in hdr ",prob_normal,kpi_1,kpi_2,kpi_3,contrib_1,contrib_2,contrib_3,abnormal"
    "$PY" - <<'EOF' || fail "explanations do not find the simulated signatures"
import csv, json
truth = json.load(open("truth.json"))["classes"]
label = {r["sample_id"]: r["label"] for r in csv.DictReader(open("te.csv"))}
hit = total = 0
for r in csv.DictReader(open("p.csv")):
    assert float(r["contrib_1"]) >= float(r["contrib_2"]) >= float(r["contrib_3"]), r
    for cell in filter(None, r["abnormal"].split(";")):
        name, z = cell.rsplit(":", 1)
        assert name.startswith("feature") and abs(float(z)) >= 3, cell  # z rounded to 0.1
    t = label[r["sample_id"]]
    if t == "normal":
        continue
    sig = {k["kpi"] for k in truth[t]["kpis"]}
    total += 1
    hit += bool(sig & {r["kpi_1"], r["kpi_2"], r["kpi_3"]})
assert total > 300 and hit >= 0.95 * total, (hit, total)
EOF
    run healer predict --model s.model --data te.csv --out x.csv --explain 0
    expect_usage_error --explain "predict --explain 0"
    run healer predict --model s.model --data te.csv --out x.csv --explain 101
    expect_usage_error --explain "predict --explain 101"
    expect_absent x.csv
    run healer train --data tr.csv --model m.model --algo mlp --epochs 5
    run healer predict --model m.model --data te.csv --out x.csv --explain 3
    expect_rc 1 "predict --explain with an MLP"
    expect_in err "cannot explain"
    expect_absent x.csv
}

# A forest explains its probabilities: predict --explain keeps the columns
# and gains kpi_i/contrib_i (contributions in probability, largest first);
# explain --json has the probability scale, each class's expected value
# plus contributions is its probability. An extra-trees model and a stack
# of both explain the same way (the stack's vote in probabilities).
t_predict_explain_forest() {
    run healer train --data "$FIX/train.csv" --model f.model --algo forest --trees 20
    expect_rc 0 "train a forest"
    run healer predict --model f.model --data "$FIX/test.csv" --out p.csv --explain 3
    expect_rc 0 "predict --explain 3 with a forest"
    head -n 1 p.csv >hdr
    expect_in hdr "sample_id,label,confidence,prob_"
    expect_in hdr ",kpi_1,kpi_2,kpi_3,contrib_1,contrib_2,contrib_3,abnormal"
    "$PY" - <<'EOF2' || fail "a forest's explained predictions are not well-formed"
import csv
rows = list(csv.DictReader(open("p.csv")))
assert len(rows) > 100
for r in rows:
    c = [float(r["contrib_%d" % i]) for i in (1, 2, 3)]
    assert c[0] >= c[1] >= c[2] and all(abs(v) <= 1 for v in c), r
    assert r["kpi_1"].startswith("feature"), r
EOF2
    for a in forest extratrees; do
        [ $a = forest ] || run healer train --data "$FIX/train.csv" --model f.model --algo extratrees --trees 10
        run healer explain --model f.model --data "$FIX/test.csv" --row 805 --json
        expect_rc 0 "explain --json with $a"
        json_check out 'd["score_scale"] == "probability" and d["predicted"] in d["classes"]'
        json_check out 'all(abs(c["expected"] + sum(c["contributions"].values()) - c["score"]) < 1e-9 for c in d["classes"].values())'
        json_check out 'all(abs(c["score"] - d["probabilities"][n]) < 1e-6 for n, c in d["classes"].items())'
    done
    run healer train --data "$FIX/train.csv" --model s.model --algo stack --members forest+extratrees --combiner vote --member-trees 10 --stack-folds 2
    expect_rc 0 "train a vote of forests"
    run healer explain --model s.model --data "$FIX/test.csv" --row 805 --json
    expect_rc 0 "explain --json with a stack"
    json_check out 'd["score_scale"] == "probability" and all(abs(c["score"] - d["probabilities"][n]) < 1e-6 for n, c in d["classes"].items())'
}

# predict --explain with an extra-trees model and with a stack combined
# by its logistic meta-learner: the prediction columns and then kpi_i,
# contrib_i and abnormal; every contribution a finite number, largest
# first, each kpi_i a distinct KPI of the data, every abnormal cell a KPI
# of the data with a signed z.
t_predict_explain_extratrees_and_stack() {
    run healer train --data "$FIX/train.csv" --model x.model --algo extratrees --trees 20 --seed 3
    expect_rc 0 "train --algo extratrees"
    run healer train --data "$FIX/train.csv" --model s.model --algo stack --members gbdt+extratrees \
        --combiner logistic --member-trees 10 --stack-folds 2 --seed 3
    expect_rc 0 "train a logistic stack"
    for m in x s; do
        run healer predict --model $m.model --data "$FIX/test.csv" --out $m.csv --explain 4
        expect_rc 0 "predict --explain 4 with $m.model"
        [ "$(data_rows $m.csv)" -eq 200 ] || fail "$m.model: $(data_rows $m.csv) explained predictions, expected 200"
        "$PY" - "$m.csv" "$FIX/test.csv" <<'EOF2' || fail "$m.model: the explained predictions are not sane"
import csv, math, sys
out, data = sys.argv[1], sys.argv[2]
kpis = [c for c in next(csv.reader(open(data))) if c not in ("sample_id", "label")]
head = next(csv.reader(open(out)))
probs = [c for c in head if c.startswith("prob_")]
want = ["sample_id", "label", "confidence"] + probs + ["kpi_%d" % i for i in (1, 2, 3, 4)] \
    + ["contrib_%d" % i for i in (1, 2, 3, 4)] + ["abnormal"]
assert head == want and len(probs) >= 2, head
for r in csv.DictReader(open(out)):
    names = [r["kpi_%d" % i] for i in (1, 2, 3, 4)]
    c = [float(r["contrib_%d" % i]) for i in (1, 2, 3, 4)]
    assert all(n in kpis for n in names) and len(set(names)) == 4, (r["sample_id"], names)
    assert all(math.isfinite(v) for v in c) and c == sorted(c, reverse=True), (r["sample_id"], c)
    assert r["label"] == max(probs, key=lambda p: float(r[p]))[5:], r
    for cell in filter(None, r["abnormal"].split(";")):
        name, z = cell.rsplit(":", 1)
        assert name in kpis and z[0] in "+-" and math.isfinite(float(z)), (r["sample_id"], cell)
EOF2
        cut -d, -f1-$((3 + $(head -n 1 $m.csv | tr ',' '\n' | grep -c '^prob_'))) $m.csv >cols.csv
        run healer predict --model $m.model --data "$FIX/test.csv" --out plain.csv
        cmp -s cols.csv plain.csv || fail "$m.model: --explain changed the prediction columns"
    done
}

# --normal LABEL: the normal ranges come from that class's rows: inspect
# --json names the class and its row count, and each KPI's range is, on
# the signed-log scale, the median of those rows +- 3 units of 1.4826 x
# their MAD (at least 0.1) (docs/cli.md); explain --json measures a sample
# against the same ranges. Without the flag the class called "normal" is
# used; a label no row has falls back to all rows, and says so.
t_train_normal_class() {
    run healer simulate --out s.csv --samples 600 --features 6 --string-labels --seed 11
    expect_rc 0 "simulate"
    n=$(awk -F, 'NR > 1 && $NF == "memory_leak"' s.csv | wc -l)
    [ "$n" -gt 20 ] || fail "the simulated file has $n rows of memory_leak (test data)"
    run healer train --data s.csv --model m.model --rounds 10 --normal memory_leak
    expect_rc 0 "train --normal memory_leak"
    expect_in out "normal ranges: from the $n rows of class 'memory_leak'"
    run healer inspect --json m.model
    expect_rc 0 "inspect --json"
    cp out m.json
    run healer train --data s.csv --model d.model --rounds 10
    run healer inspect --json d.model
    cp out d.json
    run healer explain --model m.model --data s.csv --row 3 --json
    expect_rc 0 "explain --json"
    cp out e.json
    "$PY" - <<'EOF2' || fail "the normal ranges are not those of the class --normal named"
import csv, json, math, statistics as st
slog = lambda x: math.copysign(math.log1p(abs(x)), x)
rows = list(csv.DictReader(open("s.csv")))
def ranges_of(label):
    out = {}
    for k in [c for c in rows[0] if c not in ("sample_id", "label")]:
        v = [slog(float(r[k])) for r in rows if r["label"] == label and r[k] != ""]
        med = st.median(v)
        unit = max(1.4826 * st.median(abs(x - med) for x in v), 0.1)
        out[k] = (med - 3 * unit, med, med + 3 * unit)
    return out
for model, label in (("m.json", "memory_leak"), ("d.json", "normal")):
    normal = json.load(open(model))["normal"]
    assert normal["class"] == label and normal["rows"] == sum(r["label"] == label for r in rows), (model, normal["class"], normal["rows"])
    want = ranges_of(label)
    for k in normal["kpis"]:
        got = (slog(k["low"]), slog(k["median"]), slog(k["high"]))
        assert all(abs(g - w) < 1e-4 for g, w in zip(got, want[k["kpi"]])), (model, k, want[k["kpi"]])
m = {k["kpi"]: k for k in json.load(open("m.json"))["normal"]["kpis"]}
d = {k["kpi"]: k for k in json.load(open("d.json"))["normal"]["kpis"]}
assert any(abs(m[k]["median"] - d[k]["median"]) > 1e-6 * (1 + abs(d[k]["median"])) for k in m), "the two classes' ranges are alike (test data)"
e = json.load(open("e.json"))
assert e["normal_class"] == "memory_leak", e["normal_class"]
assert all(k["normal"] == {x: m[k["kpi"]][x] for x in ("low", "high", "median")} for k in e["kpis"]), e["kpis"][0]
EOF2
    run healer train --data s.csv --model x.model --rounds 5 --normal no_such_class
    expect_rc 0 "train --normal of a label no row has"
    expect_in out "normal ranges: from all 600 training rows (no class labelled 'no_such_class')"
    run healer inspect --json x.model
    json_check out 'd["normal"]["class"] is None and d["normal"]["rows"] == 600'
}

# healer explain --row: one sample's picture, as text and JSON; the
# contributions and expected values of every class add up to scores whose
# softmax is the probabilities; an unknown sample is a usage error naming
# it.
t_explain_sample() {
    run healer explain --model "$FIX/model.model" --data "$FIX/test.csv" --row 805
    expect_rc 0 "explain --row 805"
    expect_in out "sample 805: predicted "
    expect_in out "KPIs that drove it"
    expect_in out "abnormal KPIs"
    run healer explain --model "$FIX/model.model" --data "$FIX/test.csv" --row 805 --json
    expect_rc 0 "explain --json"
    json_check out 'd["sample_id"] == "805" and d["score_scale"] == "logit" and len(d["kpis"]) == 10'
    json_check out 'abs(sum(__import__("math").exp(c["score"]) for c in d["classes"].values()) * d["confidence"] - __import__("math").exp(d["classes"][d["predicted"]]["score"])) < 1e-6 * sum(__import__("math").exp(c["score"]) for c in d["classes"].values())'
    json_check out 'all(abs(c["expected"] + sum(c["contributions"].values()) - c["score"]) < 1e-9 for c in d["classes"].values())'
    json_check out 'all(abs(k["z"]) > 3 for k in d["kpis"] if k["abnormal"]) and [a["kpi"] for a in d["abnormal"]] == sorted([k["kpi"] for k in d["kpis"] if k["abnormal"]], key=lambda n: -abs([k["z"] for k in d["kpis"] if k["kpi"] == n][0]))'
    run healer explain --model "$FIX/model.model" --data "$FIX/test.csv" --row nope
    expect_usage_error "no sample 'nope'" "explain --row nope"
    run healer explain --model "$FIX/model.model" --data "$FIX/noid.csv" --row 3
    expect_rc 0 "explain by row number without ids"
    expect_in out "sample 3: predicted "
}

# --class-names: a model carries each named class's name, description and
# first action; inspect and explain (text and JSON) show them; predict's
# columns stay as they are (label = the class label).
t_train_class_names() {
    printf 'label,name,description,action\n1,"Disk full","The data disk, full","Run ""df -h""; https://runbook/disk"\n3,CPU hog,,\n' >names.csv
    run healer train --data "$FIX/train.csv" --model n.model --rounds 20 --seed 42 --class-names names.csv
    expect_rc 0 "train --class-names"
    expect_in out "class names (2):"
    expect_in out "1: Disk full"
    expect_in out "first action: Run \"df -h\"; https://runbook/disk"
    run healer inspect --json n.model
    expect_rc 0 "inspect --json"
    json_check out 'd["class_names"] == {"1": {"name": "Disk full", "description": "The data disk, full", "action": "Run \"df -h\"; https://runbook/disk"}, "3": {"name": "CPU hog", "description": "", "action": ""}}'
    run healer inspect n.model
    expect_in out "3: CPU hog"
    run healer inspect --json "$FIX/model.model"
    json_check out 'd["class_names"] == {}'
    run healer inspect "$FIX/model.model"
    expect_in out "class names: none"
    row=$(awk -F, '$NF == "1" {print $1; exit}' "$FIX/test.csv")
    run healer explain --model n.model --data "$FIX/test.csv" --row "$row" --json
    expect_rc 0 "explain --json"
    json_check out 'd["class_names"]["1"]["name"] == "Disk full"'
    run healer explain --model n.model --data "$FIX/test.csv" --row "$row"
    if grep -q "predicted 1 " out 2>/dev/null || grep -q "predicted Disk full (1)" out; then
        expect_in out "predicted Disk full (1)"
        expect_in out "what it means: The data disk, full"
        expect_in out "first action: Run"
    else
        fail "explain: row $row of class 1 was not predicted as 1"
    fi
    run healer predict --model n.model --data "$FIX/test.csv" --out p.csv
    expect_rc 0 "predict with a named model"
    check_prediction_rows p.csv
    expect_not_in p.csv "Disk full"
    run healer train --json --data "$FIX/train.csv" --model j.model --rounds 5 --class-names names.csv
    json_check out 'd["class_names"]["3"]["name"] == "CPU hog"'
}

# --class-names refusals: each names what is wrong, and no model is written.
t_train_class_names_refused() {
    bad() { # CSV-TEXT EXPECTED-TEXT WHAT
        printf "$1" >bad.csv
        run healer train --data "$FIX/train.csv" --model bad.model --rounds 5 --class-names bad.csv
        expect_rc 1 "$3"
        expect_in err "$2" "$3"
        expect_absent bad.model
    }
    run healer train --data "$FIX/train.csv" --model bad.model --class-names nope.csv
    expect_rc 1 "missing file"
    expect_in err "nope.csv: cannot open the file"
    expect_absent bad.model
    bad 'label,name,description\n1,a,b\n' "missing column 'action'" "missing column"
    bad 'label,name,description,action,owner\n' "unknown column 'owner'" "unknown column"
    bad '1,a,b,c\n' "unknown column '1'" "no header"
    bad 'label,name,description,action\n9,a,b,c\n' "'9' is not a class of the training data; its classes are: 0, 1, 2, 3, 4, 5" "unknown label"
    bad 'label,name,description,action\n1,a,,\n1,b,,\n' "bad.csv:3: column 'label': class '1' is named twice" "duplicate label"
    bad 'label,name,description,action\n1,,b,c\n' "bad.csv:2: column 'name': the name is empty" "empty name"
    bad 'label,name,description,action\n1,\303\050,b,c\n' "bad.csv:2: column 'name' (2): field is not valid UTF-8" "invalid UTF-8"
    long=$(printf '%0301d' 0)
    bad "label,name,description,action\n1,a,$long,c\n" "the description is 301 bytes long; at most 300 are allowed" "description too long"
    bad 'label,name,description,action\n1,a,"b\nc",d\n' "must be one line" "a line break"
    bad 'label,name,description,action\n1,a,"b,c\n' "unterminated quoted field" "open quote"
}

# --adapt: applied to a calibrated model's batch of 50 rows or more and
# reported (stderr, JSON); refused with the reason for a forest's votes
# and for a small batch; the predictions stay well-formed.
t_predict_adapt() {
    run healer train --data "$FIX/train.csv" --model g.model --rounds 30
    run healer predict --model g.model --data "$FIX/test.csv" --out a.csv --adapt --json
    expect_rc 0 "predict --adapt"
    json_check out 'd["adapt"]["applied"] and abs(sum(d["adapt"]["class_mix"].values()) - 1) < 1e-6'
    json_check out 'd["adapt"]["reason"] is None and d["adapt"]["reason_code"] is None and d["adapt"]["min_rows"] == 50'
    json_check out 'set(d["adapt"]["training_mix"]) == set(d["adapt"]["class_mix"])'
    expect_in err "adapt: class mix of the batch"
    check_prediction_rows a.csv
    run healer eval --model g.model --data "$FIX/test.csv" --adapt --json
    expect_rc 0 "eval --adapt"
    json_check out 'd["adapt"]["applied"] and d["metrics"]["macro_f1"] > 0.7'
    run healer train --data "$FIX/train.csv" --model f.model --algo forest --trees 20
    run healer predict --model f.model --data "$FIX/test.csv" --out f.csv --adapt --json
    expect_rc 0 "predict --adapt with a forest"
    json_check out 'not d["adapt"]["applied"] and "not calibrated" in d["adapt"]["reason"]'
    json_check out 'd["adapt"]["reason_code"] == "not_calibrated" and d["adapt"]["class_mix"] == {}'
    expect_in err "adapt: not applied"
    head -n 21 "$FIX/test.csv" > small.csv
    run healer predict --model g.model --data small.csv --out s.csv --adapt --json
    json_check out 'not d["adapt"]["applied"] and "too few" in d["adapt"]["reason"]'
    json_check out 'd["adapt"]["reason_code"] == "too_few_rows"'
    run healer predict --model g.model --data "$FIX/test.csv" --out p.csv --json
    json_check out 'd["adapt"] is None'
}

# The deployment loop: suggest rows of a shifted batch, a person labels
# them, train --feedback learns from them; what is wrong with the inputs
# is a clear error naming the file or flag, and no model is written.
t_feedback_loop() {
    run healer simulate --out tr.csv --samples 1200 --classes 4 --seed 5 \
        --shift-out sh.csv --shift-samples 400 --shift 2
    expect_rc 0 "simulate with a shift"
    run healer train --data tr.csv --model m.model --rounds 40
    run healer suggest --model m.model --data sh.csv --per-class 5 --out sug.csv --json
    expect_rc 0 "suggest"
    json_check out '5 <= d["suggested"] <= 20 and len(d["suggestions"]) == d["suggested"]'
    json_check out 'all(s["predicted"] in ("0", "1", "2", "3") and 0 <= s["margin"] <= 1 for s in d["suggestions"])'
    [ "$(head -n 1 sug.csv)" = "$(head -n 1 sh.csv)" ] || fail "suggest changed the header: $(head -n 1 sug.csv)"
    awk -F, 'NR > 1 && $NF != "" { exit 1 }' sug.csv || fail "suggest filled in labels"
    run healer suggest --model m.model --data sh.csv --per-class 5 --out sug2.csv
    expect_in out "rows suggested for labelling"
    # The person labels them: the true labels of those rows.
    awk -F, 'NR == FNR { if (FNR > 1) lab[$1] = $NF; next }
             FNR == 1 { print; next } { $NF = lab[$1]; print }' OFS=, sh.csv sug.csv > labelled.csv
    run healer train --data tr.csv --model f.model --rounds 40 --feedback labelled.csv --json
    expect_rc 0 "train --feedback"
    json_check out 'd["summary"]["feedback"]["rows"] >= 5 and d["summary"]["feedback"]["weight"] == 10'
    run healer train --data tr.csv --model f3.model --rounds 40 --feedback labelled.csv --feedback-weight 3
    expect_rc 0 "train --feedback-weight 3"
    expect_in out "each counting 3 times"
    run healer train --data tr.csv --model x.model --feedback-weight 3
    expect_usage_error --feedback-weight "--feedback-weight without --feedback"
    run healer train --data tr.csv --model x.model --feedback labelled.csv --feedback-weight 0
    expect_usage_error --feedback-weight "--feedback-weight 0"
    run healer train --data tr.csv --model x.model --feedback sug.csv
    expect_rc 1 "train --feedback with no label filled in"
    expect_in err "sug.csv"
    cut -d, -f1-3,5- labelled.csv > cut.csv
    run healer train --data tr.csv --model x.model --feedback cut.csv
    expect_rc 1 "train --feedback with a KPI missing"
    expect_in err "missing from the labelled rows"
    expect_absent x.model
    run healer suggest --model m.model --data sh.csv --per-class 0 --out s.csv
    expect_usage_error --per-class "suggest --per-class 0"
    run healer suggest --model m.model --data sh.csv --out s.csv
    expect_usage_error --per-class "suggest without --per-class"
    expect_absent s.csv
}

# --algo auto: the leaderboard in text and JSON, the model is the winner's.
t_train_auto() {
    run healer train --data "$FIX/train.csv" --model a.model --algo auto \
        --candidates gbdt+extratrees+forest --auto-folds 3 --time-budget 600 --json
    expect_rc 0 "train --algo auto"
    json_check out 'len(d["summary"]["leaderboard"]) == 3 and [c["algo"] for c in d["summary"]["leaderboard"]] == ["gbdt", "extratrees", "forest"]'
    json_check out 'd["summary"]["algo"] == [c["algo"] for c in d["summary"]["leaderboard"] if c["status"] == "chosen"][0]'
    json_check out 'max(c["macro_f1"] for c in d["summary"]["leaderboard"]) == d["summary"]["cv"]["metrics"]["macro_f1"]'
    run healer inspect a.model
    expect_in out "auto: chose "
    run healer train --data "$FIX/train.csv" --model x.model --algo auto --time-budget 0.5
    expect_usage_error --time-budget "train --time-budget 0.5"
    run healer train --data "$FIX/train.csv" --model x.model --algo gbdt --time-budget 10
    expect_usage_error --time-budget "train --time-budget without --algo auto"
    expect_absent x.model
}

t_train_mlp() {
    # The MLP end to end through its own flags: it predicts the held-out
    # rows well above chance (1/6) in the usual output format, one seed and
    # thread count give one model, and its file says what it is.
    for n in 1 2; do
        run healer train --data "$FIX/train.csv" --model m$n.model --algo mlp \
            --hidden-units 32 --hidden-layers 2 --epochs 60 --dropout 0.1 \
            --transform robust --threads 2 --seed 9 --json
        expect_rc 0 "train --algo mlp ($n)"
    done
    json_check out 'd["summary"]["algo"] == "mlp" and d["summary"]["params"]["hidden_units"] == 32'
    json_check out '1 <= d["summary"]["training"]["best_round"] <= 60'
    run healer predict --model m1.model --data "$FIX/test.csv" --out p1.csv --json
    expect_rc 0 "predict with the MLP"
    json_check out 'd["metrics"]["macro_f1"] > 0.7 and d["rows"] == 200'
    [ "$(head -n 1 p1.csv)" = "sample_id,label,confidence,prob_0,prob_1,prob_2,prob_3,prob_4,prob_5" ] ||
        fail "header is: $(head -n 1 p1.csv)"
    check_prediction_rows p1.csv
    run healer predict --model m2.model --data "$FIX/test.csv" --out p2.csv --threads 1
    expect_rc 0 "predict with the second MLP"
    cmp -s p1.csv p2.csv || fail "two MLP trainings with the same seed and threads differ"
    run healer inspect m1.model
    expect_rc 0 "inspect an MLP model"
    expect_in out "model: mlp"
    expect_in out "hidden_units 32"
    # Its flags are the MLP's: refused for the GBDT, naming the owner.
    run healer train --data "$FIX/train.csv" --model x.model --hidden-units 8
    expect_usage_error --hidden-units "train --hidden-units without --algo mlp"
    expect_in err "mlp"
    run healer train --data "$FIX/train.csv" --model x.model --algo mlp --transform zscore
    expect_usage_error --transform "train --algo mlp --transform zscore"
    expect_absent x.model
}

# ---- tests: self-repair (HEALER_FAULT_INJECT; each test is a subshell,
# so an exported spec ends with its test) ----

t_train_retries_with_the_fallback_learner() {
    # Attempt 1 (gbdt) fails: attempt 2 is the GBDT's fallback, the forest,
    # whose model is written; stderr says which attempt, why, what next.
    export HEALER_FAULT_INJECT=attempt1=fail
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20 --json
    expect_rc 0 "train with attempt 1 failing"
    expect_in err "attempt 1 of 3 (gbdt) failed: injected failure (attempt 1"
    expect_in err "retrying, attempt 2 of 3: another learner, forest with its default parameters"
    json_check out 'd["summary"]["algo"] == "forest" and len(d["attempts"]) == 2'
    json_check out '[(a["number"], a["step"], a["algo"], a["outcome"]) for a in d["attempts"]] == [(1, "requested", "gbdt", "failed"), (2, "other_learner", "forest", "succeeded")]'
    json_check out '"injected failure" in d["attempts"][0]["reason"] and d["attempts"][1]["reason"] is None'
    json_check out 'all(a["seconds"] >= 0 and a["params"]["algo"] == a["algo"] for a in d["attempts"])'
    run healer inspect m.model
    expect_in out "model: forest"
    # The text summary lists the attempts too.
    run healer train --data "$FIX/train.csv" --model t.model --rounds 20
    expect_rc 0 "train (text) with attempt 1 failing"
    expect_in out "attempts:"
    expect_in out "1. gbdt (requested): failed"
    expect_in out "2. forest (other_learner): succeeded"
    expect_in out "model written to t.model"
}

t_train_retries_a_diverged_mlp() {
    # The MLP's loss going NaN (HL_ERR_DIVERGED) is worth a retry: the
    # forest stands in; every attempt diverging ends with the safer MLP's.
    export HEALER_FAULT_INJECT=attempt1=diverge
    run healer train --data "$FIX/train.csv" --model m.model --algo mlp --epochs 5 --json
    expect_rc 0 "train --algo mlp with attempt 1 diverging"
    expect_in err "attempt 1 of 3 (mlp) failed: injected divergence"
    json_check out 'd["summary"]["algo"] == "forest" and d["attempts"][0]["outcome"] == "failed"'
    export HEALER_FAULT_INJECT=attempts=diverge
    run healer train --data "$FIX/train.csv" --model x.model --algo mlp --epochs 5
    expect_rc 1 "train --algo mlp diverging on every attempt"
    expect_in err "training failed after 3 attempts; the last (mlp, safer parameters)"
    expect_absent x.model
}

t_train_every_attempt_degenerate() {
    # No healthy model: exit 1, no file, each attempt and its reason named.
    export HEALER_FAULT_INJECT=attempts=degenerate
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20 --json
    expect_rc 1 "train with every attempt degenerate"
    expect_absent m.model
    expect_empty out "train --json that made no model (stdout)"
    expect_in err "training failed after 3 attempts; the last (gbdt, safer parameters): the model is degenerate"
    expect_in err "1. gbdt (requested): degenerate"
    expect_in err "2. forest (other_learner): degenerate"
    expect_in err "3. gbdt (safer_parameters): degenerate"
    expect_in err "no model written to m.model"
    # An older file of that name is left as it was.
    cp "$FIX/model.model" old.model
    run healer train --data "$FIX/train.csv" --model old.model --rounds 20
    expect_rc 1 "train over an existing file, every attempt degenerate"
    cmp -s old.model "$FIX/model.model" || fail "a failed training changed the existing model file"
    expect_no_tmp_files .
}

t_train_refuses_a_real_degenerate_model() {
    # Without fault injection: a KPI that is the same on every row cannot
    # tell the classes apart, so every learner predicts one class.
    awk 'BEGIN { print "kpi,label"; for (i = 0; i < 200; i++) print "5," (i % 2 ? "disk" : "cpu") }' >flat.csv
    run healer train --data flat.csv --model m.model --rounds 5
    expect_rc 1 "train on data without signal"
    expect_in err "constant predictor: class"
    expect_in err "training failed after 3 attempts"
    expect_absent m.model
}

t_train_no_retry() {
    # --no-retry: one attempt; its failure is the error, nothing is retried.
    export HEALER_FAULT_INJECT=attempt1=fail
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20 --no-retry
    expect_rc 1 "train --no-retry with attempt 1 failing"
    expect_in err "injected failure (attempt 1"
    expect_not_in err "retrying"
    expect_not_in err "after"
    expect_absent m.model
    # Still health-checked: a degenerate model is refused, no file.
    export HEALER_FAULT_INJECT=attempt1=degenerate
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20 --no-retry
    expect_rc 1 "train --no-retry, degenerate model"
    expect_in err "error: the model is degenerate: injected degenerate model"
    expect_in err "no model written to m.model"
    expect_absent m.model
    # A healthy model is written, with its one attempt.
    unset HEALER_FAULT_INJECT
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20 --no-retry --json
    expect_rc 0 "train --no-retry"
    json_check out 'len(d["attempts"]) == 1 and d["attempts"][0]["outcome"] == "succeeded"'
    [ -s m.model ] || fail "no model file written"
}

t_train_user_errors_not_retried() {
    # Bad data is the user's to fix: one error, no retry, no attempt list.
    awk -F, 'BEGIN { OFS = "," } NR > 1 { $NF = "3" } { print }' "$FIX/train.csv" >one.csv
    run healer train --data one.csv --model m.model --rounds 5
    expect_rc 1 "train on one class"
    expect_not_in err "retrying"
    expect_not_in err "attempts:"
    expect_absent m.model
}

t_train_fault_spec_errors() {
    for spec in attempt4=fail attempt1=explode attempt1 ",attempt1=fail"; do
        HEALER_FAULT_INJECT=$spec
        export HEALER_FAULT_INJECT
        run healer train --data "$FIX/train.csv" --model m.model --rounds 5
        expect_usage_error "HEALER_FAULT_INJECT: fault injection: bad item" "HEALER_FAULT_INJECT=$spec"
        expect_absent m.model
    done
    run healer train --help
    expect_rc 0 "train --help"
    expect_in out "--no-retry"
    expect_in out "HEALER_FAULT_INJECT"
}

# ---- tests: runtime errors ----

t_train_bad_cell() {
    # Line 300 of the file (data row 299), column feature2 (4th column).
    awk -F, 'BEGIN { OFS = "," } NR == 300 { $4 = "12abc" } { print }' "$FIX/train.csv" >bad.csv
    run healer train --data bad.csv --model m.model --rounds 5
    expect_rc 1 "train on a non-numeric cell"
    expect_in err "bad.csv" "names the file"
    expect_match err '(:|line )300([^0-9]|$)' "names the line"
    expect_in err "feature2" "names the column"
    expect_in err '"12abc"' "quotes the bad text"
    [ ! -e m.model ] || fail "a failed train left a model file"
}

t_train_bad_cell_line_numbers() {
    # Line numbers are physical lines: CRLF endings and a quoted field
    # spanning two lines must not shift them.
    printf 'sample_id,f1,label\r\n1,2,0\r\n2,x,1\r\n' >crlf.csv
    run healer train --data crlf.csv --model m.model
    expect_rc 1 "CRLF file"
    expect_match err 'crlf\.csv(:| line )3([^0-9]|$)' "CRLF line number"
    printf 'sample_id,f1,label\n"1\n2",2,0\n3,y,1\n' >multi.csv
    run healer train --data multi.csv --model m.model
    expect_rc 1 "quoted newline"
    expect_match err 'multi\.csv(:| line )4([^0-9]|$)' "line after a quoted newline"
    expect_in err '"y"'
}

t_train_missing_file() {
    run healer train --data nonexistent.csv --model m.model
    expect_rc 1 "train on a missing file"
    expect_in err "nonexistent.csv"
    expect_empty out
    [ ! -e m.model ] || fail "a failed train left a model file"
}

t_train_single_class() {
    awk -F, 'BEGIN { OFS = "," } NR > 1 { $NF = "3" } { print }' "$FIX/train.csv" >one.csv
    run healer train --data one.csv --model m.model --rounds 5
    expect_rc 1 "train on one class"
    expect_in err "one.csv"
    expect_in err "class"
    [ ! -e m.model ] || fail "a failed train left a model file"
}

t_train_no_label_column() {
    run healer train --data "$FIX/unlabelled.csv" --model m.model --rounds 5
    expect_rc 1 "train without a label column"
    expect_in err "unlabelled.csv"
    expect_in err "'label'"
    run healer train --data "$FIX/train.csv" --model m.model --rounds 5 --label-column fault
    expect_rc 1 "train --label-column naming a missing column"
    expect_in err "'fault'"
}

t_train_empty_files() {
    : >empty.csv
    run healer train --data empty.csv --model m.model
    expect_rc 1 "train on an empty file"
    expect_in err "empty.csv"
    head -n 1 "$FIX/train.csv" >header.csv
    run healer train --data header.csv --model m.model
    expect_rc 1 "train on a header-only file"
    expect_in err "header.csv"
    [ ! -e m.model ] || fail "a failed train left a model file"
}

t_train_model_unwritable() {
    run healer train --data "$FIX/train.csv" --model nodir/m.model --rounds 5
    expect_rc 1 "train --model into a missing directory"
    expect_in err "nodir/m.model"
    expect_no_tmp_files .
}

t_predict_garbage_model() {
    echo "this is not a model" >garbage.model
    run healer predict --model garbage.model --data "$FIX/test.csv" --out p.csv
    expect_rc 1 "predict with a garbage model"
    expect_in err "garbage.model"
    expect_in err "not a SystemHealer model"
    [ ! -e p.csv ] || fail "predict wrote output with a garbage model"
    run healer inspect garbage.model
    expect_rc 1 "inspect a garbage model"
    expect_in err "not a SystemHealer model"
}

t_predict_truncated_model() {
    size=$(wc -c <"$FIX/model.model")
    for n in $((size / 2)) $((size - 1)) 100 40; do
        head -c "$n" "$FIX/model.model" >cut.model
        run healer predict --model cut.model --data "$FIX/test.csv" --out p.csv
        expect_rc 1 "predict with the first $n of $size bytes of a model"
        expect_in err "cut.model"
        expect_in err "truncated" "model cut at $n bytes"
        [ ! -e p.csv ] || fail "predict wrote output with a truncated model"
    done
    cp "$FIX/model.model" long.model && echo junk >>long.model
    run healer inspect long.model
    expect_rc 1 "inspect a model with trailing bytes"
}

t_predict_corrupted_model() {
    # One flipped byte anywhere must be an error, never a crash or garbage.
    size=$(wc -c <"$FIX/model.model")
    for off in 100 $((size / 3)) $((size / 2)) $((size - 10)); do
        cp "$FIX/model.model" bad.model
        printf '\377' | dd of=bad.model bs=1 seek="$off" conv=notrunc 2>/dev/null
        cmp -s bad.model "$FIX/model.model" && continue
        run healer predict --model bad.model --data "$FIX/test.csv" --out p.csv
        expect_rc 1 "predict with a model corrupted at byte $off"
        expect_in err "bad.model"
    done
}

t_predict_missing_model_file() {
    run healer predict --model none.model --data "$FIX/test.csv" --out p.csv
    expect_rc 1 "predict with a missing model file"
    expect_in err "none.model"
    run healer inspect none.model
    expect_rc 1 "inspect a missing model file"
    expect_in err "none.model"
}

t_predict_missing_feature() {
    cut -d, -f1-3,5- "$FIX/test.csv" >nofeat2.csv # drops feature2
    run healer predict --model "$FIX/model.model" --data nofeat2.csv --out p.csv
    expect_rc 1 "predict without a feature the model uses"
    expect_in err "nofeat2.csv"
    expect_in err "feature2"
    [ ! -e p.csv ] || fail "predict wrote output despite the missing feature"
}

# ---- tests: simulate ----

t_simulate_deterministic() {
    run healer simulate --out a.csv --samples 300 --features 10 --seed 7
    expect_rc 0 "simulate"
    run healer simulate --out b.csv --samples 300 --features 10 --seed 7
    expect_rc 0 "simulate again"
    cmp -s a.csv b.csv || fail "same seed, different files"
    run healer simulate --out c.csv --samples 300 --features 10 --seed 8
    expect_rc 0 "simulate, other seed"
    cmp -s a.csv c.csv && fail "different seeds, identical files"
    return 0
}

t_simulate_shape() {
    run healer simulate --out s.csv --samples 123 --features 7 --classes 3 --seed 5
    expect_rc 0 "simulate"
    expect_in err "s.csv" "reports what it wrote"
    [ "$(data_rows s.csv)" -eq 123 ] || fail "expected 123 data rows, got $(data_rows s.csv)"
    head -n 1 s.csv >header
    expect_match header '^sample_id,' "first column"
    expect_match header ',label$' "last column"
    nf=$(head -n 1 s.csv | tr , '\n' | grep -c '^feature')
    [ "$nf" -eq 7 ] || fail "expected 7 feature columns, got $nf"
    ncol=$(awk -F, 'NR > 1 && NF != 9 { print NR; exit }' s.csv)
    [ -z "$ncol" ] || fail "line $ncol does not have 9 fields"
    awk -F, 'NR > 1 { print $NF }' s.csv | sort -u >classes
    [ "$(wc -l <classes)" -eq 3 ] || fail "expected 3 classes, got: $(tr '\n' ' ' <classes)"
}

t_simulate_string_labels() {
    run healer simulate --out s.csv --samples 300 --features 8 --classes 4 --string-labels
    expect_rc 0 "simulate --string-labels"
    awk -F, 'NR > 1 { print $NF }' s.csv | sort -u >classes
    [ "$(wc -l <classes)" -eq 4 ] || fail "expected 4 classes, got: $(tr '\n' ' ' <classes)"
    grep -qE '^[0-9.+-]*$' classes && fail "numeric label: $(tr '\n' ' ' <classes)"
    expect_in classes normal
}

t_simulate_shift_out() {
    run healer simulate --out a.csv --shift-out b.csv --samples 200 --features 10 --seed 3
    expect_rc 0 "simulate --shift-out"
    [ -s b.csv ] || fail "--shift-out file not written"
    [ "$(head -n 1 a.csv)" = "$(head -n 1 b.csv)" ] || fail "shifted file has another header"
    [ "$(data_rows b.csv)" -eq 200 ] || fail "shifted file: expected 200 rows, got $(data_rows b.csv)"
    cmp -s a.csv b.csv && fail "shifted file is identical to the original"
    run healer simulate --out c.csv --shift-out d.csv --samples 200 --shift-samples 50 --features 10 --seed 3
    expect_rc 0 "simulate --shift-samples"
    cmp -s a.csv c.csv || fail "--shift-samples changed the main file"
    [ "$(data_rows d.csv)" -eq 50 ] || fail "--shift-samples 50: got $(data_rows d.csv) rows"
}

# ---- tests: simulate topologies and incidents (root-cause analysis) ----

# SHAPE N FILE: a topology with N nodes, no self-loop, kinds as the shape has.
check_topology() {
    "$PY" - "$1" "$2" "$3" <<'EOF' || fail "$1 topology of $2 nodes: bad $3"
import json, sys
shape, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = json.load(open(path))
ids = [x["id"] for x in t["nodes"]]
assert len(ids) == n and len(set(ids)) == n, len(ids)
known = set(ids)
for e in t["edges"]:
    assert e["from"] in known and e["to"] in known and e["from"] != e["to"], e
if shape == "chain":
    assert len(t["edges"]) == n - 1
if shape == "microservices":
    kinds = {x["kind"] for x in t["nodes"]}
    assert kinds <= {"gateway", "frontend", "service", "database", "cache", "queue"}, kinds
    assert "database" in kinds and "gateway" in kinds, kinds
else:
    assert all("kind" not in x for x in t["nodes"])
if shape == "mesh":
    assert any(e.get("bidirectional") for e in t["edges"])
EOF
}

t_simulate_topology_shapes() {
    for shape in chain tree mesh microservices; do
        run healer simulate --topology-shape $shape --nodes 60 --out $shape.json --seed 4
        expect_rc 0 "simulate --topology-shape $shape"
        expect_in err "$shape topology of 60 nodes" "$shape: what it wrote"
        expect_empty out "$shape (stdout)"
        check_topology $shape 60 $shape.json
    done
    run healer simulate --topology-shape mesh --nodes 60 --out again.json --seed 4
    cmp -s mesh.json again.json || fail "same seed, different topologies"
    run healer simulate --topology-shape mesh --nodes 60 --out other.json --seed 5
    cmp -s mesh.json other.json && fail "different seeds, identical topologies"
    run healer simulate --topology-shape chain --nodes 2 --out two.json
    expect_rc 0 "the smallest topology"
    check_topology chain 2 two.json
    expect_no_tmp_files .
}

t_simulate_topology_refused() {
    run healer simulate --topology-shape star --nodes 10 --out t.json
    expect_usage_error "unknown --topology-shape 'star'" "unknown shape"
    expect_in err "microservices" "the shapes listed"
    run healer simulate --topology-shape mesh --nodes 1 --out t.json
    expect_usage_error --nodes "--nodes 1"
    run healer simulate --topology-shape mesh --nodes 10001 --out t.json
    expect_usage_error --nodes "--nodes 10001"
    run healer simulate --topology-shape mesh --out t.json
    expect_usage_error "--nodes is required" "no --nodes"
    run healer simulate --topology-shape mesh --nodes 5
    expect_usage_error "--out is required" "no --out"
    run healer simulate --topology-shape mesh --nodes 5 --out t.json --samples 10
    expect_usage_error "--samples is not an option of the topology mode" "--samples"
    run healer simulate --topology-shape mesh --nodes 5 --out t.json --topology x.json
    expect_usage_error "different modes" "both modes"
    run healer simulate --out s.csv --nodes 5
    expect_usage_error "--nodes needs --topology-shape" "--nodes alone"
    expect_absent t.json s.csv
}

# A small incident set on a 30-node microservice topology, into ./
make_incidents() { # EXTRA FLAGS...
    healer simulate --topology-shape microservices --nodes 30 --out topo.json --seed 2 2>/dev/null ||
        fail "simulate a topology"
    run healer simulate --topology topo.json --incidents 6 --out inc.csv --truth truth.csv \
        --features 6 --seed 3 "$@"
    expect_rc 0 "simulate --topology $*"
}

t_simulate_incidents() {
    make_incidents --train-out train.csv --train-samples 300
    expect_in err "wrote 6 incidents on 30 nodes to inc.csv and their roots to truth.csv"
    expect_in err "wrote 300 samples x 6 KPIs to train.csv"
    [ "$(head -n 1 inc.csv)" = "incident_id,node,timestamp,feature0,feature1,feature2,feature3,feature4,feature5" ] ||
        fail "incident header: $(head -n 1 inc.csv)"
    [ "$(head -n 1 truth.csv)" = "incident_id,root_node,root_fault" ] || fail "truth header: $(head -n 1 truth.csv)"
    [ "$(data_rows truth.csv)" -eq 6 ] || fail "expected 6 roots, got $(data_rows truth.csv)"
    # 30 nodes, 3 unobserved, 4 rows each, per incident
    [ "$(data_rows inc.csv)" -eq $((6 * 27 * 4)) ] || fail "expected 648 rows, got $(data_rows inc.csv)"
    "$PY" - <<'EOF' || fail "incident rows and truth do not agree"
import csv, json
topo = {n["id"] for n in json.load(open("topo.json"))["nodes"]}
rows = list(csv.DictReader(open("inc.csv")))
assert all(r["node"] in topo for r in rows)
order = [(r["incident_id"], int(r["timestamp"])) for r in rows]
assert order == sorted(order), "rows not sorted by incident, then time"
for t in csv.DictReader(open("truth.csv")):
    assert any(r["incident_id"] == t["incident_id"] and r["node"] == t["root_node"] for r in rows), t
    assert t["root_fault"] != "normal" and not t["root_fault"].isdigit(), t
EOF
    awk -F, 'NR > 1 { print $NF }' train.csv | sort -u >labels
    expect_in labels normal "train file labels"
    grep -q '^[0-9]*$' labels && fail "numeric labels in the train file"
    # The training file is the samples mode's file of the same system.
    run healer simulate --out same.csv --samples 300 --features 6 --string-labels --seed 3
    cmp -s train.csv same.csv || fail "--train-out differs from the samples of the same system"
    expect_no_tmp_files .
}

t_simulate_incidents_deterministic() {
    make_incidents
    mv inc.csv a.csv && mv truth.csv a_truth.csv
    make_incidents
    cmp -s a.csv inc.csv || fail "same seed, different incidents"
    cmp -s a_truth.csv truth.csv || fail "same seed, different truth"
    run healer simulate --topology topo.json --incidents 6 --out b.csv --truth b_truth.csv --features 6 --seed 4
    expect_rc 0 "another seed"
    cmp -s a.csv b.csv && fail "different seeds, identical incidents"
    # --system-seed keeps the incidents' plan but changes the KPIs' system.
    run healer simulate --topology topo.json --incidents 6 --out c.csv --truth c_truth.csv --features 6 --seed 3 --system-seed 9
    expect_rc 0 "--system-seed"
    awk -F, '{ print $1, $2 }' a_truth.csv >a_roots
    awk -F, '{ print $1, $2 }' c_truth.csv >c_roots
    cmp -s a_roots c_roots || fail "--system-seed changed the root nodes"
    cmp -s a.csv c.csv && fail "--system-seed did not change the KPIs"
    return 0
}

t_simulate_incidents_options() {
    make_incidents --two-roots 1 --iso-time --unobserved 0 --rows-per-node 2 --max-skew 0
    [ "$(data_rows truth.csv)" -eq 12 ] || fail "--two-roots 1: expected 12 roots, got $(data_rows truth.csv)"
    [ "$(data_rows inc.csv)" -eq $((6 * 30 * 2)) ] || fail "expected 360 rows, got $(data_rows inc.csv)"
    awk -F, 'NR > 1 { print $3 }' inc.csv >stamps
    bad=$(grep -cvE '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$' stamps)
    [ "$bad" -eq 0 ] || fail "$bad timestamps are not ISO 8601 UTC: $(head -n 2 stamps)"
    # A CSV edge list is a topology too.
    printf 'from,to\napi,db\nweb,api\n' >edges.csv
    run healer simulate --topology edges.csv --incidents 2 --out e.csv --truth e_truth.csv
    expect_rc 0 "simulate on a CSV topology"
    expect_in e.csv "inc-0002,"
    # One node (no second root possible), an id that needs quoting.
    printf '{"nodes": [{"id": "solo, the one"}], "edges": []}' >one.json
    run healer simulate --topology one.json --incidents 1 --out o.csv --truth o_truth.csv --two-roots 1
    expect_rc 0 "simulate on a one-node topology"
    expect_in err "wrote 1 incident on 1 node"
    [ "$(data_rows o_truth.csv)" -eq 1 ] || fail "one node, yet $(data_rows o_truth.csv) roots"
    expect_in o_truth.csv 'inc-0001,"solo, the one",'
}

t_simulate_incidents_refused() {
    healer simulate --topology-shape chain --nodes 5 --out topo.json 2>/dev/null || fail "topology"
    run healer simulate --topology topo.json --incidents 3 --out i.csv
    expect_usage_error "--truth is required" "no --truth"
    run healer simulate --topology topo.json --out i.csv --truth t.csv
    expect_usage_error "--incidents is required" "no --incidents"
    run healer simulate --out i.csv --incidents 3
    expect_usage_error "--incidents needs --topology" "--incidents alone"
    run healer simulate --topology topo.json --incidents 3 --out i.csv --truth t.csv --string-labels
    expect_usage_error "--string-labels is not an option of the incident mode" "--string-labels"
    run healer simulate --topology topo.json --incidents 3 --out i.csv --truth t.csv --train-samples 10
    expect_usage_error "--train-samples needs --train-out" "--train-samples alone"
    run healer simulate --topology topo.json --incidents 3 --out i.csv --truth i.csv
    expect_usage_error "--out, --truth and --train-out must be different files ('i.csv' twice)" "--out = --truth"
    run healer simulate --topology topo.json --incidents 3 --out i.csv --truth t.csv --train-out t.csv
    expect_usage_error "--out, --truth and --train-out must be different files ('t.csv' twice)" "--truth = --train-out"
    run healer simulate --topology topo.json --incidents 3 --out i.csv --truth t.csv --train-out i.csv
    expect_usage_error "must be different files ('i.csv' twice)" "--out = --train-out"
    expect_absent i.csv t.csv
    run healer simulate --topology topo.json --incidents 3 --out i.csv --truth t.csv --max-skew 3601
    expect_usage_error --max-skew "--max-skew 3601"
    run healer simulate --topology topo.json --incidents 1000001 --out i.csv --truth t.csv
    expect_usage_error --incidents "--incidents 1000001"
    run healer simulate --topology topo.json --incidents 0 --out i.csv --truth t.csv
    expect_usage_error --incidents "--incidents 0"
    run healer simulate --topology topo.json --incidents 3 --out i.csv --truth t.csv --two-roots 2
    expect_usage_error --two-roots "--two-roots 2"
    run healer simulate --topology topo.json --incidents 3 --out i.csv --truth t.csv --rows-per-node 65
    expect_usage_error --rows-per-node "--rows-per-node 65"
    run healer simulate --topology missing.json --incidents 3 --out i.csv --truth t.csv
    expect_rc 1 "a missing topology"
    expect_in err "missing.json"
    printf '{"nodes": [{"id": "a"}], "edges": [{"from": "a", "to": "ghost"}]}' >bad.json
    run healer simulate --topology bad.json --incidents 3 --out i.csv --truth t.csv
    expect_rc 1 "a bad topology"
    expect_in err "ghost" "the parser's message"
    run healer simulate --topology topo.json --incidents 3 --out nodir/i.csv --truth t.csv
    expect_rc 1 "an unwritable --out"
    expect_absent i.csv t.csv
    expect_no_tmp_files .
}

# ---- tests: train and inspect ----

t_train_text_summary() {
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20
    expect_rc 0 "train"
    [ -s m.model ] || fail "no model file written"
    expect_in out "model written to m.model"
    expect_in out "800 rows read"
    expect_in out "10 features"
    expect_in out "validation"
    expect_in out "macro-F1"
    expect_in out "top features by gain"
    expect_no_tmp_files .
}

t_inspect_text() {
    run healer inspect "$FIX/model.model"
    expect_rc 0 "inspect"
    expect_in out "model: gbdt"
    expect_in out "800 rows read"
    expect_in out "10 features, 6 classes"
    expect_in out "rounds 20"
    expect_in out "top features by gain"
    expect_empty err
}

t_inspect_v1_file() {
    # A model file of format version 1 (before the learner interface).
    run healer inspect "$ROOT/tests/fixtures/model_v1/v1_multiclass.model"
    expect_rc 0 "inspect a version 1 file"
    expect_in out "model: gbdt"
    expect_in out "rounds 25"
    expect_in out "max_depth 4"
    expect_in out "cross-validation (2-fold"
    run healer inspect --json "$ROOT/tests/fixtures/model_v1/v1_multiclass.model"
    expect_rc 0 "inspect --json a version 1 file"
    json_check out 'd["params"]["rounds"] == 25 and d["params"]["seed"] == 11 and d["params"]["class_weight"] == "balanced"'
    run healer predict --model "$ROOT/tests/fixtures/model_v1/v1_multiclass.model" \
        --data "$ROOT/tests/fixtures/model_v1/v1_multiclass.csv" --out p.csv
    expect_rc 0 "predict with a version 1 file"
}

t_inspect_json() {
    run healer inspect --json "$FIX/model.model"
    expect_rc 0 "inspect --json"
    json_check out 'all(k in d for k in ("params", "data", "training", "feature_importance", "classes"))'
    json_check out 'd["classes"] == ["0", "1", "2", "3", "4", "5"] and len(d["features"]) == 10'
    json_check out 'd["params"]["rounds"] == 20 and d["params"]["seed"] == 42'
    json_check out 'd["data"]["rows_read"] == 800 and d["data"]["features"] == 10'
    json_check out 'len(d["feature_importance"]) == 10 and abs(sum(f["share"] for f in d["feature_importance"]) - 1) < 1e-6'
    json_check out '1 <= d["training"]["rounds_done"] <= 20 and d["cv"] is None'
    # Option after the operand works too (getopt permutes).
    run healer inspect "$FIX/model.model" --json
    expect_rc 0 "inspect MODEL --json"
    json_check out '"params" in d'
}

t_train_json() {
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20 --json
    expect_rc 0 "train --json"
    json_check out 'all(k in d for k in ("train_seconds", "rounds_done", "model", "summary"))'
    json_check out 'd["model"] == "m.model" and 1 <= d["rounds_done"] <= 20 and d["train_seconds"] >= 0'
    json_check out 'd["summary"]["data"]["rows_read"] == 800 and d["summary"]["validation"]["macro_f1"] > 0.5'
    [ -s m.model ] || fail "no model file written"
}

t_train_cv() {
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20 --cv 3
    expect_rc 0 "train --cv 3"
    expect_in out "cross-validation (3-fold"
    run healer train --data "$FIX/train.csv" --model m.model --rounds 20 --cv 3 --json
    expect_rc 0 "train --cv 3 --json"
    json_check out 'd["summary"]["cv"]["folds"] == 3'
    json_check out 'd["summary"]["cv"]["metrics"]["macro_f1"] > 0.5 and d["summary"]["cv"]["metrics"]["samples"] == 800'
    run healer inspect --json m.model
    expect_rc 0 "inspect a cv model"
    json_check out 'd["cv"]["folds"] == 3 and d["params"]["cv_folds"] == 3'
}

# ---- tests: predict ----

t_predict_output_format() {
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out p.csv
    expect_rc 0 "predict"
    expect_in out "p.csv"
    [ "$(head -n 1 p.csv)" = "sample_id,label,confidence,prob_0,prob_1,prob_2,prob_3,prob_4,prob_5" ] ||
        fail "header is: $(head -n 1 p.csv)"
    [ "$(data_rows p.csv)" -eq 200 ] || fail "expected 200 rows, got $(data_rows p.csv)"
    cut -d, -f1 "$FIX/test.csv" >ids.in
    cut -d, -f1 p.csv >ids.out
    cmp -s ids.in ids.out || fail "sample_id column not copied from the input"
    bad=$(awk -F, 'NR > 1 && NF != 9 { print NR; exit }' p.csv)
    [ -z "$bad" ] || fail "line $bad of p.csv does not have 9 fields"
    check_prediction_rows p.csv
    expect_no_tmp_files .
}

t_predict_row_numbers_without_id() {
    run healer predict --model "$FIX/model.model" --data "$FIX/noid.csv" --out p.csv
    expect_rc 0 "predict without sample_id"
    [ "$(data_rows p.csv)" -eq 200 ] || fail "expected 200 rows, got $(data_rows p.csv)"
    bad=$(awk -F, 'NR > 1 && $1 != NR - 1 { print NR ": " $1; exit }' p.csv)
    [ -z "$bad" ] || fail "sample_id is not the 1-based row number (line $bad)"
    # Same predictions as with ids.
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out q.csv
    cut -d, -f2- p.csv >a
    cut -d, -f2- q.csv >b
    cmp -s a b || fail "predictions differ with and without the sample_id column"
}

t_predict_metrics_labelled() {
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out p.csv
    expect_rc 0 "predict on labelled data"
    expect_in out "macro-F1"
    expect_in out "(200 rows)"
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out p.csv --json
    expect_rc 0 "predict --json on labelled data"
    json_check out 'isinstance(d["metrics"], dict) and 0 <= d["metrics"]["macro_f1"] <= 1'
    json_check out 'd["rows"] == 200 and d["out"] == "p.csv" and sum(d["class_counts"].values()) == 200'
    json_check out 'd["metrics"]["samples"] == 200 and d["unknown_labels"] == 0 and d["warnings"] == []'
}

t_predict_unlabelled_metrics_null() {
    run healer predict --model "$FIX/model.model" --data "$FIX/unlabelled.csv" --out p.csv
    expect_rc 0 "predict on unlabelled data"
    expect_not_in out "macro-F1"
    run healer predict --model "$FIX/model.model" --data "$FIX/unlabelled.csv" --out p.csv --json
    expect_rc 0 "predict --json on unlabelled data"
    json_check out 'd["metrics"] is None and d["rows"] == 200'
    check_prediction_rows p.csv
}

# The training rows themselves are said to be the training data (their
# scores flatter the model); held-out rows are not; the sample ids and
# the label column do not count, the KPI values do.
t_predict_training_overlap() {
    run healer eval --model "$FIX/model.model" --data "$FIX/train.csv" --json
    expect_rc 0 "eval on the training rows"
    expect_in err "this is the training data: 800 of 800 sampled rows"
    json_check out 'd["training_overlap"] == {"rows_checked": 800, "rows_in_training": 800, "share": 1.0, "verdict": "training_data"}'
    # the first 100 training rows with other ids and no label, beside the held-out ones
    { head -n 1 "$FIX/unlabelled.csv"; sed -n 2,101p "$FIX/train.csv" | cut -d, -f1-11 | sed 's/^[^,]*,/x,/'
      tail -n 100 "$FIX/unlabelled.csv"; } >mixed.csv
    run healer predict --model "$FIX/model.model" --data mixed.csv --out p.csv --json
    expect_rc 0 "predict on half training rows"
    expect_in err "some rows are training rows: 100 of 200 sampled rows"
    json_check out 'd["training_overlap"]["verdict"] == "some" and d["training_overlap"]["share"] == 0.5'
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out p.csv --json
    expect_rc 0 "predict on held-out rows"
    expect_not_in err "training" "nothing said of held-out rows"
    json_check out 'd["training_overlap"]["verdict"] == "none" and d["training_overlap"]["rows_checked"] == 200'
}

t_predict_columns_by_name() {
    # Reverse the column order and add an unknown column before sample_id.
    awk -F, 'BEGIN { OFS = "," }
        { x = (NR == 1) ? "extra" : NR * 7
          print $12, $11, $10, $9, $8, $7, $6, $5, $4, $3, $2, x, $1 }' "$FIX/test.csv" >shuffled.csv
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out a.csv
    expect_rc 0 "predict, original column order"
    run healer predict --model "$FIX/model.model" --data shuffled.csv --out b.csv
    expect_rc 0 "predict, shuffled columns"
    expect_in err "warning" "warns about the extra column"
    expect_in err "'extra'" "names the extra column"
    cmp -s a.csv b.csv || fail "column order changed the predictions"
}

t_predict_unknown_labels() {
    awk -F, 'BEGIN { OFS = "," } NR > 1 && NR <= 4 { $NF = "zzz" } { print }' "$FIX/test.csv" >unk.csv
    run healer predict --model "$FIX/model.model" --data unk.csv --out p.csv --json
    expect_rc 0 "predict with labels the model does not know"
    expect_in err "3 rows" "warns about unknown labels"
    json_check out 'd["unknown_labels"] == 3 and d["metrics"]["samples"] == 197 and d["rows"] == 200'
}

t_predict_quoted_ids() {
    # Ids that need CSV quoting come back quoted (RFC 4180).
    awk -F, 'BEGIN { OFS = "," }
        NR == 2 { $1 = "\"host-a,pod 1\"" } NR == 3 { $1 = "\"say \"\"hi\"\"\"" } { print }' \
        "$FIX/test.csv" >q.csv
    run healer predict --model "$FIX/model.model" --data q.csv --out p.csv
    expect_rc 0 "predict with quoted ids"
    case $(sed -n 2p p.csv) in '"host-a,pod 1",'[!,]*) ;; *) fail "line 2 is: $(sed -n 2p p.csv)" ;; esac
    case $(sed -n 3p p.csv) in '"say ""hi""",'[!,]*) ;; *) fail "line 3 is: $(sed -n 3p p.csv)" ;; esac
}

t_predict_string_labels() {
    healer simulate --out s.csv --samples 800 --features 10 --classes 4 --string-labels --seed 9 2>/dev/null ||
        fail "simulate failed"
    run healer train --data s.csv --model s.model --rounds 20
    expect_rc 0 "train on string labels"
    run healer predict --model s.model --data s.csv --out p.csv
    expect_rc 0 "predict with string labels"
    header=$(head -n 1 p.csv)
    for c in $(awk -F, 'NR > 1 { print $NF }' s.csv | sort -u); do
        case ",$header," in *",prob_$c,"*) ;; *) fail "no prob_$c column in: $header" ;; esac
    done
    check_prediction_rows p.csv
}

# ---- tests: eval ----

t_eval_held_out() {
    run healer eval --model "$FIX/model.model" --data "$FIX/test.csv"
    expect_rc 0 "eval"
    expect_in out "accuracy"
    expect_in out "macro-F1"
    expect_in out "confusion"
    run healer eval --model "$FIX/model.model" --data "$FIX/test.csv" --json
    expect_rc 0 "eval --json"
    json_check out 'd["metrics"]["macro_f1"] > 0.8'
    json_check out 'd["rows"] == 200 and d["metrics"]["samples"] == 200 and len(d["metrics"]["confusion"]) == 6'
    json_check out 'sum(map(sum, d["metrics"]["confusion"])) == 200'
}

t_eval_same_metrics_as_predict() {
    run healer eval --model "$FIX/model.model" --data "$FIX/shifted.csv" --json
    expect_rc 0 "eval on shifted data"
    mv out eval.json
    run healer predict --model "$FIX/model.model" --data "$FIX/shifted.csv" --out p.csv --json
    expect_rc 0 "predict on shifted data"
    [ -n "$PY" ] || fail "python3 is needed"
    "$PY" -c 'import json,sys
a = json.load(open("eval.json"))["metrics"]; b = json.load(open("out"))["metrics"]
sys.exit(a != b)' || fail "eval and predict report different metrics"
}

t_eval_no_label_column() {
    run healer eval --model "$FIX/model.model" --data "$FIX/unlabelled.csv"
    expect_rc 1 "eval without a label column"
    expect_in err "unlabelled.csv"
    expect_in err "label"
}

# A label column whose cells are all empty has nothing to score: eval treats
# it like a file without a label column (error), predict reports no metrics
# (null), rather than "accuracy 0.0000 (0 rows)".
make_no_labels() {
    awk -F, 'BEGIN { OFS = "," } NR > 1 { $NF = "" } { print }' "$FIX/test.csv" >nolabels.csv
}

t_eval_no_labelled_rows() {
    make_no_labels
    run healer eval --model "$FIX/model.model" --data nolabels.csv
    expect_rc 1 "eval on a file whose labels are all empty"
    expect_in err "label"
}

t_predict_no_labelled_rows() {
    make_no_labels
    run healer predict --model "$FIX/model.model" --data nolabels.csv --out p.csv --json
    expect_rc 0 "predict on a file whose labels are all empty"
    json_check out 'd["metrics"] is None'
}

# ---- tests: output files and exit codes ----

t_predict_out_missing_dir() {
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out nodir/p.csv
    expect_rc 1 "predict --out into a missing directory"
    expect_in err "nodir/p.csv"
    expect_in err "cannot create"
    left=$(find . -mindepth 1 ! -name out ! -name err)
    [ -z "$left" ] || fail "files left behind: $left"
}

t_predict_out_is_directory() {
    mkdir outdir
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out outdir
    expect_rc 1 "predict --out naming a directory"
    expect_in err "outdir"
    expect_no_tmp_files .
    [ -z "$(ls -A outdir)" ] || fail "outdir is not empty: $(ls -A outdir)"
}

t_predict_failure_keeps_old_output() {
    printf 'previous,result\n' >p.csv
    cut -d, -f1-3,5- "$FIX/test.csv" >nofeat2.csv
    run healer predict --model "$FIX/model.model" --data nofeat2.csv --out p.csv
    expect_rc 1 "predict with a missing feature"
    [ "$(cat p.csv)" = "previous,result" ] || fail "a failed predict clobbered the old output"
    run healer predict --model "$FIX/model.model" --data "$FIX/test.csv" --out p.csv
    expect_rc 0 "predict over an existing file"
    [ "$(data_rows p.csv)" -eq 200 ] || fail "existing output not replaced"
    expect_no_tmp_files .
}

t_stdout_write_errors() {
    # Output that cannot be written (disk full, closed pipe) is a runtime
    # error: a script must not get exit 0 with a truncated report.
    [ -w /dev/full ] || { echo "    (skipped: no /dev/full)"; return 0; }
    m=$FIX/model.model
    bad=0
    for args in "--help" "inspect $m" "inspect --json $m" \
        "eval --model $m --data $FIX/test.csv" \
        "eval --json --model $m --data $FIX/test.csv" \
        "predict --model $m --data $FIX/test.csv --out p.csv" \
        "train --data $FIX/train.csv --model m.model --rounds 5"; do
        # shellcheck disable=SC2086
        healer $args >/dev/full 2>err
        rc=$?
        if [ "$rc" -ne 1 ]; then
            echo "    healer $args >/dev/full: expected exit 1, got $rc"
            bad=1
        fi
    done
    [ "$bad" -eq 0 ]
}

# ---- tests: determinism ----

t_determinism_threads() {
    d=$FIX/train.csv
    for t in 1 2; do
        run healer train --data "$d" --model t$t.model --rounds 20 --seed 5 --threads $t
        expect_rc 0 "train --threads $t"
        run healer predict --model t$t.model --data "$FIX/shifted.csv" --out p$t.csv --threads $t
        expect_rc 0 "predict --threads $t"
    done
    cmp -s p1.csv p2.csv || fail "--threads 1 and --threads 2 give different predictions"
    run healer train --data "$d" --model again.model --rounds 20 --seed 5 --threads 2
    run healer predict --model again.model --data "$FIX/shifted.csv" --out again.csv --threads 1
    cmp -s p2.csv again.csv || fail "two trainings with the same seed differ"
}

# ---- runner ----

# ---- tests: accounts (healer user add) ----

t_user_add() {
    printf 'correct horse battery\n' > pw
    run healer user add alice --admin --data-dir dd < pw
    expect_rc 0 "user add from stdin"
    expect_in out "created administrator 'alice'"
    [ -f dd/healer.db ] || fail "dd/healer.db was not created"
    run healer user add bob --data-dir dd < pw
    expect_rc 0 "second user"
    expect_in out "created user 'bob'"
    run healer user add alice --data-dir dd < pw
    expect_rc 1 "duplicate user"
    expect_in err "already exists"
}

t_user_add_rejects() {
    printf 'short\n' > short
    run healer user add carol --data-dir dd < short
    expect_rc 1 "password too short"
    expect_in err "password"
    printf 'correct horse battery\n' > pw
    run healer user add '../x' --data-dir dd < pw
    expect_usage_error "username" "bad username"
    run healer user add dave --data-dir dd < /dev/null
    expect_rc 1 "no password on stdin"
    expect_in err "no password"
    run healer user add --data-dir dd
    expect_usage_error "healer user add NAME" "missing name"
}

# `healer user` against a store given by URL: no data directory is made;
# a store and a data directory together, or an empty URL, are refused.
t_user_store() {
    printf 'correct horse battery\n' > pw
    run healer user add alice --admin --store "sqlite:$PWD/shared.db" < pw
    expect_rc 0 "user add --store"
    expect_in out "created administrator 'alice' (id 1) in the store given by --store"
    [ -f shared.db ] || fail "shared.db was not created"
    [ ! -e var ] || fail "user add --store made a data directory"
    run healer user unlock alice --store "sqlite:$PWD/shared.db"
    expect_rc 0 "user unlock --store"
    expect_in out "unlocked 'alice' in the store given by --store (it was not locked)"
    run healer user unlock nobody --store "sqlite:$PWD/shared.db"
    expect_rc 1 "unknown user in the store"
    run healer user add bob --store "sqlite:$PWD/shared.db" --data-dir dd < pw
    expect_usage_error "--data-dir and --store name two places" "both"
    run healer user add bob --store "" < pw
    expect_usage_error "--store must not be empty" "empty store"
    run healer user add bob --store "mysql://x" < pw
    expect_rc 1 "unknown scheme"
    expect_in err "scheme 'mysql' is not supported"
}

# `healer worker` and `healer serve --no-workers` read the one key table,
# each its own keys: the other command's keys and bad values are refused
# naming them; a worker's blobs and store must be URLs it can open, and
# its data directory is its own.
t_worker_flags() {
    run healer worker --listen 127.0.0.1:1
    expect_usage_error "listen is not a setting of healer worker (it is healer serve's)" "serve key"
    run healer serve --threads 2
    expect_usage_error "threads is not a setting of healer serve (it is healer worker's)" "worker key"
    run healer worker --threads 0
    expect_usage_error "--threads: expected a whole number in 1..64, got '0'" "threads 0"
    run healer worker --threads
    expect_usage_error "missing value for '--threads'" "threads without value"
    run healer serve --no-workers=maybe
    expect_usage_error "no-workers: expected true or false, got 'maybe'" "no-workers value"
    run healer worker --help
    expect_rc 0 "worker --help"
    expect_in out "--threads"
    expect_in out "--store"
    grep -q -- "--listen" out && fail "worker --help lists serve's --listen"
    run healer serve --help
    grep -q -- "--threads " out && fail "serve --help lists the worker's --threads"
    expect_in out "--no-workers"
    healer key new --out key >/dev/null 2>&1 || fail "key new"
    run healer worker --data-dir w0 --blobs s3:bucket --data-key-file "$PWD/key"
    expect_rc 1 "blobs scheme"
    expect_in err "blobs URL scheme 's3' is not supported by this build"
    run healer worker --data-dir w0 --store nope:x --data-key-file "$PWD/key"
    expect_rc 1 "store scheme"
    expect_in err "store URL scheme 'nope' is not supported"
    printf 'data-dir = w1\nlisten = 127.0.0.1:1\nstore = sqlite:%s/s.db\nblobs = file:%s/blobs\n' \
        "$PWD" "$PWD" > shared.conf
    "$H" worker --config shared.conf --data-key-file "$PWD/key" >w1.out 2>&1 &
    pid=$! # not under timeout, which would answer SIGTERM itself
    (sleep 60 && kill -9 $pid) 2>/dev/null &
    watchdog=$!
    i=0
    while ! grep -q "running up to 1 job" w1.out 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || { kill $pid; fail "the worker did not start: $(cat w1.out)"; }
        sleep 0.1
    done
    run healer worker --data-dir w1 --store "sqlite:$PWD/s.db" --data-key-file "$PWD/key"
    kill -TERM $pid
    wait $pid
    wrc=$?
    kill $watchdog 2>/dev/null
    expect_rc 1 "a second worker on one data directory"
    expect_in err "data directory w1 is in use by process"
    [ $wrc -eq 0 ] || fail "the worker exited $wrc on SIGTERM: $(cat w1.out)"
    expect_in w1.out "healer worker: stopped"
}

# ---- tests: healer cert ----

# The mode of FILE as octal digits (stat from coreutils).
mode_of() {
    stat -c %a "$1"
}

t_cert_writes_a_pair() {
    umask 022
    run healer cert --out tls/new --host healer.example.com
    expect_rc 0 "cert --out"
    expect_in out "wrote tls/new/cert.pem and tls/new/key.pem"
    expect_in out "healer.example.com, 127.0.0.1 and ::1"
    [ "$(mode_of tls/new/cert.pem)" = 600 ] || fail "cert.pem is $(mode_of tls/new/cert.pem), not 600"
    [ "$(mode_of tls/new/key.pem)" = 600 ] || fail "key.pem is $(mode_of tls/new/key.pem), not 600"
    [ "$(mode_of tls/new)" = 700 ] || fail "tls/new is $(mode_of tls/new), not 700"
    [ "$(mode_of tls)" = 700 ] || fail "tls (a missing parent) is $(mode_of tls), not 700"
    expect_no_tmp_files tls
    command -v openssl >/dev/null 2>&1 || fail "openssl is needed to read the certificate (make deps)"
    openssl x509 -in tls/new/cert.pem -noout -fingerprint -sha256 >fp || fail "openssl cannot read cert.pem"
    fp=$(sed -n 's/^[Ss][Hh][Aa]256 Fingerprint=//p' fp)
    [ -n "$fp" ] || fail "no fingerprint from openssl"
    expect_in out "SHA-256 fingerprint: $fp" "the printed fingerprint is the certificate's"
    openssl x509 -in tls/new/cert.pem -noout -text >text
    expect_in text "DNS:healer.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
    expect_in text "CA:FALSE"
    expect_in text "Digital Signature"
    expect_in text "TLS Web Server Authentication"
    expect_in text "Subject: CN = healer.example.com"
    expect_in text "NIST CURVE: P-256"
    openssl pkey -in tls/new/key.pem -pubout >key.pub || fail "openssl cannot read key.pem"
    openssl x509 -in tls/new/cert.pem -noout -pubkey >cert.pub
    cmp -s key.pub cert.pub || fail "key.pem is not the certificate's key"
    # Valid for about a year: the end date is 364 to 366 days away.
    end=$(date -d "$(openssl x509 -in tls/new/cert.pem -noout -enddate | cut -d= -f2)" +%s)
    days=$(( (end - $(date +%s)) / 86400 ))
    [ "$days" -ge 364 ] && [ "$days" -le 366 ] || fail "valid for $days days, not about 365"
    # Two runs give two serials.
    run healer cert --out other
    expect_rc 0 "second pair"
    [ "$(openssl x509 -in tls/new/cert.pem -noout -serial)" != "$(openssl x509 -in other/cert.pem -noout -serial)" ] ||
        fail "two certificates with one serial"
}

t_cert_refuses_overwrite() {
    run healer cert --out tls
    expect_rc 0 "first pair"
    cp tls/cert.pem before.pem
    run healer cert --out tls
    expect_rc 1 "existing files"
    expect_in err "tls/cert.pem and tls/key.pem already exist: not overwritten (--force replaces them)"
    expect_empty out "refused (stdout)"
    cmp -s tls/cert.pem before.pem || fail "the existing certificate was changed"
    rm tls/cert.pem
    run healer cert --out tls
    expect_rc 1 "an existing key alone"
    expect_in err "tls/key.pem already exists"
    [ ! -e tls/cert.pem ] || fail "a certificate was written next to a key it does not match"
    run healer cert --out tls --force
    expect_rc 0 "--force"
    cmp -s tls/cert.pem before.pem && fail "--force did not replace the certificate"
    [ "$(mode_of tls/cert.pem)" = 600 ] || fail "a replaced cert.pem is not 600"
    expect_no_tmp_files tls
}

t_cert_usage_errors() {
    run healer cert
    expect_usage_error "--out DIR is required" "no --out"
    run healer cert --out tls --host 'bad_name'
    expect_usage_error "--host: 'bad_name' is not a host name" "bad host"
    run healer cert --out tls --host '-x.example'
    expect_usage_error "is not a host name" "host starting with a hyphen"
    run healer cert --out tls --host ''
    expect_usage_error "is not a host name" "empty host"
    run healer cert --out tls --bogus
    expect_usage_error "unknown option '--bogus'" "unknown flag"
    run healer cert --out tls stray
    expect_usage_error "unexpected argument 'stray'" "stray argument"
    expect_absent tls
    : > afile
    run healer cert --out afile/sub
    expect_rc 1 "--out under a file"
    expect_in err "afile"
    run healer cert --out tls --host 10.0.0.7
    expect_rc 0 "an IP address as the host"
    expect_in out "10.0.0.7, 127.0.0.1 and ::1"
    run healer cert --out tls6 --host ::1
    expect_rc 0 "::1 as the host"
    if command -v openssl >/dev/null 2>&1; then
        openssl x509 -in tls/cert.pem -noout -text >text
        expect_in text "IP Address:10.0.0.7, IP Address:127.0.0.1"
        expect_not_in text "DNS:"
        openssl x509 -in tls6/cert.pem -noout -text >text6
        expect_in text6 "IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.0.1"
    fi
}

# One SQL statement on a database, rows printed as a|b (python3's sqlite3:
# no sqlite3 shell needed).
sql() {
    python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute(sys.argv[2]).fetchall()
c.commit()
print("\n".join("|".join(str(x) for x in r) for r in rows))' "$@"
}

t_user_email() {
    printf 'correct horse battery\n' > pw
    run healer user add erin --email Erin.Ops@Example.COM --data-dir dd < pw
    expect_rc 0 "user add --email"
    [ "$(sql dd/healer.db "SELECT email FROM users WHERE username = 'erin'")" = "Erin.Ops@Example.COM" ] \
        || fail "the e-mail address was not kept as given"
    for bad in no-at-sign 'a@b@c' 'sp ace@x.org' '@x.org' "x@$(printf 'd%.0s' $(seq 260))"; do
        run healer user add frank --email "$bad" --data-dir dd < pw
        expect_usage_error "e-mail address" "bad address $bad"
    done
    [ "$(sql dd/healer.db "SELECT COUNT(*) FROM users WHERE username = 'frank'")" = 0 ] \
        || fail "a refused address created the user"
    run healer user add frank --data-dir dd --email < pw
    expect_usage_error "missing value" "--email without a value"
}

t_user_unlock() {
    printf 'correct horse battery\n' > pw
    run healer user add gus --data-dir dd < pw
    expect_rc 0 "user add"
    sql dd/healer.db "UPDATE users SET locked_until = 4102444800 WHERE username = 'gus'"
    run healer user unlock gus --data-dir dd
    expect_rc 0 "user unlock"
    expect_in out "unlocked 'gus'"
    [ ! -e dd/data.key ] || fail "healer user unlock made a data key"
    expect_not_in out "was not locked"
    [ "$(sql dd/healer.db "SELECT locked_until FROM users WHERE username = 'gus'")" = 0 ] \
        || fail "the lock was not lifted"
    [ "$(sql dd/healer.db "SELECT COUNT(*) FROM account_events e JOIN users u ON u.id = e.user_id
          WHERE u.username = 'gus' AND e.kind = 'unlocked'")" = 1 ] || fail "no 'unlocked' event recorded"
    [ "$(sql dd/healer.db "SELECT actor_name || '/' || address || '/' || target_name FROM audit_log
          WHERE action = 'user_unlocked'")" = "command line/local/gus" ] || fail "the unlock is not audited"
    run healer user unlock gus --data-dir dd
    expect_rc 0 "unlock again"
    expect_in out "was not locked"
    run healer user unlock nobody --data-dir dd
    expect_rc 1 "an unknown name"
    expect_in err "there is no user 'nobody'"
    run healer user unlock gus --admin --data-dir dd
    expect_usage_error "--admin is for 'user add' only" "unlock --admin"
    run healer user unlock --data-dir dd
    expect_usage_error "healer user unlock NAME" "unlock without a name"
    run healer user lock gus --data-dir dd
    expect_usage_error "healer user add NAME" "an unknown verb"
}

t_serve_public_url_refused() {
    for bad in 'ftp://healer.example.com' 'healer.example.com' 'https://' 'https:///x' \
               'https://h.example.com/?a=1' 'https://h.example.com/#/x' 'https://h example.com'; do
        run healer serve --public-url "$bad" --data-dir dd --listen 127.0.0.1:0
        expect_rc 2 "serve --public-url '$bad'"
        expect_in err "public-url" "serve --public-url '$bad'"
    done
    expect_absent dd
}

# ---- tests: data keys (healer key new, healer rekey) ----

t_key_new() {
    saved_umask=$(umask)
    umask 0
    run healer key new --out k1
    umask "$saved_umask"
    expect_rc 0 "key new"
    expect_in out "wrote data key"
    [ "$(stat -c %a k1)" = 600 ] || fail "the key file is not 0600 under umask 0: $(stat -c %a k1)"
    [ "$(stat -c %s k1)" = 32 ] || fail "the key file is not 32 bytes"
    cp k1 k1.copy
    run healer key new --out k1
    expect_rc 1 "key new over an existing file"
    expect_in err "never overwritten"
    cmp -s k1 k1.copy || fail "an existing key was changed"
    run healer key new
    expect_usage_error "--out FILE is required" "key new without --out"
    run healer key old --out k2
    expect_usage_error "healer key new --out FILE" "unknown key subcommand"
    run healer key new --out nodir/k
    expect_rc 1 "key in a missing directory"
    expect_in err "nodir/k"
}

t_rekey_refusals() {
    run healer rekey --data-dir dd
    expect_usage_error "--new-key-file FILE is required" "rekey without a new key"
    run healer rekey --data-dir kd --new-key-file nokey
    expect_rc 1 "rekey with a missing new key"
    expect_in err "nokey"
    run healer key new --out new.key
    run healer key new --out other.key
    chmod 644 new.key
    run healer rekey --data-dir kd --new-key-file new.key
    expect_rc 1 "a new key readable by others"
    expect_in err "chmod 600"
    chmod 600 new.key
    # A directory from before encryption (no key yet): rekey encrypts it.
    printf 'correct horse battery\n' > pw
    run healer user add alice --data-dir kd < pw
    [ ! -e kd/data.key ] || fail "healer user made a data key"
    run healer rekey --data-dir kd --new-key-file new.key
    expect_rc 0 "rekey of a directory without a key"
    expect_in out "data key is now"
    cmp -s kd/data.key new.key || fail "kd/data.key is not the new key"
    [ ! -e kd/rekey.pending ] || fail "the rekey mark was left"
    # The current key given must be the directory's.
    run healer key new --out third.key
    run healer rekey --data-dir kd --data-key-file other.key --new-key-file third.key
    expect_rc 1 "rekey from a key that is not the directory's"
    expect_in err "other.key"
    cmp -s kd/data.key new.key || fail "a refused rekey changed the key"
    # An encrypted directory whose key is kept elsewhere: never a new key.
    cp -r kd kx
    rm kx/data.key
    run healer rekey --data-dir kx --new-key-file third.key
    expect_rc 1 "rekey without the key of an encrypted directory"
    expect_in err "give its key file with --data-key-file"
    run timeout 20 "$H" serve --data-dir kx --listen 127.0.0.1:0 --web-dir ''
    expect_rc 1 "serve without the key of an encrypted directory"
    expect_in err "give its key file with --data-key-file"
    [ ! -e kx/data.key ] || fail "a key was made for an encrypted directory"
    # Files stored before encryption: the server refuses them (making no
    # key), rekey encrypts them.
    mkdir -p old/blobs/upload
    printf 'sample_id,cpu\n1,12.3456789\n' > old/blobs/upload/0123456789abcdef0123456789abcdef
    run timeout 20 "$H" serve --data-dir old --listen 127.0.0.1:0 --web-dir ''
    expect_rc 1 "serve on files stored before encryption"
    expect_in err "stored before encryption at rest"
    expect_in err "healer rekey --data-dir old"
    [ ! -e old/data.key ] || fail "the refused server made a data key"
    run healer rekey --data-dir old --new-key-file new.key
    expect_rc 0 "rekey of files stored before encryption"
    expect_in out "encrypted from plain 1"
    [ "$(head -c 7 old/blobs/upload/0123456789abcdef0123456789abcdef)" = HSCRYPT ] || fail "the old file was not encrypted"
    grep -q 12.3456789 old/blobs/upload/0123456789abcdef0123456789abcdef && fail "a KPI value is still in plain"
    # Once encrypted, a plain file is planted or damaged: never encrypted.
    printf 'sample_id,cpu\n1,99.25\n' > old/blobs/upload/fedcba9876543210fedcba9876543210
    run healer key new --out fourth.key
    run healer rekey --data-dir old --new-key-file fourth.key
    expect_rc 1 "rekey of a plain file planted in an encrypted directory"
    expect_in err "upload/fedcba9876543210fedcba9876543210"
    expect_in err "not encrypted"
    grep -q 99.25 old/blobs/upload/fedcba9876543210fedcba9876543210 || fail "the planted file was encrypted"
    true
}

t_rekey_resumes() {
    mkdir -p rd/blobs/upload
    printf 'sample_id,cpu\n1,12.3456789\n' > rd/blobs/upload/0123456789abcdef0123456789abcdef
    run healer key new --out k1
    run healer key new --out k2
    run healer rekey --data-dir rd --new-key-file k1
    expect_rc 0 "first rotation"
    cp rd/data.key old.key
    run healer rekey --data-dir rd --new-key-file k2
    expect_rc 0 "second rotation"
    # As if it had crashed after recording the new key id, before
    # replacing the key file: the old key file back, the mark left.
    cp old.key rd/data.key
    chmod 600 rd/data.key
    : > rd/rekey.pending
    run healer rekey --data-dir rd --new-key-file k2
    expect_rc 0 "the interrupted rotation resumed"
    expect_in out "already done 1"
    cmp -s rd/data.key k2 || fail "rd/data.key is not the new key"
    [ ! -e rd/rekey.pending ] || fail "the mark was left"
}

# ---- tests: drift ----

t_drift_json_format() {
    run healer drift --model "$FIX/model.model" --data "$FIX/test.csv" --json
    expect_rc 0 "drift --json"
    json_check out 'd["verdict"] in ("none", "moderate", "severe") and isinstance(d["kpis"], list)'
    json_check out 'sorted(k["kpi"] for k in d["kpis"]) == sorted("feature%d" % i for i in range(10))'
    json_check out 'all({"kpi", "psi", "ks", "significant"} <= set(k) for k in d["kpis"])'
    json_check out 'all(type(k["psi"]) is float and type(k["ks"]) is float and type(k["significant"]) is bool for k in d["kpis"])'
    json_check out 'all(k["psi"] >= 0 and 0 <= k["ks"] <= 1 for k in d["kpis"])'
    json_check out 'd["rows"] == 200 and d["reference_rows"] == 800 and d["significant"] == sum(k["significant"] for k in d["kpis"])'
    # Rows of the training distribution that the model has not seen: none.
    json_check out 'd["verdict"] == "none" and d["significant"] == 0'
    # Worst first: levels, then PSI, descending.
    json_check out 'all(a["psi"] >= b["psi"] for a, b in zip(d["kpis"], d["kpis"][1:]) if a["level"] == b["level"])'
    # Without a label column (or an id column) it reads the same.
    run healer drift --model "$FIX/model.model" --data "$FIX/unlabelled.csv" --json
    expect_rc 0 "drift --json, no label column"
    json_check out 'd["rows"] == 200 and len(d["kpis"]) == 10'
}

# The simulator names the KPIs its shifted file moves: exactly those are
# significant; the rows of the training distribution say none (above).
t_drift_finds_the_shifted_kpis() {
    "$H" simulate --out all.csv --samples 1000 --features 10 --seed 11 \
        --shift-out shifted.csv --shift-samples 300 >/dev/null 2>sim.err ||
        fail "simulate failed"
    want=$(sed -n 's/^shifted KPIs: //p' sim.err | tr ' ' '\n' | sort | tr '\n' ' ')
    [ -n "$want" ] || fail "simulate did not name the shifted KPIs: $(cat sim.err)"
    run healer drift --model "$FIX/model.model" --data "$FIX/shifted.csv" --json
    expect_rc 0 "drift --json on the shifted file"
    got=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(sorted(k["kpi"] for k in d["kpis"] if k["significant"])) + " ")' out)
    [ "$got" = "$want" ] || fail "significant KPIs: '$got', shifted ones: '$want'"
    json_check out 'd["verdict"] != "none"'
}

t_drift_text() {
    run healer drift --model "$FIX/model.model" --data "$FIX/shifted.csv"
    expect_rc 0 "drift"
    expect_match out '^drift: (moderate|severe) - [0-9]+ of 10 KPIs shifted significantly \(300 rows checked against 800 reference rows\)$'
    head -n 1 out | grep -q '^drift: ' || fail "the verdict is not the first line"
    expect_in out "KPI"
    [ "$(grep -c '^feature' out)" -eq 10 ] || fail "expected one line per KPI"
    expect_empty err
}

t_drift_errors() {
    run healer drift --data "$FIX/test.csv"
    expect_usage_error --model "drift without --model"
    run healer drift --model "$FIX/model.model"
    expect_usage_error --data "drift without --data"
    run healer drift --model "$FIX/model.model" --data none.csv
    expect_rc 1 "drift on a missing file"
    expect_in err "none.csv"
    expect_empty out
    cut -d, -f1-3,5-12 "$FIX/test.csv" >nofeat2.csv
    run healer drift --model "$FIX/model.model" --data nofeat2.csv
    expect_rc 1 "drift without a KPI of the model"
    expect_in err "feature2"
    head -n 1 "$FIX/test.csv" >header.csv
    run healer drift --model "$FIX/model.model" --data header.csv --json
    expect_rc 1 "drift on a file without rows"
    expect_in err "header.csv"
    expect_empty out
    printf 'a,b\n1,x\n' >bad.csv
    run healer drift --model "$FIX/model.model" --data bad.csv
    expect_rc 1 "drift on a bad CSV"
    expect_in err "bad.csv:2"
    run healer drift --model "$ROOT/tests/fixtures/model_v1/v1_multiclass.model" \
        --data "$ROOT/tests/fixtures/model_v1/v1_multiclass.csv"
    expect_rc 1 "drift with a model without a reference"
    expect_in err "the model has no drift reference; retrain it"
    run healer drift --model "$FIX/test.csv" --data "$FIX/test.csv"
    expect_rc 1 "drift with a CSV as the model"
    expect_in err "not a SystemHealer model"
}

# predict says the drift on stderr from 50 rows on; stdout and the
# predictions keep their formats.
t_predict_reports_drift() {
    run healer predict --model "$FIX/model.model" --data "$FIX/shifted.csv" --out p.csv
    expect_rc 0 "predict on the shifted file"
    expect_match err '^healer predict: drift: (moderate|severe) - [0-9]+ of 10 KPIs shifted significantly'
    expect_in err "healer predict: worst KPIs: feature4 (severe, PSI"
    expect_not_in out "drift"
    expect_match out '^diagnosed 300 rows in [0-9.]+ ms; predictions written to p.csv$'
    [ "$(head -n 1 p.csv)" = "sample_id,label,confidence,prob_0,prob_1,prob_2,prob_3,prob_4,prob_5" ] ||
        fail "header is: $(head -n 1 p.csv)"
    check_prediction_rows p.csv
    run healer predict --model "$FIX/model.model" --data "$FIX/shifted.csv" --out p.csv --json
    expect_rc 0 "predict --json on the shifted file"
    json_check out 'd["drift"]["verdict"] != "none" and len(d["drift"]["kpis"]) == 10'
    # 49 rows: too few to say anything.
    head -n 50 "$FIX/shifted.csv" >small.csv
    run healer predict --model "$FIX/model.model" --data small.csv --out p.csv --json
    expect_rc 0 "predict on 49 rows"
    expect_not_in err "drift"
    json_check out 'd["drift"] is None'
    head -n 51 "$FIX/shifted.csv" >fifty.csv
    run healer predict --model "$FIX/model.model" --data fifty.csv --out p.csv
    expect_rc 0 "predict on 50 rows"
    expect_in err "healer predict: drift: "
    # A model without a reference predicts as before and says so once.
    run healer predict --model "$ROOT/tests/fixtures/model_v1/v1_multiclass.model" \
        --data "$ROOT/tests/fixtures/model_v1/v1_multiclass.csv" --out p.csv
    expect_rc 0 "predict with a model without a reference"
    expect_in err "drift not checked: the model has no drift reference; retrain it"
}

# docs/cli.md states the rules with the numbers of healer/drift.h, which
# `healer drift --help` prints from the definitions.
t_drift_rules_documented() {
    run healer drift --help
    expect_rc 0 "drift --help"
    rules=$(grep '^Rules: ' out)
    [ -n "$rules" ] || fail "drift --help has no Rules: line"
    grep -qF -- "$rules" "$ROOT/docs/cli.md" || fail "docs/cli.md does not state: $rules"
}

# ---- tests: profile ----

t_profile() {
    printf 'sample_id,a,b,label\n1,1,,x\n2,2,5,y\n3,1,,x\n4,3,5,\n' > p.csv
    run healer profile --data p.csv --json
    expect_rc 0 "profile --json"
    json_check out "d['rows'] == 4 and d['unlabelled_rows'] == 1 and d['duplicate_rows'] == 1 and d['class_counts'] == {'x': 2, 'y': 1} and d['kpis'][1]['missing'] == 2 and d['kpis'][0]['median'] == 1.5"
    run healer profile --data p.csv
    expect_rc 0 "profile text"
    expect_in out "4 rows x 2 KPIs"
    run healer profile
    expect_usage_error "--data" "profile without --data"
    printf 'a,b\n1,x\n' > bad.csv
    run healer profile --data bad.csv
    expect_rc 1 "profile of a bad file"
    expect_in err "bad.csv:2"
}

# ---- tests: root-cause analysis (rca, rca-eval) ----

# A chain web -> api -> db (web depends on api, api on db) and two
# incidents drawn from the held-out rows: in i1 a fault of class 1 starts
# at db and reaches api, then web, a minute apart; in i2 it starts at api
# and reaches web. The fixture model's classes are 0..5 (0: normal).
rca_fixture() {
    printf '%s\n' '{"nodes": [{"id": "db", "kind": "database"}, {"id": "api"}, {"id": "web"}],' \
        ' "edges": [{"from": "api", "to": "db"}, {"from": "web", "to": "api"}]}' >t.json
    # rows the model diagnoses surely (a test of rca, not of the model)
    "$H" predict --model "$FIX/model.model" --data "$FIX/test.csv" --out p.csv >/dev/null 2>&1 ||
        fail "predict for the rca fixture failed"
    awk -F, 'FILENAME == ARGV[1] { if (FNR > 1) { got[FNR] = $2; conf[FNR] = $3 }; next }
        FNR > 1 && $12 == 0 && got[FNR] == 0 && conf[FNR] >= 0.8' p.csv "$FIX/test.csv" >normal.rows
    awk -F, 'FILENAME == ARGV[1] { if (FNR > 1) { got[FNR] = $2; conf[FNR] = $3 }; next }
        FNR > 1 && $12 == 1 && got[FNR] == 1 && conf[FNR] >= 0.8' p.csv "$FIX/test.csv" >fault.rows
    [ -s normal.rows ] && [ -s fault.rows ] || fail "no sure rows for the rca fixture"
    awk -F, '
        FILENAME == ARGV[1] { n[nn++] = $0; next }
        { f[nf++] = $0 }
        function row(inc, node, t, faulty,   r, out, i, a) {
            r = faulty ? f[fi++ % nf] : n[ni++ % nn]
            split(r, a, ",")
            out = inc "," node "," t
            for (i = 2; i <= 11; i++) out = out "," a[i]
            print out
        }
        function node(inc, id, onset, t0,   k) {
            for (k = 0; k < 4; k++) row(inc, id, t0 + 60 * k, k >= onset)
        }
        END {
            print "incident_id,node,timestamp,feature0,feature1,feature2,feature3,feature4,feature5,feature6,feature7,feature8,feature9"
            node("i1", "db", 1, 1000); node("i1", "api", 2, 1005); node("i1", "web", 3, 990)
            node("i2", "db", 9, 5000); node("i2", "api", 1, 5000); node("i2", "web", 2, 5010)
        }' normal.rows fault.rows >inc.csv
    printf 'incident_id,root_node,root_fault\ni1,db,1\ni2,api,1\n' >truth.csv
}

t_rca_ranks() {
    rca_fixture
    run healer rca --model "$FIX/model.model" --topology t.json --data inc.csv \
        --out ranks.csv --normal 0
    expect_rc 0 "rca"
    expect_empty err "rca stderr"
    expect_match out '^2 incidents analysed in [0-9.]+ s \(2 with abnormal nodes\); topology of 3 nodes; ranks written to ranks.csv$'
    expect_in out "  i1: db 1, score "
    expect_in out "  i2: api 1, score "
    [ "$(head -n 1 ranks.csv)" = "incident_id,rank,node,fault,score,onset,path" ] ||
        fail "ranks header: $(head -n 1 ranks.csv)"
    expect_match ranks.csv '^i1,1,db,1,0\.[0-9]{4},1060,db>api>web$'
    expect_match ranks.csv '^i2,1,api,1,0\.[0-9]{4},5060,api>web$'
    # i1: its 3 abnormal nodes; i2: 2 (the healthy db is no candidate)
    [ "$(data_rows ranks.csv)" -eq 5 ] || fail "expected 5 ranks: $(cat ranks.csv)"
    expect_no_tmp_files .
    # --top 1 on two threads: the same first ranks
    run healer rca --model "$FIX/model.model" --topology t.json --data inc.csv \
        --out top1.csv --normal 0 --top 1 --threads 2
    expect_rc 0 "rca --top 1"
    [ "$(tail -n +2 top1.csv)" = "$(grep '^i[12],1,' ranks.csv)" ] ||
        fail "rank 1 differs with --top 1 --threads 2: $(cat top1.csv)"
    # --json: the whole result on stdout, the ranks written all the same
    run healer rca --model "$FIX/model.model" --topology t.json --data inc.csv \
        --out ranks2.csv --normal 0 --json --skew 30 --hop-delay 120
    expect_rc 0 "rca --json"
    json_check out 'd["normal"] == "0" and d["top"] == 5 and [i["incident_id"] for i in d["incidents"]] == ["i1", "i2"]'
    json_check out 'list(d["incidents"][0]) == ["incident_id", "observed", "abnormal", "ranks", "nodes"]'
    json_check out 'd["incidents"][0]["ranks"][0]["path"] == ["db", "api", "web"] and d["incidents"][0]["ranks"][0]["tree"][0] == {"node": "db", "parent": None}'
    json_check out 'd["incidents"][0]["ranks"][0]["onset"] == "1060" and d["incidents"][0]["ranks"][0]["onset_seconds"] == 1060'
    json_check out '[n["node"] for n in d["incidents"][0]["nodes"]] == ["db", "api", "web"] and d["incidents"][0]["nodes"][0]["kind"] == "database" and d["incidents"][0]["nodes"][1]["kind"] is None'
    json_check out 'all(0 <= r["score"] <= 1 for i in d["incidents"] for r in i["ranks"])'
    # a node that is not abnormal has the normal class as its fault
    json_check out 'd["incidents"][1]["nodes"][0]["abnormal"] is False and d["incidents"][1]["nodes"][0]["fault"] == "0" and d["incidents"][1]["nodes"][0]["confidence"] > 0.5'
    json_check out 'all(n["fault"] == "1" for n in d["incidents"][0]["nodes"])'
    [ -s ranks2.csv ] || fail "rca --json did not write --out"
    # a JSON topology behind a UTF-8 byte order mark reads the same
    printf '\357\273\277' >bom.json
    cat t.json >>bom.json
    run healer rca --model "$FIX/model.model" --topology bom.json --data inc.csv \
        --out ranks3.csv --normal 0
    expect_rc 0 "rca with a BOM topology"
    cmp -s ranks.csv ranks3.csv || fail "the BOM topology ranks differently"
}

# The same incidents with ISO 8601 timestamps (a zone Z, an offset, none)
# rank the same as in integer seconds: the onsets are the same instants.
# The ranks' onset is the text of the onset row, so it is the one column
# that differs.
t_rca_iso_timestamps() {
    rca_fixture
    "$PY" - inc.csv <<'EOF' || fail "could not write the timestamp variants"
import csv, datetime, sys
base = 1796637600  # 2026-12-07T10:00:00Z
utc = datetime.timezone.utc
plus1 = datetime.timezone(datetime.timedelta(hours=1))
with open(sys.argv[1], newline="") as f:
    rows = list(csv.reader(f))
with open("epoch.csv", "w", newline="") as e, open("iso.csv", "w", newline="") as i:
    we, wi = csv.writer(e, lineterminator="\n"), csv.writer(i, lineterminator="\n")
    we.writerow(rows[0])
    wi.writerow(rows[0])
    for r in rows[1:]:
        t = base + int(r[2])
        at = datetime.datetime.fromtimestamp(t, utc)
        iso = {"db": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "api": at.astimezone(plus1).strftime("%Y-%m-%dT%H:%M:%S+01:00"),
               "web": at.strftime("%Y-%m-%d %H:%M:%S")}[r[1]]
        we.writerow(r[:2] + [str(t)] + r[3:])
        wi.writerow(r[:2] + [iso] + r[3:])
EOF
    run healer rca --model "$FIX/model.model" --topology t.json --data epoch.csv \
        --out epoch_ranks.csv --normal 0
    expect_rc 0 "rca on integer seconds"
    run healer rca --model "$FIX/model.model" --topology t.json --data iso.csv \
        --out iso_ranks.csv --normal 0
    expect_rc 0 "rca on ISO 8601 timestamps"
    expect_empty err "rca on ISO 8601 timestamps, stderr"
    [ "$(data_rows iso_ranks.csv)" -eq 5 ] || fail "expected 5 ranks: $(cat iso_ranks.csv)"
    [ "$(cut -d, -f1-5,7 iso_ranks.csv)" = "$(cut -d, -f1-5,7 epoch_ranks.csv)" ] ||
        fail "ISO 8601 ranks differ from integer seconds:" "$(cat iso_ranks.csv)" "$(cat epoch_ranks.csv)"
    # db's onset row, 1060 s after the base, as written in the file
    expect_match iso_ranks.csv '^i1,1,db,1,0\.[0-9]{4},2026-12-07T10:17:40Z,db>api>web$'
    expect_match epoch_ranks.csv '^i1,1,db,1,0\.[0-9]{4},1796638660,db>api>web$'
    # api's onset in i2, 5060 s after the base, in its +01:00 form
    expect_match iso_ranks.csv '^i2,1,api,1,0\.[0-9]{4},2026-12-07T12:24:20\+01:00,api>web$'
}

# Empty KPI cells are missing values, as in every other CSV: the incident
# is still ranked and the node with the gaps still diagnosed.
t_rca_empty_kpi_cells() {
    rca_fixture
    # db's rows in i1 lose three of their ten KPIs (feature1, 4 and 7)
    awk -F, 'BEGIN { OFS = "," } $1 == "i1" && $2 == "db" { $5 = ""; $8 = ""; $11 = "" } { print }' \
        inc.csv >gaps.csv
    [ "$(grep -c '^i1,db,[0-9]*,[^,]*,,[^,]*,[^,]*,,[^,]*,[^,]*,,' gaps.csv)" -eq 4 ] ||
        fail "the fixture lost no cells: $(grep '^i1,db' gaps.csv)"
    run healer rca --model "$FIX/model.model" --topology t.json --data gaps.csv \
        --out ranks.csv --normal 0 --json
    expect_rc 0 "rca with empty KPI cells"
    [ "$(data_rows ranks.csv)" -eq 5 ] || fail "expected 5 ranks: $(cat ranks.csv)"
    expect_match ranks.csv '^i1,1,db,1,0\.[0-9]{4},1060,db>api>web$'
    json_check out '[n for n in d["incidents"][0]["nodes"] if n["node"] == "db"][0]["abnormal"] is True'
    json_check out '[n for n in d["incidents"][0]["nodes"] if n["node"] == "db"][0]["fault"] == "1"'
    json_check out '[n for n in d["incidents"][0]["nodes"] if n["node"] == "db"][0]["confidence"] > 0.5'
}

# `make demo-rca` (mk/demo.sh rca): simulate -> train -> rca -> rca-eval,
# on a small system in this test's directory.
t_rca_demo_tour() {
    run env HEALER="$H" DEMO_DIR="$(pwd)/demo" DEMO_RCA_NODES=30 DEMO_RCA_INCIDENTS=40 \
        $TO sh "$ROOT/mk/demo.sh" rca
    expect_rc 0 "mk/demo.sh rca"
    expect_match out '^\$ .*/healer rca-eval --ranks .*/demo/rca/ranks.csv --truth ' "the tour's last step"
    [ "$(head -n 1 demo/rca/ranks.csv)" = "incident_id,rank,node,fault,score,onset,path" ] ||
        fail "ranks header: $(head -n 1 demo/rca/ranks.csv)"
    # every incident of the truth has a rank 1
    [ "$(data_rows demo/rca/truth.csv)" -eq 40 ] || fail "expected 40 incidents in the truth"
    [ "$(grep -c '^[^,]*,1,' demo/rca/ranks.csv)" -eq 40 ] ||
        fail "expected a rank 1 for each of the 40 incidents"
    expect_in out "incidents: 40 (0 without ranks)"
    top1=$(sed -n 's/^top-1: \([0-9.]*\) .*/\1/p' out)
    [ -n "$top1" ] || fail "no top-1 in the evaluation"
    # simulated incidents, the default classifier: well above the baselines'
    # 0.6-0.8 (docs/benchmarks.md)
    awk -v t="$top1" 'BEGIN { exit !(t >= 0.8) }' || fail "top-1 $top1 is below 0.8"
}

t_rca_eval() {
    rca_fixture
    run healer rca --model "$FIX/model.model" --topology t.json --data inc.csv \
        --out ranks.csv --normal 0
    expect_rc 0 "rca"
    run healer rca-eval --ranks ranks.csv --truth truth.csv
    expect_rc 0 "rca-eval"
    expect_in out "incidents: 2 (0 without ranks)"
    expect_in out "top-1: 1.0000  top-3: 1.0000  top-5: 1.0000"
    expect_in out "root fault right: 1.0000 of the 2 incidents whose rank-1 node is a root"
    expect_in out "mean rank: 1.000"
    printf 'incident_id,root_node,root_fault\ni1,web,1\ni2,api,2\ni3,db,1\n' >truth2.csv
    run healer rca-eval --ranks ranks.csv --truth truth2.csv --json
    expect_rc 0 "rca-eval --json"
    json_check out 'list(d) == ["incidents", "unranked", "top1", "top3", "top5", "node_right", "fault_accuracy", "mean_rank"]'
    json_check out 'd["incidents"] == 3 and d["unranked"] == 1 and abs(d["top1"] - 1/3) < 1e-9 and abs(d["top3"] - 2/3) < 1e-9 and d["node_right"] == 1 and d["fault_accuracy"] == 0'
    json_check out 'abs(d["mean_rank"] - (3 + 1 + 4) / 3) < 1e-9'
    printf 'incident_id,root_node,root_fault\ni9,db,1\n' >truth3.csv
    run healer rca-eval --ranks ranks.csv --truth truth3.csv --json
    expect_rc 0 "rca-eval, nothing ranked"
    json_check out 'd["fault_accuracy"] is None and d["unranked"] == 1 and d["top1"] == 0'
}

t_rca_errors() {
    rca_fixture
    M="$FIX/model.model"
    run healer rca --topology t.json --data inc.csv --out r.csv
    expect_usage_error "--model, --topology, --data and --out are required" "rca without --model"
    for bad in 0 101 x; do
        run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv --top $bad
        expect_usage_error "--top expects a whole number in 1..100, got '$bad'" "rca --top $bad"
    done
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv --hop-delay 0
    expect_usage_error "--hop-delay" "rca --hop-delay 0"
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv --skew -1
    expect_usage_error "--skew" "rca --skew -1"
    # the ranges are the engine's (healer/rca.h, healer/topology.h)
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv --skew 86401
    expect_usage_error "--skew" "rca --skew 86401"
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv --hop-delay 86401
    expect_usage_error "--hop-delay" "rca --hop-delay 86401"
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv --max-nodes 1000001
    expect_usage_error "--max-nodes" "rca --max-nodes 1000001"
    run healer rca --help
    expect_in out "0..86400 (90)" "--skew's range in the help"
    expect_in out "1..1000000 (10000)" "--max-nodes's range in the help"
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv extra
    expect_usage_error "unexpected argument 'extra'" "rca with a stray argument"
    # the model's classes are 0..5: none is called normal
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv
    expect_rc 1 "rca without the normal class"
    expect_in err "no class 'normal' (its classes: 0, 1, 2, 3, 4, 5): pass --normal LABEL"
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv --normal ok
    expect_rc 1 "rca --normal of no class"
    expect_in err "no class 'ok'"
    run healer rca --model nope.model --topology t.json --data inc.csv --out r.csv --normal 0
    expect_rc 1 "rca with a missing model"
    expect_in err "nope.model"
    run healer rca --model "$M" --topology nope.json --data inc.csv --out r.csv --normal 0
    expect_rc 1 "rca with a missing topology"
    expect_in err "nope.json"
    run healer rca --model "$M" --topology t.json --data nope.csv --out r.csv --normal 0
    expect_rc 1 "rca with missing incidents"
    expect_in err "nope.csv"
    # a node the topology lacks: its line and value
    { cat inc.csv; echo "i3,cache,1,1,2,3,4,5,6,7,8,9,10"; } >unknown.csv
    run healer rca --model "$M" --topology t.json --data unknown.csv --out r.csv --normal 0
    expect_rc 1 "rca with an unknown node"
    expect_in err "unknown.csv:26: column 'node'"
    expect_in err 'node not in the topology: "cache"'
    # a KPI of the model missing
    cut -d, -f1-5,7- inc.csv >nokpi.csv
    run healer rca --model "$M" --topology t.json --data nokpi.csv --out r.csv --normal 0
    expect_rc 1 "rca without a KPI"
    expect_in err "feature 'feature2' used by the model is missing"
    # a bad timestamp
    sed '3s/^i1,db,1060,/i1,db,yesterday,/' inc.csv >badtime.csv
    run healer rca --model "$M" --topology t.json --data badtime.csv --out r.csv --normal 0
    expect_rc 1 "rca with a bad timestamp"
    expect_in err "badtime.csv:3: column 'timestamp'"
    expect_in err '"yesterday"'
    # an incident id with a terminal escape: refused, and not echoed raw
    { cat inc.csv; printf 'i\033[31m,db,1,1,2,3,4,5,6,7,8,9,10\n'; } >escape.csv
    run healer rca --model "$M" --topology t.json --data escape.csv --out r.csv --normal 0
    expect_rc 1 "rca with a control character in an incident id"
    expect_in err "escape.csv:26: column 'incident_id'"
    expect_in err 'incident id holds a control character: "i?[31m"'
    if grep -q "$(printf '\033')" err; then fail "the escape reached the terminal"; fi
    # more nodes than allowed
    run healer rca --model "$M" --topology t.json --data inc.csv --out r.csv --normal 0 --max-nodes 2
    expect_rc 1 "rca over --max-nodes"
    expect_in err "healer rca: error: t.json: nodes[2]: too many nodes: more than 2, the limit (raise it with --max-nodes)" \
        "rca over --max-nodes"
    expect_absent r.csv
}

t_rca_eval_errors() {
    run healer rca-eval --ranks r.csv
    expect_usage_error "--ranks and --truth are required" "rca-eval without --truth"
    printf 'incident_id,root_node,root_fault\ni1,db,1\n' >truth.csv
    printf 'incident_id,rank,node,fault,score,onset,path\ni1,one,db,1,0.5,1,db\n' >bad.csv
    run healer rca-eval --ranks bad.csv --truth truth.csv
    expect_rc 1 "rca-eval with a bad rank"
    expect_in err "bad.csv:2: column 'rank'"
    expect_in err 'rank must be a whole number from 1, got "one"'
    for bad in 0 -1 1.5; do
        printf 'incident_id,rank,node,fault,score,onset,path\ni1,%s,db,1,0.5,1,db\n' "$bad" >bad.csv
        run healer rca-eval --ranks bad.csv --truth truth.csv
        expect_rc 1 "rca-eval with rank $bad"
        expect_in err "rank must be a whole number from 1, got \"$bad\""
    done
    printf 'incident_id,node\ni1,db\n' >wrong.csv
    run healer rca-eval --ranks wrong.csv --truth truth.csv
    expect_rc 1 "rca-eval with a wrong header"
    expect_in err "missing column 'rank'"
    run healer rca-eval --ranks nope.csv --truth truth.csv
    expect_rc 1 "rca-eval with a missing file"
    expect_in err "nope.csv"
    printf 'incident_id,root_node,root_fault\n' >empty.csv
    run healer rca-eval --ranks bad.csv --truth empty.csv
    expect_rc 1 "rca-eval with an empty truth"
    expect_in err "the truth has no incident"
}

TESTS="help_top serve_settings_documented version help_subcommands no_command unknown_command
usage_missing_required usage_unknown_option usage_bad_numbers usage_negative_seed
usage_bad_choices usage_stray_argument train_flags_walk_the_tables train_meaningless_values
train_learner_flags train_forests train_mlp train_stack train_screening train_families train_auto
predict_adapt predict_explain predict_explain_forest predict_explain_extratrees_and_stack train_normal_class explain_sample feedback_loop
train_class_names train_class_names_refused
train_retries_with_the_fallback_learner train_retries_a_diverged_mlp
train_every_attempt_degenerate train_refuses_a_real_degenerate_model
train_no_retry train_user_errors_not_retried train_fault_spec_errors
train_bad_cell train_bad_cell_line_numbers train_missing_file
train_single_class train_no_label_column train_empty_files
train_model_unwritable
predict_garbage_model predict_truncated_model predict_corrupted_model
predict_missing_model_file predict_missing_feature
simulate_deterministic simulate_shape simulate_string_labels simulate_shift_out
simulate_topology_shapes simulate_topology_refused simulate_incidents
simulate_incidents_deterministic simulate_incidents_options simulate_incidents_refused
train_text_summary inspect_text inspect_v1_file inspect_json train_json train_cv
predict_output_format predict_row_numbers_without_id predict_metrics_labelled
predict_unlabelled_metrics_null predict_training_overlap predict_columns_by_name predict_unknown_labels
predict_quoted_ids predict_string_labels
eval_held_out eval_same_metrics_as_predict eval_no_label_column
eval_no_labelled_rows predict_no_labelled_rows
predict_out_missing_dir predict_out_is_directory
predict_failure_keeps_old_output stdout_write_errors
determinism_threads user_add user_add_rejects user_email user_unlock user_store worker_flags
serve_public_url_refused
cert_writes_a_pair cert_refuses_overwrite cert_usage_errors key_new rekey_refusals rekey_resumes profile
drift_json_format drift_finds_the_shifted_kpis drift_text drift_errors
predict_reports_drift drift_rules_documented
rca_ranks rca_iso_timestamps rca_empty_kpi_cells rca_demo_tour rca_eval rca_errors
rca_eval_errors routes audit"

# Names on the command line run just those tests (without the t_ prefix).
if [ $# -gt 0 ]; then
    for name in "$@"; do
        command -v "t_$name" >/dev/null 2>&1 || { echo "no test named $name"; exit 2; }
    done
    TESTS="$*"
fi

passed=0
failed=0
failed_names=""

summary() {
    printf '[==========] %d test(s) run.\n' $((passed + failed))
    printf '[  PASSED  ] %d test(s).\n' "$passed"
    if [ "$failed" -gt 0 ]; then
        printf '[  FAILED  ] %d test(s), listed below:\n' "$failed"
        for n in $failed_names; do printf '[  FAILED  ] %s\n' "$n"; done
        printf '\n %d FAILED TEST(S)\n' "$failed"
    fi
}

if [ ! -x "$H" ]; then
    echo "healer binary not found at $H: run 'make' first"
    failed=1
    failed_names=build
    summary
    exit 1
fi
if ! make_fixtures; then
    echo "could not simulate and train the shared fixtures in $FIX"
    failed=1
    failed_names=fixtures
    summary
    exit 1
fi

printf '[==========] Running %d test(s).\n' "$(echo "$TESTS" | wc -w)"
for name in $TESTS; do
    printf '[ RUN      ] %s\n' "$name"
    mkdir "$TMP/t_$name"
    if (cd "$TMP/t_$name" && "t_$name") 2>&1; then
        printf '[       OK ] %s\n' "$name"
        passed=$((passed + 1))
    else
        printf '[  FAILED  ] %s\n' "$name"
        failed=$((failed + 1))
        failed_names="$failed_names $name"
    fi
done
summary
[ "$failed" -eq 0 ]
