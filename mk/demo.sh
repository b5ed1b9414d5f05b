#!/bin/sh
# demo.sh - what `make run` does until the web platform exists: a guided
# tour of the `healer` command on simulated data, in well under a minute.
#
# It walks the path a new user takes: make data (simulate), train with
# cross-validation, evaluate on data from after a distribution shift,
# diagnose unlabelled samples, look inside the model, then shows the CLI
# usage and how to start on one's own CSV. Every command is echoed before it
# runs so the user can copy it. Files go to var/demo/ (git-ignored) and are
# overwritten on each run; nothing else is touched.
#
# The second part (`mk/demo.sh rca` runs it alone: `make demo-rca`) is
# root-cause analysis: simulate a microservice system and its incidents,
# train the node classifier, rank the root causes of every incident and
# score them against the simulator's truth (files in var/demo/rca/).
#
# The environment can point it elsewhere, which is how tests/cli runs the
# rca tour on a small system in a temporary directory: HEALER (the binary,
# build/healer), DEMO_DIR (var/demo), DEMO_RCA_NODES (60) and
# DEMO_RCA_INCIDENTS (100).
#
# POSIX sh with `set -e`: any failing step stops the demo with its exit code,
# so `make run` fails loudly instead of printing a half-finished tour.
# It deliberately does not install or build anything: `make run` does that
# (deps, then `make all`) before calling it.
set -e
cd "$(dirname "$0")/.."

HEALER=${HEALER:-build/healer}
DEMO=${DEMO_DIR:-var/demo}
RCA_NODES=${DEMO_RCA_NODES:-60}
RCA_INCIDENTS=${DEMO_RCA_INCIDENTS:-100}

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

# ---- part 1: diagnosing samples ----

diagnosis_tour() {
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
}

# ---- part 2: root-cause analysis over a topology ----

rca_tour() {
RCA=$DEMO/rca
mkdir -p "$RCA"

echo "SystemHealer root-cause analysis demo: which node started an incident,"
echo "with which fault, and how it spread. Every file below is written to $RCA/."

step "RCA 1. Simulate a microservice system of $RCA_NODES nodes (gateways, frontends," \
    "services, databases, caches, queues)"
run "$HEALER" simulate --topology-shape microservices --nodes "$RCA_NODES" \
    --out "$RCA/topology.json" --seed 7

step "RCA 2. Simulate $RCA_INCIDENTS incidents on it (their roots go to truth.csv), and a" \
    "labelled training file of the same system for the node classifier"
run "$HEALER" simulate --topology "$RCA/topology.json" --incidents "$RCA_INCIDENTS" \
    --out "$RCA/incidents.csv" --truth "$RCA/truth.csv" \
    --train-out "$RCA/train.csv" --seed 7
printf 'first lines of %s (incident, node, timestamp, KPIs):\n' "$RCA/incidents.csv"
head -n 3 "$RCA/incidents.csv" | cut -c 1-100

step "RCA 3. Train the node classifier (normal operation and each fault class)"
run "$HEALER" train --data "$RCA/train.csv" --model "$RCA/node.model" --seed 7

step "RCA 4. Rank the root causes of every incident"
run "$HEALER" rca --model "$RCA/node.model" --topology "$RCA/topology.json" \
    --data "$RCA/incidents.csv" --out "$RCA/ranks.csv"
printf 'first lines of %s:\n' "$RCA/ranks.csv"
head -n 6 "$RCA/ranks.csv"

step "RCA 5. Score the ranks against the simulator's truth"
run "$HEALER" rca-eval --ranks "$RCA/ranks.csv" --truth "$RCA/truth.csv"

cat <<EOF

Next steps: on your own system, describe the topology as JSON
  {"nodes": [{"id": "db-1", "kind": "database"}, ...],
   "edges": [{"from": "api-1", "to": "db-1"}, ...]}
(or a CSV edge list 'from,to'), export incident samples as
  incident_id,node,timestamp,<the model's KPI columns>
and run
  $HEALER rca --model my.model --topology topology.json --data incidents.csv --out ranks.csv
(--json for the propagation trees and each node's abnormal KPIs).
Demo files are in $RCA/.
EOF
}

case "${1:-all}" in
diagnosis) diagnosis_tour ;;
rca) rca_tour ;;
all)
    diagnosis_tour
    rca_tour
    ;;
*)
    echo "usage: sh mk/demo.sh [all|diagnosis|rca]" >&2
    exit 2
    ;;
esac
