//! Outgoing webhooks: every change the sandbox makes is announced to the router as the
//! provider's own signed notification, so echoes of ledgerhook's writes are real.
//!
//! The tenant's source whose provider matches (`xero`, `quickbooks`, `hubspot`, `stripe`, or
//! `standard-webhooks` with system `salesforce`) names the URL, `router.public_base_url` +
//! `/webhooks/<tenant>/<source>`, and its last configured secret signs: Xero
//! `x-xero-signature` and QuickBooks `intuit-signature` are the base64 HMAC-SHA256 of the body;
//! HubSpot v3 `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256 (keyed with the client secret)
//! of `POST`, the URL, the body and the millisecond `X-HubSpot-Request-Timestamp`; Standard
//! Webhooks' `webhook-signature` is `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
//! keyed with the base64-decoded secret after `whsec_`; Stripe's `Stripe-Signature` is
//! `t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">` keyed with the whole `whsec_` string.
//! Deliveries run on their own tasks after
//! the API call has been answered; a non-2xx answer or a network error is retried with
//! doubling waits, as every provider retries; HubSpot's `attemptNumber` counts up and a
//! Standard Webhooks timestamp is each attempt's own (its id stays), so those are signed anew.
//! A tenant without a matching source gets no webhook, which is logged and counted as skipped.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use chrono::Utc;
use ledgerhook_shared::config::{Config, ProviderKind};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use url::Url;
use uuid::Uuid;

mod delivery;
mod flow;
mod intuit;
mod stripe;

pub(crate) use flow::FlowEvent;
pub(crate) use intuit::QuickbooksEvent;
pub(crate) use stripe::{StripeEvent, StripeRequest};

use super::{state::lock, Options};

/// An app id for the sandbox's simulated HubSpot app; HubSpot puts the app's id in `appId`.
const HUBSPOT_APP_ID: u64 = 4_121_907;

/// One Xero event: `eventCategory` INVOICE or CONTACT, `eventType` CREATE or UPDATE.
#[derive(Debug, Clone)]
pub(crate) struct XeroEvent {
    pub resource_id: String,
    pub category: &'static str,
    pub kind: &'static str,
}

/// One HubSpot notification, e.g. `object.propertyChange` of an invoice (`0-53`).
#[derive(Debug, Clone)]
pub(crate) struct HubspotEvent {
    pub object_id: u64,
    pub subscription_type: &'static str,
    pub object_type_id: Option<&'static str>,
    pub property: Option<(String, String)>,
}

#[derive(Debug)]
pub(crate) struct Dispatcher {
    tx: mpsc::UnboundedSender<Delivery>,
    config: Arc<Config>,
    counters: Arc<Counters>,
    xero_sequence: Mutex<HashMap<String, u64>>,
    hubspot_event_id: AtomicU64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    skipped: AtomicU64,
    recent: Mutex<VecDeque<Record>>,
}

/// One delivery, as the state dump shows it.
#[derive(Debug, Clone, Serialize)]
struct Record {
    provider: &'static str,
    tenant: String,
    url: String,
    events: usize,
    attempts: u32,
    delivered: bool,
    last_status: Option<u16>,
    error: Option<String>,
    at: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Snapshot {
    sent: u64,
    failed: u64,
    retries: u64,
    skipped: u64,
    recent: Vec<Record>,
}

#[derive(Debug)]
struct Delivery {
    provider: ProviderKind,
    tenant: String,
    url: Url,
    secret: SecretString,
    body: Body,
    events: usize,
}

#[derive(Debug)]
enum Body {
    /// Signed as it is, every attempt alike: Xero and QuickBooks.
    Fixed(Vec<u8>),
    /// HubSpot's notifications get `attemptNumber` per attempt.
    Hubspot(Vec<Value>),
    /// Standard Webhooks: the message id stays across attempts, the timestamp is each one's.
    Standard { id: String, body: Vec<u8> },
    /// Stripe: the same event body, signed with each attempt's own timestamp.
    Stripe(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Retry {
    attempts: u32,
    backoff: Duration,
}

impl Dispatcher {
    /// Starts the delivery loop on the current runtime; it drains when `drain` fires, and the
    /// handle ends when the drain is over.
    pub fn start(
        config: Arc<Config>,
        options: &Options,
        drain: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let client = reqwest::Client::builder()
            .timeout(options.webhook_timeout)
            .build()
            .unwrap_or_default();
        let retry = Retry {
            attempts: options.webhook_attempts.max(1),
            backoff: options.webhook_backoff,
        };
        let task = tokio::spawn(delivery::run(rx, client, counters.clone(), retry, drain));
        let dispatcher = Dispatcher {
            tx,
            config,
            counters,
            xero_sequence: Mutex::new(HashMap::new()),
            hubspot_event_id: AtomicU64::new(1_000),
        };
        (dispatcher, task)
    }

    pub fn xero(&self, tenant: &str, xero_tenant_id: &str, events: Vec<XeroEvent>) {
        if events.is_empty() {
            return;
        }
        let Some((url, secret)) = self.target(tenant, ProviderKind::Xero, None) else {
            return;
        };
        let (first, last) = {
            let mut seq = lock(&self.xero_sequence);
            let next = seq.entry(xero_tenant_id.to_owned()).or_insert(0);
            let first = *next + 1;
            *next += events.len() as u64;
            (first, *next)
        };
        let at = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f").to_string();
        let items: Vec<Value> = events
            .iter()
            .map(|e| {
                let collection = if e.category == "INVOICE" { "Invoices" } else { "Contacts" };
                json!({
                    "resourceUrl": format!("https://api.xero.com/api.xro/2.0/{collection}/{}", e.resource_id),
                    "resourceId": e.resource_id,
                    "eventDateUtc": at,
                    "eventType": e.kind,
                    "eventCategory": e.category,
                    "tenantId": xero_tenant_id,
                    "tenantType": "ORGANISATION",
                })
            })
            .collect();
        let body = json!({
            "events": items,
            "firstEventSequence": first,
            "lastEventSequence": last,
            "entropy": Uuid::new_v4().simple().to_string()[..20].to_uppercase(),
        });
        self.send(Delivery {
            provider: ProviderKind::Xero,
            tenant: tenant.to_owned(),
            url,
            secret,
            body: Body::Fixed(serde_json::to_vec(&body).unwrap_or_default()),
            events: events.len(),
        });
    }

    pub fn hubspot(&self, tenant: &str, portal_id: u64, events: Vec<HubspotEvent>) {
        if events.is_empty() {
            return;
        }
        let Some((url, secret)) = self.target(tenant, ProviderKind::Hubspot, None) else {
            return;
        };
        let occurred_at = Utc::now().timestamp_millis();
        let items: Vec<Value> = events
            .iter()
            .map(|e| {
                let mut item = json!({
                    "eventId": self.hubspot_event_id.fetch_add(1, Ordering::Relaxed),
                    "subscriptionId": subscription_id(e.subscription_type),
                    "portalId": portal_id,
                    "appId": HUBSPOT_APP_ID,
                    "occurredAt": occurred_at,
                    "subscriptionType": e.subscription_type,
                    "objectId": e.object_id,
                    "changeSource": "INTEGRATION",
                    "sourceId": HUBSPOT_APP_ID.to_string(),
                });
                if let Some(type_id) = e.object_type_id {
                    item["objectTypeId"] = json!(type_id);
                }
                if e.subscription_type.ends_with(".creation") {
                    item["changeFlag"] = json!("CREATED");
                }
                if let Some((name, value)) = &e.property {
                    item["propertyName"] = json!(name);
                    item["propertyValue"] = json!(value);
                }
                item
            })
            .collect();
        self.send(Delivery {
            provider: ProviderKind::Hubspot,
            tenant: tenant.to_owned(),
            url,
            secret,
            body: Body::Hubspot(items),
            events: events.len(),
        });
    }

    /// The URL and signing secret of the tenant's first source of that provider (and, for
    /// Standard Webhooks, which any system may send, of that system).
    fn target(
        &self,
        tenant: &str,
        provider: ProviderKind,
        system: Option<&str>,
    ) -> Option<(Url, SecretString)> {
        let source = self.config.tenant(tenant).and_then(|t| {
            t.sources
                .iter()
                .find(|s| s.provider == provider && system.is_none_or(|n| s.system == n))
        });
        let found = source.and_then(|s| {
            let base = self.config.router.public_base_url.as_str();
            let url = format!("{}/webhooks/{tenant}/{}", base.trim_end_matches('/'), s.id);
            Some((Url::parse(&url).ok()?, s.secrets.last()?.clone()))
        });
        if found.is_none() {
            tracing::info!(
                tenant,
                provider = provider.as_str(),
                "no source of this provider for the tenant; webhook not sent"
            );
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    fn send(&self, delivery: Delivery) {
        if self.tx.send(delivery).is_err() {
            tracing::warn!("sandbox is stopping; webhook dropped");
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let c = &self.counters;
        Snapshot {
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            skipped: c.skipped.load(Ordering::Relaxed),
            recent: lock(&c.recent).iter().cloned().collect(),
        }
    }

    pub fn reset_counters(&self) {
        let c = &self.counters;
        for n in [&c.sent, &c.failed, &c.retries, &c.skipped] {
            n.store(0, Ordering::Relaxed);
        }
        lock(&c.recent).clear();
    }
}

/// Stable subscription ids, one per subscription type, as one HubSpot app would have.
fn subscription_id(subscription_type: &str) -> u64 {
    match subscription_type {
        "contact.creation" => 2_101,
        "contact.propertyChange" => 2_102,
        "company.creation" => 2_103,
        "company.propertyChange" => 2_104,
        "object.creation" => 2_105,
        _ => 2_106,
    }
}
