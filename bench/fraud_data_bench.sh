#!/usr/bin/env bash
# Fraud data benchmarks (docs/benchmarks.md): generator rows/s into SQLite and
# into PostgreSQL (COPY), and validation throughput over ~10M rows.
# Usage: bench/fraud_data_bench.sh [BUILD_DIR] [WORK_DIR]
#   GEN_CUSTOMERS / GEN_DAYS size the generator runs (default 20000 x 30, ~1.3M rows)
#   VAL_CUSTOMERS / VAL_DAYS size the validation data (default 160000 x 30, ~10M rows)
set -euo pipefail
build=${1:-build}
work=${2:-$(mktemp -d /tmp/lathe-fraud-bench-XXXXXX)}
lathe="$(realpath "$build")/lathe"
src="$(cd "$(dirname "$0")/.." && pwd)"
gen_customers=${GEN_CUSTOMERS:-20000}
gen_days=${GEN_DAYS:-30}
val_customers=${VAL_CUSTOMERS:-160000}
val_days=${VAL_DAYS:-30}
mkdir -p "$work"
chmod 755 "$work"

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

echo "== generator -> SQLite ($gen_customers customers x $gen_days days)"
"$lathe" --data-dir "$work/sqlite" data generate --days "$gen_days" --customers "$gen_customers" \
  --terminals $((gen_customers * 2)) --seed 1 --start 2026-01-01 --json > "$work/gen_sqlite.json"
sqlite_rate=$(field "$work/gen_sqlite.json" "['rows_per_second']")
echo "rows $(field "$work/gen_sqlite.json" "['rows']")  seconds $(field "$work/gen_sqlite.json" "['seconds']")" \
  " generate-only seconds $(field "$work/gen_sqlite.json" "['generate_seconds']")  rows/s $sqlite_rate"

echo "== generator -> PostgreSQL (COPY), throwaway server"
. "$src/bench/throwaway_postgres.sh"
start_throwaway_postgres "$work/pg"
pgbin=$PG_BIN
port=$PG_PORT
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
"$lathe" --data-dir "$work/pgdata" data generate --days "$gen_days" --customers "$gen_customers" \
  --terminals $((gen_customers * 2)) --seed 1 --start 2026-01-01 --json \
  --db "postgres://postgres@127.0.0.1:$port/bench" > "$work/gen_pg.json"
pg_rate=$(field "$work/gen_pg.json" "['rows_per_second']")
echo "rows $(field "$work/gen_pg.json" "['rows']")  seconds $(field "$work/gen_pg.json" "['seconds']")  rows/s $pg_rate"
python3 -c "import sys; s,p=map(float,sys.argv[1:]); print(f'SQLite {s*60/1e6:.1f}M rows/min, PostgreSQL {p*60/1e6:.1f}M rows/min, PostgreSQL/SQLite {p/s:.2f}')" \
  "$sqlite_rate" "$pg_rate"

echo "== validation over ~10M rows ($val_customers customers x $val_days days; last day against the $((val_days - 1)) before)"
"$lathe" --data-dir "$work/val" data generate --days "$val_days" --customers "$val_customers" \
  --terminals $((val_customers * 2)) --seed 2 --start 2026-01-01 --json > "$work/gen_val.json"
last=$(python3 -c "import datetime,sys; print((datetime.date(2026,1,1)+datetime.timedelta(days=int(sys.argv[1])-1)).isoformat())" "$val_days")
for db in sqlite postgres; do
  url=""
  if [ "$db" = postgres ]; then
    "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres val
    url="postgres://postgres@127.0.0.1:$port/val"
    "$lathe" --data-dir "$work/val-pg" data generate --days "$val_days" --customers "$val_customers" \
      --terminals $((val_customers * 2)) --seed 2 --start 2026-01-01 --json --db "$url" > /dev/null
  fi
  start=$(date +%s.%N)
  set +e
  "$lathe" --data-dir "$work/val" validate --suite "$src/suites/transactions.yaml" --date "$last" \
    --reference-days $((val_days - 1)) --json ${url:+--db "$url"} > "$work/val_$db.json"
  set -e
  end=$(date +%s.%N)
  python3 - "$work/val_$db.json" "$start" "$end" "$db" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); wall = float(sys.argv[3]) - float(sys.argv[2])
rows = r["rows"] + r["reference"]["rows"]
print(f"{sys.argv[4]}: {r['rows']} day rows + {r['reference']['rows']} reference rows = {rows} rows; "
      f"validate {r['seconds']:.2f} s ({rows / r['seconds'] / 1e6:.2f}M rows/s), process wall {wall:.2f} s, "
      f"passed={r['passed']}, {len(r['checks'])} checks")
PY
done
echo "work dir: $work"
