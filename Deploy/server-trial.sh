#!/usr/bin/env bash
# Runs Deploy/README.md's server installation, command by command, on a throwaway Debian server:
# a container booted with systemd as PID 1 (systemd-nspawn --boot) whose root is an overlay of
# this machine's root, every write landing in a tmpfs that is dropped at the end. The Kafka
# cluster is a Tansu broker on loopback, fed with the signed sample submissions by `sti demo`
# (as the bureaus would), so the timer's service has real work. Each server command is printed
# as `sti-server# …` with its output, then checked; the script stops at the first check that
# fails and exits non-zero.
#
#   sudo bash Deploy/server-trial.sh        (root: it mounts an overlay and boots a container)
#
#   STI_BIN      a prebuilt sti binary; without it, step 2's `swift build -c release
#                --static-swift-stdlib` runs here (several minutes)
#   STI_TRIAL_DIR  work folder (default /var/tmp/sti-server-trial): logs and the overlay's mount
#   STI_BROKER_PORT  the broker's loopback port (default 19392)
#
# What the trial changes against the README, because this is not a real server (each is printed
# as `trial:` when it happens):
#   - Tansu is a Kafka-protocol broker that Debian's librdkafka 2.0.2 cannot talk to; the server's
#     librdkafka.so.1 is replaced by 2.16 (from the confluent-kafka wheel). Tansu speaks
#     PLAINTEXT: sti.env drops STI_KAFKA_CONFIG (the SASL file is installed, unused).
#   - `/secure/keys.json` is Samples/keys.demo.json and `/secure/kafka-ca.pem` a throwaway
#     self-signed certificate; `editor` is a `sed` that sets STI_BROKERS.
#   - Packages do not start their services when installed (a policy-rc.d, usual in containers);
#     node-exporter is then started listening on 127.0.0.1:9100 only. The server's apt finds
#     the packages in a cache this script fills once (download only; $STI_DEPS_DIR).
# Nothing outside the overlay changes: the container shares only the network (loopback) with
# this machine; its /tmp, /run and all files it writes are its own.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

[ "$(id -u)" -eq 0 ] || { echo "server-trial: must run as root (overlay mount, systemd-nspawn)" >&2; exit 2; }

work="${STI_TRIAL_DIR:-/var/tmp/sti-server-trial}"
port="${STI_BROKER_PORT:-19392}"
brokers="127.0.0.1:$port"
root="$work/root"
layers="$work/layers"
machine="sti-server"

deps=$(bash Deploy/install-deps.sh)
rdkafka216=$(printf '%s\n' "$deps" | sed -n 's/^RDKAFKA216_DIR=//p')
command -v systemd-nspawn >/dev/null || { echo "server-trial: no systemd-nspawn (Deploy/install-deps.sh installs systemd-container)" >&2; exit 1; }

say() { printf '\n== %s\n' "$*"; }
trial() { printf 'trial: %s\n' "$*"; }
fail() { printf '\nserver-trial: FAILED: %s\n' "$*" >&2; exit 1; }

nspawn_pid=""
leader=""

# A root shell on the server: the container's namespaces, a clean environment, the repository
# (as seen through the overlay) as working directory.
in_server() {
  nsenter --target "$leader" --all -- env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    TERM=dumb DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= \
    /bin/bash -c "cd '$repo' && $1"
}
# Prints the command and its output; fails the trial if it fails.
server() {
  printf 'sti-server# %s\n' "$1"
  in_server "$1" 2>&1 | sed 's/^/    /'
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || fail "\`$1\` exited $rc"
}
# Waits (at most SECONDS) until no run of the service is going on.
wait_until_idle() {
  for _ in $(seq $(( $1 * 2 ))); do
    [ "$(in_server "systemctl is-active sti-aggregate.service" || true)" = inactive ] && return 0
    sleep 0.5
  done
}
# The same, for commands whose exit status is information (systemctl status of a finished
# oneshot unit exits 3).
server_any() {
  printf 'sti-server# %s\n' "$1"
  in_server "$1" 2>&1 | sed 's/^/    /' || true
}

cleanup() {
  set +e
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # Not through in_server: the poweroff must not depend on anything inside working.
    [ -n "$leader" ] && nsenter --target "$leader" --all -- systemctl poweroff --no-block >/dev/null 2>&1
    for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    # Still up: SIGKILL the container's init, which ends every process of its PID namespace
    # (killing systemd-nspawn alone would leave them running, orphaned).
    if kill -0 "$nspawn_pid" 2>/dev/null; then
      [ -n "$leader" ] && kill -KILL "$leader" 2>/dev/null
      for _ in $(seq 20); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$nspawn_pid" 2>/dev/null && kill -KILL "$nspawn_pid"
    fi
    wait "$nspawn_pid" 2>/dev/null
  fi
  mountpoint -q "$root" && umount "$root"
  mountpoint -q "$layers" && umount "$layers"
  STI_BROKER_PORT="$port" STI_BROKER_DIR="$work/broker" bash Deploy/local-broker.sh stop >/dev/null
}
trap cleanup EXIT

# A previous trial that was killed may have left its mounts.
mkdir -p "$work"
mountpoint -q "$root" && umount "$root"
mountpoint -q "$layers" && umount "$layers"
rm -rf "$work/demo-out" "$work/host-state"

say "the Kafka cluster: Tansu on $brokers"
STI_BROKER_PORT="$port" STI_BROKER_DIR="$work/broker" bash Deploy/local-broker.sh start

say "step 2 (build machine): the binary"
if [ -n "${STI_BIN:-}" ]; then
  sti_bin=$(cd "$(dirname "$STI_BIN")" && pwd)/$(basename "$STI_BIN")
  trial "using the prebuilt STI_BIN=$sti_bin instead of building"
else
  echo "build# swift build -c release --product sti --static-swift-stdlib"
  swift build -c release --product sti --static-swift-stdlib
  sti_bin="$repo/.build/release/sti"
fi
[ -x "$sti_bin" ] || fail "no sti binary at $sti_bin"

say "the server: systemd-nspawn --boot on an overlay of / (writes go to a tmpfs)"
mkdir -p "$root" "$layers"
mount -t tmpfs -o size=4g,mode=0755 sti-trial "$layers"
mkdir -p "$layers/upper" "$layers/work"
mount -t overlay sti-trial -o "lowerdir=/,upperdir=$layers/upper,workdir=$layers/work" "$root"
# The packages the guide installs on the server, fetched once into a cache on this machine
# (download only, nothing installed here) and put where the server's apt looks first: later
# trials need no mirror.
debs="${STI_DEPS_DIR:-$HOME/.cache/sti-pipeline}/server-trial-debs"
mkdir -p "$debs/partial"
apt-get install -y -qq --no-install-recommends --download-only -o Dir::Cache::archives="$debs" \
  ca-certificates prometheus-node-exporter acl prometheus sqlite3 >/dev/null 2>&1 \
  || echo "server-trial: could not cache the server's packages; its apt will download them" >&2
cp "$debs"/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
# This machine's image carries a Docker-style apt hook that empties that cache after every
# dpkg run; a server has none.
rm -f "$root/etc/apt/apt.conf.d/docker-clean"
# Before boot, in the server's own files: no service starts on package installation
# (policy-rc.d), and no leftovers of this machine's earlier trials.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
rm -rf "$root/etc/sti" "$root/srv/sti" "$root/var/lib/sti" "$root/usr/local/bin/sti" "$root/secure" \
  "$root/etc/systemd/system/sti-aggregate.service" "$root/etc/systemd/system/sti-aggregate.timer"
# --register=no --keep-unit: no machined/D-Bus on this machine. The network is shared (the
# broker is on loopback); /tmp and /run are the container's. The repository and the binary are
# bound in read-only at their own paths: a clone under /tmp would be hidden by that /tmp.
binds=(--bind-ro="$repo")
case "$sti_bin" in "$repo"/*) ;; *) binds+=(--bind-ro="$(dirname "$sti_bin")") ;; esac
systemd-nspawn --quiet --directory="$root" --machine="$machine" --boot --register=no --keep-unit \
  "${binds[@]}" --console=passive > "$work/nspawn.log" 2>&1 < /dev/null &
nspawn_pid=$!
for _ in $(seq 100); do
  leader=$(pgrep -P "$nspawn_pid" | head -n1 || true)
  if [ -n "$leader" ]; then
    state=$(in_server "systemctl is-system-running" 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
  fi
  kill -0 "$nspawn_pid" 2>/dev/null || { cat "$work/nspawn.log" >&2; fail "the container did not boot"; }
  sleep 0.5
done
case "${state:-}" in running|degraded) ;; *) fail "the container did not finish booting (state '${state:-}')" ;; esac
server "cat /proc/1/comm && systemctl is-system-running || true"

trial "the server's librdkafka.so.1 is 2.16 (Tansu needs it)"
cp "$(readlink -f "$rdkafka216/librdkafka.so.1")" "$root/usr/lib/x86_64-linux-gnu/librdkafka.so.1"
server "kcat -V | grep -o -m1 'librdkafka 2\.16\.[0-9]*'"

say "step 1: runtime libraries"
server "apt-get install -y librdkafka1 libsqlite3-0 util-linux ca-certificates"

say "step 2 (server): install the binary"
server "install -o root -g root -m 0755 '$sti_bin' /usr/local/bin/sti"
server "sti --help | head -n 3"

say "step 3: a dedicated user"
server "useradd --system --home-dir /var/lib/sti --no-create-home --shell /usr/sbin/nologin sti"

say "step 4: settings and secrets"
trial "/secure holds Samples/keys.demo.json and a throwaway self-signed CA certificate"
mkdir -p "$root/secure"
cp Samples/keys.demo.json "$root/secure/keys.json"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=sti-trial-ca" \
  -keyout /dev/null -out "$root/secure/kafka-ca.pem" 2>/dev/null
server "install -d -o root -g sti -m 0750 /etc/sti"
server "install -o root -g sti -m 0640 Deploy/sti.env.example /etc/sti/sti.env"
server "install -o root -g sti -m 0640 Deploy/kafka.properties.example /etc/sti/kafka.properties"
server "install -o root -g sti -m 0640 /secure/keys.json /etc/sti/keys.json"
server "install -o root -g sti -m 0644 /secure/kafka-ca.pem /etc/sti/kafka-ca.pem"
trial "editor → sed: STI_BROKERS=$brokers; STI_KAFKA_CONFIG commented out (PLAINTEXT broker)"
server "sed -i -e 's|^STI_BROKERS=.*|STI_BROKERS=$brokers|' -e 's|^STI_KAFKA_CONFIG=|#&|' /etc/sti/sti.env"
server "grep -v '^#' /etc/sti/sti.env | grep ."

say "step 5: writable folders"
server "groupadd --system sti-analysts"
server "install -d -o sti -g sti -m 0755 /srv/sti"
server "install -d -o sti -g sti-analysts -m 2750 /srv/sti/snapshots"
server "apt-get install -y --no-install-recommends prometheus-node-exporter acl"
server "setfacl -m u:sti:rwx /var/lib/prometheus/node-exporter"
trial "node-exporter listens on loopback only, then starts"
server "sed -i 's|^ARGS=.*|ARGS=\"--web.listen-address=127.0.0.1:9100\"|' /etc/default/prometheus-node-exporter && systemctl restart prometheus-node-exporter"

say "the topics (README operator guide), against this cluster"
server "sti topics create --brokers $brokers --partitions 6 --replication-factor 3 --min-insync-replicas 2"

say "the bureaus submit (from this machine, not the server): sti demo --brokers $brokers"
LD_LIBRARY_PATH="$rdkafka216" "$sti_bin" demo --brokers "$brokers" --samples Samples --out "$work/demo-out" \
  | sed 's/^/    /'
[ -f "$work/demo-out/latest/indicators.csv" ] || fail "the bureaus' demo wrote no snapshot"

say "step 6: the units"
server "install -m 0644 Deploy/systemd/sti-aggregate.service Deploy/systemd/sti-aggregate.timer /etc/systemd/system/"
server "systemd-analyze verify /etc/systemd/system/sti-aggregate.service /etc/systemd/system/sti-aggregate.timer"
server "systemctl daemon-reload"

say "step 7: one run by hand"
server "systemctl start sti-aggregate.service"
server_any "systemctl status sti-aggregate.service"
server "journalctl -u sti-aggregate.service -e --no-pager"
server "ls -l /srv/sti/snapshots/latest/"
result=$(in_server "systemctl show -p Result --value sti-aggregate.service")
[ "$result" = success ] || fail "the service's Result is '$result'"
journal=$(in_server "journalctl -u sti-aggregate.service --no-pager -o cat")
grep -q "read [0-9]*, accepted [0-9]*, duplicates" <<< "$journal" || fail "no summary line in the journal"
if grep -qi "error\|warning" <<< "$journal"; then
  fail "the run logged warnings or errors: $(grep -i "error\|warning" <<< "$journal" | head -n 3)"
fi
# Swift's Dispatch may not renice a worker thread of an unprivileged process: harmless, and
# documented as once per run (it was four with Nice=5).
[ "$(grep -c "Failed to set thread priority" <<< "$journal")" -le 1 ] || fail "more than one Dispatch priority message"
cmp "$root/srv/sti/snapshots/latest/indicators.csv" "$work/demo-out/latest/indicators.csv" \
  || fail "the server's indicators.csv differs from the bureaus' demo run on the same topics"
echo "check: the timer's service wrote the same indicators.csv as the demo's own aggregation"
trial "an analyst's account, and one that is not an analyst's"
server "useradd --no-create-home --shell /usr/sbin/nologin analyst && usermod -aG sti-analysts analyst && useradd --no-create-home --shell /usr/sbin/nologin visitor"
server "runuser -u analyst -- head -n 3 /srv/sti/snapshots/latest/indicators.csv"
if in_server "runuser -u visitor -- cat /srv/sti/snapshots/latest/indicators.csv" >/dev/null 2>&1; then
  fail "a user outside sti-analysts can read the snapshot"
fi
echo "check: members of sti-analysts read the snapshot, other users cannot"

say "metrics"
server "cat /var/lib/prometheus/node-exporter/sti.prom"
grep -q '^sti_aggregate_last_run_success 1' "$root/var/lib/prometheus/node-exporter/sti.prom" \
  || fail "sti.prom does not say the run succeeded"
grep -q '^sti_consumer_lag{' "$root/var/lib/prometheus/node-exporter/sti.prom" || fail "sti.prom has no consumer lag"
server "ls -l /var/lib/prometheus/node-exporter/sti.prom"
for _ in $(seq 40); do in_server "curl -sf http://127.0.0.1:9100/metrics" >/dev/null 2>&1 && break; sleep 0.5; done
server_any "systemctl status prometheus-node-exporter --no-pager | head -n 5"
server "curl -s 127.0.0.1:9100/metrics | grep '^sti_'"
scraped=$(in_server "curl -s 127.0.0.1:9100/metrics")
grep -q '^node_textfile_scrape_error 0' <<< "$scraped" || fail "node-exporter could not read sti.prom"
grep -q '^sti_aggregate_last_run_success 1' <<< "$scraped" || fail "node-exporter does not serve the run's success"
grep -q '^sti_consumer_lag{' <<< "$scraped" || fail "node-exporter does not serve the consumer lag"

say "Prometheus reads the metrics and evaluates the README's alert rules"
trial "Prometheus from Debian, on 127.0.0.1:9090, scraping node-exporter every 2 s"
server "apt-get install -y --no-install-recommends prometheus"
python3 - "$repo/Deploy/README.md" "$root/etc/prometheus/sti-rules.yml" <<'PYEOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
section = text[text.index("Alerting rules for Prometheus"):]
block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
open(sys.argv[2], "w", encoding="utf-8").write(block)
PYEOF
server "promtool check rules /etc/prometheus/sti-rules.yml"
cat > "$root/etc/prometheus/prometheus.yml" <<'YAML'
global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files:
  - /etc/prometheus/sti-rules.yml
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:9100"]
YAML
server "sed -i 's|^ARGS=.*|ARGS=\"--web.listen-address=127.0.0.1:9090\"|' /etc/default/prometheus && systemctl restart prometheus"
promql() { in_server "curl -sf --get http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=$1'" 2>/dev/null || true; }
wait_promql() { # query, python condition on the result list r -> waits up to 30 s
  for _ in $(seq 60); do
    python3 -c "import json,sys; r=json.load(sys.stdin)['data']['result']; sys.exit(0 if ($2) else 1)" <<< "$(promql "$1")" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}
wait_promql 'sti_aggregate_last_run_success' "len(r) == 1 and r[0]['value'][1] == '1'" \
  || fail "Prometheus never saw sti_aggregate_last_run_success 1"
server "curl -sf --get http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=sum(sti_consumer_lag)'; echo"
echo "a run that cannot reach the brokers: the metric says 0 and StiAggregationFailing is pending"
server "cp -p /etc/sti/sti.env /etc/sti/sti.env.good && sed -i -e 's|^STI_BROKERS=.*|STI_BROKERS=127.0.0.1:1|' -e 's|^#* *STI_TIMEOUT=.*|STI_TIMEOUT=3|' /etc/sti/sti.env"
server_any "systemctl start sti-aggregate.service"
[ "$(in_server "systemctl show -p Result --value sti-aggregate.service")" != success ] || fail "a run without brokers succeeded"
grep -q '^sti_aggregate_last_run_success 0' "$root/var/lib/prometheus/node-exporter/sti.prom" || fail "the failed run did not write success 0"
wait_promql 'ALERTS{alertname="StiAggregationFailing"}' "len(r) == 1 and r[0]['metric']['alertstate'] == 'pending'" \
  || fail "StiAggregationFailing did not become pending"
server "curl -sf --get http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=ALERTS'; echo"
server "mv /etc/sti/sti.env.good /etc/sti/sti.env && systemctl reset-failed sti-aggregate.service && systemctl start sti-aggregate.service"
wait_promql 'ALERTS{alertname="StiAggregationFailing"}' "len(r) == 0" || fail "StiAggregationFailing did not clear"
echo "check: Prometheus saw the failure as a pending StiAggregationFailing, and the next good run cleared it"

say "step 8: enable the timer"
server "systemctl enable --now sti-aggregate.timer"
server "systemctl list-timers sti-aggregate.timer"
[ "$(in_server "systemctl is-active sti-aggregate.timer")" = active ] || fail "the timer is not active"
[ "$(in_server "systemctl is-enabled sti-aggregate.timer")" = enabled ] || fail "the timer is not enabled"

say "day to day"
server "journalctl -u sti-aggregate.service --since today --no-pager -o cat | tail -n 3"
server "runuser -u sti -- sti status --config /etc/sti/sti.env"
server "runuser -u sti -- sti status --config /etc/sti/sti.env --json > /root/status.json && python3 -c 'import json; r = json.load(open(\"/root/status.json\")); print(\"total_lag\", r[\"total_lag\"], \"last snapshot\", r[\"last_snapshot\"][\"run_id\"])'"
before=$(readlink "$root/srv/sti/snapshots/latest")
server "runuser -u sti -- flock -n /var/lib/sti/aggregate.lock sti aggregate --config /etc/sti/sti.env"
[ "$(readlink "$root/srv/sti/snapshots/latest")" = "$before" ] || fail "a run with nothing new moved latest"
echo "check: nothing new, no new snapshot (latest -> $before)"
server "runuser -u sti -- flock -n /var/lib/sti/aggregate.lock sti aggregate --config /etc/sti/sti.env --rebuild"
cmp "$root/srv/sti/snapshots/latest/indicators.csv" "$work/demo-out/latest/indicators.csv" \
  || fail "--rebuild gave a different indicators.csv"
echo "check: --rebuild gave the same indicators.csv"

echo "logs as JSON lines, for a log shipper (STI_LOG_FORMAT=json, journalctl -o json)"
server "sed -i 's|^STI_LOG_FORMAT=.*|STI_LOG_FORMAT=json|' /etc/sti/sti.env && systemctl start sti-aggregate.service"
cat > "$root/root/summary-line.py" <<'PYEOF'
import json, sys
# The journal's own JSON, one entry a line; sti's line is JSON again inside MESSAGE.
for entry in map(json.loads, sys.stdin):
    message = entry.get("MESSAGE")
    if isinstance(message, str) and message.startswith("{"):
        line = json.loads(message)
        if "read 0, accepted 0" in line.get("message", ""):
            print(json.dumps(line, ensure_ascii=False))
            sys.exit(0)
sys.exit("no JSON summary line in the journal")
PYEOF
server "journalctl -u sti-aggregate.service -o json -n 40 --no-pager | python3 /root/summary-line.py"
server "sed -i 's|^STI_LOG_FORMAT=.*|STI_LOG_FORMAT=text|' /etc/sti/sti.env"

echo "overlap: a manual run holds the lock while the timer's service starts"
in_server "runuser -u sti -- flock /var/lib/sti/aggregate.lock sleep 30" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 50); do
  in_server "runuser -u sti -- flock -n /var/lib/sti/aggregate.lock true" >/dev/null 2>&1 || break
  sleep 0.2
done
server "systemctl start sti-aggregate.service"
server "systemctl show -p Result -p ExecMainStatus sti-aggregate.service"
[ "$(in_server "systemctl show -p ExecMainStatus --value sti-aggregate.service")" = 75 ] \
  || fail "the overlapping start did not exit 75"
kill "$holder" 2>/dev/null || true
in_server "pkill -u sti -x sleep" >/dev/null 2>&1 || true
wait "$holder" 2>/dev/null || true

echo "upgrading the binary between runs"
server "systemctl stop sti-aggregate.timer"
server "systemctl is-active sti-aggregate.service || true"
server "install -o root -g root -m 0755 '$sti_bin' /usr/local/bin/sti"
server "systemctl start sti-aggregate.timer"

echo "backup of the state database"
server "apt-get install -y sqlite3"
server "runuser -u sti -- flock /var/lib/sti/aggregate.lock sqlite3 /var/lib/sti/state.sqlite \".backup /var/lib/sti/backup.sqlite\""
server "mv /var/lib/sti/backup.sqlite /var/backups/sti-state.sqlite"
server "sqlite3 -readonly /var/backups/sti-state.sqlite 'PRAGMA integrity_check'"

say "the timer starts the service (trial: a drop-in makes it every 10 s instead of hourly)"
runs_started() { in_server "journalctl -u sti-aggregate.service --no-pager -o cat" | grep -c "^Starting sti-aggregate.service" || true; }
started_before=$(runs_started)
mkdir -p "$root/etc/systemd/system/sti-aggregate.timer.d"
printf '[Timer]\nOnCalendar=\nOnCalendar=*:*:0/10\nRandomizedDelaySec=0\nAccuracySec=1s\n' \
  > "$root/etc/systemd/system/sti-aggregate.timer.d/trial.conf"
server "systemctl daemon-reload && systemctl restart sti-aggregate.timer"
for _ in $(seq 60); do [ "$(runs_started)" -gt "$started_before" ] && break; sleep 0.5; done
[ "$(runs_started)" -gt "$started_before" ] || fail "the timer did not start the service within 30 s"
wait_until_idle 30
server "systemctl list-timers sti-aggregate.timer"
server "systemctl show -p Result sti-aggregate.service"
[ "$(in_server "systemctl show -p Result --value sti-aggregate.service")" = success ] || fail "the timer's run did not succeed"
rm -r "$root/etc/systemd/system/sti-aggregate.timer.d"
server "systemctl daemon-reload && systemctl stop sti-aggregate.timer"
# The 10 s timer may have started one more run just before it stopped: let it end.
wait_until_idle 60

say "systemctl stop during a run: SIGTERM, the batch in hand commits, the next run reads the rest"
load=100000
trial "$load more messages, unsigned (so every one is rejected with E_AUTH and gets a notice), loaded with kcat"
"$sti_bin" generate --out "$work/load" --messages "$load" --seed 7 >/dev/null
for topic in sti.rd sti.tech-contracts sti.county-profiles; do
  LD_LIBRARY_PATH="$rdkafka216" kcat -P -X partitioner=murmur2_random -b "$brokers" -t "$topic" -K $'\t' -l "$work/load/$topic.keyed" 2>"$work/kcat.log" \
    || { cat "$work/kcat.log" >&2; fail "kcat could not load $topic"; }
done
count_notices() { LD_LIBRARY_PATH="$rdkafka216" kcat -C -b "$brokers" -t sti.rejected -e -q -f '%k\n' 2>/dev/null | wc -l; }
# Notices already there: the Samples' held messages (section 5a) of the earlier runs.
notices_before=$(count_notices)
since=$(in_server "date +%s")
server "systemctl start --no-block sti-aggregate.service"
# Stop it once it is under way: its first notices are on the broker (a batch is in hand).
# Bounded at 60 s: a run's start (key file, DescribeConfigs, the tail check of every partition,
# the log ends) takes seconds on a loaded machine, and stopping it before its first batch would
# test nothing.
under_way=0
# The probe reads at most one notice past those: a full count would chase the end of a topic the
# run is still appending to and return only when the run is over.
new_notice() {
  [ "$(LD_LIBRARY_PATH="$rdkafka216" kcat -C -b "$brokers" -t sti.rejected -e -q -c "$(( notices_before + 1 ))" -f '%k\n' 2>/dev/null | wc -l)" -gt "$notices_before" ]
}
for _ in $(seq 600); do new_notice && { under_way=1; break; }; sleep 0.1; done
[ "$under_way" = 1 ] || fail "the started run sent no notice within 60 s"
server "systemctl stop sti-aggregate.service"
server "systemctl start sti-aggregate.service"
journal=$(in_server "journalctl -u sti-aggregate.service --no-pager -o cat --since @$since")
grep -q "stop requested: the last batch is committed" <<< "$journal" \
  || { printf '%s\n' "$journal" | tail -n 30 | sed 's/^/    /' >&2; fail "the stopped run did not stop gracefully (or it had finished before the stop)"; }
read_total=$(grep -o "read [0-9]*, accepted" <<< "$journal" | awk '{ n += $2 } END { print n + 0 }')
printf '%s\n' "$journal" | grep -E "stop requested|read [0-9]+, accepted" | sed 's/^/    /'
[ "$read_total" -eq "$load" ] || fail "the two runs read $read_total messages, not $load"
notices=$(( $(count_notices) - notices_before ))
[ "$notices" -eq "$load" ] || fail "sti.rejected holds $notices new notices, not $load"
echo "check: the stopped run and the next read $read_total of $load messages between them, and sti.rejected holds exactly $notices new notices"
server "systemctl start sti-aggregate.timer"

echo "a missing ReadWritePaths= folder gives status=226/NAMESPACE"
server "mv /srv/sti /srv/sti.moved"
server_any "systemctl start sti-aggregate.service"
server_any "systemctl status sti-aggregate.service | grep -m1 'status='"
status=$(in_server "systemctl status sti-aggregate.service" 2>&1 || true)
grep -q 'status=226/NAMESPACE' <<< "$status" || fail "no 226/NAMESPACE"
server "mv /srv/sti.moved /srv/sti && systemctl reset-failed sti-aggregate.service && systemctl start sti-aggregate.service"

say "server-trial: every step passed"
