//! `GET /api/v1/dead-letters`, `GET /api/v1/dead-letters/{id}` and
//! `POST /api/v1/dead-letters/{id}/discard`.

use actix_web::{web, HttpResponse};
use ledgerhook_shared::{
    broker::Destination,
    store::{
        support::{self, Cursor, DeadLetterFilter, DiscardOutcome},
        StoreError,
    },
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{store, Actor, ApiError};
use crate::app::AppState;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;
/// A discard reason is a sentence or two for the next person who looks, not a document.
const MAX_REASON_CHARS: usize = 2000;

/// The filters shared by the list and bulk replay. Empty values match everything, as an empty
/// field of a search form means.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterFields {
    tenant: Option<String>,
    source: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    destination: Option<String>,
    status: Option<String>,
    q: Option<String>,
}

impl FilterFields {
    /// Checks the values that have a fixed vocabulary, so a typo is a 400 and not an empty list
    /// (or, for bulk replay, a different set of dead letters than meant).
    pub fn into_filter(self) -> Result<DeadLetterFilter, ApiError> {
        let given = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let destination = given(self.destination);
        if let Some(d) = &destination {
            if Destination::parse(d).is_none() {
                return Err(ApiError::invalid(format!(
                    "destination `{d}` is not one of: accounting, crm"
                )));
            }
        }
        let status = given(self.status);
        if let Some(s) = &status {
            if !support::STATUSES.contains(&s.as_str()) {
                return Err(ApiError::invalid(format!(
                    "status `{s}` is not one of: {}",
                    support::STATUSES.join(", ")
                )));
            }
        }
        Ok(DeadLetterFilter {
            tenant: given(self.tenant),
            source: given(self.source),
            event_type: given(self.event_type),
            destination,
            status,
            q: given(self.q),
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    tenant: Option<String>,
    source: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    destination: Option<String>,
    status: Option<String>,
    q: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// `limit` as a page size: absent or empty is the default, anything else must be 1 to `max`.
pub fn page_size(limit: Option<&str>, max: i64) -> Result<i64, ApiError> {
    match limit.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_LIMIT.min(max)),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(format!("limit must be a number from 1 to {max}"))),
    }
}

/// The dead letter id in a path; an id that cannot exist is simply not found.
pub fn dead_letter_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::no_dead_letter(raw))
}

#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let p = query.into_inner();
    let limit = page_size(p.limit.as_deref(), MAX_LIMIT)?;
    let cursor = p
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(Cursor::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let filter = FilterFields {
        tenant: p.tenant,
        source: p.source,
        event_type: p.event_type,
        destination: p.destination,
        status: p.status,
        q: p.q,
    }
    .into_filter()?;
    let client = store(&state)?.client().await?;
    let (items, next) = support::dead_letters_list(&client, &filter, cursor, limit).await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "next_cursor": next.map(|c| c.encode()),
    })))
}

#[tracing::instrument(skip_all, fields(dead_letter = %path))]
pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = dead_letter_id(&path)?;
    let client = store(&state)?.client().await?;
    match support::dead_letter_get(&client, id).await? {
        Some(dead_letter) => Ok(HttpResponse::Ok().json(dead_letter)),
        None => Err(ApiError::no_dead_letter(&path)),
    }
}

#[derive(Debug, Deserialize)]
struct DiscardBody {
    reason: Option<String>,
}

#[tracing::instrument(skip_all, fields(dead_letter = %path, actor = %actor.name))]
pub async fn discard(
    state: web::Data<AppState>,
    path: web::Path<String>,
    actor: Actor,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = dead_letter_id(&path)?;
    let reason = serde_json::from_slice::<DiscardBody>(&body)
        .ok()
        .and_then(|b| b.reason)
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::invalid(r#"say why: send a JSON body {"reason": "..."}"#))?;
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid(format!(
            "the reason is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    let mut client = store(&state)?.client().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let outcome = support::dead_letter_discard(&tx, id, &actor.name, &reason).await?;
    tx.commit().await.map_err(StoreError::from)?;
    match outcome {
        DiscardOutcome::Discarded(summary) => {
            tracing::info!("dead letter discarded");
            Ok(HttpResponse::Ok().json(summary))
        }
        DiscardOutcome::NotOpen(status) => Err(ApiError::NotOpen { id, status }),
        DiscardOutcome::NotFound => Err(ApiError::no_dead_letter(&path)),
    }
}
