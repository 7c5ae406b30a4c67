#!/usr/bin/env bash
# Instructions per message of `sti aggregate` from an empty state, counted by valgrind's
# callgrind: repeatable on a machine whose wall-clock times are noisy (other builds share the
# cores), so each speed step is measured with it.
#
#   bash Benchmarks/callgrind.sh BINARY [BINARY...]
#
# Generates STI_CALLGRIND_MESSAGES (default 20000) messages of the benchmark's realistic mix
# (seed 1), loads them with kcat into its own Tansu broker, then runs each BINARY's
# `sti aggregate --rebuild` under `valgrind --tool=callgrind` (all threads counted) and prints,
# per binary, the total instructions (Ir), Ir per message and the functions with the largest
# inclusive share (callgrind_annotate --inclusive=yes). Every run's manifest counts must equal
# the generator's; no timed assertion. STI_BENCH_KEEP=1 keeps the work folder (the callgrind
# output files are in it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
N="${STI_CALLGRIND_MESSAGES:-20000}"
case "$N" in ''|*[!0-9]*) echo "callgrind: STI_CALLGRIND_MESSAGES must be a positive integer" >&2; exit 2 ;; esac
[ "$#" -ge 1 ] || { echo "usage: bash Benchmarks/callgrind.sh BINARY [BINARY...]" >&2; exit 2; }
log() { echo "callgrind: $*" >&2; }
die() { echo "callgrind: FAILED: $*" >&2; exit 1; }

deps=$("$root/Deploy/install-deps.sh")
TANSU=$(printf '%s\n' "$deps" | sed -n 's/^TANSU=//p')
RDKAFKA216_DIR=$(printf '%s\n' "$deps" | sed -n 's/^RDKAFKA216_DIR=//p')
export LD_LIBRARY_PATH="$RDKAFKA216_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PY="${PYTHON:-python3}"
if ! command -v valgrind >/dev/null; then
  log "installing valgrind"
  if [ "$(id -u)" = 0 ]; then apt-get install -y valgrind >&2; else sudo apt-get install -y valgrind >&2; fi
fi
for bin in "$@"; do [ -x "$bin" ] || die "no sti binary at $bin"; done

W=$(mktemp -d "${TMPDIR:-/tmp}/sti-callgrind.XXXXXX"); remove_work_dir=1
. "$here/tansu.sh"
start_tansu
first="$1"
"$first" generate --out "$W/feed" --messages "$N" --seed 1 > /dev/null
"$first" topics create --brokers "$B" --partitions 6 > /dev/null
for t in sti.rd sti.tech-contracts sti.county-profiles; do
  [ -s "$W/feed/$t.keyed" ] || continue
  kcat -P -X partitioner=murmur2_random -b "$B" -t "$t" -K $'\t' -l "$W/feed/$t.keyed" 2>>"$W/kcat.err" || die "kcat -P $t"
done
want_read=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$W/feed/load-summary.json")

i=0
for bin in "$@"; do
  i=$((i + 1))
  rm -rf "$W/run$i"; mkdir -p "$W/run$i"
  log "run $i: $bin"
  # valgrind's DWARF reader gives up on the Swift binaries' debug info ("possibly corrupted
  # debuginfo"): a copy without it keeps the symbol table, which is all the function names need.
  strip --strip-debug -o "$W/run$i/sti" "$bin"
  valgrind --tool=callgrind --callgrind-out-file="$W/run$i/callgrind.out" \
    "$W/run$i/sti" aggregate --brokers "$B" --out "$W/run$i/out" --state "$W/run$i/state.db" --rebuild --timeout 120 \
    > "$W/run$i/stdout" 2> "$W/run$i/stderr" || { tail -n 20 "$W/run$i/stderr" >&2; die "$bin aggregate"; }
  read_count=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["read"])' "$W/run$i/out/latest/manifest.json")
  [ "$read_count" = "$want_read" ] || die "$bin read $read_count messages, the feed has $want_read"
  total=$(callgrind_annotate "$W/run$i/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
  echo "== $bin"
  echo "messages $N  Ir $total  Ir/message $(( total / N ))  load $(cut -d' ' -f1-3 /proc/loadavg)"
  callgrind_annotate --inclusive=yes "$W/run$i/callgrind.out" 2>/dev/null | sed -n '/^Ir/,$p' | sed -n '3,32p' | cut -c1-160
done
