#!/usr/bin/env bash
# The main job on a fresh machine: installs what it needs, builds `sti`, and runs `sti demo`:
# librdkafka's mock cluster inside the process, the protocol's topics, every file of Samples/
# submitted signed as each county bureau would, one aggregation, and a snapshot.
#
#   bash Deploy/demo.sh [OUT_DIR]        (default: demo-out)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-demo-out}"
bash Deploy/install-deps.sh >/dev/null
echo "demo: building sti (first build takes a few minutes)" >&2
swift build --product sti >&2
exec .build/debug/sti demo --out "$out" --samples Samples
