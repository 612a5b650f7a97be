//! The entry point both worker binaries share: config, the probes-and-metrics listener, store,
//! clients, consume until SIGTERM, drain, then close the listener.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use clap::Parser;
use ledgerhook_shared::{broker::Destination, config, store::Store, telemetry};
use tokio_util::sync::CancellationToken;

use crate::{
    metrics::WorkerMetrics,
    ops::{OpsServer, Probes},
    runtime,
    shared_limits::SharedLimits,
    sync::Worker,
    targets,
};

#[derive(Debug, Parser)]
struct Args {
    /// The TOML config file; defaults to $LEDGERHOOK_CONFIG.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Events applied at once by this process (and the broker prefetch).
    #[arg(long, default_value_t = runtime::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Serve /healthz, /readyz and /metrics on ADDR (port 0 picks one), instead of the config's
    /// `workers.accounting_listen` or `workers.crm_listen`.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

pub async fn main(destination: Destination) -> anyhow::Result<()> {
    let service = match destination {
        Destination::Accounting => "ledgerhook-accounting-worker",
        Destination::Crm => "ledgerhook-crm-worker",
    };
    let args = Args::parse();
    let path = config::config_path(args.config.as_deref())?;
    let config = config::load_file(&path, &config::env_vars())
        .with_context(|| format!("loading {}", path.display()))?;
    let telemetry = telemetry::init_with(service, &config.telemetry);
    let result = run(destination, service, args, config).await;
    telemetry.shutdown().await;
    result
}

async fn run(
    destination: Destination,
    service: &'static str,
    args: Args,
    config: config::Config,
) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        signal.cancel();
    });
    let metrics = Arc::new(WorkerMetrics::new(destination));
    let probes = Probes::new(metrics.clone());
    let (listen, key) = match args.listen {
        Some(addr) => (Some(addr), "--listen"),
        None => config.workers.listen(destination),
    };
    // Bound before anything else, so a taken port stops the worker at once; served while the
    // worker waits for the store, so liveness holds and readiness says why it is not ready.
    let ops_stop = CancellationToken::new();
    let ops = match listen {
        Some(addr) => {
            let server = OpsServer::bind(addr, probes.clone())
                .with_context(|| format!("binding `{key}` ({addr})"))?;
            tracing::info!(addr = %server.local_addr(), "serving /healthz, /readyz and /metrics");
            Some(tokio::spawn(server.run_until(ops_stop.clone())))
        }
        None => None,
    };
    let store = connect_store(&config, args.concurrency, &shutdown).await?;
    probes.set_store(store.clone());
    let limits = SharedLimits::new();
    limits.report_to(metrics.clone());
    let tenants = targets::build(&config, &store, &limits)?;
    // Checks in until the drain is over, so the other processes keep their parts small while
    // this one still calls the providers.
    let limits_stop = CancellationToken::new();
    let sharing = tokio::spawn(limits.run(store.clone(), limits_stop.clone()));
    let worker = Arc::new(Worker::new(destination, &config, store, tenants).with_metrics(metrics));
    tracing::info!(service, "started");
    runtime::run(worker.clone(), args.concurrency.max(1), shutdown).await;
    limits_stop.cancel();
    let _ = sharing.await;
    // The drain is over: only now do probes and scrapers lose the listener.
    ops_stop.cancel();
    if let Some(ops) = ops {
        match ops.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "metrics listener failed"),
            Err(e) => tracing::warn!(error = %e, "metrics listener panicked"),
            Ok(Ok(())) => {}
        }
    }
    let [applied, suppressed, skipped, retried, dead] = worker.metrics().snapshot();
    tracing::info!(
        applied,
        suppressed,
        skipped,
        retried,
        dead_lettered = dead,
        "stopped"
    );
    Ok(())
}

/// Waits for the store at start rather than failing: it may come up after the worker.
async fn connect_store(
    config: &config::Config,
    concurrency: usize,
    shutdown: &CancellationToken,
) -> anyhow::Result<Store> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match Store::connect(&config.store.url, concurrency + 4).await {
            Ok(store) => return Ok(store),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "store unavailable")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => anyhow::bail!("stopped before the store was reachable"),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received; draining"),
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received; draining"),
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
