#!/usr/bin/env bash
# The report in a real browser (issue 14): `sti demo` writes a snapshot of the Samples on its
# embedded mock cluster, then headless Chromium (Debian's, from Deploy/install-deps.sh) loads its
# report.html from disk with the network cut off, and Deploy/browser-test.py checks that no
# console error or request happened and that every figure in the rendered page equals
# indicators.csv, and takes desktop and phone screenshots.
#
#   browser-test.sh [STI_BINARY] [SHOTS_DIR]
# STI_BINARY defaults to .build/debug/sti; screenshots go to SHOTS_DIR (default: a temporary
# folder, removed afterwards). Takes about 10-20 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
sti="${1:-$repo/.build/debug/sti}"
work=$(mktemp -d -t sti-browser-XXXXXX)
trap 'rm -rf "$work"' EXIT
shots="${2:-$work/shots}"

timeout 300 "$sti" demo --out "$work/demo-out" --samples "$repo/Samples" > "$work/demo.log"
grep -q "report: $work/demo-out/latest/report.html" "$work/demo.log" \
  || { echo "browser-test: sti demo did not say where report.html is" >&2; cat "$work/demo.log" >&2; exit 1; }
timeout 180 python3 "$here/browser-test.py" "$work/demo-out/latest" "$shots"
