//! Wiremock tests of the Xero client: the exact requests it sends (path, query, headers, body
//! numbers) and the canonical objects it maps the answers to, to the minor unit.

mod refunds;
mod writes;

use std::{str::FromStr, time::Duration};

use chrono::NaiveDate;
use futures::FutureExt;
use ledgerhook_shared::{
    model::{Customer, Invoice, InvoiceLine, InvoiceStatus},
    money::Currency,
    Money,
};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;
use wiremock::{
    matchers::{header, method, path, query_param},
    Mock, MockServer, Request, ResponseTemplate,
};

use super::{http::idempotency_key, xero_string, XeroClient, XeroOptions};
use crate::{
    auth::TokenHandle,
    connectors::{AccountingApi, ApplyError, RemoteInvoice},
};

const TENANT: &str = "7d3c8b1e-0000-4000-8000-000000000001";
const API: &str = "/api.xro/2.0";

fn client(server: &MockServer) -> XeroClient {
    let base = Url::parse(&server.uri()).expect("mock server URL");
    let token = TokenHandle::fixed(SecretString::from("tok-123".to_owned()));
    XeroClient::new(base, TENANT.to_owned(), token, XeroOptions::default())
}

/// Every Xero call carries the bearer token, the tenant and asks for JSON.
fn xero(verb: &str, route: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(format!("{API}{route}")))
        .and(header("authorization", "Bearer tok-123"))
        .and(header("xero-tenant-id", TENANT))
        .and(header("accept", "application/json"))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn raw_body(server: &MockServer, verb: &str) -> String {
    let requests: Vec<Request> = server.received_requests().await.expect("recording on");
    let request = requests
        .iter()
        .find(|r| r.method.as_str() == verb)
        .expect("request sent");
    String::from_utf8(request.body.clone()).expect("utf-8 body")
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn money(amount: &str, code: &str) -> Money {
    Money::new(dec(amount), Currency::parse(code).expect("currency")).expect("money")
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn line(description: &str, quantity: &str, unit: &str, amount: Money) -> InvoiceLine {
    InvoiceLine {
        id: None,
        description: description.to_owned(),
        quantity: dec(quantity),
        unit_price: dec(unit),
        amount,
    }
}

fn usd_invoice() -> Invoice {
    Invoice {
        id: "in_1".to_owned(),
        number: Some("INV-0042".to_owned()),
        status: InvoiceStatus::Open,
        currency: Currency::USD,
        customer: Default::default(),
        lines: vec![
            line("Consulting", "1", "1234.5", money("1234.50", "USD")),
            line("Stamps", "3", "0.1", money("0.30", "USD")),
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

/// A KWD invoice as Xero returns it: three-decimal amounts, `/Date(...)/` timestamps.
fn kwd_invoice_json() -> Value {
    json!({"Invoices": [{
        "Type": "ACCREC", "InvoiceID": "inv-1", "InvoiceNumber": "INV-0042", "Status": "AUTHORISED",
        "Contact": {"ContactID": "c-1", "Name": "Acme", "EmailAddress": "ap@acme.test"},
        "Date": "/Date(1709251200000+0000)/", "DueDate": "/Date(1711843200000+0000)/",
        "LineAmountTypes": "NoTax",
        "LineItems": [{"LineItemID": "li-1", "Description": "Widgets", "Quantity": 3.0000,
                       "UnitAmount": 4.115, "LineAmount": 12.345, "AccountCode": "200"}],
        "SubTotal": 12.345, "TotalTax": 0.000, "Total": 12.345, "AmountDue": 10.000,
        "AmountPaid": 2.345, "UpdatedDateUTC": "/Date(1573755038314+0000)/", "CurrencyCode": "KWD"
    }]})
}

#[tokio::test]
async fn find_customer_tries_email_then_the_escaped_name() {
    let server = MockServer::start().await;
    xero("GET", "/Contacts")
        .and(query_param("where", r#"EmailAddress=="jane@example.com""#))
        .respond_with(ok(json!({"Contacts": []})))
        .expect(1)
        .mount(&server)
        .await;
    xero("GET", "/Contacts")
        .and(query_param("where", r#"Name=="Jane \"JJ\" Doe""#))
        .respond_with(ok(
            json!({"Contacts": [{"ContactID": "c-9", "Name": "Jane \"JJ\" Doe"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let found = client(&server)
        .find_customer(Some("jane@example.com"), Some(r#"Jane "JJ" Doe"#))
        .await
        .expect("lookup");
    let found = found.expect("found by name");
    assert_eq!((found.id.as_str(), found.email), ("c-9", None));
}

#[tokio::test]
async fn a_server_that_ignores_the_contact_filter_cannot_pick_somebody_else() {
    let server = MockServer::start().await;
    // Every contact, whatever the filter: only the one that really matches is taken.
    xero("GET", "/Contacts")
        .respond_with(ok(json!({"Contacts": [
            {"ContactID": "c-1", "Name": "Globex", "EmailAddress": "ap@globex.test"},
            {"ContactID": "c-2", "Name": "Acme Ltd", "EmailAddress": "AP@Acme.test"}
        ]})))
        .mount(&server)
        .await;
    let xero = client(&server);
    let by_email = xero
        .find_customer(Some("ap@acme.test"), None)
        .await
        .expect("lookup")
        .expect("found by email, ignoring case");
    assert_eq!(by_email.id, "c-2");
    let by_name = xero
        .find_customer(Some("nobody@initech.test"), Some("Acme Ltd"))
        .await
        .expect("lookup")
        .expect("found by name");
    assert_eq!(by_name.id, "c-2");
    let none = xero
        .find_customer(Some("nobody@initech.test"), Some("Initech"))
        .await
        .expect("lookup");
    assert!(none.is_none(), "no contact matches: {none:?}");
}

#[tokio::test]
async fn get_customer_maps_the_contact_and_a_missing_one_is_none() {
    let server = MockServer::start().await;
    xero("GET", "/Contacts/c-1")
        .respond_with(ok(json!({"Contacts": [{
            "ContactID": "c-1", "Name": "Acme Ltd", "EmailAddress": "ap@acme.test",
            "Phones": [{"PhoneType": "DDI", "PhoneNumber": ""},
                       {"PhoneType": "DEFAULT", "PhoneAreaCode": "212", "PhoneNumber": "555-0100"}],
            "Addresses": [{"AddressType": "POBOX", "City": "Anytown", "Country": "USA"}],
            "UpdatedDateUTC": "/Date(1551747281053+0000)/"
        }]})))
        .mount(&server)
        .await;
    xero("GET", "/Contacts/c-404")
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let xero = client(&server);
    let customer = xero
        .get_customer("c-1")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(customer.name.as_deref(), Some("Acme Ltd"));
    assert_eq!(customer.phone.as_deref(), Some("212 555-0100"));
    let address = customer.address.expect("address");
    assert_eq!(
        (address.city.as_deref(), address.country.as_deref()),
        (Some("Anytown"), Some("USA"))
    );
    let updated = customer.updated_at.expect("updated").timestamp_millis();
    assert_eq!(updated, 1_551_747_281_053);
    assert_eq!(xero.get_customer("c-404").await, Ok(None));
}

#[tokio::test]
async fn find_invoice_by_number_filters_on_invoice_numbers_in_yen() {
    let server = MockServer::start().await;
    xero("GET", "/Invoices")
        .and(query_param("InvoiceNumbers", "INV-7"))
        .and(query_param("page", "1"))
        .and(query_param("unitdp", "4"))
        .respond_with(ok(json!({"Invoices": [
            {"Type": "ACCREC", "InvoiceID": "inv-old", "InvoiceNumber": "INV-7", "Status": "DELETED",
             "CurrencyCode": "JPY", "Total": 1.00},
            {"Type": "ACCREC", "InvoiceID": "inv-7", "InvoiceNumber": "INV-7", "Status": "PAID",
             "CurrencyCode": "JPY", "Contact": {"ContactID": "c-1"},
             "LineItems": [{"Description": "Tea", "Quantity": 3.0, "UnitAmount": 500.00, "LineAmount": 1500.00}],
             "SubTotal": 1500.00, "TotalTax": 0.00, "Total": 1500.00, "AmountDue": 0.00, "AmountPaid": 1500.00}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let found = client(&server)
        .find_invoice_by_number("INV-7")
        .await
        .expect("lookup");
    let RemoteInvoice {
        invoice,
        customer_id,
    } = found.expect("the live invoice");
    assert_eq!(
        (invoice.id.as_str(), invoice.status),
        ("inv-7", InvoiceStatus::Paid)
    );
    assert_eq!(invoice.total, Money::from_minor(1500, Currency::JPY));
    assert_eq!(
        invoice.amount_paid,
        Some(Money::from_minor(1500, Currency::JPY))
    );
    assert_eq!(invoice.lines[0].amount.amount.to_string(), "1500");
    assert_eq!(customer_id.as_deref(), Some("c-1"));
}

#[tokio::test]
async fn get_invoice_maps_three_decimal_amounts_and_dates_exactly() {
    let server = MockServer::start().await;
    xero("GET", "/Invoices/inv-1")
        .and(query_param("unitdp", "4"))
        .respond_with(ok(kwd_invoice_json()))
        .mount(&server)
        .await;
    xero("GET", "/Invoices/nope")
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let xero = client(&server);
    let remote = xero
        .get_invoice("inv-1")
        .await
        .expect("read")
        .expect("exists");
    let kwd = |minor| Money::from_minor(minor, Currency::parse("KWD").expect("KWD"));
    let invoice = &remote.invoice;
    assert_eq!(
        (invoice.status, invoice.number.as_deref()),
        (InvoiceStatus::Open, Some("INV-0042"))
    );
    assert_eq!(
        (invoice.total, invoice.subtotal, invoice.tax),
        (kwd(12_345), Some(kwd(12_345)), Some(kwd(0)))
    );
    assert_eq!(
        (invoice.amount_due, invoice.amount_paid),
        (Some(kwd(10_000)), Some(kwd(2_345)))
    );
    let l = &invoice.lines[0];
    assert_eq!(
        (l.quantity, l.unit_price, l.amount),
        (dec("3"), dec("4.115"), kwd(12_345))
    );
    assert_eq!(
        (invoice.issue_date, invoice.due_date),
        (date(2024, 3, 1), date(2024, 3, 31))
    );
    let updated = invoice.updated_at.expect("updated").to_rfc3339();
    assert_eq!(updated, "2019-11-14T18:10:38.314+00:00");
    assert_eq!(invoice.customer.email.as_deref(), Some("ap@acme.test"));
    assert_eq!(xero.get_invoice("nope").await, Ok(None));
}

#[tokio::test]
async fn failures_are_classified_for_the_retry_ladder() {
    let server = MockServer::start().await;
    let answer = |status: u16, body: Value| ResponseTemplate::new(status).set_body_json(body);
    xero("GET", "/Invoices/limited")
        .respond_with(answer(429, json!({})).insert_header("retry-after", "7"))
        .mount(&server)
        .await;
    xero("GET", "/Invoices/broken")
        .respond_with(answer(500, json!({"Message": "An error occurred"})))
        .mount(&server)
        .await;
    xero("GET", "/Invoices/expired")
        .respond_with(answer(401, json!({"Title": "Unauthorized"})))
        .mount(&server)
        .await;
    xero("PUT", "/Contacts")
        .respond_with(answer(400, json!({"ErrorNumber": 10, "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": "The contact name Jane is already assigned to another contact."}]}]})))
        .mount(&server)
        .await;
    let xero = client(&server);
    let limited = xero.get_invoice("limited").await;
    assert!(
        matches!(&limited, Err(ApplyError::Transient { retry_after: Some(d), .. }) if *d == Duration::from_secs(7)),
        "{limited:?}"
    );
    assert!(
        xero.limiter().acquire().now_or_never().is_none(),
        "the tenant is paused"
    );

    let xero = client(&server);
    assert!(matches!(
        xero.get_invoice("broken").await,
        Err(ApplyError::Transient { .. })
    ));
    // A static token cannot be renewed (TokenHandle::invalidate is a no-op for it), so the
    // observable outcome is a transient failure the retry ladder will repeat.
    assert!(matches!(
        xero.get_invoice("expired").await,
        Err(ApplyError::Transient { .. })
    ));
    let customer = Customer {
        id: "x".into(),
        name: Some("Jane".into()),
        ..Customer::default()
    };
    let rejected = xero.create_customer(&customer, "k").await;
    let Err(ApplyError::Permanent { reason }) = rejected else {
        panic!("expected a permanent failure, got {rejected:?}");
    };
    assert!(
        reason.contains("already assigned to another contact"),
        "{reason}"
    );
}

#[test]
fn where_literals_and_long_keys_are_made_safe() {
    assert_eq!(xero_string(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(idempotency_key("short"), "short");
    let long = "k".repeat(200);
    let key = idempotency_key(&long);
    assert!(key.len() <= 128 && key.starts_with("kkkk"), "{key}");
    assert_ne!(key, idempotency_key(&format!("{long}x")));
}
