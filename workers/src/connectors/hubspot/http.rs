//! The HTTP exchange with HubSpot: URL building, headers, the rate limiter, and turning every
//! answer into a body, "not found", or a transient or permanent failure.

use reqwest::{
    header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER},
    Method,
};
use serde::{de::DeserializeOwned, Serialize};
use url::Url;

use super::{
    wire::{HError, HObject, Results, Search},
    HubspotClient,
};
use crate::{connectors::ApplyError, limits::parse_retry_after};

impl HubspotClient {
    pub(super) fn url(&self, path: &[&str], query: &[(&str, &str)]) -> Result<Url, ApplyError> {
        let mut url = self.base_url.clone();
        let base = &self.base_url;
        url.path_segments_mut()
            .map_err(|()| {
                ApplyError::permanent(format!("HubSpot base URL {base} cannot have paths"))
            })?
            .pop_if_empty()
            .extend(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// One HTTP exchange: `Ok(None)` for 404, the body (maybe empty) for 2xx, a classified
    /// error otherwise.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>, ApplyError> {
        let answer = self.exchange(method, path, query, body).await?;
        self.classify(answer)
    }

    /// The request and its answer, whatever the status; only network failures are errors.
    pub(super) async fn exchange(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ApplyError> {
        let url = self.url(path, query)?;
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
        let failed = |e: reqwest::Error| ApplyError::from_reqwest(&e.without_url());
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(parse_retry_after);
        let bytes = response.bytes().await.map_err(failed)?.to_vec();
        tracing::debug!(%method, path = %path.join("/"), status, "hubspot call");
        Ok(Answer {
            status,
            bytes,
            retry_after,
        })
    }

    /// `Ok(None)` for 404, the body (maybe empty) for 2xx, a classified error otherwise.
    pub(super) fn classify(&self, answer: Answer) -> Result<Option<Vec<u8>>, ApplyError> {
        let Answer {
            status,
            bytes,
            retry_after,
        } = answer;
        if (200..300).contains(&status) {
            return Ok(Some(bytes));
        }
        let error = serde_json::from_slice::<HError>(&bytes).ok();
        let reason = error
            .as_ref()
            .map_or_else(|| excerpt(&bytes), HError::describe);
        match status {
            404 => Ok(None),
            429 => {
                if let Some(wait) = retry_after {
                    self.limiter.pause_for(wait);
                }
                Err(ApplyError::from_status(429, &reason, retry_after))
            }
            401 => {
                self.token.invalidate();
                Err(ApplyError::from_status(401, "access token rejected", None))
            }
            400 if error.is_some() => Err(ApplyError::permanent(format!(
                "HTTP 400: HubSpot: {reason}"
            ))),
            code => Err(ApplyError::from_status(code, &reason, retry_after)),
        }
    }

    /// A GET of one record; `None` when HubSpot does not have it.
    pub(super) async fn get(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Option<HObject>, ApplyError> {
        match self.send(Method::GET, path, query, None).await? {
            Some(bytes) => parse(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// A POST, PUT or PATCH whose target must exist, so 404 is permanent.
    pub(super) async fn write<B: Serialize, T: DeserializeOwned + Default>(
        &self,
        method: Method,
        path: &[&str],
        body: &B,
    ) -> Result<T, ApplyError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| ApplyError::permanent(format!("cannot encode HubSpot request: {e}")))?;
        let bytes = self
            .send(method, path, &[], Some(body))
            .await?
            .ok_or_else(|| {
                ApplyError::permanent(format!("HubSpot /{}: not found", path.join("/")))
            })?;
        if bytes.is_empty() {
            // Archive and association endpoints answer 204 or a body we do not need.
            return Ok(T::default());
        }
        parse(&bytes)
    }

    pub(super) async fn search(
        &self,
        object_type: &str,
        search: &Search<'_>,
    ) -> Result<Vec<HObject>, ApplyError> {
        let path = ["crm", "v3", "objects", object_type, "search"];
        let found: Results = self.write(Method::POST, &path, search).await?;
        Ok(found.results)
    }
}

pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApplyError> {
    // A 2xx we cannot read may still have been applied; the retry ladder decides.
    serde_json::from_slice(bytes)
        .map_err(|e| ApplyError::transient(format!("unreadable HubSpot response: {e}")))
}

/// What HubSpot answered to one request.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub bytes: Vec<u8>,
    pub retry_after: Option<std::time::Duration>,
}

impl Answer {
    /// Whether HubSpot refused a write because a unique property already has the value on
    /// another record: 409 `CONFLICT` (as for a contact's email), or a 400 validation error
    /// about that property's value (as for custom unique properties).
    pub fn is_duplicate_of(&self, property: &str) -> bool {
        match self.status {
            409 => true,
            400 => serde_json::from_slice::<HError>(&self.bytes)
                .map(|e| e.describe())
                .is_ok_and(|m| m.contains(property) && m.contains("already")),
            _ => false,
        }
    }
}

/// A short piece of an error body for the failure reason; the body is HubSpot's answer, not
/// ours, so it holds no credentials.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
