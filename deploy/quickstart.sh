#!/usr/bin/env bash
# Quickstart: the whole system on this machine with simulated providers.
#
#   ./deploy/quickstart.sh          run until Ctrl-C
#   ./deploy/quickstart.sh --once   run the demo, stop everything, exit 0 if every flow synced
#
# Makes sure RabbitMQ and PostgreSQL run (deploy/services.sh), builds the binaries (debug, the
# same build cache as the tests), starts ledgerhook-sandbox, the router and both workers with
# deploy/dev.toml, sends a change through every sync flow of tenant `acme` and prints what
# changed in each simulated system. Logs go to target/quickstart/. On exit it stops the
# processes it started; RabbitMQ and PostgreSQL are system services and keep running.
#
# Its state is its own and starts empty at every run, as the sandbox does: the broker prefix
# `ledgerhook-quickstart` (leftover messages are dropped) and the database
# `ledgerhook_quickstart` (dropped and created again).
set -euo pipefail
cd "$(dirname "$0")/.."

once=false
for arg in "$@"; do
  case "$arg" in
    --once) once=true ;;
    -h | --help)
      sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "usage: $0 [--once]" >&2
      exit 2
      ;;
  esac
done

log() { echo "[quickstart] $*"; }
port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
# ready HOST:PORT PATH: whether GET PATH answers 2xx (bash only; curl may not be installed).
ready() {
  (
    exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$1" >&3
    IFS= read -r -t 5 status <&3 || exit 1
    [[ $status == HTTP/1.[01]\ 2* ]]
  ) 2>/dev/null
}

config=deploy/dev.toml
export LEDGERHOOK_CONFIG="$config"
export LEDGERHOOK_PREFIX=ledgerhook-quickstart
database=ledgerhook_quickstart
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
# The addresses deploy/dev.toml reads, with its defaults.
listen="${LEDGERHOOK_LISTEN:-127.0.0.1:8080}"
admin="${LEDGERHOOK_ADMIN_LISTEN:-127.0.0.1:9090}"
accounting="${LEDGERHOOK_ACCOUNTING_LISTEN:-127.0.0.1:9091}"
crm="${LEDGERHOOK_CRM_LISTEN:-127.0.0.1:9092}"
sandbox=127.0.0.1:8900
token="${LEDGERHOOK_ADMIN_TOKEN:-dev-admin-token-change-me}"
logs=target/quickstart

./deploy/services.sh

for addr in "$sandbox" "$listen" "$admin" "$accounting" "$crm"; do
  if port_open "$addr"; then
    log "$addr is already in use (is another quickstart running?); stop that first" >&2
    exit 1
  fi
done

log "building the binaries: cargo build --bins (debug, sharing the tests' build cache)"
cargo build --bins
bin="${CARGO_TARGET_DIR:-target}/debug"

log "recreating the database $database"
PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $database with (force)"
psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $database"
"$bin/ledgerhook-loadgen" demo prepare --config "$config" 2>&1 | sed 's/^\[demo\]/[quickstart]/'

mkdir -p "$logs"
names=()
pids=()
cleanup() {
  local status=$? i
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping ${names[*]}"
    for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
    for _ in $(seq 1 100); do
      local alive=false
      for i in "${!pids[@]}"; do kill -0 "${pids[$i]}" 2>/dev/null && alive=true; done
      $alive || break
      sleep 0.1
    done
    for i in "${!pids[@]}"; do
      if kill -0 "${pids[$i]}" 2>/dev/null; then
        log "${names[$i]} did not stop within 10 s; killing it"
        kill -KILL "${pids[$i]}" 2>/dev/null || true
      fi
    done
    wait 2>/dev/null || true
    log "stopped; RabbitMQ and PostgreSQL keep running (system services)"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo; exit 0' INT
trap 'exit 143' TERM

# start NAME HOST:PORT PATH COMMAND...: runs COMMAND with its output in
# target/quickstart/NAME.log and waits until GET http://HOST:PORT/PATH answers 2xx.
start() {
  local name=$1 addr=$2 path=$3
  shift 3
  NO_COLOR=1 "$@" >"$logs/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  for _ in $(seq 1 300); do
    if ready "$addr" "$path"; then
      log "$name is ready (http://$addr$path), log $logs/$name.log"
      return 0
    fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
    sleep 0.2
  done
  log "$name did not become ready (http://$addr$path); the end of $logs/$name.log:" >&2
  tail -n 20 "$logs/$name.log" >&2 || true
  if grep -q PRECONDITION_FAILED "$logs/$name.log"; then
    log "RabbitMQ has queues named $LEDGERHOOK_PREFIX.* with other arguments (an older ledgerhook made them)." >&2
    log "nothing was deleted; if their messages can go, delete them (as root) and run the quickstart again:" >&2
    log "  rabbitmqctl -q list_queues name | grep '^$LEDGERHOOK_PREFIX\\.' | xargs -rn1 rabbitmqctl delete_queue" >&2
  fi
  exit 1
}

start sandbox "$sandbox" /_sandbox/healthz \
  "$bin/ledgerhook-sandbox" --config "$config" --listen "$sandbox" --no-rate-limits
start router "$admin" /readyz "$bin/ledgerhook-router" --config "$config"
start accounting-worker "$accounting" /readyz \
  "$bin/ledgerhook-accounting-worker" --config "$config"
start crm-worker "$crm" /readyz "$bin/ledgerhook-crm-worker" --config "$config"

log "demo: one change per sync flow of tenant acme, made in the sandbox's providers"
if ! "$bin/ledgerhook-loadgen" demo run --config "$config" --sandbox "http://$sandbox"; then
  log "FAILED: a flow did not sync; see $logs/*.log and the console's dead letters" >&2
  exit 1
fi

cat <<EOF
[quickstart] running:
[quickstart]   webhooks   http://$listen/webhooks/{tenant}/{source}   (acme: stripe, hubspot, quickbooks)
[quickstart]   sandbox    http://$sandbox   (/quickbooks, /hubspot, /stripe with key sk_test_acme, /_sandbox/state)
[quickstart]   router     http://$admin/readyz, /metrics
[quickstart]   workers    http://$accounting/metrics (accounting), http://$crm/metrics (crm)
[quickstart]   console    http://$admin/console   admin token: $token (development only)
[quickstart]   ledgerctl  $bin/ledgerctl --admin-url http://$admin --token $token events search INV-0001
[quickstart]              $bin/ledgerctl --admin-url http://$admin --token $token dead-letters list
[quickstart]   logs       $logs/{sandbox,router,accounting-worker,crm-worker}.log
[quickstart]   broker prefix $LEDGERHOOK_PREFIX, database $database
EOF
if $once; then
  log "--once: done"
  exit 0
fi
log "running until Ctrl-C, which stops the sandbox, the router and the workers"
set +e
wait -n "${pids[@]}"
status=$?
set -e
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    log "${names[$i]} exited ($status); see $logs/${names[$i]}.log" >&2
  fi
done
exit 1
