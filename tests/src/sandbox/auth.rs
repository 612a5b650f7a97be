//! Bearer tokens and the OAuth token endpoints, `/xero/connect/token` and
//! `/hubspot/oauth/v1/token`, with rotating refresh tokens.
//!
//! A tenant's target credentials in the config say what the sandbox accepts: a static
//! `access_token` is valid forever; OAuth credentials seed one refresh token for that
//! `client_id`. Each refresh returns a new access token and a NEW refresh token and retires the
//! one used. Xero lets a retired refresh token be used again for a grace period ("If you don't
//! receive a response from a token refresh you can retry using your existing refresh token for
//! up to 30 minutes", developer.xero.com/faq/oauth2); each such retry issues a fresh pair and
//! leaves the pairs issued before valid. HubSpot refuses a retired refresh token at once.
//! Access tokens issued before a refresh stay valid until they expire: neither provider
//! documents revoking them on refresh. A token also tells which tenant a call is for.
//!
//! Answers, as the providers document them: Xero `400 {"error":"invalid_grant"}`,
//! `{"error":"invalid_client"}`, `{"error":"unsupported_grant_type"}`
//! (developer.xero.com/documentation/oauth2/troubleshooting); success `{access_token,
//! expires_in, token_type: "Bearer", refresh_token, scope}`. HubSpot `400 {"status":
//! "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}`; success
//! `{token_type: "bearer", refresh_token, access_token, expires_in}`. The HubSpot status for a
//! wrong client (`BAD_CLIENT_ID`) was not found in a stored copy of its docs.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use actix_web::{web, HttpRequest, HttpResponse};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use ledgerhook_shared::config::{Config, Credentials};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    faults,
    state::{lock, Shared},
    Options, System,
};

#[derive(Debug)]
pub(crate) struct Tokens {
    state: Mutex<TokenState>,
    lifetime: Duration,
    grace: Duration,
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
    InvalidClient,
    InvalidGrant,
}

#[derive(Debug)]
struct Issued {
    access_token: String,
    refresh_token: String,
    expires_in: u64,
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
        let client_ok = state.clients.iter().any(|c| {
            c.system == system
                && c.client_id == client_id
                && c.secret.expose_secret() == client_secret
        });
        if !client_ok {
            return Err(GrantError::InvalidClient);
        }
        let now = Utc::now();
        let grace = match system {
            System::Xero => chrono::Duration::from_std(self.grace).unwrap_or_default(),
            System::Hubspot => chrono::Duration::zero(),
        };
        let key = (system, refresh_token.to_owned());
        let tenant = match state.refresh.get_mut(&key) {
            Some(r) if r.client_id != client_id => return Err(GrantError::InvalidGrant),
            Some(r) => match r.used_at {
                None => {
                    r.used_at = Some(now);
                    r.tenant.clone()
                }
                Some(used) if now - used < grace => r.tenant.clone(),
                Some(_) => return Err(GrantError::InvalidGrant),
            },
            None => return Err(GrantError::InvalidGrant),
        };
        let access_token = new_token();
        let new_refresh = new_token();
        let lifetime = chrono::Duration::from_std(self.lifetime).unwrap_or_default();
        state.access.insert(
            (system, access_token.clone()),
            Access {
                tenant: tenant.clone(),
                expires_at: Some(now + lifetime),
            },
        );
        state.refresh.insert(
            (system, new_refresh.clone()),
            Refresh {
                tenant,
                client_id: client_id.to_owned(),
                used_at: None,
            },
        );
        state.issued += 1;
        Ok(Issued {
            access_token,
            refresh_token: new_refresh,
            expires_in: self.lifetime.as_secs_f64().ceil() as u64,
        })
    }

    pub fn snapshot(&self) -> TokenSnapshot {
        let state = lock(&self.state);
        let now = Utc::now();
        let grace = chrono::Duration::from_std(self.grace).unwrap_or_default();
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
                .filter(|((system, _), r)| match (system, r.used_at) {
                    (_, None) => true,
                    (System::Xero, Some(used)) => now - used < grace,
                    (System::Hubspot, Some(_)) => false,
                })
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
            (tenant.crm.as_ref(), "hubspot", System::Hubspot),
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

#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /xero/connect/token`: the client authenticates with HTTP Basic as Xero documents, or
/// with `client_id`/`client_secret` form fields.
pub(crate) async fn xero_token(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = faults::gate(&shared, System::Xero).await {
        return refused;
    }
    let form = form.into_inner();
    let error = |code: &str| HttpResponse::BadRequest().json(json!({ "error": code }));
    if form.grant_type.as_deref() != Some("refresh_token") {
        return error("unsupported_grant_type");
    }
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(basic_credentials);
    let (id, secret) = match basic {
        Some(pair) => pair,
        None => (
            form.client_id.unwrap_or_default(),
            form.client_secret.unwrap_or_default(),
        ),
    };
    let token = form.refresh_token.unwrap_or_default();
    match shared.tokens.refresh(System::Xero, &id, &secret, &token) {
        Ok(issued) => HttpResponse::Ok().json(json!({
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
            "token_type": "Bearer",
            "refresh_token": issued.refresh_token,
            "scope": "offline_access accounting.transactions accounting.contacts",
        })),
        Err(GrantError::InvalidClient) => error("invalid_client"),
        Err(GrantError::InvalidGrant) => error("invalid_grant"),
    }
}

/// `POST /hubspot/oauth/v1/token`: every parameter in the form body, as HubSpot requires.
pub(crate) async fn hubspot_token(
    form: web::Form<TokenForm>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = faults::gate(&shared, System::Hubspot).await {
        return refused;
    }
    let form = form.into_inner();
    let error = |status: &str, message: &str| {
        HttpResponse::BadRequest().json(json!({ "status": status, "message": message }))
    };
    if form.grant_type.as_deref() != Some("refresh_token") {
        return error("BAD_GRANT_TYPE", "missing or invalid grant type");
    }
    let id = form.client_id.unwrap_or_default();
    let secret = form.client_secret.unwrap_or_default();
    let token = form.refresh_token.unwrap_or_default();
    match shared.tokens.refresh(System::Hubspot, &id, &secret, &token) {
        Ok(issued) => HttpResponse::Ok().json(json!({
            "token_type": "bearer",
            "refresh_token": issued.refresh_token,
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
        })),
        Err(GrantError::InvalidClient) => error("BAD_CLIENT_ID", "missing or invalid client id"),
        Err(GrantError::InvalidGrant) => {
            error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        }
    }
}

fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?.trim();
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}
