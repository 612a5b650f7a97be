#!/usr/bin/env bash
# Makes sure the two services ledgerhook needs answer on this machine: RabbitMQ on 5672 and
# PostgreSQL on 5432 (trust auth for local TCP, database `ledgerhook`). Installs them from
# Debian's packages when missing, starts them when stopped, and does nothing when they run.
# Also installs Chromium and its WebDriver for the console's browser test.
set -euo pipefail

log() { echo "[services] $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local port=$1 name=$2 i
  for i in $(seq 1 120); do port_open "$port" && return 0; sleep 1; done
  log "$name did not answer on port $port after 120 s"; return 1
}

missing=()
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
# The console's browser test drives Debian's Chromium through its WebDriver.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! port_open 5672; then
  log "starting RabbitMQ"
  as_root rabbitmq-server -detached
  wait_port 5672 RabbitMQ
  as_root rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
log "RabbitMQ answers on 5672 ($(as_root rabbitmqctl version 2>/dev/null || echo 'version unknown'))"

if ! port_open 5432; then
  log "starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    for cluster in $(ls "/etc/postgresql/$version"); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
    done
  done
  wait_port 5432 PostgreSQL
fi

# The tests connect as postgres over TCP without a password, as the config's default URL does.
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  log "allowing local TCP connections without a password (development only)"
  for hba in /etc/postgresql/*/*/pg_hba.conf; do
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  done
  for version in $(ls /etc/postgresql); do
    for cluster in $(ls "/etc/postgresql/$version"); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" reload || true
    done
  done
  sleep 1
fi
if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname = 'ledgerhook'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database ledgerhook' || true
fi
log "PostgreSQL answers on 5432, database ledgerhook exists"
