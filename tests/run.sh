#!/bin/sh
# Runs every test suite, several at once, and ends with the one line CI
# reads: "N passed, N failed". tests/run.py says what runs and how;
# arguments select suites by name (`sh tests/run.sh test_auth`).
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 2>/dev/null)
if [ -z "$PY" ]; then
    echo "python3 not found (make deps installs it)"
    echo "0 passed, 1 failed"
    exit 1
fi
exec "$PY" tests/run.py "$@"
