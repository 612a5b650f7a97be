//! Wiremock tests of the Salesforce client's invoice writes: upsert by external id, update by
//! Id, status changes, with amounts as exact JSON numbers at the field's scale.

use ledgerhook_shared::model::InvoiceStatus;
use serde_json::json;
use wiremock::{matchers::body_json, MockServer, ResponseTemplate};

use super::*;
use crate::connectors::{ApplyError, CrmApi, RemoteCustomer, RemoteInvoice};

fn contact() -> RemoteCustomer {
    RemoteCustomer {
        id: format!("contact/{CONTACT}"),
        name: Some("Jane Doe".into()),
        email: Some("jane@acme.test".into()),
    }
}

#[tokio::test]
async fn a_new_invoice_is_upserted_by_external_id_with_exact_amounts() {
    let server = MockServer::start().await;
    soql(&format!(
        "SELECT AccountId FROM Contact WHERE Id = '{CONTACT}'"
    ))
    .respond_with(records(json!([{"AccountId": ACCOUNT}])))
    .expect(1)
    .mount(&server)
    .await;
    sf("PATCH", "/sobjects/Invoice__c/External_Id__c/INV-0042")
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"Name": "INV-0042", "Amount__c": 1234.80, "Status__c": "Open",
            "Due_Date__c": "2024-03-31", "Invoice_Date__c": "2024-03-01",
            "CurrencyIsoCode": "USD", "Account__c": ACCOUNT}),
        ))
        .respond_with(saved(INVOICE, 201))
        .expect(1)
        .mount(&server)
        .await;
    let written = client(&server)
        .upsert_invoice(None, &usd_invoice(InvoiceStatus::Open), Some(&contact()))
        .await
        .expect("upsert");
    assert!(raw_body(&server, "PATCH")
        .await
        .contains(r#""Amount__c":1234.80,"#));
    assert_eq!(written.id(), INVOICE);
    assert_eq!(written.customer_id, Some(format!("account/{ACCOUNT}")));
    assert_eq!(
        written.invoice.total,
        Money::from_minor(123_480, Currency::USD)
    );
}

#[tokio::test]
async fn amounts_go_out_at_the_field_scale_or_not_at_all() {
    let server = MockServer::start().await;
    // JPY 1500 into a scale-2 currency field is 1500.00; a paid invoice is paid in full.
    sf("PATCH", "/sobjects/Invoice__c/External_Id__c/Y-1")
        .and(body_json(
            json!({"Name": "Y-1", "Amount__c": 1500.00, "Amount_Paid__c": 1500.00,
            "Status__c": "Paid", "CurrencyIsoCode": "JPY"}),
        ))
        // API versions before 46.0 answer an update by external id with 204 and no id.
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    soql("SELECT Id FROM Invoice__c WHERE External_Id__c = 'Y-1'")
        .respond_with(records(json!([{"Id": INVOICE}])))
        .expect(1)
        .mount(&server)
        .await;
    let crm = client(&server);
    let mut yen = usd_invoice(InvoiceStatus::Paid);
    yen.number = Some("Y-1".into());
    yen.currency = Currency::JPY;
    yen.total = Money::from_minor(1500, Currency::JPY);
    yen.issue_date = None;
    yen.due_date = None;
    let written = crm.upsert_invoice(None, &yen, None).await.expect("upsert");
    let body = raw_body(&server, "PATCH").await;
    assert!(body.contains(r#""Amount__c":1500.00,"#), "{body}");
    assert_eq!(written.id(), INVOICE);
    assert_eq!(
        written.invoice.amount_paid,
        Some(Money::from_minor(1500, Currency::JPY))
    );

    // KWD 12.345 does not fit a scale-2 field; with a scale-3 field it goes out exactly.
    let kwd = Currency::parse("KWD").expect("KWD");
    let mut dinar = usd_invoice(InvoiceStatus::Open);
    dinar.number = Some("K-1".into());
    dinar.currency = kwd;
    dinar.total = Money::from_minor(12_345, kwd);
    let refused = crm.upsert_invoice(None, &dinar, None).await;
    assert!(
        matches!(refused, Err(ApplyError::Permanent { .. })),
        "{refused:?}"
    );
    sf("PATCH", "/sobjects/Invoice__c/External_Id__c/K-1")
        .respond_with(saved(INVOICE, 200))
        .expect(1)
        .mount(&server)
        .await;
    let scale3 = client_with(
        &server,
        SalesforceOptions {
            amount_scale: 3,
            ..SalesforceOptions::default()
        },
    );
    scale3
        .upsert_invoice(None, &dinar, None)
        .await
        .expect("upsert");
    assert!(raw_body(&server, "PATCH")
        .await
        .contains(r#""Amount__c":12.345,"#));
}

#[tokio::test]
async fn a_linked_invoice_is_patched_by_id_and_a_slash_number_goes_through_soql() {
    let server = MockServer::start().await;
    sf("PATCH", &format!("/sobjects/Invoice__c/{INVOICE}"))
        .and(body_json(json!({"Name": "INV-0042", "Amount__c": 1234.80, "Status__c": "Void",
            "Due_Date__c": "2024-03-31", "Invoice_Date__c": "2024-03-01", "CurrencyIsoCode": "USD"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    soql("SELECT Id FROM Invoice__c WHERE External_Id__c = '2024/001'")
        .respond_with(records(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    sf("POST", "/sobjects/Invoice__c")
        .and(body_json(
            json!({"Name": "2024/001", "External_Id__c": "2024/001",
            "Amount__c": 1234.80, "Status__c": "Open", "Due_Date__c": "2024-03-31",
            "Invoice_Date__c": "2024-03-01", "CurrencyIsoCode": "USD"}),
        ))
        .respond_with(saved("a015g00000XyZ77AAB", 201))
        .expect(1)
        .mount(&server)
        .await;
    let sf = client(&server);
    let existing = RemoteInvoice {
        invoice: usd_invoice(InvoiceStatus::Open),
        customer_id: Some(format!("account/{ACCOUNT}")),
    };
    let mut linked = existing.clone();
    linked.invoice.id = INVOICE.to_owned();
    let voided = sf
        .upsert_invoice(Some(&linked), &usd_invoice(InvoiceStatus::Void), None)
        .await
        .expect("update");
    assert_eq!(
        (voided.id(), voided.invoice.status),
        (INVOICE, InvoiceStatus::Void)
    );
    assert_eq!(voided.customer_id, Some(format!("account/{ACCOUNT}")));
    let mut slashed = usd_invoice(InvoiceStatus::Open);
    slashed.number = Some("2024/001".into());
    let created = sf
        .upsert_invoice(None, &slashed, None)
        .await
        .expect("create");
    assert_eq!(created.id(), "a015g00000XyZ77AAB");
}

#[tokio::test]
async fn set_invoice_status_paid_patches_status_and_the_amount_paid() {
    let server = MockServer::start().await;
    sf("PATCH", &format!("/sobjects/Invoice__c/{INVOICE}"))
        .and(body_json(
            json!({"Status__c": "Paid", "Amount_Paid__c": 1234.80}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut existing = RemoteInvoice {
        invoice: usd_invoice(InvoiceStatus::Open),
        customer_id: None,
    };
    existing.invoice.id = INVOICE.to_owned();
    let paid = client(&server)
        .set_invoice_status(&existing, InvoiceStatus::Paid)
        .await
        .expect("status");
    assert!(raw_body(&server, "PATCH")
        .await
        .contains(r#""Amount_Paid__c":1234.80"#));
    assert_eq!(paid.invoice.status, InvoiceStatus::Paid);
    assert_eq!(
        (paid.invoice.amount_paid, paid.invoice.amount_due),
        (
            Some(money("1234.80", "USD")),
            Some(Money::zero(Currency::USD))
        )
    );
}
