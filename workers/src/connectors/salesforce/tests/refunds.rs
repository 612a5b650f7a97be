//! Wiremock tests of Salesforce refunds: the refunded amount on the invoice record, and the
//! Refunded status when the whole invoice was paid back.

use super::*;
use crate::connectors::RemoteInvoice;

fn paid() -> RemoteInvoice {
    let mut invoice = usd_invoice(InvoiceStatus::Paid);
    invoice.id = INVOICE.to_owned();
    RemoteInvoice {
        invoice,
        customer_id: None,
    }
}

#[tokio::test]
async fn a_partial_refund_patches_only_the_refunded_amount() {
    let server = MockServer::start().await;
    sf("PATCH", &format!("/sobjects/Invoice__c/{INVOICE}"))
        .and(body_json(json!({"Amount_Refunded__c": 300.10})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let shown = client(&server)
        .set_invoice_refunded(&paid(), &money("300.1", "USD"))
        .await
        .expect("patch");
    assert_eq!(shown.invoice.status, InvoiceStatus::Paid);
    assert!(raw_body(&server, "PATCH")
        .await
        .contains(r#""Amount_Refunded__c":300.10"#));
}

#[tokio::test]
async fn a_full_refund_also_sets_the_refunded_status() {
    let server = MockServer::start().await;
    sf("PATCH", &format!("/sobjects/Invoice__c/{INVOICE}"))
        .and(body_json(
            json!({"Amount_Refunded__c": 1234.80, "Status__c": "Refunded"}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .set_invoice_refunded(&paid(), &money("1234.80", "USD"))
        .await
        .expect("patch");
    // A refunded invoice read back counts as paid: the money came in before it went out.
    assert_eq!(
        super::super::map::status_from_sf(Some("Refunded")),
        InvoiceStatus::Paid
    );
}
