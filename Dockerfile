# syntax=docker/dockerfile:1
# One image for every ledgerhook binary; the command chooses which runs:
#   docker build -t ledgerhook .
#   docker run ledgerhook ledgerhook-router
#   docker run ledgerhook ledgerhook-accounting-worker --concurrency 32
# Binaries: ledgerhook-router, ledgerhook-accounting-worker, ledgerhook-crm-worker,
# ledgerhook-sandbox, ledgerctl. Configuration: $LEDGERHOOK_CONFIG (mount the TOML file there).

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS builder
WORKDIR /src

# Dependencies first, built against empty crates, so this layer is reused until a manifest or
# the lock file changes.
COPY Cargo.toml Cargo.lock ./
COPY shared/Cargo.toml shared/
COPY router/Cargo.toml router/
COPY workers/Cargo.toml workers/
COPY tests/Cargo.toml tests/
RUN set -eu; \
    for f in shared/src/lib.rs router/src/lib.rs workers/src/lib.rs tests/src/lib.rs; do \
        mkdir -p "$(dirname "$f")"; : > "$f"; \
    done; \
    for f in router/src/main.rs router/src/bin/ledgerctl/main.rs workers/src/bin/accounting.rs \
             workers/src/bin/crm.rs tests/src/bin/loadgen.rs tests/src/bin/sandbox.rs; do \
        mkdir -p "$(dirname "$f")"; echo 'fn main() {}' > "$f"; \
    done; \
    cargo build --release --locked \
        --bin ledgerhook-router --bin ledgerctl \
        --bin ledgerhook-accounting-worker --bin ledgerhook-crm-worker \
        --bin ledgerhook-sandbox; \
    rm -rf shared/src router/src workers/src tests/src

# The workspace itself. Touching the sources makes cargo rebuild the crates the stubs stood in for.
COPY shared shared
COPY router router
COPY workers workers
COPY tests tests
RUN set -eu; \
    find shared router workers tests -type f -exec touch {} +; \
    cargo build --release --locked \
        --bin ledgerhook-router --bin ledgerctl \
        --bin ledgerhook-accounting-worker --bin ledgerhook-crm-worker \
        --bin ledgerhook-sandbox; \
    mkdir -p /out; \
    cp target/release/ledgerhook-router target/release/ledgerctl \
       target/release/ledgerhook-accounting-worker target/release/ledgerhook-crm-worker \
       target/release/ledgerhook-sandbox /out/

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 ledgerhook \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ledgerhook \
    && mkdir -p /etc/ledgerhook
COPY --from=builder /out/ /usr/local/bin/
ENV LEDGERHOOK_CONFIG=/etc/ledgerhook/ledgerhook.toml \
    LOG_FORMAT=json
USER 10001:10001
# 8080 webhooks (router.listen), 9090 admin API, probes and metrics (router.admin_listen),
# 9091 a worker's probes and metrics (workers.*_listen); the sandbox listens where --listen says.
EXPOSE 8080 9090 9091
CMD ["ledgerhook-router"]
