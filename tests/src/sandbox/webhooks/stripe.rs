//! Stripe events: one delivery per event, the body an Event object as Stripe's API reference
//! describes it (`id` `evt_...`, `object` "event", `api_version`, `created`, `data.object` the
//! changed object as the API returned it, `data.previous_attributes` for a change of an existing
//! object, `livemode`, `pending_webhooks`, `request` `{id, idempotency_key}`, `type`), signed
//! `Stripe-Signature: t=<unix>,v1=<hex>` where v1 is the HMAC-SHA256 of `{t}.{body}` keyed with
//! the endpoint's whole `whsec_...` secret (docs.stripe.com/webhooks#verify-manually). Stripe
//! signs each delivery attempt with its own timestamp; the event id stays the same.

use chrono::Utc;
use hmac::{Hmac, Mac};
use ledgerhook_shared::config::ProviderKind;
use serde_json::{json, Value};
use sha2::Sha256;

use super::{Body, Delivery, Dispatcher};
use crate::sandbox::stripe::{model::new_id, API_VERSION};

/// What Stripe's webhook deliveries say they are.
pub(super) const USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

/// One changed object, e.g. `invoice.paid` with the invoice.
#[derive(Debug, Clone)]
pub(crate) struct StripeEvent {
    pub kind: &'static str,
    pub object: Value,
    /// The changed attributes' values before the change, for updates.
    pub previous: Option<Value>,
}

/// The API request that caused the events.
#[derive(Debug, Clone)]
pub(crate) struct StripeRequest {
    pub id: String,
    pub idempotency_key: Option<String>,
}

/// `t=<timestamp>,v1=<lowercase hex HMAC-SHA256 of "{t}.{body}">`.
pub(super) fn stripe_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

impl Dispatcher {
    pub fn stripe(&self, tenant: &str, request: &StripeRequest, events: Vec<StripeEvent>) {
        if events.is_empty() {
            return;
        }
        let Some((url, secret)) = self.target(tenant, ProviderKind::Stripe, None) else {
            return;
        };
        for event in events {
            let mut data = json!({ "object": event.object });
            if let Some(previous) = event.previous {
                data["previous_attributes"] = previous;
            }
            let body = json!({
                "id": new_id("evt_"),
                "object": "event",
                "api_version": API_VERSION,
                "created": Utc::now().timestamp(),
                "data": data,
                "livemode": false,
                "pending_webhooks": 1,
                "request": {
                    "id": request.id,
                    "idempotency_key": request.idempotency_key,
                },
                "type": event.kind,
            });
            // Stripe amounts are integers, so the body holds no float.
            self.send(Delivery {
                provider: ProviderKind::Stripe,
                tenant: tenant.to_owned(),
                url: url.clone(),
                secret: secret.clone(),
                body: Body::Stripe(serde_json::to_vec(&body).unwrap_or_default()),
                events: 1,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature of `tests/fixtures/stripe/customer_created`, made with Stripe's own SDK.
    #[test]
    fn signs_as_the_stripe_sdk_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/stripe/");
        let body = std::fs::read(format!("{dir}customer_created.body")).expect("body");
        let secret = std::fs::read_to_string(format!("{dir}secret")).expect("secret");
        let headers =
            std::fs::read_to_string(format!("{dir}customer_created.headers")).expect("headers");
        let expected = headers
            .lines()
            .find_map(|l| l.strip_prefix("Stripe-Signature: "))
            .expect("signature header");
        let got = stripe_signature(secret.trim().as_bytes(), 1_764_800_000, &body);
        assert_eq!(got, expected);
    }
}
