//! The event journal search: what happened to an invoice, a provider object or an event.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use uuid::Uuid;

use crate::store::StoreError;

/// What happened to one event, step by step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventHistory {
    pub event_id: Uuid,
    pub tenant: String,
    /// The event's source, `/<tenant>/<source>`, when a worker recorded it.
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub subject: Option<String>,
    pub invoice_number: Option<String>,
    /// When the router received the webhook.
    pub received_at: Option<DateTime<Utc>>,
    pub steps: Vec<JournalStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalStep {
    pub at: DateTime<Utc>,
    pub destination: Option<String>,
    pub step: String,
    pub target_id: Option<String>,
    pub detail: Option<String>,
}

/// The events whose invoice number, subject, event id, idempotency key or target id is `q`,
/// newest first, with their journal steps in order.
pub async fn event_history(
    c: &impl GenericClient,
    tenant: Option<&str>,
    q: &str,
    limit: i64,
) -> Result<Vec<EventHistory>, StoreError> {
    let q_id = Uuid::parse_str(q).ok();
    // Event ids are UUIDv7, so ordering by id is ordering by receipt.
    let ids: Vec<Uuid> = c
        .query(
            "SELECT event_id FROM journal
              WHERE event_id IS NOT NULL AND ($1::text IS NULL OR tenant = $1)
                AND (invoice_number = $2 OR subject = $2 OR idempotency_key = $2
                     OR target_id = $2 OR event_id = $3)
             UNION
             SELECT event_id FROM dead_letters
              WHERE event_id IS NOT NULL AND ($1::text IS NULL OR tenant = $1)
                AND (invoice_number = $2 OR subject = $2 OR idempotency_key = $2
                     OR event_id = $3)
             ORDER BY event_id DESC
             LIMIT $4",
            &[&tenant, &q, &q_id, &limit],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }

    let mut events: HashMap<Uuid, EventHistory> = HashMap::with_capacity(ids.len());
    let blank = |event_id: Uuid, tenant: String| EventHistory {
        event_id,
        tenant,
        source: None,
        event_type: None,
        subject: None,
        invoice_number: None,
        received_at: None,
        steps: Vec::new(),
    };

    // Dead letters keep the whole event: its source and the router's receipt time.
    for r in c
        .query(
            "SELECT event_id, tenant, source, event_type, subject, invoice_number,
                    event->>'receivedat'
               FROM dead_letters WHERE event_id = ANY($1) ORDER BY created_at",
            &[&ids],
        )
        .await?
    {
        let h = events
            .entry(r.get(0))
            .or_insert_with(|| blank(r.get(0), r.get(1)));
        fill(&mut h.source, r.get(2));
        fill(&mut h.event_type, r.get(3));
        fill(&mut h.subject, r.get(4));
        fill(&mut h.invoice_number, r.get(5));
        let received: Option<String> = r.get(6);
        if h.received_at.is_none() {
            h.received_at = received
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.with_timezone(&Utc));
        }
    }
    for r in c
        .query(
            "SELECT event_id, tenant, source, event_type, subject, received_at
               FROM inbox WHERE event_id = ANY($1)",
            &[&ids],
        )
        .await?
    {
        let h = events
            .entry(r.get(0))
            .or_insert_with(|| blank(r.get(0), r.get(1)));
        fill(&mut h.source, r.get(2));
        fill(&mut h.event_type, r.get(3));
        fill(&mut h.subject, r.get(4));
        if h.received_at.is_none() {
            h.received_at = r.get(5);
        }
    }
    for r in c
        .query(
            "SELECT event_id, tenant, event_type, subject, invoice_number,
                    at, destination, step, target_id, detail
               FROM journal WHERE event_id = ANY($1) ORDER BY at, id",
            &[&ids],
        )
        .await?
    {
        let h = events
            .entry(r.get(0))
            .or_insert_with(|| blank(r.get(0), r.get(1)));
        fill(&mut h.event_type, r.get(2));
        fill(&mut h.subject, r.get(3));
        fill(&mut h.invoice_number, r.get(4));
        h.steps.push(JournalStep {
            at: r.get(5),
            destination: r.get(6),
            step: r.get(7),
            target_id: r.get(8),
            detail: r.get(9),
        });
    }
    Ok(ids.iter().filter_map(|id| events.remove(id)).collect())
}

/// Keeps the first non-empty value seen.
fn fill(slot: &mut Option<String>, value: Option<String>) {
    if slot.is_none() {
        *slot = value.filter(|v| !v.is_empty());
    }
}
