//! Wiremock tests of QuickBooks refunds: one refund receipt with a `requestid`, paid from the
//! configured account, naming the invoice in its private note, and read back as a refund.

use serde_json::json;
use wiremock::matchers::{body_json, query_param};

use super::*;
use crate::connectors::{ApplyError, RefundDraft, RemoteInvoice};

fn paid_invoice() -> RemoteInvoice {
    let mut invoice = usd_invoice();
    invoice.id = "130".to_owned();
    invoice.status = InvoiceStatus::Paid;
    RemoteInvoice {
        invoice,
        customer_id: Some("58".to_owned()),
    }
}

#[tokio::test]
async fn a_refund_is_one_refund_receipt_from_the_refund_account() {
    let server = MockServer::start().await;
    qbo("POST", "/refundreceipt")
        .and(query_param(
            "requestid",
            "ledgerhook-refund-acme-stripe-re_1",
        ))
        .and(body_json(json!({
            "CustomerRef": {"value": "58"}, "TxnDate": "2024-04-02",
            "DepositToAccountRef": {"value": "4"}, "PaymentRefNum": "re_3QfZ7aLkdIwHu7ix3",
            "PrivateNote": "Refund of invoice INV-0042 (re_3QfZ7aLkdIwHu7ix3)",
            "TotalAmt": 300.10,
            "Line": [{
                "DetailType": "SalesItemLineDetail", "Amount": 300.10,
                "Description": "Refund of invoice INV-0042 (re_3QfZ7aLkdIwHu7ix3)",
                "SalesItemLineDetail": {"Qty": 1, "UnitPrice": 300.10, "ItemRef": {"value": "1"}}
            }]
        })))
        .respond_with(ok(
            json!({"RefundReceipt": {"Id": "160", "TotalAmt": 300.1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let draft = RefundDraft {
        amount: money("300.10", "USD"),
        date: date(2024, 4, 2).expect("date"),
        invoice_number: "INV-0042".to_owned(),
        reference: "re_3QfZ7aLkdIwHu7ix3".to_owned(),
        reason: None,
    };
    let id = client(&server)
        .record_refund(
            &paid_invoice(),
            &draft,
            "ledgerhook-refund-acme-stripe-re_1",
        )
        .await;
    assert_eq!(id.as_deref(), Ok("160"));
    assert!(raw_body(&server, "POST", "/refundreceipt")
        .await
        .contains(r#""TotalAmt":300.10,"#));
}

#[tokio::test]
async fn a_missing_refund_account_is_a_permanent_failure() {
    let server = MockServer::start().await;
    qbo("POST", "/refundreceipt")
        .respond_with(fault(
            400,
            "2020",
            "ValidationFault",
            "Required parameter DepositToAccountRef is missing in the request",
        ))
        .mount(&server)
        .await;
    let draft = RefundDraft {
        amount: money("1.00", "USD"),
        date: date(2024, 4, 2).expect("date"),
        invoice_number: "INV-0042".to_owned(),
        reference: "re_1".to_owned(),
        reason: None,
    };
    let err = client(&server)
        .record_refund(&paid_invoice(), &draft, "k")
        .await
        .expect_err("refused");
    assert!(matches!(err, ApplyError::Permanent { .. }), "{err:?}");
}

#[tokio::test]
async fn get_refund_reads_the_receipt_and_the_invoice_its_note_names() {
    let server = MockServer::start().await;
    qbo("GET", "/refundreceipt/160")
        .respond_with(ok(json!({"RefundReceipt": {
            "Id": "160", "TotalAmt": 300.10, "TxnDate": "2024-04-02",
            "CurrencyRef": {"value": "USD"}, "PaymentRefNum": "re_1",
            "PrivateNote": "Refund of invoice INV-0042 (re_1)"
        }})))
        .mount(&server)
        .await;
    qbo("GET", "/refundreceipt/161")
        .respond_with(fault(400, "610", "ValidationFault", "Object Not Found"))
        .mount(&server)
        .await;
    let qbo = client(&server);
    let refund = qbo.get_refund("160").await.expect("read").expect("found");
    assert_eq!(refund.amount, money("300.10", "USD"));
    assert_eq!(refund.invoice_number.as_deref(), Some("INV-0042"));
    assert_eq!(refund.payment_id.as_deref(), Some("re_1"));
    assert_eq!(refund.created_at.map(|t| t.date_naive()), date(2024, 4, 2));
    assert_eq!(qbo.get_refund("161").await.expect("read"), None);
}
