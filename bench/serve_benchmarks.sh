#!/usr/bin/env bash
# Server benchmarks for docs/benchmarks.md ("The HTTP service"):
#  1. POST /v1/search on SciFact (5,183 abstracts, training queries in turn)
#     at 1, 16 and 64 keep-alive connections: throughput and p50/p99.
#  2. 5,000 concurrent POST /v1/chat against the LLM stand-in answering after
#     1 s (answer.backend openai): wall time for all of them, the server's
#     peak resident memory (VmHWM) and CPU seconds. Measured with new
#     connections ("cold": every request also opens its TCP connection) and
#     with --preconnect (connections open before the clock starts). First the
#     same burst is sent straight to the stand-in, without Lathe: the floor that
#     the load generator and the stand-in alone cost on this machine.
# The load generator (build/bench/serve_load) runs on one thread beside the
# server on the same machine, so figures include its share of the 2 cores.
#
#   bash bench/serve_benchmarks.sh [SCIFACT_DIR] [--only search|chat]
set -euo pipefail
cd "$(dirname "$0")/.."
SCIFACT=${1:-../shared/data/scifact}
ONLY=${2:-}
[ "$ONLY" = "--only" ] && ONLY=${3:-}
LATHE=${LATHE:-build/lathe}  # LATHE=other/lathe for an A/B of two builds
LOAD=build/bench/serve_load
STANDIN=build/tests/lathe_llm_standin
SEARCH_REQUESTS=${SEARCH_REQUESTS:-20000}
CHATS=${CHATS:-5000}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_server DATA_DIR CONFIG: starts lathe serve, sets PORT and SERVER_PID.
start_server() {
  local fifo="$WORK/serve.out.$RANDOM"
  mkfifo "$fifo"
  "$LATHE" --data-dir "$1" --log-level warn serve --port 0 --config "$2" >"$fifo" &
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
  # keep draining the server's stdout so it never blocks on a full pipe
  cat <&3 >/dev/null &
  PIDS+=("$!")
  exec 3<&-
  [ -n "$PORT" ] || { echo "lathe serve did not start" >&2; exit 1; }
}

peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

if [ "$ONLY" != "chat" ]; then
  echo "== /v1/search on SciFact"
  D="$WORK/scifact"
  "$LATHE" --data-dir "$D" --log-level warn ingest "$SCIFACT/corpus.jsonl" -c scifact >/dev/null
  KEY=$("$LATHE" --data-dir "$D" keys create --scope query)
  /usr/bin/python3 - "$SCIFACT/queries.jsonl" "$SCIFACT/qrels/train.tsv" >"$WORK/search.jsonl" <<'EOF'
import json, sys
train = {l.split("\t")[0] for l in list(open(sys.argv[2]))[1:]}
for line in open(sys.argv[1]):
    q = json.loads(line)
    if q["_id"] in train:
        print(json.dumps({"collection": "scifact", "query": q["text"], "k": 10}))
EOF
  printf 'server:\n  max_connections: 1000\n' >"$WORK/search.yaml"
  start_server "$D" "$WORK/search.yaml"
  for c in 1 16 64; do
    "$LOAD" --port "$PORT" --key "$KEY" --target /v1/search --bodies "$WORK/search.jsonl" \
      --connections "$c" --requests "$SEARCH_REQUESTS" --warmup 500
  done
  echo "server peak RSS: $(peak_rss_mb "$SERVER_PID") MB"
  kill "$SERVER_PID"
fi

if [ "$ONLY" != "search" ]; then
  echo "== $CHATS concurrent /v1/chat, LLM stand-in answering after 1 s"
  D="$WORK/chat"
  "$LATHE" --data-dir "$D" --log-level warn ingest examples/support-kb -c support >/dev/null
  KEY=$("$LATHE" --data-dir "$D" keys create --scope query)
  "$STANDIN" --port 0 >"$WORK/standin.out" &
  SPID=$!
  PIDS+=("$SPID")
  for _ in $(seq 50); do grep -q "listening on" "$WORK/standin.out" 2>/dev/null && break; sleep 0.1; done
  SPORT=$(sed -nE 's/^listening on ([0-9]+).*/\1/p' "$WORK/standin.out")
  curl -sS -X POST -H 'Content-Type: application/json' -d '{"mode":"slow","delay_ms":1000}' \
    "http://127.0.0.1:$SPORT/control" >/dev/null
  cat >"$WORK/chat.yaml" <<EOF
server:
  max_connections: 20000
answer:
  backend: openai
llm:
  base_url: http://127.0.0.1:$SPORT/v1
  model: standin
  max_concurrent: 10000
  timeout_ms: 30000
  per_try_timeout_ms: 30000
EOF
  cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
  # The floor: the same burst straight to the stand-in (a chat-completions
  # body of the size Lathe sends: a system prompt and five numbered chunks).
  /usr/bin/python3 - >"$WORK/direct.jsonl" <<'EOF'
import json
chunks = "\n\n".join("[%d] Reset your password. " % n + "Open Settings, choose Security, then Reset password. " * 8
                     for n in range(1, 6))
print(json.dumps({"model": "standin", "messages": [
    {"role": "system", "content": "Answer only from the numbered sources and cite them as [n]."},
    {"role": "user", "content": chunks + "\n\nQuestion: How do I reset my password?"}]}))
EOF
  for flag in "" --preconnect; do
    echo "-- floor, no Lathe: $CHATS concurrent calls straight to the stand-in (${flag:-cold})"
    "$LOAD" --port "$SPORT" --target /v1/chat/completions --bodies "$WORK/direct.jsonl" \
      --connections "$CHATS" --requests "$CHATS" $flag
  done
  start_server "$D" "$WORK/chat.yaml"
  echo '{"collection":"support","message":"How do I reset my password?"}' >"$WORK/chat.jsonl"
  "$LOAD" --port "$PORT" --key "$KEY" --target /v1/chat --bodies "$WORK/chat.jsonl" \
    --connections 10 --requests 10  # warm the index and the upstream path
  for flag in "" --preconnect; do
    echo "-- Lathe: $CHATS concurrent /v1/chat (${flag:-cold})"
    server_cpu=$(cpu_s "$SERVER_PID"); standin_cpu=$(cpu_s "$SPID")
    "$LOAD" --port "$PORT" --key "$KEY" --target /v1/chat --bodies "$WORK/chat.jsonl" \
      --connections "$CHATS" --requests "$CHATS" $flag
    awk -v s0="$server_cpu" -v s1="$(cpu_s "$SERVER_PID")" -v t0="$standin_cpu" -v t1="$(cpu_s "$SPID")" \
      'BEGIN { printf "CPU s during the burst: server %.2f, stand-in %.2f\n", s1 - s0, t1 - t0 }'
  done
  echo "server peak RSS: $(peak_rss_mb "$SERVER_PID") MB"
  echo "stand-in: $(curl -sS "http://127.0.0.1:$SPORT/stats")"
fi
