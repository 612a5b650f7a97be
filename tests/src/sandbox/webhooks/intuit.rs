//! QuickBooks Online notifications in the CloudEvents format Intuit made mandatory in 2026: a
//! JSON array with one CloudEvent per changed entity, signed `intuit-signature`.
//!
//! Each event carries `specversion` "1.0", a unique `id`, `source`, `type`
//! `qbo.<entity>.<past-tense action>.v1`, `time`, `intuitentityid` (the entity's Id),
//! `intuitaccountid` (the realm id), `datacontenttype` and an empty `data`, exactly the shape of
//! the sample in Intuit's blog post "Upcoming change to webhooks payload structure" (2025-11-12)
//! and of `tests/fixtures/quickbooks/cloudevents_batch.body`, which the router's
//! `providers/quickbooks.rs` reads. Intuit's `source` is an opaque `intuit.<base64>` string;
//! the sandbox's is made the same way from a fixed app name. One API call that changes several
//! entities (a payment and the invoices it pays) is one delivery of several events, as Intuit
//! groups a realm's changes.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::Utc;
use ledgerhook_shared::config::ProviderKind;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Body, Delivery, Dispatcher};

/// One changed QuickBooks entity, e.g. `invoice` / `voided`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuickbooksEvent {
    pub entity: &'static str,
    pub id: String,
    pub action: &'static str,
}

impl QuickbooksEvent {
    pub fn new(entity: &'static str, id: &str, action: &'static str) -> QuickbooksEvent {
        QuickbooksEvent {
            entity,
            id: id.to_owned(),
            action,
        }
    }
}

impl Dispatcher {
    pub fn quickbooks(&self, tenant: &str, realm_id: &str, events: Vec<QuickbooksEvent>) {
        if events.is_empty() {
            return;
        }
        let Some((url, secret)) = self.target(tenant, ProviderKind::Quickbooks, None) else {
            return;
        };
        let source = format!(
            "intuit.{}",
            STANDARD.encode(Sha256::digest(b"ledgerhook-sandbox"))
        );
        let time = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let items: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({
                    "specversion": "1.0",
                    "id": Uuid::new_v4().to_string(),
                    "source": source,
                    "type": format!("qbo.{}.{}.v1", e.entity, e.action),
                    "datacontenttype": "application/json",
                    "time": time,
                    "intuitentityid": e.id,
                    "intuitaccountid": realm_id,
                    "data": {},
                })
            })
            .collect();
        self.send(Delivery {
            provider: ProviderKind::Quickbooks,
            tenant: tenant.to_owned(),
            url,
            secret,
            body: Body::Fixed(serde_json::to_vec(&items).unwrap_or_default()),
            events: events.len(),
        });
    }
}
