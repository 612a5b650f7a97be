//! The write path shared by every sObject resource: reading a body into checked field values
//! (lookups by external id resolved), and saving a record after its required fields and
//! unique external ids are checked.
//!
//! A lookup may be set by the related record's external id, `"Account__r": {"External_Id__c":
//! "C-1"}` (Salesforce's "relationship by external id"); the related object is the one the
//! relationship name suggests (`Account__r` means `Account` or `Account__c`; `Account` and
//! `Parent` mean Account) unless the nested `attributes.type` names it. Required fields are
//! Account `Name` and Contact `LastName`; a custom object has none, its `Name` being filled in.

use std::collections::BTreeMap;

use chrono::Utc;
use ledgerhook_shared::Currency;
use serde_json::value::RawValue;

use super::{
    model::{readable_field, standard_object, writable_field, Field, Record, SfOrg, SYSTEM_FIELDS},
    reply::{self, bad_request, SfError},
    sobjects::Changed,
};
use crate::sandbox::money::parse_number;

/// The fields a write body sets, checked against the object, lookups by external id resolved.
pub(super) fn fields(
    org: &SfOrg,
    object: &str,
    body: &[u8],
) -> Result<Vec<(String, Field)>, SfError> {
    let parser = |e: String| bad_request("JSON_PARSER_ERROR", &e, &[]);
    let raw: BTreeMap<String, Box<RawValue>> =
        serde_json::from_slice(body).map_err(|e| parser(e.to_string()))?;
    let mut out = Vec::new();
    for (key, raw) in raw {
        if key == "attributes" {
            continue;
        }
        let text = raw.get().trim();
        if text.starts_with('{') {
            out.push(relation(org, object, &key, text)?);
            continue;
        }
        let value = match text.chars().next() {
            Some('"') => {
                Field::Text(serde_json::from_str(text).map_err(|e| parser(e.to_string()))?)
            }
            Some('[') => {
                return Err(parser(format!(
                    "Cannot deserialize instance of {key} from START_ARRAY value"
                )))
            }
            _ if text == "null" => Field::Null,
            _ if text == "true" || text == "false" => Field::Bool(text == "true"),
            _ => Field::Number(
                parse_number(text).ok_or_else(|| parser(format!("{text} is not a value")))?,
            ),
        };
        let Some(name) = writable_field(object, &key) else {
            if SYSTEM_FIELDS.iter().any(|s| s.eq_ignore_ascii_case(&key))
                || readable_field(object, &key).is_some()
            {
                return Err(bad_request(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    &format!("Unable to create/update fields: {key}. Please check the security settings of this field and verify that it is read/write for your profile or permission set."),
                    &[&key],
                ));
            }
            return Err(reply::invalid_field(object, &key));
        };
        if name == "CurrencyIsoCode" && value.text().is_none_or(|c| Currency::parse(c).is_err()) {
            let shown = value.text().unwrap_or("null");
            return Err(bad_request(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                &format!("Currency ISO Code: invalid currency code: {shown}"),
                &["CurrencyIsoCode"],
            ));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// `"Account__r": {"External_Id__c": "C-1"}` to `("Account__c", <the Account's Id>)`.
fn relation(org: &SfOrg, object: &str, key: &str, text: &str) -> Result<(String, Field), SfError> {
    let nested: BTreeMap<String, Box<RawValue>> = serde_json::from_str(text)
        .map_err(|e| bad_request("JSON_PARSER_ERROR", &e.to_string(), &[]))?;
    let named_type = nested
        .get("attributes")
        .and_then(|a| serde_json::from_str::<serde_json::Value>(a.get()).ok())
        .and_then(|a| a["type"].as_str().map(str::to_owned));
    let (field, guess) =
        if let Some(stem) = key.strip_suffix("__r").or_else(|| key.strip_suffix("__R")) {
            (
                format!("{stem}__c"),
                vec![stem.to_owned(), format!("{stem}__c")],
            )
        } else if key.eq_ignore_ascii_case("Account") || key.eq_ignore_ascii_case("Parent") {
            (format!("{key}Id"), vec!["Account".to_owned()])
        } else {
            return Err(reply::invalid_field(object, key));
        };
    let targets = named_type.map(|t| vec![t]).unwrap_or(guess);
    let Some((ext_field, ext_raw)) = nested.iter().find(|(k, _)| k.as_str() != "attributes") else {
        return Err(bad_request(
            "JSON_PARSER_ERROR",
            &format!("{key} names no external id"),
            &[],
        ));
    };
    let ext_value: String =
        serde_json::from_str(ext_raw.get()).unwrap_or_else(|_| ext_raw.get().to_owned());
    let target = targets.iter().find_map(|t| {
        org.get(t)
            .or_else(|| standard_object(t).and_then(|s| org.get(s)))
    });
    let matches: Vec<&Record> = target
        .map(|o| {
            o.records
                .iter()
                .filter(|r| same(r.get(ext_field), &ext_value))
                .collect()
        })
        .unwrap_or_default();
    let entity = target.map_or_else(|| targets[0].clone(), |o| o.name.clone());
    match matches.as_slice() {
        [one] => Ok((writable_field(object, &field).unwrap_or(field), Field::Text(one.id.clone()))),
        [] => Err(bad_request(
            "INVALID_FIELD",
            &format!("Foreign key external ID: {ext_value} not found for field {ext_field} in entity {entity}"),
            &[],
        )),
        _ => Err(bad_request(
            "INVALID_FIELD",
            &format!("Foreign key external ID: {ext_value} matches more than one record for field {ext_field} in entity {entity}"),
            &[],
        )),
    }
}

/// Whether a stored value equals an external id from a URL, ignoring case.
pub(crate) fn same(value: Option<&Field>, wanted: &str) -> bool {
    match value {
        Some(Field::Text(t)) => t.eq_ignore_ascii_case(wanted),
        Some(Field::Number(n)) => parse_number(wanted).is_some_and(|w| w == *n),
        _ => false,
    }
}

/// Checks a record's required fields and unique external ids before it is saved.
fn check(org: &SfOrg, object: &str, record: &Record) -> Result<(), SfError> {
    let required = match standard_object(object) {
        Some("Account") => Some("Name"),
        Some(_) => Some("LastName"),
        None => None,
    };
    if let Some(name) = required {
        if record
            .get(name)
            .and_then(Field::text)
            .is_none_or(|t| t.trim().is_empty())
        {
            return Err(bad_request(
                "REQUIRED_FIELD_MISSING",
                &format!("Required fields are missing: [{name}]"),
                &[name],
            ));
        }
    }
    let Some(sobject) = org.get(object) else {
        return Ok(());
    };
    for (name, value) in &record.fields {
        if !sobject.is_external_id(name) || *value == Field::Null {
            continue;
        }
        let wanted = match value {
            Field::Text(t) => t.clone(),
            other => serde_json::to_string(other).unwrap_or_default(),
        };
        if let Some(other) = sobject
            .records
            .iter()
            .find(|r| r.id != record.id && same(r.get(name), &wanted))
        {
            return Err(bad_request(
                "DUPLICATE_VALUE",
                &format!(
                    "duplicate value found: {name} duplicates value on record with id: {}",
                    other.id
                ),
                &[],
            ));
        }
    }
    Ok(())
}

/// Inserts a record; the caller has resolved the object.
pub(super) fn insert(
    org: &mut SfOrg,
    object: &str,
    values: Vec<(String, Field)>,
) -> Result<Record, SfError> {
    let Some(sobject) = org.object(object) else {
        return Err(reply::not_found());
    };
    let (name, prefix, custom) = (
        sobject.name.clone(),
        sobject.prefix.clone(),
        standard_object(object).is_none(),
    );
    let now = Utc::now();
    let mut record = Record {
        id: org.new_id(&prefix),
        fields: BTreeMap::new(),
        created: now,
        modified: now,
    };
    for (k, v) in values {
        record.set(&k, v);
    }
    if custom && record.get("Name").is_none_or(|n| *n == Field::Null) {
        record.set("Name", Field::Text(org.auto_number()));
    }
    if record.get("CurrencyIsoCode").is_none() {
        record.set("CurrencyIsoCode", Field::Text(org.currency.clone()));
    }
    check(org, &name, &record)?;
    if let Some(sobject) = org.object(&name) {
        sobject.records.push(record.clone());
    }
    Ok(record)
}

/// Applies values to the record at `index`, answering the changed record.
pub(super) fn update(
    org: &mut SfOrg,
    object: &str,
    index: usize,
    values: Vec<(String, Field)>,
) -> Result<Changed, SfError> {
    let Some(sobject) = org.object(object) else {
        return Err(reply::not_found());
    };
    let before = sobject.records[index].clone();
    let name = sobject.name.clone();
    let mut after = before.clone();
    for (k, v) in values {
        after.set(&k, v);
    }
    after.modified = Utc::now();
    check(org, &name, &after)?;
    if let Some(slot) = org.object(&name).and_then(|o| o.records.get_mut(index)) {
        *slot = after.clone();
    }
    Ok(Changed {
        object: name,
        before: Some(before),
        after: Some(after),
    })
}
