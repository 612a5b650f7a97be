//! Replay: re-queue a dead letter's event to its destination's queue, marked with the dead
//! letter's id, so the worker reports the outcome on it and its inbox keeps the replay
//! idempotent.
//!
//! One replay publishes inside the transaction that marks the dead letter, so the request
//! answers only once the broker has it. A bulk replay marks every match in one statement,
//! answers with the count, and publishes in the background in batches; anything it does not
//! get to (the router stopped, the broker went away) the sweeper publishes later.

use std::{collections::HashSet, time::Duration};

use actix_web::{web, HttpResponse};
use futures::future::join_all;
use ledgerhook_shared::{
    broker::{headers, Destination, OutgoingMessage, Publisher, Topology},
    event::CLOUDEVENTS_CONTENT_TYPE,
    store::{
        support::{self, ReplayItem, ReplayMark},
        Store, StoreError,
    },
};
use serde_json::json;
use uuid::Uuid;

use super::{dead_letters::dead_letter_id, dead_letters::FilterFields, store, Actor, ApiError};
use crate::app::AppState;

/// Dead letters published per batch. Every message of a batch is in flight at once, bounded by
/// the publisher's confirm window, and the batch's confirms are recorded in one statement.
pub(crate) const BATCH: usize = 500;

#[tracing::instrument(skip_all, fields(dead_letter = %path, actor = %actor.name))]
pub async fn replay_one(
    state: web::Data<AppState>,
    path: web::Path<String>,
    actor: Actor,
) -> Result<HttpResponse, ApiError> {
    let id = dead_letter_id(&path)?;
    let mut client = store(&state)?.client().await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let item = match support::dead_letter_mark_replay(&tx, id, &actor.name).await? {
        ReplayMark::Marked(item) => item,
        ReplayMark::Discarded => return Err(ApiError::Discarded(id)),
        ReplayMark::NotFound => return Err(ApiError::no_dead_letter(&path)),
    };
    let message = message(state.publisher.topology(), &item)
        .ok_or_else(|| ApiError::invalid(format!("unknown destination `{}`", item.destination)))?;
    // A failed publish drops the transaction: the dead letter stays as it was.
    state
        .publisher
        .publish_all(std::slice::from_ref(&message))
        .await?;
    support::replays_published(&tx, &[id]).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(destination = %item.destination, "dead letter replayed");
    Ok(HttpResponse::Accepted().json(json!({ "id": id, "status": "replaying" })))
}

#[tracing::instrument(skip_all, fields(actor = %actor.name))]
pub async fn replay_matching(
    state: web::Data<AppState>,
    actor: Actor,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let fields: FilterFields = if body.iter().all(u8::is_ascii_whitespace) {
        FilterFields::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("the filter is not valid: {e}")))?
    };
    let mut filter = fields.into_filter()?;
    if filter.status.is_none() {
        filter.status = Some("open".to_owned());
    }
    let store = store(&state)?.clone();
    let client = store.client().await?;
    let ids = support::dead_letters_mark_replay(&client, &filter, &actor.name).await?;
    drop(client);
    tracing::info!(count = ids.len(), "bulk replay requested");
    let count = ids.len();
    if !ids.is_empty() {
        let background = state.clone();
        state
            .background
            .spawn(async move { publish_in_background(&background, &store, ids).await });
    }
    Ok(HttpResponse::Accepted().json(json!({ "count": count })))
}

/// Publishes a bulk replay batch by batch, until done or the router stops; what is left stays
/// `replaying` without a publish time, for the sweeper.
async fn publish_in_background(state: &AppState, store: &Store, ids: Vec<Uuid>) {
    let started = std::time::Instant::now();
    let (mut published, mut failed) = (0, 0);
    for (i, chunk) in ids.chunks(BATCH).enumerate() {
        if state.stopping.is_cancelled() {
            tracing::info!(
                left = ids.len() - i * BATCH,
                "router stopping; the rest of the bulk replay is left for the sweeper"
            );
            break;
        }
        match publish_batch(state, store, chunk).await {
            Ok((ok, not)) => {
                published += ok;
                failed += not;
                if not > 0 {
                    tracing::warn!(
                        left = ids.len() - i * BATCH - ok,
                        "broker unavailable; the rest of the bulk replay is left for the sweeper"
                    );
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "store unavailable; the rest of the bulk replay is left for the sweeper");
                break;
            }
        }
    }
    tracing::info!(
        published,
        failed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "bulk replay published"
    );
}

/// How often a batch is tried while the broker is away, waiting longer each time (1 s, 2 s,
/// 4 s, ... plus the time to reconnect) before the rest is left for the sweeper.
const BATCH_TRIES: u32 = 6;

/// Publishes the replays of `ids` still waiting and records the confirmed ones, trying again
/// while the broker is briefly away; returns how many were confirmed and how many were not.
async fn publish_batch(
    state: &AppState,
    store: &Store,
    ids: &[Uuid],
) -> Result<(usize, usize), StoreError> {
    let client = store.client().await?;
    let mut pending = support::replays_to_publish(&client, ids).await?;
    let total = pending.len();
    let mut backoff = Duration::from_secs(1);
    for attempt in 1..=BATCH_TRIES {
        let confirmed = publish(&state.publisher, &pending).await;
        support::replays_published(&client, &confirmed).await?;
        let confirmed: HashSet<Uuid> = confirmed.into_iter().collect();
        pending.retain(|item| !confirmed.contains(&item.id));
        if pending.is_empty() || attempt == BATCH_TRIES {
            break;
        }
        tokio::select! {
            _ = state.stopping.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        state
            .publisher
            .wait_connected(Duration::from_secs(30))
            .await;
        backoff *= 2;
    }
    Ok((total - pending.len(), pending.len()))
}

/// Publishes every item at once (the confirm window bounds what is in flight) and returns the
/// ids the broker confirmed.
pub(crate) async fn publish(publisher: &Publisher, items: &[ReplayItem]) -> Vec<Uuid> {
    let topology = publisher.topology();
    let sends = items.iter().filter_map(|item| {
        let Some(message) = message(topology, item) else {
            tracing::warn!(dead_letter = %item.id, destination = %item.destination, "cannot replay to an unknown destination");
            return None;
        };
        Some(async move {
            publisher
                .publish_all(std::slice::from_ref(&message))
                .await
                .map(|()| item.id)
        })
    });
    let mut confirmed = Vec::with_capacity(items.len());
    let mut first_error = None;
    for result in join_all(sends).await {
        match result {
            Ok(id) => confirmed.push(id),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        tracing::warn!(error = %e, failed = items.len() - confirmed.len(), "replays not published");
    }
    confirmed
}

/// The stored event, to its destination's queue only (through the default exchange), marked
/// with the dead letter it replays.
fn message(topology: &Topology, item: &ReplayItem) -> Option<OutgoingMessage> {
    let destination = Destination::parse(&item.destination)?;
    let message_id = item
        .event_id
        .map(|id| id.to_string())
        .or_else(|| item.event["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| item.id.to_string());
    Some(OutgoingMessage {
        exchange: String::new(),
        routing_key: topology.queue(destination),
        message_id,
        content_type: CLOUDEVENTS_CONTENT_TYPE.to_owned(),
        headers: vec![
            (headers::REPLAY.to_owned(), item.id.to_string()),
            ("ledgerhook-tenant".to_owned(), item.tenant.clone()),
        ],
        // A jsonb value always serializes.
        body: serde_json::to_vec(&item.event).unwrap_or_default(),
    })
}
