//! HubSpot's answers: CRM objects as `{id, properties, createdAt, updatedAt, archived}` and the
//! `{status: "error", message, correlationId, category}` errors.
//!
//! Confirmed: the object shape and that a read without `properties` returns the defaults
//! (developers.hubspot.com invoices API: `hs_createdate`, `hs_lastmodifieddate`,
//! `hs_object_id`); the 429 body `{status: "error", message, errorType: "RATE_LIMIT",
//! correlationId, policyName, requestId}` (HubSpot's usage-details docs, whose example is the
//! daily policy; the ten-second one is named `TEN_SECONDLY_ROLLING` here by that pattern).
//! From HubSpot's answers rather than a stored copy of its docs: 401 categories
//! `INVALID_AUTHENTICATION` and `EXPIRED_AUTHENTICATION`, 404 `OBJECT_NOT_FOUND`, 409
//! `CONFLICT` for a duplicate contact email, 400 `VALIDATION_ERROR` for read-only or invalid
//! property values. HubSpot does not document `Retry-After` on 429; the sandbox sends it,
//! with the `X-HubSpot-RateLimit-*` headers, so a client can wait exactly long enough.

use std::time::Duration;

use actix_web::{http::StatusCode, HttpResponse};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::model::{timestamp, Obj, ObjType, Portal};

pub(crate) fn error(status: StatusCode, category: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "status": "error",
        "message": message,
        "correlationId": Uuid::new_v4().to_string(),
        "category": category,
    }))
}

pub(crate) fn not_found() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        "Resource not found",
    )
}

pub(crate) fn bad_request(message: &str) -> HttpResponse {
    error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
}

/// `Property values were not valid: [...]`, one entry per refused property.
pub(crate) fn invalid_properties(problems: &[(String, &str, String)]) -> HttpResponse {
    let list: Vec<Value> = problems
        .iter()
        .map(|(name, code, message)| {
            json!({ "isValid": false, "message": message, "error": code, "name": name })
        })
        .collect();
    let message = format!(
        "Property values were not valid: {}",
        serde_json::to_string(&list).unwrap_or_default()
    );
    bad_request(&message)
}

pub(crate) fn unauthorized(expired_secs: Option<i64>) -> HttpResponse {
    match expired_secs {
        Some(secs) => error(
            StatusCode::UNAUTHORIZED,
            "EXPIRED_AUTHENTICATION",
            &format!("The OAuth token used to make this call expired {secs} second(s) ago."),
        ),
        None => error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        ),
    }
}

pub(crate) fn rate_limited(wait: Duration) -> HttpResponse {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    HttpResponse::TooManyRequests()
        .insert_header(("Retry-After", secs.to_string()))
        .insert_header(("X-HubSpot-RateLimit-Remaining", "0"))
        .json(json!({
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": Uuid::new_v4().to_string(),
            "policyName": "TEN_SECONDLY_ROLLING",
            "requestId": Uuid::new_v4().to_string(),
        }))
}

/// An injected failure, shaped as HubSpot's errors and naming the sandbox as its cause.
pub(crate) fn fault(status: u16) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error(
        status,
        "SANDBOX_INJECTED_FAULT",
        "A fault injected through /_sandbox/faults",
    )
}

/// Which properties a read returns.
#[derive(Debug, Clone)]
pub(crate) enum Props {
    Defaults,
    Named(Vec<String>),
    All,
}

impl Props {
    pub fn from_list(list: Option<Vec<String>>) -> Props {
        match list {
            Some(l) if !l.is_empty() => Props::Named(l),
            _ => Props::Defaults,
        }
    }
}

/// One object as HubSpot's v3 API shows it; `associations` names the types to list.
pub(crate) fn object(
    portal: &Portal,
    t: ObjType,
    obj: &Obj,
    props: &Props,
    associations: &[ObjType],
) -> Value {
    let mut properties = Map::new();
    let system = ["hs_object_id", t.created_prop(), t.modified_prop()];
    let names: Vec<String> = match props {
        Props::All => obj.props.keys().cloned().collect(),
        Props::Defaults => t
            .default_properties()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        Props::Named(list) => list
            .iter()
            .cloned()
            .chain(system.iter().map(|s| (*s).to_owned()))
            .collect(),
    };
    for name in names {
        let value = obj.props.get(&name).map_or(Value::Null, |v| json!(v));
        properties.insert(name, value);
    }
    let mut out = json!({
        "id": obj.id.to_string(),
        "properties": properties,
        "createdAt": timestamp(obj.created),
        "updatedAt": timestamp(obj.updated),
        "archived": false,
    });
    if !associations.is_empty() {
        let mut map = Map::new();
        for to in associations {
            let results: Vec<Value> = portal
                .associated(t, obj.id, *to)
                .into_iter()
                .map(|(id, label)| json!({ "id": id.to_string(), "type": label }))
                .collect();
            if !results.is_empty() {
                map.insert(to.name().to_owned(), json!({ "results": results }));
            }
        }
        out["associations"] = Value::Object(map);
    }
    out
}
