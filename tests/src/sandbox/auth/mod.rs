//! Bearer tokens and the refresh tokens the OAuth endpoints (in `endpoints`) exchange.
//!
//! A tenant's target credentials in the config say what the sandbox accepts: a static
//! `access_token` is valid forever; OAuth credentials seed one refresh token for that
//! `client_id`. Each refresh returns a new access token; what happens to the refresh token
//! depends on the provider:
//! - Xero returns a NEW refresh token and lets the used one be used again for a grace period
//!   ("If you don't receive a response from a token refresh you can retry using your existing
//!   refresh token for up to 30 minutes", developer.xero.com/faq/oauth2); each such retry issues
//!   a fresh pair and leaves the pairs issued before valid.
//! - HubSpot and QuickBooks return a new refresh token and refuse the used one at once. Intuit
//!   says to always use "the latest refresh_token returned to you from the previous request"
//!   (developer.intuit.com OAuth FAQ); refusing the old one at once is the strictest reading,
//!   which is what a client must survive.
//! - Salesforce keeps the refresh token (no `refresh_token` in the answer) unless the connected
//!   app enables refresh token rotation, in which case "the connected app issues a new refresh
//!   token ... each time the flow is invoked. The previous refresh token is automatically
//!   invalidated" (help.salesforce.com, OAuth 2.0 refresh token flow);
//!   `Options::salesforce_rotate_refresh_tokens` picks which.
//!
//! Access tokens issued before a refresh stay valid until they expire: no provider documents
//! revoking them on refresh. A token also tells which tenant a call is for.

mod endpoints;

use std::{collections::HashMap, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
pub(crate) use endpoints::{hubspot_token, quickbooks_token, salesforce_token, xero_token};
use ledgerhook_shared::config::{Config, Credentials};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use uuid::Uuid;

use super::{state::lock, Options, System};

#[derive(Debug)]
pub(crate) struct Tokens {
    state: Mutex<TokenState>,
    lifetime: Duration,
    grace: Duration,
    salesforce_rotates: bool,
}

/// What a provider does with a refresh token once it has been used.
#[derive(Debug, Clone, Copy)]
enum Rotation {
    /// A new one each time; the used one still works for this long.
    Grace(chrono::Duration),
    /// A new one each time; the used one is refused at once.
    Strict,
    /// The same one keeps working; none is returned.
    Keep,
}

#[derive(Debug, Default)]
struct TokenState {
    access: HashMap<(System, String), Access>,
    refresh: HashMap<(System, String), Refresh>,
    clients: Vec<Client>,
    issued: u64,
}

#[derive(Debug)]
struct Access {
    tenant: String,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct Refresh {
    tenant: String,
    client_id: String,
    used_at: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct Client {
    system: System,
    client_id: String,
    secret: SecretString,
}

/// Why a bearer token was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    Missing,
    Unknown,
    Expired(DateTime<Utc>),
}

#[derive(Debug, PartialEq, Eq)]
enum GrantError {
    /// No such client id (Salesforce tells this apart from a wrong secret).
    UnknownClient,
    InvalidClient,
    InvalidGrant,
}

#[derive(Debug)]
struct Issued {
    access_token: String,
    /// `None` when the provider keeps the refresh token that was used.
    refresh_token: Option<String>,
    expires_in: u64,
    tenant: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct TokenSnapshot {
    issued: u64,
    live_access_tokens: usize,
    usable_refresh_tokens: usize,
}

impl Tokens {
    pub fn from_config(config: &Config, options: &Options) -> Tokens {
        Tokens {
            state: Mutex::new(seed(config)),
            lifetime: options.access_token_lifetime,
            grace: options.refresh_grace,
            salesforce_rotates: options.salesforce_rotate_refresh_tokens,
        }
    }

    fn rotation(&self, system: System) -> Rotation {
        match system {
            System::Xero => {
                Rotation::Grace(chrono::Duration::from_std(self.grace).unwrap_or_default())
            }
            System::Hubspot | System::Quickbooks => Rotation::Strict,
            System::Salesforce if self.salesforce_rotates => Rotation::Strict,
            System::Salesforce => Rotation::Keep,
            // Stripe authenticates with secret keys, never with refresh tokens.
            System::Stripe => Rotation::Keep,
        }
    }

    pub fn reset(&self, config: &Config) {
        *lock(&self.state) = seed(config);
    }

    /// The tenant whose token `authorization` (`Bearer <token>`) carries.
    pub fn authenticate(
        &self,
        system: System,
        authorization: Option<&str>,
    ) -> Result<String, Denied> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Denied::Missing)?;
        let state = lock(&self.state);
        let access = state
            .access
            .get(&(system, token.to_owned()))
            .ok_or(Denied::Unknown)?;
        match access.expires_at {
            Some(at) if at <= Utc::now() => Err(Denied::Expired(at)),
            _ => Ok(access.tenant.clone()),
        }
    }

    fn refresh(
        &self,
        system: System,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<Issued, GrantError> {
        let mut state = lock(&self.state);
        let mut clients = state
            .clients
            .iter()
            .filter(|c| c.system == system && c.client_id == client_id)
            .peekable();
        if clients.peek().is_none() {
            return Err(GrantError::UnknownClient);
        }
        if !clients.any(|c| c.secret.expose_secret() == client_secret) {
            return Err(GrantError::InvalidClient);
        }
        let now = Utc::now();
        let rotation = self.rotation(system);
        let key = (system, refresh_token.to_owned());
        let tenant = match (state.refresh.get_mut(&key), rotation) {
            (Some(r), _) if r.client_id != client_id => return Err(GrantError::InvalidGrant),
            (Some(r), Rotation::Keep) => r.tenant.clone(),
            (Some(r), _) if r.used_at.is_none() => {
                r.used_at = Some(now);
                r.tenant.clone()
            }
            (Some(r), Rotation::Grace(grace)) if r.used_at.is_some_and(|u| now - u < grace) => {
                r.tenant.clone()
            }
            _ => return Err(GrantError::InvalidGrant),
        };
        let access_token = new_token();
        let lifetime = chrono::Duration::from_std(self.lifetime).unwrap_or_default();
        state.access.insert(
            (system, access_token.clone()),
            Access {
                tenant: tenant.clone(),
                expires_at: Some(now + lifetime),
            },
        );
        let new_refresh = match rotation {
            Rotation::Keep => None,
            Rotation::Grace(_) | Rotation::Strict => {
                let token = new_token();
                let refresh = Refresh {
                    tenant: tenant.clone(),
                    client_id: client_id.to_owned(),
                    used_at: None,
                };
                state.refresh.insert((system, token.clone()), refresh);
                Some(token)
            }
        };
        state.issued += 1;
        Ok(Issued {
            access_token,
            refresh_token: new_refresh,
            expires_in: self.lifetime.as_secs_f64().ceil() as u64,
            tenant,
        })
    }

    pub fn snapshot(&self) -> TokenSnapshot {
        let state = lock(&self.state);
        let now = Utc::now();
        TokenSnapshot {
            issued: state.issued,
            live_access_tokens: state
                .access
                .values()
                .filter(|a| a.expires_at.is_none_or(|at| at > now))
                .count(),
            usable_refresh_tokens: state
                .refresh
                .iter()
                .filter(
                    |((system, _), r)| match (self.rotation(*system), r.used_at) {
                        (_, None) | (Rotation::Keep, _) => true,
                        (Rotation::Grace(grace), Some(used)) => now - used < grace,
                        (Rotation::Strict, Some(_)) => false,
                    },
                )
                .count(),
        }
    }
}

/// What the config's credentials make valid at start.
fn seed(config: &Config) -> TokenState {
    let mut state = TokenState::default();
    for tenant in &config.tenants {
        let targets = [
            (tenant.accounting.as_ref(), "xero", System::Xero),
            (tenant.accounting.as_ref(), "quickbooks", System::Quickbooks),
            (tenant.crm.as_ref(), "hubspot", System::Hubspot),
            (tenant.crm.as_ref(), "salesforce", System::Salesforce),
        ];
        for (target, name, system) in targets {
            let Some(target) = target.filter(|t| t.system == name) else {
                continue;
            };
            match &target.credentials {
                Credentials::Static { access_token } => {
                    let key = (system, access_token.expose_secret().to_owned());
                    let access = Access {
                        tenant: tenant.id.clone(),
                        expires_at: None,
                    };
                    state.access.insert(key, access);
                }
                Credentials::OAuth {
                    client_id,
                    client_secret,
                    refresh_token,
                    ..
                } => {
                    state.clients.push(Client {
                        system,
                        client_id: client_id.clone(),
                        secret: client_secret.clone(),
                    });
                    let key = (system, refresh_token.expose_secret().to_owned());
                    let refresh = Refresh {
                        tenant: tenant.id.clone(),
                        client_id: client_id.clone(),
                        used_at: None,
                    };
                    state.refresh.insert(key, refresh);
                }
            }
        }
    }
    state
}

fn new_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}
