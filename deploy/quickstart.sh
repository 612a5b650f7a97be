#!/usr/bin/env bash
# Quickstart: make sure RabbitMQ and PostgreSQL run, build ledgerhook, start the router with
# the development config, send it a signed demo Stripe webhook, show where the event went,
# and keep running until Ctrl-C (or, with --once, stop right after the demo).
set -euo pipefail
cd "$(dirname "$0")/.."

once=false
[ "${1:-}" = "--once" ] && once=true

./deploy/services.sh
echo "[quickstart] building (release)"
cargo build --release --quiet --bin ledgerhook-router --bin ledgerhook-loadgen

export LEDGERHOOK_PREFIX="${LEDGERHOOK_PREFIX:-ledgerhook-quickstart}"
secret="whsec_dev_only_0123456789abcdef"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "[quickstart] stopped"
}
trap cleanup EXIT INT TERM

target/release/ledgerhook-router --config deploy/dev.toml &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS http://127.0.0.1:9090/readyz >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS http://127.0.0.1:9090/readyz >/dev/null || { echo "[quickstart] the router is not ready"; exit 1; }

echo "[quickstart] sending a signed Stripe invoice.paid webhook to http://127.0.0.1:8080/webhooks/acme/stripe"
target/release/ledgerhook-loadgen router --url http://127.0.0.1:8080/webhooks/acme/stripe \
  --secret "$secret" --concurrency 1 --requests 1
# The broker refreshes its queue statistics every few seconds.
sleep 6
echo "[quickstart] messages waiting per queue:"
rabbitmqctl -q list_queues name messages 2>/dev/null | grep "^$LEDGERHOOK_PREFIX\." || true
echo "[quickstart] router: http://127.0.0.1:8080/webhooks/{tenant}/{source}; metrics: http://127.0.0.1:9090/metrics"
if $once; then exit 0; fi
echo "[quickstart] running; Ctrl-C stops everything this script started"
wait
