//! Turns the raw deserialized document into domain types, refusing configs that cannot work.

use std::{collections::HashSet, net::SocketAddr, time::Duration};

use secrecy::SecretString;
use url::Url;

use super::{
    AdminConfig, AdminToken, BrokerConfig, Config, ConfigError, Credentials, RateLimit, RawConfig,
    RawSource, RawTarget, RawTenant, RawToken, RouterConfig, Source, StoreConfig, Target,
    TelemetryConfig, Tenant, WorkersConfig,
};
use crate::{
    broker::{DEFAULT_DELIVERY_LIMIT, DEFAULT_RETRY_DELAYS},
    event::Category,
};

/// The webhook schemes the router implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Stripe,
    StandardWebhooks,
    Hubspot,
    Quickbooks,
    Xero,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 5] = [
        ProviderKind::Stripe,
        ProviderKind::StandardWebhooks,
        ProviderKind::Hubspot,
        ProviderKind::Quickbooks,
        ProviderKind::Xero,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderKind::Stripe => "stripe",
            ProviderKind::StandardWebhooks => "standard-webhooks",
            ProviderKind::Hubspot => "hubspot",
            ProviderKind::Quickbooks => "quickbooks",
            ProviderKind::Xero => "xero",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The category a provider's events always have; `None` when the config must say.
    fn fixed_category(&self) -> Option<Category> {
        match self {
            ProviderKind::Stripe => Some(Category::Payments),
            ProviderKind::Hubspot => Some(Category::Crm),
            ProviderKind::Quickbooks | ProviderKind::Xero => Some(Category::Accounting),
            ProviderKind::StandardWebhooks => None,
        }
    }

    /// Thin webhooks carry ids only: the worker fetches the object from the source's own API,
    /// so the tenant needs that system configured as a target too.
    pub fn is_thin(&self) -> bool {
        matches!(
            self,
            ProviderKind::Hubspot | ProviderKind::Quickbooks | ProviderKind::Xero
        )
    }
}

const ACCOUNTING_SYSTEMS: &[&str] = &["quickbooks", "xero"];
const CRM_SYSTEMS: &[&str] = &["hubspot", "salesforce"];

pub(super) fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let r = raw.router;
    let router = RouterConfig {
        listen: socket_addr("router.listen", &r.listen)?,
        admin_listen: socket_addr("router.admin_listen", &r.admin_listen)?,
        public_base_url: http_url("router.public_base_url", &r.public_base_url)?,
        max_body_bytes: usize::try_from(r.max_body_bytes)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ConfigError::invalid("router.max_body_bytes", "must be a positive size in bytes")
            })?,
        publish_timeout: positive_duration_ms("router.publish_timeout_ms", r.publish_timeout_ms)?,
        confirm_window: usize::try_from(r.confirm_window)
            .ok()
            .filter(|n| (1..=65_535).contains(n))
            .ok_or_else(|| {
                ConfigError::invalid("router.confirm_window", "must be between 1 and 65535")
            })?,
    };

    let broker_url = Url::parse(&raw.broker.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "amqp" | "amqps"))
        .ok_or_else(|| ConfigError::invalid("broker.url", "must be an amqp:// or amqps:// URL"))?;
    let prefix = raw.broker.prefix;
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ConfigError::invalid(
            "broker.prefix",
            "must be non-empty and use only letters, digits, `-`, `_` and `.`",
        ));
    }
    let retry_delays = match raw.broker.retry_delays_secs {
        None => DEFAULT_RETRY_DELAYS.to_vec(),
        Some(secs) => {
            if secs.is_empty() || secs.contains(&0) || secs.windows(2).any(|w| w[0] >= w[1]) {
                return Err(ConfigError::invalid(
                    "broker.retry_delays_secs",
                    "must be one or more delays in seconds, each at least 1 and longer than the one before",
                ));
            }
            secs.into_iter().map(Duration::from_secs).collect()
        }
    };
    let delivery_limit = raw.broker.delivery_limit.unwrap_or(DEFAULT_DELIVERY_LIMIT);
    if delivery_limit == 0 {
        return Err(ConfigError::invalid(
            "broker.delivery_limit",
            "must be at least 1",
        ));
    }
    let broker = BrokerConfig {
        url: SecretString::from(String::from(broker_url)),
        prefix,
        retry_delays,
        delivery_limit,
    };

    let store_url = Url::parse(&raw.store.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
        .ok_or_else(|| ConfigError::invalid("store.url", "must be a postgres:// URL"))?;
    let store = StoreConfig {
        url: SecretString::from(String::from(store_url)),
    };

    let admin = AdminConfig {
        tokens: admin_tokens(raw.admin.tokens)?,
    };

    let workers = WorkersConfig {
        accounting_listen: raw
            .workers
            .accounting_listen
            .map(|a| socket_addr("workers.accounting_listen", &a))
            .transpose()?,
        crm_listen: raw
            .workers
            .crm_listen
            .map(|a| socket_addr("workers.crm_listen", &a))
            .transpose()?,
    };

    let telemetry = TelemetryConfig {
        otlp_endpoint: raw
            .telemetry
            .otlp_endpoint
            .map(|e| otlp_endpoint("telemetry.otlp_endpoint", &e))
            .transpose()?,
    };

    let mut seen = HashSet::new();
    let mut tenants = Vec::with_capacity(raw.tenants.len());
    for (i, t) in raw.tenants.into_iter().enumerate() {
        let key = format!("tenants[{i}]");
        let tenant = tenant(&key, t)?;
        if !seen.insert(tenant.id.clone()) {
            return Err(ConfigError::invalid(
                format!("{key}.id"),
                format!("tenant `{}` is configured twice", tenant.id),
            ));
        }
        tenants.push(tenant);
    }

    Ok(Config {
        router,
        broker,
        store,
        admin,
        workers,
        telemetry,
        tenants,
    })
}

fn admin_tokens(raw: Vec<RawToken>) -> Result<Vec<AdminToken>, ConfigError> {
    let mut names = HashSet::new();
    let mut tokens = Vec::with_capacity(raw.len());
    for (i, t) in raw.into_iter().enumerate() {
        let key = format!("admin.tokens[{i}]");
        let (name, token) = match t {
            RawToken::Bare(token) => (format!("token-{}", i + 1), token),
            RawToken::Named(n) => (n.name, n.token),
        };
        // Short tokens can be guessed; 16 characters is the floor, not a recommendation.
        if token.len() < 16 {
            return Err(ConfigError::invalid(
                key,
                "an admin token must be at least 16 characters",
            ));
        }
        if !names.insert(name.clone()) {
            return Err(ConfigError::invalid(
                format!("{key}.name"),
                format!("token name `{name}` is used twice"),
            ));
        }
        tokens.push(AdminToken {
            name,
            token: SecretString::from(token),
        });
    }
    Ok(tokens)
}

fn tenant(key: &str, raw: RawTenant) -> Result<Tenant, ConfigError> {
    let id = identifier(&format!("{key}.id"), raw.id)?;
    let accounting = raw
        .accounting
        .map(|t| target(&format!("{key}.accounting"), t, ACCOUNTING_SYSTEMS))
        .transpose()?;
    let crm = raw
        .crm
        .map(|t| target(&format!("{key}.crm"), t, CRM_SYSTEMS))
        .transpose()?;

    let mut seen = HashSet::new();
    let mut sources = Vec::with_capacity(raw.sources.len());
    for (i, s) in raw.sources.into_iter().enumerate() {
        let skey = format!("{key}.sources[{i}]");
        let source = source(&skey, s)?;
        if !seen.insert(source.id.clone()) {
            return Err(ConfigError::invalid(
                format!("{skey}.id"),
                format!("source `{}` is configured twice", source.id),
            ));
        }
        check_targets(key, &source, accounting.as_ref(), crm.as_ref())?;
        sources.push(source);
    }
    Ok(Tenant {
        id,
        sources,
        accounting,
        crm,
    })
}

/// A source is useless, or its thin events unfetchable, without the targets its events need.
fn check_targets(
    tkey: &str,
    source: &Source,
    accounting: Option<&Target>,
    crm: Option<&Target>,
) -> Result<(), ConfigError> {
    let missing = |section: &str, why: &str| {
        Err(ConfigError::invalid(
            format!("{tkey}.{section}"),
            format!(
                "source `{}` ({}) needs [{tkey}.{section}]: {why}",
                source.id,
                source.provider.as_str()
            ),
        ))
    };
    match source.category {
        Category::Crm if accounting.is_none() => {
            return missing("accounting", "CRM events are applied to accounting")
        }
        Category::Accounting if crm.is_none() => {
            return missing("crm", "accounting events are applied to the CRM")
        }
        Category::Payments if accounting.is_none() && crm.is_none() => {
            return missing(
                "accounting",
                "payment events need accounting or a CRM to apply to",
            )
        }
        _ => {}
    }
    if source.provider.is_thin() {
        let (section, own) = match source.category {
            Category::Crm => ("crm", crm),
            _ => ("accounting", accounting),
        };
        match own {
            None => {
                return missing(
                    section,
                    "its webhooks carry ids only, and the object is fetched from that API",
                )
            }
            Some(t) if t.system != source.system => {
                return Err(ConfigError::invalid(
                    format!("{tkey}.{section}.system"),
                    format!(
                    "is `{}`, but source `{}` sends {} webhooks whose objects are fetched from {}",
                    t.system, source.id, source.system, source.system
                ),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn source(key: &str, raw: RawSource) -> Result<Source, ConfigError> {
    let id = identifier(&format!("{key}.id"), raw.id)?;
    let provider = ProviderKind::parse(&raw.provider).ok_or_else(|| {
        let known: Vec<_> = ProviderKind::ALL.iter().map(|p| p.as_str()).collect();
        ConfigError::invalid(
            format!("{key}.provider"),
            format!(
                "unknown provider `{}` (known: {})",
                raw.provider,
                known.join(", ")
            ),
        )
    })?;
    if raw.secrets.is_empty() {
        return Err(ConfigError::invalid(
            format!("{key}.secrets"),
            "at least one secret is required to verify signatures",
        ));
    }
    let mut secrets = Vec::with_capacity(raw.secrets.len());
    for (i, s) in raw.secrets.into_iter().enumerate() {
        if s.trim().is_empty() {
            return Err(ConfigError::invalid(
                format!("{key}.secrets[{i}]"),
                "is empty",
            ));
        }
        secrets.push(SecretString::from(s));
    }
    let tolerance = Duration::from_secs(raw.tolerance_secs.unwrap_or(300));
    if tolerance.is_zero() {
        return Err(ConfigError::invalid(
            format!("{key}.tolerance_secs"),
            "must be positive",
        ));
    }
    let category = match (provider.fixed_category(), raw.category.as_deref()) {
        (Some(fixed), None) => fixed,
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                format!("{key}.category"),
                format!("is fixed for provider `{}`; remove it", provider.as_str()),
            ))
        }
        (None, Some(c)) => match c {
            "crm" => Category::Crm,
            "accounting" => Category::Accounting,
            "payments" => Category::Payments,
            other => {
                return Err(ConfigError::invalid(
                    format!("{key}.category"),
                    format!("`{other}` is not one of crm, accounting, payments"),
                ))
            }
        },
        (None, None) => {
            return Err(ConfigError::invalid(
                format!("{key}.category"),
                "is required for standard-webhooks sources (crm, accounting or payments)",
            ))
        }
    };
    let system = match (provider.fixed_category(), raw.system) {
        (None, Some(system)) => identifier(&format!("{key}.system"), system)?,
        (None, None) => provider.as_str().to_owned(),
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                format!("{key}.system"),
                format!("is fixed for provider `{}`; remove it", provider.as_str()),
            ))
        }
        (Some(_), None) => provider.as_str().to_owned(),
    };
    Ok(Source {
        id,
        provider,
        secrets,
        tolerance,
        category,
        system,
    })
}

fn target(key: &str, raw: RawTarget, systems: &[&str]) -> Result<Target, ConfigError> {
    if !systems.contains(&raw.system.as_str()) {
        return Err(ConfigError::invalid(
            format!("{key}.system"),
            format!(
                "unknown system `{}` (known: {})",
                raw.system,
                systems.join(", ")
            ),
        ));
    }
    let base_url = http_url(&format!("{key}.base_url"), &raw.base_url)?;
    let account_id = match raw.system.as_str() {
        "quickbooks" => Some(required(key, "realm_id", raw.realm_id)?),
        "xero" => Some(required(key, "tenant_id", raw.tenant_id)?),
        _ => None,
    };
    let credentials = match (raw.access_token, raw.refresh_token) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(format!("{key}.access_token"), "give either a static access_token or OAuth2 credentials, not both"))
        }
        (Some(token), None) => Credentials::Static { access_token: SecretString::from(token) },
        (None, Some(refresh)) => Credentials::OAuth {
            client_id: required(key, "client_id", raw.client_id)?,
            client_secret: SecretString::from(required(key, "client_secret", raw.client_secret)?),
            refresh_token: SecretString::from(refresh),
            token_url: match raw.token_url {
                Some(u) => http_url(&format!("{key}.token_url"), &u)?,
                None => default_token_url(&raw.system, &base_url),
            },
        },
        (None, None) => {
            return Err(ConfigError::invalid(format!("{key}.access_token"), "credentials are missing: set access_token, or client_id, client_secret and refresh_token"))
        }
    };
    let rate_limit = match (
        raw.rate_limit_requests,
        raw.rate_limit_window_secs,
        raw.max_concurrent_requests,
    ) {
        (None, None, None) => None,
        (Some(requests), Some(window), Some(concurrent))
            if requests > 0 && window > 0 && concurrent > 0 =>
        {
            Some(RateLimit {
                requests,
                window: Duration::from_secs(window),
                concurrent,
            })
        }
        _ => {
            return Err(ConfigError::invalid(
                format!("{key}.rate_limit_requests"),
                "set rate_limit_requests, rate_limit_window_secs and max_concurrent_requests together, all positive",
            ))
        }
    };
    Ok(Target {
        system: raw.system,
        base_url,
        account_id,
        credentials,
        rate_limit,
    })
}

/// The provider's token endpoint; a base URL on loopback means the sandbox, which serves it
/// under the same prefix.
fn default_token_url(system: &str, base_url: &Url) -> Url {
    let (real, sandbox_path) = match system {
        "quickbooks" => (
            "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
            "oauth2/v1/tokens/bearer",
        ),
        "xero" => ("https://identity.xero.com/connect/token", "connect/token"),
        "hubspot" => ("https://api.hubapi.com/oauth/v1/token", "oauth/v1/token"),
        _ => (
            "https://login.salesforce.com/services/oauth2/token",
            "services/oauth2/token",
        ),
    };
    let local = matches!(base_url.host_str(), Some("127.0.0.1" | "localhost" | "::1"));
    let mut base = base_url.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    match (local, base.join(sandbox_path)) {
        (true, Ok(u)) => u,
        _ => Url::parse(real).unwrap_or(base),
    }
}

fn required(key: &str, field: &str, value: Option<String>) -> Result<String, ConfigError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError::invalid(format!("{key}.{field}"), "is required"))
}

fn identifier(key: &str, value: String) -> Result<String, ConfigError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(value)
    } else {
        Err(ConfigError::invalid(
            key,
            format!("`{value}` must be 1-64 characters of a-z, 0-9, `-` or `_`"),
        ))
    }
}

fn socket_addr(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::invalid(
            key,
            format!("`{value}` is not an address like 127.0.0.1:8080"),
        )
    })
}

fn http_url(key: &str, value: &str) -> Result<Url, ConfigError> {
    Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| ConfigError::invalid(key, format!("`{value}` is not an http(s) URL")))
}

/// A collector's base URL: http(s), no credentials, query or fragment (the exporter appends the
/// signal's path, and credentials in a URL end up in logs).
fn otlp_endpoint(key: &str, value: &str) -> Result<Url, ConfigError> {
    let url = http_url(key, value)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::invalid(
            key,
            "must not hold credentials; an OTLP collector endpoint is a plain URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid(
            key,
            format!("`{value}` must not have a query or fragment; give the collector's base URL, like http://collector:4318"),
        ));
    }
    Ok(url)
}

fn positive_duration_ms(key: &str, ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        Err(ConfigError::invalid(key, "must be positive"))
    } else {
        Ok(Duration::from_millis(ms))
    }
}
