//! The HTTP exchange with QuickBooks Online: URL building (`/v3/company/{realm}/...` with the
//! minor version), headers, the rate limiter, `requestid`, and turning every answer into a body
//! or a `Failure` that still carries Intuit's fault codes for the callers that act on them.

use std::borrow::Cow;

use reqwest::{
    header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER},
    Method,
};
use serde::Serialize;
use url::Url;

use super::{
    wire::{Envelope, Fault, QueryResponse},
    QuickbooksClient,
};
use crate::{connectors::ApplyError, limits::parse_retry_after};

/// Intuit: a `requestid` is unique per company and "should not exceed 50 characters".
const MAX_REQUEST_ID: usize = 50;

/// A failed call, classified, with the fault codes Intuit gave (`5010` stale object, `6140`
/// duplicate DocNumber, `610` object not found, ...).
#[derive(Debug)]
pub(super) struct Failure {
    pub status: u16,
    pub codes: Vec<String>,
    pub error: ApplyError,
}

impl Failure {
    pub fn has_code(&self, code: &str) -> bool {
        self.codes.iter().any(|c| c == code)
    }

    /// A read of an id QuickBooks does not have answers 400 with fault 610 "Object Not
    /// Found" rather than 404 (as the Intuit SDK issue threads show); both mean `None`.
    pub fn not_found(&self) -> bool {
        self.status == 404 || self.has_code("610")
    }
}

impl From<Failure> for ApplyError {
    fn from(failure: Failure) -> Self {
        failure.error
    }
}

impl QuickbooksClient {
    pub(super) fn url(&self, path: &[&str], query: &[(&str, &str)]) -> Result<Url, ApplyError> {
        let mut url = self.base_url.clone();
        let base = &self.base_url;
        url.path_segments_mut()
            .map_err(|()| {
                ApplyError::permanent(format!("QuickBooks base URL {base} cannot have paths"))
            })?
            .pop_if_empty()
            .extend(["v3", "company", self.realm_id.as_str()])
            .extend(path);
        url.query_pairs_mut()
            .extend_pairs(query)
            .append_pair("minorversion", &self.options.minor_version);
        Ok(url)
    }

    /// One HTTP exchange: the parsed body for 2xx without a fault, a `Failure` otherwise.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Envelope, Failure> {
        let plain = |error: ApplyError| Failure {
            status: 0,
            codes: Vec::new(),
            error,
        };
        let url = self.url(path, query).map_err(plain)?;
        let _permit = self.limiter.acquire().await;
        let token = self.token.bearer().await.map_err(plain)?;
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        // Without the URL: queries carry customers' emails and names.
        let failed = |e: reqwest::Error| plain(ApplyError::from_reqwest(&e.without_url()));
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(parse_retry_after);
        let bytes = response.bytes().await.map_err(failed)?;
        tracing::debug!(%method, path = %path.join("/"), status, "quickbooks call");
        let envelope = serde_json::from_slice::<Envelope>(&bytes);
        if (200..300).contains(&status) {
            let envelope = envelope.map_err(|e| {
                // A 2xx we cannot read may still have been applied; creates carry a requestid,
                // so the retry ladder can safely decide.
                plain(ApplyError::transient(format!(
                    "unreadable QuickBooks response: {e}"
                )))
            })?;
            // Intuit documents that a 200 may still carry a Fault.
            return match envelope.fault {
                Some(fault) => Err(self.failure(status, Some(&fault), &bytes, None)),
                None => Ok(envelope),
            };
        }
        let fault = envelope.ok().and_then(|e| e.fault);
        Err(self.failure(status, fault.as_ref(), &bytes, retry_after))
    }

    fn failure(
        &self,
        status: u16,
        fault: Option<&Fault>,
        body: &[u8],
        retry_after: Option<std::time::Duration>,
    ) -> Failure {
        let codes = fault.map(Fault::codes).unwrap_or_default();
        let reason = fault.map_or_else(|| excerpt(body), Fault::describe);
        let kind = fault.and_then(|f| f.kind.as_deref()).unwrap_or_default();
        let error = match status {
            401 => {
                // Intuit access tokens last an hour; the next bearer() must mint a new one.
                self.token.invalidate();
                ApplyError::from_status(401, "access token rejected", None)
            }
            429 => {
                if let Some(wait) = retry_after {
                    self.limiter.pause_for(wait);
                }
                ApplyError::from_status(429, &reason, retry_after)
            }
            408 | 500..=599 => ApplyError::from_status(status, &reason, retry_after),
            // Stale object: another writer moved the SyncToken on. Callers retry once; when it
            // still loses the race the retry ladder tries again later.
            _ if codes.iter().any(|c| c == "5010") => {
                ApplyError::transient(format!("HTTP {status}: QuickBooks: {reason}"))
            }
            _ if kind.eq_ignore_ascii_case("SystemFault") => {
                ApplyError::transient(format!("HTTP {status}: QuickBooks: {reason}"))
            }
            _ if fault.is_some() => {
                ApplyError::permanent(format!("HTTP {status}: QuickBooks: {reason}"))
            }
            code => ApplyError::from_status(code, &reason, retry_after),
        };
        Failure {
            status,
            codes,
            error,
        }
    }

    /// A read of one entity; `None` when QuickBooks does not have it.
    pub(super) async fn read(
        &self,
        entity: &str,
        id: &str,
    ) -> Result<Option<Envelope>, ApplyError> {
        match self.send(Method::GET, &[entity, id], &[], None).await {
            Ok(envelope) => Ok(Some(envelope)),
            Err(failure) if failure.not_found() => Ok(None),
            Err(failure) => Err(failure.error),
        }
    }

    /// `GET /query?query=<statement>`.
    pub(super) async fn query(&self, statement: &str) -> Result<QueryResponse, ApplyError> {
        let envelope = self
            .send(Method::GET, &["query"], &[("query", statement)], None)
            .await?;
        Ok(envelope.query_response.unwrap_or_default())
    }

    /// A POST (create, sparse update, void); the failure keeps its fault codes.
    pub(super) async fn post<T: Serialize>(
        &self,
        entity: &str,
        query: &[(&str, &str)],
        body: &T,
    ) -> Result<Envelope, Failure> {
        let body = encode(body).map_err(|error| Failure {
            status: 0,
            codes: Vec::new(),
            error,
        })?;
        self.send(Method::POST, &[entity], query, Some(body)).await
    }
}

pub(super) fn encode<T: Serialize>(body: &T) -> Result<Vec<u8>, ApplyError> {
    serde_json::to_vec(body)
        .map_err(|e| ApplyError::permanent(format!("cannot encode QuickBooks request: {e}")))
}

/// A QuickBooks string literal: single-quoted, with a backslash before a quote or a backslash
/// ("Use backslash (\) to escape special characters like apostrophe", Intuit's data-query
/// deep dive).
pub(super) fn qbo_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Keys longer than a `requestid` may be keep a readable prefix and gain a hash of the whole
/// key, so two long keys sharing a prefix still differ.
pub(super) fn request_id(key: &str) -> Cow<'_, str> {
    if key.len() <= MAX_REQUEST_ID {
        return Cow::Borrowed(key);
    }
    // FNV-1a: stable across processes and releases, unlike std's randomized hasher.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // 33 bytes + "-" + 16 hex digits = 50.
    let mut end = MAX_REQUEST_ID - 17;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}-{hash:016x}", &key[..end]))
}

/// A short piece of an error body for the failure reason; the body is Intuit's answer, not
/// ours, so it holds no credentials.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
