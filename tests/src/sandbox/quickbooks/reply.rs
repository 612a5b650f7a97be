//! QuickBooks Online's answers: `{"<Entity>": {...}, "time": ...}`, and its two error shapes.
//!
//! Confirmed in Intuit's material: the data-service fault `{"Fault": {"Error": [{"Message",
//! "Detail", "code", "element"}], "type": "ValidationFault"}, "time"}` (developer.intuit.com
//! "Handling common errors"); 5010 "Stale Object Error" with Detail "Stale Object Error : You
//! and ... were working on this at the same time. ... finished before you did, so your work was
//! not saved." (as QuickBooks answers it, quoted in python-quickbooks issue 127); 6140 "Duplicate
//! Doc Num" (Intuit's error table) with the Detail "... DocNumber=X is assigned to TxnType=
//! Invoice with TxnId=N" integrators quote; 6240 "Duplicate Name Exists Error" / "The name
//! supplied already exists. : Another customer, vendor or employee is already using this name.
//! Please use a different name." (QuickBooks-V3-PHP-SDK issue 241); 610 "Object Not Found" and
//! 2500 "Invalid Reference Id" with "Something you're trying to use has been made inactive.
//! Check the fields with accounts, customers, items, vendors or employees."; 4000 "Error
//! parsing query" / "QueryParserError: ..."; 500 "Unsupported Operation" for an unknown
//! resource; all 400. The gateway's own errors use another, lowercase shape: `{"fault":
//! {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
//! "detail", "code": "3200", "element": null}], "type": "AUTHENTICATION"}, ...}` for 401,
//! `message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403` type `SERVICE` for a
//! token not authorized for the realm, and `message=ThrottleExceeded; errorCode=003001;
//! statusCode=429` with "The request limit was reached.  Try again later" for 429 (as Intuit
//! answers them, quoted in python-quickbooks, node-quickbooks and quickbooks-ruby issues).
//! Recalled from QuickBooks' answers rather than found in a stored copy of its docs: 2010
//! "Request has invalid or unsupported property", 2020 "Required param missing, need to supply
//! the required value for the API", 2050 for a string too long, 4001 "Invalid query", 6000 "A
//! business validation error has occurred while processing your request" (with the sandbox's
//! own Details), 6070 "Amount is not equal to UnitPrice * Qty". Intuit does not document
//! `Retry-After`; the sandbox sends it with 429 so a client can wait exactly long enough.

use actix_web::{http::StatusCode, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::sandbox::webhooks::QuickbooksEvent;

/// A handler's answer, plus the webhooks its changes cause.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub events: Vec<QuickbooksEvent>,
}

impl Reply {
    pub fn into_response(self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type("application/json;charset=UTF-8")
            .insert_header(("intuit_tid", uuid::Uuid::new_v4().to_string()))
            .body(self.body)
    }

    pub fn with_events(mut self, events: Vec<QuickbooksEvent>) -> Reply {
        self.events = events;
        self
    }
}

/// The `time` of every answer, e.g. `2015-07-24T10:33:39.110-00:00`.
pub(crate) fn time() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// `{"<key>": <item>, "time": ...}`, written straight to text to keep exact numbers.
pub(crate) fn entity<T: Serialize>(key: &str, item: &T) -> Reply {
    let item = serde_json::to_string(item).unwrap_or_else(|_| "{}".to_owned());
    let body = format!(r#"{{"{key}":{item},"time":"{}"}}"#, time());
    Reply {
        status: StatusCode::OK,
        body: body.into_bytes(),
        events: Vec::new(),
    }
}

/// `{"QueryResponse": <inner>, "time": ...}` around already-serialized text.
pub(crate) fn query(inner: &str) -> Reply {
    let body = format!(r#"{{"QueryResponse":{inner},"time":"{}"}}"#, time());
    Reply {
        status: StatusCode::OK,
        body: body.into_bytes(),
        events: Vec::new(),
    }
}

/// A 400 ValidationFault with one error.
pub(crate) fn validation(code: &str, message: &str, detail: &str) -> Reply {
    let body = json!({
        "Fault": {
            "Error": [{ "Message": message, "Detail": detail, "code": code, "element": "" }],
            "type": "ValidationFault",
        },
        "time": time(),
    });
    Reply {
        status: StatusCode::BAD_REQUEST,
        body: body.to_string().into_bytes(),
        events: Vec::new(),
    }
}

pub(crate) fn stale() -> Reply {
    validation(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and ledgerhook-sandbox were working on this at the same time. ledgerhook-sandbox finished before you did, so your work was not saved.",
    )
}

pub(crate) fn not_found() -> Reply {
    validation(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
    )
}

pub(crate) fn invalid_reference(what: &str) -> Reply {
    validation(
        "2500",
        "Invalid Reference Id",
        &format!("Invalid Reference Id : {what} : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees."),
    )
}

pub(crate) fn required(param: &str) -> Reply {
    validation(
        "2020",
        "Required param missing, need to supply the required value for the API",
        &format!("Required parameter {param} is missing in the request"),
    )
}

pub(crate) fn invalid_property(detail: &str) -> Reply {
    validation(
        "2010",
        "Request has invalid or unsupported property",
        &format!("Property Name:{detail} specified is unsupported or invalid"),
    )
}

pub(crate) fn business(detail: &str) -> Reply {
    validation(
        "6000",
        "A business validation error has occurred while processing your request",
        &format!("Business Validation Error: {detail}"),
    )
}

pub(crate) fn unsupported(path: &str) -> Reply {
    validation(
        "500",
        "Unsupported Operation",
        &format!("Operation {path} is not supported."),
    )
}

/// The gateway's lowercase error shape, used for 401, 403 and 429.
fn gateway(
    status: StatusCode,
    kind: &str,
    code: &str,
    name: &str,
    detail: Option<&str>,
) -> HttpResponse {
    let message = format!(
        "message={name}; errorCode={:0>6}; statusCode={}",
        code,
        status.as_u16()
    );
    HttpResponse::build(status).json(json!({
        "warnings": null,
        "intuitObject": null,
        "fault": {
            "error": [{ "message": message, "detail": detail, "code": code, "element": null }],
            "type": kind,
        },
        "report": null,
        "queryResponse": null,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": null,
        "requestId": null,
        "time": Utc::now().timestamp_millis(),
        "status": null,
        "cdcresponse": [],
    }))
}

pub(crate) fn unauthorized(detail: &str) -> HttpResponse {
    gateway(
        StatusCode::UNAUTHORIZED,
        "AUTHENTICATION",
        "3200",
        "AuthenticationFailed",
        Some(detail),
    )
}

pub(crate) fn forbidden() -> HttpResponse {
    gateway(
        StatusCode::FORBIDDEN,
        "SERVICE",
        "3100",
        "ApplicationAuthorizationFailed",
        None,
    )
}

pub(crate) fn throttled(retry_after: Option<u64>) -> HttpResponse {
    let mut answer = gateway(
        StatusCode::TOO_MANY_REQUESTS,
        "SERVICE",
        "3001",
        "ThrottleExceeded",
        Some("The request limit was reached.  Try again later"),
    );
    if let Some(secs) = retry_after {
        if let Ok(value) = secs.to_string().parse() {
            answer
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, value);
        }
    }
    answer
}

/// An injected failure, shaped as QuickBooks' SystemFault and naming the sandbox as its cause.
pub(crate) fn fault(status: u16) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(json!({
        "Fault": {
            "Error": [{
                "Message": "An application error has occurred while processing your request",
                "Detail": "A fault injected through /_sandbox/faults",
                "code": status.as_u16().to_string(),
            }],
            "type": "SystemFault",
        },
        "time": time(),
    }))
}
