//! HubSpot webhooks: the v3 signature (HMAC-SHA256 over method, URI, body and a millisecond
//! timestamp), the older v2 and v1 plain SHA-256 signatures, and the thin batches of CRM
//! notifications they carry.
//!
//! Sources: developers.hubspot.com/docs/api/webhooks/validating-requests (signatures),
//! developers.hubspot.com/docs/api/webhooks (payload fields) and
//! developers.hubspot.com/docs/guides/crm/using-object-apis (object type ids).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{TimeZone, Utc};
use ledgerhook_shared::{EventDraft, EventType};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    signing::{constant_time_eq, hmac_sha256, sha256},
    Keys, NormalizeError, Normalized, RawWebhook, Unverified, Verified, VerifyError,
};

const SIGNATURE_V3: &str = "X-HubSpot-Signature-v3";
const TIMESTAMP: &str = "X-HubSpot-Request-Timestamp";
const SIGNATURE: &str = "X-HubSpot-Signature";
const VERSION: &str = "X-HubSpot-Signature-Version";

/// Object type ids of generic (`object.*`) notifications, from HubSpot's object table:
/// contacts `0-1`, companies `0-2`, invoices `0-53`.
const CONTACT: &str = "0-1";
const COMPANY: &str = "0-2";
const INVOICE: &str = "0-53";

pub(super) fn verify(raw: &RawWebhook<Unverified>, keys: &Keys<'_>) -> Result<(), VerifyError> {
    // HubSpot sends the older signatures beside v3 for compatibility. When v3 is there it alone
    // decides: a failing v3 never falls back to the weaker, timestamp-less versions.
    if let Some(signature) = raw.header(SIGNATURE_V3) {
        return verify_v3(raw, keys, signature.trim());
    }
    let version = raw.header(VERSION).map(|v| v.trim().to_ascii_lowercase());
    // Without a version header HubSpot's own SDK assumes v1, the CRM subscription default.
    let with_request = match version.as_deref() {
        None | Some("v1") => false,
        Some("v2") => true,
        Some("v3") => return Err(VerifyError::MissingHeader(SIGNATURE_V3)),
        Some(_) => return Err(malformed(VERSION, "unknown signature version")),
    };
    // With nothing declared, name the header a sender should add: the v3 one.
    let absent = VerifyError::MissingHeader(version.as_ref().map_or(SIGNATURE_V3, |_| SIGNATURE));
    let signature = raw.header(SIGNATURE).ok_or(absent)?;
    let expected = hex::decode(signature.trim()).ok().filter(|d| d.len() == 32);
    let expected = expected.ok_or(malformed(SIGNATURE, "not the hex of a SHA-256 digest"))?;
    let (method, body) = (raw.method.as_bytes(), &raw.body[..]);
    // v2 covers the URI exactly as called: HubSpot documents no decoding for it, unlike v3.
    let uri = raw.url.as_str().as_bytes();
    any_secret(keys, &expected, |secret| match with_request {
        true => sha256(&[secret, method, uri, body]),
        false => sha256(&[secret, body]),
    })
}

fn verify_v3(raw: &RawWebhook<Unverified>, keys: &Keys<'_>, sig: &str) -> Result<(), VerifyError> {
    let missing = VerifyError::MissingHeader(TIMESTAMP);
    // The header's text is what HubSpot signed; it is parsed only to check the clock.
    let timestamp = raw.header(TIMESTAMP).ok_or(missing)?.trim();
    let millis: i64 = timestamp
        .parse()
        .map_err(|_| malformed(TIMESTAMP, "not a whole number of milliseconds"))?;
    // HubSpot rejects signatures older than five minutes; the source's tolerance (300 s unless
    // configured) applies that window both ways, so a far-future timestamp is refused too.
    keys.check_timestamp(millis.div_euclid(1000))?;
    let expected = STANDARD.decode(sig).ok().filter(|d| d.len() == 32);
    let expected = expected.ok_or(malformed(SIGNATURE_V3, "not the base64 of an HMAC-SHA256"))?;
    let uri = decode_reserved(raw.url.as_str());
    let parts: [&[u8]; 4] = [raw.method.as_bytes(), &uri, &raw.body, timestamp.as_bytes()];
    any_secret(keys, &expected, |secret| hmac_sha256(secret, &parts))
}

fn malformed(header: &'static str, reason: &'static str) -> VerifyError {
    VerifyError::Malformed { header, reason }
}

/// Accepts when the digest under any configured secret equals `expected`, compared in constant
/// time, so a secret can rotate with both the old and the new one configured.
fn any_secret(
    keys: &Keys<'_>,
    expected: &[u8],
    digest: impl Fn(&[u8]) -> [u8; 32],
) -> Result<(), VerifyError> {
    let matches = keys
        .each()
        .any(|key| constant_time_eq(&digest(key), expected));
    matches.then_some(()).ok_or(VerifyError::Mismatch)
}

/// HubSpot signs v3 over the URI with these reserved characters unescaped, so the percent
/// encodings listed in its docs (`%3A` `%2F` `%3F` `%40` `%21` `%24` `%27` `%28` `%29` `%2A`
/// `%2C` `%3B`) are decoded, and nothing else. One pass, so `%253A` stays as it is; hex case is
/// not significant in percent-encoding (RFC 3986 2.1), so `%3a` is decoded too.
fn decode_reserved(uri: &str) -> Vec<u8> {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = bytes
            .get(i + 1..i + 3)
            .filter(|hex| bytes[i] == b'%' && hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok())
            .filter(|c| b":/?@!$'()*,;".contains(c));
        out.push(decoded.unwrap_or(bytes[i]));
        i += if decoded.is_some() { 3 } else { 1 };
    }
    out
}

pub(super) fn normalize(raw: &RawWebhook<Verified>) -> Result<Normalized, NormalizeError> {
    let not_array =
        |e| NormalizeError::new(format!("HubSpot body is not a JSON array of events: {e}"));
    let items: Vec<Value> = serde_json::from_slice(&raw.body).map_err(not_array)?;
    let mut normalized = Normalized::default();
    for (index, item) in items.iter().enumerate() {
        let bad = |what: String| NormalizeError::new(format!("HubSpot event [{index}]{what}"));
        let event = item
            .as_object()
            .ok_or_else(|| bad(" is not a JSON object".into()))?;
        // HubSpot's older documentation names the type `eventType`.
        let kind = match field::<&str>(event, "subscriptionType").map_err(bad)? {
            Some(kind) => Some(kind),
            None => field::<&str>(event, "eventType").map_err(bad)?,
        };
        let kind = kind.ok_or_else(|| bad(" has no subscriptionType".into()))?;
        let type_id = field::<&str>(event, "objectTypeId").map_err(bad)?;
        match mapping(kind, type_id) {
            Some((event_type, entity)) => {
                let bad = |what: String| bad(format!(" ({kind}){what}"));
                normalized
                    .events
                    .push(draft(event, event_type, entity, &bad)?);
            }
            // Generic types say little without their object: `object.creation:0-3` is a deal.
            None => normalized.ignored.push(match type_id {
                Some(type_id) if kind.starts_with("object.") => format!("{kind}:{type_id}"),
                _ => kind.to_owned(),
            }),
        }
    }
    Ok(normalized)
}

/// Reads one field of a notification, so that an error names it; absent and `null` are `None`.
/// Only the fields a mapping needs are read: the rest (`attemptNumber`, `propertyValue`, merge
/// and association details) do not matter, since the worker fetches the object's current state.
fn field<'a, T: Deserialize<'a>>(
    event: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<T>, String> {
    match event.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|e| format!(": `{name}`: {e}")),
    }
}

/// What a notification means for ledgerhook: the canonical type, and for customers the HubSpot
/// object it is (`contact` or `company`). `None` means not synced: deals, tickets, merges,
/// restores, association changes, privacy deletions, and contact or company deletions, which
/// the canonical vocabulary has no event for.
fn mapping(kind: &str, object_type_id: Option<&str>) -> Option<(EventType, Option<&'static str>)> {
    let (object, action) = kind.split_once('.')?;
    // Classic subscriptions name the object (`contact.creation`); generic ones say `object.*`
    // and carry `objectTypeId`. Invoices only exist as generic subscriptions.
    let object = match (object, object_type_id) {
        ("contact", _) | ("object", Some(CONTACT)) => "contact",
        ("company", _) | ("object", Some(COMPANY)) => "company",
        ("object", Some(INVOICE)) => "invoice",
        _ => return None,
    };
    let event_type = match (object, action) {
        ("invoice", "creation") => EventType::InvoiceCreated,
        // A change of any subscribed property, hs_invoice_status included, is an update: the
        // notification carries one property, and the worker fetches the whole current invoice.
        ("invoice", "propertyChange") => EventType::InvoiceUpdated,
        ("invoice", "deletion") => EventType::InvoiceDeleted,
        (_, "creation" | "propertyChange") => EventType::CustomerUpserted,
        _ => return None,
    };
    Some((event_type, (object != "invoice").then_some(object)))
}

fn draft(
    event: &Map<String, Value>,
    event_type: EventType,
    entity: Option<&str>,
    bad: &dyn Fn(String) -> NormalizeError,
) -> Result<EventDraft, NormalizeError> {
    // Every documented payload carries these ids as JSON integers.
    let number = |name: &str| -> Result<u64, NormalizeError> {
        field(event, name)
            .map_err(bad)?
            .ok_or_else(|| bad(format!(" has no {name}")))
    };
    let object_id = number("objectId")?;
    let (event_id, subscription_id) = (number("eventId")?, number("subscriptionId")?);
    let (portal_id, occurred_ms) = (number("portalId")?, number("occurredAt")?);
    let occurred_at = i64::try_from(occurred_ms)
        .ok()
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    let occurred_at =
        occurred_at.ok_or_else(|| bad(format!(": occurredAt {occurred_ms} is out of range")))?;
    // Invoices keep HubSpot's bare id, the one the CRM API and the link table use. Contacts and
    // companies are both customers but live in separate id spaces fetched from separate APIs,
    // so their subject says which object it is: `contact/151`, `company/6200`.
    let subject = match entity {
        Some(entity) => format!("{entity}/{object_id}"),
        None => object_id.to_string(),
    };
    // eventId alone is not unique. These five identify one change; attemptNumber is left out so
    // that HubSpot's retries of the same notification map to the same key.
    let idempotency_key =
        format!("{portal_id}:{subscription_id}:{event_id}:{object_id}:{occurred_ms}");
    Ok(EventDraft {
        kind: event_type,
        subject,
        occurred_at: Some(occurred_at),
        idempotency_key,
        data: None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use ledgerhook_shared::config::ProviderKind;
    use proptest::prelude::*;
    use secrecy::SecretString;

    use super::*;

    // HubSpot's documented examples (validating-requests page; also @hubspot/api-client's tests).
    const DOC_SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const DOC_V1_BODY: &str = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;
    const DOC_V1: &str = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de";
    const DOC_URI: &str = "https://www.example.com/webhook_uri";
    const DOC_V2_BODY: &str = r#"{"example_field":"example_value"}"#;
    const DOC_V2: &str = "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900";
    const DOC_V2_GET: &str = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e";

    const URL: &str = "https://hooks.example.com/webhooks/acme/hubspot";
    const BODY: &str = r#"[{"eventId":7,"subscriptionId":2101,"portalId":62515,"occurredAt":1700000000000,"subscriptionType":"object.creation","attemptNumber":0,"objectId":395412,"objectTypeId":"0-53"}]"#;
    const MILLIS: i64 = 1_700_000_000_000;
    const TS: &str = "1700000000000";
    /// `Signature.getSignature('POST', 'v3', { clientSecret: DOC_SECRET, requestBody: BODY,
    /// url: URL, timestamp: MILLIS })` from @hubspot/api-client 13.5.0 (npm).
    const SDK_V3: &str = "yLMJaSbbLkEvVn0Ye+pROcUmCa1mt4bElSyl/aauNOc=";
    /// The same call with `url: URL + "?account=eu:1@x&note=(a,b)"`: HubSpot signs the URI
    /// with those characters decoded, though the request carries them percent-encoded.
    const SDK_V3_QUERY: &str = "lW47Xx107K52MdIh4j+wet0K+acfUmf374mE7f8ovjc=";
    const MISMATCH: Result<(), VerifyError> = Err(VerifyError::Mismatch);

    type Raw = RawWebhook<Unverified>;

    fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let url = url::Url::parse(url).expect("url");
        RawWebhook::new(method, url, headers.collect(), Bytes::copy_from_slice(body))
    }

    fn post(url: &str, headers: &[(&str, &str)], body: &str) -> Raw {
        request("POST", url, headers, body.as_bytes())
    }

    fn v3(url: &str, signature: &str, body: &str) -> Raw {
        post(url, &[(SIGNATURE_V3, signature), (TIMESTAMP, TS)], body)
    }

    fn keys(secrets: &[SecretString], now_ms: i64) -> Keys<'_> {
        let now = Utc.timestamp_millis_opt(now_ms).single().expect("now");
        let tolerance = Duration::from_secs(300);
        Keys {
            secrets,
            tolerance,
            now,
        }
    }

    fn check(raw: &Raw, secrets: &[&str], now_ms: i64) -> Result<(), VerifyError> {
        let secrets: Vec<SecretString> = secrets.iter().map(|s| SecretString::from(*s)).collect();
        verify(raw, &keys(&secrets, now_ms))
    }

    #[test]
    fn documented_v1_and_v2_examples_verify() {
        let v1 = post(URL, &[(SIGNATURE, DOC_V1), (VERSION, "v1")], DOC_V1_BODY);
        assert_eq!(check(&v1, &[DOC_SECRET], 0), Ok(()));
        // No version header means v1; hex case does not matter.
        let v1 = post(URL, &[(SIGNATURE, &DOC_V1.to_uppercase())], DOC_V1_BODY);
        assert_eq!(check(&v1, &[DOC_SECRET], 0), Ok(()));
        let v2 = [(SIGNATURE, DOC_V2), (VERSION, "v2")];
        assert_eq!(
            check(&post(DOC_URI, &v2, DOC_V2_BODY), &[DOC_SECRET], 0),
            Ok(())
        );
        let get = request(
            "GET",
            DOC_URI,
            &[(SIGNATURE, DOC_V2_GET), (VERSION, "v2")],
            b"",
        );
        assert_eq!(check(&get, &[DOC_SECRET], 0), Ok(()));
        // v2 covers the URI, query string included.
        let moved = post(&format!("{DOC_URI}?a=1"), &v2, DOC_V2_BODY);
        assert_eq!(check(&moved, &[DOC_SECRET], 0), MISMATCH);
    }

    #[test]
    fn sdk_v3_vectors_verify_within_tolerance_only() {
        let raw = v3(URL, SDK_V3, BODY);
        assert_eq!(check(&raw, &[DOC_SECRET], MILLIS + 1_000), Ok(()));
        let stale = Err(VerifyError::Stale { age_secs: 301 });
        assert_eq!(check(&raw, &[DOC_SECRET], MILLIS + 301_000), stale);
        let future = Err(VerifyError::Future { ahead_secs: 301 });
        assert_eq!(check(&raw, &[DOC_SECRET], MILLIS - 301_000), future);
        let encoded = ["eu%3A1%40x&note=%28a%2Cb%29", "eu%3a1%40x&note=(a,b)"];
        for query in encoded {
            let raw = v3(&format!("{URL}?account={query}"), SDK_V3_QUERY, BODY);
            assert_eq!(check(&raw, &[DOC_SECRET], MILLIS), Ok(()), "{query}");
        }
        // The query string is signed: a changed, dropped or added query does not verify.
        let changed = format!("{URL}?account=eu%3A2%40x&note=%28a%2Cb%29");
        let added = format!("{URL}?x=1");
        for (url, sig) in [
            (&changed[..], SDK_V3_QUERY),
            (URL, SDK_V3_QUERY),
            (&added, SDK_V3),
        ] {
            assert_eq!(check(&v3(url, sig, BODY), &[DOC_SECRET], MILLIS), MISMATCH);
        }
    }

    #[test]
    fn tampering_wrong_secrets_and_rotation() {
        let tampered = v3(URL, SDK_V3, &BODY.replace("395412", "395413"));
        assert_eq!(check(&tampered, &[DOC_SECRET], MILLIS), MISMATCH);
        let raw = v3(URL, SDK_V3, BODY);
        assert_eq!(check(&raw, &["old"], MILLIS), MISMATCH);
        assert_eq!(check(&raw, &["old", DOC_SECRET], MILLIS), Ok(()));
        assert_eq!(check(&raw, &[DOC_SECRET, "new"], MILLIS), Ok(()));
        let v1 = post(URL, &[(SIGNATURE, DOC_V1)], DOC_V1_BODY);
        assert_eq!(check(&v1, &["old", DOC_SECRET], 0), Ok(()));
        assert_eq!(check(&v1, &["old"], 0), MISMATCH);
        // A present v3 decides alone: a valid v1 beside a wrong v3 does not rescue it.
        let zero = STANDARD.encode([0u8; 32]);
        let both = [
            (SIGNATURE_V3, &zero[..]),
            (TIMESTAMP, TS),
            (SIGNATURE, DOC_V1),
        ];
        assert_eq!(
            check(&post(URL, &both, DOC_V1_BODY), &[DOC_SECRET], MILLIS),
            MISMATCH
        );
    }

    #[test]
    fn missing_and_malformed_headers() {
        let run = |headers: &[(&str, &str)]| check(&post(URL, headers, "[]"), &["s"], MILLIS);
        let missing = |header| Err(VerifyError::MissingHeader(header));
        assert_eq!(run(&[]), missing(SIGNATURE_V3));
        assert_eq!(run(&[(SIGNATURE_V3, SDK_V3)]), missing(TIMESTAMP));
        assert_eq!(run(&[(VERSION, "v2")]), missing(SIGNATURE));
        assert_eq!(run(&[(VERSION, "v3")]), missing(SIGNATURE_V3));
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[(SIGNATURE_V3, SDK_V3), (TIMESTAMP, "soon")], TIMESTAMP),
            (
                &[(SIGNATURE_V3, "not base64!"), (TIMESTAMP, TS)],
                SIGNATURE_V3,
            ),
            (&[(SIGNATURE_V3, "c2hvcnQ="), (TIMESTAMP, TS)], SIGNATURE_V3),
            (&[(SIGNATURE, "zz")], SIGNATURE),
            (&[(SIGNATURE, "abcd"), (VERSION, "v2")], SIGNATURE),
            (&[(SIGNATURE, DOC_V1), (VERSION, "v9")], VERSION),
        ];
        for (headers, bad) in cases {
            let result = run(headers);
            let header =
                matches!(result, Err(VerifyError::Malformed { header, .. }) if header == bad);
            assert!(header, "{headers:?}: {result:?}");
        }
    }

    #[test]
    fn only_the_listed_encodings_are_decoded_once() {
        let decoded = decode_reserved("https://h.example/p%2Fq?a=%3A%3a%253A%20%7E%2%");
        assert_eq!(decoded, b"https://h.example/p/q?a=::%253A%20%7E%2%");
    }

    /// Verifies `body` through the public path with a v1 signature, as the router does.
    fn normalized(body: &[u8]) -> Result<Normalized, NormalizeError> {
        let signature = hex::encode(sha256(&[b"s", body]));
        let raw = request("POST", URL, &[(SIGNATURE, &signature)], body);
        let secrets = [SecretString::from("s")];
        let verified = raw.verify(ProviderKind::Hubspot, &keys(&secrets, MILLIS));
        verified.expect("verifies").normalize(ProviderKind::Hubspot)
    }

    #[test]
    fn idempotency_key_survives_retries_and_separates_changes() {
        let key = |attempt: u32, object: u64, at: i64| {
            let body = format!(
                r#"[{{"eventId":9,"subscriptionId":8,"portalId":7,"occurredAt":{at},"subscriptionType":"contact.creation","attemptNumber":{attempt},"objectId":{object}}}]"#
            );
            let normalized = normalized(body.as_bytes()).expect("normalizes");
            normalized.events[0].idempotency_key.clone()
        };
        assert_eq!(key(0, 5, MILLIS), "7:8:9:5:1700000000000");
        assert_eq!(key(3, 5, MILLIS), key(0, 5, MILLIS));
        assert_ne!(key(0, 6, MILLIS), key(0, 5, MILLIS));
        assert_ne!(key(0, 5, MILLIS + 1), key(0, 5, MILLIS));
    }

    proptest! {
        #[test]
        fn flipping_any_body_byte_never_verifies(index in 0..BODY.len(), bit in 0u8..8) {
            let mut body = BODY.as_bytes().to_vec();
            body[index] ^= 1 << bit;
            let raw = request("POST", URL, &[(SIGNATURE_V3, SDK_V3), (TIMESTAMP, TS)], &body);
            prop_assert_eq!(check(&raw, &[DOC_SECRET], MILLIS), MISMATCH);
            let v1 = hex::encode(sha256(&[DOC_SECRET.as_bytes(), BODY.as_bytes()]));
            let raw = request("POST", URL, &[(SIGNATURE, &v1)], &body);
            prop_assert_eq!(check(&raw, &[DOC_SECRET], 0), MISMATCH);
        }

        #[test]
        fn normalize_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = normalized(&body);
        }

        #[test]
        fn normalize_never_panics_on_notification_like_json(
            kind in "(object|contact|company|deal)\\.(creation|propertyChange|deletion|merge)",
            type_id in proptest::option::of("0-(1|2|3|53)"),
            object_id in proptest::option::of(any::<u64>()),
            occurred in any::<i64>(),
        ) {
            let body = serde_json::json!([{ "subscriptionType": kind, "objectTypeId": type_id,
                "objectId": object_id, "eventId": 1, "subscriptionId": 2, "portalId": 3,
                "occurredAt": occurred }]);
            let _ = normalized(body.to_string().as_bytes());
        }
    }
}
