//! Standard Webhooks verification against the spec's published vector and vectors made with the
//! official library, and the error paths of normalization (mappings: tests/fixtures).

use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use ledgerhook_shared::config::ProviderKind;
use proptest::prelude::*;
use secrecy::SecretString;

use super::{normalize, verify};
use crate::providers::{Keys, NormalizeError, Normalized, RawWebhook, Unverified, VerifyError};

// The published vector (standard-webhooks spec and its libraries' tests).
const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SPEC_TS: i64 = 1_614_265_330;
const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
const SPEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// Generated with the official library, standardwebhooks 1.3.0 (PyPI):
//   Webhook(<secret>).sign(ID, datetime.fromtimestamp(1764800000, tz=timezone.utc), BODY)
// once with OLD_SECRET (SIG_OLD) and once with NEW_SECRET (SIG_NEW).
const OLD_SECRET: &str = "whsec_3k9KI/t9cvEgIqM6o4DHO4I7PlqMxSYjEPVq+kulbDs=";
const NEW_SECRET: &str = "whsec_Kpl4EUAWG4TNLZQ1q9/c/yij3A/WuTSs";
const ID: &str = "msg_2pQ7xVbN3kLm9RtYw4ZaHc8Ej1";
const TS: i64 = 1_764_800_000;
const BODY: &str = r#"{"type":"customer.upserted","timestamp":"2025-12-03T22:13:05Z","data":{"object":"customer","id":"cus_v1"}}"#;
const SIG_OLD: &str = "v1,EoF1PVVxrRnGqkp3uW+iJ2bpqUVOWss7dMfejJkqxJc=";
const SIG_NEW: &str = "v1,RW/d7UkCGdeJS1A/UEtqzJv5t8Ojtogl5FbT9cKzqXg=";

fn request(headers: &[(&str, &str)], body: &[u8]) -> RawWebhook<Unverified> {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let url = url::Url::parse("https://hooks.example.com/webhooks/acme/flow").expect("url");
    RawWebhook::new("POST", url, headers, Bytes::copy_from_slice(body))
}

fn standard(id: &str, ts: &str, sig: &str) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", id.into()),
        ("webhook-timestamp", ts.into()),
        ("webhook-signature", sig.into()),
    ]
}

fn check(
    headers: &[(&str, String)],
    body: &[u8],
    with: &[&str],
    now: i64,
) -> Result<(), VerifyError> {
    let secrets: Vec<SecretString> = with
        .iter()
        .map(|s| SecretString::from(s.to_string()))
        .collect();
    let keys = Keys {
        secrets: &secrets,
        tolerance: Duration::from_secs(300),
        now: Utc.timestamp_opt(now, 0).single().expect("now"),
    };
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    verify(&request(&headers, body), &keys)
}

fn ours(sig: &str) -> Vec<(&'static str, String)> {
    standard(ID, &TS.to_string(), sig)
}

#[test]
fn published_vector_verifies() {
    let headers = standard(SPEC_ID, &SPEC_TS.to_string(), SPEC_SIG);
    assert_eq!(
        check(&headers, SPEC_BODY.as_bytes(), &[SPEC_SECRET], SPEC_TS),
        Ok(())
    );
}

#[test]
fn library_vector_verifies_with_or_without_padding_and_prefix() {
    let body = BODY.as_bytes();
    assert_eq!(check(&ours(SIG_OLD), body, &[OLD_SECRET], TS + 5), Ok(()));
    let unpadded = OLD_SECRET.trim_end_matches('=');
    assert_eq!(check(&ours(SIG_OLD), body, &[unpadded], TS), Ok(()));
    let bare = OLD_SECRET.trim_start_matches("whsec_");
    assert_eq!(check(&ours(SIG_OLD), body, &[bare], TS), Ok(()));
}

#[test]
fn tampering_with_body_id_or_timestamp_is_a_mismatch() {
    let mut body = BODY.as_bytes().to_vec();
    body[10] ^= 0x01;
    assert_eq!(
        check(&ours(SIG_OLD), &body, &[OLD_SECRET], TS),
        Err(VerifyError::Mismatch)
    );
    let other_id = standard("msg_2pQ7xVbN3kLm9RtYw4ZaHc8Ej2", &TS.to_string(), SIG_OLD);
    assert_eq!(
        check(&other_id, BODY.as_bytes(), &[OLD_SECRET], TS),
        Err(VerifyError::Mismatch)
    );
    let other_ts = standard(ID, &(TS + 1).to_string(), SIG_OLD);
    assert_eq!(
        check(&other_ts, BODY.as_bytes(), &[OLD_SECRET], TS),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn wrong_or_undecodable_secrets_are_a_mismatch() {
    let body = BODY.as_bytes();
    assert_eq!(
        check(&ours(SIG_OLD), body, &[NEW_SECRET], TS),
        Err(VerifyError::Mismatch)
    );
    for secret in ["whsec_not base64!", "whsec_", "", "whsec_===="] {
        assert_eq!(
            check(&ours(SIG_OLD), body, &[secret], TS),
            Err(VerifyError::Mismatch),
            "{secret:?}"
        );
    }
    // A broken secret next to the right one does not stop the right one from matching.
    assert_eq!(
        check(&ours(SIG_OLD), body, &["whsec_%%%", OLD_SECRET], TS),
        Ok(())
    );
}

#[test]
fn timestamps_outside_the_tolerance_are_refused() {
    let body = BODY.as_bytes();
    assert_eq!(
        check(&ours(SIG_OLD), body, &[OLD_SECRET], TS + 301),
        Err(VerifyError::Stale { age_secs: 301 })
    );
    assert_eq!(
        check(&ours(SIG_OLD), body, &[OLD_SECRET], TS - 301),
        Err(VerifyError::Future { ahead_secs: 301 })
    );
}

#[test]
fn missing_and_malformed_headers_are_refused() {
    let body = BODY.as_bytes();
    for (missing, name) in [
        (0, "webhook-id"),
        (1, "webhook-timestamp"),
        (2, "webhook-signature"),
    ] {
        let mut headers = ours(SIG_OLD);
        headers.remove(missing);
        assert_eq!(
            check(&headers, body, &[OLD_SECRET], TS),
            Err(VerifyError::MissingHeader(name))
        );
    }
    let bad_ts = standard(ID, "2025-12-03T22:13:20Z", SIG_OLD);
    assert!(matches!(
        check(&bad_ts, body, &[OLD_SECRET], TS),
        Err(VerifyError::Malformed { .. })
    ));
    for sig in [
        "",
        "garbage",
        "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw",
        "v1,@@@",
        "v2,EoF1PVVxrRnGqkp3uW+iJ2bpqUVOWss7dMfejJkqxJc=",
    ] {
        assert!(
            matches!(
                check(&ours(sig), body, &[OLD_SECRET], TS),
                Err(VerifyError::Malformed { .. })
            ),
            "{sig:?}"
        );
    }
}

#[test]
fn rotated_secrets_and_signature_lists_accept_any_match() {
    let body = BODY.as_bytes();
    let both = [OLD_SECRET, NEW_SECRET];
    assert_eq!(check(&ours(SIG_OLD), body, &both, TS), Ok(()));
    assert_eq!(check(&ours(SIG_NEW), body, &both, TS), Ok(()));
    // The sender signs with both keys while it rotates; the receiver may hold either one.
    let listed = format!("v1a,c2lnbmVk {SIG_OLD} {SIG_NEW}");
    assert_eq!(check(&ours(&listed), body, &[NEW_SECRET], TS), Ok(()));
    assert_eq!(check(&ours(&listed), body, &[OLD_SECRET], TS), Ok(()));
}

#[test]
fn svix_header_names_are_accepted() {
    let headers = vec![
        ("svix-id", ID.to_owned()),
        ("svix-timestamp", TS.to_string()),
        ("svix-signature", SIG_OLD.to_owned()),
    ];
    assert_eq!(check(&headers, BODY.as_bytes(), &[OLD_SECRET], TS), Ok(()));
}

/// Signs `body` with the library vector's key and normalizes it through the public verify path.
fn normalized(body: &[u8]) -> Result<Normalized, NormalizeError> {
    let secret = [SecretString::from(OLD_SECRET.to_owned())];
    let keys = Keys {
        secrets: &secret,
        tolerance: Duration::from_secs(300),
        now: Utc.timestamp_opt(TS, 0).single().expect("now"),
    };
    let key = super::decode_secret(OLD_SECRET.as_bytes()).expect("decodes");
    let mac =
        crate::providers::signing::hmac_sha256(&key, &[format!("{ID}.{TS}.").as_bytes(), body]);
    use base64::Engine;
    let sig = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    );
    let ts = TS.to_string();
    let raw = request(
        &[
            ("webhook-id", ID),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &sig),
        ],
        body,
    );
    normalize(
        &raw.verify(ProviderKind::StandardWebhooks, &keys)
            .expect("signed in the test"),
    )
}

#[test]
fn payloads_are_checked_against_their_type() {
    let ok = normalized(BODY.as_bytes()).expect("normalizes");
    assert_eq!(ok.events.len(), 1);
    assert_eq!(
        (
            ok.events[0].subject.as_str(),
            ok.events[0].idempotency_key.as_str()
        ),
        ("cus_v1", ID)
    );
    let unknown = normalized(br#"{"type":"contact.created","data":{"id":"c1"}}"#).expect("ignored");
    assert_eq!(
        unknown,
        Normalized {
            ignored: vec!["contact.created".into()],
            ..Normalized::default()
        }
    );
    let err = |body: &str| normalized(body.as_bytes()).expect_err(body).0;
    assert!(err("[1, 2]").contains("not a Standard Webhooks payload"));
    assert!(err(r#"{"type":"invoice.paid"}"#).contains("no data"));
    assert!(
        err(r#"{"type":"invoice.paid","data":{"object":"customer","id":"c1"}}"#)
            .contains("needs data of object `invoice`")
    );
    assert!(err(r#"{"type":"payment.refunded","data":{"object":"payment","id":"p1","status":"refunded","amount":{"amount":"1.00","currency":"USD"}}}"#).contains("`refund`"));
    assert!(err(
        r#"{"type":"customer.upserted","data":{"object":"customer","id":"c1","colour":"red"}}"#
    )
    .contains("not a canonical object"));
    assert!(err(r#"{"type":"customer.upserted","timestamp":"yesterday","data":{"object":"customer","id":"c1"}}"#).contains("RFC 3339"));
    // Money travels as a decimal string; a JSON number is refused rather than read as a float.
    let float = r#"{"type":"payment.succeeded","data":{"object":"payment","id":"p1","status":"succeeded","amount":{"amount":12.5,"currency":"USD"}}}"#;
    assert!(err(float).contains("not a canonical object"));
}

proptest! {
    #[test]
    fn one_flipped_byte_never_verifies(index in 0usize..512, bit in 0u8..8) {
        let sig = SIG_OLD.as_bytes();
        let index = index % (BODY.len() + sig.len());
        let (mut body, mut sig) = (BODY.as_bytes().to_vec(), sig.to_vec());
        if index < body.len() {
            body[index] ^= 1 << bit;
        } else {
            sig[index - body.len()] ^= 1 << bit;
        }
        // A flipped signature byte may not even be UTF-8 any more; then no header can be built.
        if let Ok(sig) = String::from_utf8(sig) {
            prop_assert!(check(&ours(&sig), &body, &[OLD_SECRET], TS).is_err());
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = normalized(&body);
    }

    #[test]
    fn arbitrary_secrets_never_panic(secret in ".{0,64}") {
        let _ = check(&ours(SIG_OLD), BODY.as_bytes(), &[&secret], TS);
    }
}

// Generated with the official library, standardwebhooks 1.3.0 (PyPI):
//   Webhook(SPEC_SECRET).endpoint_verification_response("c8f2a1e0-challenge")
#[test]
fn a_challenge_is_answered_with_the_libraries_response() {
    let raw = request(&[("webhook-challenge", "c8f2a1e0-challenge")], b"");
    let secrets = [
        SecretString::from(OLD_SECRET.to_owned()),
        SecretString::from(SPEC_SECRET.to_owned()),
    ];
    let keys = Keys {
        secrets: &secrets,
        tolerance: Duration::from_secs(300),
        now: Utc::now(),
    };
    let headers = raw
        .challenge(ProviderKind::StandardWebhooks, &keys)
        .expect("a challenge is recognised");
    assert_eq!(
        headers,
        vec![(
            "webhook-challenge-response".to_owned(),
            "v1,EdZLL4+/A+y9ydgF0leTX/s9AxHatv+ErxvjL6PXoEM=".to_owned()
        )]
    );
    let delivery = request(&[("webhook-id", "x")], b"{}");
    assert!(delivery
        .challenge(ProviderKind::StandardWebhooks, &keys)
        .is_none());
    assert!(raw.challenge(ProviderKind::Stripe, &keys).is_none());
}
