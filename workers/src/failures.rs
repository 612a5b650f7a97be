//! What the worker records when applying an event fails: every attempt, the dead letter when it
//! gives up (or the replayed dead letter opened again), and the close of a replay that worked.
//! Support reads all of it through the admin API.

use ledgerhook_shared::{
    store::{self, Handled, NewAttempt, NewDeadLetter, StoreError},
    Event,
};
use uuid::Uuid;

use crate::{retry::http_status, sync::Worker};

/// Why the worker gave up on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// The target refused, or the mapping cannot work.
    Permanent,
    /// The retry ladder ran out.
    Exhausted,
    /// The broker's delivery limit took the message away: a worker stopped holding it every time.
    Poison,
}

impl GiveUp {
    pub fn as_str(&self) -> &'static str {
        match self {
            GiveUp::Permanent => "permanent",
            GiveUp::Exhausted => "exhausted",
            GiveUp::Poison => "poison",
        }
    }
}

fn handled<'a>(worker: &'a Worker, event: &'a Event, step: &'a str) -> Handled<'a> {
    Handled {
        destination: worker.destination().as_str(),
        idempotency_key: &event.idempotencykey,
        event_id: event.id,
        tenant: &event.tenant,
        source: &event.source,
        event_type: event.kind.as_str(),
        subject: &event.subject,
        invoice_number: None,
        received_at: event.receivedat,
        status: step,
        target_id: None,
        detail: None,
    }
}

/// Records failed attempt number `attempt` with the target's answer, and journals the retry.
pub async fn record_retry(
    worker: &Worker,
    event: &Event,
    attempt: u32,
    reason: &str,
    next_in: std::time::Duration,
) -> Result<(), StoreError> {
    let client = worker.store().client().await?;
    attempt_row(&client, worker, event, attempt, "transient", reason).await?;
    let detail = format!(
        "{reason} (attempt {attempt}; next in {}s)",
        next_in.as_secs()
    );
    store::journal(
        &client,
        &event.tenant,
        Some(&handled(worker, event, "retried")),
        "retried",
        None,
        Some(&detail),
    )
    .await
}

async fn attempt_row(
    client: &impl store::GenericClient,
    worker: &Worker,
    event: &Event,
    attempt: u32,
    class: &str,
    reason: &str,
) -> Result<(), StoreError> {
    store::attempt_insert(
        client,
        &NewAttempt {
            destination: worker.destination().as_str(),
            idempotency_key: &event.idempotencykey,
            event_id: event.id,
            attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
            class,
            http_status: http_status(reason),
            message: reason,
        },
    )
    .await
}

/// Keeps the whole event with the reason, or opens again the dead letter this delivery replayed.
/// `attempt` is the number of this failed attempt. Never deletes anything.
pub async fn give_up(
    worker: &Worker,
    event: &Event,
    why: GiveUp,
    reason: &str,
    attempt: u32,
    replay: Option<Uuid>,
) -> Result<(), StoreError> {
    let mut client = worker.store().client().await?;
    let tx = client.transaction().await?;
    let class = match why {
        GiveUp::Poison => "poison",
        GiveUp::Permanent => "permanent",
        GiveUp::Exhausted => "transient",
    };
    attempt_row(&tx, worker, event, attempt, class, reason).await?;
    let reopened = match replay {
        Some(id) => store::dead_letter_reopen(&tx, id, why.as_str(), reason).await?,
        None => false,
    };
    if !reopened {
        let json = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
        let number = invoice_number(event);
        store::dead_letter_insert(
            &tx,
            &NewDeadLetter {
                destination: worker.destination().as_str(),
                tenant: &event.tenant,
                source: &event.source,
                event_type: event.kind.as_str(),
                event_id: Some(event.id),
                idempotency_key: Some(&event.idempotencykey),
                subject: Some(&event.subject),
                invoice_number: number.as_deref(),
                event: &json,
                reason_class: why.as_str(),
                reason,
            },
        )
        .await?;
    }
    store::journal(
        &tx,
        &event.tenant,
        Some(&handled(worker, event, "dead_lettered")),
        "dead_lettered",
        None,
        Some(&format!("{}: {reason}", why.as_str())),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A message that is not even a canonical event, kept whole as text.
pub async fn give_up_raw(
    worker: &Worker,
    body: &[u8],
    why: GiveUp,
    reason: &str,
) -> Result<(), StoreError> {
    let client = worker.store().client().await?;
    let json = serde_json::json!({ "raw": String::from_utf8_lossy(body) });
    store::dead_letter_insert(
        &client,
        &NewDeadLetter {
            destination: worker.destination().as_str(),
            tenant: "",
            source: "",
            event_type: "",
            event_id: None,
            idempotency_key: None,
            subject: None,
            invoice_number: None,
            event: &json,
            reason_class: why.as_str(),
            reason,
        },
    )
    .await?;
    Ok(())
}

/// A replay went through (applied, or found already applied): its dead letter is closed.
pub async fn replay_done(
    worker: &Worker,
    event: &Event,
    replay: Uuid,
    status: &str,
    target_id: Option<&str>,
) -> Result<(), StoreError> {
    let mut client = worker.store().client().await?;
    let tx = client.transaction().await?;
    let detail = match target_id {
        Some(id) => format!("{status}: {id}"),
        None => status.to_owned(),
    };
    if store::dead_letter_replayed(&tx, replay, &detail).await? {
        store::journal(
            &tx,
            &event.tenant,
            Some(&handled(worker, event, "replayed")),
            "replayed",
            target_id,
            Some(&format!("dead letter {replay}: {status}")),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The invoice number an event is about, when the event carries it; lets support find a dead
/// letter by the number a finance person quotes.
fn invoice_number(event: &Event) -> Option<String> {
    use ledgerhook_shared::model::CanonicalObject;
    match event.data.as_ref()? {
        CanonicalObject::Invoice(i) => i.number.clone(),
        CanonicalObject::Payment(p) => p.invoice_number.clone(),
        CanonicalObject::Refund(r) => r.invoice_number.clone(),
        _ => None,
    }
}
