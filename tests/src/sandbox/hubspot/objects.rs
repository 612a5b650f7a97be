//! The CRM v3 object endpoints: read, list, create (with associations), update and archive,
//! the checks every write's properties get, and the v4 association PUTs.
//!
//! Shapes from developers.hubspot.com (CRM objects, invoices, associations v4): create
//! `{properties, associations: [{to: {id}, types: [{associationCategory,
//! associationTypeId}]}]}` answers 201 with the object; PATCH answers 200; DELETE archives and
//! answers 204. Property values may come as JSON strings, numbers or booleans; numbers keep
//! their exact text. A write giving a unique property (`hasUniqueValue`) a value another object
//! of the type has is refused with 400 `VALIDATION_ERROR`, HubSpot's shape for invalid property
//! values, in an entry naming the property and the object that has the value (the wording,
//! "<value> already has that value", is as integrations report HubSpot's answer, not found in
//! a stored copy of its docs); a contact's duplicate `email` is 409 `CONFLICT`.

use std::collections::{BTreeMap, HashMap};

use actix_web::{http::StatusCode, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, value::RawValue, Value};

use super::{
    model::{default_type, timestamp, unique_properties, ObjType, Portal},
    reply::{self, Props},
};
use crate::sandbox::money::parse_number;

pub(super) type RawProps = HashMap<String, Box<RawValue>>;

#[derive(Debug, Deserialize)]
pub(crate) struct Write {
    #[serde(default)]
    properties: RawProps,
    #[serde(default)]
    associations: Vec<AssociationIn>,
}

#[derive(Debug, Deserialize)]
struct AssociationIn {
    to: Target,
    #[serde(default)]
    types: Vec<AssociationType>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Target {
    pub id: Box<RawValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssociationType {
    #[allow(dead_code)]
    association_category: Option<String>,
    association_type_id: u32,
}

/// A raw JSON value as HubSpot stores it: strings as they are, numbers and booleans as their
/// text, null as empty (which clears the property).
pub(super) fn text(raw: &RawValue) -> Result<String, String> {
    let t = raw.get().trim();
    match t.chars().next() {
        Some('"') => serde_json::from_str(t).map_err(|e| e.to_string()),
        Some('{' | '[') => Err(format!("{t} is not a property value")),
        _ if t == "null" => Ok(String::new()),
        _ => Ok(t.to_owned()),
    }
}

/// Why the properties of a write were refused; each maps to one HubSpot answer.
#[derive(Debug)]
pub(super) enum Refused {
    BadValue(String),
    Invalid(Vec<(String, &'static str, String)>),
    MissingCurrency,
    DuplicateEmail(u64),
    /// A unique property's value that another object of the type has: (property, value, id).
    DuplicateValue(String, String, u64),
}

impl Refused {
    pub(super) fn answer(self) -> HttpResponse {
        match self {
            Refused::BadValue(message) => reply::bad_request(&message),
            Refused::Invalid(problems) => reply::invalid_properties(&problems),
            Refused::MissingCurrency => {
                reply::bad_request("hs_currency is required to create an invoice")
            }
            Refused::DuplicateEmail(existing) => reply::error(
                StatusCode::CONFLICT,
                "CONFLICT",
                &format!("Contact already exists. Existing ID: {existing}"),
            ),
            Refused::DuplicateValue(name, value, existing) => reply::invalid_properties(&[(
                name,
                "DUPLICATE_VALUE",
                format!("{value} already has that value. Existing ID: {existing}"),
            )]),
        }
    }
}

/// The custom invoice properties ledgerhook's quickstart creates for refunds: a number, and an
/// enumeration with its options.
const AMOUNT_REFUNDED: &str = "ledgerhook_amount_refunded";
const REFUND_STATUS: (&str, [&str; 2]) = (
    "ledgerhook_refund_status",
    ["partially_refunded", "refunded"],
);

/// Reads and checks the properties of a write.
pub(super) fn properties(
    portal: &Portal,
    t: ObjType,
    raw: &RawProps,
    creating: bool,
    own_id: Option<u64>,
) -> Result<BTreeMap<String, String>, Refused> {
    let mut props = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in raw {
        let value = text(value).map_err(Refused::BadValue)?;
        if t.read_only(name) {
            let message = format!("\"{name}\" is a read only property; its value cannot be set.");
            problems.push((name.clone(), "READ_ONLY_VALUE", message));
        } else if name == "hs_invoice_status"
            && !["draft", "open", "paid", "voided"].contains(&value.as_str())
        {
            let message =
                format!("{value} was not one of the allowed options: [draft, open, paid, voided]");
            problems.push((name.clone(), "INVALID_OPTION", message));
        } else if t == ObjType::Invoices
            && name == REFUND_STATUS.0
            && !value.is_empty()
            && !REFUND_STATUS.1.contains(&value.as_str())
        {
            let message = format!(
                "{value} was not one of the allowed options: [{}]",
                REFUND_STATUS.1.join(", ")
            );
            problems.push((name.clone(), "INVALID_OPTION", message));
        } else if ["quantity", "price", "discount", AMOUNT_REFUNDED].contains(&name.as_str())
            && !value.is_empty()
            && parse_number(&value).is_none()
        {
            problems.push((
                name.clone(),
                "INVALID_DECIMAL",
                format!("{value} was not a valid number."),
            ));
        }
        props.insert(name.clone(), value);
    }
    if !problems.is_empty() {
        return Err(Refused::Invalid(problems));
    }
    if creating && t == ObjType::Invoices && props.get("hs_currency").is_none_or(|c| c.is_empty()) {
        return Err(Refused::MissingCurrency);
    }
    for name in unique_properties(t) {
        let Some(value) = props.get(*name).filter(|v| !v.is_empty()) else {
            continue;
        };
        if let Some(existing) = portal
            .find_by(t, name, value)
            .filter(|id| Some(*id) != own_id)
        {
            return Err(Refused::DuplicateValue(
                (*name).to_owned(),
                value.clone(),
                existing,
            ));
        }
    }
    if let Some(email) = props.get("email").filter(|_| t == ObjType::Contacts) {
        let existing = portal.find_by(t, "email", email);
        if let Some(existing) = existing.filter(|id| Some(*id) != own_id) {
            return Err(Refused::DuplicateEmail(existing));
        }
    }
    Ok(props)
}

pub(crate) fn get(
    portal: &Portal,
    t: ObjType,
    key: &str,
    id_property: Option<&str>,
    props: &Props,
    assoc: &[ObjType],
) -> HttpResponse {
    let id = portal.find_by(t, id_property.unwrap_or("hs_object_id"), key);
    match id.and_then(|id| portal.get(t, id)) {
        Some(obj) => HttpResponse::Ok().json(reply::object(portal, t, obj, props, assoc)),
        None => reply::not_found(),
    }
}

/// `GET /crm/v3/objects/{type}?limit=&after=`: pages of up to 100, by id.
pub(crate) fn list(
    portal: &Portal,
    t: ObjType,
    limit: usize,
    after: u64,
    props: &Props,
    assoc: &[ObjType],
) -> HttpResponse {
    let limit = limit.clamp(1, 100);
    let mut page: Vec<_> = portal
        .of(t)
        .filter(|o| o.id > after)
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| page[limit - 1].id);
    page.truncate(limit);
    let results: Vec<Value> = page
        .iter()
        .map(|o| reply::object(portal, t, o, props, assoc))
        .collect();
    let mut body = json!({ "results": results });
    if let Some(after) = next {
        body["paging"] = json!({ "next": { "after": after.to_string() } });
    }
    HttpResponse::Ok().json(body)
}

pub(crate) fn create(portal: &mut Portal, t: ObjType, body: &[u8]) -> HttpResponse {
    let write: Write = match serde_json::from_slice(body) {
        Ok(w) => w,
        Err(e) => return reply::bad_request(&format!("Invalid input JSON: {e}")),
    };
    let props = match properties(portal, t, &write.properties, true, None) {
        Ok(p) => p,
        Err(refused) => return refused.answer(),
    };
    // Associations are checked before anything is written, so a bad one creates nothing.
    let mut links = Vec::new();
    for a in &write.associations {
        let to_id = text(&a.to.id).ok().and_then(|id| id.parse::<u64>().ok());
        let Some(to_id) = to_id else {
            return reply::bad_request(&format!("{} is not an object id", a.to.id.get()));
        };
        for kind in &a.types {
            links.push((kind.association_type_id, to_id));
        }
    }
    let mut trial = portal.clone();
    let id = trial.create(t, props);
    for (type_id, to_id) in links {
        if let Err(message) = trial.associate(t, id, type_id, to_id) {
            return reply::bad_request(&message);
        }
    }
    *portal = trial;
    portal.recalculate();
    match portal.get(t, id) {
        Some(obj) => HttpResponse::Created().json(reply::object(portal, t, obj, &Props::All, &[])),
        None => reply::not_found(),
    }
}

pub(crate) fn patch(
    portal: &mut Portal,
    t: ObjType,
    key: &str,
    id_property: Option<&str>,
    body: &[u8],
) -> HttpResponse {
    let Some(id) = portal.find_by(t, id_property.unwrap_or("hs_object_id"), key) else {
        return reply::not_found();
    };
    let write: Write = match serde_json::from_slice(body) {
        Ok(w) => w,
        Err(e) => return reply::bad_request(&format!("Invalid input JSON: {e}")),
    };
    match properties(portal, t, &write.properties, false, Some(id)) {
        Ok(props) => portal.update(t, id, props),
        Err(refused) => return refused.answer(),
    }
    portal.recalculate();
    match portal.get(t, id) {
        Some(obj) => HttpResponse::Ok().json(reply::object(portal, t, obj, &Props::All, &[])),
        None => reply::not_found(),
    }
}

pub(crate) fn archive(portal: &mut Portal, t: ObjType, key: &str) -> HttpResponse {
    let id = key.parse().unwrap_or(0);
    if portal.archive(t, id) {
        portal.recalculate();
    }
    // HubSpot answers 204 whether or not the object existed.
    HttpResponse::NoContent().finish()
}

/// `PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}` when `types` is empty,
/// else `.../associations/{to}/{toId}` with a body of association types.
pub(crate) fn associate(
    portal: &mut Portal,
    from: ObjType,
    from_id: u64,
    to: ObjType,
    to_id: u64,
    types: Vec<AssociationType>,
) -> HttpResponse {
    if portal.get(from, from_id).is_none() {
        return reply::not_found();
    }
    let labeled = !types.is_empty();
    let ids: Vec<u32> = if labeled {
        types.iter().map(|k| k.association_type_id).collect()
    } else {
        default_type(from, to).into_iter().collect()
    };
    if ids.is_empty() {
        return reply::bad_request(&format!(
            "{} cannot be associated with {}",
            from.name(),
            to.name()
        ));
    }
    for type_id in &ids {
        match portal.associate(from, from_id, *type_id, to_id) {
            Ok(target) if target == to => {}
            Ok(_) => {
                return reply::bad_request(&format!(
                    "association type {type_id} does not lead to {}",
                    to.name()
                ))
            }
            Err(message) => return reply::bad_request(&message),
        }
    }
    portal.recalculate();
    if labeled {
        return HttpResponse::Created().json(json!({
            "fromObjectTypeId": from.type_id(), "fromObjectId": from_id,
            "toObjectTypeId": to.type_id(), "toObjectId": to_id, "labels": [],
        }));
    }
    let now = timestamp(Utc::now());
    HttpResponse::Ok().json(json!({
        "status": "COMPLETE",
        "results": [{
            "from": { "id": from_id.to_string() }, "to": { "id": to_id.to_string() },
            "associationSpec": { "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ids[0] },
        }],
        "startedAt": now, "completedAt": now,
    }))
}
