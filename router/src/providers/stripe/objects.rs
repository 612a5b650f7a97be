//! Stripe's JSON, reduced to what the mapping reads; every other field is ignored, so new
//! fields in later API versions never break parsing.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct StripeEvent {
    pub(super) id: String,
    pub(super) object: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) created: i64,
    pub(super) data: EventData,
}

#[derive(Debug, Deserialize)]
pub(super) struct EventData {
    /// Kept as raw JSON and parsed once, into the type the event type promises.
    pub(super) object: Box<serde_json::value::RawValue>,
}

/// A reference Stripe sends as an id, or as the object when it was expanded.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub(super) fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct List<T> {
    pub(super) data: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StripeInvoice {
    pub(super) id: String,
    pub(super) number: Option<String>,
    pub(super) status: Option<String>,
    pub(super) currency: String,
    pub(super) customer: Option<Expandable>,
    pub(super) customer_name: Option<String>,
    pub(super) customer_email: Option<String>,
    pub(super) lines: Option<List<StripeLine>>,
    pub(super) subtotal: Option<i64>,
    pub(super) tax: Option<i64>,
    pub(super) total_taxes: Option<Vec<TaxAmount>>,
    pub(super) total: i64,
    pub(super) amount_paid: Option<i64>,
    pub(super) amount_due: Option<i64>,
    pub(super) created: Option<i64>,
    pub(super) status_transitions: Option<StatusTransitions>,
    pub(super) due_date: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TaxAmount {
    pub(super) amount: i64,
}

#[derive(Debug, Deserialize)]
pub(super) struct StatusTransitions {
    pub(super) finalized_at: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StripeLine {
    pub(super) id: Option<String>,
    pub(super) description: Option<String>,
    pub(super) quantity: Option<i64>,
    pub(super) quantity_decimal: Option<String>,
    pub(super) amount: i64,
    pub(super) pricing: Option<Pricing>,
    /// Before API 2025-03-31 lines embed the whole price object.
    pub(super) price: Option<LegacyPrice>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LegacyPrice {
    pub(super) unit_amount_decimal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Pricing {
    pub(super) unit_amount_decimal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PaymentIntent {
    pub(super) id: String,
    pub(super) amount: i64,
    pub(super) amount_received: Option<i64>,
    pub(super) currency: String,
    pub(super) customer: Option<Expandable>,
    /// Present before API 2025-03-31.
    pub(super) invoice: Option<Expandable>,
    #[serde(default)]
    pub(super) payment_method_types: Vec<String>,
    pub(super) last_payment_error: Option<PaymentError>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PaymentError {
    pub(super) message: Option<String>,
    pub(super) code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Charge {
    pub(super) id: String,
    pub(super) amount_refunded: i64,
    pub(super) currency: String,
    pub(super) payment_intent: Option<Expandable>,
    pub(super) refunds: Option<List<StripeRefund>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StripeRefund {
    pub(super) id: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) charge: Option<Expandable>,
    pub(super) payment_intent: Option<Expandable>,
    pub(super) reason: Option<String>,
    pub(super) created: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StripeCustomer {
    pub(super) id: String,
    pub(super) name: Option<String>,
    pub(super) email: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) business_name: Option<String>,
    pub(super) address: Option<StripeAddress>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
pub(super) struct StripeAddress {
    pub(super) line1: Option<String>,
    pub(super) line2: Option<String>,
    pub(super) city: Option<String>,
    pub(super) state: Option<String>,
    pub(super) postal_code: Option<String>,
    pub(super) country: Option<String>,
}
