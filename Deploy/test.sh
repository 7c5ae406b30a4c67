#!/usr/bin/env bash
# Runs the whole test suite: builds once, then tests twice.
#
#   1. `swift test` as usual: Debian's librdkafka 2.0.2 is loaded (the headers' version), so the
#      mock-cluster, unit and child-process tests run (child processes that talk to Tansu load
#      librdkafka 2.16 themselves).
#   2. With librdkafka 2.16 first on LD_LIBRARY_PATH and STI_KAFKA_LIB=2.16: the suites whose
#      names contain `TansuInProcess`, whose in-process clients talk to a Tansu broker (2.0.2
#      cannot). Those suites skip themselves in run 1; mock-cluster suites skip in run 2.
#   3. Deploy/browser-test.sh: the demo's report.html in headless Chromium (about 20 s).
#
# Arguments are passed to both `swift test` runs (e.g. --filter, --parallel). Repeated --filter
# options are OR-ed, so a --filter given here also selects its tests in run 2; Kafka suites that
# do not belong in run 2 skip themselves there.
# STI_PACKAGE_DIR selects the package (default: this script's repository).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
package_dir="${STI_PACKAGE_DIR:-$(dirname "$here")}"
cd "$package_dir"

if [ -z "${STI_TANSU:-}" ] || [ -z "${STI_RDKAFKA216_DIR:-}" ] || [ -z "${STI_COMPOSE_SCHEMA:-}" ]; then
  deps=$("$here/install-deps.sh")
  STI_TANSU=$(printf '%s\n' "$deps" | sed -n 's/^TANSU=//p')
  STI_RDKAFKA216_DIR=$(printf '%s\n' "$deps" | sed -n 's/^RDKAFKA216_DIR=//p')
  STI_COMPOSE_SCHEMA=$(printf '%s\n' "$deps" | sed -n 's/^COMPOSE_SCHEMA=//p')
fi
export STI_TANSU STI_RDKAFKA216_DIR STI_COMPOSE_SCHEMA

swift build --build-tests

echo "== test run 1/2: librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo '(system)') =="
status=0
swift test --skip-build "$@" || status=$?

echo "== test run 2/2: in-process Tansu suites with librdkafka 2.16 =="
STI_KAFKA_LIB=2.16 LD_LIBRARY_PATH="$STI_RDKAFKA216_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  swift test --skip-build --filter TansuInProcess "$@" || status=$?

echo "== browser test: the demo's report.html in headless Chromium =="
"$here/browser-test.sh" "$(swift build --show-bin-path)/sti" || status=$?

exit "$status"
