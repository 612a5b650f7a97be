//! The sObject resources: create (`POST sobjects/{Object}`), read, update and delete by id
//! (`sobjects/{Object}/{Id}`), and read or upsert by external id (`sobjects/{Object}/{Field}/
//! {Value}`).
//!
//! From Salesforce's REST API guide: create answers 201 `{id, success, errors}`; update by id
//! answers 204 and delete 204; an upsert creates the record when the external id matches none
//! (201 `{id, success: true, errors: [], created: true}`), updates it when it matches one (204
//! before API version 46.0; from 46.0 the guide shows 200 with `created: false`), and answers
//! 300 with the matching records' URLs when it matches several; a field that is no external id
//! answers 404 `NOT_FOUND`. The sandbox's Flow announces the changes each call returns.

use actix_web::{http::StatusCode, HttpResponse};

use super::{
    model::{readable_field, Field, Record, SfOrg},
    reply::{self, SfError},
    write::{fields, insert, same, update},
};

/// A record change the Flow may announce.
#[derive(Debug, Clone)]
pub(crate) struct Changed {
    pub object: String,
    pub before: Option<Record>,
    pub after: Option<Record>,
}

pub(crate) type Outcome = (HttpResponse, Vec<Changed>);

pub(crate) fn create(org: &mut SfOrg, object: &str, body: &[u8]) -> Outcome {
    let result = fields(org, object, body).and_then(|values| insert(org, object, values));
    match result {
        Ok(record) => {
            let answer = reply::saved(StatusCode::CREATED, &record.id, None);
            let name = org.get(object).map(|o| o.name.clone()).unwrap_or_default();
            (
                answer,
                vec![Changed {
                    object: name,
                    before: None,
                    after: Some(record),
                }],
            )
        }
        Err(refused) => (refused.into(), Vec::new()),
    }
}

pub(crate) fn read(
    org: &SfOrg,
    version: &str,
    user: &str,
    object: &str,
    id: &str,
    names: Option<Vec<String>>,
) -> HttpResponse {
    let Some(sobject) = org.get(object) else {
        return reply::not_found().into();
    };
    let Some(index) = sobject.find(id) else {
        return reply::not_found().into();
    };
    let names = match names {
        Some(list) => {
            let mut canonical = vec!["Id".to_owned()];
            for n in list {
                match readable_field(&sobject.name, &n) {
                    Some(c) if !canonical.contains(&c) => canonical.push(c),
                    Some(_) => {}
                    None => return reply::no_such_column(&sobject.name, &n).into(),
                }
            }
            Some(canonical)
        }
        None => None,
    };
    let out = reply::record(
        version,
        user,
        sobject,
        &sobject.records[index],
        names.as_deref(),
    );
    HttpResponse::Ok().json(out)
}

pub(crate) fn patch(org: &mut SfOrg, object: &str, id: &str, body: &[u8]) -> Outcome {
    let Some(index) = org.get(object).and_then(|o| o.find(id)) else {
        return (reply::not_found().into(), Vec::new());
    };
    match fields(org, object, body).and_then(|values| update(org, object, index, values)) {
        Ok(changed) => (HttpResponse::NoContent().finish(), vec![changed]),
        Err(refused) => (refused.into(), Vec::new()),
    }
}

pub(crate) fn delete(org: &mut SfOrg, object: &str, id: &str) -> Outcome {
    let Some(sobject) = org.object(object) else {
        return (reply::not_found().into(), Vec::new());
    };
    let Some(index) = sobject.find(id) else {
        return (reply::not_found().into(), Vec::new());
    };
    let before = sobject.records.remove(index);
    let changed = Changed {
        object: sobject.name.clone(),
        before: Some(before),
        after: None,
    };
    (HttpResponse::NoContent().finish(), vec![changed])
}

/// The records of `object` whose external id `field` is `value`; `Err` when the field cannot
/// be an external id.
fn by_external_id(
    org: &mut SfOrg,
    object: &str,
    field: &str,
    value: &str,
) -> Result<Vec<usize>, SfError> {
    let Some(sobject) = org.object(object) else {
        return Err(reply::not_found());
    };
    if !super::model::is_custom(field) {
        return Err(reply::error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("Provided external ID field does not exist or is not accessible: {field}"),
            &[],
        ));
    }
    sobject.external_ids.insert(field.to_ascii_lowercase());
    Ok(sobject
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| same(r.get(field), value))
        .map(|(i, _)| i)
        .collect())
}

fn multiple(org: &SfOrg, version: &str, object: &str, found: &[usize]) -> HttpResponse {
    let urls: Vec<String> = org
        .get(object)
        .map(|o| {
            found
                .iter()
                .map(|i| reply::record_url(version, &o.name, &o.records[*i].id))
                .collect()
        })
        .unwrap_or_default();
    HttpResponse::MultipleChoices().json(urls)
}

pub(crate) fn read_external(
    org: &mut SfOrg,
    version: &str,
    user: &str,
    object: &str,
    field: &str,
    value: &str,
) -> HttpResponse {
    match by_external_id(org, object, field, value) {
        Ok(found) if found.len() == 1 => match org.get(object) {
            Some(o) => {
                HttpResponse::Ok().json(reply::record(version, user, o, &o.records[found[0]], None))
            }
            None => reply::not_found().into(),
        },
        Ok(found) if found.is_empty() => reply::not_found().into(),
        Ok(found) => multiple(org, version, object, &found),
        Err(refused) => refused.into(),
    }
}

/// What an upsert names: `PATCH services/data/{version}/sobjects/{object}/{field}/{value}`,
/// `api` being the version's major number; `update_only` is the `updateOnly=true` parameter
/// (API 61.0 on), with which no record is created.
#[derive(Debug)]
pub(crate) struct Upsert<'a> {
    pub version: &'a str,
    pub api: u32,
    pub object: &'a str,
    pub field: &'a str,
    pub value: &'a str,
    pub update_only: bool,
}

pub(crate) fn upsert(org: &mut SfOrg, u: Upsert<'_>, body: &[u8]) -> Outcome {
    let Upsert {
        version,
        api,
        object,
        field,
        value,
        update_only,
    } = u;
    let found = match by_external_id(org, object, field, value) {
        Ok(found) => found,
        Err(refused) => return (refused.into(), Vec::new()),
    };
    let mut values = match fields(org, object, body) {
        Ok(values) => values,
        Err(refused) => return (refused.into(), Vec::new()),
    };
    values.retain(|(k, _)| !k.eq_ignore_ascii_case(field));
    let with_created = (api >= 46).then_some(true);
    match found.as_slice() {
        [] if update_only && api >= 61 => (reply::not_found().into(), Vec::new()),
        [] => {
            values.push((field.to_owned(), Field::Text(value.to_owned())));
            match insert(org, object, values) {
                Ok(record) => {
                    let answer = reply::saved(StatusCode::CREATED, &record.id, with_created);
                    let name = org.get(object).map(|o| o.name.clone()).unwrap_or_default();
                    (
                        answer,
                        vec![Changed {
                            object: name,
                            before: None,
                            after: Some(record),
                        }],
                    )
                }
                Err(refused) => (refused.into(), Vec::new()),
            }
        }
        [index] => match update(org, object, *index, values) {
            Ok(changed) => {
                let id = changed
                    .after
                    .as_ref()
                    .map(|r| r.id.clone())
                    .unwrap_or_default();
                let answer = if api >= 46 {
                    reply::saved(StatusCode::OK, &id, Some(false))
                } else {
                    HttpResponse::NoContent().finish()
                };
                (answer, vec![changed])
            }
            Err(refused) => (refused.into(), Vec::new()),
        },
        _ => (multiple(org, version, object, &found), Vec::new()),
    }
}
