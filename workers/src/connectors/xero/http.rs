//! The HTTP exchange with Xero: URL building, headers, the rate limiter, and turning every
//! answer into a body, "not found", or a transient or permanent failure.

use std::borrow::Cow;

use reqwest::{
    header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER},
    Method,
};
use serde::Serialize;
use url::Url;

use super::{
    wire::{Envelope, ListOf, XError},
    XeroClient,
};
use crate::{connectors::ApplyError, limits::parse_retry_after};

/// The spec documents Idempotency-Key as "128 character max".
const MAX_KEY_LEN: usize = 128;

impl XeroClient {
    pub(super) fn url(&self, path: &[&str], query: &[(&str, &str)]) -> Result<Url, ApplyError> {
        let mut url = self.base_url.clone();
        let base = &self.base_url;
        url.path_segments_mut()
            .map_err(|()| ApplyError::permanent(format!("Xero base URL {base} cannot have paths")))?
            .pop_if_empty()
            .extend(["api.xro", "2.0"])
            .extend(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// One HTTP exchange: `Ok(None)` for 404, the body for 2xx, a classified error otherwise.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        key: Option<&str>,
    ) -> Result<Option<Envelope>, ApplyError> {
        let url = self.url(path, query)?;
        let _permit = self.limiter.acquire().await;
        let token = self.token.bearer().await?;
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token)
            .header("xero-tenant-id", &self.tenant_id)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", idempotency_key(key).as_ref());
        }
        // Without the URL: lookups carry customers' emails in the query string.
        let failed = |e: reqwest::Error| ApplyError::from_reqwest(&e.without_url());
        let response = request.send().await.map_err(failed)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(parse_retry_after);
        let bytes = response.bytes().await.map_err(failed)?;
        tracing::debug!(%method, path = %path.join("/"), status = status.as_u16(), "xero call");
        if status.is_success() {
            let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
                // A 2xx we cannot read may still have been applied; retrying with the same
                // idempotency key is safe, so let the retry ladder decide.
                ApplyError::transient(format!("unreadable Xero response: {e}"))
            })?;
            return reject_validation_errors(envelope).map(Some);
        }
        match status.as_u16() {
            404 => Ok(None),
            429 => {
                if let Some(wait) = retry_after {
                    self.limiter.pause_for(wait);
                }
                Err(ApplyError::from_status(429, &excerpt(&bytes), retry_after))
            }
            401 => {
                self.token.invalidate();
                Err(ApplyError::from_status(401, "access token rejected", None))
            }
            400 => Err(match serde_json::from_slice::<XError>(&bytes) {
                Ok(error) if error.kind.is_some() || error.message.is_some() => {
                    ApplyError::permanent(format!("HTTP 400: Xero: {}", error.describe()))
                }
                _ => ApplyError::from_status(400, &excerpt(&bytes), None),
            }),
            code => Err(ApplyError::from_status(code, &excerpt(&bytes), retry_after)),
        }
    }

    pub(super) async fn get(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Option<Envelope>, ApplyError> {
        self.send(Method::GET, path, query, None, None).await
    }

    /// A PUT (create) or POST (update): the object must exist, so 404 is permanent.
    pub(super) async fn write<T: Serialize>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: &ListOf<T>,
        key: Option<&str>,
    ) -> Result<Envelope, ApplyError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| ApplyError::permanent(format!("cannot encode Xero request: {e}")))?;
        self.send(method, path, query, Some(body), key)
            .await?
            .ok_or_else(|| ApplyError::permanent(format!("Xero /{}: not found", path.join("/"))))
    }
}

/// With summarizeErrors=false (or a server that ignores it) Xero answers 200 and marks the
/// rejected objects instead; those are as permanent as a 400.
fn reject_validation_errors(envelope: Envelope) -> Result<Envelope, ApplyError> {
    let messages: Vec<&str> = envelope
        .contacts
        .iter()
        .flat_map(|c| &c.validation_errors)
        .chain(envelope.invoices.iter().flat_map(|i| &i.validation_errors))
        .chain(envelope.payments.iter().flat_map(|p| &p.validation_errors))
        .chain(
            envelope
                .credit_notes
                .iter()
                .flat_map(|c| &c.validation_errors),
        )
        .map(|m| m.message.as_str())
        .collect();
    if messages.is_empty() {
        Ok(envelope)
    } else {
        Err(ApplyError::permanent(format!(
            "Xero: {}",
            messages.join("; ")
        )))
    }
}

/// Keys longer than Xero accepts keep a readable prefix and gain a hash of the whole key, so
/// two long keys sharing a prefix still differ.
pub(super) fn idempotency_key(key: &str) -> Cow<'_, str> {
    if key.len() <= MAX_KEY_LEN {
        return Cow::Borrowed(key);
    }
    // FNV-1a: stable across processes and releases, unlike std's randomized hasher.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut end = 100;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}-{hash:016x}", &key[..end]))
}

/// A short piece of an error body for the failure reason; the body is the target's answer,
/// not ours, so it holds no credentials.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
