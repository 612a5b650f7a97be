//! `POST /crm/v3/objects/{type}/search`: `filterGroups` (OR of groups, AND within one) of
//! `{propertyName, operator, value | values}` with HubSpot's operators EQ, NEQ, LT, LTE, GT,
//! GTE, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY and CONTAINS_TOKEN; answers `{total,
//! results, paging}`. String comparisons ignore case; numbers compare as decimals. HubSpot's
//! search index lags writes by seconds; the sandbox's does not.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, value::RawValue, Value};

use super::{
    model::{ObjType, Portal},
    objects::text,
    reply::{self, Props},
};
use crate::sandbox::money::parse_number;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Search {
    #[serde(default)]
    filter_groups: Vec<FilterGroup>,
    properties: Option<Vec<String>>,
    limit: Option<usize>,
    after: Option<Box<RawValue>>,
}

#[derive(Debug, Deserialize)]
struct FilterGroup {
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    property_name: String,
    operator: String,
    value: Option<Box<RawValue>>,
    values: Option<Vec<Box<RawValue>>>,
}

pub(crate) fn search(portal: &Portal, t: ObjType, body: &[u8]) -> HttpResponse {
    let search: Search = match serde_json::from_slice(body) {
        Ok(s) => s,
        Err(e) => return reply::bad_request(&format!("Invalid input JSON: {e}")),
    };
    let limit = search.limit.unwrap_or(10).clamp(1, 200);
    let offset: usize = search
        .after
        .and_then(|a| text(&a).ok()?.parse().ok())
        .unwrap_or(0);
    let matching: Vec<_> = portal
        .of(t)
        .filter(|o| {
            search.filter_groups.is_empty()
                || search
                    .filter_groups
                    .iter()
                    .any(|g| g.filters.iter().all(|f| holds(f, &o.props)))
        })
        .collect();
    let props = Props::from_list(search.properties);
    let results: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|o| reply::object(portal, t, o, &props, &[]))
        .collect();
    let mut body = json!({ "total": matching.len(), "results": results });
    if offset + limit < matching.len() {
        body["paging"] = json!({ "next": { "after": (offset + limit).to_string() } });
    }
    HttpResponse::Ok().json(body)
}

fn holds(f: &Filter, props: &BTreeMap<String, String>) -> bool {
    let actual = props.get(&f.property_name).filter(|v| !v.is_empty());
    let value = f
        .value
        .as_ref()
        .and_then(|v| text(v).ok())
        .unwrap_or_default();
    let equal = |a: &str, b: &str| match (parse_number(a), parse_number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    };
    let order = |a: &str| match (parse_number(a), parse_number(&value)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => None,
    };
    let values: Vec<String> = f
        .values
        .iter()
        .flatten()
        .filter_map(|v| text(v).ok())
        .collect();
    match (f.operator.to_ascii_uppercase().as_str(), actual) {
        ("EQ", Some(a)) => equal(a, &value),
        ("NEQ", Some(a)) => !equal(a, &value),
        ("NEQ", None) | ("NOT_HAS_PROPERTY", None) | ("NOT_IN", None) => true,
        ("HAS_PROPERTY", Some(_)) => true,
        ("IN", Some(a)) => values.iter().any(|v| equal(a, v)),
        ("NOT_IN", Some(a)) => !values.iter().any(|v| equal(a, v)),
        ("CONTAINS_TOKEN", Some(a)) => a.to_ascii_lowercase().contains(&value.to_ascii_lowercase()),
        ("GT", Some(a)) => order(a).is_some_and(|o| o.is_gt()),
        ("GTE", Some(a)) => order(a).is_some_and(|o| o.is_ge()),
        ("LT", Some(a)) => order(a).is_some_and(|o| o.is_lt()),
        ("LTE", Some(a)) => order(a).is_some_and(|o| o.is_le()),
        _ => false,
    }
}
