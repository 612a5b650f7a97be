//! `ledgerhook-loadgen`: load for the router, and the broker baseline it is measured against.
//!
//! - `router`: Stripe-signed webhooks at a fixed concurrency (or a fixed rate) to a running router.
//! - `baseline`: the same-sized messages through a plain lapin confirmed publisher with the same
//!   concurrency and confirm window: the broker's limit on this machine.
//! - `bench`: starts `ledgerhook-router` with a throwaway config, runs baseline, router at full
//!   concurrency, and router at half the measured peak rate, and prints the ratio in one run.
//! - `demo prepare` and `demo run`: the quickstart's demo against a running system and its
//!   sandbox (`ledgerhook_tests::demo`).

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use ledgerhook_shared::config;
use ledgerhook_tests::{
    demo::{self, DemoOptions},
    load::{self, BaselineOptions, RouterLoad},
};

#[derive(Debug, Parser)]
#[command(
    name = "ledgerhook-loadgen",
    about = "Load generator and benchmark for ledgerhook"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send signed Stripe webhooks to a running router.
    Router {
        /// e.g. http://127.0.0.1:8080/webhooks/acme/stripe
        #[arg(long)]
        url: String,
        /// The source's Stripe signing secret.
        #[arg(long, env = "LOADGEN_STRIPE_SECRET")]
        secret: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
        /// Requests per second, open loop; without it, as fast as the concurrency allows.
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Publish the same messages with a plain lapin confirmed publisher.
    Baseline {
        #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
        amqp_url: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
        #[arg(long, default_value_t = 512)]
        window: usize,
    },
    /// End to end through the real binaries: webhook accepted -> Xero changed, with one and
    /// with two accounting worker processes, the sandbox adding latency to every call.
    E2e {
        #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
        amqp_url: String,
        /// Events per throughput burst.
        #[arg(long, default_value_t = 600)]
        burst: usize,
        /// Events per latency phase, sent at --rate per second.
        #[arg(long, default_value_t = 300)]
        paced: usize,
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Milliseconds the sandbox adds to every Xero call.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
    },
    /// Run baseline, router peak and router at half peak, against a router this command starts.
    Bench {
        #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
        amqp_url: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, default_value_t = 512)]
        window: usize,
        /// Alternating baseline/router rounds; the median round's ratio is reported.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// The router binary; defaults to the one next to this binary.
        #[arg(long)]
        router_bin: Option<PathBuf>,
    },
    /// The quickstart's demo: a change through every sync flow, made in the sandbox.
    #[command(subcommand)]
    Demo(Demo),
}

#[derive(Debug, Subcommand)]
enum Demo {
    /// Before starting the binaries: declare the config's RabbitMQ topology as they do and
    /// empty its queues of what an earlier run left.
    Prepare {
        /// The TOML config file; defaults to $LEDGERHOOK_CONFIG.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// With the sandbox, the router and both workers running: make one change per sync flow in
    /// the sandbox's providers and wait until each shows in the other systems.
    Run {
        /// The TOML config file; defaults to $LEDGERHOOK_CONFIG.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value = "http://127.0.0.1:8900")]
        sandbox: String,
        /// Defaults to the first tenant with QuickBooks, HubSpot and a Stripe source.
        #[arg(long)]
        tenant: Option<String>,
        /// How long each flow may take.
        #[arg(long, default_value_t = 90)]
        timeout_secs: u64,
    },
}

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<config::Config> {
    let path = config::config_path(path)?;
    config::load_file(&path, &config::env_vars())
        .with_context(|| format!("loading {}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Router {
            url,
            secret,
            concurrency,
            requests,
            rate,
        } => {
            let report = load::run_router(&RouterLoad {
                url,
                secret,
                concurrency,
                requests,
                rate,
            })
            .await?;
            println!("{}", report.table_row("router"));
        }
        Command::Baseline {
            amqp_url,
            concurrency,
            requests,
            window,
        } => {
            let prefix = format!("lhbench-{}", std::process::id());
            let options = BaselineOptions {
                amqp_url,
                payload: load::canonical_event_like(load::stripe_body(0).len()),
                prefix: prefix.clone(),
                concurrency,
                requests,
                window,
            };
            let report = load::run_baseline(&options).await;
            load::delete_bench_topology(&options.amqp_url, &prefix).await;
            println!("{}", report?.table_row("baseline"));
        }
        Command::E2e {
            amqp_url,
            burst,
            paced,
            rate,
            latency_ms,
        } => {
            let bin_dir = std::env::current_exe()?
                .parent()
                .context("binary has no directory")?
                .to_owned();
            ledgerhook_tests::e2e_bench::run(&ledgerhook_tests::e2e_bench::E2eOptions {
                bin_dir,
                amqp_url,
                burst,
                paced,
                rate,
                latency_ms,
            })
            .await?;
        }
        Command::Bench {
            amqp_url,
            concurrency,
            requests,
            window,
            rounds,
            router_bin,
        } => {
            let bin = match router_bin {
                Some(bin) => bin,
                None => std::env::current_exe()?
                    .parent()
                    .context("binary has no directory")?
                    .join("ledgerhook-router"),
            };
            load::bench(
                &bin,
                &amqp_url,
                concurrency,
                requests,
                window,
                rounds.max(1),
                Duration::from_secs(30),
            )
            .await?;
        }
        Command::Demo(Demo::Prepare { config }) => {
            if let Err(e) = demo::prepare(&load_config(config.as_deref())?).await {
                eprintln!("[demo] FAILED: {e:#}");
                std::process::exit(1);
            }
        }
        Command::Demo(Demo::Run {
            config,
            sandbox,
            tenant,
            timeout_secs,
        }) => {
            let options = DemoOptions {
                sandbox_url: sandbox,
                tenant,
                timeout: Duration::from_secs(timeout_secs),
            };
            if let Err(e) = demo::run(&load_config(config.as_deref())?, &options).await {
                println!("[demo] FAILED: {e:#}");
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
