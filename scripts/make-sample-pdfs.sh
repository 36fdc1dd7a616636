#!/usr/bin/env bash
# Builds the PDF articles of the sample knowledge base from groff `ms` sources.
#
#   examples/support-kb-src/<name>.ms  ->  examples/support-kb/<section>/<name>.pdf
#
# Each source names its target section in a comment line:
#   .\" section: shipping-and-hardware
#
# Idempotent: a PDF is rebuilt only when it is missing or older than its source
# (or when --force is given), and it is written atomically. Output is made
# reproducible by pinning SOURCE_DATE_EPOCH, so rebuilding does not create a
# spurious diff.
#
# Usage: scripts/make-sample-pdfs.sh [--force]
# Needs: groff (with the devpdf device: packages groff-base and groff),
#        optionally pdftotext (poppler-utils) for the extraction check.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src_dir="$root/examples/support-kb-src"
kb_dir="$root/examples/support-kb"
force=0
[[ "${1:-}" == "--force" ]] && force=1

if ! command -v groff >/dev/null 2>&1; then
  echo "make-sample-pdfs: groff not found (install groff-base and groff)" >&2
  exit 1
fi
if ! groff -Tpdf </dev/null >/dev/null 2>&1; then
  echo "make-sample-pdfs: groff has no PDF device (install the full 'groff' package;" >&2
  echo "  /usr/share/groff/current/font/devpdf must exist)" >&2
  exit 1
fi

# Fixed timestamp so gropdf's CreationDate does not change between builds.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1735689600}"   # 2025-01-01T00:00:00Z

shopt -s nullglob
sources=("$src_dir"/*.ms)
if (( ${#sources[@]} == 0 )); then
  echo "make-sample-pdfs: no .ms sources in $src_dir" >&2
  exit 1
fi

built=0
for src in "${sources[@]}"; do
  name="$(basename "$src" .ms)"
  section="$(sed -n 's/^\.\\" section: *\([a-z0-9-]*\).*/\1/p' "$src" | head -n1)"
  if [[ -z "$section" ]]; then
    echo "make-sample-pdfs: $src has no '.\\\" section: <name>' line" >&2
    exit 1
  fi
  out="$kb_dir/$section/$name.pdf"
  if (( ! force )) && [[ -f "$out" && "$out" -nt "$src" ]]; then
    echo "up to date: ${out#$root/}"
    continue
  fi
  mkdir -p "$kb_dir/$section"
  tmp="$(mktemp "$kb_dir/$section/.$name.XXXXXX")"
  # -t: tbl for tables; -ms: ms macros. Ligatures are switched off in the
  # sources (.lg 0) so text extracts as plain "fi"/"fl".
  if ! groff -t -ms -Tpdf "$src" >"$tmp" 2>"$tmp.err"; then
    cat "$tmp.err" >&2
    rm -f "$tmp" "$tmp.err"
    exit 1
  fi
  # groff prints warnings to stderr but still succeeds; show them.
  [[ -s "$tmp.err" ]] && sed "s|^|$name: |" "$tmp.err" >&2
  rm -f "$tmp.err"
  mv -f "$tmp" "$out"
  echo "built: ${out#$root/}"
  built=$((built + 1))

  if command -v pdftotext >/dev/null 2>&1; then
    words="$(pdftotext -q "$out" - | wc -w)"
    if (( words < 100 )); then
      echo "make-sample-pdfs: $out extracts only $words words" >&2
      exit 1
    fi
  fi
done
echo "make-sample-pdfs: $built built, $(( ${#sources[@]} - built )) up to date"
