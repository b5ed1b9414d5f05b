#!/bin/sh
# bench/blob_pg.sh - blobs in PostgreSQL: chunked rows (the blob store's
# way, blob/blob_pg.c) against large objects, write and read MB/s of one
# blob (100 MB by default), on a throwaway cluster (tests/pg/cluster.sh)
# that is stopped and removed afterwards. Prints build/bench/blob_pg's
# JSON line; docs/benchmarks.md ("Blobs in PostgreSQL") has the figures.
#
# Usage: sh bench/blob_pg.sh [MB]
set -eu
mb=${1:-100}
make -s build/bench/blob_pg
dir=$(mktemp -d /tmp/healer-bench-pg-XXXXXX)
trap 'sh tests/pg/cluster.sh stop "$dir"; rm -rf "$dir"' EXIT
url=$(sh tests/pg/cluster.sh start "$dir")
build/bench/blob_pg "$url" "$mb"
