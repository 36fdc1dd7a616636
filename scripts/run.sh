#!/usr/bin/env bash
# Installs dependencies, builds, and runs the main job on the embedded default:
# ingests the bundled sample knowledge base into ./lathe-data, shows the best
# passages for the sample questions, then starts the support assistant's HTTP
# server on port 8080 (PORT=... to change) with a fresh API key and prints how
# to talk to it. Ctrl-C (or SIGTERM) stops the server after in-flight requests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
DATA=./lathe-data
PORT=${PORT:-8080}
./build/lathe --data-dir "$DATA" demo
KEY=$(./build/lathe --data-dir "$DATA" keys create --tenant default --scope admin)
cat <<MSG

The support assistant is starting on http://127.0.0.1:$PORT with the sample
knowledge base as collection "support". Your admin API key (shown once):

  $KEY

Ask a question (grounded answer with verified citations):
  curl -s http://127.0.0.1:$PORT/v1/chat -H "Authorization: Bearer $KEY" \\
    -H 'Content-Type: application/json' \\
    -d '{"collection":"support","message":"How do I get a refund for my annual plan?"}'

An off-topic question is handed off to a person:
  curl -s http://127.0.0.1:$PORT/v1/chat -H "Authorization: Bearer $KEY" \\
    -H 'Content-Type: application/json' -d '{"collection":"support","message":"How do I bake bread?"}'

Search, the OpenAI-compatible API and the rest: docs/api.md. Metrics: /metrics.
MSG
exec ./build/lathe --data-dir "$DATA" serve --port "$PORT"
