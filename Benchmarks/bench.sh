#!/usr/bin/env bash
# sti-pipeline benchmark: one command, on this machine, against its own Tansu broker.
#
#   bash Benchmarks/bench.sh
#
# Measures, each STI_BENCH_REPEATS times (median reported):
#   (a) kcat consuming every submission topic from the beginning to /dev/null, three at once (both cores)
#   (a1) one kcat consuming the three topics one after another (what one consumer gets)
#   (b) `sti aggregate` from an empty state to a finished snapshot
#   (c) an incremental `sti aggregate` after 1 % more messages arrived
#   (d) `sti submit` of a CSV feed, against kcat producing the same rows as JSON lines
# with peak RSS from /usr/bin/time. Prints a table (stable format, pasted into README.md) and
# writes it to Benchmarks/results/latest.txt.
#
# Environment:
#   STI_BENCH_MESSAGES     messages of the main load feed (default 1000000)
#   STI_BENCH_REPEATS      runs of each measurement (default 3)
#   STI_BENCH_SUBMIT_ROWS  rows of the (d) feed (default 100000, at most STI_BENCH_MESSAGES)
#   STI_BENCH_BUILD        release (default) or debug
#   STI_BENCH_SCRATCH      swift build --scratch-path (default <repo>/.build, SwiftPM's own)
#   STI_BENCH_STI          use this sti binary instead of building one
#   STI_BENCH_STI_BEFORE   also run (b) and (d) with this (older) sti binary, alternating with the
#                          new one in every repeat, so that before and after share the machine's load
#   STI_BENCH_ONLY=d       measure (d) only: no main load feed, no (a), (b), (c); the report then
#                          has the (d) rows only (a cheap way to compare submit changes)
#   STI_BENCH_DIR          work folder (default a fresh temporary one, deleted at exit)
#   STI_BENCH_KEEP=1       keep the work folder
#
# No timed assertion anywhere: the script fails only when a step fails or a count is wrong
# (every aggregate's manifest counts must equal the counts the generator wrote in
# load-summary.json; every submit must report all rows sent).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
N="${STI_BENCH_MESSAGES:-1000000}"
R="${STI_BENCH_REPEATS:-3}"
BUILD="${STI_BENCH_BUILD:-release}"
for v in N R; do
  case "${!v}" in ''|*[!0-9]*) echo "bench: STI_BENCH_${v/N/MESSAGES} must be a positive integer" >&2; exit 2 ;; esac
done
[ "$N" -ge 100 ] || { echo "bench: STI_BENCH_MESSAGES must be at least 100" >&2; exit 2; }
[ "$R" -ge 1 ] || { echo "bench: STI_BENCH_REPEATS must be at least 1" >&2; exit 2; }
SUBMIT_ROWS="${STI_BENCH_SUBMIT_ROWS:-100000}"
[ "$SUBMIT_ROWS" -le "$N" ] || SUBMIT_ROWS="$N"
# (c): 1 % more messages (at least one).
EXTRA=$(( N / 100 > 0 ? N / 100 : 1 ))
case "$BUILD" in release|debug) ;; *) echo "bench: STI_BENCH_BUILD must be release or debug" >&2; exit 2 ;; esac
ONLY="${STI_BENCH_ONLY:-}"
case "$ONLY" in ''|d) ;; *) echo "bench: STI_BENCH_ONLY must be d (or unset for everything)" >&2; exit 2 ;; esac

log() { echo "bench: $*" >&2; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }

# --- dependencies -------------------------------------------------------------------------
deps=$("$root/Deploy/install-deps.sh")
TANSU=$(printf '%s\n' "$deps" | sed -n 's/^TANSU=//p')
RDKAFKA216_DIR=$(printf '%s\n' "$deps" | sed -n 's/^RDKAFKA216_DIR=//p')
[ -x "$TANSU" ] || die "no tansu binary"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (Debian package time)"
command -v kcat >/dev/null || die "kcat missing"
PY="${PYTHON:-python3}"
# Everything that talks to Tansu needs librdkafka 2.16 (see shared notes).
export LD_LIBRARY_PATH="$RDKAFKA216_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# --- build --------------------------------------------------------------------------------
if [ -n "${STI_BENCH_STI:-}" ]; then
  STI="$STI_BENCH_STI"
  BUILD="given"
else
  scratch="${STI_BENCH_SCRATCH:-$root/.build}"
  log "building sti ($BUILD) in $scratch"
  build_started=$(date +%s)
  (cd "$root" && swift build -c "$BUILD" --product sti --scratch-path "$scratch" >&2)
  STI="$(cd "$root" && swift build -c "$BUILD" --product sti --scratch-path "$scratch" --show-bin-path)/sti"
  log "build took $(( $(date +%s) - build_started )) s"
fi
[ -x "$STI" ] || die "no sti binary at $STI"
BEFORE="${STI_BENCH_STI_BEFORE:-}"
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || die "no sti binary at STI_BENCH_STI_BEFORE=$BEFORE"

# --- work folder, broker, cleanup ---------------------------------------------------------
if [ -n "${STI_BENCH_DIR:-}" ]; then
  W="$STI_BENCH_DIR"; mkdir -p "$W"; remove_work_dir=0
else
  W=$(mktemp -d "${TMPDIR:-/tmp}/sti-bench.XXXXXX"); remove_work_dir=1
fi
. "$here/tansu.sh"
start_tansu

TOPICS=(sti.rd sti.tech-contracts sti.county-profiles)

# --- helpers ------------------------------------------------------------------------------
now_ns() { date +%s%N; }

# timed NAME CMD...: runs CMD under /usr/bin/time; appends "seconds peak_kb" to $W/NAME.times.
# Output of CMD goes to $W/NAME.out (stdout) and $W/NAME.err (stderr, with time's report).
timed() {
  local name=$1; shift
  local t0 t1 rss
  t0=$(now_ns)
  if ! /usr/bin/time -f '%M' -o "$W/$name.rss" "$@" > "$W/$name.out" 2> "$W/$name.err"; then
    tail -n 30 "$W/$name.err" >&2
    die "$name: $* failed"
  fi
  t1=$(now_ns)
  rss=$(tail -n 1 "$W/$name.rss")
  # The 1-minute load average at the end of the run: other work on the same cores shows here.
  echo "$(( (t1 - t0) / 1000000 )) $rss $(cut -d' ' -f1 /proc/loadavg)" >> "$W/$name.times"
}

# timed_parallel NAME CMD...: starts every CMD at once (one per topic, as one `sti` client reads
# or writes all three topics at once) and waits for all; one entry: wall time until the last
# finished, largest peak RSS. Fails if any CMD fails.
timed_parallel() {
  local name=$1; shift
  local script='pids=(); ' cmd
  for cmd in "$@"; do script+="( $cmd ) & pids+=(\$!); "; done
  script+='rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc'
  timed "$name" bash -c "$script"
}

# median_ms NAME / median_kb NAME: medians over the recorded runs.
median_col() { sort -n -k"$2" "$W/$1.times" | awk -v c="$2" '{v[NR]=$c} END {print (NR % 2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }

# Loads a generated jsonl feed into topics PREFIX.* with kcat (keyed files).
load_feed() {
  local dir=$1 prefix=$2 t
  for t in "${TOPICS[@]}"; do
    local file="$dir/$t.keyed"
    [ -s "$file" ] || continue
    kcat -P -X partitioner=murmur2_random -b "$B" -t "$prefix.${t#sti.}" -K $'\t' -l "$file" 2>>"$W/kcat-load.err" || die "kcat -P $file"
  done
}

# check_manifest SNAPSHOT_DIR SUMMARY_JSON [BASE_SUMMARY_JSON]: the manifest's counts equal the
# generator's (the difference of two summaries when BASE is given: an incremental run).
check_manifest() {
  "$PY" - "$@" <<'EOF' || die "manifest counts of $1 differ from the generated feed"
import json, sys
manifest = json.load(open(sys.argv[1] + "/manifest.json"))
def load(path):
    s = json.load(open(path))
    return {"read": s["messages"], "rejected": s["invalid"], "accepted": s["valid"], "duplicates": 0,
            "by_code": s["invalid_by_code"]}
want = load(sys.argv[2])
if len(sys.argv) > 3:
    base = load(sys.argv[3])
    for k in ("read", "rejected", "accepted"): want[k] -= base[k]
    want["by_code"] = {c: n - base["by_code"].get(c, 0) for c, n in want["by_code"].items()}
    want["by_code"] = {c: n for c, n in want["by_code"].items() if n}
c = manifest["counts"]
got = {"read": c["read"], "rejected": c["rejected"], "accepted": c["accepted"], "duplicates": c["duplicates"],
       "by_code": c["rejected_by_code"]}
if got != want:
    print(f"manifest {sys.argv[1]}: {got}\nexpected: {want}", file=sys.stderr)
    sys.exit(1)
EOF
}

# --- feeds --------------------------------------------------------------------------------
# The increment is the tail of a longer feed of the same seed: the generator is sequential, so
# the first N messages of an (N + EXTRA)-message feed are the N-message feed, and the tail is
# realistic new work (new contracts, next revisions of R&D and profile figures) with exactly
# known counts. (A feed of another seed would re-use contract numbers and restart revisions.)
if [ -z "$ONLY" ]; then
log "generating $N + $EXTRA messages"
"$STI" generate --out "$W/feed" --messages "$N" --seed 1 > /dev/null
"$STI" generate --out "$W/feed-all" --messages $(( N + EXTRA )) --seed 1 > /dev/null
mkdir -p "$W/feed-extra"
for t in "${TOPICS[@]}"; do
  have=$(wc -l < "$W/feed/$t.keyed")
  cmp -s <(head -n "$have" "$W/feed-all/$t.keyed") "$W/feed/$t.keyed" || die "feed of $((N + EXTRA)) does not start with the feed of $N ($t)"
  tail -n +"$(( have + 1 ))" "$W/feed-all/$t.keyed" > "$W/feed-extra/$t.keyed"
done
INVALID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["invalid"])' "$W/feed/load-summary.json")
fi
log "generating the $SUBMIT_ROWS-row submit feed (CSV and JSON lines, no invalid rows)"
"$STI" generate --out "$W/submit-csv" --messages "$SUBMIT_ROWS" --seed 3 --invalid-fraction 0 --format csv > /dev/null
"$STI" generate --out "$W/submit-jsonl" --messages "$SUBMIT_ROWS" --seed 3 --invalid-fraction 0 > /dev/null

log "creating topics${ONLY:+ (no main load: STI_BENCH_ONLY=$ONLY)}"
"$STI" topics create --brokers "$B" --partitions 6 > /dev/null
"$STI" topics create --brokers "$B" --partitions 6 --topic-prefix bsubmit > /dev/null
"$STI" topics create --brokers "$B" --partitions 6 --topic-prefix bkcat > /dev/null
[ -z "$BEFORE" ] || "$STI" topics create --brokers "$B" --partitions 6 --topic-prefix bsubmit0 > /dev/null
if [ -z "$ONLY" ]; then
log "loading $N messages"
load_feed "$W/feed" sti
for t in "${TOPICS[@]}"; do
  want=$(wc -l < "$W/feed/$t.keyed")
  got=$(kcat -C -b "$B" -t "$t" -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l)
  [ "$got" = "$want" ] || die "$t holds $got messages after loading, expected $want"
done

# --- (a) kcat consume ---------------------------------------------------------------------
for r in $(seq 1 "$R"); do
  log "(a) kcat consume, run $r/$R"
  cmds=()
  for t in "${TOPICS[@]}"; do cmds+=("kcat -C -b $B -t $t -o beginning -e -q > /dev/null"); done
  timed_parallel a "${cmds[@]}"
  log "(a1) one kcat, the three topics one after another, run $r/$R"
  seq_cmd=""
  for t in "${TOPICS[@]}"; do seq_cmd+="${seq_cmd:+ && }kcat -C -b $B -t $t -o beginning -e -q > /dev/null"; done
  timed a1 bash -c "$seq_cmd"
done

# --- (b) aggregate from empty state -------------------------------------------------------
for r in $(seq 1 "$R"); do
  log "(b) sti aggregate from an empty state, run $r/$R"
  rm -rf "$W/b"; mkdir -p "$W/b"
  timed b "$STI" aggregate --brokers "$B" --out "$W/b/out" --state "$W/b/state.db" --rebuild
  check_manifest "$W/b/out/latest" "$W/feed/load-summary.json"
  if [ -n "$BEFORE" ]; then
    log "(b0) the STI_BENCH_STI_BEFORE binary, same load, run $r/$R"
    rm -rf "$W/b0"; mkdir -p "$W/b0"
    timed b0 "$BEFORE" aggregate --brokers "$B" --out "$W/b0/out" --state "$W/b0/state.db" --rebuild
    check_manifest "$W/b0/out/latest" "$W/feed/load-summary.json"
  fi
done
# The last (b) result is the starting point of every (c) run.
rm -rf "$W/b-base"; cp -a "$W/b" "$W/b-base"

# --- (c) incremental aggregate after 1 % more -----------------------------------------------
log "loading $EXTRA more messages"
load_feed "$W/feed-extra" sti
for r in $(seq 1 "$R"); do
  log "(c) incremental sti aggregate, run $r/$R"
  rm -rf "$W/c"; cp -a "$W/b-base" "$W/c"
  timed c "$STI" aggregate --brokers "$B" --out "$W/c/out" --state "$W/c/state.db"
  check_manifest "$W/c/out/latest" "$W/feed-all/load-summary.json" "$W/feed/load-summary.json"
done
fi  # not STI_BENCH_ONLY

# --- (d) submit against kcat produce --------------------------------------------------------
csvs=()
for f in rd tech-contracts county-profiles; do [ -s "$W/submit-csv/$f.csv" ] && csvs+=("$W/submit-csv/$f.csv"); done
for r in $(seq 1 "$R"); do
  log "(d) sti submit of $SUBMIT_ROWS CSV rows, run $r/$R"
  # --send-held: the generated feed has large contracts and year-on-year jumps without
  # explanations (section 5a); the benchmark measures sending them, not the bureau's fix.
  timed d "$STI" submit --brokers "$B" --topic-prefix bsubmit --send-held "${csvs[@]}"
  grep -q "^sent $SUBMIT_ROWS, failed 0$" "$W/d.out" || die "sti submit: $(cat "$W/d.out")"
  if [ -n "$BEFORE" ]; then
    log "(d0) the STI_BENCH_STI_BEFORE binary, same rows, run $r/$R"
    timed d0 "$BEFORE" submit --brokers "$B" --topic-prefix bsubmit0 --send-held "${csvs[@]}"
    grep -q "^sent $SUBMIT_ROWS, failed 0$" "$W/d0.out" || die "sti submit (before): $(cat "$W/d0.out")"
  fi
  log "(d) kcat produce of the same $SUBMIT_ROWS rows as JSON lines, run $r/$R"
  cmds=()
  for t in "${TOPICS[@]}"; do
    [ -s "$W/submit-jsonl/$t.keyed" ] && cmds+=("kcat -P -X partitioner=murmur2_random -b $B -t bkcat.${t#sti.} -K \$'\\t' -l $W/submit-jsonl/$t.keyed")
  done
  timed_parallel dk "${cmds[@]}"
  if [ -n "$ONLY" ]; then
    # The same with kcat's producer idempotent, as sti's is (the durability it promises): its
    # producer-id request waits 500 ms in librdkafka 2.16 (Benchmarks/README.md, (d)).
    log "(d) kcat produce, idempotent, run $r/$R"
    timed_parallel dki "${cmds[@]/kcat -P/kcat -P -X enable.idempotence=true}"
  fi
done
for t in "${TOPICS[@]}"; do
  want=$(( $(wc -l < "$W/submit-jsonl/$t.keyed") * R ))
  for prefix in bsubmit bkcat ${BEFORE:+bsubmit0}; do
    got=$(kcat -C -b "$B" -t "$prefix.${t#sti.}" -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l)
    [ "$prefix" = bkcat ] && [ -n "$ONLY" ] && got=$(( got / 2 ))  # (dk) and (dki) both wrote there
    [ "$got" = "$want" ] || die "$prefix.${t#sti.} holds $got messages, expected $want"
  done
done

# --- report -------------------------------------------------------------------------------
d_ms=$(median_col d 1); dk_ms=$(median_col dk 1)
[ -n "$ONLY" ] || { a_ms=$(median_col a 1); a1_ms=$(median_col a1 1); b_ms=$(median_col b 1); c_ms=$(median_col c 1); }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%d", (ms > 0) ? n * 1000 / ms : 0 }'; }
runs() { awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1 / 1000}' "$W/$1.times"; }
loads() { awk '{printf "%s%s", (NR > 1 ? " " : ""), $3}' "$W/$1.times"; }
row() { # label messages name
  printf '%-38s %9d %9.2f %10d %9d   %-20s %s\n' "$1" "$2" "$(awk -v ms="$(median_col "$3" 1)" 'BEGIN{print ms/1000}')" \
    "$(rate "$2" "$(median_col "$3" 1)")" "$(( $(median_col "$3" 2) / 1024 ))" "$(runs "$3")" "$(loads "$3")"
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", (y > 0) ? x / y : 0 }'; }
mkdir -p "$here/results"
{
  echo "sti-pipeline benchmark, $(date -u +%Y-%m-%dT%H:%MZ), nproc $(nproc), sti $BUILD build, Tansu memory storage, librdkafka 2.16"
  if [ -n "$ONLY" ]; then
    echo "load: (d) only (STI_BENCH_ONLY=d), topics of 6 partitions; submit feed $SUBMIT_ROWS rows; median of $R"
  else
    echo "load: $N messages ($INVALID invalid) in 3 topics x 6 partitions; +$EXTRA for (c); submit feed $SUBMIT_ROWS rows; median of $R"
  fi
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the last column below: 1-minute load after each run)"
  printf '%-38s %9s %9s %10s %9s   %-20s %s\n' "" "messages" "seconds" "msg/s" "peak MB" "runs (s)" "load"
  if [ -z "$ONLY" ]; then
  row "(a) kcat consume, 3 topics at once" "$N" a
  row "(a1) kcat consume, one after another" "$N" a1
  row "(b) sti aggregate, empty state" "$N" b
  [ -z "$BEFORE" ] || row "(b0) the same, STI_BENCH_STI_BEFORE" "$N" b0
  row "(c) sti aggregate, +1 % (incremental)" "$EXTRA" c
  fi
  row "(d) sti submit, CSV" "$SUBMIT_ROWS" d
  [ -z "$BEFORE" ] || row "(d0) the same, STI_BENCH_STI_BEFORE" "$SUBMIT_ROWS" d0
  row "    kcat produce, same rows, JSON" "$SUBMIT_ROWS" dk
  if [ -n "$ONLY" ]; then
  row "    the same, kcat idempotent" "$SUBMIT_ROWS" dki
  echo " (d)/kcat idempotent rate: $(ratio "$(median_col dki 1)" "$d_ms")"
  echo " (d)/kcat produce rate: $(ratio "$dk_ms" "$d_ms")${BEFORE:+  (d0)/kcat produce rate: $(ratio "$dk_ms" "$(median_col d0 1)")  (d)/(d0) rate: $(ratio "$(median_col d0 1)" "$d_ms")}"
  else
  echo "(b)/(a1) rate: $(ratio "$(rate "$N" "$b_ms")" "$(rate "$N" "$a1_ms")")" \
       " (b)/(a) rate: $(ratio "$(rate "$N" "$b_ms")" "$(rate "$N" "$a_ms")")" \
       "${BEFORE:+ (b)/(b0) rate: $(ratio "$(median_col b0 1)" "$b_ms")}" \
       "${BEFORE:+ (b0)/(a1) rate: $(ratio "$(rate "$N" "$(median_col b0 1)")" "$(rate "$N" "$a1_ms")")}"
  echo \
       " (c) time / (b) time: $(awk -v c="$c_ms" -v b="$b_ms" 'BEGIN{printf "%.1f %%", (b > 0) ? 100 * c / b : 0}')" \
       " (d)/kcat produce rate: $(ratio "$dk_ms" "$d_ms")${BEFORE:+  (d0)/kcat produce rate: $(ratio "$dk_ms" "$(median_col d0 1)")}"
  fi
} | tee "$here/results/latest.txt"
