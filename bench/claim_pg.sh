#!/bin/sh
# bench/claim_pg.sh - build/bench/claim_pg on a throwaway PostgreSQL
# cluster and, for comparison, on a SQLite file: one fresh store per run
# and thread count, so every run starts from an empty queue.
#
#   sh bench/claim_pg.sh [JOBS [THREADS...]]   (default 2000, "1 2 8")
#
# Prints claim_pg's JSON lines, each preceded by the backend's name. The
# cluster (tests/pg/cluster.sh: as `nobody`, on a private port of
# 127.0.0.1) and the SQLite files live in a temporary directory, removed
# at exit. docs/benchmarks.md, "Job claims on PostgreSQL", has the figures.
set -eu

jobs=${1:-2000}
[ $# -gt 0 ] && shift
threads=${*:-1 2 8}
bin=build/bench/claim_pg
[ -x "$bin" ] || { echo "claim_pg.sh: build $bin first (make $bin)" >&2; exit 1; }

dir=$(mktemp -d /tmp/healer-claim-XXXXXX)
chmod 755 "$dir"
cleanup() {
    sh tests/pg/cluster.sh stop "$dir/pg" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for t in $threads; do
    sh tests/pg/cluster.sh stop "$dir/pg" >/dev/null 2>&1 || true
    rm -rf "$dir/pg"
    url=$(sh tests/pg/cluster.sh start "$dir/pg" 2>/dev/null | tail -n 1)
    "$bin" "$url" "$t" "$jobs" | sed 's/^/postgresql /'
    "$bin" "sqlite:$dir/claims-$t.db" "$t" "$jobs" | sed 's/^/sqlite /'
done
