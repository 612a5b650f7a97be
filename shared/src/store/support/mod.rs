//! Support queries: list, show, replay and discard dead letters, find replays that were
//! requested but never published, and search the event journal.
//!
//! A dead letter is never deleted. Replaying marks it `replaying` and the worker reports the
//! outcome (`replayed`, or `open` again); discarding closes it with a reason. Every replay and
//! discard is recorded in `dead_letter_actions` with the admin token's name.

mod history;
mod replay;

use base64::Engine;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{dead_letter_action, StoreError};

pub use history::{event_history, EventHistory, JournalStep};
pub use replay::{
    dead_letter_mark_replay, dead_letters_mark_replay, replays_published, replays_to_publish,
    replays_unpublished, sweeper_try_lock, ReplayItem, ReplayMark,
};

/// The states a dead letter goes through.
pub const STATUSES: [&str; 4] = ["open", "replaying", "replayed", "discarded"];

/// Which dead letters to list or replay; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
    pub tenant: Option<String>,
    /// The configured source id (`stripe`) or the event's source (`/acme/stripe`).
    pub source: Option<String>,
    pub event_type: Option<String>,
    pub destination: Option<String>,
    pub status: Option<String>,
    /// An invoice number, subject (provider object id), event id or idempotency key, exactly.
    pub q: Option<String>,
}

/// The WHERE clause of a filter over `dead_letters d`, using parameters $1 to $7 in the order of
/// `filter_params`. Absent values are NULL and match everything; PostgreSQL plans each query with
/// its actual values, so the NULL branches cost nothing.
const FILTER: &str = "($1::text IS NULL OR d.tenant = $1)
    AND ($2::text IS NULL OR d.source = $2 OR d.source = '/' || d.tenant || '/' || $2)
    AND ($3::text IS NULL OR d.event_type = $3)
    AND ($4::text IS NULL OR d.destination = $4)
    AND ($5::text IS NULL OR d.status = $5)
    AND ($6::text IS NULL OR d.invoice_number = $6 OR d.subject = $6 OR d.idempotency_key = $6
         OR d.event_id = $7)";

/// The columns of a `DeadLetterSummary`, read by `summary`.
const SUMMARY: &str = "d.id, d.destination, d.tenant, d.source, d.event_type, d.event_id,
    d.idempotency_key, d.subject, d.invoice_number, d.reason_class, d.reason, d.status,
    (SELECT count(*) FROM attempts a
      WHERE a.destination = d.destination AND a.idempotency_key = d.idempotency_key),
    d.replay_count, d.created_at, d.updated_at";

struct FilterParams {
    tenant: Option<String>,
    source: Option<String>,
    event_type: Option<String>,
    destination: Option<String>,
    status: Option<String>,
    q: Option<String>,
    q_id: Option<Uuid>,
}

impl FilterParams {
    fn new(filter: &DeadLetterFilter) -> Self {
        FilterParams {
            tenant: filter.tenant.clone(),
            source: filter.source.clone(),
            event_type: filter.event_type.clone(),
            destination: filter.destination.clone(),
            status: filter.status.clone(),
            q: filter.q.clone(),
            q_id: filter.q.as_deref().and_then(|q| Uuid::parse_str(q).ok()),
        }
    }

    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 7] {
        [
            &self.tenant,
            &self.source,
            &self.event_type,
            &self.destination,
            &self.status,
            &self.q,
            &self.q_id,
        ]
    }
}

/// A dead letter in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterSummary {
    pub id: Uuid,
    pub destination: String,
    pub tenant: String,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub event_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub subject: Option<String>,
    pub invoice_number: Option<String>,
    pub reason_class: String,
    pub reason: String,
    pub status: String,
    /// Failed attempts recorded for the event at this destination.
    pub attempts: i64,
    pub replay_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn summary(r: &Row) -> DeadLetterSummary {
    DeadLetterSummary {
        id: r.get(0),
        destination: r.get(1),
        tenant: r.get(2),
        source: r.get(3),
        event_type: r.get(4),
        event_id: r.get(5),
        idempotency_key: r.get(6),
        subject: r.get(7),
        invoice_number: r.get(8),
        reason_class: r.get(9),
        reason: r.get(10),
        status: r.get(11),
        attempts: r.get(12),
        replay_count: r.get(13),
        created_at: r.get(14),
        updated_at: r.get(15),
    }
}

/// A dead letter with its event, every failed attempt and everything support did with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    #[serde(flatten)]
    pub summary: DeadLetterSummary,
    pub event: serde_json::Value,
    pub attempts: Vec<Attempt>,
    pub actions: Vec<Action>,
    pub closed_by: Option<String>,
    pub closed_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub class: String,
    pub http_status: Option<i32>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub at: DateTime<Utc>,
    pub action: String,
    pub actor: String,
    pub reason: Option<String>,
}

/// Where a page of the newest-first list ends: the last row's creation time and id. Opaque to
/// clients, who pass it back as `cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    created_at: DateTime<Utc>,
    id: Uuid,
}

#[derive(Debug, thiserror::Error)]
#[error("the cursor is not one this server handed out")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        let plain = format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain)
    }

    pub fn parse(s: &str) -> Result<Cursor, InvalidCursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| InvalidCursor)?;
        let plain = String::from_utf8(bytes).map_err(|_| InvalidCursor)?;
        let (micros, id) = plain.split_once('.').ok_or(InvalidCursor)?;
        let created_at = micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or(InvalidCursor)?;
        let id = Uuid::parse_str(id).map_err(|_| InvalidCursor)?;
        Ok(Cursor { created_at, id })
    }
}

/// One page of dead letters, newest first, and the cursor of the next page if there is one.
pub async fn dead_letters_list(
    c: &impl GenericClient,
    filter: &DeadLetterFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<DeadLetterSummary>, Option<Cursor>), StoreError> {
    let sql = format!(
        "SELECT {SUMMARY} FROM dead_letters d
         WHERE {FILTER}
           AND ($8::timestamptz IS NULL OR (d.created_at, d.id) < ($8, $9))
         ORDER BY d.created_at DESC, d.id DESC
         LIMIT $10"
    );
    let fp = FilterParams::new(filter);
    let after_at = after.map(|c| c.created_at);
    let after_id = after.map(|c| c.id);
    let fetch = limit + 1;
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = fp.params().to_vec();
    params.extend([
        &after_at as &(dyn tokio_postgres::types::ToSql + Sync),
        &after_id,
        &fetch,
    ]);
    let rows = c.query(&sql, &params).await?;
    let mut items: Vec<DeadLetterSummary> = rows.iter().map(summary).collect();
    // One row more than asked says whether another page follows.
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|d| Cursor {
            created_at: d.created_at,
            id: d.id,
        })
    } else {
        None
    };
    Ok((items, next))
}

pub async fn dead_letter_summary(
    c: &impl GenericClient,
    id: Uuid,
) -> Result<Option<DeadLetterSummary>, StoreError> {
    let sql = format!("SELECT {SUMMARY} FROM dead_letters d WHERE d.id = $1");
    Ok(c.query_opt(&sql, &[&id]).await?.as_ref().map(summary))
}

/// A dead letter with its event, attempts and actions.
pub async fn dead_letter_get(
    c: &impl GenericClient,
    id: Uuid,
) -> Result<Option<DeadLetter>, StoreError> {
    let sql = format!(
        "SELECT {SUMMARY}, d.event, d.closed_by, d.closed_reason FROM dead_letters d WHERE d.id = $1"
    );
    let Some(row) = c.query_opt(&sql, &[&id]).await? else {
        return Ok(None);
    };
    let summary = summary(&row);
    let attempts = c
        .query(
            "SELECT attempt, at, class, http_status, message FROM attempts
             WHERE destination = $1 AND idempotency_key = $2 ORDER BY id",
            &[&summary.destination, &summary.idempotency_key],
        )
        .await?
        .iter()
        .map(|r| Attempt {
            attempt: r.get(0),
            at: r.get(1),
            class: r.get(2),
            http_status: r.get(3),
            message: r.get(4),
        })
        .collect();
    let actions = c
        .query(
            "SELECT at, action, actor, reason FROM dead_letter_actions
             WHERE dead_letter_id = $1 ORDER BY id",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| Action {
            at: r.get(0),
            action: r.get(1),
            actor: r.get(2),
            reason: r.get(3),
        })
        .collect();
    Ok(Some(DeadLetter {
        summary,
        event: row.get(16),
        attempts,
        actions,
        closed_by: row.get(17),
        closed_reason: row.get(18),
    }))
}

/// What asking to discard a dead letter found.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscardOutcome {
    Discarded(Box<DeadLetterSummary>),
    /// Only an open dead letter can be discarded; this is its status.
    NotOpen(String),
    NotFound,
}

/// Closes an open dead letter without replaying it. It stays in the table, with who and why.
pub async fn dead_letter_discard(
    c: &impl GenericClient,
    id: Uuid,
    actor: &str,
    reason: &str,
) -> Result<DiscardOutcome, StoreError> {
    let updated = c
        .execute(
            "UPDATE dead_letters
                SET status = 'discarded', closed_by = $2, closed_reason = $3,
                    updated_at = clock_timestamp()
              WHERE id = $1 AND status = 'open'",
            &[&id, &actor, &reason],
        )
        .await?;
    if updated == 0 {
        let row = c
            .query_opt("SELECT status FROM dead_letters WHERE id = $1", &[&id])
            .await?;
        return Ok(match row {
            Some(r) => DiscardOutcome::NotOpen(r.get(0)),
            None => DiscardOutcome::NotFound,
        });
    }
    dead_letter_action(c, id, "discard", actor, Some(reason)).await?;
    Ok(match dead_letter_summary(c, id).await? {
        Some(s) => DiscardOutcome::Discarded(Box::new(s)),
        None => DiscardOutcome::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_the_round_trip() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_718_000_000_123_456).expect("time"),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()).expect("parses"), cursor);
    }

    #[test]
    fn a_made_up_cursor_is_refused() {
        for bad in ["", "not-base64!", "MTIz", "YWJjLmRlZg"] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }
}
