//! Salesforce changes as a record-triggered Flow's HTTP callout would send them: one Standard
//! Webhooks message per change, in ledgerhook's canonical vocabulary.
//!
//! Salesforce has no signed webhook of its own (Outbound Messages are SOAP); a Flow callout can
//! sign the Standard Webhooks way, which is how a ledgerhook source with provider
//! `standard-webhooks` and system `salesforce` expects it. The body is `{"type":
//! "invoice.created", "timestamp": <RFC 3339>, "data": <canonical object>}`, what the router's
//! `providers/standard_webhooks.rs` checks; the headers are `webhook-id` (`msg_...`, the same
//! on every retry), `webhook-timestamp` (each attempt's, in seconds) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the base64 secret after
//! `whsec_`), as github.com/standard-webhooks/standard-webhooks `spec/standard-webhooks.md`
//! specifies.

use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
use chrono::{SecondsFormat, Utc};
use ledgerhook_shared::{config::ProviderKind, model::CanonicalObject, EventType};
use secrecy::ExposeSecret;
use serde::Serialize;
use std::sync::atomic::Ordering;
use uuid::Uuid;

use super::{Body, Delivery, Dispatcher};

/// Secrets are base64, padded or not, as the router accepts them.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One canonical event from a Salesforce record change.
#[derive(Debug, Clone)]
pub(crate) struct FlowEvent {
    pub kind: EventType,
    pub object: CanonicalObject,
}

#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: &'a CanonicalObject,
}

/// The HMAC key of a `whsec_<base64>` secret.
pub(super) fn standard_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    SECRET_BASE64.decode(encoded).ok().filter(|k| !k.is_empty())
}

impl Dispatcher {
    pub fn salesforce(&self, tenant: &str, events: Vec<FlowEvent>) {
        if events.is_empty() {
            return;
        }
        let target = self.target(tenant, ProviderKind::StandardWebhooks, Some("salesforce"));
        let Some((url, secret)) = target else {
            return;
        };
        if standard_key(secret.expose_secret()).is_none() {
            tracing::warn!(
                tenant,
                "the Salesforce source's secret is not whsec_<base64>; webhook not sent"
            );
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        for event in events {
            let payload = Payload {
                kind: event.kind.as_str(),
                timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                data: &event.object,
            };
            // The canonical object serializes money as strings, so no amount is a float here.
            let body = serde_json::to_vec(&payload).unwrap_or_default();
            self.send(Delivery {
                provider: ProviderKind::StandardWebhooks,
                tenant: tenant.to_owned(),
                url: url.clone(),
                secret: secret.clone(),
                body: Body::Standard {
                    id: format!("msg_{}", Uuid::new_v4().simple()),
                    body,
                },
                events: 1,
            });
        }
    }
}
