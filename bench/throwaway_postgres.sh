# Sourced by the benchmark scripts: start_throwaway_postgres DIR starts a
# PostgreSQL server of its own in DIR (initdb, a free loopback port, trust
# auth for user postgres), stops it when the script exits, and sets PG_PORT,
# PG_BIN and PG_URL_PREFIX ("postgres://postgres@127.0.0.1:PORT/"; add a
# database that `"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres NAME`
# has made). Run as root, the server runs as user postgres.
start_throwaway_postgres() {
  local dir=$1
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  _pg_as=()
  if [ "$(id -u)" -eq 0 ]; then _pg_as=(runuser -u postgres --); fi
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
  "${_pg_as[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale --no-sync > /dev/null
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${_pg_as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1" start > /dev/null
  _pg_dir=$dir
  trap '"${_pg_as[@]}" "$PG_BIN/pg_ctl" -D "$_pg_dir/data" -m fast -w stop > /dev/null' EXIT
  PG_URL_PREFIX="postgres://postgres@127.0.0.1:$PG_PORT/"
}
