#!/usr/bin/env bash
# Crash trials for `sti aggregate`: "nothing lost, nothing counted twice" under SIGKILL.
#
#   Deploy/crash-trials.sh [--seed S] [--trials N] [--messages M] [--batch-size B]
#                          [--port P] [--kills K] [--keep]
#
# Starts its own Tansu broker (loopback, memory storage, a dedicated port), builds `sti` if
# needed (release; or set STI_BIN to a built binary), generates a seeded load feed and loads it
# with kcat, and makes one uninterrupted reference run. Then, per trial, with a fresh state and
# output folder: starts `sti aggregate`, SIGKILLs it at a random instant (seeded: RANDOM=$seed),
# restarts it, 1..K times (one stop in six waits for a run folder to appear, to land in the
# snapshot-writing window; one in six is a SIGTERM, which makes the run snapshot what it has
# drained, so the chain of snapshots grows), and finally lets a run finish. A trial passes when
#   - indicators.csv and completeness.csv of `latest` equal the reference byte for byte (cmp),
#   - `latest` pointed at a folder with a manifest whenever it was looked at (after every stop),
#   - the manifests of the snapshot chain (latest -> previous_run_id -> ...) cover every offset
#     of every submission partition exactly once, their counts add up to the reference's, and
#     their rejections.csv rows are the reference's rows, each once,
#   - every rejected source offset of the reference has a notice on sti.rejected sent during
#     the trial (a notice may be sent twice after a crash; protocol section 6).
# Prints one line per trial and finally "P/N trials passed"; exits non-zero on any failure.
#
# CI runs the short version: Deploy/crash-trials.sh --trials 3 --messages 20000
# STI_TANSU / STI_RDKAFKA216_DIR are taken from the environment, else from Deploy/install-deps.sh.
# STI_BIN: use this sti binary instead of building one (the binary itself, not a wrapper script:
# signals go to its pid); STI_SCRATCH_PATH: where to build it.
set -euo pipefail

seed=20240611
trials=20
messages=100000
batch_size=1000
port=""
max_kills=3
keep=0

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --trials) trials="$2"; shift 2 ;;
    --messages) messages="$2"; shift 2 ;;
    --batch-size) batch_size="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --kills) max_kills="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "crash-trials: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$seed" "$trials" "$messages" "$batch_size" "$max_kills"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "crash-trials: not a number: $n" >&2; exit 2; }
done
[ "$trials" -ge 1 ] && [ "$messages" -ge 1 ] && [ "$max_kills" -ge 1 ] || { echo "crash-trials: --trials, --messages and --kills must be at least 1" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
package_dir="${STI_PACKAGE_DIR:-$(dirname "$here")}"
started_at=$SECONDS

if [ -z "${STI_TANSU:-}" ] || [ -z "${STI_RDKAFKA216_DIR:-}" ]; then
  deps=$("$here/install-deps.sh")
  STI_TANSU=$(printf '%s\n' "$deps" | sed -n 's/^TANSU=//p')
  STI_RDKAFKA216_DIR=$(printf '%s\n' "$deps" | sed -n 's/^RDKAFKA216_DIR=//p')
fi
[ -x "$STI_TANSU" ] || { echo "crash-trials: no tansu at $STI_TANSU" >&2; exit 1; }
[ -e "$STI_RDKAFKA216_DIR/librdkafka.so.1" ] || { echo "crash-trials: no librdkafka.so.1 in $STI_RDKAFKA216_DIR" >&2; exit 1; }

# `sti` and kcat talk to Tansu only through librdkafka 2.16 (see the shared Kafka notes).
export LD_LIBRARY_PATH="$STI_RDKAFKA216_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [ -n "${STI_BIN:-}" ]; then
  sti="$STI_BIN"
else
  # STI_SCRATCH_PATH: build elsewhere than <package>/.build (e.g. a developer's own folder).
  build=(swift build -c release ${STI_SCRATCH_PATH:+--scratch-path "$STI_SCRATCH_PATH"})
  echo "crash-trials: building sti (release)"
  (cd "$package_dir" && "${build[@]}" --product sti 2>&1 | grep -E 'error|warning:' >&2 || true)
  sti="$(cd "$package_dir" && "${build[@]}" --show-bin-path)/sti"
fi
[ -x "$sti" ] || { echo "crash-trials: no sti binary at $sti" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sti-crash-trials.XXXXXX")
tansu_pid=""
sti_pid=""
failed=0

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cleanup() {
  if [ -n "$sti_pid" ] && kill -0 "$sti_pid" 2>/dev/null; then kill -KILL "$sti_pid" 2>/dev/null || true; wait "$sti_pid" 2>/dev/null || true; fi
  if [ -n "$tansu_pid" ] && kill -0 "$tansu_pid" 2>/dev/null; then
    kill -TERM "$tansu_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$tansu_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$tansu_pid" 2>/dev/null || true
    wait "$tansu_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ] || [ "$failed" != 0 ]; then
    echo "crash-trials: work folder kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'echo "crash-trials: unexpected failure at line $LINENO: $BASH_COMMAND" >&2; failed=1' ERR
trap 'exit 130' INT TERM

# A port of our own: the given one, else one the kernel says is free now.
if [ -z "$port" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
fi
if listening "$port"; then echo "crash-trials: port $port is taken" >&2; exit 1; fi
brokers="127.0.0.1:$port"
url="tcp://127.0.0.1:$port"
"$STI_TANSU" broker --listener-url "$url" --advertised-listener-url "$url" --storage-engine memory://tansu/ \
  >"$work/tansu.log" 2>&1 &
tansu_pid=$!
for _ in $(seq 1 200); do listening "$port" && break; kill -0 "$tansu_pid" 2>/dev/null || break; sleep 0.1; done
listening "$port" || { echo "crash-trials: tansu did not listen on $brokers" >&2; tail -n 20 "$work/tansu.log" >&2; failed=1; exit 1; }

"$sti" topics create --brokers "$brokers" --partitions 6 --timeout 30 >"$work/topics.log" 2>&1 \
  || { cat "$work/topics.log" >&2; failed=1; exit 1; }
"$sti" generate --out "$work/feed" --messages "$messages" --seed "$seed" >/dev/null
for topic in sti.rd sti.tech-contracts sti.county-profiles; do
  kcat -P -X partitioner=murmur2_random -b "$brokers" -t "$topic" -K $'\t' -l "$work/feed/$topic.keyed" 2>"$work/kcat-$topic.log" \
    || { cat "$work/kcat-$topic.log" >&2; failed=1; exit 1; }
  if grep -qE 'ERROR|Failed' "$work/kcat-$topic.log"; then cat "$work/kcat-$topic.log" >&2; failed=1; exit 1; fi
done

aggregate() { # out state group -> runs sti aggregate in the background, sets sti_pid
  "$sti" aggregate --brokers "$brokers" --out "$1" --state "$2" --group "$3" --batch-size "$batch_size" \
    --timeout 60 >>"$1.stdout" 2>>"$1.stderr" &
  sti_pid=$!
}

# Reference: one uninterrupted run.
ref="$work/reference"
mkdir -p "$ref"
t0=$(date +%s%N)
aggregate "$ref/out" "$ref/state.sqlite" sti-crash-reference
wait "$sti_pid" || { echo "crash-trials: the reference run failed" >&2; tail -n 20 "$ref/out.stderr" >&2; failed=1; exit 1; }
sti_pid=""
ref_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -f "$ref/out/latest/manifest.json" ] || { echo "crash-trials: the reference run wrote no snapshot" >&2; failed=1; exit 1; }

# The rejections the feed must produce, by code, against the reference manifest.
python3 - "$work/feed/load-summary.json" "$ref/out/latest/manifest.json" <<'EOF' || { failed=1; exit 1; }
import json, sys
summary = json.load(open(sys.argv[1])); manifest = json.load(open(sys.argv[2]))
expected = summary.get("invalid_by_code") or summary.get("invalidByCode") or {}
got = manifest["counts"]["rejected_by_code"]
if expected and got != expected:
    sys.exit(f"crash-trials: reference rejections {got} differ from the feed's {expected}")
if manifest["counts"]["read"] != summary["messages"]:
    sys.exit(f"crash-trials: reference read {manifest['counts']['read']} of {summary['messages']} messages")
EOF
echo "reference: $messages messages in ${ref_ms} ms, seed $seed, batch size $batch_size"

# Every notice on sti.rejected as "partition offset value" lines (values are one-line JSON).
notices() { kcat -C -b "$brokers" -t sti.rejected -o beginning -e -q -f '%p %o %s\n' 2>/dev/null; }

committed() { # state -> messages whose offsets the state has committed (no run may hold it)
  python3 -c 'import os, sqlite3, sys
if not os.path.exists(sys.argv[1]): print(0); sys.exit()
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
try: print(db.execute("SELECT coalesce(sum(next_offset), 0) FROM offsets").fetchone()[0])
except sqlite3.OperationalError: print(0)' "$1"
}

run_folders() { # out -> how many run folders it has (0 before the first run made runs/)
  if [ -d "$1/runs" ]; then find "$1/runs" -mindepth 1 -maxdepth 1 -type d | wc -l; else echo 0; fi
}

latest_ok() { # out -> fails when latest exists but has no manifest behind it
  local out="$1"
  [ -L "$out/latest" ] || { [ ! -e "$out/latest" ]; return; }
  [ -f "$out/latest/manifest.json" ]
}

RANDOM=$seed
passed=0
for trial in $(seq 1 "$trials"); do
  dir="$work/trial-$trial"
  mkdir -p "$dir"
  notices >"$dir/notices-before.txt"
  kills=$(( 1 + RANDOM % max_kills ))
  plan=""
  problem=""
  killed=0
  for k in $(seq 1 "$kills"); do
    aggregate "$dir/out" "$dir/state.sqlite" "sti-crash-trial-$trial"
    mode=$(( RANDOM % 6 ))
    signal=KILL
    if [ "$mode" = 0 ]; then
      # Wait for a new run folder: the kill then lands while the snapshot is being written
      # or published (or just after, when the machine is fast).
      before=$(run_folders "$dir/out")
      for _ in $(seq 1 $(( ref_ms / 5 + 2000 ))); do
        kill -0 "$sti_pid" 2>/dev/null || break
        now=$(run_folders "$dir/out")
        [ "$now" -gt "$before" ] && break
        sleep 0.005
      done
      what="at-snapshot"
    else
      # SIGTERM now and then: the run stops after its batch and snapshots what it has, so the
      # trial's snapshot chain has several links whose manifests must meet without overlap.
      [ "$mode" = 1 ] && signal=TERM
      # Somewhere in what is left of the work (as the reference's pace predicts), plus startup.
      left=$(( messages - $(committed "$dir/state.sqlite") ))
      delay=$(( (RANDOM * 32768 + RANDOM) % (ref_ms * left / messages + 300) ))
      sleep "$(printf '%d.%03d' $(( delay / 1000 )) $(( delay % 1000 )))"
      what="${delay}ms"
    fi
    if kill "-$signal" "$sti_pid" 2>/dev/null; then
      killed=$(( killed + 1 )); plan="$plan $signal@$what"
    else
      plan="$plan done-before@$what"
    fi
    # (stderr of the waiting goes away: bash's "Killed" job notice is expected here)
    {
      for _ in $(seq 1 1200); do kill -0 "$sti_pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$sti_pid" 2>/dev/null && problem="$problem no-exit-120s-after-SIGTERM"
      wait "$sti_pid" || true
    } 2>/dev/null
    sti_pid=""
    latest_ok "$dir/out" || problem="$problem latest-without-manifest-after-stop-$k"
    plan="$plan(→$(committed "$dir/state.sqlite"))"
  done
  aggregate "$dir/out" "$dir/state.sqlite" "sti-crash-trial-$trial"
  if ! wait "$sti_pid"; then problem="$problem final-run-failed($(tail -n 1 "$dir/out.stderr"))"; fi
  sti_pid=""
  latest_ok "$dir/out" || problem="$problem latest-without-manifest"
  for file in indicators.csv completeness.csv; do
    cmp -s "$ref/out/latest/$file" "$dir/out/latest/$file" || problem="$problem $file-differs"
  done
  notices >"$dir/notices-after.txt"
  if ! check=$(python3 - "$ref/out" "$dir/out" "$dir/notices-before.txt" "$dir/notices-after.txt" <<'EOF'
import csv, json, os, sys
ref_out, out, before_path, after_path = sys.argv[1:5]

def chain(out):
    """Manifests from latest back through previous_run_id (orphan folders are not in it)."""
    result, run = [], os.path.basename(os.readlink(os.path.join(out, "latest")))
    seen = set()
    while run is not None:
        if run in seen: sys.exit(f"previous_run_id loops at {run}")
        seen.add(run)
        path = os.path.join(out, "runs", run)
        result.append((path, json.load(open(os.path.join(path, "manifest.json")))))
        run = result[-1][1]["previous_run_id"]
    return result

def rejection_rows(path):
    with open(os.path.join(path, "rejections.csv"), newline="") as f:
        return [tuple(r) for r in list(csv.reader(f))[1:]]

problems = []
ref = chain(ref_out)
assert len(ref) == 1, "the reference should be one snapshot"
ref_ranges = {(r["topic"], r["partition"]): (r["first_offset"], r["end_offset"]) for r in ref[0][1]["offsets"]}
ref_counts = ref[0][1]["counts"]
ref_rows = rejection_rows(ref[0][0])

runs = chain(out)
covered = {}
for _, m in runs:
    for r in m["offsets"]:
        covered.setdefault((r["topic"], r["partition"]), []).append((r["first_offset"], r["end_offset"]))
for key in sorted(set(ref_ranges) | set(covered)):
    ranges = sorted(covered.get(key, []))
    first, end = ref_ranges.get(key, (None, None))
    position = first
    for a, b in ranges:
        if a != position:
            problems.append(f"{key[0]}[{key[1]}]: {'gap' if a > position else 'overlap'} at {position}..{a}")
        position = max(position, b)
    if position != end:
        problems.append(f"{key[0]}[{key[1]}]: covered to {position}, expected {end}")

total = {"read": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
by_code = {}
rows = []
for path, m in runs:
    for k in total: total[k] += m["counts"][k]
    for code, n in m["counts"]["rejected_by_code"].items(): by_code[code] = by_code.get(code, 0) + n
    rows += rejection_rows(path)
for k in total:
    if total[k] != ref_counts[k]: problems.append(f"counts.{k} {total[k]} != {ref_counts[k]}")
if by_code != ref_counts["rejected_by_code"]: problems.append(f"rejected_by_code {by_code} != {ref_counts['rejected_by_code']}")
if sorted(rows) != sorted(ref_rows): problems.append(f"rejections.csv rows differ ({len(rows)} vs {len(ref_rows)})")

def read_notices(path):
    result = []
    for line in open(path, encoding="utf-8"):
        partition, offset, value = line.rstrip("\n").split(" ", 2)
        result.append((int(partition), int(offset), value))
    return result
seen = {(p, o) for p, o, _ in read_notices(before_path)}
sent = {}
for p, o, value in read_notices(after_path):
    if (p, o) in seen: continue
    src = json.loads(value)["source"]
    key = (src["topic"], src["partition"], src["offset"])
    sent[key] = sent.get(key, 0) + 1
missing = [r for r in ref_rows if (r[0], int(r[1]), int(r[2])) not in sent]
if missing: problems.append(f"{len(missing)} rejected offsets without a notice, e.g. {missing[0][:3]}")
resent = sum(n - 1 for n in sent.values())
print(f"snapshots {len(runs)}, orphans {len(os.listdir(os.path.join(out, 'runs'))) - len(runs)}, notices {len(sent)} (+{resent} resent)")
if problems:
    print("; ".join(problems[:5]))
    sys.exit(1)
EOF
  ); then problem="$problem $check"; check=""; fi
  if [ -z "$problem" ]; then
    passed=$(( passed + 1 ))
    echo "trial $trial: PASS ($killed stop(s):$plan; $check)"
  else
    failed=1
    echo "trial $trial: FAIL ($killed stop(s):$plan;$problem)"
  fi
  [ "$keep" = 1 ] || [ -n "$problem" ] || rm -rf "$dir"
done

echo "$passed/$trials trials passed ($(( SECONDS - started_at )) s)"
if [ "$passed" != "$trials" ]; then exit 1; fi
