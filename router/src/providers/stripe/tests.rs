//! Stripe verification against SDK-generated signatures, and the currency and error paths of
//! normalization (the event mappings are covered by tests/fixtures/stripe).

use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use ledgerhook_shared::{config::ProviderKind, Currency};
use proptest::prelude::*;
use secrecy::SecretString;

use super::{money, normalize, verify};
use crate::providers::{
    signing::hmac_sha256, Keys, NormalizeError, Normalized, RawWebhook, Unverified, VerifyError,
};

// Generated with the official SDK, stripe-python 16.1.0:
//   stripe.WebhookSignature.generate_signature_header(PAYLOAD, <secret>, timestamp=1764800000)
// once with OLD_SECRET (HEADER_OLD), once with NEW_SECRET (HEADER_NEW), and once with an
// unrelated secret, whose v1 is the first one in HEADER_TWO_V1.
const PAYLOAD: &str =
    r#"{"id":"evt_1QfZ9zLkdIwHu7ixVector01","object":"event","type":"customer.created"}"#;
const OLD_SECRET: &str = "whsec_zFHSWHIcRfXSoFSfj3aI83e41mSWPx9W";
const NEW_SECRET: &str = "whsec_Nq4bT8vKx2RmWc7YpLd1Gs6HfJ0aEzUo";
const SIGNED_AT: i64 = 1_764_800_000;
const HEADER_OLD: &str =
    "t=1764800000,v1=51338dd8e2f264dfdc2d43b85b19972543ced5ed8e8fa715064b5f281e179ade";
const HEADER_NEW: &str =
    "t=1764800000,v1=1be9dbe1cf7a0aa004a10bcd85a66508bd219246ff49ebf042666cd62ed46989";
const HEADER_TWO_V1: &str = "t=1764800000,\
    v1=9defb9644c76f152325693b4409235aef8797940d1dcf22ac3f95af7810fbd1d,\
    v1=51338dd8e2f264dfdc2d43b85b19972543ced5ed8e8fa715064b5f281e179ade";

fn request(header: Option<&str>, body: &[u8]) -> RawWebhook<Unverified> {
    let headers = header
        .map(|h| vec![("Stripe-Signature".to_owned(), h.to_owned())])
        .unwrap_or_default();
    let url = url::Url::parse("https://hooks.example.com/webhooks/acme/stripe").expect("url");
    RawWebhook::new("POST", url, headers, Bytes::copy_from_slice(body))
}

fn secrets(values: &[&str]) -> Vec<SecretString> {
    values
        .iter()
        .map(|s| SecretString::from(s.to_string()))
        .collect()
}

fn check(header: Option<&str>, body: &[u8], with: &[&str], now: i64) -> Result<(), VerifyError> {
    let secrets = secrets(with);
    let keys = Keys {
        secrets: &secrets,
        tolerance: Duration::from_secs(300),
        now: Utc.timestamp_opt(now, 0).single().expect("now"),
    };
    verify(&request(header, body), &keys)
}

/// Signs `body` as Stripe does and normalizes it through the public verify path.
fn normalized(body: &[u8]) -> Result<Normalized, NormalizeError> {
    let sig = hex::encode(hmac_sha256(
        OLD_SECRET.as_bytes(),
        &[format!("{SIGNED_AT}.").as_bytes(), body],
    ));
    let header = format!("t={SIGNED_AT},v1={sig}");
    let secrets = secrets(&[OLD_SECRET]);
    let keys = Keys {
        secrets: &secrets,
        tolerance: Duration::from_secs(300),
        now: Utc.timestamp_opt(SIGNED_AT, 0).single().expect("now"),
    };
    let verified = request(Some(&header), body)
        .verify(ProviderKind::Stripe, &keys)
        .expect("signed in the test, so it verifies");
    normalize(&verified)
}

#[test]
fn sdk_signature_verifies() {
    assert_eq!(
        check(
            Some(HEADER_OLD),
            PAYLOAD.as_bytes(),
            &[OLD_SECRET],
            SIGNED_AT + 10
        ),
        Ok(())
    );
}

#[test]
fn any_changed_body_byte_is_a_mismatch() {
    for i in 0..PAYLOAD.len() {
        let mut body = PAYLOAD.as_bytes().to_vec();
        body[i] ^= 0x01;
        assert_eq!(
            check(Some(HEADER_OLD), &body, &[OLD_SECRET], SIGNED_AT),
            Err(VerifyError::Mismatch),
            "byte {i}"
        );
    }
}

#[test]
fn wrong_or_empty_secret_is_a_mismatch() {
    let body = PAYLOAD.as_bytes();
    assert_eq!(
        check(Some(HEADER_OLD), body, &[NEW_SECRET], SIGNED_AT),
        Err(VerifyError::Mismatch)
    );
    // A signature made with an empty key must not pass because a secret was left empty.
    let empty_key_sig = hex::encode(hmac_sha256(
        b"",
        &[format!("{SIGNED_AT}.").as_bytes(), body],
    ));
    let header = format!("t={SIGNED_AT},v1={empty_key_sig}");
    assert_eq!(
        check(Some(&header), body, &[""], SIGNED_AT),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn timestamps_outside_the_tolerance_are_refused() {
    let body = PAYLOAD.as_bytes();
    assert_eq!(
        check(Some(HEADER_OLD), body, &[OLD_SECRET], SIGNED_AT + 300),
        Ok(())
    );
    assert_eq!(
        check(Some(HEADER_OLD), body, &[OLD_SECRET], SIGNED_AT + 301),
        Err(VerifyError::Stale { age_secs: 301 })
    );
    assert_eq!(
        check(Some(HEADER_OLD), body, &[OLD_SECRET], SIGNED_AT - 301),
        Err(VerifyError::Future { ahead_secs: 301 })
    );
}

#[test]
fn missing_and_malformed_headers_are_refused() {
    let body = PAYLOAD.as_bytes();
    assert_eq!(
        check(None, body, &[OLD_SECRET], SIGNED_AT),
        Err(VerifyError::MissingHeader("stripe-signature"))
    );
    let v1 = "v1=51338dd8e2f264dfdc2d43b85b19972543ced5ed8e8fa715064b5f281e179ade";
    for header in [
        "",
        "garbage",
        v1,
        "t=1764800000",
        "t=1764800000,v0=51338dd8e2f264dfdc2d43b85b19972543ced5ed8e8fa715064b5f281e179ade",
        &format!("t=yesterday,{v1}"),
        "t=1764800000,v1=not-hex",
    ] {
        assert!(
            matches!(
                check(Some(header), body, &[OLD_SECRET], SIGNED_AT),
                Err(VerifyError::Malformed { .. })
            ),
            "{header:?}"
        );
    }
}

#[test]
fn rotated_secrets_accept_a_signature_by_either() {
    let body = PAYLOAD.as_bytes();
    let both = [OLD_SECRET, NEW_SECRET];
    assert_eq!(check(Some(HEADER_OLD), body, &both, SIGNED_AT), Ok(()));
    assert_eq!(check(Some(HEADER_NEW), body, &both, SIGNED_AT), Ok(()));
    assert_eq!(
        check(Some(HEADER_NEW), body, &[OLD_SECRET], SIGNED_AT),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn any_v1_entry_may_match() {
    let body = PAYLOAD.as_bytes();
    assert_eq!(
        check(Some(HEADER_TWO_V1), body, &[OLD_SECRET], SIGNED_AT),
        Ok(())
    );
    // Spaces after the commas, as some proxies add them, change nothing.
    let spaced = HEADER_TWO_V1.replace(',', ", ");
    assert_eq!(check(Some(&spaced), body, &[OLD_SECRET], SIGNED_AT), Ok(()));
}

fn amount(minor: i64, code: &str) -> Result<String, NormalizeError> {
    money(minor, Currency::parse(code).expect("known")).map(|m| m.amount.to_string())
}

#[test]
fn minor_units_follow_stripe_rules_into_iso_exponents() {
    assert_eq!(amount(9449, "USD"), Ok("94.49".into()));
    assert_eq!(amount(33000, "JPY"), Ok("33000".into()));
    assert_eq!(amount(12340, "KWD"), Ok("12.340".into()));
    assert_eq!(amount(5, "BHD"), Ok("0.005".into()));
    // MGA is zero-decimal at Stripe but has two ISO decimals.
    assert_eq!(amount(500, "MGA"), Ok("500.00".into()));
    // ISK is two-decimal at Stripe (100 = 1 krona) but zero-decimal in ISO; HUF and TWD are
    // two-decimal in both.
    assert_eq!(amount(500, "ISK"), Ok("5".into()));
    assert_eq!(amount(123_456, "HUF"), Ok("1234.56".into()));
    assert_eq!(amount(99_900, "TWD"), Ok("999.00".into()));
    // A fractional krona cannot be stated in ISO's ISK: refused, not rounded.
    assert!(amount(4010, "ISK").is_err());
}

#[test]
fn bodies_that_are_not_stripe_events_do_not_normalize() {
    let err = |body: &str| normalized(body.as_bytes()).expect_err(body).0;
    assert!(err("not json").contains("not a Stripe event"));
    assert!(err(r#"{"id":"in_1","object":"invoice"}"#).contains("not a Stripe event"));
    let thin = r#"{"id":"evt_1","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":1,"data":{"object":{}}}"#;
    assert!(err(thin).contains("thin event"));
    let float = r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1764800000,
        "data":{"object":{"id":"pi_1","amount":12.5,"currency":"usd","payment_method_types":["card"]}}}"#;
    assert!(err(float).contains("not a payment intent"));
    let unknown = r#"{"id":"evt_1","object":"event","type":"refund.created","created":1764800000,
        "data":{"object":{"id":"re_1","amount":100,"currency":"xyz"}}}"#;
    assert!(err(unknown).contains("currency"));
}

#[test]
fn unsynced_types_are_ignored_by_name() {
    let body = r#"{"id":"evt_1","object":"event","type":"price.created","created":1764800000,"data":{"object":{"id":"price_1"}}}"#;
    assert_eq!(
        normalized(body.as_bytes()),
        Ok(Normalized {
            ignored: vec!["price.created".into()],
            ..Normalized::default()
        })
    );
}

proptest! {
    #[test]
    fn one_flipped_byte_never_verifies(index in 0usize..512, bit in 0u8..8) {
        let header = HEADER_OLD.as_bytes();
        let total = PAYLOAD.len() + header.len();
        let index = index % total;
        let (mut body, mut header) = (PAYLOAD.as_bytes().to_vec(), header.to_vec());
        if index < body.len() {
            body[index] ^= 1 << bit;
        } else {
            header[index - body.len()] ^= 1 << bit;
        }
        // A flipped header byte may not even be UTF-8 any more; then no header can be built.
        if let Ok(header) = String::from_utf8(header) {
            prop_assert!(check(Some(&header), &body, &[OLD_SECRET], SIGNED_AT).is_err());
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = normalized(&body);
    }

    #[test]
    fn arbitrary_event_shaped_bodies_never_panic(
        kind in "(invoice\\.(created|paid|deleted)|payment_intent\\.succeeded|charge\\.refunded|refund\\.created|customer\\.updated)",
        amount in any::<i64>(),
        currency in "[a-z]{3}",
        created in any::<i64>(),
    ) {
        let body = format!(
            r#"{{"id":"evt_p","object":"event","type":"{kind}","created":{created},"data":{{"object":
            {{"id":"x_1","status":"open","currency":"{currency}","total":{amount},"amount":{amount},
            "amount_refunded":{amount},"due_date":{created},"lines":{{"data":[{{"amount":{amount},"quantity":0}}]}}}}}}}}"#
        );
        let _ = normalized(body.as_bytes());
    }
}
