#!/bin/sh
# demo.sh - what `make run` does until the web platform exists: a guided
# tour of the `healer` command on simulated data, in about ten seconds.
#
# It walks the path a new user takes: make data (simulate), train with
# cross-validation, evaluate on data from after a distribution shift,
# diagnose unlabelled samples, look inside the model, then shows the CLI
# usage and how to start on one's own CSV. Every command is echoed before it
# runs so the user can copy it. Files go to var/demo/ (git-ignored) and are
# overwritten on each run; nothing else is touched.
#
# POSIX sh with `set -e`: any failing step stops the demo with its exit code,
# so `make run` fails loudly instead of printing a half-finished tour.
# It deliberately does not install or build anything: `make run` does that
# (deps, then `make all`) before calling it.
set -e
cd "$(dirname "$0")/.."

HEALER=build/healer
DEMO=var/demo

if [ ! -x "$HEALER" ]; then
    echo "demo: $HEALER not found; build it first with 'make' (or use 'make run')" >&2
    exit 1
fi

step() {
    printf '\n==> %s\n' "$*"
}

# Echoes a command, then runs it (set -e stops the demo if it fails).
run() {
    printf '$ %s\n' "$*"
    "$@"
}

mkdir -p "$DEMO"

echo "SystemHealer demo: diagnosing faults of a simulated distributed system."
echo "Every file below is written to $DEMO/."

step "1. Simulate 2000 labelled KPI samples (32 KPIs, 6 classes) and 1000 more" \
    "from the same system after a distribution shift"
run "$HEALER" simulate --out "$DEMO/train.csv" --shift-out "$DEMO/shifted.csv" \
    --samples 2000 --shift-samples 1000 --features 32 --classes 6 \
    --string-labels --seed 42
printf 'first lines of %s (sample_id, KPIs, label):\n' "$DEMO/train.csv"
head -n 3 "$DEMO/train.csv" | cut -c 1-100

step "2. Train a model, with 5-fold cross-validation to estimate its accuracy"
run "$HEALER" train --data "$DEMO/train.csv" --model "$DEMO/demo.model" --cv 5 --seed 42

step "3. Evaluate the model on the shifted data (labelled, never seen in training)"
run "$HEALER" eval --model "$DEMO/demo.model" --data "$DEMO/shifted.csv"

step "4. Diagnose new samples: the shifted data without its label column"
# Simulated files have no quoted fields and the label is the last column.
sed 's/,[^,]*$//' "$DEMO/shifted.csv" >"$DEMO/incoming.csv"
run "$HEALER" predict --model "$DEMO/demo.model" --data "$DEMO/incoming.csv" \
    --out "$DEMO/predictions.csv"
printf 'first lines of %s:\n' "$DEMO/predictions.csv"
head -n 6 "$DEMO/predictions.csv"

step "5. Inspect the model file"
run "$HEALER" inspect "$DEMO/demo.model"

step "6. The command-line interface"
run "$HEALER" --help

cat <<EOF

Next steps: train on your own data with
  $HEALER train --data YOUR.csv --model my.model --cv 5
(a header row, a 'label' column, numeric KPI columns, optionally sample_id), then
  $HEALER predict --model my.model --data NEW.csv --out diagnosis.csv
Demo files are in $DEMO/.
EOF
