//! Wiremock tests of how the Salesforce client classifies failures for the retry ladder:
//! expired sessions, a spent API allocation, outages, record locks and validation errors.

use std::time::Duration;

use futures::FutureExt;
use ledgerhook_shared::model::InvoiceStatus;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::*;
use crate::{
    connectors::{
        salesforce::{http::soql_string, map::Kind},
        ApplyError, CrmApi, RemoteInvoice,
    },
    limits::Limits,
};

fn errors(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!([{"message": message, "errorCode": code, "fields": []}]))
}

fn linked(id: &str) -> RemoteInvoice {
    let mut invoice = usd_invoice(InvoiceStatus::Open);
    invoice.id = id.to_owned();
    RemoteInvoice {
        invoice,
        customer_id: None,
    }
}

#[tokio::test]
async fn sessions_allocation_and_outages_are_transient() {
    let server = MockServer::start().await;
    let path = |id: &str| format!("/sobjects/Invoice__c/{id}");
    sf("PATCH", &path("a015g00000Expired"))
        .respond_with(errors(
            401,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ))
        .mount(&server)
        .await;
    sf("PATCH", &path("a015g00000Limited"))
        .respond_with(errors(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ))
        .mount(&server)
        .await;
    sf("PATCH", &path("a015g00000Broken0"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    sf("PATCH", &path("a015g00000Locked0"))
        .respond_with(errors(
            400,
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record",
        ))
        .mount(&server)
        .await;
    let sf = client(&server);
    let paid = InvoiceStatus::Paid;
    // A static token cannot be renewed, so a 401 is retried as a transient failure.
    assert!(matches!(
        sf.set_invoice_status(&linked("a015g00000Expired"), paid)
            .await,
        Err(ApplyError::Transient {
            retry_after: None,
            ..
        })
    ));
    let limited = sf
        .set_invoice_status(&linked("a015g00000Limited"), paid)
        .await;
    assert!(
        matches!(&limited, Err(ApplyError::Transient { retry_after: Some(d), .. }) if *d == Duration::from_secs(3600)),
        "{limited:?}"
    );
    // The allocation wait goes to the retry ladder, not the limiter: nothing else is held.
    assert!(sf.limiter().acquire().now_or_never().is_some());
    for id in ["a015g00000Broken0", "a015g00000Locked0"] {
        let result = sf.set_invoice_status(&linked(id), paid).await;
        assert!(
            matches!(result, Err(ApplyError::Transient { .. })),
            "{id}: {result:?}"
        );
    }
}

#[tokio::test]
async fn validation_errors_duplicates_and_missing_records_are_permanent() {
    let server = MockServer::start().await;
    sf("PATCH", "/sobjects/Invoice__c/External_Id__c/INV-0042")
        .respond_with(errors(
            400,
            "INVALID_FIELD",
            "No such column 'Amount__c' on sobject of type Invoice__c",
        ))
        .mount(&server)
        .await;
    sf("PATCH", "/sobjects/Invoice__c/External_Id__c/INV-2")
        .respond_with(ResponseTemplate::new(300).set_body_json(json!([
            "/services/data/v60.0/sobjects/Invoice__c/a015g00000XyZ01AAB",
            "/services/data/v60.0/sobjects/Invoice__c/a015g00000XyZ02AAB"
        ])))
        .mount(&server)
        .await;
    sf("PATCH", "/sobjects/Invoice__c/a015g00000Missing")
        .respond_with(errors(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
        ))
        .mount(&server)
        .await;
    sf("PATCH", "/sobjects/Invoice__c/a015g00000Denied0")
        .respond_with(errors(
            403,
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights",
        ))
        .mount(&server)
        .await;
    let sf = client(&server);
    let rejected = sf
        .upsert_invoice(None, &usd_invoice(InvoiceStatus::Open), None)
        .await;
    let Err(ApplyError::Permanent { reason }) = rejected else {
        panic!("expected a permanent failure, got {rejected:?}");
    };
    assert!(
        reason.contains("INVALID_FIELD") && reason.contains("No such column"),
        "{reason}"
    );
    let mut second = usd_invoice(InvoiceStatus::Open);
    second.number = Some("INV-2".into());
    assert!(matches!(
        sf.upsert_invoice(None, &second, None).await,
        Err(ApplyError::Permanent { .. })
    ));
    for id in ["a015g00000Missing", "a015g00000Denied0"] {
        let result = sf
            .set_invoice_status(&linked(id), InvoiceStatus::Paid)
            .await;
        assert!(
            matches!(result, Err(ApplyError::Permanent { .. })),
            "{id}: {result:?}"
        );
    }
}

#[test]
fn literals_ids_and_the_limiter_preset() {
    assert_eq!(soql_string(r"Bob's \ BBQ"), r"'Bob\'s \\ BBQ'");
    assert_eq!(
        Kind::parse("contact/003AB").ok(),
        Some((Kind::Contact, "003AB"))
    );
    assert_eq!(
        Kind::parse("0035g00000AbCdE").ok(),
        Some((Kind::Contact, "0035g00000AbCdE"))
    );
    assert_eq!(
        Kind::parse("0015g00000AbCdE").ok(),
        Some((Kind::Account, "0015g00000AbCdE"))
    );
    assert!(Kind::parse("lead/00Q1").is_err());
    assert_eq!(
        (Limits::SALESFORCE.concurrent, Limits::SALESFORCE.requests),
        (25, 1000)
    );
}
