//! Wiremock tests of how the QuickBooks Online client classifies failures for the retry
//! ladder: expired tokens, throttling, outages, validation faults, and faults inside a 200.

use std::time::Duration;

use futures::FutureExt;
use ledgerhook_shared::model::Customer;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::*;
use crate::connectors::{
    quickbooks::http::{qbo_string, request_id},
    AccountingApi, ApplyError,
};

#[tokio::test]
async fn throttling_pauses_the_realm_and_is_retried_after_the_given_delay() {
    let server = MockServer::start().await;
    qbo("GET", "/invoice/1")
        .respond_with(
            fault(
                429,
                "3001",
                "SERVICE",
                "The request limit has been reached.",
            )
            .insert_header("retry-after", "12"),
        )
        .mount(&server)
        .await;
    let qbo = client(&server);
    let limited = qbo.get_invoice("1").await;
    assert!(
        matches!(&limited, Err(ApplyError::Transient { retry_after: Some(d), .. }) if *d == Duration::from_secs(12)),
        "{limited:?}"
    );
    assert!(
        qbo.limiter().acquire().now_or_never().is_none(),
        "the realm is paused"
    );
}

#[tokio::test]
async fn expired_tokens_and_outages_are_transient() {
    let server = MockServer::start().await;
    // Intuit's 401 spells the fault in lower case.
    qbo("GET", "/invoice/expired")
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"fault": {"error": [{
            "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
            "detail": "Token expired", "code": "3200"}], "type": "AUTHENTICATION"}})),
        )
        .mount(&server)
        .await;
    qbo("GET", "/invoice/broken")
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;
    qbo("GET", "/invoice/busy")
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let qbo = client(&server);
    // A static token cannot be renewed (invalidate is a no-op for it), so the observable
    // outcome is a transient failure the retry ladder repeats.
    assert!(matches!(
        qbo.get_invoice("expired").await,
        Err(ApplyError::Transient {
            retry_after: None,
            ..
        })
    ));
    assert!(matches!(
        qbo.get_invoice("broken").await,
        Err(ApplyError::Transient { .. })
    ));
    let busy = qbo.get_invoice("busy").await;
    assert!(
        matches!(&busy, Err(ApplyError::Transient { retry_after: Some(d), .. }) if *d == Duration::from_secs(30)),
        "{busy:?}"
    );
}

#[tokio::test]
async fn validation_faults_are_permanent_with_intuits_words_even_inside_a_200() {
    let server = MockServer::start().await;
    qbo("POST", "/customer")
        .respond_with(fault(
            400,
            "2210",
            "ValidationFault",
            "Email Address does not conform to the syntax rules of RFC 822.",
        ))
        .mount(&server)
        .await;
    // Intuit documents that a 200 may still carry a Fault.
    qbo("GET", "/customer/5")
        .respond_with(fault(
            200,
            "6000",
            "ValidationFault",
            "Business Validation Error: odd",
        ))
        .mount(&server)
        .await;
    qbo("GET", "/customer/6")
        .respond_with(fault(
            400,
            "10000",
            "SystemFault",
            "An application error has occurred",
        ))
        .mount(&server)
        .await;
    let qbo = client(&server);
    let customer = Customer {
        id: "x".into(),
        name: Some("Jane".into()),
        email: Some("not-an-email".into()),
        ..Customer::default()
    };
    let rejected = qbo.create_customer(&customer, "k").await;
    let Err(ApplyError::Permanent { reason }) = rejected else {
        panic!("expected a permanent failure, got {rejected:?}");
    };
    assert!(
        reason.contains("2210") && reason.contains("RFC 822"),
        "{reason}"
    );
    assert!(matches!(
        qbo.get_customer("5").await,
        Err(ApplyError::Permanent { .. })
    ));
    assert!(matches!(
        qbo.get_customer("6").await,
        Err(ApplyError::Transient { .. })
    ));
    // A customer without any name cannot be created, and nothing is sent for it.
    let nameless = qbo.create_customer(&Customer::default(), "k").await;
    assert!(matches!(nameless, Err(ApplyError::Permanent { .. })));
}

#[test]
fn literals_are_escaped_and_long_request_ids_shortened() {
    assert_eq!(qbo_string(r"O'Brien\Sons"), r"'O\'Brien\\Sons'");
    assert_eq!(request_id("short-key"), "short-key");
    let long = "k".repeat(80);
    let id = request_id(&long);
    assert!(id.len() <= 50 && id.starts_with("kkkk"), "{id}");
    assert_ne!(id, request_id(&format!("{long}x")));
    // Multi-byte characters are never cut in half.
    let accents = "é".repeat(40);
    assert!(request_id(&accents).len() <= 50);
}
