#!/bin/sh
# tests/pg/cluster.sh - a throwaway PostgreSQL cluster for the tests.
#
#   cluster.sh start DIR   starts (creating it on first use) a cluster whose
#                          files are all under DIR, listening on 127.0.0.1
#                          on a free private port, and prints its URL
#                          (postgresql://healer@127.0.0.1:PORT/postgres).
#                          Starting again after a stop reuses the data and
#                          the port, so a test can stop and restart "the
#                          database" and keep its URL.
#   cluster.sh stop DIR    stops it (immediate mode: the tests only need
#                          it gone); stops a half-started one too; a no-op
#                          when nothing runs.
#   cluster.sh url DIR     prints the URL of a cluster made by start.
#
# Why this way: the tests assume no system service. We run as root and
# initdb refuses root, so the cluster belongs to `nobody` (DIR is chowned
# to it); authentication is `trust` on loopback and the Unix socket lives in
# DIR, so nothing outside the test can reach it by accident. fsync, full
# page writes and synchronous commit are off and shared_buffers small:
# durability is not what these tests measure, speed is.
# Binaries: the newest /usr/lib/postgresql/*/bin (Debian's postgresql).
set -eu

usage() {
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "cluster.sh: no PostgreSQL server found under /usr/lib/postgresql (Debian package postgresql)" >&2
    exit 1
fi

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

url_of() {
    echo "postgresql://healer@127.0.0.1:$(cat "$dir/port")/postgres"
}

# A port nothing listens on now (the kernel's choice, then released).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running() {
    [ -f "$dir/data/postmaster.pid" ] &&
        kill -0 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null
}

start() {
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown nobody "$dir"
    if running; then
        url_of
        return 0
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        rm -rf "$dir/data"
        as_owner "$bindir/initdb" -D "$dir/data" -U healer -A trust -E UTF8 \
            --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            echo "cluster.sh: initdb failed in $dir" >&2
            exit 1
        }
    fi
    tries=0
    while :; do
        [ -f "$dir/port" ] || free_port >"$dir/port"
        port=$(cat "$dir/port")
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c shared_buffers=16MB -c max_connections=200" \
            start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 3 ]; then
            tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
            echo "cluster.sh: the PostgreSQL server did not start in $dir" >&2
            stop
            exit 1
        fi
        rm -f "$dir/port" # taken meanwhile: another one
    done
    url_of
}

stop() {
    [ -d "$dir/data" ] || return 0
    if running; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            kill -9 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null || true
    fi
    # a server killed or never fully up leaves its pid file behind
    if [ -f "$dir/data/postmaster.pid" ] && ! running; then
        rm -f "$dir/data/postmaster.pid"
    fi
    return 0
}

case $cmd in
start) start ;;
stop) stop ;;
url) [ -f "$dir/port" ] || exit 1; url_of ;;
*) usage ;;
esac
