#!/usr/bin/env bash
# Fraud feature and training benchmarks of issue 5 (docs/benchmarks.md,
# "Fraud features and training"): ComputeBatch rows/s at 1 thread and at all
# cores on ~1.75M and ~10M generated transactions (and loading the 1.75M
# window from SQLite), both model kinds' AUPRC / ROC-AUC on the generated
# 6-month set, and XGBoost training through Lathe against its C API called
# directly. Every figure is printed with the load average beside it.
# Usage: bench/fraud_train_bench.sh [BUILD_DIR] [WORK_DIR]
#   SMALL_CUSTOMERS / SMALL_TERMINALS (5000 / 10000) and DAYS (183): the
#     6-month set, the size of the Fraud Detection Handbook's (~1.8M rows)
#   LARGE_CUSTOMERS / LARGE_TERMINALS (27500 / 55000): the ~10M set, same days
#   REPEAT (3): timed repeats (min and median reported)
#   LONG_SPLIT (118,20,7,21): a second split using all 146 days after warm-up,
#     timed REPEAT_LONG (1) times (about 3.5 min a repeat)
set -euo pipefail
build=$(realpath "${1:-build}")
work=${2:-$(mktemp -d /tmp/lathe-fraud-train-bench-XXXXXX)}
src="$(cd "$(dirname "$0")/.." && pwd)"
bench="$build/bench/fraud_ml_bench"
small_c=${SMALL_CUSTOMERS:-5000}
small_t=${SMALL_TERMINALS:-10000}
large_c=${LARGE_CUSTOMERS:-27500}
large_t=${LARGE_TERMINALS:-55000}
days=${DAYS:-183}
repeat=${REPEAT:-3}
repeat_long=${REPEAT_LONG:-1}
long_split=${LONG_SPLIT:-118,20,7,21}
mkdir -p "$work"
cd "$src"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $(date -u +%FT%TZ), uptime: $(uptime)"

echo "== 1a. features, ~1.75M rows ($small_c customers, $small_t terminals, $days days), and loading them from SQLite"
"$build/lathe" --data-dir "$work/store" data generate --days "$days" --customers "$small_c" \
  --terminals "$small_t" --seed 1 --start 2026-01-01 --json > "$work/generate.json"
"$bench" features --customers "$small_c" --terminals "$small_t" --days "$days" --repeat "$repeat" \
  --db "$work/store/lathe.db"

echo "== 1b. features, ~10M rows ($large_c customers, $large_t terminals, $days days)"
"$bench" features --customers "$large_c" --terminals "$large_t" --days "$days" --repeat "$repeat"

echo "== 2/3a. training on the 6-month set, train.yaml as shipped"
"$bench" train --config train.yaml --customers "$small_c" --terminals "$small_t" --days "$days" --repeat "$repeat"

echo "== 2/3b. training on the 6-month set, train.yaml with split $long_split (train,validation,gap,test days)"
"$bench" train --config train.yaml --customers "$small_c" --terminals "$small_t" --days "$days" --repeat "$repeat_long" \
  --split "$long_split"
echo "uptime: $(uptime)"
echo "work dir: $work"
