//! `GET services/data/vXX.X/query?q=SELECT Id, Name FROM Invoice__c WHERE Name = 'INV-1'`: the
//! part of SOQL integrations use to find records.
//!
//! From Salesforce's SOQL reference and REST query resource: named fields only (no `*`),
//! `COUNT()`, `WHERE` with `=`, `!=`, comparisons, `LIKE`, `IN` joined by `AND`/`OR`,
//! `ORDER BY`, `LIMIT` and `OFFSET`; text comparisons ignore case; the answer is `{"totalSize",
//! "done": true, "records": [{"attributes": {"type", "url"}, <fields in SELECT order>}]}`, and
//! `COUNT()` answers `totalSize` with no records. A child-to-parent relationship path reads a
//! field of the record a lookup points to: `Account__r.Name` follows the custom lookup
//! `Account__c`, `Account.Name` the standard `AccountId` (also `Parent`); the answer nests the
//! related record under the relationship name, or null when the lookup is empty. Unknown
//! objects are `INVALID_TYPE`, unknown fields or relationships `INVALID_FIELD`, unreadable
//! queries `MALFORMED_QUERY`, all 400. Date literals and parentheses are not supported.

use actix_web::HttpResponse;
use serde::Serialize;

use super::{
    model::{is_custom, readable_field, standard_object, Field, Record, SObject, SfOrg},
    reply::{self, bad_request, RecordOut, SfError},
};
use crate::sandbox::sql::{self, compare, Dialect, Literal, Projection};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryOut {
    total_size: usize,
    done: bool,
    records: Vec<RecordOut>,
}

fn literal(field: Field) -> Literal {
    match field {
        Field::Text(t) => Literal::Text(t),
        Field::Number(n) => Literal::Number(n),
        Field::Bool(b) => Literal::Bool(b),
        Field::Null => Literal::Null,
    }
}

/// The lookup field behind a relationship name on `object`.
fn lookup_field(object: &str, relationship: &str) -> Option<String> {
    if let Some(stem) = relationship
        .strip_suffix("__r")
        .or_else(|| relationship.strip_suffix("__R"))
    {
        return Some(format!("{stem}__c"));
    }
    match (
        standard_object(object),
        relationship.to_ascii_lowercase().as_str(),
    ) {
        (Some("Contact"), "account") => Some("AccountId".to_owned()),
        (Some("Account"), "parent") => Some("ParentId".to_owned()),
        _ => None,
    }
}

/// A field as the query names it, spelled canonically; `Rel.Field` for relationship paths.
fn canonical(object: &str, field: &str) -> Result<String, SfError> {
    match field.split_once('.') {
        None => readable_field(object, field).ok_or_else(|| reply::no_such_column(object, field)),
        Some((relationship, name)) => {
            if lookup_field(object, relationship).is_none() {
                return Err(bad_request(
                    "INVALID_FIELD",
                    &format!("Didn't understand relationship '{relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name."),
                    &[],
                ));
            }
            let target = if relationship.eq_ignore_ascii_case("account")
                || relationship.eq_ignore_ascii_case("parent")
            {
                "Account".to_owned()
            } else {
                format!("{relationship}__c")
            };
            let name = readable_field(&target, name)
                .ok_or_else(|| reply::no_such_column(&target, name))?;
            Ok(format!("{relationship}.{name}"))
        }
    }
}

/// The record a lookup of `record` points to.
fn related<'a>(
    org: &'a SfOrg,
    object: &SObject,
    record: &Record,
    relationship: &str,
) -> Option<(&'a SObject, &'a Record)> {
    let field = lookup_field(&object.name, relationship)?;
    let id = record.get(&field).and_then(Field::text)?;
    org.by_id(id)
}

pub(crate) fn run(org: &SfOrg, version: &str, user: &str, text: &str) -> HttpResponse {
    match answer(org, version, user, text) {
        Ok(out) => HttpResponse::Ok().json(out),
        Err(refused) => refused.into(),
    }
}

fn answer(org: &SfOrg, version: &str, user: &str, text: &str) -> Result<QueryOut, SfError> {
    let select =
        sql::parse(text, Dialect::Soql).map_err(|e| bad_request("MALFORMED_QUERY", &e, &[]))?;
    if select.projection == Projection::All {
        return Err(bad_request("MALFORMED_QUERY", "unexpected token: '*'", &[]));
    }
    let object_name = standard_object(&select.from)
        .map(str::to_owned)
        .or_else(|| is_custom(&select.from).then(|| select.from.clone()))
        .ok_or_else(|| {
            bad_request(
                "INVALID_TYPE",
                &format!("sObject type '{}' is not supported.", select.from),
                &[],
            )
        })?;
    // Fields are checked against the schema whether or not any record exists yet.
    let mut plain = Vec::new();
    let mut paths: Vec<(String, Vec<String>)> = Vec::new();
    if let Projection::Fields(fields) = &select.projection {
        for f in fields {
            let name = canonical(&object_name, f)?;
            match name.split_once('.') {
                None => plain.push(name),
                Some((rel, field)) => match paths.iter_mut().find(|(r, _)| r == rel) {
                    Some((_, fields)) => fields.push(field.to_owned()),
                    None => paths.push((rel.to_owned(), vec![field.to_owned()])),
                },
            }
        }
    }
    for cond in select.filter.iter().flatten() {
        canonical(&object_name, &cond.field)?;
    }
    if let Some((field, _)) = &select.order {
        canonical(&object_name, field)?;
    }
    let Some(object) = org.get(&object_name) else {
        return Ok(QueryOut {
            total_size: 0,
            done: true,
            records: Vec::new(),
        });
    };
    let get = |r: &Record, f: &str| {
        literal(match f.split_once('.') {
            None => reply::value(user, object, r, f),
            Some((rel, field)) => related(org, object, r, rel)
                .map_or(Field::Null, |(o, rr)| reply::value(user, o, rr, field)),
        })
    };
    let mut found: Vec<&Record> = object
        .records
        .iter()
        .filter(|r| select.matches(|f| Ok(get(r, f))).unwrap_or(false))
        .collect();
    if let Some((field, desc)) = &select.order {
        found.sort_by(|a, b| {
            let ord = compare(&get(a, field), &get(b, field)).unwrap_or(std::cmp::Ordering::Equal);
            if *desc {
                ord.reverse()
            } else {
                ord
            }
        });
    }
    if select.projection == Projection::Count {
        return Ok(QueryOut {
            total_size: found.len(),
            done: true,
            records: Vec::new(),
        });
    }
    let records: Vec<RecordOut> = found
        .into_iter()
        .skip(select.start.unwrap_or(0))
        .take(select.limit.unwrap_or(usize::MAX))
        .map(|r| {
            let mut out = reply::record(version, user, object, r, Some(&plain));
            for (rel, fields) in &paths {
                let nested = related(org, object, r, rel)
                    .map(|(o, rr)| reply::record(version, user, o, rr, Some(fields)));
                out = out.with_related(rel, nested);
            }
            out
        })
        .collect();
    Ok(QueryOut {
        total_size: records.len(),
        done: true,
        records,
    })
}
