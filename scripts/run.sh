#!/usr/bin/env bash
# Installs dependencies, builds, and runs the main job on the embedded default:
# ingest the bundled sample knowledge base into ./lathe-data and show the best
# passages for the sample questions.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/lathe --data-dir ./lathe-data demo
