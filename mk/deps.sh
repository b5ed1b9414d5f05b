#!/bin/sh
# Installs what the build, the tests and the benchmarks need, only what is
# missing, so running it again is cheap (idempotent): Debian packages with
# apt-get, then the web UI's npm packages at the exact versions of
# web/package-lock.json (npm ci, re-run only when the lock file changes).
set -e
cd "$(dirname "$0")/.."
PKGS="build-essential pkg-config python3 libcmocka-dev libjansson-dev libsqlite3-dev libsodium-dev libmicrohttpd-dev libgnutls28-dev openssl libopenblas-dev libcurl4-gnutls-dev chromium"
# nginx: tests/api/test_tls.py runs docs/deploy.md's server block in a
# temporary directory (the package's own service is not wanted: see
# RUNLEVEL below).
PKGS="$PKGS nginx"
# PostgreSQL: libpq for the store and blob backends; the server for the
# tests, which start their own cluster (initdb, pg_ctl) in a temporary
# directory - the package's own cluster and service are not used.
PKGS="$PKGS libpq-dev postgresql"
# The fuzz targets (tests/fuzz): clang and its libFuzzer and sanitizer
# runtimes (libclang-rt-14-dev holds libclang_rt.fuzzer).
PKGS="$PKGS clang libclang-rt-14-dev"
# Node.js and npm install the web UI's pinned packages; a machine that
# already has them (any source) keeps its own.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
# Benchmark peers are optional for `make test`; `make bench` installs them.
[ "${HEALER_BENCH_DEPS:-0}" = 1 ] && PKGS="$PKGS python3-xgboost python3-sklearn python3-torch python3-psutil time wrk"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # Packages that ship a service (nginx) must not start it: the tests
    # start what they need on their own ports.
    export RUNLEVEL=1
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

stamp=web/node_modules/.package-lock.json
# A symlinked node_modules is another checkout's (a git worktree sharing
# it): installing here would rewrite that checkout's packages.
if [ -L web/node_modules ]; then
    :
elif [ ! -f "$stamp" ] || [ web/package-lock.json -nt "$stamp" ]; then
    echo "deps: npm ci (web/package-lock.json)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
