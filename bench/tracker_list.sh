#!/usr/bin/env bash
# A page of runs (GET /v1/runs, `lathe runs list`): Tracker::ListRunSummaries
# against the per-run GetRunDetails read, on SQLite and on a throwaway
# PostgreSQL over loopback (docs/benchmarks.md).
# Usage: bench/tracker_list.sh [BUILD_DIR] [WORK_DIR]   (extra flags: TRACKER_LIST_FLAGS)
set -euo pipefail
build=${1:-build}
work=${2:-$(mktemp -d /tmp/lathe-tracker-list-XXXXXX)}
bin="$(realpath "$build")/bench/tracker_list"
flags=(${TRACKER_LIST_FLAGS:-})
mkdir -p "$work"
chmod 755 "$work"

echo "== SQLite"
"$bin" --data-dir "$work/sqlite" "${flags[@]}"

echo "== PostgreSQL, throwaway server on loopback"
. "$(dirname "$0")/throwaway_postgres.sh"
start_throwaway_postgres "$work/pg"
pgbin=$PG_BIN
port=$PG_PORT
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
"$bin" --data-dir "$work/pgdata" --db "postgres://postgres@127.0.0.1:$port/bench" "${flags[@]}"
