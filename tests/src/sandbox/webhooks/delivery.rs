//! Delivering one webhook: sign each attempt as the provider signs, POST it, and retry
//! non-2xx answers and network errors with doubling waits; then count it sent or failed.

use std::{sync::atomic::Ordering, sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::Utc;
use hmac::{Hmac, Mac};
use ledgerhook_shared::config::ProviderKind;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    flow::standard_key, stripe::stripe_signature, Body, Counters, Delivery, Record, Retry,
};
use crate::sandbox::state::lock;

/// How long stopping waits for deliveries still in flight.
const DRAIN: Duration = Duration::from_secs(5);

pub(super) async fn run(
    mut rx: mpsc::UnboundedReceiver<Delivery>,
    client: reqwest::Client,
    counters: Arc<Counters>,
    retry: Retry,
    drain: CancellationToken,
) {
    let tracker = TaskTracker::new();
    loop {
        tokio::select! {
            next = rx.recv() => match next {
                Some(d) => {
                    tracker.spawn(deliver(d, client.clone(), counters.clone(), retry.clone()));
                }
                None => break,
            },
            _ = drain.cancelled() => break,
        }
    }
    // Changes made just before the stop still get their webhooks, within the drain time.
    rx.close();
    while let Ok(d) = rx.try_recv() {
        tracker.spawn(deliver(d, client.clone(), counters.clone(), retry.clone()));
    }
    tracker.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::warn!("webhook deliveries still pending at stop were abandoned");
    }
}

async fn deliver(d: Delivery, client: reqwest::Client, counters: Arc<Counters>, retry: Retry) {
    let mut record = Record {
        provider: d.provider.as_str(),
        tenant: d.tenant.clone(),
        url: d.url.to_string(),
        events: d.events,
        attempts: 0,
        delivered: false,
        last_status: None,
        error: None,
        at: Utc::now().to_rfc3339(),
    };
    for attempt in 0..retry.attempts {
        if attempt > 0 {
            counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(retry.backoff * 2u32.saturating_pow(attempt - 1)).await;
        }
        record.attempts = attempt + 1;
        let (body, headers) = signed(&d, attempt);
        let mut request = client.post(d.url.clone()).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(answer) => {
                record.last_status = Some(answer.status().as_u16());
                record.error = None;
                if answer.status().is_success() {
                    record.delivered = true;
                    break;
                }
            }
            Err(e) => record.error = Some(e.to_string()),
        }
    }
    let counter = if record.delivered {
        &counters.sent
    } else {
        tracing::warn!(url = %record.url, status = ?record.last_status, "webhook delivery failed");
        &counters.failed
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let mut recent = lock(&counters.recent);
    if recent.len() == 100 {
        recent.pop_front();
    }
    recent.push_back(record);
}

/// The body and headers of one attempt, signed as the provider signs.
fn signed(d: &Delivery, attempt: u32) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let secret = d.secret.expose_secret().as_bytes();
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    let body = match &d.body {
        Body::Fixed(body) => {
            let name = match d.provider {
                ProviderKind::Quickbooks => "intuit-signature",
                _ => "x-xero-signature",
            };
            headers.push((name, STANDARD.encode(hmac(secret, &[body]))));
            body.clone()
        }
        Body::Standard { id, body } => {
            let ts = Utc::now().timestamp().to_string();
            // The dispatcher only queues deliveries whose secret decodes.
            let key = standard_key(d.secret.expose_secret()).unwrap_or_default();
            let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts.as_bytes(), b".", body];
            let signature = format!("v1,{}", STANDARD.encode(hmac(&key, &parts)));
            headers.push(("webhook-id", id.clone()));
            headers.push(("webhook-timestamp", ts));
            headers.push(("webhook-signature", signature));
            body.clone()
        }
        Body::Stripe(body) => {
            let signature = stripe_signature(secret, Utc::now().timestamp(), body);
            headers.push(("Stripe-Signature", signature));
            headers.push(("User-Agent", super::stripe::USER_AGENT.to_owned()));
            body.clone()
        }
        Body::Hubspot(items) => {
            let items: Vec<Value> = items
                .iter()
                .map(|i| {
                    let mut i = i.clone();
                    i["attemptNumber"] = json!(attempt);
                    i
                })
                .collect();
            let body = serde_json::to_vec(&items).unwrap_or_default();
            let ts = Utc::now().timestamp_millis().to_string();
            let parts: [&[u8]; 4] = [b"POST", d.url.as_str().as_bytes(), &body, ts.as_bytes()];
            headers.push((
                "X-HubSpot-Signature-v3",
                STANDARD.encode(hmac(secret, &parts)),
            ));
            headers.push(("X-HubSpot-Request-Timestamp", ts));
            body
        }
    };
    (body, headers)
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}
