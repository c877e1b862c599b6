#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the db test suite.
#
#   source .ci/postgres.sh      # exports GANAUG_TEST_PG_URL=postgresql+psycopg://...
#   bash .ci/postgres.sh stop   # stops the cluster and removes its folder
#
# Installs PostgreSQL from Debian's packages with apt-get when it is missing, starts a cluster on 127.0.0.1 as a
# non-root user (the server refuses to run as root), creates the role and database the tests use and prints the
# URL. Safe to source again: a running cluster is reused. Settings: GANAUG_PG_PORT (54329), GANAUG_PG_DIR.

_ganaug_pg() {
    local port="${GANAUG_PG_PORT:-54329}"
    local dir="${GANAUG_PG_DIR:-/tmp/ganaug-pg-$port}"
    local bin
    # Written to survive the caller's `set -euo pipefail`: every expected failure is tested, never fatal.
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$bin" ]; then
        echo "postgres.sh: installing PostgreSQL from Debian's packages" >&2
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2 || {
            echo "postgres.sh: could not install PostgreSQL" >&2; return 1; }
        bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
        [ -n "$bin" ] || { echo "postgres.sh: no PostgreSQL binaries after installing" >&2; return 1; }
    fi

    # Run the server as an unprivileged account: ourselves, or 'postgres' (created by the package) when root.
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        as=(runuser -u postgres --)
    fi

    if [ "${1:-}" = "stop" ]; then
        if [ -d "$dir" ]; then "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >&2 || true; fi
        rm -rf "$dir"
        return 0
    fi

    if ! "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        rm -rf "$dir"
        mkdir -p "$dir"
        if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
        "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
        "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" start \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" >&2 || {
            cat "$dir/server.log" >&2; return 1; }
        "${as[@]}" "$bin/psql" -h "$dir" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 \
            -c "CREATE ROLE ganaug LOGIN CREATEDB PASSWORD 'ganaug'" \
            -c "CREATE DATABASE ganaug_test OWNER ganaug" >&2 || return 1
    fi
    export GANAUG_TEST_PG_URL="postgresql+psycopg://ganaug:ganaug@127.0.0.1:$port/ganaug_test"
    echo "GANAUG_TEST_PG_URL=$GANAUG_TEST_PG_URL"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _ganaug_pg "$@"
else
    _ganaug_pg "$@" || echo "postgres.sh: PostgreSQL unavailable; its test cases will be skipped" >&2
fi
