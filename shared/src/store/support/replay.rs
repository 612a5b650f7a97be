//! Replay: mark dead letters `replaying` (one, or every match of a filter in one statement),
//! hand out what to publish, record the broker's confirms, and find replays that were marked
//! but never published.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{DeadLetterFilter, FilterParams, FILTER};
use crate::store::{dead_letter_action, StoreError};

/// What a replay publishes: the stored event, to its destination, marked with the dead letter.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayItem {
    pub id: Uuid,
    pub destination: String,
    pub tenant: String,
    pub event_id: Option<Uuid>,
    pub event: serde_json::Value,
}

fn replay_item(r: &Row) -> ReplayItem {
    ReplayItem {
        id: r.get(0),
        destination: r.get(1),
        tenant: r.get(2),
        event_id: r.get(3),
        event: r.get(4),
    }
}

/// What asking to replay one dead letter found.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayMark {
    /// Marked `replaying`; publish the item, then call `replays_published`.
    Marked(ReplayItem),
    Discarded,
    NotFound,
}

/// Marks one dead letter `replaying` and records who asked. Run it in the transaction that
/// publishes, so a publish that fails leaves the dead letter as it was.
pub async fn dead_letter_mark_replay(
    c: &impl GenericClient,
    id: Uuid,
    actor: &str,
) -> Result<ReplayMark, StoreError> {
    let row = c
        .query_opt(
            "UPDATE dead_letters
                SET status = 'replaying', replay_count = replay_count + 1,
                    replay_requested_at = clock_timestamp(), replay_published_at = NULL,
                    updated_at = clock_timestamp()
              WHERE id = $1 AND status <> 'discarded'
              RETURNING id, destination, tenant, event_id, event",
            &[&id],
        )
        .await?;
    let Some(row) = row else {
        let exists = c
            .query_opt("SELECT status FROM dead_letters WHERE id = $1", &[&id])
            .await?;
        return Ok(match exists {
            Some(_) => ReplayMark::Discarded,
            None => ReplayMark::NotFound,
        });
    };
    dead_letter_action(c, id, "replay", actor, None).await?;
    Ok(ReplayMark::Marked(replay_item(&row)))
}

/// Marks every dead letter matching `filter` (never a discarded one) `replaying`, with an action
/// row each, in one statement; returns their ids, oldest first, for publishing.
pub async fn dead_letters_mark_replay(
    c: &impl GenericClient,
    filter: &DeadLetterFilter,
    actor: &str,
) -> Result<Vec<Uuid>, StoreError> {
    let sql = format!(
        "WITH marked AS (
             UPDATE dead_letters d
                SET status = 'replaying', replay_count = d.replay_count + 1,
                    replay_requested_at = clock_timestamp(), replay_published_at = NULL,
                    updated_at = clock_timestamp()
              WHERE d.status <> 'discarded' AND {FILTER}
              RETURNING d.id, d.created_at
         ), acted AS (
             INSERT INTO dead_letter_actions (dead_letter_id, action, actor)
             SELECT id, 'replay', $8 FROM marked
         )
         SELECT id FROM marked ORDER BY created_at, id"
    );
    let fp = FilterParams::new(filter);
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = fp.params().to_vec();
    params.push(&actor);
    let rows = c.query(&sql, &params).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The events to publish for `ids` that are still `replaying` and not yet published.
pub async fn replays_to_publish(
    c: &impl GenericClient,
    ids: &[Uuid],
) -> Result<Vec<ReplayItem>, StoreError> {
    let rows = c
        .query(
            "SELECT id, destination, tenant, event_id, event FROM dead_letters
              WHERE id = ANY($1) AND status = 'replaying' AND replay_published_at IS NULL
              ORDER BY created_at, id",
            &[&ids],
        )
        .await?;
    Ok(rows.iter().map(replay_item).collect())
}

/// Records that the broker confirmed the replays of `ids`.
pub async fn replays_published(c: &impl GenericClient, ids: &[Uuid]) -> Result<u64, StoreError> {
    Ok(c.execute(
        "UPDATE dead_letters SET replay_published_at = clock_timestamp()
              WHERE id = ANY($1) AND replay_published_at IS NULL",
        &[&ids],
    )
    .await?)
}

/// Replays requested more than `stale_after` ago and never confirmed by the broker (the router
/// stopped in between), oldest first.
pub async fn replays_unpublished(
    c: &impl GenericClient,
    stale_after: std::time::Duration,
    limit: i64,
) -> Result<Vec<ReplayItem>, StoreError> {
    let seconds = stale_after.as_secs_f64();
    let rows = c
        .query(
            "SELECT id, destination, tenant, event_id, event FROM dead_letters
              WHERE status = 'replaying' AND replay_published_at IS NULL
                AND replay_requested_at < clock_timestamp() - make_interval(secs => $1)
              ORDER BY replay_requested_at
              LIMIT $2",
            &[&seconds, &limit],
        )
        .await?;
    Ok(rows.iter().map(replay_item).collect())
}

/// Takes the sweeper's lock until the transaction ends, if no other router holds it, so routers
/// sharing a store do not publish the same stale replays together.
pub async fn sweeper_try_lock(c: &impl GenericClient) -> Result<bool, StoreError> {
    let row = c
        .query_one(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('ledgerhook.replay-sweeper', 0))",
            &[],
        )
        .await?;
    Ok(row.get(0))
}
