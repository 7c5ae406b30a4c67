#!/usr/bin/env bash
# Deploy/fuzz.sh [SECONDS] — build the libFuzzer targets of Fuzz/ (address sanitizer on) and run
# each for SECONDS (default 60), starting from the committed seed corpora Fuzz/corpus/<target>/.
#
#   validator  the message decoder and validator on the three topics, with a key ring (auth),
#              and the canonical JSON round trip of every accepted record
#   feed       the CSV/JSONL feed reader and row checks of `sti submit` / `sti validate`
#   xlsx       the .xlsx reader: whole workbooks, and sheet XML inside a valid workbook
#
# Prints, per target, the inputs executed and the crashes found, and exits non-zero when a
# target crashed (libFuzzer stops a target at its first crash). A crash leaves its input in
# the work folder printed below: replay it with `<binary> <input>`, then add it to
# Fuzz/corpus/<target>/ as `regression-<what>` and to a unit test.
#
# New inputs found during a run go to the work folder, not to the committed corpora.
# Environment: STI_FUZZ_SCRATCH (build folder, default Fuzz/.build), STI_FUZZ_WORK (work folder,
# default a fresh temporary one), STI_FUZZ_TARGETS (default "validator feed xlsx").
set -euo pipefail

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=${STI_FUZZ_SCRATCH:-$root/Fuzz/.build}
work=${STI_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/sti-fuzz.XXXXXX")}
targets=${STI_FUZZ_TARGETS:-validator feed xlsx}
mkdir -p "$work"

flags=(-c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
echo "== building the fuzz targets (release, -sanitize=fuzzer,address) in $scratch"
set +e
(cd "$root/Fuzz" && swift build "${flags[@]}") >"$work/build.log" 2>&1
built=$?
set -e
grep -E 'error|warning:|Build' "$work/build.log" | grep -v '^\[' || true
# Never fuzz stale binaries from an earlier build.
(( built == 0 )) || { echo "fuzz.sh: the build failed (log $work/build.log)" >&2; exit 1; }
bin=$(cd "$root/Fuzz" && swift build "${flags[@]}" --show-bin-path)
for target in $targets; do
    [[ -x $bin/fuzz-$target ]] || { echo "fuzz.sh: $bin/fuzz-$target was not built" >&2; exit 1; }
done

# libFuzzer and ASan report a crash themselves; Swift's own backtracer would only get in their way.
export SWIFT_BACKTRACE=enable=no
# A leak inside swift-foundation (empty files) is suppressed; see the file for why.
export LSAN_OPTIONS="suppressions=$root/Fuzz/lsan-suppressions.txt:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# Per target: the largest input tried (the validator's covers the 65,536-byte size rule).
declare -A max_len=([validator]=70000 [feed]=16384 [xlsx]=65536)
failed=0
summary=()
for target in $targets; do
    corpus="$work/corpus-$target"
    mkdir -p "$corpus" "$work/artifacts-$target"
    log="$work/$target.log"
    echo "== fuzz-$target for ${seconds}s (log $log)"
    set +e
    # The first corpus folder receives new inputs; the committed seeds are only read.
    "$bin/fuzz-$target" -max_total_time="$seconds" -max_len="${max_len[$target]:-4096}" -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts-$target/" \
        "$corpus" "$root/Fuzz/corpus/$target" >"$log" 2>&1
    status=$?
    set -e
    executed=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
    crashes=$(find "$work/artifacts-$target" -type f | wc -l)
    seeds=$(find "$root/Fuzz/corpus/$target" -type f | wc -l)
    found=$(find "$corpus" -type f | wc -l)
    line="fuzz-$target: ${seconds}s, ${executed:-?} inputs executed, $seeds seeds, $found new corpus inputs, $crashes crash(es), libFuzzer exit $status"
    summary+=("$line")
    echo "$line"
    if (( status != 0 || crashes > 0 )); then
        failed=1
        grep -E 'ERROR: |Fatal error|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 || true
        find "$work/artifacts-$target" -type f | sed 's/^/  crash input: /'
    fi
done

echo "== summary (work folder $work)"
printf '%s\n' "${summary[@]}"
exit $failed
