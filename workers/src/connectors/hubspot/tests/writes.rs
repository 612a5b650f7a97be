//! Wiremock tests of the HubSpot client's writes: invoices with line items, associations and
//! status, and customers upserted by email or created as companies.

use ledgerhook_shared::{
    model::{Customer, InvoiceStatus},
    money::Currency,
    Money,
};
use serde_json::json;
use wiremock::{
    matchers::{body_json, body_partial_json, query_param},
    MockServer, ResponseTemplate,
};

use super::*;
use crate::connectors::{CrmApi, RemoteCustomer, RemoteInvoice};

#[tokio::test]
async fn upsert_invoice_creates_lines_associations_and_then_the_status() {
    let server = MockServer::start().await;
    hubspot("GET", "/crm/v3/objects/invoices/INV-0042")
        .and(query_param("idProperty", "ledgerhook_key"))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    hubspot("POST", "/crm/v3/objects/invoices")
        .and(body_json(
            json!({"properties": {"hs_currency": "USD", "hs_invoice_date": "2024-03-01",
            "hs_due_date": "2024-03-31", "hs_number": "INV-0042", "ledgerhook_key": "INV-0042"}}),
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
        // Each line item is created already associated with the invoice: one call.
        hubspot("POST", "/crm/v3/objects/line_items")
            .and(body_json(
                json!({"properties": {"name": name, "quantity": quantity, "price": price},
                       "associations": [line_to_invoice("901")]}),
            ))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(json!({"id": id, "properties": {}})),
            )
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
        // A loose match is not Acme Ltd: the company is still created.
        .respond_with(ok(json!({"total": 1, "results": [
            {"id": "6100", "properties": {"name": "Acme Holdings"}}]})))
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
            json!({"properties": {"name": "Widgets", "quantity": "4", "price": "4.115"},
                   "associations": [line_to_invoice("901")]}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "13"})))
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

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"status": "error",
        "message": "Object not found.", "category": "OBJECT_NOT_FOUND"}))
}

/// A line item's association to invoice `id`, as sent in the line item's create.
fn line_to_invoice(id: &str) -> serde_json::Value {
    json!({"to": {"id": id}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
        "associationTypeId": 410}]})
}

#[tokio::test]
async fn a_create_refused_as_a_duplicate_key_finds_the_invoice_made_by_the_lost_attempt() {
    let server = MockServer::start().await;
    mount_kwd_invoice(&server, &map::INVOICE_PROPS.join(",")).await;
    // Not there when first looked up (a search index or a replica behind), there once HubSpot
    // has refused the duplicate.
    hubspot("GET", "/crm/v3/objects/invoices/INV-0042")
        .and(query_param("idProperty", "ledgerhook_key"))
        .respond_with(not_found())
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    hubspot("GET", "/crm/v3/objects/invoices/INV-0042")
        .and(query_param("idProperty", "ledgerhook_key"))
        .respond_with(ok(json!({"id": "901", "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let refused = json!({"status": "error", "category": "VALIDATION_ERROR",
        "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"INV-0042 already has that value. Existing ID: 901\",\"error\":\"DUPLICATE_VALUE\",\"name\":\"ledgerhook_key\"}]"});
    hubspot("POST", "/crm/v3/objects/invoices")
        .and(body_partial_json(
            json!({"properties": {"ledgerhook_key": "INV-0042"}}),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(refused))
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
    hubspot("POST", "/crm/v3/objects/line_items")
        .respond_with(ok(json!({})))
        .expect(0)
        .mount(&server)
        .await;
    hubspot("DELETE", "/crm/v3/objects/line_items/11")
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let hs = client(&server);
    let existing = hs.get_invoice("901").await.expect("read").expect("exists");
    let mut wanted = existing.invoice.clone();
    (wanted.id, wanted.issue_date, wanted.due_date) = ("xero-1".to_owned(), None, None);
    let written = hs
        .upsert_invoice(None, &wanted, None)
        .await
        .expect("the first invoice");
    assert_eq!(written.id(), "901");
    assert_eq!(written.customer_id.as_deref(), Some("contact/151"));
}

#[tokio::test]
async fn a_retry_adds_only_the_line_items_the_invoice_still_lacks() {
    let server = MockServer::start().await;
    hubspot("GET", "/crm/v3/objects/invoices/INV-0042")
        .and(query_param("idProperty", "ledgerhook_key"))
        .respond_with(ok(json!({"id": "901", "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    // The earlier attempt created the invoice and its first line, then lost its answer.
    hubspot("GET", "/crm/v3/objects/invoices/901")
        .and(query_param("associations", "line_items,contacts,companies"))
        .respond_with(ok(json!({"id": "901", "properties": {
            "hs_currency": "USD", "hs_invoice_status": "draft", "hs_number": "INV-0042",
            "ledgerhook_key": "INV-0042", "hs_amount_billed": "1234.50", "hs_balance_due": "1234.50"},
            "associations": {"line_items": {"results": [{"id": "21", "type": "invoice_to_line_item"}]}}})))
        .expect(1)
        .mount(&server)
        .await;
    hubspot("POST", "/crm/v3/objects/line_items/batch/read")
        .respond_with(ok(json!({"status": "COMPLETE", "results": [
            {"id": "21", "properties": {"name": "Consulting", "quantity": "1", "price": "1234.50", "amount": "1234.50"}}]})))
        .mount(&server)
        .await;
    hubspot("POST", "/crm/v3/objects/invoices")
        .respond_with(ok(json!({})))
        .expect(0)
        .mount(&server)
        .await;
    hubspot("POST", "/crm/v3/objects/line_items")
        .and(body_json(
            json!({"properties": {"name": "Stamps", "quantity": "3", "price": "0.10"},
                   "associations": [line_to_invoice("901")]}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "22"})))
        .expect(1)
        .mount(&server)
        .await;
    hubspot("PATCH", "/crm/v3/objects/invoices/901")
        .and(body_json(
            json!({"properties": {"hs_currency": "USD", "hs_invoice_date": "2024-03-01",
            "hs_due_date": "2024-03-31", "hs_number": "INV-0042"}}),
        ))
        .respond_with(ok(json!({"id": "901"})))
        .expect(1)
        .mount(&server)
        .await;
    hubspot("PATCH", "/crm/v3/objects/invoices/901")
        .and(body_json(
            json!({"properties": {"hs_invoice_status": "open"}}),
        ))
        .respond_with(ok(json!({"id": "901"})))
        .expect(1)
        .mount(&server)
        .await;
    let written = client(&server)
        .upsert_invoice(None, &usd_invoice(InvoiceStatus::Open), None)
        .await
        .expect("the retry completes the invoice");
    assert_eq!(
        (written.id(), written.invoice.total),
        ("901", Money::from_minor(123_480, Currency::USD))
    );
}

#[test]
fn duplicates_are_told_from_other_refusals() {
    use super::super::http::Answer;
    let answer = |status: u16, body: serde_json::Value| Answer {
        status,
        bytes: serde_json::to_vec(&body).expect("json"),
        retry_after: None,
    };
    let conflict = json!({"status": "error", "category": "CONFLICT",
        "message": "Invoice already exists. Existing ID: 901"});
    assert!(answer(409, conflict).is_duplicate_of("ledgerhook_key"));
    let duplicate = json!({"status": "error", "category": "VALIDATION_ERROR",
        "message": "Property values were not valid: [{\"message\":\"X already has that value.\",\"name\":\"ledgerhook_key\"}]"});
    assert!(answer(400, duplicate.clone()).is_duplicate_of("ledgerhook_key"));
    assert!(!answer(400, duplicate).is_duplicate_of("other_key"));
    let invalid = json!({"status": "error", "category": "VALIDATION_ERROR",
        "message": "Property values were not valid: [{\"name\":\"hs_currency\"}]"});
    assert!(!answer(400, invalid).is_duplicate_of("ledgerhook_key"));
    assert!(!answer(500, json!({})).is_duplicate_of("ledgerhook_key"));
}
