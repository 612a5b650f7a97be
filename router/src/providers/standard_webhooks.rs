//! Standard Webhooks (and Svix, which signs the same way under `svix-*` header names): signature
//! verification, and canonical events sent in the Standard Webhooks payload shape.
//!
//! A sender that signs this way (a Salesforce Flow callout, an internal system) speaks
//! ledgerhook's own vocabulary: `{"type": "invoice.paid", "timestamp": ..., "data": <canonical
//! object>}`. So normalizing is checking, not mapping.

#[cfg(test)]
mod tests;

use base64::{
    alphabet,
    engine::{general_purpose::STANDARD, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine,
};
use chrono::{DateTime, Utc};
use ledgerhook_shared::{model::CanonicalObject, EventDraft, EventType};
use serde::Deserialize;
use serde_json::Value;

use super::{
    signing::{constant_time_eq, hmac_sha256},
    Keys, NormalizeError, Normalized, RawWebhook, Unverified, Verified, VerifyError,
};

/// The three headers, each with its Standard Webhooks name first and its Svix alias second.
const ID: [&str; 2] = ["webhook-id", "svix-id"];
const TIMESTAMP: [&str; 2] = ["webhook-timestamp", "svix-timestamp"];
const SIGNATURE: [&str; 2] = ["webhook-signature", "svix-signature"];

/// Secrets are base64, and senders differ on padding, so both padded and unpadded forms decode.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn header<'a, S>(raw: &'a RawWebhook<S>, names: [&'static str; 2]) -> Result<&'a str, VerifyError> {
    names
        .iter()
        .find_map(|name| raw.header(name))
        .ok_or(VerifyError::MissingHeader(names[0]))
}

/// Accepts the webhook if any `v1` signature matches any configured secret, then checks the time.
pub(super) fn verify(raw: &RawWebhook<Unverified>, keys: &Keys<'_>) -> Result<(), VerifyError> {
    let id = header(raw, ID)?;
    let timestamp_text = header(raw, TIMESTAMP)?;
    let signatures = header(raw, SIGNATURE)?;
    let timestamp: i64 = timestamp_text
        .trim()
        .parse()
        .map_err(|_| VerifyError::Malformed {
            header: TIMESTAMP[0],
            reason: "not an integer unix timestamp",
        })?;
    // Other versions (v1a is ed25519) are skipped; a v1 that is not base64 can match nothing.
    let v1: Vec<Vec<u8>> = signatures
        .split_ascii_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok())
        .collect();
    if v1.is_empty() {
        return Err(VerifyError::Malformed {
            header: SIGNATURE[0],
            reason: "no v1 signature",
        });
    }
    // The official libraries sign the timestamp's integer rendering, so a padded one still verifies.
    let prefix = format!("{id}.{timestamp}.");
    let matched = keys.each().filter_map(decode_secret).any(|secret| {
        let expected = hmac_sha256(&secret, &[prefix.as_bytes(), &raw.body]);
        v1.iter().any(|sig| constant_time_eq(&expected, sig))
    });
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    // Checked after the signature, so only an authentic request learns it is out of time.
    keys.check_timestamp(timestamp)
}

/// Endpoint verification, as the reference libraries implement it (`endpoint_verification_response`):
/// a request carrying `webhook-challenge` is answered with `webhook-challenge-response:
/// v1,<base64 HMAC(HMAC(secret, "wev-v1"), challenge)>`, which proves the endpoint holds the
/// secret without revealing it. While a secret rotates, the newest (last configured) answers.
pub(super) fn challenge(
    raw: &RawWebhook<Unverified>,
    keys: &Keys<'_>,
) -> Option<Vec<(String, String)>> {
    let challenge = raw.header("webhook-challenge")?;
    let secret = keys.each().filter_map(decode_secret).last()?;
    let verification_key = hmac_sha256(&secret, &[b"wev-v1"]);
    let response = hmac_sha256(&verification_key, &[challenge.as_bytes()]);
    Some(vec![(
        "webhook-challenge-response".to_owned(),
        format!("v1,{}", STANDARD.encode(response)),
    )])
}

/// `whsec_<base64>` (or bare base64) to key bytes. A secret that does not decode, or decodes to
/// nothing, can verify nothing: it is skipped, and never echoed anywhere.
fn decode_secret(secret: &[u8]) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(b"whsec_").unwrap_or(secret);
    SECRET_BASE64
        .decode(encoded)
        .ok()
        .filter(|key| !key.is_empty())
}

/// The Standard Webhooks payload shape; `data` is checked against the type below.
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    timestamp: Option<String>,
    data: Option<Value>,
}

/// Checks a canonical event in the Standard Webhooks shape and passes it on as a draft.
pub(super) fn normalize(raw: &RawWebhook<Verified>) -> Result<Normalized, NormalizeError> {
    let payload: Payload = serde_json::from_slice(&raw.body).map_err(|e| {
        NormalizeError::new(format!("body is not a Standard Webhooks payload: {e}"))
    })?;
    let Some(kind) = EventType::parse(&payload.kind) else {
        return Ok(Normalized {
            ignored: vec![payload.kind],
            ..Normalized::default()
        });
    };
    let occurred_at = payload
        .timestamp
        .as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| NormalizeError::new(format!("timestamp `{t}` is not RFC 3339: {e}")))
        })
        .transpose()?;
    let data = payload
        .data
        .ok_or_else(|| NormalizeError::new(format!("{kind} has no data")))?;
    let object = CanonicalObject::deserialize(data)
        .map_err(|e| NormalizeError::new(format!("{kind} data is not a canonical object: {e}")))?;
    let subject = match (entity(kind), &object) {
        ("customer", CanonicalObject::Customer(c)) => c.id.clone(),
        ("invoice", CanonicalObject::Invoice(i)) => i.id.clone(),
        ("payment", CanonicalObject::Payment(p)) => p.id.clone(),
        ("refund", CanonicalObject::Refund(r)) => r.id.clone(),
        (want, _) => {
            return Err(NormalizeError::new(format!(
                "{kind} needs data of object `{want}`, got `{}`",
                object_name(&object)
            )))
        }
    };
    // Verify accepted this header, so it is present; the error only guards a future caller.
    let id = header(raw, ID).map_err(|_| NormalizeError::new("webhook-id header is missing"))?;
    Ok(Normalized {
        events: vec![EventDraft {
            kind,
            subject,
            occurred_at,
            idempotency_key: id.to_owned(),
            data: Some(object),
        }],
        ..Normalized::default()
    })
}

/// The canonical object an event type carries.
fn entity(kind: EventType) -> &'static str {
    match kind {
        EventType::CustomerUpserted => "customer",
        EventType::InvoiceCreated
        | EventType::InvoiceUpdated
        | EventType::InvoicePaid
        | EventType::InvoiceVoided
        | EventType::InvoiceDeleted
        | EventType::InvoicePaymentFailed => "invoice",
        EventType::PaymentSucceeded | EventType::PaymentFailed => "payment",
        EventType::PaymentRefunded => "refund",
    }
}

fn object_name(object: &CanonicalObject) -> &'static str {
    match object {
        CanonicalObject::Customer(_) => "customer",
        CanonicalObject::Invoice(_) => "invoice",
        CanonicalObject::Payment(_) => "payment",
        CanonicalObject::Refund(_) => "refund",
    }
}
