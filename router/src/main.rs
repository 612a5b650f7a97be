//! `ledgerhook-router --config FILE`: serves webhooks until SIGTERM or Ctrl-C, then drains.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use ledgerhook_router::Application;
use ledgerhook_shared::{config, telemetry};
use tokio_util::sync::CancellationToken;

// Request handling allocates many small, short-lived buffers; mimalloc serves those with
// less contention between the server's threads than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "ledgerhook-router",
    version,
    about = "Webhook ingress for ledgerhook"
)]
struct Args {
    /// The TOML config file; defaults to $LEDGERHOOK_CONFIG.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let path = config::config_path(args.config.as_deref())?;
    let config = config::load_file(&path, &config::env_vars())
        .with_context(|| format!("loading {}", path.display()))?;
    let telemetry = telemetry::init_with("ledgerhook-router", &config.telemetry);

    let shutdown = CancellationToken::new();
    let app = Application::build(config, shutdown.clone())
        .await
        .context("binding the router's listeners")?;
    tracing::info!(
        port = app.port(),
        admin_port = app.admin_port(),
        "ledgerhook-router listening"
    );

    tokio::spawn(async move {
        wait_for_signal().await;
        shutdown.cancel();
    });
    let stopped = app.run_until_stopped().await;
    telemetry.shutdown().await;
    stopped?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
