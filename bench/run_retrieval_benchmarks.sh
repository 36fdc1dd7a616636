#!/usr/bin/env bash
# Reproduces every retrieval figure in docs/benchmarks.md. Needs a built tree
# (scripts/build.sh) and BEIR SciFact at $SCIFACT (default ../shared/data/scifact).
# Writes raw outputs to $OUT (default /tmp/lathe-bench) and prints them.
# Takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scifact=${SCIFACT:-../shared/data/scifact}
out=${OUT:-/tmp/lathe-bench}
mkdir -p "$out"
lathe=./build/lathe

echo "== 1. quality and latency on SciFact (train split), all cores"
"$lathe" --log-level warn eval --beir "$scifact" --split train --json | tee "$out/eval.json"

echo "== 2. ingest throughput on SciFact (first ingest trains the embedder), 1 thread vs all cores"
for t in 1 "$(nproc)"; do
  rm -rf "$out/scifact-t$t"
  echo "threads=$t first: $("$lathe" --log-level warn --threads "$t" --data-dir "$out/scifact-t$t" ingest "$scifact/corpus.jsonl" --json)"
  # Re-chunking replaces every document with the embedder already trained: steady-state throughput.
  echo "threads=$t steady: $("$lathe" --log-level warn --threads "$t" --data-dir "$out/scifact-t$t" ingest "$scifact/corpus.jsonl" --chunk-words 199 --json)"
done | tee "$out/ingest-scifact.txt"

echo "== 3. search latency on one core (taskset -c 0, --threads 1)"
taskset -c 0 ./build/bench/search_latency --threads 1 --data-dir "$out/scifact-t1" --queries "$scifact/queries.jsonl" \
  --repeat 3 | tee "$out/latency-scifact-1core.json"

echo "== 4. BM25: hand-written index vs Xapian"
./build/bench/bm25_vs_xapian "$scifact" | tee "$out/bm25-vs-xapian.json"

echo "== 5. 100,000-document collection (SciFact sentences resampled)"
[ -f "$out/scaled100k.jsonl" ] || /usr/bin/python3 bench/make_scaled_corpus.py "$scifact/corpus.jsonl" 100000 "$out/scaled100k.jsonl"
for t in 1 "$(nproc)"; do
  rm -rf "$out/100k-t$t"
  echo "threads=$t $("$lathe" --log-level warn --threads "$t" --data-dir "$out/100k-t$t" ingest "$out/scaled100k.jsonl" --json)"
done | tee "$out/ingest-100k.txt"
taskset -c 0 ./build/bench/search_latency --threads 1 --data-dir "$out/100k-t$(nproc)" --queries "$scifact/queries.jsonl" \
  | tee "$out/latency-100k-1core.json"

echo "== 6. approximate index choice on the 100k collection"
./build/bench/ann_choice --data-dir "$out/100k-t$(nproc)" --queries "$scifact/queries.jsonl" 2>/dev/null | tee "$out/ann-choice.json"
