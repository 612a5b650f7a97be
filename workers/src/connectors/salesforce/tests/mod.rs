//! Wiremock tests of the Salesforce client's reads and customer upserts: the exact SOQL it
//! sends, the records it creates, and the canonical objects it maps the answers to, to the
//! minor unit.

mod errors;
mod refunds;
mod writes;

use std::str::FromStr;

use chrono::NaiveDate;
use ledgerhook_shared::{
    model::{Customer, Invoice, InvoiceStatus},
    money::Currency,
    Money,
};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;
use wiremock::{
    matchers::{body_json, header, method, path, query_param},
    Mock, MockServer, Request, ResponseTemplate,
};

use super::{SalesforceClient, SalesforceOptions};
use crate::{auth::TokenHandle, connectors::CrmApi};

const INVOICE: &str = "a015g00000XyZ12AAB";
const ACCOUNT: &str = "0015g00000AbCdEAAZ";
const CONTACT: &str = "0035g00000AbCdEAAZ";
/// The SELECT list the default options read invoices with.
const INVOICE_FIELDS: &str = "Id, Name, External_Id__c, Amount__c, Amount_Paid__c, Status__c, \
    Due_Date__c, Invoice_Date__c, CurrencyIsoCode, Account__c, Account__r.Name, LastModifiedDate";

fn client_with(server: &MockServer, options: SalesforceOptions) -> SalesforceClient {
    let base = Url::parse(&server.uri()).expect("mock server URL");
    let token = TokenHandle::fixed(SecretString::from("sf-tok".to_owned()));
    SalesforceClient::new(base, token, options)
}

fn client(server: &MockServer) -> SalesforceClient {
    client_with(server, SalesforceOptions::default())
}

/// Every call goes under the REST API version, carries the bearer token and asks for JSON.
fn sf(verb: &str, route: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(format!("/services/data/v60.0{route}")))
        .and(header("authorization", "Bearer sf-tok"))
        .and(header("accept", "application/json"))
}

fn soql(statement: &str) -> wiremock::MockBuilder {
    sf("GET", "/query").and(query_param("q", statement))
}

fn records(records: Value) -> ResponseTemplate {
    let size = records.as_array().map_or(0, Vec::len);
    ResponseTemplate::new(200)
        .set_body_json(json!({"totalSize": size, "done": true, "records": records}))
}

fn saved(id: &str, status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"id": id, "success": true, "errors": [], "created": status == 201}))
}

async fn raw_body(server: &MockServer, verb: &str) -> String {
    let requests: Vec<Request> = server.received_requests().await.expect("recording on");
    let request = requests
        .iter()
        .rfind(|r| r.method.as_str() == verb)
        .expect("request sent");
    String::from_utf8(request.body.clone()).expect("utf-8 body")
}

fn money(amount: &str, code: &str) -> Money {
    let currency = Currency::parse(code).expect("currency");
    Money::new(Decimal::from_str(amount).expect("decimal"), currency).expect("money")
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn usd_invoice(status: InvoiceStatus) -> Invoice {
    Invoice {
        id: "130".to_owned(),
        number: Some("INV-0042".to_owned()),
        status,
        currency: Currency::USD,
        customer: Default::default(),
        lines: Vec::new(),
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

#[tokio::test]
async fn find_invoice_by_number_reads_a_paid_yen_invoice_exactly() {
    let server = MockServer::start().await;
    soql(&format!("SELECT {INVOICE_FIELDS} FROM Invoice__c WHERE Name = 'INV-7' LIMIT 1"))
        .respond_with(records(json!([{
            "attributes": {"type": "Invoice__c", "url": format!("/services/data/v60.0/sobjects/Invoice__c/{INVOICE}")},
            "Id": INVOICE, "Name": "INV-7", "External_Id__c": "INV-7", "Amount__c": 1500.0,
            "Amount_Paid__c": 1500, "Status__c": "Paid", "Due_Date__c": "2024-03-31",
            "Invoice_Date__c": "2024-03-01", "CurrencyIsoCode": "JPY", "Account__c": ACCOUNT,
            "Account__r": {"attributes": {"type": "Account"}, "Name": "Acme KK"},
            "LastModifiedDate": "2024-03-02T10:00:00.000+0000"}])))
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
        (INVOICE, InvoiceStatus::Paid)
    );
    assert_eq!(
        (invoice.total, invoice.amount_paid, invoice.amount_due),
        (yen(1500), Some(yen(1500)), Some(yen(0)))
    );
    assert_eq!(
        (invoice.issue_date, invoice.due_date),
        (date(2024, 3, 1), date(2024, 3, 31))
    );
    assert_eq!(remote.customer_id, Some(format!("account/{ACCOUNT}")));
    assert_eq!(invoice.customer.name.as_deref(), Some("Acme KK"));
    let updated = invoice.updated_at.expect("updated").to_rfc3339();
    assert_eq!(updated, "2024-03-02T10:00:00+00:00");
}

#[tokio::test]
async fn get_invoice_reads_dinars_to_the_fils_and_missing_ids_are_none() {
    let server = MockServer::start().await;
    soql(&format!(
        "SELECT {INVOICE_FIELDS} FROM Invoice__c WHERE Id = '{INVOICE}' LIMIT 1"
    ))
    .respond_with(records(
        json!([{"Id": INVOICE, "Name": "K-1", "Amount__c": 12.345,
            "Amount_Paid__c": 2.345, "Status__c": "Open", "CurrencyIsoCode": "KWD",
            "Account__c": null, "Account__r": null}]),
    ))
    .mount(&server)
    .await;
    soql(&format!(
        "SELECT {INVOICE_FIELDS} FROM Invoice__c WHERE Id = 'a015g00000XyZ99AAB' LIMIT 1"
    ))
    .respond_with(records(json!([])))
    .mount(&server)
    .await;
    let sf = client(&server);
    let remote = sf
        .get_invoice(INVOICE)
        .await
        .expect("read")
        .expect("exists");
    let kwd = |minor| Money::from_minor(minor, Currency::parse("KWD").expect("KWD"));
    let invoice = &remote.invoice;
    assert_eq!(invoice.status, InvoiceStatus::Open);
    assert_eq!(
        (invoice.total, invoice.amount_paid, invoice.amount_due),
        (kwd(12_345), Some(kwd(2_345)), Some(kwd(10_000)))
    );
    assert_eq!(
        (
            remote.customer_id.as_deref(),
            invoice.customer.name.as_deref()
        ),
        (None, None)
    );
    assert_eq!(sf.get_invoice("a015g00000XyZ99AAB").await, Ok(None));
    // Text that cannot be a record id is not sent to Salesforce at all.
    assert_eq!(sf.get_invoice("INV-0042").await, Ok(None));
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
}

#[tokio::test]
async fn get_customer_reads_contacts_and_accounts_by_prefixed_id() {
    let server = MockServer::start().await;
    soql(&format!("SELECT Id, Name, Email, Phone, AccountId, Account.Name, MailingStreet, \
        MailingCity, MailingState, MailingPostalCode, MailingCountry, LastModifiedDate FROM Contact \
        WHERE Id = '{CONTACT}'"))
        .respond_with(records(json!([{"Id": CONTACT, "Name": "Jane Doe", "Email": "jane@acme.test",
            "Phone": "+1 555 0100", "AccountId": ACCOUNT, "Account": {"Name": "Acme"},
            "MailingStreet": "1 Main St\nSuite 2", "MailingCity": "Springfield", "MailingCountry": "US",
            "LastModifiedDate": "2024-03-02T10:00:00.000+0000"}])))
        .mount(&server)
        .await;
    soql(&format!(
        "SELECT Id, Name, Phone, BillingStreet, BillingCity, BillingState, \
        BillingPostalCode, BillingCountry, LastModifiedDate FROM Account WHERE Id = '{ACCOUNT}'"
    ))
    .respond_with(records(json!([])))
    .mount(&server)
    .await;
    let sf = client(&server);
    let jane = sf
        .get_customer(&format!("contact/{CONTACT}"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(jane.id, format!("contact/{CONTACT}"));
    assert_eq!(
        (jane.email.as_deref(), jane.company.as_deref()),
        (Some("jane@acme.test"), Some("Acme"))
    );
    let address = jane.address.expect("address");
    assert_eq!(
        (
            address.line1.as_deref(),
            address.line2.as_deref(),
            address.country.as_deref()
        ),
        (Some("1 Main St"), Some("Suite 2"), Some("US"))
    );
    assert_eq!(
        sf.get_customer(&format!("account/{ACCOUNT}")).await,
        Ok(None)
    );
}

#[tokio::test]
async fn upsert_customer_finds_a_contact_by_email_first() {
    let server = MockServer::start().await;
    soql("SELECT Id, Name, Email FROM Contact WHERE Email = 'jane@acme.test' ORDER BY CreatedDate LIMIT 1")
        .respond_with(records(json!([{"Id": CONTACT, "Name": "Jane Doe", "Email": "jane@acme.test"}])))
        .expect(1)
        .mount(&server)
        .await;
    let jane = Customer {
        id: "58".into(),
        name: Some("Jane Doe".into()),
        email: Some("jane@acme.test".into()),
        ..Customer::default()
    };
    let found = client(&server)
        .upsert_customer(&jane)
        .await
        .expect("upsert");
    assert_eq!(found.id, format!("contact/{CONTACT}"));
    assert_eq!(found.email.as_deref(), Some("jane@acme.test"));
}

#[tokio::test]
async fn upsert_customer_creates_an_account_and_a_contact_when_nothing_matches() {
    let server = MockServer::start().await;
    // Loose answers (another person, another account) are not matches: both are created.
    soql(r"SELECT Id, Name, Email FROM Contact WHERE Email = 'bob@obrien.test' ORDER BY CreatedDate LIMIT 1")
        .respond_with(records(json!([{"Id": CONTACT, "Name": "Jane Doe", "Email": "jane@acme.test"}])))
        .expect(1)
        .mount(&server)
        .await;
    soql(
        r"SELECT Id, Name FROM Account WHERE Name = 'O\'Brien & Sons' ORDER BY CreatedDate LIMIT 1",
    )
    .respond_with(records(
        json!([{"Id": ACCOUNT, "Name": "O'Brien Holdings"}]),
    ))
    .expect(1)
    .mount(&server)
    .await;
    sf("POST", "/sobjects/Account")
        .and(body_json(json!({"Name": "O'Brien & Sons"})))
        .respond_with(saved(ACCOUNT, 201))
        .expect(1)
        .mount(&server)
        .await;
    sf("POST", "/sobjects/Contact")
        .and(body_json(json!({"FirstName": "Bob", "LastName": "O'Brien",
            "Email": "bob@obrien.test", "AccountId": ACCOUNT})))
        .respond_with(saved(CONTACT, 201))
        .expect(1)
        .mount(&server)
        .await;
    let bob = Customer {
        id: "61".into(),
        name: Some("Bob O'Brien".into()),
        company: Some("O'Brien & Sons".into()),
        email: Some("bob@obrien.test".into()),
        ..Customer::default()
    };
    let created = client(&server).upsert_customer(&bob).await.expect("upsert");
    assert_eq!(created.id, format!("contact/{CONTACT}"));
    assert_eq!(created.name.as_deref(), Some("Bob O'Brien"));
}

#[tokio::test]
async fn upsert_customer_without_email_returns_the_account_found_by_name() {
    let server = MockServer::start().await;
    soql("SELECT Id, Name FROM Account WHERE Name = 'Acme' ORDER BY CreatedDate LIMIT 1")
        .respond_with(records(json!([{"Id": ACCOUNT, "Name": "Acme"}])))
        .expect(1)
        .mount(&server)
        .await;
    let acme = Customer {
        id: "60".into(),
        company: Some("Acme".into()),
        ..Customer::default()
    };
    let found = client(&server)
        .upsert_customer(&acme)
        .await
        .expect("upsert");
    assert_eq!(
        (found.id, found.name.as_deref()),
        (format!("account/{ACCOUNT}"), Some("Acme"))
    );
}
