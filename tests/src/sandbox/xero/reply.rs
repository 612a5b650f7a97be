//! Xero's answers: the `{Id, Status, ProviderName, DateTimeUTC, <Collection>: [...]}`
//! envelope, and the error bodies.
//!
//! Confirmed: the envelope and the 400 `{ErrorNumber: 10, Type: "ValidationException",
//! Message: "A validation exception occurred", Elements: [{..., ValidationErrors: [{Message}]}]}`
//! (Error/Element/ValidationError schemas and examples in XeroAPI/Xero-OpenAPI
//! `xero_accounting.yaml`); 403 `{title: "Forbidden", status: 403, detail:
//! "AuthenticationUnsuccessful", instance}` when `xero-tenant-id` is missing, wrong or not
//! authorised for the token (developer.xero.com/documentation/oauth2/troubleshooting); the 429
//! body `oauth_problem=rate limit exceeded&oauth_problem_advice=please wait before retrying the
//! xero api` (developer.xero.com api limits page). Seen in Xero's answers as reported by
//! integrators rather than in its docs: 401 `{Type: null, Title: "Unauthorized", Status: 401,
//! Detail: "AuthenticationUnsuccessful" | "TokenExpired: ...", Instance, Extensions: {}}`. The
//! 404 text is the docs' table entry ("The resource you have specified cannot be found");
//! `PostDataInvalidException` (14) and `QueryParseException` (16) are Xero's type names for a
//! body or a `where` it cannot read, recalled rather than found in a stored copy of its docs.

use actix_web::{http::StatusCode, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::wire::ms_date;
use crate::sandbox::webhooks::XeroEvent;

/// A handler's answer, plus the webhooks its changes cause.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub events: Vec<XeroEvent>,
}

impl Reply {
    pub fn into_response(self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type(self.content_type)
            .body(self.body)
    }

    pub fn json(status: StatusCode, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type: "application/json; charset=utf-8",
            body,
            events: Vec::new(),
        }
    }

    pub fn with_events(mut self, events: Vec<XeroEvent>) -> Reply {
        self.events = events;
        self
    }
}

/// `{"Id": .., "Status": "OK", "ProviderName": .., "DateTimeUTC": .., "<key>": items}`.
pub(crate) fn envelope<T: Serialize>(key: &str, items: &[T]) -> Reply {
    // Items are serialized straight to text, never through a `Value`, to keep exact numbers.
    let items = serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned());
    // Written by hand to keep Xero's field order: Id, Status, ProviderName, DateTimeUTC.
    let body = format!(
        r#"{{"Id":"{}","Status":"OK","ProviderName":"ledgerhook-sandbox","DateTimeUTC":"{}",{}:{items}}}"#,
        Uuid::new_v4(),
        ms_date(Utc::now()).replace("+0000", ""),
        serde_json::to_string(key).unwrap_or_default(),
    );
    Reply::json(StatusCode::OK, body.into_bytes())
}

/// 400 ValidationException with the refused elements, each carrying its `ValidationErrors`.
pub(crate) fn validation<T: Serialize>(elements: &[T]) -> Reply {
    let elements = serde_json::to_string(elements).unwrap_or_else(|_| "[]".to_owned());
    let body = format!(
        r#"{{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":{elements}}}"#
    );
    Reply::json(StatusCode::BAD_REQUEST, body.into_bytes())
}

/// 400 for a message without an element, e.g. an idempotency key reused for another request.
pub(crate) fn validation_message(message: &str) -> Reply {
    let body = json!({
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": message,
    });
    Reply::json(StatusCode::BAD_REQUEST, body.to_string().into_bytes())
}

pub(crate) fn post_data_invalid(detail: &str) -> Reply {
    let body = json!({
        "ErrorNumber": 14,
        "Type": "PostDataInvalidException",
        "Message": format!("Invalid Json data: {detail}"),
    });
    Reply::json(StatusCode::BAD_REQUEST, body.to_string().into_bytes())
}

pub(crate) fn query_parse(detail: &str) -> Reply {
    let body = json!({
        "ErrorNumber": 16,
        "Type": "QueryParseException",
        "Message": detail,
    });
    Reply::json(StatusCode::BAD_REQUEST, body.to_string().into_bytes())
}

pub(crate) fn not_found() -> Reply {
    Reply {
        status: StatusCode::NOT_FOUND,
        content_type: "text/plain; charset=utf-8",
        body: b"The resource you have specified cannot be found".to_vec(),
        events: Vec::new(),
    }
}

pub(crate) fn unauthorized(detail: &str) -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({
        "Type": null,
        "Title": "Unauthorized",
        "Status": 401,
        "Detail": detail,
        "Instance": Uuid::new_v4().to_string(),
        "Extensions": {},
    }))
}

pub(crate) fn forbidden() -> HttpResponse {
    HttpResponse::Forbidden().json(json!({
        "title": "Forbidden",
        "status": 403,
        "detail": "AuthenticationUnsuccessful",
        "instance": Uuid::new_v4().to_string(),
    }))
}

pub(crate) fn rate_limited(problem: &str, retry_after: Option<u64>) -> HttpResponse {
    let mut answer = HttpResponse::TooManyRequests();
    answer.insert_header(("X-Rate-Limit-Problem", problem.to_owned()));
    if let Some(secs) = retry_after {
        answer.insert_header(("Retry-After", secs.to_string()));
    }
    answer.content_type("text/plain; charset=utf-8").body(
        "oauth_problem=rate limit exceeded&oauth_problem_advice=please wait before retrying the xero api",
    )
}

/// An injected failure: a Xero-shaped error naming the sandbox as its cause.
pub(crate) fn fault(status: u16) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(json!({
        "ErrorNumber": status.as_u16(),
        "Type": "SandboxInjectedFault",
        "Message": "A fault injected through /_sandbox/faults",
    }))
}
