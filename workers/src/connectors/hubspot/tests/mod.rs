//! Wiremock tests of the HubSpot client: the exact requests it sends (paths, query, string
//! amounts, association calls) and the canonical objects it maps the answers to.

mod refunds;
mod writes;

use std::{str::FromStr, time::Duration};

use chrono::NaiveDate;
use futures::FutureExt;
use ledgerhook_shared::{
    model::{Invoice, InvoiceLine, InvoiceStatus},
    money::Currency,
    Money,
};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;
use wiremock::{
    matchers::{body_json, header, method, path, query_param},
    Mock, MockServer, ResponseTemplate,
};

use super::{map, HubspotClient, HubspotOptions};
use crate::{
    auth::TokenHandle,
    connectors::{ApplyError, CrmApi, RemoteInvoice},
};

fn client_with(server: &MockServer, options: HubspotOptions) -> HubspotClient {
    let base = Url::parse(&server.uri()).expect("mock server URL");
    let token = TokenHandle::fixed(SecretString::from("pat-na1-123".to_owned()));
    HubspotClient::new(base, token, options)
}

fn client(server: &MockServer) -> HubspotClient {
    client_with(server, HubspotOptions::default())
}

/// Every HubSpot call carries the bearer token and asks for JSON.
fn hubspot(verb: &str, route: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("authorization", "Bearer pat-na1-123"))
        .and(header("accept", "application/json"))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn money(amount: &str, code: &str) -> Money {
    let currency = Currency::parse(code).expect("currency");
    Money::new(Decimal::from_str(amount).expect("decimal"), currency).expect("money")
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn line(description: &str, quantity: i64, unit: &str, amount: Money) -> InvoiceLine {
    InvoiceLine {
        id: None,
        description: description.to_owned(),
        quantity: Decimal::from(quantity),
        unit_price: Decimal::from_str(unit).expect("decimal"),
        amount,
    }
}

fn usd_invoice(status: InvoiceStatus) -> Invoice {
    Invoice {
        id: "inv-1".to_owned(),
        number: Some("INV-0042".to_owned()),
        status,
        currency: Currency::USD,
        customer: Default::default(),
        lines: vec![
            line("Consulting", 1, "1234.5", money("1234.50", "USD")),
            line("Stamps", 3, "0.1", money("0.30", "USD")),
        ],
        subtotal: None,
        tax: None,
        total: money("1234.80", "USD"),
        amount_paid: None,
        amount_due: None,
        issue_date: date(2024, 3, 1),
        due_date: date(2024, 3, 31),
        updated_at: None,
    }
}

/// Mounts a KWD invoice 901 with two line items and a contact, as HubSpot returns them, for a
/// read asking for `properties`.
async fn mount_kwd_invoice(server: &MockServer, properties: &str) {
    hubspot("GET", "/crm/v3/objects/invoices/901")
        .and(query_param("associations", "line_items,contacts,companies"))
        .and(query_param("properties", properties))
        .respond_with(ok(json!({"id": "901", "properties": {
            "hs_currency": "KWD", "hs_invoice_status": "open", "hs_number": "INV-0042",
            "ledgerhook_number": "LH-42",
            "hs_invoice_date": "2024-03-01T00:00:00Z", "hs_due_date": "1711843200000",
            "hs_amount_billed": "12.345", "hs_balance_due": "10.000",
            "hs_lastmodifieddate": "2024-03-02T10:00:00.000Z"},
            "associations": {
                "line items": {"results": [{"id": "11", "type": "invoice_to_line_item"},
                                           {"id": "12", "type": "invoice_to_line_item"}]},
                "contacts": {"results": [{"id": "151", "type": "invoice_to_contact"}]}}})))
        .mount(server)
        .await;
    hubspot("POST", "/crm/v3/objects/line_items/batch/read")
        .and(body_json(json!({"properties": map::LINE_PROPS,
            "inputs": [{"id": "11"}, {"id": "12"}]})))
        .respond_with(ok(json!({"status": "COMPLETE", "results": [
            {"id": "11", "properties": {"name": "Widgets", "quantity": "3", "price": "4.115", "amount": "12.345"}},
            {"id": "12", "properties": {"name": "Sample", "quantity": "1", "price": "0", "amount": "0.000"}}]})))
        .mount(server)
        .await;
    hubspot("GET", "/crm/v3/objects/contacts/151")
        .and(query_param("properties", map::CONTACT_PROPS.join(",")))
        .respond_with(ok(
            json!({"id": "151", "properties": {"email": "ap@acme.test",
            "firstname": "Ada", "lastname": "Lovelace", "company": "Acme"}}),
        ))
        .mount(server)
        .await;
}

#[tokio::test]
async fn get_invoice_reads_associations_and_line_items_to_the_fils() {
    let server = MockServer::start().await;
    mount_kwd_invoice(&server, &map::INVOICE_PROPS.join(",")).await;
    hubspot("GET", "/crm/v3/objects/invoices/404")
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"status": "error",
            "message": "Object not found.", "category": "OBJECT_NOT_FOUND"})),
        )
        .mount(&server)
        .await;
    let hs = client(&server);
    let RemoteInvoice {
        invoice,
        customer_id,
    } = hs.get_invoice("901").await.expect("read").expect("exists");
    let kwd = |minor| Money::from_minor(minor, Currency::parse("KWD").expect("KWD"));
    assert_eq!(
        (invoice.status, invoice.number.as_deref()),
        (InvoiceStatus::Open, Some("INV-0042"))
    );
    assert_eq!(
        (invoice.total, invoice.amount_due, invoice.amount_paid),
        (kwd(12_345), Some(kwd(10_000)), Some(kwd(2_345)))
    );
    let amounts: Vec<Money> = invoice.lines.iter().map(|l| l.amount).collect();
    assert_eq!(amounts, [kwd(12_345), kwd(0)]);
    assert_eq!(invoice.lines[0].unit_price.to_string(), "4.115");
    assert_eq!(
        (invoice.issue_date, invoice.due_date),
        (date(2024, 3, 1), date(2024, 3, 31))
    );
    assert_eq!(customer_id.as_deref(), Some("contact/151"));
    let who = (
        invoice.customer.name.as_deref(),
        invoice.customer.email.as_deref(),
    );
    assert_eq!(who, (Some("Ada Lovelace"), Some("ap@acme.test")));
    assert_eq!(hs.get_invoice("404").await, Ok(None));
}

#[tokio::test]
async fn find_invoice_by_number_searches_the_configured_property() {
    let server = MockServer::start().await;
    let properties = format!("{},ledgerhook_number", map::INVOICE_PROPS.join(","));
    mount_kwd_invoice(&server, &properties).await;
    let search = |number: &str| {
        body_json(
            json!({"filterGroups": [{"filters": [{"propertyName": "ledgerhook_number",
            "operator": "EQ", "value": number}]}], "properties": ["hs_object_id"], "limit": 1}),
        )
    };
    hubspot("POST", "/crm/v3/objects/invoices/search")
        .and(search("LH-42"))
        .respond_with(ok(
            json!({"total": 1, "results": [{"id": "901", "properties": {}}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    hubspot("POST", "/crm/v3/objects/invoices/search")
        .and(search("INV-9"))
        .respond_with(ok(json!({"total": 0, "results": []})))
        .expect(1)
        .mount(&server)
        .await;
    // A search that matched loosely: invoice 901 is LH-42, not LH-43.
    hubspot("POST", "/crm/v3/objects/invoices/search")
        .and(search("LH-43"))
        .respond_with(ok(
            json!({"total": 1, "results": [{"id": "901", "properties": {}}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let options = HubspotOptions {
        number_property: "ledgerhook_number".to_owned(),
        ..HubspotOptions::default()
    };
    let hs = client_with(&server, options);
    assert_eq!(hs.find_invoice_by_number("INV-9").await, Ok(None));
    assert_eq!(
        hs.find_invoice_by_number("LH-43").await,
        Ok(None),
        "another number is not this invoice"
    );
    let found = hs.find_invoice_by_number("LH-42").await.expect("search");
    let found = found.expect("found by the custom property");
    assert_eq!(
        (found.id(), found.invoice.number.as_deref()),
        ("901", Some("LH-42"))
    );
}

#[tokio::test]
async fn get_customer_reads_contacts_and_companies_by_prefixed_id() {
    let server = MockServer::start().await;
    hubspot("GET", "/crm/v3/objects/contacts/151")
        .and(query_param("properties", map::CONTACT_PROPS.join(",")))
        .respond_with(ok(json!({"id": "151", "updatedAt": "2024-03-02T10:00:00Z", "properties": {
            "email": "jane@example.com", "firstname": "Jane", "lastname": "Doe", "city": "Boston"}})))
        .mount(&server)
        .await;
    hubspot("GET", "/crm/v3/objects/companies/6200")
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let hs = client(&server);
    let jane = hs
        .get_customer("contact/151")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (jane.id.as_str(), jane.name.as_deref()),
        ("contact/151", Some("Jane Doe"))
    );
    assert_eq!(jane.address.and_then(|a| a.city).as_deref(), Some("Boston"));
    assert_eq!(hs.get_customer("company/6200").await, Ok(None));
    let bad = hs.get_customer("deal/5").await;
    assert!(matches!(bad, Err(ApplyError::Permanent { .. })), "{bad:?}");
}

#[tokio::test]
async fn failures_are_classified_for_the_retry_ladder() {
    let server = MockServer::start().await;
    let answer = |status: u16, body: Value| ResponseTemplate::new(status).set_body_json(body);
    let get = |id: &str| hubspot("GET", &format!("/crm/v3/objects/contacts/{id}"));
    get("1")
        .respond_with(answer(429, json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"})).insert_header("retry-after", "2"))
        .mount(&server)
        .await;
    get("2")
        .respond_with(answer(502, json!({})))
        .mount(&server)
        .await;
    get("3")
        .respond_with(answer(
            401,
            json!({"status": "error", "message": "Authentication credentials not found.",
        "category": "INVALID_AUTHENTICATION"}),
        ))
        .mount(&server)
        .await;
    hubspot("PATCH", "/crm/v3/objects/invoices/9")
        .respond_with(answer(400, json!({"status": "error", "message": "Property values were not valid",
            "category": "VALIDATION_ERROR", "errors": [{"message": "voidd was not one of the allowed options",
            "code": "INVALID_OPTION"}]})))
        .mount(&server)
        .await;
    let hs = client(&server);
    let limited = hs.get_customer("contact/1").await;
    assert!(
        matches!(&limited, Err(ApplyError::Transient { retry_after: Some(d), .. }) if *d == Duration::from_secs(2)),
        "{limited:?}"
    );
    assert!(
        hs.limiter().acquire().now_or_never().is_none(),
        "the portal is paused"
    );
    let hs = client(&server);
    assert!(matches!(
        hs.get_customer("contact/2").await,
        Err(ApplyError::Transient { .. })
    ));
    // A static token cannot be renewed (invalidate is a no-op for it): the 401 is transient.
    assert!(matches!(
        hs.get_customer("contact/3").await,
        Err(ApplyError::Transient { .. })
    ));
    let mut invoice = usd_invoice(InvoiceStatus::Open);
    invoice.id = "9".to_owned();
    let existing = RemoteInvoice {
        invoice,
        customer_id: None,
    };
    let rejected = hs.set_invoice_status(&existing, InvoiceStatus::Paid).await;
    let Err(ApplyError::Permanent { reason }) = rejected else {
        panic!("expected a permanent failure, got {rejected:?}");
    };
    assert!(
        reason.contains("voidd was not one of the allowed options"),
        "{reason}"
    );
}

#[test]
fn amounts_are_strings_with_the_currency_decimals() {
    let d = |s: &str| Decimal::from_str(s).expect("decimal");
    assert_eq!(map::amount_text(d("20"), 2), "20.00");
    assert_eq!(map::amount_text(d("1500.00"), 0), "1500");
    assert_eq!(map::amount_text(d("12.345"), 3), "12.345");
    assert_eq!(map::amount_text(d("0.1234567"), 2), "0.1234567");
    let yen = line("Tea", 3, "500", Money::from_minor(1500, Currency::JPY));
    assert_eq!(map::line_props(&yen)["price"], "500");
    let discounted = line("Seat", 2, "10", money("15.00", "USD"));
    let props = map::line_props(&discounted);
    assert_eq!(
        (props["quantity"].as_str(), props["price"].as_str()),
        ("1", "15.00")
    );
}
