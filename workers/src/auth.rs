//! Access tokens for the target APIs: a static token from the config, or OAuth2 tokens refreshed
//! before they expire, with the rotated refresh token committed to the store before the new
//! access token is used.
//!
//! One refresher per connection: within a process, a tokio mutex makes concurrent callers share
//! one refresh; across processes, the refresh runs in a store transaction holding an advisory
//! lock on the connection and re-reads the stored set first, so a process that waited uses the
//! set another one just obtained instead of spending a refresh token the provider has retired.

use std::{
    sync::{Arc, Mutex as SyncMutex, MutexGuard},
    time::Duration,
};

use chrono::{DateTime, Utc};
use ledgerhook_shared::store::{self, Store, StoreError, TokenSet};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::connectors::ApplyError;

/// Refresh at most this long before expiry, so a token does not run out during a request.
const MAX_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when the provider does not say: Salesforce sends no `expires_in`, and 15
/// minutes is its shortest session timeout. A token that dies earlier comes back as a 401.
const DEFAULT_LIFETIME_SECS: i64 = 900;
/// The advisory lock is held during the call, so it must not hang.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// How the client authenticates to the token endpoint, as each provider documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(client_id:client_secret)`: Xero, QuickBooks.
    Basic,
    /// `client_id` and `client_secret` form fields: HubSpot, Salesforce.
    Form,
}

impl ClientAuth {
    pub fn for_system(system: &str) -> ClientAuth {
        match system {
            "xero" | "quickbooks" => ClientAuth::Basic,
            _ => ClientAuth::Form,
        }
    }
}

/// One OAuth2 connection's settings, from the config.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// Names the stored token set and the lock: `<tenant>/<system>`.
    pub connection: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Used only when the store has no token set descending from it yet.
    pub refresh_token: SecretString,
    pub token_url: Url,
    pub client_auth: ClientAuth,
}

/// Hands out the bearer token for one connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct TokenHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
enum Inner {
    Static(SecretString),
    OAuth(Box<OAuth>),
}

struct OAuth {
    config: OAuthConfig,
    /// Fingerprint of `config.refresh_token`, to tell a re-authorised connection's new chain.
    seed: String,
    store: Store,
    http: reqwest::Client,
    cache: SyncMutex<Cache>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for OAuth {
    // Names only: no token, secret or cache contents.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("connection", &self.config.connection)
            .field("token_url", &self.config.token_url.as_str())
            .field("client_auth", &self.config.client_auth)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Cache {
    current: Option<(SecretString, DateTime<Utc>)>,
    /// The access token a target refused with a 401: never handed out again, even if the
    /// store still holds it as unexpired.
    rejected: Option<SecretString>,
}

/// Why a refresh grant failed.
enum GrantError {
    /// The refresh token is revoked, expired or retired.
    InvalidGrant,
    Other(ApplyError),
}

impl From<ApplyError> for GrantError {
    fn from(e: ApplyError) -> Self {
        GrantError::Other(e)
    }
}

#[derive(Deserialize)]
struct GrantResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    /// A number from most providers; tolerated as a string.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenHandle {
    pub fn fixed(token: SecretString) -> Self {
        TokenHandle {
            inner: Arc::new(Inner::Static(token)),
        }
    }

    /// An OAuth2 connection. Nothing is fetched until the first `bearer`.
    pub fn oauth(config: OAuthConfig, store: Store) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(TOKEN_TIMEOUT).build()?;
        let seed = fingerprint(&config.refresh_token);
        Ok(TokenHandle {
            inner: Arc::new(Inner::OAuth(Box::new(OAuth {
                config,
                seed,
                store,
                http,
                cache: SyncMutex::default(),
                refreshing: tokio::sync::Mutex::new(()),
            }))),
        })
    }

    /// The current access token, for an `Authorization: Bearer` header.
    pub async fn bearer(&self) -> Result<String, ApplyError> {
        match self.inner.as_ref() {
            Inner::Static(token) => Ok(token.expose_secret().to_owned()),
            Inner::OAuth(oauth) => oauth.bearer().await,
        }
    }

    /// Called after a 401: the next `bearer` must not return the same token.
    pub fn invalidate(&self) {
        match self.inner.as_ref() {
            // A static token cannot be renewed; the 401 is retried as a transient failure.
            Inner::Static(_) => {}
            Inner::OAuth(oauth) => {
                let mut cache = lock(&oauth.cache);
                if let Some((token, _)) = cache.current.take() {
                    cache.rejected = Some(token);
                }
            }
        }
    }
}

impl OAuth {
    async fn bearer(&self) -> Result<String, ApplyError> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let _turn = self.refreshing.lock().await;
        // Another task may have refreshed while this one waited for its turn.
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let set = self.refresh().await?;
        let token = set.access_token.expose_secret().to_owned();
        let mut cache = lock(&self.cache);
        cache.current = Some((set.access_token.clone(), refresh_at(&set)));
        cache.rejected = None;
        Ok(token)
    }

    fn cached(&self) -> Option<String> {
        let cache = lock(&self.cache);
        let (token, refresh_at) = cache.current.as_ref()?;
        (*refresh_at > Utc::now()).then(|| token.expose_secret().to_owned())
    }

    /// Returns a committed token set whose access token may be used now.
    async fn refresh(&self) -> Result<TokenSet, ApplyError> {
        let connection = &self.config.connection;
        let mut client = self.store.client().await.map_err(store_error)?;
        let tx = client.transaction().await.map_err(db_error)?;
        store::lock_entity(&tx, &format!("oauth/{connection}"))
            .await
            .map_err(store_error)?;
        let stored = store::token_get(&tx, connection)
            .await
            .map_err(store_error)?;
        if let Some(set) = stored.as_ref().filter(|s| self.usable(s)) {
            // Another process refreshed while this one waited for the lock.
            tx.rollback().await.map_err(db_error)?;
            return Ok(set.clone());
        }
        let (refresh_token, seed) = match &stored {
            Some(set) => (set.refresh_token.clone(), set.seed.clone()),
            None => (self.config.refresh_token.clone(), Some(self.seed.clone())),
        };
        let set = match self.grant(&refresh_token, seed.clone()).await {
            Ok(set) => set,
            // The stored chain was revoked and the config holds a refresh token it does not
            // descend from: the operator re-authorised, so start over from the config. The
            // stored chain is tried first so that, during a rolling restart, processes still
            // running with the old config keep the chain the new ones started.
            Err(GrantError::InvalidGrant) if seed.as_deref() != Some(self.seed.as_str()) => {
                tracing::info!(
                    connection = connection.as_str(),
                    "stored refresh token refused; using the newly configured one"
                );
                let config_token = self.config.refresh_token.clone();
                self.grant(&config_token, Some(self.seed.clone()))
                    .await
                    .map_err(|e| self.grant_error(e))?
            }
            Err(e) => return Err(self.grant_error(e)),
        };
        // Committed before the access token is handed out: the provider has retired the old
        // refresh token, so the new one must survive a crash of this process.
        store::token_put(&tx, connection, &set)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(db_error)?;
        tracing::info!(
            connection = connection.as_str(),
            expires_at = %set.expires_at,
            "refreshed OAuth2 access token"
        );
        Ok(set)
    }

    fn usable(&self, set: &TokenSet) -> bool {
        let rejected = lock(&self.cache)
            .rejected
            .as_ref()
            .is_some_and(|r| r.expose_secret() == set.access_token.expose_secret());
        !rejected && refresh_at(set) > Utc::now()
    }

    fn grant_error(&self, e: GrantError) -> ApplyError {
        match e {
            GrantError::InvalidGrant => ApplyError::permanent(format!(
                "OAuth2 connection `{}`: the provider refused the refresh token (invalid_grant: \
                 revoked or expired); re-authorise the connection and put the new refresh_token \
                 in the config",
                self.config.connection
            )),
            GrantError::Other(e) => e,
        }
    }

    /// One `grant_type=refresh_token` call; the set it returns descends from `seed`.
    async fn grant(
        &self,
        refresh_token: &SecretString,
        seed: Option<String>,
    ) -> Result<TokenSet, GrantError> {
        let config = &self.config;
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        let mut request = self
            .http
            .post(config.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        match config.client_auth {
            ClientAuth::Basic => {
                request = request.basic_auth(
                    &config.client_id,
                    Some(config.client_secret.expose_secret()),
                )
            }
            ClientAuth::Form => {
                form.push(("client_id", &config.client_id));
                form.push(("client_secret", config.client_secret.expose_secret()));
            }
        }
        let issued_at = Utc::now();
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| ApplyError::from_reqwest(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse().ok())
            .map(Duration::from_secs);
        let body = response
            .bytes()
            .await
            .map_err(|e| ApplyError::from_reqwest(&e))?;
        let connection = &config.connection;
        if !(200..300).contains(&status) {
            return Err(refusal(connection, status, &body, retry_after));
        }
        // The body holds tokens: an error message never quotes it.
        let grant: GrantResponse = serde_json::from_slice(&body).map_err(|_| {
            ApplyError::transient(format!(
                "OAuth2 connection `{connection}`: the token endpoint's answer is not a token response"
            ))
        })?;
        let lifetime = grant
            .expires_in
            .as_ref()
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_LIFETIME_SECS);
        Ok(TokenSet {
            access_token: SecretString::from(grant.access_token),
            // Providers that do not rotate send none: the one used stays valid.
            refresh_token: grant
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(SecretString::from)
                .unwrap_or_else(|| refresh_token.clone()),
            expires_at: issued_at + chrono::Duration::seconds(lifetime),
            issued_at,
            seed,
        })
    }
}

/// Classifies a token endpoint's error answer by its OAuth2 `error` code (HubSpot: `status`).
fn refusal(
    connection: &str,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> GrantError {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let code = json
        .get("error")
        .or_else(|| json.get("status"))
        .and_then(|c| c.as_str())
        .unwrap_or("");
    match (status, code) {
        (_, "invalid_grant" | "BAD_REFRESH_TOKEN") => GrantError::InvalidGrant,
        (401, _) | (_, "invalid_client" | "unauthorized_client" | "BAD_CLIENT_ID") => {
            GrantError::Other(ApplyError::permanent(format!(
                "OAuth2 connection `{connection}`: the token endpoint refused the client \
                 (HTTP {status} {code}); check client_id and client_secret"
            )))
        }
        // 5xx, 429 and 408 are transient; another 4xx will not get better by itself.
        _ => GrantError::Other(ApplyError::from_status(
            status,
            &format!("OAuth2 token endpoint for `{connection}`: {code}"),
            retry_after,
        )),
    }
}

/// When to stop using a set: a minute before expiry, or a quarter of its lifetime for short ones.
fn refresh_at(set: &TokenSet) -> DateTime<Utc> {
    let lifetime = (set.expires_at - set.issued_at).max(chrono::Duration::zero());
    let margin = chrono::Duration::from_std(MAX_MARGIN)
        .unwrap_or_default()
        .min(lifetime / 4);
    set.expires_at - margin
}

fn fingerprint(token: &SecretString) -> String {
    format!("{:x}", Sha256::digest(token.expose_secret().as_bytes()))
}

fn lock(cache: &SyncMutex<Cache>) -> MutexGuard<'_, Cache> {
    // The cache is only ever left consistent, so a poisoned lock is still usable.
    cache.lock().unwrap_or_else(|e| e.into_inner())
}

fn store_error(e: StoreError) -> ApplyError {
    ApplyError::transient(format!("store unavailable for an OAuth2 refresh: {e}"))
}

fn db_error(e: tokio_postgres::Error) -> ApplyError {
    store_error(StoreError::Db(e))
}
