//! Wiremock tests of the HubSpot client's writes: invoices with line items, associations and
//! status, and customers upserted by email or created as companies.

use ledgerhook_shared::{
    model::{Customer, InvoiceStatus},
    money::Currency,
    Money,
};
use serde_json::json;
use wiremock::{matchers::body_json, MockServer, ResponseTemplate};

use super::*;
use crate::connectors::{CrmApi, RemoteCustomer, RemoteInvoice};

#[tokio::test]
async fn upsert_invoice_creates_lines_associations_and_then_the_status() {
    let server = MockServer::start().await;
    hubspot("POST", "/crm/v3/objects/invoices")
        .and(body_json(
            json!({"properties": {"hs_currency": "USD", "hs_invoice_date": "2024-03-01",
            "hs_due_date": "2024-03-31", "hs_number": "INV-0042"}}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": "901", "properties": {}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    for (id, name, quantity, price) in [
        ("21", "Consulting", "1", "1234.50"),
        ("22", "Stamps", "3", "0.10"),
    ] {
        hubspot("POST", "/crm/v3/objects/line_items")
            .and(body_json(
                json!({"properties": {"name": name, "quantity": quantity, "price": price}}),
            ))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(json!({"id": id, "properties": {}})),
            )
            .expect(1)
            .mount(&server)
            .await;
        hubspot(
            "PUT",
            &format!("/crm/v4/objects/invoices/901/associations/default/line_items/{id}"),
        )
        .respond_with(ok(json!({"status": "COMPLETE", "results": []})))
        .expect(1)
        .mount(&server)
        .await;
    }
    hubspot(
        "PUT",
        "/crm/v4/objects/invoices/901/associations/default/contacts/151",
    )
    .respond_with(ok(json!({"status": "COMPLETE", "results": []})))
    .expect(1)
    .mount(&server)
    .await;
    hubspot("PATCH", "/crm/v3/objects/invoices/901")
        .and(body_json(
            json!({"properties": {"hs_invoice_status": "open"}}),
        ))
        .respond_with(ok(
            json!({"id": "901", "properties": {"hs_invoice_status": "open"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let customer = RemoteCustomer {
        id: "contact/151".to_owned(),
        name: None,
        email: None,
    };
    let invoice = usd_invoice(InvoiceStatus::Open);
    let created = client(&server)
        .upsert_invoice(None, &invoice, Some(&customer))
        .await
        .expect("create");
    assert_eq!(
        (created.id(), created.invoice.status),
        ("901", InvoiceStatus::Open)
    );
    assert_eq!(
        created.invoice.total,
        Money::from_minor(123_480, Currency::USD)
    );
    assert_eq!(created.customer_id.as_deref(), Some("contact/151"));
}

#[tokio::test]
async fn upsert_invoice_with_unchanged_lines_patches_properties_and_status_only() {
    let server = MockServer::start().await;
    mount_kwd_invoice(&server, &map::INVOICE_PROPS.join(",")).await;
    hubspot("PATCH", "/crm/v3/objects/invoices/901")
        .and(body_json(
            json!({"properties": {"hs_currency": "KWD", "hs_number": "INV-0042"}}),
        ))
        .respond_with(ok(json!({"id": "901"})))
        .expect(1)
        .mount(&server)
        .await;
    hubspot("PATCH", "/crm/v3/objects/invoices/901")
        .and(body_json(
            json!({"properties": {"hs_invoice_status": "paid"}}),
        ))
        .respond_with(ok(json!({"id": "901"})))
        .expect(1)
        .mount(&server)
        .await;
    hubspot("POST", "/crm/v3/objects/line_items")
        .respond_with(ok(json!({})))
        .expect(0)
        .mount(&server)
        .await;
    let hs = client(&server);
    let existing = hs.get_invoice("901").await.expect("read").expect("exists");
    let mut wanted = existing.invoice.clone();
    (wanted.status, wanted.issue_date, wanted.due_date) = (InvoiceStatus::Paid, None, None);
    let updated = hs
        .upsert_invoice(Some(&existing), &wanted, None)
        .await
        .expect("update");
    assert_eq!(updated.invoice.status, InvoiceStatus::Paid);
    assert_eq!(updated.customer_id.as_deref(), Some("contact/151"));
}

#[tokio::test]
async fn set_invoice_status_patches_hs_invoice_status() {
    let server = MockServer::start().await;
    hubspot("PATCH", "/crm/v3/objects/invoices/901")
        .and(body_json(
            json!({"properties": {"hs_invoice_status": "voided"}}),
        ))
        .respond_with(ok(
            json!({"id": "901", "properties": {"hs_invoice_status": "voided",
            "hs_lastmodifieddate": "2024-03-03T00:00:00Z"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut invoice = usd_invoice(InvoiceStatus::Open);
    invoice.id = "901".to_owned();
    let existing = RemoteInvoice {
        invoice,
        customer_id: None,
    };
    let voided = client(&server)
        .set_invoice_status(&existing, InvoiceStatus::Void)
        .await
        .expect("void");
    assert_eq!(voided.invoice.status, InvoiceStatus::Void);
    assert_eq!(
        voided.invoice.updated_at.map(|t| t.timestamp()),
        Some(1_709_424_000)
    );
}

#[tokio::test]
async fn customers_upsert_by_email_or_fall_back_to_a_company() {
    let server = MockServer::start().await;
    hubspot("POST", "/crm/v3/objects/contacts/batch/upsert")
        .and(body_json(json!({"inputs": [{"idProperty": "email", "id": "jane@example.com",
            "properties": {"email": "jane@example.com", "firstname": "Jane Q.", "lastname": "Doe",
                           "phone": "+1 555 0100"}}]})))
        .respond_with(ok(json!({"status": "COMPLETE", "results": [{"id": "151", "new": false,
            "properties": {"email": "jane@example.com", "firstname": "Jane Q.", "lastname": "Doe"}}]})))
        .expect(1)
        .mount(&server)
        .await;
    hubspot("POST", "/crm/v3/objects/companies/search")
        .and(body_json(json!({"filterGroups": [{"filters": [{"propertyName": "name",
            "operator": "EQ", "value": "Acme Ltd"}]}], "properties": map::COMPANY_PROPS, "limit": 1})))
        .respond_with(ok(json!({"total": 0, "results": []})))
        .expect(1)
        .mount(&server)
        .await;
    hubspot("POST", "/crm/v3/objects/companies")
        .and(body_json(json!({"properties": {"name": "Acme Ltd"}})))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": "6200",
            "properties": {"name": "Acme Ltd"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let hs = client(&server);
    let jane = Customer {
        id: "cus_1".to_owned(),
        name: Some("Jane Q. Doe".to_owned()),
        email: Some("jane@example.com".to_owned()),
        phone: Some("+1 555 0100".to_owned()),
        ..Customer::default()
    };
    let contact = hs.upsert_customer(&jane).await.expect("upsert");
    assert_eq!(
        (contact.id.as_str(), contact.name.as_deref()),
        ("contact/151", Some("Jane Q. Doe"))
    );
    let acme = Customer {
        id: "c-1".to_owned(),
        company: Some("Acme Ltd".to_owned()),
        ..Customer::default()
    };
    let company = hs.upsert_customer(&acme).await.expect("create company");
    assert_eq!(company.id, "company/6200");
}

#[tokio::test]
async fn upsert_invoice_with_changed_lines_archives_the_old_ones_first() {
    let server = MockServer::start().await;
    mount_kwd_invoice(&server, &map::INVOICE_PROPS.join(",")).await;
    for old in ["11", "12"] {
        hubspot("DELETE", &format!("/crm/v3/objects/line_items/{old}"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    hubspot("POST", "/crm/v3/objects/line_items")
        .and(body_json(
            json!({"properties": {"name": "Widgets", "quantity": "4", "price": "4.115"}}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "13"})))
        .expect(1)
        .mount(&server)
        .await;
    hubspot(
        "PUT",
        "/crm/v4/objects/invoices/901/associations/default/line_items/13",
    )
    .respond_with(ok(json!({})))
    .expect(1)
    .mount(&server)
    .await;
    hubspot("PATCH", "/crm/v3/objects/invoices/901")
        .and(body_json(
            json!({"properties": {"hs_currency": "KWD", "hs_number": "INV-0042"}}),
        ))
        .respond_with(ok(json!({"id": "901"})))
        .expect(1)
        .mount(&server)
        .await;
    let hs = client(&server);
    let existing = hs.get_invoice("901").await.expect("read").expect("exists");
    let kwd = |minor| Money::from_minor(minor, Currency::parse("KWD").expect("KWD"));
    let mut wanted = existing.invoice.clone();
    (wanted.issue_date, wanted.due_date) = (None, None);
    wanted.lines = vec![line("Widgets", 4, "4.115", kwd(16_460))];
    let updated = hs
        .upsert_invoice(Some(&existing), &wanted, None)
        .await
        .expect("update");
    // No status call: the invoice stays open. The total is the new lines' sum, to the fils.
    assert_eq!(
        (updated.invoice.status, updated.invoice.total),
        (InvoiceStatus::Open, kwd(16_460))
    );
}
