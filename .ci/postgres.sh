#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL server on loopback for the test suite and write
# .ci/postgres.env with FLYWHEEL_TEST_POSTGRES_URL. Without a PostgreSQL install the env file
# is empty and the PostgreSQL tests skip, except under CI=true where that is an error.
set -euo pipefail
cd "$(dirname "$0")"
PORT=${FLYWHEEL_TEST_PG_PORT:-54329}
DATA=${FLYWHEEL_TEST_PG_DATA:-/tmp/flywheel-test-pg}
ENV_FILE=postgres.env
: > "$ENV_FILE"
BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$BINDIR" ]; then
    if [ "${CI:-}" = "true" ]; then echo "postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; fi
    echo "postgres.sh: no PostgreSQL found; PostgreSQL tests will be skipped" >&2
    exit 0
fi
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! run "$BINDIR/pg_isready" -h 127.0.0.1 -p "$PORT" -q; then
    if [ ! -f "$DATA/PG_VERSION" ]; then
        mkdir -p "$DATA"
        [ "$(id -u)" = 0 ] && chown postgres "$DATA"
        run "$BINDIR/initdb" -D "$DATA" -A trust -U flywheel >/dev/null
    fi
    run "$BINDIR/pg_ctl" -D "$DATA" -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" -l "$DATA/server.log" -w start >/dev/null
fi
echo "export FLYWHEEL_TEST_POSTGRES_URL=postgresql+psycopg://flywheel@127.0.0.1:$PORT/postgres" > "$ENV_FILE"
echo "postgres.sh: PostgreSQL ready on 127.0.0.1:$PORT" >&2
