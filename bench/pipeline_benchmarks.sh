#!/usr/bin/env bash
# The daily pipeline and model serving, for docs/benchmarks.md ("The daily
# pipeline and model serving (issue 6)"):
#  1. pipelines/fraud-daily.yaml for the last of 61 generated days (5,000
#     customers: about 10,000 transactions a day, 60 days of history), on
#     RUNS fresh data directories. Each first runs the day before the last
#     (no champion yet), then the last day: the timed daily case, where
#     evaluate compares the challenger with that champion. (`--force` would
#     not do: train reuses the version the run already registered.) Wall time
#     per task from `pipeline logs RUN --json` (started/ended of each try) and
#     of the whole `pipeline run` command.
#  2. `lathe serve` on that data directory (the pipeline's champion): POST
#     /v1/models/fraud/predict on one keep-alive connection, single
#     transactions (p50/p99) and batches of 1,000 with and without "explain"
#     (rows/s), new transactions made by build/bench/serve_load --predict.
# The deploy task finds nothing on http://127.0.0.1:8080 (the URL in the DAG)
# and logs that the server was not notified; the run still succeeds.
# Everything is loopback; `uptime` is printed beside every figure.
#
#   bash bench/pipeline_benchmarks.sh            # after building lathe and serve_load
#   RUNS=3 SINGLE=10000 BATCHES=10 FAST_BATCHES=30 OUT=/tmp/pbench bash bench/pipeline_benchmarks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=build/lathe
LOAD=build/bench/serve_load
RUNS=${RUNS:-3}
CUSTOMERS=${CUSTOMERS:-5000}
TERMINALS=${TERMINALS:-10000}
SINGLE=${SINGLE:-10000}
BATCHES=${BATCHES:-10}
FAST_BATCHES=${FAST_BATCHES:-30}
MAX_SECONDS=${MAX_SECONDS:-120}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
for f in "$LATHE" "$LOAD"; do [ -x "$f" ] || { echo "build $f first (cmake --build build --target lathe serve_load)" >&2; exit 2; }; done
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
load() { echo "load average: $(uptime | sed 's/.*load average: //')"; }

# task_times RUN_ID DATA_DIR LABEL: one JSON line {label, tasks: {task: s}, span_s}.
task_times() {
  "$LATHE" --data-dir "$2" pipeline logs "$1" --json | /usr/bin/python3 -c '
import json, sys
tries = json.load(sys.stdin)
label = sys.argv[1]
latest = {}
for t in tries:  # the latest try of each task (a --force run adds new ones)
    if t["task_id"] not in latest or t["try_number"] > latest[t["task_id"]]["try_number"]:
        latest[t["task_id"]] = t
order = sorted(latest.values(), key=lambda t: t["started_ms"])
tasks = {t["task_id"]: (t["ended_ms"] - t["started_ms"]) / 1000 for t in order}
span = (max(t["ended_ms"] for t in order) - min(t["started_ms"] for t in order)) / 1000
states = {t["task_id"]: t["state"] for t in order}
print(json.dumps({"label": label, "tasks": tasks, "span_s": span, "states": states,
                  "rows_on_day": (latest.get("extract", {}).get("outputs") or {}).get("rows_on_day"),
                  "evaluate": (latest.get("evaluate", {}).get("outputs") or {}).get("reason"),
                  "deploy": latest.get("deploy", {}).get("outputs")}))
' "$3"
}

echo "== 1. pipeline run fraud-daily on $RUNS fresh data directories: the day before the last, then the last"
: >"$OUT/pipeline.jsonl"
# timed_run D DATE LABEL: runs the DAG for DATE and appends its task times.
timed_run() {
  local start end
  start=$(date +%s.%N)
  "$LATHE" --data-dir "$1" pipeline run fraud-daily --date "$2" >"$OUT/$3.out" 2>&1
  end=$(date +%s.%N)
  task_times "fraud-daily@$2" "$1" "$3" |
    /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); j["command_s"]=float(sys.argv[1]); print(json.dumps(j))' \
      "$(echo "$end - $start" | bc)" | tee -a "$OUT/pipeline.jsonl"
  load
}
for r in $(seq "$RUNS"); do
  D="$OUT/data$r"
  rm -rf "$D"
  load
  "$LATHE" --data-dir "$D" --log-level warn data generate --days 61 --customers "$CUSTOMERS" \
    --terminals "$TERMINALS" --json >"$OUT/generate$r.json"
  read -r PREV LAST < <(/usr/bin/python3 -c 'import json, sys, datetime as d
g = json.load(open(sys.argv[1]))
last = d.date.fromisoformat(g["first_day"]) + d.timedelta(days=g["days"] - 1)
print(last - d.timedelta(days=1), last)' "$OUT/generate$r.json")
  timed_run "$D" "$PREV" "first-$r"   # no champion yet: evaluate promotes without comparing
  timed_run "$D" "$LAST" "daily-$r"   # the steady state: a champion to beat (bootstrap CI)
done
echo "generated: $(/usr/bin/python3 -c 'import json,sys; g=json.load(open(sys.argv[1])); print(g["rows"], "rows,", g["days"], "days from", g["first_day"])' "$OUT/generate1.json")"
/usr/bin/python3 - "$OUT/pipeline.jsonl" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
groups = {"first (no champion)": [r for r in runs if r["label"].startswith("first")],
          "daily (champion to beat)": [r for r in runs if r["label"].startswith("daily")]}
for name, rs in groups.items():
    if not rs:
        continue
    print(f"-- {name} ({len(rs)} runs): seconds, min / median")
    for task in rs[0]["tasks"]:
        v = [r["tasks"][task] for r in rs]
        print(f"  {task:10s} {min(v):7.3f} {statistics.median(v):7.3f}")
    for key in ("span_s", "command_s"):
        v = [r[key] for r in rs]
        print(f"  {key:10s} {min(v):7.3f} {statistics.median(v):7.3f}")
print("deploy outputs:", runs[-1]["deploy"])
EOF

echo "== 2. POST /v1/models/fraud/predict over loopback"
KEY=$("$LATHE" --data-dir "$D" keys create --tenant default --scope admin 2>/dev/null)
fifo="$OUT/serve.fifo"
rm -f "$fifo"
mkfifo "$fifo"
t_start=$(date +%s.%N)
"$LATHE" --data-dir "$D" --log-level warn serve --port 0 >"$fifo" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
exec 3<"$fifo"
PORT=""
while read -r line <&3; do
  case "$line" in
    "lathe: listening on"*) PORT=$(echo "$line" | sed -E 's/.*127\.0\.0\.1:([0-9]+).*/\1/') ;;
    "lathe: ready") break ;;
  esac
done
cat <&3 >/dev/null &
PIDS+=("$!")
exec 3<&-
[ -n "$PORT" ] || { echo "lathe serve did not start" >&2; exit 1; }
for _ in $(seq 600); do
  curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/models/fraud" | grep -q '"version":[0-9]' && break
  sleep 0.1
done
t_loaded=$(date +%s.%N)
curl -sS -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/models/fraud" |
  /usr/bin/python3 -c 'import json,sys; m=json.load(sys.stdin); print("serving", m["name"], "v%s" % m["version"], m["kind"], "threshold", m["threshold"], "state", m["state"])'
echo "start to model serving (state rebuilt from the store): $(echo "$t_loaded - $t_start" | bc) s"

# Transactions from one minute after the store's last day, one a second, new
# ids above every generated one: never duplicate, never out of order, never
# more than a day ahead of the clock (fewer than 86,000 in all).
TS=$(( $(/usr/bin/python3 -c 'import json, sys, datetime as d
g = json.load(open(sys.argv[1]))
day = d.datetime.fromisoformat(g["first_day"]).replace(tzinfo=d.timezone.utc) + d.timedelta(days=g["days"])
print(int(day.timestamp()))' "$OUT/generate$RUNS.json") + 60 ))
ID=8000000000000000
# predict WARMUP REQUESTS [serve_load flags]: advances TS and ID past what it sent.
predict() {
  local warmup=$1 requests=$2
  shift 2
  local batch=1
  case " $* " in *" --batch "*) batch=$(echo " $* " | sed -E 's/.* --batch ([0-9]+) .*/\1/') ;; esac
  load
  "$LOAD" --predict --port "$PORT" --key "$KEY" --customers "$CUSTOMERS" --terminals "$TERMINALS" \
    --start-ts "$TS" --first-id "$ID" --warmup "$warmup" --requests "$requests" --max-seconds "$MAX_SECONDS" "$@"
  TS=$(( TS + (warmup + requests) * batch ))
  ID=$(( ID + (warmup + requests) * batch ))
}
predict 500 "$SINGLE"
predict 1 "$BATCHES" --batch 1000
predict 2 "$FAST_BATCHES" --batch 1000 --no-explain
predict 500 "$SINGLE" --no-explain
load
echo "server peak RSS: $(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SERVER_PID/status") MB"
echo "raw outputs in $OUT"
