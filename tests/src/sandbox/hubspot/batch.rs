//! The CRM v3 batch endpoints: `batch/read` (by id or by a unique property such as a
//! contact's `email`) and `batch/upsert` (by `idProperty`: contacts by `email`, HubSpot's unique
//! contact property, and any object by one of its unique custom properties). Answers are `{status: "COMPLETE", results, startedAt, completedAt}`, 207
//! with `errors` when some inputs were not found.

use actix_web::{http::StatusCode, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, value::RawValue, Value};

use super::{
    model::{timestamp, unique_properties, ObjType, Portal},
    objects::{properties, text, RawProps, Target},
    reply::{self, Props},
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchRead {
    #[serde(default)]
    inputs: Vec<Target>,
    properties: Option<Vec<String>>,
    id_property: Option<String>,
}

pub(crate) fn batch_read(portal: &Portal, t: ObjType, body: &[u8]) -> HttpResponse {
    let read: BatchRead = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return reply::bad_request(&format!("Invalid input JSON: {e}")),
    };
    let props = Props::from_list(read.properties);
    let started = timestamp(Utc::now());
    let (mut results, mut missing) = (Vec::new(), Vec::new());
    for input in &read.inputs {
        let key = text(&input.id).unwrap_or_default();
        let id = portal.find_by(
            t,
            read.id_property.as_deref().unwrap_or("hs_object_id"),
            &key,
        );
        match id.and_then(|id| portal.get(t, id)) {
            Some(obj) => results.push(reply::object(portal, t, obj, &props, &[])),
            None => missing.push(key),
        }
    }
    let mut body = json!({
        "status": "COMPLETE", "results": results,
        "startedAt": started, "completedAt": timestamp(Utc::now()),
    });
    if missing.is_empty() {
        return HttpResponse::Ok().json(body);
    }
    body["numErrors"] = json!(1);
    body["errors"] = json!([{
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": format!("Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.", t.singular().to_ascii_uppercase()),
        "context": { "ids": missing },
    }]);
    HttpResponse::build(StatusCode::MULTI_STATUS).json(body)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpsertInput {
    id: Box<RawValue>,
    id_property: Option<String>,
    #[serde(default)]
    properties: RawProps,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BatchUpsert {
    inputs: Vec<UpsertInput>,
}

pub(crate) fn batch_upsert(portal: &mut Portal, t: ObjType, body: &[u8]) -> HttpResponse {
    let upsert: BatchUpsert = match serde_json::from_slice(body) {
        Ok(u) => u,
        Err(e) => return reply::bad_request(&format!("Invalid input JSON: {e}")),
    };
    let started = timestamp(Utc::now());
    let mut trial = portal.clone();
    let mut done = Vec::new();
    for input in upsert.inputs {
        let key = text(&input.id).unwrap_or_default();
        let id_property = input
            .id_property
            .unwrap_or_else(|| "hs_object_id".to_owned());
        let unique = id_property == "hs_object_id"
            || (t == ObjType::Contacts && id_property == "email")
            || unique_properties(t).contains(&id_property.as_str());
        if !unique {
            return reply::bad_request(&format!(
                "{id_property} is not a unique property of {}",
                t.name()
            ));
        }
        let existing = trial.find_by(t, &id_property, &key);
        let mut props = match properties(&trial, t, &input.properties, existing.is_none(), existing)
        {
            Ok(p) => p,
            Err(refused) => return refused.answer(),
        };
        let id = match existing {
            Some(id) => {
                trial.update(t, id, props);
                id
            }
            None if id_property == "hs_object_id" => return reply::not_found(),
            None => {
                props.insert(id_property.clone(), key);
                trial.create(t, props)
            }
        };
        done.push((id, existing.is_none()));
    }
    *portal = trial;
    portal.recalculate();
    let results: Vec<Value> = done
        .iter()
        .filter_map(|(id, new)| {
            let mut o = reply::object(portal, t, portal.get(t, *id)?, &Props::All, &[]);
            o["new"] = json!(new);
            Some(o)
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "status": "COMPLETE", "results": results,
        "startedAt": started, "completedAt": timestamp(Utc::now()),
    }))
}
