//! Wiremock tests of HubSpot refunds: the paid invoice keeps its status and gains the refunded
//! amount and whether the refund was in full, as custom invoice properties.

use super::*;

fn paid() -> RemoteInvoice {
    RemoteInvoice {
        invoice: usd_invoice(InvoiceStatus::Paid),
        customer_id: None,
    }
}

#[tokio::test]
async fn a_partial_refund_sets_the_refunded_amount_as_a_string() {
    let server = MockServer::start().await;
    hubspot("PATCH", "/crm/v3/objects/invoices/inv-1")
        .and(body_json(json!({"properties": {
            "ledgerhook_amount_refunded": "300.10",
            "ledgerhook_refund_status": "partially_refunded"
        }})))
        .respond_with(ok(json!({"id": "inv-1", "properties": {
            "hs_invoice_status": "paid", "ledgerhook_amount_refunded": "300.10",
            "hs_lastmodifieddate": "2024-04-02T10:00:00Z"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let shown = client(&server)
        .set_invoice_refunded(&paid(), &money("300.1", "USD"))
        .await
        .expect("patch");
    assert_eq!(shown.invoice.status, InvoiceStatus::Paid);
    assert_eq!(
        shown.invoice.updated_at.map(|t| t.to_rfc3339()),
        Some("2024-04-02T10:00:00+00:00".to_owned())
    );
}

#[tokio::test]
async fn a_refund_of_the_whole_invoice_is_refunded() {
    let server = MockServer::start().await;
    hubspot("PATCH", "/crm/v3/objects/invoices/inv-1")
        .and(body_json(json!({"properties": {
            "ledgerhook_amount_refunded": "1234.80",
            "ledgerhook_refund_status": "refunded"
        }})))
        .respond_with(ok(json!({"id": "inv-1", "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .set_invoice_refunded(&paid(), &money("1234.80", "USD"))
        .await
        .expect("patch");
}
