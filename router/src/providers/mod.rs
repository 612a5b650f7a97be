//! Webhook providers: one file each, one arm each in the closed dispatch below.
//!
//! A request becomes a `RawWebhook<Unverified>`; only `verify` turns it into a
//! `RawWebhook<Verified>`, and only a verified webhook can be normalized. So no code path can
//! parse a body whose signature was not checked. Only this module knows providers' JSON.

mod hubspot;
mod quickbooks;
mod standard_webhooks;
mod stripe;
mod xero;

use std::{marker::PhantomData, time::Duration};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ledgerhook_shared::{config::ProviderKind, EventDraft};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub mod signing;

/// Type states of a webhook.
#[derive(Debug)]
pub enum Unverified {}
#[derive(Debug)]
pub enum Verified {}

/// A webhook request exactly as received: the raw body bytes are what signatures cover.
#[derive(Debug)]
pub struct RawWebhook<S> {
    pub method: String,
    /// The URL the provider called: `router.public_base_url` joined with the request path and
    /// query, since schemes that sign the URL sign the public one, not the one behind a proxy.
    pub url: Url,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    pub body: Bytes,
    _state: PhantomData<S>,
}

impl<S> RawWebhook<S> {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl RawWebhook<Unverified> {
    pub fn new(
        method: impl Into<String>,
        url: Url,
        headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Self {
        RawWebhook {
            method: method.into(),
            url,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            body,
            _state: PhantomData,
        }
    }

    /// A provider's endpoint-verification request (Standard Webhooks' challenge), answered with
    /// these headers and an empty 200 instead of being verified as a delivery.
    pub fn challenge(
        &self,
        provider: ProviderKind,
        keys: &Keys<'_>,
    ) -> Option<Vec<(String, String)>> {
        match provider {
            ProviderKind::StandardWebhooks => standard_webhooks::challenge(self, keys),
            _ => None,
        }
    }

    /// Checks the signature with the provider's scheme; the only way to a verified webhook.
    pub fn verify(
        self,
        provider: ProviderKind,
        keys: &Keys<'_>,
    ) -> Result<RawWebhook<Verified>, VerifyError> {
        match provider {
            ProviderKind::Stripe => stripe::verify(&self, keys),
            ProviderKind::StandardWebhooks => standard_webhooks::verify(&self, keys),
            ProviderKind::Hubspot => hubspot::verify(&self, keys),
            ProviderKind::Quickbooks => quickbooks::verify(&self, keys),
            ProviderKind::Xero => xero::verify(&self, keys),
        }?;
        Ok(RawWebhook {
            method: self.method,
            url: self.url,
            headers: self.headers,
            body: self.body,
            _state: PhantomData,
        })
    }
}

impl RawWebhook<Verified> {
    /// Maps the provider's payload to canonical event drafts.
    pub fn normalize(&self, provider: ProviderKind) -> Result<Normalized, NormalizeError> {
        match provider {
            ProviderKind::Stripe => stripe::normalize(self),
            ProviderKind::StandardWebhooks => standard_webhooks::normalize(self),
            ProviderKind::Hubspot => hubspot::normalize(self),
            ProviderKind::Quickbooks => quickbooks::normalize(self),
            ProviderKind::Xero => xero::normalize(self),
        }
    }
}

/// The secrets a source accepts and the clock and tolerance to check timestamps with.
#[derive(Debug)]
pub struct Keys<'a> {
    pub secrets: &'a [SecretString],
    pub tolerance: Duration,
    pub now: DateTime<Utc>,
}

impl Keys<'_> {
    /// Each configured secret's bytes, for schemes that use the secret as given.
    pub fn each(&self) -> impl Iterator<Item = &[u8]> {
        self.secrets.iter().map(|s| s.expose_secret().as_bytes())
    }

    /// Refuses a signed unix timestamp (seconds) older or further ahead than the tolerance.
    pub fn check_timestamp(&self, signed_at: i64) -> Result<(), VerifyError> {
        let age = self.now.timestamp() - signed_at;
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        if age > tolerance {
            Err(VerifyError::Stale { age_secs: age })
        } else if -age > tolerance {
            Err(VerifyError::Future { ahead_secs: -age })
        } else {
            Ok(())
        }
    }
}

/// Why a signature was refused; every variant answers 401.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("malformed signature header {header}: {reason}")]
    Malformed {
        header: &'static str,
        reason: &'static str,
    },
    #[error("signature does not match any configured secret")]
    Mismatch,
    #[error("signed timestamp is {age_secs}s old, beyond the tolerance")]
    Stale { age_secs: i64 },
    #[error("signed timestamp is {ahead_secs}s in the future, beyond the tolerance")]
    Future { ahead_secs: i64 },
}

/// A verified body that is not the provider's payload; answers 400 and is quarantined.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct NormalizeError(pub String);

impl NormalizeError {
    pub fn new(message: impl Into<String>) -> Self {
        NormalizeError(message.into())
    }
}

impl From<serde_json::Error> for NormalizeError {
    fn from(e: serde_json::Error) -> Self {
        NormalizeError(format!("body is not the expected JSON: {e}"))
    }
}

/// What a webhook amounts to.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalized {
    /// The events to publish, in the order the provider listed them.
    #[serde(default)]
    pub events: Vec<EventDraft>,
    /// Provider event types in the webhook that ledgerhook does not sync.
    #[serde(default)]
    pub ignored: Vec<String>,
    /// True for a provider handshake (Xero intent to receive) answered with an empty 200.
    #[serde(default)]
    pub handshake: bool,
}
