#!/bin/sh
# Installs what the build, the tests and the benchmarks need, only what is
# missing, so running it again is cheap (idempotent): Debian packages with
# apt-get, then the web UI's npm packages at the exact versions of
# web/package-lock.json (npm ci, re-run only when the lock file changes).
set -e
cd "$(dirname "$0")/.."
# What building build/healer and web/dist needs, and no more: deploy/Dockerfile's
# build stage installs only these (HEALER_DEPS=build, below). libpq-dev is
# added with the PostgreSQL packages.
BUILD_PKGS="build-essential pkg-config libjansson-dev libsqlite3-dev libsodium-dev libmicrohttpd-dev libgnutls28-dev libopenblas-dev libcurl4-gnutls-dev"
PKGS="$BUILD_PKGS python3 libcmocka-dev openssl chromium"
# PyYAML: tests/deploy/test_deploy.py parses the compose file and the
# Kubernetes manifests of deploy/.
PKGS="$PKGS python3-yaml"
# logrotate: the same test runs `logrotate -d` on deploy/systemd/healer.logrotate.
PKGS="$PKGS logrotate"
# nginx: tests/api/test_tls.py runs deploy/nginx's configuration in a
# temporary directory (the package's own service is not wanted: see
# RUNLEVEL below).
PKGS="$PKGS nginx"
# PostgreSQL: libpq for the store and blob backends; the server for the
# tests, which start their own cluster (initdb, pg_ctl) in a temporary
# directory - the package's own cluster and service are not used.
PKGS="$PKGS libpq-dev postgresql"
BUILD_PKGS="$BUILD_PKGS libpq-dev"
# The fuzz targets (tests/fuzz): clang and its libFuzzer and sanitizer
# runtimes (libclang-rt-14-dev holds libclang_rt.fuzzer).
PKGS="$PKGS clang libclang-rt-14-dev"
# Node.js and npm install the web UI's pinned packages; a machine that
# already has them (any source) keeps its own.
NODE_PKGS=""
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || NODE_PKGS="nodejs npm"
PKGS="$PKGS $NODE_PKGS"
# HEALER_DEPS=build (deploy/Dockerfile): the build's packages only, and
# Node.js for the web UI's vendor files.
[ "${HEALER_DEPS:-all}" = build ] && PKGS="$BUILD_PKGS $NODE_PKGS"
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
