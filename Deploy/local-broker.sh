#!/usr/bin/env bash
# A local Kafka-compatible broker (Tansu, memory storage) for development and demos.
#
#   Deploy/local-broker.sh start    start it (no-op if already running), wait until it answers
#   Deploy/local-broker.sh stop     stop the broker this script started (no-op if none)
#   Deploy/local-broker.sh status   print whether it runs and its address (exit 3 if not)
#
# Listens on 127.0.0.1 only. Memory storage: everything is lost when it stops.
#   STI_BROKER_PORT  port (default 19092)
#   STI_BROKER_DIR   where broker.pid and broker.log live (default $HOME/.cache/sti-pipeline/broker)
#   STI_TANSU, STI_RDKAFKA216_DIR  tool locations; by default taken from Deploy/install-deps.sh
# Clients built on Debian's librdkafka 2.0.2 cannot talk to Tansu: run them with
# LD_LIBRARY_PATH=<RDKAFKA216_DIR> (printed by `start` and `status`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port="${STI_BROKER_PORT:-19092}"
dir="${STI_BROKER_DIR:-$HOME/.cache/sti-pipeline/broker}"
pidfile="$dir/broker.pid"
logfile="$dir/broker.log"
address="127.0.0.1:$port"

case "$port" in
  ''|*[!0-9]*) echo "local-broker: STI_BROKER_PORT must be a number, got '$port'" >&2; exit 2 ;;
esac

locate_tools() {
  if [ -z "${STI_TANSU:-}" ] || [ -z "${STI_RDKAFKA216_DIR:-}" ]; then
    local deps
    deps=$("$here/install-deps.sh")
    STI_TANSU="${STI_TANSU:-$(printf '%s\n' "$deps" | sed -n 's/^TANSU=//p')}"
    STI_RDKAFKA216_DIR="${STI_RDKAFKA216_DIR:-$(printf '%s\n' "$deps" | sed -n 's/^RDKAFKA216_DIR=//p')}"
  fi
  [ -x "$STI_TANSU" ] || { echo "local-broker: no tansu at '$STI_TANSU'" >&2; exit 1; }
}

# The pid we recorded, if that process is still our broker (not a reused pid).
recorded_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--listener-url tcp://$address" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

answers() {
  LD_LIBRARY_PATH="$STI_RDKAFKA216_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    kcat -L -b "$address" -m 3 2>/dev/null | grep -q "broker"
}

start() {
  locate_tools
  local pid
  if pid=$(recorded_pid); then
    echo "already running: pid $pid, bootstrap servers $address"
    return 0
  fi
  if port_open; then
    echo "local-broker: $address is in use by a process this script did not start" >&2
    return 1
  fi
  mkdir -p "$dir"
  echo "--- $(date -u +%Y-%m-%dT%H:%M:%SZ) start on $address" >> "$logfile"
  nohup "$STI_TANSU" broker --listener-url "tcp://$address" --advertised-listener-url "tcp://$address" \
    --storage-engine memory://tansu/ >> "$logfile" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$pidfile"
  local waited=0
  until answers; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge 100 ]; then
      echo "local-broker: broker did not come up on $address; last log lines:" >&2
      tail -n 20 "$logfile" >&2
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$pidfile"
      return 1
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  echo "running: pid $pid, bootstrap servers $address (log $logfile)"
  echo "clients need LD_LIBRARY_PATH=$STI_RDKAFKA216_DIR"
}

stop() {
  local pid
  if ! pid=$(recorded_pid); then
    rm -f "$pidfile"
    echo "not running ($address)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 50 ]; do sleep 0.2; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "local-broker: pid $pid ignored SIGTERM for 10 s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  waited=0
  while port_open && [ "$waited" -lt 50 ]; do sleep 0.2; waited=$((waited + 1)); done
  rm -f "$pidfile"
  if port_open; then
    echo "local-broker: stopped pid $pid but $address is still in use" >&2
    return 1
  fi
  echo "stopped (was pid $pid on $address)"
}

status() {
  local pid
  if pid=$(recorded_pid); then
    echo "running: pid $pid, bootstrap servers $address"
    if [ -n "${STI_RDKAFKA216_DIR:-}" ]; then echo "clients need LD_LIBRARY_PATH=$STI_RDKAFKA216_DIR"; fi
    return 0
  fi
  echo "not running ($address)"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
