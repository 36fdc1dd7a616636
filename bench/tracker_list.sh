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
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi
pgdir="$work/pg"
mkdir -p "$pgdir"
[ "$(id -u)" -eq 0 ] && chown postgres "$pgdir"
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust --no-locale --no-sync > /dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1" start > /dev/null
trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop > /dev/null' EXIT
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
"$bin" --data-dir "$work/pgdata" --db "postgres://postgres@127.0.0.1:$port/bench" "${flags[@]}"
