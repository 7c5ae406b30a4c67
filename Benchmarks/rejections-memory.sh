#!/usr/bin/env bash
# Peak memory of `sti aggregate` when every message is invalid (hostile review #4, issue 11
# point 4): a bureau floods a submission topic with messages that all get rejected, so the
# snapshot's rejections.csv (and the pending rejections in the state) hold one row each.
#
#   bash Benchmarks/rejections-memory.sh            # 1,000,000 invalid messages
#   STI_BENCH_INVALID=200000 bash Benchmarks/rejections-memory.sh
#
# Runs against its own Tansu broker: kcat produces the messages (each keyed by a county, with
# Kafka's murmur2 partitioner, each missing its `schema`: E_SCHEMA), then one `sti aggregate`
# from an empty state and one `--rebuild` of the same state run under /usr/bin/time. Prints the
# counts, each run's wall time and peak RSS, and kcat's own consume time over the same topic.
# Fails only when a step fails or a count is wrong; no timed assertion.
#
# Environment: STI_BENCH_INVALID (default 1000000), STI_BENCH_BUILD (release|debug, default
# release), STI_BENCH_STI (an sti binary to use instead of building one), STI_BENCH_KEEP=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
N="${STI_BENCH_INVALID:-1000000}"
BUILD="${STI_BENCH_BUILD:-release}"
case "$N" in ''|*[!0-9]*) echo "rejections-memory: STI_BENCH_INVALID must be a positive integer" >&2; exit 2 ;; esac
log() { echo "rejections-memory: $*" >&2; }
die() { echo "rejections-memory: FAILED: $*" >&2; exit 1; }

deps=$("$root/Deploy/install-deps.sh")
TANSU=$(printf '%s\n' "$deps" | sed -n 's/^TANSU=//p')
RDKAFKA216_DIR=$(printf '%s\n' "$deps" | sed -n 's/^RDKAFKA216_DIR=//p')
export LD_LIBRARY_PATH="$RDKAFKA216_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PY="${PYTHON:-python3}"

if [ -n "${STI_BENCH_STI:-}" ]; then STI="$STI_BENCH_STI"; else
  (cd "$root" && swift build -c "$BUILD" --product sti >&2)
  STI="$(cd "$root" && swift build -c "$BUILD" --product sti --show-bin-path)/sti"
fi
[ -x "$STI" ] || die "no sti binary at $STI"

W=$(mktemp -d "${TMPDIR:-/tmp}/sti-rejmem.XXXXXX"); remove_work_dir=1
. "$here/tansu.sh"
start_tansu
"$STI" topics create --brokers "$B" --partitions 6 > "$W/topics.out" 2>&1 || { cat "$W/topics.out" >&2; die "sti topics create"; }

log "writing $N invalid messages"
"$PY" - "$N" "$W/invalid.keyed" <<'PYEOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
counties = ["530102", "530103", "530111", "530112", "530114", "530115", "530113", "530181",
            "530124", "530125", "530126", "530127", "530128", "530129"]
with open(path, "w") as f:
    for i in range(n):
        c = counties[i % len(counties)]
        f.write(f'{c}\t{{"county":"{c}","year":2025,"performer":"other","expenditure_10k_cny":{i},"revision":1}}\n')
PYEOF
t0=$(date +%s%N)
kcat -P -X partitioner=murmur2_random -X queue.buffering.max.messages=1000000 -b "$B" -t sti.rd -K $'\t' -l "$W/invalid.keyed" \
  2> "$W/kcat-produce.err" || { cat "$W/kcat-produce.err" >&2; die "kcat produce"; }
log "kcat produced $N in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

t0=$(date +%s%N)
got=$(kcat -C -b "$B" -t sti.rd -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l)
kcat_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$got" = "$N" ] || die "kcat read $got of $N"

run() {  # NAME ARGS...: one sti aggregate under /usr/bin/time; prints "wall_s peak_mb"
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$W/$name.time" "$STI" aggregate --brokers "$B" --out "$W/out" --state "$W/state.db" \
    --timeout 60 "$@" > "$W/$name.out" 2> "$W/$name.err" || { tail -n 20 "$W/$name.err" >&2; die "$name"; }
  grep -q "rejected $N (E_SCHEMA=$N)" "$W/$name.err" "$W/$name.out" || { tail -n 5 "$W/$name.err" >&2; die "$name: counts"; }
  rows=$(( $(wc -l < "$W/out/latest/rejections.csv") - 1 ))
  [ "$rows" = "$N" ] || die "$name: rejections.csv has $rows rows, expected $N"
  awk '{printf "%s %.0f\n", $1, $2 / 1024}' "$W/$name.time"
}
read -r first_s first_mb < <(run empty-state)
read -r rebuild_s rebuild_mb < <(run rebuild --rebuild)

printf '\n%-44s %10s %9s %9s\n' "" messages seconds "peak MB"
printf "%-44s %10s %9s %9s\n" "kcat consume, sti.rd" "$N" "$(awk -v ms="$kcat_ms" 'BEGIN {printf "%.2f", ms / 1000}')" "-"
printf '%-44s %10s %9s %9s\n' "sti aggregate, all invalid, empty state" "$N" "$first_s" "$first_mb"
printf '%-44s %10s %9s %9s\n' "sti aggregate --rebuild, all invalid" "$N" "$rebuild_s" "$rebuild_mb"
printf '(%s cores, load %s, %s)\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%Y-%m-%dT%H:%MZ)"
