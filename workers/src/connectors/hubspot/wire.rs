//! HubSpot CRM v3/v4 JSON: objects with string properties, batch and search envelopes,
//! association lists and error bodies.
//!
//! Shapes follow developers.hubspot.com: CRM objects, invoices (create a draft with
//! `hs_currency`, PATCH properties, `PUT /crm/v4/objects/invoices/{id}/associations/default/
//! {toObjectType}/{toObjectId}`), line items (`name`, `quantity`, `price`), search, and
//! contacts batch upsert by `idProperty`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// A property value. HubSpot sends every value as a string (or null); a server that sends a
/// bare number or boolean is read as that token's exact text, never through `f64`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Prop(pub Option<String>);

impl<'de> Deserialize<'de> for Prop {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get().trim();
        Ok(Prop(match text {
            "null" => None,
            t if t.starts_with('"') => {
                Some(serde_json::from_str(t).map_err(serde::de::Error::custom)?)
            }
            t => Some(t.to_owned()),
        }))
    }
}

/// A CRM record: `{"id", "properties", "updatedAt", "associations"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct HObject {
    pub id: String,
    pub properties: HashMap<String, Prop>,
    pub updated_at: Option<String>,
    /// Keyed by the associated object type; HubSpot has spelled line items both `line_items`
    /// and `line items`, so readers go through [`HObject::associated`].
    pub associations: HashMap<String, AssociationList>,
}

impl HObject {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)
            .and_then(|p| p.0.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The ids of associated records of `kind` (`line_items`, `contacts`, `companies`).
    pub fn associated(&self, kind: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .associations
            .iter()
            .filter(|(key, _)| key.replace(' ', "_") == kind)
            .flat_map(|(_, list)| list.results.iter().map(|r| r.id.clone()))
            .collect();
        // One record can be associated under several labels; it is still one record.
        ids.sort();
        ids.dedup();
        ids
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct AssociationList {
    pub results: Vec<AssociatedId>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct AssociatedId {
    pub id: String,
}

/// Batch and search answers: `{"results": [...], "errors": [...]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Results {
    pub results: Vec<HObject>,
    pub errors: Vec<Message>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Message {
    pub message: String,
}

/// An error body: `{"status":"error","message":...,"category":"VALIDATION_ERROR",
/// "errors":[{"message":...}]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct HError {
    pub message: Option<String>,
    pub category: Option<String>,
    pub errors: Vec<Message>,
}

impl HError {
    pub fn describe(&self) -> String {
        let head = self
            .message
            .as_deref()
            .unwrap_or("HubSpot rejected the request");
        let details: Vec<&str> = self
            .errors
            .iter()
            .map(|e| e.message.as_str())
            .filter(|m| !m.is_empty() && !head.contains(*m))
            .collect();
        if details.is_empty() {
            head.to_owned()
        } else {
            format!("{head} ({})", details.join("; "))
        }
    }
}

pub(super) type Properties<'a> = BTreeMap<&'a str, String>;

/// `{"properties": {...}}` for a create or a PATCH.
#[derive(Debug, Serialize)]
pub(super) struct PropertiesBody<'a> {
    pub properties: Properties<'a>,
}

/// A line item created together with its association to the invoice:
/// `{"properties": {...}, "associations": [{"to": {"id"}, "types": [...]}]}`.
#[derive(Debug, Serialize)]
pub(super) struct LineCreate<'a> {
    pub properties: Properties<'a>,
    pub associations: [LineAssociation<'a>; 1],
}

#[derive(Debug, Serialize)]
pub(super) struct LineAssociation<'a> {
    pub to: IdInput<'a>,
    pub types: [AssociationSpec; 1],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AssociationSpec {
    pub association_category: &'static str,
    pub association_type_id: u32,
}

/// HubSpot's defined association type from a line item to an invoice (the reverse of
/// invoice-to-line-item 409).
const LINE_ITEM_TO_INVOICE: u32 = 410;

impl<'a> LineAssociation<'a> {
    pub fn to_invoice(invoice_id: &'a str) -> Self {
        LineAssociation {
            to: IdInput { id: invoice_id },
            types: [AssociationSpec {
                association_category: "HUBSPOT_DEFINED",
                association_type_id: LINE_ITEM_TO_INVOICE,
            }],
        }
    }
}

/// `{"inputs": [...]}` for every batch endpoint.
#[derive(Debug, Serialize)]
pub(super) struct Inputs<T> {
    pub inputs: Vec<T>,
}

#[derive(Debug, Serialize)]
pub(super) struct IdInput<'a> {
    pub id: &'a str,
}

#[derive(Debug, Serialize)]
pub(super) struct BatchRead<'a> {
    pub properties: &'a [&'a str],
    pub inputs: Vec<IdInput<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpsertInput<'a> {
    pub id_property: &'static str,
    pub id: &'a str,
    pub properties: Properties<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Search<'a> {
    pub filter_groups: [FilterGroup<'a>; 1],
    pub properties: &'a [&'a str],
    pub limit: u32,
}

#[derive(Debug, Serialize)]
pub(super) struct FilterGroup<'a> {
    pub filters: Vec<Filter<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Filter<'a> {
    pub property_name: &'a str,
    pub operator: &'static str,
    pub value: &'a str,
}

impl<'a> Search<'a> {
    /// Records whose properties equal all the given values.
    pub fn equal(pairs: &[(&'a str, &'a str)], properties: &'a [&'a str], limit: u32) -> Self {
        let filters = pairs
            .iter()
            .map(|&(property_name, value)| Filter {
                property_name,
                operator: "EQ",
                value,
            })
            .collect();
        Search {
            filter_groups: [FilterGroup { filters }],
            properties,
            limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_values_keep_their_exact_text() {
        let body = r#"{"id":"7","properties":{"a":"20.00","b":null,"c":1234.50,"d":true},
            "associations":{"line items":{"results":[{"id":"2","type":"x"},{"id":"1"}]},
            "line_items":{"results":[{"id":"2"}]}}}"#;
        let object: HObject = serde_json::from_str(body).expect("parse");
        assert_eq!(object.prop("a"), Some("20.00"));
        assert_eq!(object.prop("b"), None);
        assert_eq!(object.prop("c"), Some("1234.50"));
        assert_eq!(object.prop("d"), Some("true"));
        assert_eq!(object.associated("line_items"), ["1", "2"]);
    }
}
