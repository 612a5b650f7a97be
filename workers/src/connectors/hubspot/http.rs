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
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(parse_retry_after);
        let bytes = response.bytes().await.map_err(failed)?;
        tracing::debug!(%method, path = %path.join("/"), status = status.as_u16(), "hubspot call");
        if status.is_success() {
            return Ok(Some(bytes.to_vec()));
        }
        let error = serde_json::from_slice::<HError>(&bytes).ok();
        let reason = error
            .as_ref()
            .map_or_else(|| excerpt(&bytes), HError::describe);
        match status.as_u16() {
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
            400 if error.is_some() => Err(ApplyError::permanent(format!("HubSpot: {reason}"))),
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
