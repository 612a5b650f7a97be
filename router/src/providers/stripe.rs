//! Stripe: `Stripe-Signature` verification and the mapping of Stripe events to canonical events.
//!
//! Stripe webhooks carry whole objects, so every draft carries its canonical object. Amounts are
//! integer minor units in Stripe's own currency rules (see `stripe_exponent`), converted to exact
//! decimals; a float never appears.

mod map;
mod objects;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};
use ledgerhook_shared::{model::PaymentStatus, Currency, EventType, Money};
use rust_decimal::Decimal;

use self::{map::Ctx, objects::StripeEvent};
use super::{
    signing::{constant_time_eq, hmac_sha256},
    Keys, NormalizeError, Normalized, RawWebhook, Unverified, Verified, VerifyError,
};

const HEADER: &str = "stripe-signature";

/// Accepts the webhook if any `v1` signature matches any configured secret, then checks the time.
pub(super) fn verify(raw: &RawWebhook<Unverified>, keys: &Keys<'_>) -> Result<(), VerifyError> {
    let header = raw
        .header(HEADER)
        .ok_or(VerifyError::MissingHeader(HEADER))?;
    let malformed = |reason| VerifyError::Malformed {
        header: HEADER,
        reason,
    };
    let (mut timestamp, mut signatures) = (None, Vec::new());
    // Unknown elements (such as the `v0` test-mode scheme) are skipped, as Stripe's SDKs do.
    for (key, value) in header
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
    {
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| malformed("t is not a unix timestamp"))?,
                )
            }
            // Stripe writes lowercase hex and its SDKs compare that text, so any other spelling
            // can match nothing: it is dropped rather than refused.
            "v1" => {
                let lower_hex = value
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                signatures.extend(hex::decode(value).ok().filter(|_| lower_hex));
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| malformed("no t= timestamp"))?;
    if signatures.is_empty() {
        return Err(malformed("no v1= signature"));
    }
    // The SDKs sign the decimal rendering of t, so a zero-padded t must not change the payload.
    let prefix = format!("{timestamp}.");
    // An empty secret would let anyone sign, so it never counts as configured.
    let matched = keys
        .each()
        .filter(|secret| !secret.is_empty())
        .any(|secret| {
            let expected = hmac_sha256(secret, &[prefix.as_bytes(), &raw.body]);
            signatures
                .iter()
                .any(|sig| constant_time_eq(&expected, sig))
        });
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    // Checked after the signature, so only an authentic request learns it is out of time.
    keys.check_timestamp(timestamp)
}

/// Maps one Stripe event to drafts, or to `ignored` when ledgerhook does not sync its type.
pub(super) fn normalize(raw: &RawWebhook<Verified>) -> Result<Normalized, NormalizeError> {
    let event: StripeEvent = serde_json::from_slice(&raw.body)
        .map_err(|e| NormalizeError::new(format!("body is not a Stripe event: {e}")))?;
    match event.object.as_deref() {
        None | Some("event") => {}
        Some("v2.core.event") => {
            return Err(NormalizeError::new(
                "body is a Stripe thin event notification; point a snapshot event destination here",
            ))
        }
        Some(other) => {
            return Err(NormalizeError::new(format!(
                "body is a Stripe `{other}`, not an event"
            )))
        }
    }
    let occurred_at = timestamp(event.created, "created")?;
    let ctx = Ctx {
        event: &event,
        occurred_at,
    };
    let drafts = match event.kind.as_str() {
        "invoice.created" => ctx.invoice(EventType::InvoiceCreated)?,
        "invoice.updated" | "invoice.finalized" | "invoice.marked_uncollectible" => {
            ctx.invoice(EventType::InvoiceUpdated)?
        }
        "invoice.paid" => ctx.invoice(EventType::InvoicePaid)?,
        "invoice.voided" => ctx.invoice(EventType::InvoiceVoided)?,
        "invoice.deleted" => ctx.invoice(EventType::InvoiceDeleted)?,
        "invoice.payment_failed" => ctx.invoice(EventType::InvoicePaymentFailed)?,
        // Stripe sends invoice.paid for the same payment (and also when an invoice is paid out of
        // band), so syncing this one too would only publish the same change twice.
        "invoice.payment_succeeded" => return Ok(ignored(event.kind)),
        "payment_intent.succeeded" => ctx.payment(PaymentStatus::Succeeded)?,
        "payment_intent.payment_failed" => ctx.payment(PaymentStatus::Failed)?,
        "refund.created" => ctx.refund()?,
        "charge.refunded" => ctx.charge_refunds()?,
        "customer.created" | "customer.updated" => ctx.customer()?,
        _ => return Ok(ignored(event.kind)),
    };
    Ok(Normalized {
        events: drafts,
        ..Normalized::default()
    })
}

fn ignored(kind: String) -> Normalized {
    Normalized {
        ignored: vec![kind],
        ..Normalized::default()
    }
}

/// Stripe's minor-unit exponent, which is not always ISO 4217's (docs.stripe.com/currencies).
/// ISK is zero-decimal in ISO but two-decimal in Stripe's API (100 = 1 krona), and HUF and TWD
/// are two-decimal in charges although paid out whole; all three take the default of 2. MGA is
/// zero-decimal in Stripe but two-decimal in ISO. Stripe's three-decimal currencies match ISO.
fn stripe_exponent(currency: Currency) -> u32 {
    const ZERO_DECIMAL: [&str; 16] = [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];
    if ZERO_DECIMAL.contains(&currency.code()) {
        0
    } else if THREE_DECIMAL.contains(&currency.code()) {
        3
    } else {
        2
    }
}

fn currency(code: &str) -> Result<Currency, NormalizeError> {
    Currency::parse(code).map_err(|e| NormalizeError::new(format!("Stripe currency: {e}")))
}

/// Converts Stripe minor units to money; an amount finer than ISO allows (fractional ISK) is refused.
fn money(minor: i64, currency: Currency) -> Result<Money, NormalizeError> {
    let amount = Decimal::new(minor, stripe_exponent(currency));
    Money::new(amount, currency)
        .map_err(|e| NormalizeError::new(format!("Stripe amount {minor}: {e}")))
}

/// A Stripe decimal string in minor units (`unit_amount_decimal`) as a price in major units.
fn minor_decimal(text: &str, currency: Currency) -> Result<Decimal, NormalizeError> {
    let bad = || NormalizeError::new(format!("`{text}` is not a Stripe decimal amount"));
    let mut value: Decimal = text.trim().parse().map_err(|_| bad())?;
    value
        .set_scale(value.scale() + stripe_exponent(currency))
        .map_err(|_| bad())?;
    Ok(value.normalize())
}

fn timestamp(secs: i64, field: &str) -> Result<DateTime<Utc>, NormalizeError> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| NormalizeError::new(format!("Stripe `{field}` {secs} is not a valid time")))
}

fn date(secs: i64, field: &str) -> Result<NaiveDate, NormalizeError> {
    timestamp(secs, field).map(|t| t.date_naive())
}
