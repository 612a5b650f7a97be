//! Salesforce REST API JSON: records read field by field (object and field names are
//! configurable, so there is no fixed struct), field values to write, SOQL query results, save
//! results and the error array.
//!
//! Shapes per the REST API Developer Guide: a query answers `{"totalSize", "done",
//! "records": [{"attributes": {"type", "url"}, "Id": ..., ...}]}`, a relationship field
//! (`Account__r`) is a nested record or null, a create or upsert answers `{"id", "success",
//! "errors", "created"}`, and every failure is an array of `{"message", "errorCode",
//! "fields"}`. Numbers are read and written as exact JSON number tokens (`Num`).

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::connectors::{num::Num, ApplyError};

/// One record as Salesforce returned it, each field kept as its raw JSON token.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub(super) struct Record(HashMap<String, Box<RawValue>>);

impl Record {
    /// A text, date or id field; `None` when absent or null.
    pub fn text(&self, field: &str) -> Option<String> {
        let raw = self.0.get(field)?;
        serde_json::from_str::<Option<String>>(raw.get())
            .ok()
            .flatten()
            .filter(|s| !s.is_empty())
    }

    pub fn id(&self) -> String {
        self.text("Id").unwrap_or_default()
    }

    /// A number or currency field, exactly as sent.
    pub fn number(&self, field: &str) -> Result<Option<Decimal>, ApplyError> {
        match self.0.get(field).map(|raw| raw.get()) {
            None | Some("null") => Ok(None),
            Some(token) => Num::parse(token)
                .map(|n| Some(n.0))
                .map_err(|e| ApplyError::permanent(format!("Salesforce field {field}: {e}"))),
        }
    }

    /// A relationship field (`Account__r`, `Account`): the nested record, if any.
    pub fn related(&self, relationship: &str) -> Option<Record> {
        let raw = self.0.get(relationship)?;
        serde_json::from_str::<Option<Record>>(raw.get())
            .ok()
            .flatten()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct QueryResult {
    pub records: Vec<Record>,
}

/// The answer to a create or an upsert by external id.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SaveResult {
    pub id: String,
    pub errors: Vec<SfError>,
}

/// One element of Salesforce's error array.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct SfError {
    pub message: String,
    pub error_code: String,
    pub fields: Vec<String>,
}

impl SfError {
    /// "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (Name)".
    pub fn describe_all(errors: &[SfError]) -> String {
        let parts: Vec<String> = errors
            .iter()
            .map(|e| {
                let mut text = format!("{}: {}", e.error_code, e.message);
                if !e.fields.is_empty() {
                    text.push_str(&format!(" ({})", e.fields.join(", ")));
                }
                text
            })
            .collect();
        parts.join("; ")
    }
}

/// A value to write into a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(super) enum Value {
    Text(String),
    Number(Num),
}

/// The body of a create or update: field name to value, in a stable order.
pub(super) type Fields = BTreeMap<String, Value>;
