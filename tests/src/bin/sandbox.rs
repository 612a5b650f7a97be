//! `ledgerhook-sandbox --config FILE --listen ADDR`: simulates Xero, QuickBooks Online, HubSpot,
//! Salesforce and Stripe for the tenants of a ledgerhook config until SIGTERM or Ctrl-C.
//!
//! Point a tenant's target at it with `base_url = "http://ADDR/xero"` (or `.../quickbooks`,
//! `.../hubspot`, `.../salesforce`), and a Stripe client at `http://ADDR/stripe` with the key
//! `sk_test_<tenant id>`; its webhooks go to `router.public_base_url`, signed with the matching
//! sources' secrets.

use std::{net::TcpListener, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use ledgerhook_shared::{config, telemetry};
use ledgerhook_tests::sandbox::{Options, Sandbox};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "ledgerhook-sandbox",
    version,
    about = "Stateful simulators of the Xero, QuickBooks Online, HubSpot, Salesforce and Stripe APIs for ledgerhook"
)]
struct Args {
    /// The TOML config file; defaults to $LEDGERHOOK_CONFIG.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to serve on, e.g. 127.0.0.1:8900.
    #[arg(long, default_value = "127.0.0.1:8900")]
    listen: String,
    /// Lifetime of access tokens issued by the OAuth endpoints.
    #[arg(long, default_value_t = 1800)]
    token_lifetime_secs: u64,
    /// How long a Xero `Idempotency-Key` or a QuickBooks `requestid` replays its first answer.
    #[arg(long, default_value_t = 360)]
    idempotency_window_secs: u64,
    /// Lift the providers' rate limits (for load and benchmarks); faults still apply.
    #[arg(long)]
    no_rate_limits: bool,
    /// Another Stripe secret key to accept, as KEY=TENANT (repeatable); each Stripe tenant's
    /// `sk_test_<tenant id>` is always accepted.
    #[arg(long = "stripe-key", value_name = "KEY=TENANT")]
    stripe_keys: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init("ledgerhook-sandbox");
    let args = Args::parse();
    let path = config::config_path(args.config.as_deref())?;
    let config = config::load_file(&path, &config::env_vars())
        .with_context(|| format!("loading {}", path.display()))?;
    let listener =
        TcpListener::bind(&args.listen).with_context(|| format!("binding {}", args.listen))?;
    let stripe_api_keys = args
        .stripe_keys
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, t)| (k.to_owned(), t.to_owned()))
                .with_context(|| format!("--stripe-key {pair}: expected KEY=TENANT"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut options = Options {
        stripe_api_keys,
        access_token_lifetime: Duration::from_secs(args.token_lifetime_secs),
        idempotency_window: Duration::from_secs(args.idempotency_window_secs),
        ..Options::default()
    };
    if args.no_rate_limits {
        options = options.without_rate_limits();
    }
    let shutdown = CancellationToken::new();
    let sandbox = Sandbox::start_with(config, listener, shutdown.clone(), options)
        .await
        .context("starting the sandbox")?;
    tracing::info!(
        url = sandbox.base_url(),
        "ledgerhook-sandbox listening: /xero, /quickbooks, /hubspot, /salesforce, /stripe, /_sandbox"
    );
    tokio::spawn(async move {
        wait_for_signal().await;
        shutdown.cancel();
    });
    sandbox.stopped().await?;
    tracing::info!("stopped");
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
