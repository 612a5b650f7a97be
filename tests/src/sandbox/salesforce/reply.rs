//! Salesforce REST answers: records with their `attributes`, and errors as a JSON array of
//! `{message, errorCode, fields}`.
//!
//! Confirmed in Salesforce's REST API guide and in its answers as client libraries record them:
//! 404 `NOT_FOUND` "The requested resource does not exist" (also for an upsert on a field that
//! is no external id); 401 `INVALID_SESSION_ID` "Session expired or invalid"; 403
//! `REQUEST_LIMIT_EXCEEDED` "TotalRequests Limit exceeded." once the org's daily allocation is
//! spent, with `Sforce-Limit-Info: api-usage=<used>/<limit>` on answers; 300 with the matching
//! records' URLs when an external id matches several; a query's unknown column, `INVALID_FIELD`
//! "No such column 'X' on entity 'Y'. If you are attempting to use a custom field, ..." (as
//! client libraries' issues quote it). Recalled from Salesforce's answers, not found in a stored
//! copy of its docs: the texts of `INVALID_FIELD` for a write ("No such column 'X' on sobject
//! of type Y"), `REQUIRED_FIELD_MISSING` ("Required fields are missing: [X]", with
//! `fields`), `DUPLICATE_VALUE` ("duplicate value found: X duplicates value on record with id:
//! Y"), `INVALID_FIELD_FOR_INSERT_UPDATE`, `INVALID_TYPE`, `MALFORMED_QUERY`,
//! `JSON_PARSER_ERROR`, and `UNKNOWN_EXCEPTION` / `SERVER_UNAVAILABLE` for 500 and 503.
//! Salesforce sends no `Retry-After`; the sandbox adds one when refusing over a limit so a
//! client can wait exactly long enough.

use actix_web::{http::StatusCode, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{ser::SerializeMap, Serialize, Serializer};
use serde_json::json;

use super::model::{Field, Record, SObject};
use crate::sandbox::money::Num;

/// A refusal in Salesforce's shape, `[{message, errorCode, fields}]`, kept small (not yet an
/// `HttpResponse`) so handlers can pass it along with `?`.
#[derive(Debug)]
pub(crate) struct SfError {
    status: StatusCode,
    code: String,
    message: String,
    fields: Vec<String>,
}

impl From<SfError> for HttpResponse {
    fn from(e: SfError) -> HttpResponse {
        let mut item = json!({ "message": e.message, "errorCode": e.code });
        if !e.fields.is_empty() {
            item["fields"] = json!(e.fields);
        }
        HttpResponse::build(e.status).json(json!([item]))
    }
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str, fields: &[&str]) -> SfError {
    SfError {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
    }
}

pub(crate) fn not_found() -> SfError {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
        &[],
    )
}

pub(crate) fn bad_request(code: &str, message: &str, fields: &[&str]) -> SfError {
    error(StatusCode::BAD_REQUEST, code, message, fields)
}

pub(crate) fn invalid_field(object: &str, field: &str) -> SfError {
    bad_request(
        "INVALID_FIELD",
        &format!("No such column '{field}' on sobject of type {object}"),
        &[],
    )
}

/// A query's unknown column, in the words SOQL answers with.
pub(crate) fn no_such_column(object: &str, field: &str) -> SfError {
    bad_request(
        "INVALID_FIELD",
        &format!("No such column '{field}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."),
        &[],
    )
}

pub(crate) fn invalid_session() -> HttpResponse {
    error(
        StatusCode::UNAUTHORIZED,
        "INVALID_SESSION_ID",
        "Session expired or invalid",
        &[],
    )
    .into()
}

pub(crate) fn limit_exceeded(retry_after: Option<u64>) -> HttpResponse {
    let mut answer: HttpResponse = error(
        StatusCode::FORBIDDEN,
        "REQUEST_LIMIT_EXCEEDED",
        "TotalRequests Limit exceeded.",
        &[],
    )
    .into();
    if let Some(value) = retry_after.and_then(|s| s.to_string().parse().ok()) {
        answer
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    answer
}

/// An injected failure, shaped as Salesforce's errors and naming the sandbox as its cause.
pub(crate) fn fault(status: u16) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status.as_u16() {
        500 => "UNKNOWN_EXCEPTION",
        503 => "SERVER_UNAVAILABLE",
        _ => "SANDBOX_INJECTED_FAULT",
    };
    error(
        status,
        code,
        "A fault injected through /_sandbox/faults",
        &[],
    )
    .into()
}

/// Salesforce's datetime form, e.g. `2024-06-01T12:00:00.000+0000`.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// A field of a record as a read shows it, system fields included.
pub(crate) fn value(user: &str, object: &SObject, record: &Record, name: &str) -> Field {
    match name.to_ascii_lowercase().as_str() {
        "id" => Field::Text(record.id.clone()),
        "isdeleted" => Field::Bool(false),
        "createddate" => Field::Text(stamp(record.created)),
        "lastmodifieddate" | "systemmodstamp" => Field::Text(stamp(record.modified)),
        "createdbyid" | "lastmodifiedbyid" => Field::Text(user.to_owned()),
        "ownerid" => record
            .get("OwnerId")
            .cloned()
            .unwrap_or_else(|| Field::Text(user.to_owned())),
        "name" if object.name == "Contact" => {
            let part = |n: &str| record.get(n).and_then(Field::text).map(str::to_owned);
            let name: Vec<String> = [part("FirstName"), part("LastName")]
                .into_iter()
                .flatten()
                .collect();
            Field::Text(name.join(" "))
        }
        _ => record.get(name).cloned().unwrap_or(Field::Null),
    }
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Text(t) => serializer.serialize_str(t),
            Field::Number(n) => Num::with_dp(*n, n.scale()).serialize(serializer),
            Field::Bool(b) => serializer.serialize_bool(*b),
            Field::Null => serializer.serialize_none(),
        }
    }
}

/// A record as JSON: `attributes {type, url}` then the fields in order; a query's
/// relationship path (`Account.Name`) adds the related record as a nested object, or null.
#[derive(Debug)]
pub(crate) struct RecordOut {
    object: String,
    url: String,
    fields: Vec<(String, Field)>,
    related: Vec<(String, Option<RecordOut>)>,
}

impl RecordOut {
    pub fn with_related(mut self, relationship: &str, record: Option<RecordOut>) -> RecordOut {
        self.related.push((relationship.to_owned(), record));
        self
    }
}

impl Serialize for RecordOut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = self.fields.len() + self.related.len() + 1;
        let mut map = serializer.serialize_map(Some(len))?;
        let attributes = json!({ "type": self.object, "url": self.url });
        map.serialize_entry("attributes", &attributes)?;
        for (name, value) in &self.fields {
            map.serialize_entry(name, value)?;
        }
        for (name, record) in &self.related {
            map.serialize_entry(name, record)?;
        }
        map.end()
    }
}

pub(crate) fn record_url(version: &str, object: &str, id: &str) -> String {
    format!("/services/data/{version}/sobjects/{object}/{id}")
}

/// A record with the named fields (a query's), or with every field when `names` is `None` (a
/// read by id): the system fields, then every field any record of the object has.
pub(crate) fn record(
    version: &str,
    user: &str,
    object: &SObject,
    record: &Record,
    names: Option<&[String]>,
) -> RecordOut {
    let names: Vec<String> = match names {
        Some(names) => names.to_vec(),
        None => {
            let mut all: Vec<String> = [
                "Id",
                "OwnerId",
                "IsDeleted",
                "Name",
                "CurrencyIsoCode",
                "CreatedDate",
                "CreatedById",
                "LastModifiedDate",
                "LastModifiedById",
                "SystemModstamp",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect();
            for r in &object.records {
                for k in r.fields.keys() {
                    if !all.iter().any(|a| a.eq_ignore_ascii_case(k)) {
                        all.push(k.clone());
                    }
                }
            }
            all
        }
    };
    RecordOut {
        object: object.name.clone(),
        url: record_url(version, &object.name, &record.id),
        fields: names
            .into_iter()
            .map(|n| {
                let v = value(user, object, record, &n);
                (n, v)
            })
            .collect(),
        related: Vec::new(),
    }
}

/// `{"id", "success": true, "errors": [], "created"}` of a create or upsert; `created` is
/// present from API version 46.0.
pub(crate) fn saved(status: StatusCode, id: &str, created: Option<bool>) -> HttpResponse {
    let mut body = json!({ "id": id, "success": true, "errors": [] });
    if let Some(created) = created {
        body["created"] = json!(created);
    }
    HttpResponse::build(status).json(body)
}
