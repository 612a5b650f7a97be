//! The canonical event envelope: a CloudEvents 1.0 JSON object with ledgerhook's extension
//! attributes, and the vocabulary of event types and categories that routes it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::CanonicalObject;

/// The kind of system an event came from; the first word of its routing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Crm,
    Accounting,
    Payments,
}

impl Category {
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Crm => "crm",
            Category::Accounting => "accounting",
            Category::Payments => "payments",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every event type ledgerhook syncs. Anything a provider sends that maps to none of these is
/// answered 200 and counted as ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "customer.upserted")]
    CustomerUpserted,
    #[serde(rename = "invoice.created")]
    InvoiceCreated,
    #[serde(rename = "invoice.updated")]
    InvoiceUpdated,
    #[serde(rename = "invoice.paid")]
    InvoicePaid,
    #[serde(rename = "invoice.voided")]
    InvoiceVoided,
    #[serde(rename = "invoice.deleted")]
    InvoiceDeleted,
    #[serde(rename = "invoice.payment_failed")]
    InvoicePaymentFailed,
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded,
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    #[serde(rename = "payment.refunded")]
    PaymentRefunded,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        EventType::CustomerUpserted,
        EventType::InvoiceCreated,
        EventType::InvoiceUpdated,
        EventType::InvoicePaid,
        EventType::InvoiceVoided,
        EventType::InvoiceDeleted,
        EventType::InvoicePaymentFailed,
        EventType::PaymentSucceeded,
        EventType::PaymentFailed,
        EventType::PaymentRefunded,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::CustomerUpserted => "customer.upserted",
            EventType::InvoiceCreated => "invoice.created",
            EventType::InvoiceUpdated => "invoice.updated",
            EventType::InvoicePaid => "invoice.paid",
            EventType::InvoiceVoided => "invoice.voided",
            EventType::InvoiceDeleted => "invoice.deleted",
            EventType::InvoicePaymentFailed => "invoice.payment_failed",
            EventType::PaymentSucceeded => "payment.succeeded",
            EventType::PaymentFailed => "payment.failed",
            EventType::PaymentRefunded => "payment.refunded",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the event is about an invoice's own state (not a payment attempt on it).
    pub fn is_invoice_change(&self) -> bool {
        matches!(
            self,
            EventType::InvoiceCreated
                | EventType::InvoiceUpdated
                | EventType::InvoicePaid
                | EventType::InvoiceVoided
                | EventType::InvoiceDeleted
        )
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json";

/// One canonical event, serialized as a structured-mode CloudEvents 1.0 JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub specversion: SpecVersion,
    /// A UUIDv7, so ids sort by creation time.
    pub id: Uuid,
    /// `/<tenant>/<source>`.
    pub source: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub time: DateTime<Utc>,
    /// The provider's id of the object the event is about.
    pub subject: String,
    pub tenant: String,
    pub category: Category,
    /// The provider system, e.g. `stripe`, `quickbooks`, `hubspot`.
    pub system: String,
    /// Stable across provider retries of the same change; the workers' inbox key.
    pub idempotencykey: String,
    pub receivedat: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    /// The canonical object when the webhook carried it; absent for thin webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<CanonicalObject>,
}

/// The CloudEvents version; only "1.0" deserializes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpecVersion;

impl Serialize for SpecVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("1.0")
    }
}

impl<'de> Deserialize<'de> for SpecVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = String::deserialize(deserializer)?;
        if v == "1.0" {
            Ok(SpecVersion)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported CloudEvents specversion `{v}`"
            )))
        }
    }
}

/// What a provider module knows about an event; the router adds tenant, source and times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDraft {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub subject: String,
    /// When the provider says the change happened, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
    pub idempotency_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<CanonicalObject>,
}

/// Where an event came from, as configured.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub tenant: &'a str,
    pub source: &'a str,
    pub category: Category,
    pub system: &'a str,
}

impl Event {
    /// Completes a draft into an envelope, stamping a fresh UUIDv7 id and the receipt time.
    pub fn from_draft(draft: EventDraft, origin: Origin<'_>, received_at: DateTime<Utc>) -> Event {
        Event {
            specversion: SpecVersion,
            id: Uuid::now_v7(),
            source: format!("/{}/{}", origin.tenant, origin.source),
            kind: draft.kind,
            time: draft.occurred_at.unwrap_or(received_at),
            subject: draft.subject,
            tenant: origin.tenant.to_owned(),
            category: origin.category,
            system: origin.system.to_owned(),
            // The key is namespaced by tenant and source so two sources can never collide.
            idempotencykey: format!(
                "{}/{}/{}",
                origin.tenant, origin.source, draft.idempotency_key
            ),
            receivedat: received_at,
            datacontenttype: draft.data.as_ref().map(|_| "application/json".to_owned()),
            data: draft.data,
        }
    }

    /// `<category>.<entity>.<action>`, e.g. `payments.invoice.paid`.
    pub fn routing_key(&self) -> String {
        format!("{}.{}", self.category, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CanonicalObject, Customer};

    fn sample() -> Event {
        let draft = EventDraft {
            kind: EventType::CustomerUpserted,
            subject: "cus_1".into(),
            occurred_at: None,
            idempotency_key: "evt_1".into(),
            data: Some(CanonicalObject::Customer(Customer {
                id: "cus_1".into(),
                email: Some("a@example.com".into()),
                ..Customer::default()
            })),
        };
        let origin = Origin {
            tenant: "acme",
            source: "stripe",
            category: Category::Payments,
            system: "stripe",
        };
        Event::from_draft(draft, origin, Utc::now())
    }

    #[test]
    fn envelope_is_cloudevents_json_with_extensions() {
        let event = sample();
        let json = serde_json::to_value(&event).expect("serialize");
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "customer.upserted");
        assert_eq!(json["source"], "/acme/stripe");
        assert_eq!(json["subject"], "cus_1");
        assert_eq!(json["tenant"], "acme");
        assert_eq!(json["category"], "payments");
        assert_eq!(json["system"], "stripe");
        assert_eq!(json["idempotencykey"], "acme/stripe/evt_1");
        assert_eq!(json["data"]["object"], "customer");
        assert_eq!(event.id.get_version_num(), 7);
        assert_eq!(event.routing_key(), "payments.customer.upserted");
        let back: Event = serde_json::from_value(json).expect("parse");
        assert_eq!(back, event);
    }

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).expect("serialize");
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }
}
