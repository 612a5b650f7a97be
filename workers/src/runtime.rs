//! The consumer loop shared by both workers: consume the destination's quorum queue with a
//! prefetch, apply several events at once, ack only after the target write and the store commit,
//! reconnect to the broker after an outage, and drain in-flight events on shutdown.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use lapin::{
    message::Delivery,
    options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions},
    types::FieldTable,
    Connection, ConnectionProperties,
};
use ledgerhook_shared::Event;
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::sync::{Outcome, SyncError, Worker};

/// Events applied at once per process; also the broker prefetch.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Consumes until `shutdown` is cancelled, then finishes the events in hand and returns.
pub async fn run(worker: Arc<Worker>, concurrency: usize, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match consume(&worker, concurrency, &shutdown).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "broker connection lost");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn consume(
    worker: &Arc<Worker>,
    concurrency: usize,
    shutdown: &CancellationToken,
) -> Result<(), lapin::Error> {
    let destination = worker.destination();
    let topology = worker.topology();
    let connection = Connection::connect(
        worker.broker_url().expose_secret(),
        ConnectionProperties::default()
            .with_connection_name(format!("ledgerhook-{}-worker", destination.as_str()).into()),
    )
    .await?;
    let channel = connection.create_channel().await?;
    topology.declare(&channel).await?;
    channel
        .basic_qos(concurrency as u16, BasicQosOptions::default())
        .await?;
    let mut consumer = channel
        .basic_consume(
            topology.queue(destination).into(),
            format!("ledgerhook-{}-{}", destination.as_str(), std::process::id()).into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %topology.queue(destination), concurrency, "consuming");
    let slots = Arc::new(Semaphore::new(concurrency));
    let result = loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            next = consumer.next() => next,
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(e)) => break Err(e),
            None => {
                break Err(lapin::Error::from(std::io::Error::other(
                    "consumer cancelled by the broker",
                )))
            }
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break Ok(());
        };
        let worker = worker.clone();
        tokio::spawn(async move {
            handle(&worker, delivery).await;
            drop(permit);
        });
    };
    // Drain: every event in hand is finished (and acked or requeued) before the channel closes.
    let _ = slots.acquire_many(concurrency as u32).await;
    let _ = connection.close(200, "worker stopping".into()).await;
    result
}

/// Applies one delivery and settles it with the broker.
async fn handle(worker: &Worker, delivery: Delivery) {
    let event: Event = match serde_json::from_slice(&delivery.data) {
        Ok(event) => event,
        Err(e) => {
            // Not a canonical event: kept as a dead letter, never retried.
            let reason = format!("message is not a canonical event: {e}");
            match worker.dead_letter_raw(&delivery.data, &reason).await {
                Ok(()) => ack(&delivery).await,
                Err(e) => requeue(&delivery, Duration::from_secs(1), &e.to_string()).await,
            }
            return;
        }
    };
    let span = tracing::info_span!("apply", event_id = %event.id, tenant = %event.tenant, source = %event.source, r#type = event.kind.as_str());
    let _enter = span.enter();
    match worker.apply(&event).await {
        Ok(Outcome {
            status, target_id, ..
        }) => {
            tracing::info!(
                status,
                target_id = target_id.as_deref().unwrap_or(""),
                "event handled"
            );
            ack(&delivery).await;
        }
        Err(SyncError::Transient {
            reason,
            retry_after,
        }) => {
            let wait = retry_after
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(30));
            tracing::warn!(%reason, wait_ms = wait.as_millis() as u64, "transient failure; the event is retried");
            worker.note_retry(&event, &reason).await;
            requeue(&delivery, wait, &reason).await;
        }
        Err(SyncError::Permanent { reason }) => {
            tracing::error!(%reason, "permanent failure; the event becomes a dead letter");
            match worker.dead_letter(&event, &reason).await {
                Ok(()) => ack(&delivery).await,
                Err(e) => requeue(&delivery, Duration::from_secs(1), &e.to_string()).await,
            }
        }
        Err(SyncError::Store(e)) => {
            tracing::warn!(error = %e, "store unavailable; the event is retried");
            requeue(&delivery, Duration::from_secs(1), &e.to_string()).await;
        }
    }
}

async fn ack(delivery: &Delivery) {
    if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
        // The broker redelivers an unacked message; the inbox makes that harmless.
        tracing::warn!(error = %e, "ack failed; the event will be redelivered");
    }
}

/// Waits, then hands the message back to the queue for another attempt.
async fn requeue(delivery: &Delivery, wait: Duration, reason: &str) {
    tokio::time::sleep(wait).await;
    if let Err(e) = delivery
        .acker
        .nack(BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        })
        .await
    {
        tracing::warn!(error = %e, %reason, "nack failed; the event will be redelivered");
    }
}
