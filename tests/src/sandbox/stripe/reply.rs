//! Stripe's answers: the object as JSON, or `{"error": {type, code, message, param, doc_url,
//! ...}}` with Stripe's status codes (docs.stripe.com/api/errors): 400 for a bad request
//! (`invalid_request_error`, or `idempotency_error` for a key reused with other parameters), 401
//! without a valid API key, 402 when a card is declined (`card_error`), 404 for an unknown object
//! in the path (`resource_missing`) or URL, 429 when the rate limiter refuses a call (code
//! `rate_limit`, docs.stripe.com/error-codes), 5xx for `api_error`. Messages are the ones Stripe
//! sends, as its SDKs' tests and integrators quote them.

use actix_web::{http::StatusCode, HttpResponse};
use serde_json::{json, Map, Value};

use crate::sandbox::webhooks::StripeEvent;

/// A handler's answer, the events its changes cause, and whether an idempotency key keeps it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub events: Vec<StripeEvent>,
    /// Stripe keeps an answer for an idempotency key only once the endpoint started executing:
    /// not for parameters that failed validation.
    pub saved: bool,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
            events: Vec::new(),
            saved: true,
        }
    }

    pub fn event(mut self, kind: &'static str, object: Value) -> Reply {
        self.events.push(StripeEvent {
            kind,
            object,
            previous: None,
        });
        self
    }

    pub fn update(mut self, kind: &'static str, object: Value, previous: Value) -> Reply {
        self.events.push(StripeEvent {
            kind,
            object,
            previous: Some(previous),
        });
        self
    }
}

/// An error in Stripe's shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    /// More fields of the error object, e.g. `decline_code` and `charge` for a card error.
    pub extra: Map<String, Value>,
    /// Whether the endpoint had started executing, so an idempotency key keeps the answer.
    pub executed: bool,
}

impl ApiError {
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        error.insert("type".into(), json!(self.kind));
        error.extend(self.extra.clone());
        json!({ "error": error })
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply {
            status: e.status,
            body: e.body(),
            events: Vec::new(),
            saved: e.executed,
        }
    }
}

fn error(status: StatusCode, kind: &'static str, message: &str) -> ApiError {
    ApiError {
        status,
        kind,
        code: None,
        message: message.to_owned(),
        param: None,
        extra: Map::new(),
        executed: false,
    }
}

/// 400 `invalid_request_error` about one parameter.
pub(crate) fn invalid(message: &str, param: &str, code: Option<&'static str>) -> ApiError {
    ApiError {
        code,
        param: Some(param.to_owned()),
        ..error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }
}

/// 400 about the state of an object, after the endpoint began (an idempotency key keeps it).
pub(crate) fn refused(message: &str, param: Option<&str>, code: Option<&'static str>) -> ApiError {
    ApiError {
        code,
        param: param.map(str::to_owned),
        executed: true,
        ..error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }
}

pub(crate) fn missing(param: &str) -> ApiError {
    invalid(
        &format!("Missing required param: {param}."),
        param,
        Some("parameter_missing"),
    )
}

/// An object named by a parameter that does not exist: 400 `resource_missing`.
pub(crate) fn no_such_param(what: &str, id: &str, param: &str) -> ApiError {
    invalid(
        &format!("No such {what}: '{id}'"),
        param,
        Some("resource_missing"),
    )
}

/// An object named by the URL that does not exist: 404 `resource_missing`, param `id`.
pub(crate) fn no_such(what: &str, id: &str) -> ApiError {
    ApiError {
        code: Some("resource_missing"),
        param: Some("id".to_owned()),
        ..error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such {what}: '{id}'"),
        )
    }
}

pub(crate) fn unrecognized(method: &str, path: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        &format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
        ),
    )
}

/// 402 `card_error`: the card was declined.
pub(crate) fn card_error(
    code: &'static str,
    decline_code: Option<&'static str>,
    message: &str,
    extra: Map<String, Value>,
) -> ApiError {
    let mut extra = extra;
    if let Some(decline) = decline_code {
        extra.insert("decline_code".into(), json!(decline));
    }
    ApiError {
        code: Some(code),
        extra,
        executed: true,
        ..error(StatusCode::PAYMENT_REQUIRED, "card_error", message)
    }
}

/// 400 `idempotency_error`.
pub(crate) fn idempotency(message: String) -> ApiError {
    error(StatusCode::BAD_REQUEST, "idempotency_error", &message)
}

/// 401: no key, or one the account does not have. Stripe shows only the key's last four
/// characters.
pub(crate) fn unauthorized(key: Option<&str>) -> ApiError {
    let message = match key {
        None => "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.".to_owned(),
        Some(key) => {
            const PREFIXES: [&str; 4] = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"];
            let prefix = PREFIXES
                .iter()
                .find(|p| key.starts_with(**p))
                .map_or("", |p| *p);
            let rest: Vec<char> = key[prefix.len()..].chars().collect();
            let shown = rest.len().min(4);
            let tail: String = rest[rest.len() - shown..].iter().collect();
            format!(
                "Invalid API Key provided: {prefix}{}{tail}",
                "*".repeat(rest.len() - shown)
            )
        }
    };
    error(StatusCode::UNAUTHORIZED, "invalid_request_error", &message)
}

/// 429 from the rate limiter. Stripe documents no `Retry-After`; the sandbox adds one so
/// clients can wait exactly as long as needed.
pub(crate) fn rate_limited(retry_after: u64) -> HttpResponse {
    let error = ApiError {
        code: Some("rate_limit"),
        ..error(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_request_error",
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
        )
    };
    HttpResponse::TooManyRequests()
        .insert_header(("Retry-After", retry_after.max(1).to_string()))
        .json(error.body())
}

/// An injected failure, shaped as Stripe shapes an error of that status.
pub(crate) fn fault(status: u16) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = "A fault injected through /_sandbox/faults";
    let error = match status.as_u16() {
        402 => card_error(
            "card_declined",
            Some("generic_decline"),
            message,
            Map::new(),
        ),
        429 => {
            return rate_limited(1);
        }
        400..=499 => error(status, "invalid_request_error", message),
        _ => error(status, "api_error", message),
    };
    HttpResponse::build(status).json(error.body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_keys_show_only_their_last_four_characters() {
        let body = unauthorized(Some("sk_test_wrongkey1234")).body();
        assert_eq!(
            body["error"]["message"],
            "Invalid API Key provided: sk_test_********1234"
        );
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn codes_link_their_documentation() {
        let body = no_such("invoice", "in_x").body();
        assert_eq!(body["error"]["code"], "resource_missing");
        assert_eq!(
            body["error"]["doc_url"],
            "https://stripe.com/docs/error-codes/resource-missing"
        );
        assert_eq!(body["error"]["param"], "id");
    }
}
