#!/usr/bin/env bash
# Browser tests of the web UI (tests/ui/run.mjs): playwright-core from npm
# driving Debian's Chromium against a real `lathe serve` over loopback.
# Usage: scripts/ui-test.sh [LATHE_BINARY]      (default build/lathe)
#   UI_DIR=ui scripts/ui-test.sh ...            serve ui/ from disk (--ui-dir), not the embedded copy
#   UPDATE_SCREENSHOTS=1 scripts/ui-test.sh ... rewrite docs/screenshots/*.png
#   UI_ONLY=1,3 / KEEP_TMP=1                    one scenario / keep the temp directory
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
lathe="$(realpath -m "${1:-$repo/build/lathe}")"
cd "$repo"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "ui-test: $tool not found: install with scripts/install-deps.sh" >&2
    exit 2
  fi
done
if [ ! -x /usr/bin/chromium ]; then
  echo "ui-test: /usr/bin/chromium not found: install with scripts/install-deps.sh" >&2
  exit 2
fi
if [ ! -x "$lathe" ]; then
  echo "ui-test: no lathe binary at $lathe (build it with scripts/build.sh, or pass its path)" >&2
  exit 2
fi

# npm ci when node_modules is missing or older than the lock file.
ui="$repo/tests/ui"
stamp="$ui/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$ui/package-lock.json" -nt "$stamp" ]; then
  (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
fi

exec node "$ui/run.mjs" "$lathe"
