//! The consumer loop shared by both workers: consume the destination's quorum queue with a
//! prefetch, apply several events at once, ack only after the target write and the store commit,
//! reconnect to the broker after an outage, and drain in-flight events on shutdown.
//!
//! How a delivery is settled:
//! - applied, skipped or suppressed: ack (a replay also closes its dead letter);
//! - transient failure: the attempt is recorded, a copy goes to the next delay queue of the
//!   retry ladder (confirmed by the broker), then ack; after the last step, a dead letter;
//! - permanent failure: a dead letter, then ack;
//! - the store is unavailable: the delivery is held and tried again in place, never requeued,
//!   because every return counts towards the queue's delivery limit;
//! - the apply panicked: nack with requeue, as a crash would; the delivery limit ends that.
//!
//! Messages the broker took away after the delivery limit arrive on `<queue>.dead`; a second
//! consumer moves them into the dead-letter table.

use std::{panic::AssertUnwindSafe, sync::Arc, time::Duration};

use futures::{FutureExt, StreamExt};
use lapin::{
    message::Delivery,
    options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions},
    types::FieldTable,
    Channel, Connection, ConnectionProperties,
};
use ledgerhook_shared::{
    broker::{Publisher, PublisherOptions},
    redact, store, telemetry,
    trace::TraceParent,
    Event,
};
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    failures::{self, GiveUp},
    retry::{deferred, http_status, next_delay, History},
    sync::{Outcome, SyncError, Worker},
};

/// Events applied at once per process; also the broker prefetch.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// How long a store operation waits before it is tried again while the store is away.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Consumes until `shutdown` is cancelled, then finishes the events in hand and returns.
pub async fn run(worker: Arc<Worker>, concurrency: usize, shutdown: CancellationToken) {
    // Deferred copies are published through a confirmed publisher of their own, which outlives
    // the consumer so that events finishing during the drain can still be deferred.
    let publisher_stop = CancellationToken::new();
    let retries = Publisher::start(
        PublisherOptions {
            url: worker.broker_url().clone(),
            topology: worker.topology().clone(),
            confirm_window: concurrency.max(1) * 2,
            publish_timeout: Duration::from_secs(10),
            channels: 1,
            connection_name: format!(
                "ledgerhook-{}-worker-retries",
                worker.destination().as_str()
            ),
        },
        publisher_stop.clone(),
    );
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match consume(&worker, &retries, concurrency, &shutdown).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "broker connection lost");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
    publisher_stop.cancel();
}

async fn consume(
    worker: &Arc<Worker>,
    retries: &Publisher,
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
    // A transient failure is deferred through this publisher: consume only once it can.
    if !retries.wait_connected(Duration::from_secs(10)).await {
        return Err(lapin::Error::from(std::io::Error::other(
            "the retry publisher cannot reach the broker",
        )));
    }
    let mut consumer = channel
        .basic_consume(
            topology.queue(destination).into(),
            format!("ledgerhook-{}-{}", destination.as_str(), std::process::id()).into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let dead = tokio::spawn(move_dead_queue(
        worker.clone(),
        connection.create_channel().await?,
        shutdown.clone(),
    ));
    tracing::info!(queue = %topology.queue(destination), concurrency, "consuming");
    // Ready while this lives: it drops when the loop ends, before the drain.
    let consuming = worker.metrics().consuming();
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
        let retries = retries.clone();
        let shutdown = shutdown.clone();
        let in_flight = worker.metrics().in_flight();
        tokio::spawn(async move {
            handle(&worker, &retries, delivery, &shutdown).await;
            drop(in_flight);
            drop(permit);
        });
    };
    drop(consuming);
    // Drain: every event in hand is finished (and acked or requeued) before the channel closes.
    let _ = slots.acquire_many(concurrency as u32).await;
    dead.abort();
    let _ = dead.await;
    let _ = connection.close(200, "worker stopping".into()).await;
    result
}

/// Applies one delivery and settles it with the broker.
async fn handle(
    worker: &Worker,
    retries: &Publisher,
    delivery: Delivery,
    shutdown: &CancellationToken,
) {
    let history = History::of(&delivery.properties);
    let event: Event = match serde_json::from_slice(&delivery.data) {
        Ok(event) => event,
        Err(e) => {
            // Not a canonical event: kept as a dead letter, never retried. The parser's message
            // may quote a value from the message, such as an email.
            let reason = format!("message is not a canonical event: {e}");
            let reason = redact::emails(&reason).into_owned();
            tracing::error!("unreadable message; it becomes a dead letter");
            tracing::debug!(%reason, "why it is unreadable");
            let stored = hold(shutdown, || {
                failures::give_up_raw(worker, &delivery.data, GiveUp::Permanent, &reason)
            })
            .await;
            settle(&delivery, stored).await;
            worker.metrics().count("", "dead_lettered");
            return;
        }
    };
    worker.metrics().observe_pickup(event.receivedat);
    let span = tracing::info_span!(
        "apply",
        event_id = %event.id,
        tenant = %event.tenant,
        source = %event.source,
        r#type = event.kind.as_str(),
        attempt = history.attempts + 1,
        replay = history.replay.map(|r| r.to_string()),
        traceparent = history.traceparent.as_deref(),
        trace_id = tracing::field::Empty,
    );
    // The router's trace, so this event's lines join the router's by `trace_id`; an event
    // without one (a replay from support) gets a trace of its own.
    let parent = history.traceparent.as_deref().and_then(TraceParent::parse);
    let trace = telemetry::continue_trace(&span, parent.as_ref());
    span.record("trace_id", trace.trace_id_hex());
    apply_and_settle(worker, retries, &delivery, &event, &history, shutdown)
        .instrument(span)
        .await;
}

async fn apply_and_settle(
    worker: &Worker,
    retries: &Publisher,
    delivery: &Delivery,
    event: &Event,
    history: &History,
    shutdown: &CancellationToken,
) {
    let tenant = worker.tenant_label(&event.tenant);
    loop {
        let applied = AssertUnwindSafe(worker.apply(event)).catch_unwind().await;
        let result = match applied {
            Ok(result) => result,
            Err(_) => {
                // A bug, not the event's fault we know of: behave as a crash would, so the
                // delivery limit turns a message that always does this into a dead letter.
                tracing::error!("applying the event panicked; it is returned to the queue");
                nack_requeue(delivery).await;
                return;
            }
        };
        match result {
            Ok(Outcome {
                status, target_id, ..
            }) => {
                tracing::info!(
                    status,
                    target_id = target_id.as_deref().unwrap_or(""),
                    "event handled"
                );
                let closed = match history.replay {
                    Some(replay) => {
                        hold(shutdown, || {
                            failures::replay_done(
                                worker,
                                event,
                                replay,
                                status,
                                target_id.as_deref(),
                            )
                        })
                        .await
                    }
                    None => true,
                };
                settle(delivery, closed).await;
                return;
            }
            Err(SyncError::Transient {
                reason,
                retry_after,
            }) => {
                // Targets echo customer data back in errors (emails, names, addresses): the
                // reason is kept for support with emails masked, and logged only at debug.
                let reason = redact::emails(&reason);
                let failures = history.attempts + 1;
                let ladder = worker.topology().retry_delays();
                let Some(delay) = next_delay(ladder, failures, retry_after) else {
                    tracing::debug!(%reason, "the last failure");
                    tracing::error!(
                        http_status = http_status(&reason),
                        attempts = failures,
                        "the retry ladder is exhausted; the event becomes a dead letter"
                    );
                    let reason = format!("gave up after {failures} attempts; the last: {reason}");
                    let stored = hold(shutdown, || {
                        failures::give_up(
                            worker,
                            event,
                            GiveUp::Exhausted,
                            &reason,
                            failures,
                            history.replay,
                        )
                    })
                    .await;
                    worker.metrics().count(tenant, "dead_lettered");
                    settle(delivery, stored).await;
                    return;
                };
                tracing::debug!(%reason, "the failure");
                tracing::warn!(
                    http_status = http_status(&reason),
                    attempt = failures,
                    retry_in_s = delay.as_secs(),
                    "transient failure; the event is retried"
                );
                let copy = deferred(
                    worker.topology(),
                    worker.destination(),
                    delay,
                    &event.id.to_string(),
                    &delivery.data,
                    history,
                    failures,
                );
                if let Err(e) = retries.publish_all(&[copy]).await {
                    // The copy's fate is unknown; returning the original is safe, since the
                    // inbox makes a second copy harmless.
                    tracing::warn!(error = %e, "could not defer the event; it is returned to the queue");
                    tokio::time::sleep(STORE_RETRY).await;
                    nack_requeue(delivery).await;
                    return;
                }
                let recorded = hold(shutdown, || {
                    failures::record_retry(worker, event, failures, &reason, delay)
                })
                .await;
                worker.metrics().count(tenant, "retried");
                // Deferred either way; an attempt the store never heard of is only a gap in the
                // journal, while returning the original would apply it twice as often.
                if !recorded {
                    tracing::warn!("the attempt could not be recorded before shutdown");
                }
                ack(delivery).await;
                return;
            }
            Err(SyncError::Permanent { reason }) => {
                let reason = redact::emails(&reason);
                tracing::debug!(%reason, "the failure");
                tracing::error!(
                    http_status = http_status(&reason),
                    "permanent failure; the event becomes a dead letter"
                );
                let stored = hold(shutdown, || {
                    failures::give_up(
                        worker,
                        event,
                        GiveUp::Permanent,
                        &reason,
                        history.attempts + 1,
                        history.replay,
                    )
                })
                .await;
                worker.metrics().count(tenant, "dead_lettered");
                settle(delivery, stored).await;
                return;
            }
            Err(SyncError::Store(e)) => {
                // Nothing was recorded: hold the delivery and try again once the store answers.
                tracing::warn!(error = %e, "store unavailable; the event is held and tried again");
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        nack_requeue(delivery).await;
                        return;
                    }
                    _ = tokio::time::sleep(STORE_RETRY) => {}
                }
            }
        }
    }
}

/// Runs a store operation until it succeeds; `false` when shutdown came first.
async fn hold<F, Fut>(shutdown: &CancellationToken, mut operation: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), store::StoreError>>,
{
    loop {
        match operation().await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(error = %e, "store unavailable; trying again");
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(STORE_RETRY) => {}
                }
            }
        }
    }
}

/// Acks what was recorded; returns to the queue what could not be.
async fn settle(delivery: &Delivery, recorded: bool) {
    if recorded {
        ack(delivery).await;
    } else {
        nack_requeue(delivery).await;
    }
}

async fn ack(delivery: &Delivery) {
    if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
        // The broker redelivers an unacked message; the inbox makes that harmless.
        tracing::warn!(error = %e, "ack failed; the event will be redelivered");
    }
}

async fn nack_requeue(delivery: &Delivery) {
    if let Err(e) = delivery
        .acker
        .nack(BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        })
        .await
    {
        tracing::warn!(error = %e, "nack failed; the event will be redelivered");
    }
}

/// Moves what the broker dead-lettered after the delivery limit into the dead-letter table, so
/// support has one place to look. Runs until the channel closes or shutdown.
async fn move_dead_queue(worker: Arc<Worker>, channel: Channel, shutdown: CancellationToken) {
    let queue = worker.topology().dead_queue(worker.destination());
    let consumer = async {
        channel.basic_qos(1, BasicQosOptions::default()).await?;
        channel
            .basic_consume(
                queue.as_str().into(),
                format!(
                    "ledgerhook-{}-dead-{}",
                    worker.destination().as_str(),
                    std::process::id()
                )
                .into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
    };
    let mut consumer = match consumer.await {
        Ok(consumer) => consumer,
        Err(e) => {
            tracing::warn!(error = %e, %queue, "cannot consume the dead queue");
            return;
        }
    };
    let limit = worker.topology().delivery_limit();
    loop {
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = consumer.next() => match next {
                Some(Ok(delivery)) => delivery,
                _ => return,
            },
        };
        let history = History::of(&delivery.properties);
        let reason = format!(
            "delivered more than {limit} times without being settled: a worker stopped or crashed \
             while applying it every time"
        );
        let stored = match serde_json::from_slice::<Event>(&delivery.data) {
            Ok(event) => {
                tracing::error!(event_id = %event.id, tenant = %event.tenant, "a message exceeded the delivery limit; it becomes a dead letter");
                let stored = hold(&shutdown, || {
                    failures::give_up(
                        &worker,
                        &event,
                        GiveUp::Poison,
                        &reason,
                        history.attempts + 1,
                        history.replay,
                    )
                })
                .await;
                worker
                    .metrics()
                    .count(worker.tenant_label(&event.tenant), "dead_lettered");
                stored
            }
            Err(_) => {
                let stored = hold(&shutdown, || {
                    failures::give_up_raw(&worker, &delivery.data, GiveUp::Poison, &reason)
                })
                .await;
                worker.metrics().count("", "dead_lettered");
                stored
            }
        };
        settle(&delivery, stored).await;
    }
}
