#!/usr/bin/env bash
# Installs dependencies, builds, and runs the main job on the embedded default
# (`lathe demo`, docs/demo.md): generates 60 days of transactions into
# ./lathe-data, runs the daily fraud pipeline over the last days (a champion
# model and a challenger judged by the promotion rule), ingests the bundled
# sample knowledge base, then serves the support assistant and the fraud model
# on port 8080 (PORT=... to change) with a fresh admin API key, printing what
# to try. Ctrl-C (or SIGTERM) stops the server after in-flight requests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
exec ./build/lathe --data-dir ./lathe-data demo --port "${PORT:-8080}"
