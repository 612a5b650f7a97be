//! QuickBooks Online webhooks: the `intuit-signature` check and both payload formats, the legacy
//! `eventNotifications` object and the CloudEvents array Intuit made mandatory in 2026.
//!
//! Confirmed in Intuit's own material: the signature is the base64 HMAC-SHA256 of the raw body
//! keyed with the app's verifier token as UTF-8 (QuickBooks V3 Java SDK
//! `WebhooksService.verifyPayload`, whose test vector is used below); the legacy sample and its
//! `lastUpdated` form `2015-10-05T14:42:19-0700` (developer.intuit.com, qbo/docs/develop/
//! webhooks/managing-webhooks-notifications); the CloudEvents attributes `specversion`, `id`,
//! `source`, `type`, `time`, `intuitentityid`, `intuitaccountid`, `data` (SDK class
//! `WebhooksCloudEvents`; blogs.intuit.com 2025-11-12 "Upcoming change to webhooks payload
//! structure") and the type shape `qbo.<entity>.<past-tense action>.v1`, seen there only as
//! `qbo.account.created.v1` and `qbo.class.created.v1`. The other action words (`updated`,
//! `deleted`, `voided`, `merged`, `emailed`) come from third-party integrations.

use chrono::{DateTime, NaiveDateTime, Utc};
use ledgerhook_shared::{EventDraft, EventType};
use serde::Deserialize;
use serde_json::Value;

use super::{
    signing, Keys, NormalizeError, Normalized, RawWebhook, Unverified, Verified, VerifyError,
};

const SIGNATURE_HEADER: &str = "intuit-signature";

pub(super) fn verify(raw: &RawWebhook<Unverified>, keys: &Keys<'_>) -> Result<(), VerifyError> {
    signing::verify_base64_body_hmac(raw, keys, SIGNATURE_HEADER)
}

pub(super) fn normalize(raw: &RawWebhook<Verified>) -> Result<Normalized, NormalizeError> {
    // The two formats are told apart by shape: CloudEvents deliveries are a top-level array.
    match serde_json::from_slice::<Value>(&raw.body)? {
        Value::Array(events) => cloud_events(events),
        Value::Object(mut body) => match body.remove("eventNotifications") {
            Some(notifications) => legacy(notifications),
            None => Err(NormalizeError::new(
                "a JSON object without `eventNotifications` is not a QuickBooks webhook",
            )),
        },
        _ => Err(NormalizeError::new(
            "expected a legacy `eventNotifications` object or a CloudEvents array",
        )),
    }
}

/// Each operation as legacy notifications spell it, and as CloudEvents types spell it.
const OPERATIONS: [(&str, &str); 6] = [
    ("Create", "created"),
    ("Update", "updated"),
    ("Delete", "deleted"),
    ("Void", "voided"),
    ("Merge", "merged"),
    ("Emailed", "emailed"),
];

/// The canonical event for a change, given the entity name and the legacy operation word, or
/// `None` for what ledgerhook does not sync. QuickBooks has no "invoice paid" event: a payment
/// arrives as Payment Create plus Invoice Update, and the worker's fetch shows the balance.
fn event_type(entity: &str, operation: &str) -> Option<EventType> {
    let operation = OPERATIONS
        .iter()
        .find(|(legacy, action)| legacy.eq_ignore_ascii_case(operation) || *action == operation)?
        .0;
    Some(match (entity.to_ascii_lowercase().as_str(), operation) {
        ("invoice", "Create") => EventType::InvoiceCreated,
        ("invoice", "Update") => EventType::InvoiceUpdated,
        ("invoice", "Void") => EventType::InvoiceVoided,
        ("invoice", "Delete") => EventType::InvoiceDeleted,
        ("payment", "Create") => EventType::PaymentSucceeded,
        // A merge reports the surviving customer's id, which is the one to upsert.
        ("customer", "Create" | "Update" | "Merge") => EventType::CustomerUpserted,
        ("refundreceipt", "Create") => EventType::PaymentRefunded,
        _ => return None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    realm_id: Option<String>,
    data_change_event: Option<DataChangeEvent>,
}

#[derive(Deserialize)]
struct DataChangeEvent {
    #[serde(default)]
    entities: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entity {
    name: Option<String>,
    id: Option<String>,
    operation: Option<String>,
    last_updated: Option<String>,
}

fn legacy(notifications: Value) -> Result<Normalized, NormalizeError> {
    let notifications: Vec<Value> = serde_json::from_value(notifications)
        .map_err(|_| NormalizeError::new("`eventNotifications` is not an array"))?;
    let mut out = Normalized::default();
    // Intuit sends one realm per notification today, but the format allows several.
    for (n, notification) in notifications.into_iter().enumerate() {
        let at = format!("eventNotifications[{n}]");
        let notification: Notification = from_value(notification, &at)?;
        let realm = required(notification.realm_id, &at, "realmId")?;
        let change = notification
            .data_change_event
            .ok_or_else(|| NormalizeError::new(format!("{at} has no `dataChangeEvent`")))?;
        for (e, entity) in change.entities.into_iter().enumerate() {
            let at = format!("{at}.dataChangeEvent.entities[{e}]");
            let entity: Entity = from_value(entity, &at)?;
            let name = word(required(entity.name, &at, "name")?, &at, "name")?;
            let id = required(entity.id, &at, "id")?;
            let operation = word(
                required(entity.operation, &at, "operation")?,
                &at,
                "operation",
            )?;
            let last_updated = required(entity.last_updated, &at, "lastUpdated")?;
            // A documented operation the mapping skips, or one Intuit adds later, is ignored
            // rather than refused: a 400 would make Intuit retry and hold back the realm's
            // later notifications.
            match event_type(&name, &operation) {
                Some(kind) => out.events.push(EventDraft {
                    kind,
                    subject: id.clone(),
                    occurred_at: Some(timestamp(&last_updated, &at, "lastUpdated")?),
                    // Legacy notifications carry no event id. Intuit's retries repeat the same
                    // entity, operation and lastUpdated; a later change has a later lastUpdated.
                    idempotency_key: format!("{realm}/{name}/{id}/{operation}/{last_updated}"),
                    data: None,
                }),
                None => out.ignored.push(format!("{name}.{operation}")),
            }
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct CloudEvent {
    specversion: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    time: Option<String>,
    intuitentityid: Option<String>,
    intuitaccountid: Option<String>,
}

fn cloud_events(events: Vec<Value>) -> Result<Normalized, NormalizeError> {
    let mut out = Normalized::default();
    for (i, event) in events.into_iter().enumerate() {
        let at = format!("event [{i}]");
        let event: CloudEvent = from_value(event, &at)?;
        let version = required(event.specversion, &at, "specversion")?;
        if version != "1.0" {
            return Err(NormalizeError::new(format!(
                "{at} has unsupported specversion `{version}`"
            )));
        }
        let id = required(event.id, &at, "id")?;
        let kind = required(event.kind, &at, "type")?;
        let account = required(event.intuitaccountid, &at, "intuitaccountid")?;
        let entity_id = required(event.intuitentityid, &at, "intuitentityid")?;
        let (entity, action) = split_type(&kind).ok_or_else(|| {
            NormalizeError::new(format!(
                "{at} has type `{kind}`, not qbo.<entity>.<action>.v<N>"
            ))
        })?;
        // The version suffix describes `data`, which thin handling never reads; the envelope
        // attributes used here are CloudEvents' own, so any version maps the same way.
        match event_type(entity, action) {
            Some(mapped) => out.events.push(EventDraft {
                kind: mapped,
                subject: entity_id,
                occurred_at: event.time.map(|t| timestamp(&t, &at, "time")).transpose()?,
                // CloudEvents ids are unique per source; the realm keeps two companies apart.
                idempotency_key: format!("{account}/{id}"),
                data: None,
            }),
            None => out.ignored.push(kind),
        }
    }
    Ok(out)
}

/// Splits `qbo.invoice.created.v1` into (`invoice`, `created`).
fn split_type(kind: &str) -> Option<(&str, &str)> {
    let mut parts = kind.split('.');
    let (prefix, entity, action, version) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let digits = version.strip_prefix('v')?;
    let well_formed = prefix == "qbo"
        && parts.next().is_none()
        && !entity.is_empty()
        && entity.bytes().all(|b| b.is_ascii_alphanumeric())
        && !action.is_empty()
        && action.bytes().all(|b| b.is_ascii_alphabetic())
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit());
    well_formed.then_some((entity, action))
}

fn from_value<T: serde::de::DeserializeOwned>(value: Value, at: &str) -> Result<T, NormalizeError> {
    serde_json::from_value(value).map_err(|e| NormalizeError::new(format!("{at}: {e}")))
}

fn required(value: Option<String>, at: &str, field: &str) -> Result<String, NormalizeError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| NormalizeError::new(format!("{at} has no `{field}`")))
}

/// Entity names and operations are single words; anything else is not Intuit's format.
fn word(value: String, at: &str, field: &str) -> Result<String, NormalizeError> {
    if value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(value)
    } else {
        Err(NormalizeError::new(format!(
            "{at} has `{field}` `{value}`, not a single word"
        )))
    }
}

/// Reads RFC 3339, Intuit's legacy `-0700` offsets without a colon, and zone-less times as UTC.
fn timestamp(value: &str, at: &str, field: &str) -> Result<DateTime<Utc>, NormalizeError> {
    DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| NormalizeError::new(format!("{at} has `{field}` `{value}`, not a timestamp")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use ledgerhook_shared::config::ProviderKind;
    use proptest::prelude::*;
    use secrecy::SecretString;

    use super::*;
    use base64::{engine::general_purpose::STANDARD, Engine as _};

    // The test vector of Intuit's QuickBooks V3 Java SDK,
    // ipp-v3-java-devkit/src/test/java/com/intuit/ipp/services/WebhooksServiceTest.java.
    const SDK_TOKEN: &str = "b5771f19b12ddb4bcdb9f08bdc50bc63878a";
    const SDK_SIGNATURE: &str = "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q=";
    const SDK_PAYLOAD: &str = concat!(
        r#"{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":[{"#,
        r#""name":"Customer","id":"1","operation":"Create","#,
        r#""lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}"#,
    );

    fn request(body: impl Into<Bytes>, signature: Option<&str>) -> RawWebhook<Unverified> {
        let headers = signature
            .map(|s| ("Intuit-Signature".to_owned(), s.to_owned()))
            .into_iter()
            .collect();
        let url = url::Url::parse("https://hooks.example.com/webhooks/acme/qbo").expect("url");
        RawWebhook::new("POST", url, headers, body.into())
    }

    fn keys(secrets: &[SecretString]) -> Keys<'_> {
        let (tolerance, now) = (Duration::from_secs(300), Utc::now());
        Keys {
            secrets,
            tolerance,
            now,
        }
    }

    fn check(raw: &RawWebhook<Unverified>, secrets: &[&str]) -> Result<(), VerifyError> {
        let secrets: Vec<SecretString> = secrets.iter().map(|s| SecretString::from(*s)).collect();
        verify(raw, &keys(&secrets))
    }

    fn sign(secret: &str, body: &[u8]) -> String {
        STANDARD.encode(signing::hmac_sha256(secret.as_bytes(), &[body]))
    }

    fn normalized(body: impl AsRef<[u8]>) -> Result<Normalized, NormalizeError> {
        let body = body.as_ref();
        let secrets = [SecretString::from("token")];
        let raw = request(body.to_vec(), Some(&sign("token", body)));
        raw.verify(ProviderKind::Quickbooks, &keys(&secrets))
            .expect("verifies")
            .normalize(ProviderKind::Quickbooks)
    }

    #[test]
    fn sdk_test_vector_verifies_and_normalizes() {
        let raw = request(SDK_PAYLOAD, Some(SDK_SIGNATURE));
        assert_eq!(check(&raw, &[SDK_TOKEN]), Ok(()));
        let got = serde_json::to_value(normalized(SDK_PAYLOAD).expect("normalizes")).expect("json");
        let want = serde_json::json!({"events": [{"type": "customer.upserted", "subject": "1",
            "occurred_at": "2015-10-05T21:42:19Z",
            "idempotency_key": "1185883450/Customer/1/Create/2015-10-05T14:42:19-0700"}],
            "ignored": [], "handshake": false});
        assert_eq!(got, want);
    }

    #[test]
    fn any_changed_body_byte_is_a_mismatch() {
        for i in 0..SDK_PAYLOAD.len() {
            let mut body = SDK_PAYLOAD.as_bytes().to_vec();
            body[i] ^= 0x01;
            let got = check(&request(body, Some(SDK_SIGNATURE)), &[SDK_TOKEN]);
            assert_eq!(got, Err(VerifyError::Mismatch), "byte {i}");
        }
    }

    #[test]
    fn wrong_secret_missing_header_and_bad_base64_are_refused() {
        let malformed = |reason| VerifyError::Malformed {
            header: SIGNATURE_HEADER,
            reason,
        };
        for (signature, secret, want) in [
            (Some(SDK_SIGNATURE), "another-token", VerifyError::Mismatch),
            (
                None,
                SDK_TOKEN,
                VerifyError::MissingHeader("intuit-signature"),
            ),
            // The SDK test also expects "1234" to fail: it decodes, but to no SHA-256 digest.
            (Some("1234"), SDK_TOKEN, malformed("not a SHA-256 digest")),
            (Some("not*base64!"), SDK_TOKEN, malformed("not base64")),
        ] {
            let got = check(&request(SDK_PAYLOAD, signature), &[secret]);
            assert_eq!(got, Err(want), "{signature:?}");
        }
    }

    #[test]
    fn either_secret_verifies_while_one_rotates() {
        let rotating = ["old-verifier-token", "new-verifier-token"];
        for secret in rotating {
            let raw = request(SDK_PAYLOAD, Some(&sign(secret, SDK_PAYLOAD.as_bytes())));
            assert_eq!(check(&raw, &rotating), Ok(()), "{secret}");
        }
        let retired = sign("retired-token", SDK_PAYLOAD.as_bytes());
        let got = check(&request(SDK_PAYLOAD, Some(&retired)), &rotating);
        assert_eq!(got, Err(VerifyError::Mismatch));
    }

    #[test]
    fn bad_shapes_are_clear_errors() {
        // Longer bad bodies are fixtures: tests/fixtures/quickbooks/malformed*.
        for (body, fragment) in [
            (r#"{"eventNotifications":{}}"#, "not an array"),
            ("[42]", "event [0]"),
            ("\"text\"", "expected a legacy"),
            ("not json", "not the expected JSON"),
        ] {
            let err = normalized(body).expect_err(body);
            assert!(err.0.contains(fragment), "{body}: {err}");
        }
    }

    proptest! {
        #[test]
        fn flipping_any_body_byte_never_verifies(
            body in proptest::collection::vec(any::<u8>(), 1..256),
            pick in any::<prop::sample::Index>(),
            mask in 1u8..,
        ) {
            let signature = sign("token", &body);
            let mut changed = body.clone();
            changed[pick.index(body.len())] ^= mask;
            let got = check(&request(changed, Some(&signature)), &["token"]);
            prop_assert_eq!(got, Err(VerifyError::Mismatch));
        }

        #[test]
        fn normalize_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = normalized(&body);
        }

        // Arbitrary bytes rarely get past the JSON parser, so these keep the shape and vary
        // the values the mapping and the timestamp parser look at.
        #[test]
        fn normalize_never_panics_on_near_miss_json(
            realm in ".{0,6}", name in "[A-Za-z. ]{0,12}", id in ".{0,6}", op in "[A-Za-z ]{0,8}",
            when in "[0-9TZ:.+-]{0,26}", kind in "(qbo\\.)?[a-z]{0,8}\\.[a-z]{0,8}(\\.v[0-9])?",
        ) {
            let legacy = serde_json::json!({"eventNotifications": [{"realmId": realm,
                "dataChangeEvent": {"entities": [{"name": name, "id": id, "operation": op,
                "lastUpdated": when}]}}]});
            let cloud = serde_json::json!([{"specversion": "1.0", "id": id, "type": kind,
                "time": when, "intuitentityid": id, "intuitaccountid": realm}]);
            let _ = normalized(legacy.to_string());
            let _ = normalized(cloud.to_string());
        }
    }
}
