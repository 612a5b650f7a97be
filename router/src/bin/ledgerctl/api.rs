//! The admin API over HTTP, and what can go wrong, as exit codes.

use std::time::Duration;

use reqwest::{header, Method, StatusCode};
use serde_json::Value;
use url::Url;

/// Why a command failed; each kind is one exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        status: StatusCode,
        code: String,
        message: String,
    },
    #[error("cannot reach the admin API at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("config invalid: {0}")]
    Config(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Api { status, .. } if *status == StatusCode::NOT_FOUND => 3,
            Failure::Api { status, .. } if *status == StatusCode::UNAUTHORIZED => 4,
            Failure::Api { .. } => 1,
            Failure::Usage(_) => 2,
            Failure::Unreachable { .. } => 5,
            Failure::Config(_) => 6,
        }
    }
}

/// A successful answer: the body as sent (for `--json`) and parsed.
#[derive(Debug)]
pub struct Answer {
    pub text: String,
    pub json: Value,
}

#[derive(Debug)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl Api {
    pub fn new(base: Url, token: Option<String>) -> Result<Api, Failure> {
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(Failure::Usage(format!(
                "--admin-url must be an http(s) URL, not `{base}`"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("ledgerctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        Ok(Api {
            http,
            base,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// `/api/v1/<segments...>?<query>`, each segment percent-encoded.
    fn url(&self, segments: &[&str], query: &[(&str, Option<String>)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        let given: Vec<_> = query
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
        if !given.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in given {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    pub async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, Option<String>)],
    ) -> Result<Answer, Failure> {
        self.send(Method::GET, self.url(segments, query), None)
            .await
    }

    pub async fn post(&self, segments: &[&str], body: Value) -> Result<Answer, Failure> {
        self.send(Method::POST, self.url(segments, &[]), Some(body))
            .await
    }

    async fn send(&self, method: Method, url: Url, body: Option<Value>) -> Result<Answer, Failure> {
        let mut request = self
            .http
            .request(method, url.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let unreachable = |e: reqwest::Error| Failure::Unreachable {
            url: self.base.to_string(),
            reason: without_url(&e),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        let json: Option<Value> = serde_json::from_str(&text).ok();
        if status.is_success() {
            return Ok(Answer {
                json: json.unwrap_or(Value::Null),
                text,
            });
        }
        let field = |name: &str| {
            json.as_ref()
                .and_then(|j| j[name].as_str())
                .map(str::to_owned)
        };
        Err(Failure::Api {
            status,
            code: field("error").unwrap_or_else(|| "error".to_owned()),
            message: field("message").unwrap_or_else(|| {
                status
                    .canonical_reason()
                    .unwrap_or("the admin API refused the request")
                    .to_owned()
            }),
        })
    }
}

/// The error and its causes, without the URL reqwest adds (the caller names it once).
fn without_url(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(if e.is_timeout() {
            "timed out".to_owned()
        } else {
            "request failed".to_owned()
        });
    }
    parts.join(": ")
}
