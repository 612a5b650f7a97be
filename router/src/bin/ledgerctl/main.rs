//! `ledgerctl`: the support and operator CLI. Lists, shows, replays and discards dead letters
//! and searches the event journal through the router's admin API, and checks a config file
//! exactly as the binaries load it.
//!
//! Exit codes, for scripts: 0 ok; 1 the API answered an error; 2 usage error; 3 not found;
//! 4 unauthorized; 5 the admin API cannot be reached; 6 the config is invalid.

mod api;
mod commands;
mod output;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};
use url::Url;

use api::Failure;

#[derive(Debug, Parser)]
#[command(
    name = "ledgerctl",
    version,
    about = "Support CLI for ledgerhook: dead letters, the event journal, config check"
)]
struct Cli {
    /// The router's admin listener.
    #[arg(
        long,
        global = true,
        env = "LEDGERHOOK_ADMIN_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    admin_url: Url,
    /// An admin token from the config's `admin.tokens`.
    #[arg(
        long,
        global = true,
        env = "LEDGERHOOK_ADMIN_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Print the API's JSON answer unchanged instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Events a worker could not apply.
    #[command(subcommand)]
    DeadLetters(DeadLetters),
    /// The journal: what happened to an invoice, a provider object or an event.
    #[command(subcommand)]
    Events(Events),
    /// The configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum DeadLetters {
    /// Newest first, one page at a time.
    List(ListArgs),
    /// The event, the reason, every attempt and every action.
    Show { id: String },
    /// Re-queue one dead letter (ID) or every match of the filters (--all) to its destination.
    Replay(ReplayArgs),
    /// Close an open dead letter without replaying it.
    Discard {
        id: String,
        /// Why, for whoever looks next; recorded with your token's name.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Clone, Default, Args)]
struct Filters {
    #[arg(long)]
    tenant: Option<String>,
    /// The source id (`stripe`) or the event source (`/acme/stripe`).
    #[arg(long)]
    source: Option<String>,
    /// The event type, e.g. `invoice.paid`.
    #[arg(long = "type")]
    event_type: Option<String>,
    /// accounting or crm.
    #[arg(long)]
    destination: Option<String>,
    /// open, replaying, replayed or discarded.
    #[arg(long)]
    status: Option<String>,
    /// An invoice number, provider object id, event id or idempotency key.
    #[arg(long)]
    q: Option<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    filters: Filters,
    /// Page size, 1 to 500 (default 50).
    #[arg(long)]
    limit: Option<u32>,
    /// Where the previous page ended (printed under it).
    #[arg(long)]
    cursor: Option<String>,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The dead letter to replay.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    id: Option<String>,
    /// Replay every dead letter matching the filters (status defaults to open).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    filters: Filters,
}

#[derive(Debug, Subcommand)]
enum Events {
    /// Events whose invoice number, subject, event id, idempotency key or target id is Q.
    Search {
        q: String,
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many events (default 50).
        #[arg(long)]
        limit: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load and validate a config as the binaries do, without connecting to anything.
    Check {
        /// The TOML config file; defaults to $LEDGERHOOK_CONFIG.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Config(ConfigCommand::Check { config }) => {
            commands::config_check(config.as_deref(), cli.json)
        }
        Command::DeadLetters(command) => {
            let api = match api::Api::new(cli.admin_url, cli.token) {
                Ok(api) => api,
                Err(failure) => return report(failure),
            };
            commands::dead_letters(&api, command, cli.json).await
        }
        Command::Events(Events::Search { q, tenant, limit }) => {
            let api = match api::Api::new(cli.admin_url, cli.token) {
                Ok(api) => api,
                Err(failure) => return report(failure),
            };
            commands::events_search(&api, &q, tenant, limit, cli.json).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

fn report(failure: Failure) -> ExitCode {
    eprintln!("ledgerctl: {failure}");
    ExitCode::from(failure.exit_code())
}
