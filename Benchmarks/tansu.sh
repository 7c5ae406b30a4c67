# Sourced by the benchmark scripts: a Tansu broker of their own on a free loopback port, and
# the cleanup that stops it (by its pid) and removes the work folder.
# Expects: TANSU (the broker binary), PY (python3), W (the work folder), remove_work_dir (1 to
# delete W at exit unless STI_BENCH_KEEP=1), and the script's log and die functions.
# Sets: B (host:port) and broker_pid.
broker_pid=""
bench_cleanup() {
  local rc=$?
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$broker_pid" 2>/dev/null || true
  fi
  if [ "$remove_work_dir" = 1 ] && [ "${STI_BENCH_KEEP:-0}" != 1 ]; then rm -rf "$W"; else log "work folder kept: $W"; fi
  exit $rc
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

start_tansu() {
  local port
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  B="127.0.0.1:$port"
  "$TANSU" broker --listener-url "tcp://$B" --advertised-listener-url "tcp://$B" \
    --storage-engine memory://tansu/ > "$W/broker.log" 2>&1 < /dev/null &
  broker_pid=$!
  for i in $(seq 1 100); do
    kcat -L -b "$B" -m 3 2>/dev/null | grep -q broker && break
    kill -0 "$broker_pid" 2>/dev/null || { tail -n 20 "$W/broker.log" >&2; die "broker exited"; }
    [ "$i" -lt 100 ] || die "broker did not answer on $B"
    sleep 0.2
  done
  log "Tansu on $B (pid $broker_pid), work folder $W"
}
