//! Wiremock tests of Xero refunds: a sales credit note for the amount, then a payment against
//! it, each with its own idempotency key, and reading a credit note back as a refund.

use serde_json::json;
use wiremock::matchers::{body_json, header, query_param};

use super::*;
use crate::connectors::RefundDraft;

fn paid_invoice() -> RemoteInvoice {
    let mut invoice = usd_invoice();
    invoice.id = "inv-1".to_owned();
    invoice.status = InvoiceStatus::Paid;
    RemoteInvoice {
        invoice,
        customer_id: Some("c-1".to_owned()),
    }
}

fn draft(amount: &str) -> RefundDraft {
    RefundDraft {
        amount: money(amount, "USD"),
        date: date(2024, 4, 2).expect("date"),
        invoice_number: "INV-0042".to_owned(),
        reference: "re_1".to_owned(),
        reason: Some("requested_by_customer".to_owned()),
    }
}

#[tokio::test]
async fn a_refund_is_a_credit_note_refunded_by_a_payment() {
    let server = MockServer::start().await;
    xero("PUT", "/CreditNotes")
        .and(query_param("summarizeErrors", "true"))
        .and(header("idempotency-key", "acme:refund:re_1-note"))
        .and(body_json(json!({"CreditNotes": [{
            "Type": "ACCRECCREDIT", "Contact": {"ContactID": "c-1"}, "Date": "2024-04-02",
            "Status": "AUTHORISED", "CurrencyCode": "USD", "Reference": "INV-0042",
            "LineAmountTypes": "Inclusive",
            "LineItems": [{
                "Description": "Refund of invoice INV-0042 (re_1): requested_by_customer",
                "Quantity": 1, "UnitAmount": 300.1, "LineAmount": 300.1, "AccountCode": "200"
            }]
        }]})))
        .respond_with(ok(json!({"CreditNotes": [{
            "CreditNoteID": "cn-1", "CreditNoteNumber": "CN-0001", "Type": "ACCRECCREDIT",
            "Status": "AUTHORISED", "Total": 300.10, "RemainingCredit": 300.10, "CurrencyCode": "USD"
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    xero("PUT", "/Payments")
        .and(header("idempotency-key", "acme:refund:re_1-paid"))
        .and(body_json(json!({"Payments": [{
            "CreditNote": {"CreditNoteID": "cn-1"}, "Account": {"Code": "090"},
            "Date": "2024-04-02", "Amount": 300.1, "Reference": "re_1"
        }]})))
        .respond_with(ok(json!({"Payments": [{
            "PaymentID": "pay-9", "Amount": 300.10, "PaymentType": "ARCREDITPAYMENT",
            "Status": "AUTHORISED"
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    let id = client(&server)
        .record_refund(&paid_invoice(), &draft("300.10"), "acme:refund:re_1")
        .await
        .expect("refund");
    assert_eq!(id, "cn-1");
    // The amount travels as the exact number token.
    let requests = server.received_requests().await.expect("recording on");
    let note = String::from_utf8(requests[0].body.clone()).expect("utf-8");
    assert!(note.contains(r#""UnitAmount":300.10"#), "{note}");
}

#[tokio::test]
async fn a_refund_in_another_currency_is_refused_before_any_call() {
    let server = MockServer::start().await;
    let mut refund = draft("10.00");
    refund.amount = money("10.00", "EUR");
    let err = client(&server)
        .record_refund(&paid_invoice(), &refund, "k")
        .await
        .expect_err("currency mismatch");
    assert!(matches!(err, ApplyError::Permanent { .. }), "{err:?}");
    assert!(server.received_requests().await.expect("on").is_empty());
}

#[tokio::test]
async fn a_refused_refund_payment_is_permanent() {
    let server = MockServer::start().await;
    xero("PUT", "/CreditNotes")
        .respond_with(ok(
            json!({"CreditNotes": [{"CreditNoteID": "cn-1", "Total": 5.00}]}),
        ))
        .mount(&server)
        .await;
    xero("PUT", "/Payments")
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "ErrorNumber": 10, "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [
                {"Message": "Payment amount exceeds the amount outstanding on this document"}
            ]}]
        })))
        .mount(&server)
        .await;
    let err = client(&server)
        .record_refund(&paid_invoice(), &draft("5.00"), "k")
        .await
        .expect_err("refused");
    match err {
        ApplyError::Permanent { reason } => {
            assert!(
                reason.contains("exceeds the amount outstanding"),
                "{reason}"
            )
        }
        other => panic!("expected permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn get_refund_reads_a_credit_note_with_its_invoice_number() {
    let server = MockServer::start().await;
    xero("GET", "/CreditNotes/cn-1")
        .respond_with(ok(json!({"CreditNotes": [{
            "CreditNoteID": "cn-1", "Reference": "INV-0042", "Status": "PAID",
            "Date": "/Date(1712016000000+0000)/", "CurrencyCode": "KWD", "Total": 12.345
        }]})))
        .mount(&server)
        .await;
    xero("GET", "/CreditNotes/cn-2")
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let c = client(&server);
    let refund = c.get_refund("cn-1").await.expect("read").expect("found");
    assert_eq!(refund.amount, money("12.345", "KWD"));
    assert_eq!(refund.invoice_number.as_deref(), Some("INV-0042"));
    assert_eq!(refund.created_at.map(|t| t.date_naive()), date(2024, 4, 2));
    assert_eq!(c.get_refund("cn-2").await.expect("read"), None);
}
