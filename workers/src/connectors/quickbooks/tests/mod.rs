//! Wiremock tests of the QuickBooks Online client's reads: the exact queries it sends (path,
//! `minorversion`, escaped literals) and the canonical objects it maps the answers to, to the
//! minor unit.

mod errors;
mod refunds;
mod writes;

use std::str::FromStr;

use chrono::NaiveDate;
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
    matchers::{header, method, path, query_param},
    Mock, MockServer, Request, ResponseTemplate,
};

use super::{QuickbooksClient, QuickbooksOptions};
use crate::{auth::TokenHandle, connectors::AccountingApi};

const REALM: &str = "9130355";

fn client(server: &MockServer) -> QuickbooksClient {
    let base = Url::parse(&server.uri()).expect("mock server URL");
    let token = TokenHandle::fixed(SecretString::from("qbo-tok".to_owned()));
    QuickbooksClient::new(base, REALM.to_owned(), token, QuickbooksOptions::default())
}

/// Every QuickBooks call goes under the realm, carries the bearer token and the minor version,
/// and asks for JSON.
fn qbo(verb: &str, route: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(format!("/v3/company/{REALM}{route}")))
        .and(query_param("minorversion", "75"))
        .and(header("authorization", "Bearer qbo-tok"))
        .and(header("accept", "application/json"))
}

fn query(statement: &str) -> wiremock::MockBuilder {
    qbo("GET", "/query").and(query_param("query", statement))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// The fault QuickBooks answers a rejected request with.
fn fault(status: u16, code: &str, kind: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"Fault": {"Error": [{
        "Message": "Error", "Detail": detail, "code": code, "element": ""}], "type": kind},
        "time": "2024-03-01T09:00:00.000-08:00"}))
}

async fn raw_body(server: &MockServer, verb: &str, route: &str) -> String {
    let requests: Vec<Request> = server.received_requests().await.expect("recording on");
    let route = format!("/v3/company/{REALM}{route}");
    let request = requests
        .iter()
        .rfind(|r| r.method.as_str() == verb && r.url.path() == route)
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

/// A USD invoice as QuickBooks answers a create or read of `usd_invoice()`.
fn usd_invoice_json(id: &str, sync_token: &str) -> Value {
    json!({"Invoice": {
        "Id": id, "SyncToken": sync_token, "DocNumber": "INV-0042", "TxnDate": "2024-03-01",
        "DueDate": "2024-03-31", "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "CustomerRef": {"value": "58", "name": "Acme Ltd"},
        "Line": [
            {"Id": "1", "LineNum": 1, "Description": "Consulting", "Amount": 1234.50,
             "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}, "Qty": 1, "UnitPrice": 1234.5}},
            {"Id": "2", "LineNum": 2, "Description": "Stamps", "Amount": 0.30,
             "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 3, "UnitPrice": 0.1}},
            {"Amount": 1234.80, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        ],
        "TxnTaxDetail": {"TotalTax": 0}, "TotalAmt": 1234.80, "Balance": 1234.80,
        "MetaData": {"CreateTime": "2024-03-01T09:00:00-08:00", "LastUpdatedTime": "2024-03-01T09:00:00-08:00"}
    }, "time": "2024-03-01T09:00:00.000-08:00"})
}

#[tokio::test]
async fn find_customer_queries_email_then_the_escaped_display_name() {
    let server = MockServer::start().await;
    query("SELECT * FROM Customer WHERE PrimaryEmailAddr = 'ap@obrien.test' MAXRESULTS 1")
        .respond_with(ok(
            json!({"QueryResponse": {}, "time": "2024-03-01T09:00:00.000-08:00"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    // The apostrophe is escaped with a backslash; the colon QuickBooks refuses became a dash.
    query(r"SELECT * FROM Customer WHERE DisplayName = 'O\'Brien- Ltd' MAXRESULTS 1")
        .respond_with(ok(
            json!({"QueryResponse": {"Customer": [{"Id": "58", "SyncToken": "0",
            "DisplayName": "O'Brien- Ltd", "PrimaryEmailAddr": {"Address": "billing@obrien.test"}}],
            "startPosition": 1, "maxResults": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let qbo = client(&server);
    let found = qbo
        .find_customer(Some("ap@obrien.test"), Some("O'Brien: Ltd"))
        .await
        .expect("lookup")
        .expect("found by name");
    assert_eq!(found.id, "58");
    assert_eq!(found.email.as_deref(), Some("billing@obrien.test"));
    assert_eq!(qbo.find_customer(None, Some("  ")).await, Ok(None));
}

#[tokio::test]
async fn a_server_that_ignores_the_customer_where_cannot_pick_somebody_else() {
    let server = MockServer::start().await;
    // Whatever the statement, the first customer of the company comes back.
    qbo("GET", "/query")
        .respond_with(ok(json!({"QueryResponse": {"Customer": [{"Id": "1", "SyncToken": "0",
            "DisplayName": "Amy's Bird Sanctuary", "PrimaryEmailAddr": {"Address": "Birds@Intuit.com"}}],
            "startPosition": 1, "maxResults": 1}})))
        .mount(&server)
        .await;
    let qbo = client(&server);
    let other = qbo
        .find_customer(Some("ap@acme.test"), Some("Acme Ltd"))
        .await
        .expect("lookup");
    assert!(other.is_none(), "Amy is not Acme: {other:?}");
    let amy = qbo
        .find_customer(Some("birds@intuit.com"), None)
        .await
        .expect("lookup")
        .expect("the same email, ignoring case");
    assert_eq!(amy.id, "1");
}

#[tokio::test]
async fn get_customer_maps_the_record_and_object_not_found_is_none() {
    let server = MockServer::start().await;
    qbo("GET", "/customer/58")
        .respond_with(ok(
            json!({"Customer": {"Id": "58", "DisplayName": "Acme Ltd",
            "CompanyName": "Acme", "PrimaryEmailAddr": {"Address": "ap@acme.test"},
            "PrimaryPhone": {"FreeFormNumber": "(555) 555-0100"},
            "BillAddr": {"Line1": "1 Main St", "City": "Bayshore", "CountrySubDivisionCode": "CA",
                         "PostalCode": "94327", "Country": "USA"},
            "MetaData": {"LastUpdatedTime": "2024-03-02T10:00:00-08:00"}}}),
        ))
        .mount(&server)
        .await;
    // QuickBooks answers a read of a missing id with 400 and fault 610, not 404.
    qbo("GET", "/customer/999")
        .respond_with(fault(400, "610", "ValidationFault", "Object Not Found"))
        .mount(&server)
        .await;
    let qbo = client(&server);
    let customer = qbo.get_customer("58").await.expect("read").expect("exists");
    assert_eq!(
        (customer.name.as_deref(), customer.company.as_deref()),
        (Some("Acme Ltd"), Some("Acme"))
    );
    assert_eq!(customer.email.as_deref(), Some("ap@acme.test"));
    assert_eq!(customer.phone.as_deref(), Some("(555) 555-0100"));
    let address = customer.address.expect("address");
    assert_eq!(
        (address.region.as_deref(), address.country.as_deref()),
        (Some("CA"), Some("USA"))
    );
    let updated = customer.updated_at.expect("updated").to_rfc3339();
    assert_eq!(updated, "2024-03-02T18:00:00+00:00");
    assert_eq!(qbo.get_customer("999").await, Ok(None));
}

#[tokio::test]
async fn find_invoice_by_number_maps_a_paid_yen_invoice_exactly() {
    let server = MockServer::start().await;
    query("SELECT * FROM Invoice WHERE DocNumber = 'INV-7'")
        .respond_with(ok(json!({"QueryResponse": {"Invoice": [{
            "Id": "130", "SyncToken": "4", "DocNumber": "INV-7", "TxnDate": "2024-03-01",
            "CurrencyRef": {"value": "JPY"}, "CustomerRef": {"value": "58", "name": "Acme KK"},
            "BillEmail": {"Address": "ap@acme.jp"},
            "Line": [{"Id": "1", "Description": "Tea", "Amount": 1500, "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"Qty": 3, "UnitPrice": 500}}],
            "TotalAmt": 1500, "Balance": 0,
            "MetaData": {"LastUpdatedTime": "2024-03-05T12:00:00+09:00"}}],
            "startPosition": 1, "maxResults": 1}})))
        .expect(1)
        .mount(&server)
        .await;
    let remote = client(&server)
        .find_invoice_by_number("INV-7")
        .await
        .expect("lookup")
        .expect("found");
    let invoice = &remote.invoice;
    let yen = |n| Money::from_minor(n, Currency::JPY);
    assert_eq!(
        (invoice.id.as_str(), invoice.status),
        ("130", InvoiceStatus::Paid)
    );
    assert_eq!(
        (invoice.total, invoice.amount_paid, invoice.amount_due),
        (yen(1500), Some(yen(1500)), Some(yen(0)))
    );
    let l = &invoice.lines[0];
    assert_eq!(
        (l.quantity, l.unit_price, l.amount),
        (dec("3"), dec("500"), yen(1500))
    );
    assert_eq!(remote.customer_id.as_deref(), Some("58"));
    assert_eq!(invoice.customer.name.as_deref(), Some("Acme KK"));
    assert_eq!(invoice.customer.email.as_deref(), Some("ap@acme.jp"));
    assert_eq!(
        invoice.updated_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-03-05T03:00:00+00:00")
    );
}

#[tokio::test]
async fn get_invoice_maps_a_partly_paid_dinar_invoice_and_missing_ones_are_none() {
    let server = MockServer::start().await;
    qbo("GET", "/invoice/131")
        .respond_with(ok(json!({"Invoice": {"Id": "131", "SyncToken": "1", "DocNumber": "K-1",
            "CurrencyRef": {"value": "KWD"}, "CustomerRef": {"value": "60"},
            "Line": [{"Id": "1", "Amount": 12.35, "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"Qty": 2.5, "UnitPrice": 4.94}},
                     {"Amount": 12.35, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}],
            "TxnTaxDetail": {"TotalTax": 0}, "TotalAmt": 12.35, "Balance": 10.00,
            "TxnDate": "2024-03-01", "DueDate": "2024-03-31"}})))
        .mount(&server)
        .await;
    qbo("GET", "/invoice/404")
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    qbo("GET", "/invoice/610")
        .respond_with(fault(400, "610", "ValidationFault", "Object Not Found"))
        .mount(&server)
        .await;
    let qbo = client(&server);
    let remote = qbo.get_invoice("131").await.expect("read").expect("exists");
    let kwd = |minor| Money::from_minor(minor, Currency::parse("KWD").expect("KWD"));
    let invoice = &remote.invoice;
    assert_eq!(invoice.status, InvoiceStatus::Open);
    assert_eq!(
        (invoice.total, invoice.subtotal, invoice.tax),
        (kwd(12_350), Some(kwd(12_350)), Some(kwd(0)))
    );
    assert_eq!(
        (invoice.amount_due, invoice.amount_paid),
        (Some(kwd(10_000)), Some(kwd(2_350)))
    );
    assert_eq!(invoice.total.amount.to_string(), "12.350");
    assert_eq!(
        (invoice.lines[0].quantity, invoice.lines[0].unit_price),
        (dec("2.5"), dec("4.94"))
    );
    assert_eq!(
        (invoice.issue_date, invoice.due_date),
        (date(2024, 3, 1), date(2024, 3, 31))
    );
    assert_eq!(qbo.get_invoice("404").await, Ok(None));
    assert_eq!(qbo.get_invoice("610").await, Ok(None));
}

#[tokio::test]
async fn a_voided_invoice_reads_as_void_with_zero_amounts() {
    // The shape of Intuit's "Voiding Invoice Objects" example: amounts zeroed, PrivateNote
    // "Voided" (prepended to any existing note).
    let server = MockServer::start().await;
    qbo("GET", "/invoice/207")
        .respond_with(ok(
            json!({"Invoice": {"Id": "207", "SyncToken": "2", "DocNumber": "1067",
            "CurrencyRef": {"value": "USD"}, "PrivateNote": "Voided - wrong customer",
            "Line": [{"Id": "1", "Amount": 0, "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"ItemRef": {"value": "1"}}},
                     {"Amount": 0, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}],
            "TotalAmt": 0, "Balance": 0, "CustomerRef": {"value": "1", "name": "Amy"}}}),
        ))
        .mount(&server)
        .await;
    let remote = client(&server)
        .get_invoice("207")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(remote.invoice.status, InvoiceStatus::Void);
    assert_eq!(remote.invoice.total, Money::zero(Currency::USD));
}
