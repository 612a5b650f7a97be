#!/usr/bin/env bash
# The test command: make sure RabbitMQ and PostgreSQL answer, then run the whole workspace's
# tests against them. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/services.sh
exec cargo test --workspace "$@"
