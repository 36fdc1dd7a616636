#!/usr/bin/env bash
# Ingest throughput at 1 thread and at all cores, and search latency on the
# resulting collection. Usage:
#   bench/ingest_scale.sh CORPUS.jsonl QUERIES.jsonl OUT_DIR
# Prints one line per run: threads, documents, seconds, documents per second.
set -euo pipefail
corpus=$1 queries=$2 out=$3
lathe=${LATHE:-./build/lathe}
mkdir -p "$out"
for threads in 1 "$(nproc)"; do
  rm -rf "$out/t$threads"
  report=$("$lathe" --log-level warn --threads "$threads" --data-dir "$out/t$threads" ingest "$corpus" --json)
  echo "threads=$threads $report"
done
./build/bench/search_latency --data-dir "$out/t$(nproc)" --collection default --queries "$queries" --repeat 1
