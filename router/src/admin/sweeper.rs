//! The replay sweeper: publishes again every replay that was requested but never confirmed by
//! the broker, because the router stopped or the broker went away in between.

use std::time::Duration;

use actix_web::web;
use ledgerhook_shared::store::{support, StoreError};

use super::replay::{publish, BATCH};
use crate::app::AppState;

const SWEEP_EVERY: Duration = Duration::from_secs(15);
/// Younger replays may still be on their way out of a bulk replay's background task.
const STALE_AFTER: Duration = Duration::from_secs(60);

/// Sweeps at once and then every `SWEEP_EVERY` until the router stops; a sweep in progress
/// finishes its batch first.
pub async fn run(state: web::Data<AppState>) {
    while !state.publisher.is_ready() {
        tokio::select! {
            _ = state.stopping.cancelled() => return,
            _ = state.publisher.wait_connected(SWEEP_EVERY) => {}
        }
    }
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.stopping.cancelled() => return,
            _ = tick.tick() => {}
        }
        match sweep(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(republished = n, "published replays left unpublished"),
            Err(e) => tracing::warn!(error = %e, "replay sweep failed"),
        }
    }
}

/// One sweep, batch by batch, under a store lock so routers sharing the store take turns.
async fn sweep(state: &AppState) -> Result<usize, StoreError> {
    let Some(store) = state.store.get() else {
        return Ok(0);
    };
    if !state.publisher.is_ready() {
        return Ok(0);
    }
    let mut total = 0;
    loop {
        let mut client = store.client().await?;
        let tx = client.transaction().await?;
        if !support::sweeper_try_lock(&tx).await? {
            return Ok(total);
        }
        let items = support::replays_unpublished(&tx, STALE_AFTER, BATCH as i64).await?;
        let confirmed = publish(&state.publisher, &items).await;
        support::replays_published(&tx, &confirmed).await?;
        tx.commit().await?;
        total += confirmed.len();
        if items.len() < BATCH || confirmed.len() < items.len() || state.stopping.is_cancelled() {
            return Ok(total);
        }
    }
}
