#!/bin/sh
# Installs the Debian packages the build, the tests and the benchmarks need,
# only those not yet installed, so running it again is cheap (idempotent).
set -e
PKGS="build-essential pkg-config python3 libcmocka-dev libjansson-dev libsqlite3-dev libsodium-dev libmicrohttpd-dev"
# Benchmark peers are optional for `make test`; `make bench` installs them.
[ "${HEALER_BENCH_DEPS:-0}" = 1 ] && PKGS="$PKGS python3-xgboost python3-sklearn python3-torch python3-psutil time"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
