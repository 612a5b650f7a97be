//! Wiremock tests of the Xero client's writes: contacts, invoices, voids and payments, with
//! their idempotency keys and exact JSON numbers.

use ledgerhook_shared::model::{Customer, InvoiceStatus, PaymentStatus};
use serde_json::json;
use wiremock::{
    matchers::{body_json, body_partial_json, header, query_param},
    MockServer,
};

use super::*;
use crate::connectors::{AccountingApi, ApplyError, PaymentDraft, RemoteInvoice};

#[tokio::test]
async fn create_customer_puts_the_contact_with_an_idempotency_key() {
    let server = MockServer::start().await;
    xero("PUT", "/Contacts")
        .and(query_param("summarizeErrors", "true"))
        .and(header("idempotency-key", "acme:customer:cus_1"))
        .and(body_json(json!({"Contacts": [{
            "Name": "Jane Doe", "ContactNumber": "cus_1", "EmailAddress": "jane@example.com",
            "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "+1 555 0100"}]
        }]})))
        .respond_with(ok(
            json!({"Contacts": [{"ContactID": "c-1", "Name": "Jane Doe",
            "EmailAddress": "jane@example.com"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let customer = Customer {
        id: "cus_1".to_owned(),
        name: Some("Jane Doe".to_owned()),
        email: Some("jane@example.com".to_owned()),
        phone: Some("+1 555 0100".to_owned()),
        ..Customer::default()
    };
    let created = client(&server)
        .create_customer(&customer, "acme:customer:cus_1")
        .await
        .expect("create");
    assert_eq!(created.id, "c-1");
    assert_eq!(created.email.as_deref(), Some("jane@example.com"));
}

#[tokio::test]
async fn create_invoice_puts_exact_json_numbers_with_an_idempotency_key() {
    let server = MockServer::start().await;
    let expected = json!({"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": "c-1"}, "InvoiceNumber": "INV-0042",
        "CurrencyCode": "USD", "Date": "2024-03-01", "DueDate": "2024-03-31",
        "Status": "AUTHORISED", "LineAmountTypes": "NoTax",
        "LineItems": [
            {"Description": "Consulting", "Quantity": 1, "UnitAmount": 1234.5, "LineAmount": 1234.50, "AccountCode": "200"},
            {"Description": "Stamps", "Quantity": 3, "UnitAmount": 0.1, "LineAmount": 0.30, "AccountCode": "200"}
        ]
    }]});
    xero("PUT", "/Invoices")
        .and(query_param("summarizeErrors", "true"))
        .and(query_param("unitdp", "4"))
        .and(header("idempotency-key", "acme:invoice:in_1"))
        .and(body_json(expected))
        .respond_with(ok(json!({"Invoices": [{
            "Type": "ACCREC", "InvoiceID": "inv-1", "InvoiceNumber": "INV-0042", "Status": "AUTHORISED",
            "Contact": {"ContactID": "c-1"}, "CurrencyCode": "USD",
            "LineItems": [{"LineItemID": "li-1", "Description": "Consulting", "Quantity": 1.0000,
                           "UnitAmount": 1234.5000, "LineAmount": 1234.50},
                          {"LineItemID": "li-2", "Description": "Stamps", "Quantity": 3.0000,
                           "UnitAmount": 0.1000, "LineAmount": 0.30}],
            "SubTotal": 1234.80, "TotalTax": 0.00, "Total": 1234.80, "AmountDue": 1234.80
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    let created = client(&server)
        .create_invoice(&usd_invoice(), "c-1", "acme:invoice:in_1")
        .await
        .expect("create");
    // The numbers left as written, not as a float would print them.
    let body = raw_body(&server, "PUT").await;
    for token in [
        r#""UnitAmount":1234.5,"#,
        r#""UnitAmount":0.1,"#,
        r#""LineAmount":0.30,"#,
    ] {
        assert!(body.contains(token), "{token} missing from {body}");
    }
    assert_eq!(created.id(), "inv-1");
    assert_eq!(
        created.invoice.total,
        Money::from_minor(123_480, Currency::USD)
    );
    assert_eq!(created.invoice.lines[1].unit_price, dec("0.1"));
}

#[tokio::test]
async fn update_and_void_post_to_the_invoice_and_respect_xero_status_rules() {
    let server = MockServer::start().await;
    xero("POST", "/Invoices/inv-1")
        .and(query_param("summarizeErrors", "true"))
        .and(body_json(
            json!({"Invoices": [{"InvoiceID": "inv-1", "Status": "VOIDED"}]}),
        ))
        .respond_with(ok(
            json!({"Invoices": [{"InvoiceID": "inv-1", "Status": "VOIDED",
            "CurrencyCode": "USD", "Total": 1234.80}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    xero("POST", "/Invoices/inv-1")
        .and(body_partial_json(json!({"Invoices": [{
            "InvoiceID": "inv-1", "Status": "AUTHORISED", "InvoiceNumber": "INV-0042",
            "LineItems": [{"UnitAmount": 1234.5}, {"UnitAmount": 0.1}]}]})))
        .respond_with(ok(
            json!({"Invoices": [{"InvoiceID": "inv-1", "Status": "AUTHORISED",
            "CurrencyCode": "USD", "Total": 1234.80}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let xero = client(&server);
    let mut existing = xero_remote(InvoiceStatus::Open);
    let updated = xero
        .update_invoice(&existing, &usd_invoice(), "c-1")
        .await
        .expect("update");
    assert_eq!(
        updated.invoice.total,
        Money::from_minor(123_480, Currency::USD)
    );
    let voided = xero.void_invoice(&existing).await.expect("void");
    assert_eq!(voided.invoice.status, InvoiceStatus::Void);
    // Paid invoices are final in Xero: nothing is sent, nothing changes.
    existing.invoice.status = InvoiceStatus::Paid;
    assert_eq!(
        xero.update_invoice(&existing, &usd_invoice(), "c-1").await,
        Ok(existing)
    );
}

fn xero_remote(status: InvoiceStatus) -> RemoteInvoice {
    let mut invoice = usd_invoice();
    invoice.id = "inv-1".to_owned();
    invoice.status = status;
    RemoteInvoice {
        invoice,
        customer_id: Some("c-1".to_owned()),
    }
}

#[tokio::test]
async fn record_payment_puts_the_amount_as_a_number_and_get_payment_maps_it_back() {
    let server = MockServer::start().await;
    xero("PUT", "/Payments")
        .and(header("idempotency-key", "acme:payment:pi_1"))
        .and(body_json(json!({"Payments": [{"Invoice": {"InvoiceID": "inv-1"},
            "Account": {"Code": "090"}, "Date": "2024-03-05", "Amount": 1234.50, "Reference": "pi_1"}]})))
        .respond_with(ok(json!({"Payments": [{"PaymentID": "pay-1", "Amount": 1234.50}]})))
        .expect(1)
        .mount(&server)
        .await;
    xero("GET", "/Payments/pay-1")
        .respond_with(ok(
            json!({"Payments": [{"PaymentID": "pay-1", "Date": "/Date(1709596800000+0000)/",
            "Amount": 1234.5, "Status": "AUTHORISED", "Reference": "pi_1",
            "Invoice": {"InvoiceID": "inv-1", "InvoiceNumber": "INV-0042", "CurrencyCode": "USD",
                        "Contact": {"ContactID": "c-1", "Name": "Acme"}}}]}),
        ))
        .mount(&server)
        .await;
    let xero = client(&server);
    let draft = PaymentDraft {
        amount: money("1234.50", "USD"),
        date: date(2024, 3, 5).expect("date"),
        reference: "pi_1".to_owned(),
    };
    let id = xero
        .record_payment(
            &xero_remote(InvoiceStatus::Open),
            &draft,
            "acme:payment:pi_1",
        )
        .await;
    assert_eq!(id.as_deref(), Ok("pay-1"));
    assert!(raw_body(&server, "PUT")
        .await
        .contains(r#""Amount":1234.50"#));
    let payment = xero
        .get_payment("pay-1")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (payment.status, payment.amount),
        (PaymentStatus::Succeeded, money("1234.50", "USD"))
    );
    assert_eq!(payment.invoice_id.as_deref(), Some("inv-1"));
    assert_eq!(payment.invoice_number.as_deref(), Some("INV-0042"));
    assert_eq!(payment.paid_at.map(|t| t.date_naive()), date(2024, 3, 5));
    let yen = PaymentDraft {
        amount: Money::from_minor(5, Currency::JPY),
        ..draft
    };
    let refused = xero
        .record_payment(&xero_remote(InvoiceStatus::Open), &yen, "k")
        .await;
    assert!(matches!(refused, Err(ApplyError::Permanent { .. })));
}

#[tokio::test]
async fn an_invoice_known_only_by_its_total_is_one_line_of_that_total() {
    let server = MockServer::start().await;
    xero("PUT", "/Invoices")
        .and(body_partial_json(json!({"Invoices": [{
            "InvoiceNumber": "SF-1001", "Status": "AUTHORISED",
            "LineItems": [{"Description": "SF-1001", "Quantity": 1, "UnitAmount": 1234.56,
                           "LineAmount": 1234.56, "AccountCode": "200"}]
        }]})))
        .respond_with(ok(json!({"Invoices": [{
            "Type": "ACCREC", "InvoiceID": "inv-9", "InvoiceNumber": "SF-1001", "Status": "AUTHORISED",
            "Contact": {"ContactID": "c-1"}, "CurrencyCode": "USD",
            "LineItems": [{"LineItemID": "li-9", "Description": "SF-1001", "Quantity": 1.0000,
                           "UnitAmount": 1234.5600, "LineAmount": 1234.56}],
            "SubTotal": 1234.56, "TotalTax": 0.00, "Total": 1234.56, "AmountDue": 1234.56
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    let mut invoice = usd_invoice();
    invoice.number = Some("SF-1001".to_owned());
    invoice.lines.clear();
    invoice.total = money("1234.56", "USD");
    let created = client(&server)
        .create_invoice(&invoice, "c-1", "acme:invoice:sf_1")
        .await
        .expect("create");
    assert_eq!(created.invoice.total, money("1234.56", "USD"));
    assert_eq!(created.invoice.lines.len(), 1);
}
