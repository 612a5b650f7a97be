//! The worker's side of a dead letter's life: failing again after a replay, and a replay that
//! went through. Support's side (list, replay, discard) is in `support`.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::StoreError;

/// A replayed event failed again: the dead letter is open again with the new reason. Returns
/// whether the dead letter exists.
pub async fn dead_letter_reopen(
    c: &impl GenericClient,
    id: Uuid,
    reason_class: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    if current_status(c, id).await?.is_none() {
        return Ok(false);
    }
    c.execute(
        "UPDATE dead_letters
            SET status = 'open', reason_class = $2, reason = $3, updated_at = clock_timestamp()
          WHERE id = $1",
        &[&id, &reason_class, &reason],
    )
    .await?;
    dead_letter_action(c, id, "failed_again", "worker", Some(reason)).await?;
    Ok(true)
}

/// A replayed event was applied (or found applied): the dead letter is closed as replayed.
/// Returns whether it was waiting for this replay.
pub async fn dead_letter_replayed(
    c: &impl GenericClient,
    id: Uuid,
    detail: &str,
) -> Result<bool, StoreError> {
    if current_status(c, id).await?.as_deref() != Some("replaying") {
        return Ok(false);
    }
    c.execute(
        "UPDATE dead_letters SET status = 'replayed', updated_at = clock_timestamp() WHERE id = $1",
        &[&id],
    )
    .await?;
    dead_letter_action(c, id, "replayed", "worker", Some(detail)).await?;
    Ok(true)
}

/// The dead letter's status, read under its row lock. The replay that caused this delivery may
/// not have committed yet (the router publishes before it commits); the lock waits for it, where
/// a plain `UPDATE ... WHERE status = 'replaying'` would see the old status and match nothing.
async fn current_status(c: &impl GenericClient, id: Uuid) -> Result<Option<String>, StoreError> {
    Ok(c.query_opt(
        "SELECT status FROM dead_letters WHERE id = $1 FOR UPDATE",
        &[&id],
    )
    .await?
    .map(|r| r.get(0)))
}

/// Records who did what to a dead letter.
pub async fn dead_letter_action(
    c: &impl GenericClient,
    id: Uuid,
    action: &str,
    actor: &str,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO dead_letter_actions (dead_letter_id, action, actor, reason)
         VALUES ($1, $2, $3, $4)",
        &[&id, &action, &actor, &reason],
    )
    .await?;
    Ok(())
}
