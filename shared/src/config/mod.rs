//! The one TOML configuration file every binary reads, parsed into domain types at load.
//!
//! `load(text, vars)` takes the file's text and the environment as arguments so tests call it
//! directly. Unknown keys are errors, and every error names the key it is about.

mod expand;
mod validate;

use std::{collections::HashMap, net::SocketAddr, path::Path, time::Duration};

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::{broker::Destination, event::Category};

pub use validate::ProviderKind;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config is not valid TOML: {0}")]
    Syntax(String),
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The key the error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub router: RouterConfig,
    pub broker: BrokerConfig,
    pub store: StoreConfig,
    pub admin: AdminConfig,
    pub workers: WorkersConfig,
    pub telemetry: TelemetryConfig,
    pub tenants: Vec<Tenant>,
}

/// `[telemetry]`: span export. Logs always go to stdout, whatever is set here.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP collector spans are exported to, e.g. `http://collector:4318`; no export
    /// when unset. Spans are posted to its `/v1/traces`.
    pub otlp_endpoint: Option<Url>,
}

impl TelemetryConfig {
    /// The URL spans are posted to: the endpoint's `/v1/traces`, unless it already names it.
    pub fn otlp_traces_url(&self) -> Option<Url> {
        let mut url = self.otlp_endpoint.clone()?;
        if !url.path().ends_with("/v1/traces") {
            let base = url.path().trim_end_matches('/').to_owned();
            url.set_path(&format!("{base}/v1/traces"));
        }
        Some(url)
    }
}

#[derive(Debug, Clone)]
pub struct RouterConfig {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub public_base_url: Url,
    pub max_body_bytes: usize,
    /// How long a request waits for the broker's confirms before answering 503.
    pub publish_timeout: Duration,
    /// Publishes awaiting a confirm at once, across all requests.
    pub confirm_window: usize,
}

/// Where each worker binary serves `/healthz`, `/readyz` and `/metrics`; none when unset.
#[derive(Debug, Clone, Default)]
pub struct WorkersConfig {
    pub accounting_listen: Option<SocketAddr>,
    pub crm_listen: Option<SocketAddr>,
}

impl WorkersConfig {
    /// The listener address of `destination`'s worker, and the key it was configured by.
    pub fn listen(&self, destination: Destination) -> (Option<SocketAddr>, &'static str) {
        match destination {
            Destination::Accounting => (self.accounting_listen, "workers.accounting_listen"),
            Destination::Crm => (self.crm_listen, "workers.crm_listen"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Holds the broker password, so it is a secret.
    pub url: SecretString,
    pub prefix: String,
    /// The retry ladder: how long a transiently failed event waits before each new attempt.
    pub retry_delays: Vec<std::time::Duration>,
    /// Returned deliveries of one message before the broker gives it up as poison.
    pub delivery_limit: u32,
}

impl BrokerConfig {
    /// The topology every binary declares, with this config's ladder and delivery limit.
    pub fn topology(&self) -> crate::broker::Topology {
        crate::broker::Topology::new(self.prefix.clone())
            .with_retry(self.retry_delays.clone(), self.delivery_limit)
    }
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub url: SecretString,
}

#[derive(Debug, Clone, Default)]
pub struct AdminConfig {
    pub tokens: Vec<AdminToken>,
}

#[derive(Debug, Clone)]
pub struct AdminToken {
    /// Recorded with every replay and discard made with the token.
    pub name: String,
    pub token: SecretString,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub sources: Vec<Source>,
    pub accounting: Option<Target>,
    pub crm: Option<Target>,
}

impl Tenant {
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub provider: ProviderKind,
    /// Every secret currently accepted; several while one rotates.
    pub secrets: Vec<SecretString>,
    /// Oldest (and furthest in the future) a signed timestamp may be, for schemes that sign one.
    pub tolerance: Duration,
    /// The kind of system the events come from.
    pub category: Category,
    /// The system named in events (`stripe`, `hubspot`, ...).
    pub system: String,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub system: String,
    pub base_url: Url,
    /// QuickBooks realm id or Xero tenant id.
    pub account_id: Option<String>,
    pub credentials: Credentials,
    /// The connection's API limits, when they differ from the provider's published defaults
    /// (a higher plan, or a sandbox).
    pub rate_limit: Option<RateLimit>,
}

/// At most `requests` per `window`, and `concurrent` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
    pub concurrent: u32,
}

#[derive(Debug, Clone)]
pub enum Credentials {
    Static {
        access_token: SecretString,
    },
    OAuth {
        client_id: String,
        client_secret: SecretString,
        refresh_token: SecretString,
        token_url: Url,
    },
}

impl Config {
    pub fn tenant(&self, id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }
}

/// Reads and loads the file named by `--config`, else `$LEDGERHOOK_CONFIG`.
pub fn load_file(path: &Path, vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })?;
    load(&text, vars)
}

/// Parses, expands and validates a config document.
pub fn load(text: &str, vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
    let mut doc: toml::Value =
        toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
    expand::expand_value(&mut doc, "", vars)?;
    let raw: RawConfig = serde_path_to_error::deserialize(doc).map_err(|e| {
        // The path ends at the offending key, unknown ones included.
        ConfigError::Invalid {
            key: e.path().to_string(),
            message: e.inner().to_string(),
        }
    })?;
    validate::validate(raw)
}

/// Where the config file is: the `--config` argument, else `$LEDGERHOOK_CONFIG`.
pub fn config_path(arg: Option<&Path>) -> Result<std::path::PathBuf, ConfigError> {
    match arg {
        Some(p) => Ok(p.to_owned()),
        None => std::env::var_os("LEDGERHOOK_CONFIG")
            .map(Into::into)
            .ok_or_else(|| {
                ConfigError::invalid("--config", "pass --config PATH or set LEDGERHOOK_CONFIG")
            }),
    }
}

/// The process environment as a map, for `load`.
pub fn env_vars() -> HashMap<String, String> {
    std::env::vars().collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    router: RawRouter,
    broker: RawBroker,
    store: RawStore,
    #[serde(default)]
    admin: RawAdmin,
    #[serde(default)]
    workers: RawWorkers,
    #[serde(default)]
    telemetry: RawTelemetry,
    #[serde(default)]
    tenants: Vec<RawTenant>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelemetry {
    otlp_endpoint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkers {
    accounting_listen: Option<String>,
    crm_listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouter {
    listen: String,
    admin_listen: String,
    public_base_url: String,
    #[serde(default = "default_max_body")]
    max_body_bytes: u64,
    #[serde(default = "default_publish_timeout_ms")]
    publish_timeout_ms: u64,
    #[serde(default = "default_confirm_window")]
    confirm_window: u64,
}

fn default_max_body() -> u64 {
    1_048_576
}
fn default_publish_timeout_ms() -> u64 {
    5_000
}
fn default_confirm_window() -> u64 {
    512
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBroker {
    url: String,
    #[serde(default = "default_prefix")]
    prefix: String,
    retry_delays_secs: Option<Vec<u64>>,
    delivery_limit: Option<u32>,
}

fn default_prefix() -> String {
    "ledgerhook".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    #[serde(default)]
    tokens: Vec<RawToken>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawToken {
    Bare(String),
    Named(RawNamedToken),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamedToken {
    name: String,
    token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    id: String,
    #[serde(default)]
    sources: Vec<RawSource>,
    accounting: Option<RawTarget>,
    crm: Option<RawTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: String,
    provider: String,
    #[serde(default)]
    secrets: Vec<String>,
    tolerance_secs: Option<u64>,
    /// Only for `standard-webhooks`, whose payload does not say what kind of system sent it.
    category: Option<String>,
    /// Only for `standard-webhooks`: the name of the sending system in events.
    system: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    system: String,
    base_url: String,
    realm_id: Option<String>,
    tenant_id: Option<String>,
    access_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    token_url: Option<String>,
    rate_limit_requests: Option<u32>,
    rate_limit_window_secs: Option<u64>,
    max_concurrent_requests: Option<u32>,
}
