#!/usr/bin/env bash
# Installs every Debian package Lathe needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt-get.
# Usage: scripts/install-deps.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git ca-certificates
  # libraries
  libboost1.81-dev            # Asio/Beast (coroutines, parallel groups)
  libfaiss-dev libopenblas-dev libomp-dev  # vector search
  libxgboost-dev              # gradient-boosted fraud model
  libsqlite3-dev libpq-dev    # catalog stores
  libcsv-dev                  # CSV import of transactions (RFC 4180 quoting)
  nlohmann-json3-dev libsimdjson-dev
  libeigen3-dev               # LSA embedder (randomised SVD)
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev
  libstemmer-dev              # Snowball stemmers
  libpoppler-cpp-dev          # PDF text extraction
  libssl-dev zlib1g-dev
  libmimalloc-dev             # the lathe binary's malloc (LATHE_ALLOCATOR)
  libicu-dev                  # UTF-8 case folding, sentence boundaries
  libxml2-dev                 # HTML loader
  libcmark-gfm-dev libcmark-gfm-extensions-dev  # Markdown loader (GFM tables)
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  libxapian-dev               # BM25 reference engine (bench/bm25_vs_xapian)
  postgresql                  # a real server, started by the test harness
  groff-base groff            # builds the sample PDFs (scripts/make-sample-pdfs.sh)
  poppler-utils
  curl                        # an independent HTTP client for the OpenAI-facade test
  chromium                    # the web UI's browser tests (headless, driven by playwright-core)
  nodejs                      # runs those tests; playwright-core comes from npm (tests/ui)
)
# npm ships inside some nodejs builds (NodeSource) and as its own package in
# Debian's: ask for Debian's only when there is no npm at all.
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
