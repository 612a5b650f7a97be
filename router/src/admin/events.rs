//! `GET /api/v1/events?tenant=&q=&limit=`: what happened to an invoice, a provider object or
//! an event, from the journal.

use actix_web::{web, HttpResponse};
use ledgerhook_shared::store::support;
use serde::Deserialize;
use serde_json::json;

use super::{dead_letters::page_size, store, ApiError};
use crate::app::AppState;

/// Each event carries its whole journal, so pages are smaller than dead letter pages.
const MAX_EVENTS: i64 = 200;

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    tenant: Option<String>,
    q: Option<String>,
    limit: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn search(
    state: web::Data<AppState>,
    query: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let p = query.into_inner();
    let q = p
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(
                "q is required: an invoice number, provider object id, event id, idempotency key or target id",
            )
        })?;
    let tenant = p
        .tenant
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let limit = page_size(p.limit.as_deref(), MAX_EVENTS)?;
    let client = store(&state)?.client().await?;
    let items = support::event_history(&client, tenant.as_deref(), &q, limit).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
