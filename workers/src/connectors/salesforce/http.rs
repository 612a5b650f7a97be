//! The HTTP exchange with Salesforce: URLs under `/services/data/<version>/`, headers, the rate
//! limiter, SOQL literals, and turning every answer into a body, "not found", or a transient or
//! permanent failure.

use std::time::Duration;

use reqwest::{
    header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER},
    Method,
};
use serde::de::DeserializeOwned;
use url::Url;

use super::{
    wire::{Fields, QueryResult, Record, SfError},
    SalesforceClient,
};
use crate::{connectors::ApplyError, limits::parse_retry_after};

/// How long to wait after the org's rolling 24-hour API allocation ran out
/// (403 REQUEST_LIMIT_EXCEEDED). Salesforce sends no Retry-After; the allocation frees up as
/// calls age out of the window, so an hour is a reasonable first wait.
pub(super) const ALLOCATION_WAIT: Duration = Duration::from_secs(3600);

impl SalesforceClient {
    pub(super) fn url(&self, path: &[&str], query: &[(&str, &str)]) -> Result<Url, ApplyError> {
        let mut url = self.base_url.clone();
        let base = &self.base_url;
        url.path_segments_mut()
            .map_err(|()| {
                ApplyError::permanent(format!("Salesforce instance URL {base} cannot have paths"))
            })?
            .pop_if_empty()
            .extend(["services", "data", self.options.api_version.as_str()])
            .extend(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// One HTTP exchange: `Ok(None)` for 404, the body (empty for 204) for 2xx, a classified
    /// error otherwise.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&Fields>,
    ) -> Result<Option<Vec<u8>>, ApplyError> {
        let url = self.url(path, query)?;
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ApplyError::permanent(format!("cannot encode Salesforce request: {e}")))?;
        let _permit = self.limiter.acquire().await;
        let token = self.token.bearer().await?;
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        // Without the URL: SOQL in the query string carries customers' emails and names.
        let failed = |e: reqwest::Error| ApplyError::from_reqwest(&e.without_url());
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(parse_retry_after);
        let bytes = response.bytes().await.map_err(failed)?;
        tracing::debug!(%method, path = %path.join("/"), status, "salesforce call");
        if (200..300).contains(&status) {
            return Ok(Some(bytes.to_vec()));
        }
        if status == 404 {
            return Ok(None);
        }
        let errors: Vec<SfError> = serde_json::from_slice(&bytes).unwrap_or_default();
        let reason = if errors.is_empty() {
            excerpt(&bytes)
        } else {
            SfError::describe_all(&errors)
        };
        let has = |code: &str| errors.iter().any(|e| e.error_code == code);
        Err(match status {
            401 => {
                // INVALID_SESSION_ID: the session or OAuth token expired or was revoked.
                self.token.invalidate();
                ApplyError::from_status(401, "access token rejected", None)
            }
            // The org's API allocation is spent. Not a limiter pause: an hour-long pause would
            // hold every in-flight message that long; the retry ladder parks it instead.
            403 if has("REQUEST_LIMIT_EXCEEDED") => ApplyError::Transient {
                reason: format!("HTTP 403: Salesforce: {reason}"),
                retry_after: Some(retry_after.map_or(ALLOCATION_WAIT, |d| d.max(ALLOCATION_WAIT))),
            },
            429 => {
                if let Some(wait) = retry_after {
                    self.limiter.pause_for(wait);
                }
                ApplyError::from_status(429, &reason, retry_after)
            }
            // Another transaction holds the record; it is released within seconds.
            400 if has("UNABLE_TO_LOCK_ROW") => {
                ApplyError::transient(format!("HTTP 400: Salesforce: {reason}"))
            }
            300 => ApplyError::permanent(format!(
                "HTTP 300: Salesforce: the external id matches several records: {reason}"
            )),
            code @ 400..=499 if !errors.is_empty() => {
                ApplyError::permanent(format!("HTTP {code}: Salesforce: {reason}"))
            }
            code => ApplyError::from_status(code, &reason, retry_after),
        })
    }

    /// `GET query?q=<SOQL>`: the matching records.
    pub(super) async fn query(&self, soql: &str) -> Result<Vec<Record>, ApplyError> {
        let bytes = self
            .send(Method::GET, &["query"], &[("q", soql)], None)
            .await?
            .ok_or_else(|| ApplyError::permanent("Salesforce query endpoint not found"))?;
        parse::<QueryResult>(&bytes).map(|r| r.records)
    }

    /// A write whose target must exist, so 404 is permanent. The body is empty for 204.
    pub(super) async fn write(
        &self,
        method: Method,
        path: &[&str],
        fields: &Fields,
    ) -> Result<Vec<u8>, ApplyError> {
        self.send(method, path, &[], Some(fields))
            .await?
            .ok_or_else(|| {
                ApplyError::permanent(format!("Salesforce /{}: not found", path.join("/")))
            })
    }
}

pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApplyError> {
    // A 2xx we cannot read may still have been applied; upserts by external id are safe to
    // repeat, so the retry ladder decides.
    serde_json::from_slice(bytes)
        .map_err(|e| ApplyError::transient(format!("unreadable Salesforce response: {e}")))
}

/// A SOQL string literal: single quotes, with a backslash before a quote or a backslash (the
/// SOQL reference's "Reserved Characters" and "Quoted String Escape Sequences").
pub(super) fn soql_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Salesforce record ids are 15 (case-sensitive) or 18 (case-insensitive) alphanumerics. Other
/// text cannot name a record, so it is "not found" rather than a malformed query.
pub(super) fn is_record_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A short piece of an error body for the failure reason; the body is Salesforce's answer,
/// not ours, so it holds no credentials.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
