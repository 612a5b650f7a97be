//! Black-box tests of ledgerhook-sandbox: the Xero, QuickBooks Online, HubSpot, Salesforce and
//! Stripe simulators over HTTP, their webhooks checked with the router's own verification, OAuth
//! rotation, limits and faults.

#[path = "sandbox/support.rs"]
mod support;

#[path = "sandbox/dump.rs"]
mod dump;
#[path = "sandbox/hubspot.rs"]
mod hubspot;
#[path = "sandbox/operations.rs"]
mod operations;
#[path = "sandbox/quickbooks.rs"]
mod quickbooks;
#[path = "sandbox/refunds.rs"]
mod refunds;
#[path = "sandbox/salesforce.rs"]
mod salesforce;
#[path = "sandbox/stripe.rs"]
mod stripe;

use std::time::Duration;

use ledgerhook_shared::{config::ProviderKind, EventType};
use reqwest::Method;
use serde_json::{json, Value};
use support::*;

async fn create_contact(env: &Env, name: &str, email: &str) -> String {
    let answer = env
        .xero(Method::PUT, "Contacts")
        .json(&json!({ "Contacts": [{ "Name": name, "EmailAddress": email }] }))
        .send()
        .await
        .expect("contact");
    let contact = body(answer, 200).await;
    contact["Contacts"][0]["ContactID"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// An AUTHORISED invoice of 0.10 + 0.20 + 3 × 33.33 = 100.29, written as literal JSON numbers.
fn invoice_body(contact: &str, number: &str) -> String {
    format!(
        r#"{{"Invoices":[{{"Type":"ACCREC","Contact":{{"ContactID":"{contact}"}},
        "InvoiceNumber":"{number}","Reference":"ref {number}","Date":"2024-06-01","DueDate":"2024-07-01",
        "Status":"AUTHORISED","CurrencyCode":"NZD","LineAmountTypes":"Exclusive",
        "LineItems":[
          {{"Description":"Ten cents","Quantity":1,"UnitAmount":0.10,"AccountCode":"200"}},
          {{"Description":"Twenty cents","Quantity":1,"UnitAmount":0.2,"LineAmount":0.20,"AccountCode":"200"}},
          {{"Description":"Thirds","Quantity":3,"UnitAmount":33.33,"AccountCode":"200"}}]}}]}}"#
    )
}

async fn create_invoice(env: &Env, contact: &str, number: &str) -> Value {
    let answer = env
        .xero(Method::PUT, "Invoices")
        .header("Content-Type", "application/json")
        .body(invoice_body(contact, number))
        .send()
        .await
        .expect("invoice");
    body(answer, 200).await["Invoices"][0].clone()
}

async fn pay(env: &Env, invoice: &str, amount: &str) -> reqwest::Response {
    let payment = format!(
        r#"{{"Payments":[{{"Invoice":{{"InvoiceID":"{invoice}"}},"Account":{{"Code":"090"}},"Date":"2024-06-15","Amount":{amount},"Reference":"bank transfer"}}]}}"#
    );
    env.xero(Method::PUT, "Payments")
        .header("Content-Type", "application/json")
        .body(payment)
        .send()
        .await
        .expect("payment")
}

#[tokio::test]
async fn xero_contact_invoice_and_payments_add_up_to_the_cent_and_are_announced() {
    let env = Env::start().await;
    let contact = create_contact(&env, "Jenny Rosen", "jenny@example.com").await;

    let found = env
        .xero(Method::GET, "Contacts")
        .query(&[("where", r#"EmailAddress=="JENNY@example.com""#)])
        .send()
        .await
        .expect("where");
    let found = body(found, 200).await;
    assert_eq!(found["Contacts"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["Contacts"][0]["ContactID"], contact.as_str());

    let invoice = create_invoice(&env, &contact, "INV-100").await;
    let id = invoice["InvoiceID"].as_str().expect("id").to_owned();
    assert_eq!(dec(&invoice["SubTotal"]), d("100.29"));
    assert_eq!(dec(&invoice["TotalTax"]), d("0"));
    assert_eq!(dec(&invoice["Total"]), d("100.29"));
    assert_eq!(dec(&invoice["AmountDue"]), d("100.29"));
    assert_eq!(dec(&invoice["LineItems"][2]["LineAmount"]), d("99.99"));
    assert_eq!(invoice["Status"], "AUTHORISED");
    let updated = invoice["UpdatedDateUTC"].as_str().expect("updated");
    assert!(
        updated.starts_with("/Date(") && updated.ends_with("+0000)/"),
        "{updated}"
    );

    let first = text(pay(&env, &id, "60.19").await, 200).await;
    // Amounts are written as exact two-decimal JSON numbers, never through a float.
    assert!(first.contains(r#""AmountDue":40.10"#), "{first}");
    let over = body(pay(&env, &id, "40.11").await, 400).await;
    assert_eq!(over["Type"], "ValidationException");
    assert_eq!(
        over["Elements"][0]["ValidationErrors"][0]["Message"],
        "Payment amount exceeds the amount outstanding on this document"
    );
    let last = body(pay(&env, &id, "40.10").await, 200).await;
    assert_eq!(last["Payments"][0]["Status"], "AUTHORISED");
    assert_eq!(last["Payments"][0]["PaymentType"], "ACCRECPAYMENT");

    let read = env
        .xero(Method::GET, &format!("Invoices/{id}"))
        .send()
        .await
        .expect("get");
    let read = text(read, 200).await;
    assert!(
        read.contains(r#""AmountDue":0.00"#) && read.contains(r#""AmountPaid":100.29"#),
        "{read}"
    );
    let read: Value = serde_json::from_str(&read).expect("json");
    let paid = &read["Invoices"][0];
    assert_eq!(paid["Status"], "PAID");
    assert_eq!(paid["Payments"].as_array().map(Vec::len), Some(2));
    assert!(paid["FullyPaidOnDate"].as_str().is_some());

    // Contact created, invoice created, two payments: each a signed Xero webhook.
    let hits = env.wait_for("4 Xero webhooks", |h| h.len() >= 4).await;
    let mut kinds = Vec::new();
    for hit in &hits {
        assert_eq!(hit.path, "/webhooks/acme/xero");
        let (provider, normalized) = env.verify(hit);
        assert_eq!(provider, ProviderKind::Xero);
        kinds.extend(
            normalized
                .events
                .iter()
                .map(|e| (e.kind, e.subject.clone())),
        );
    }
    assert!(kinds.contains(&(EventType::CustomerUpserted, contact.clone())));
    assert!(kinds.contains(&(EventType::InvoiceCreated, id.clone())));
    let updates = kinds
        .iter()
        .filter(|k| **k == (EventType::InvoiceUpdated, id.clone()));
    assert_eq!(updates.count(), 2);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer_and_creates_one_invoice() {
    let env = Env::start().await;
    let contact = create_contact(&env, "Replay Ltd", "ap@replay.example").await;
    let send = |body: String| {
        env.xero(Method::PUT, "Invoices")
            .header("Idempotency-Key", "sync-invoice-42")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let first = text(
        send(invoice_body(&contact, "INV-42")).await.expect("1"),
        200,
    )
    .await;
    let again = text(
        send(invoice_body(&contact, "INV-42")).await.expect("2"),
        200,
    )
    .await;
    assert_eq!(first, again, "a replay answers byte for byte the same");

    let other = send(invoice_body(&contact, "INV-43")).await.expect("3");
    let other = body(other, 400).await;
    assert!(
        other["Message"]
            .as_str()
            .unwrap_or("")
            .contains("different request"),
        "{other}"
    );

    let list = env
        .xero(Method::GET, "Invoices")
        .send()
        .await
        .expect("list");
    let list = body(list, 200).await;
    assert_eq!(list["Invoices"].as_array().map(Vec::len), Some(1));

    // Without the key, the same number is refused as a duplicate.
    let dup = env
        .xero(Method::PUT, "Invoices")
        .body(invoice_body(&contact, "INV-42"))
        .send()
        .await
        .expect("dup");
    let dup = body(dup, 400).await;
    assert_eq!(
        dup["Elements"][0]["ValidationErrors"][0]["Message"],
        "Invoice # must be unique."
    );

    let hits = env
        .wait_for("contact and invoice webhooks", |h| h.len() >= 2)
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let creates = env
        .hits()
        .iter()
        .flat_map(|h| env.verify(h).1.events)
        .filter(|e| e.kind == EventType::InvoiceCreated)
        .count();
    assert_eq!(creates, 1, "{hits:#?}");
}

#[tokio::test]
async fn invoice_numbers_filter_finds_exactly_the_named_invoices() {
    let env = Env::start().await;
    let contact = create_contact(&env, "Filter Co", "filter@example.com").await;
    for number in ["INV-A1", "INV-A2", "INV-A3"] {
        create_invoice(&env, &contact, number).await;
    }
    let list = env
        .xero(Method::GET, "Invoices")
        .query(&[("InvoiceNumbers", "INV-A1,INV-A3")])
        .send()
        .await
        .expect("filter");
    let list = body(list, 200).await;
    let mut numbers: Vec<&str> = list["Invoices"]
        .as_array()
        .expect("invoices")
        .iter()
        .filter_map(|i| i["InvoiceNumber"].as_str())
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["INV-A1", "INV-A3"]);
    // Unpaged lists carry no lines, as Xero's do; page=1 brings them.
    assert_eq!(list["Invoices"][0]["LineItems"], json!([]));
    let paged = env
        .xero(Method::GET, "Invoices")
        .query(&[("InvoiceNumbers", "INV-A2"), ("page", "1")])
        .send()
        .await
        .expect("paged");
    let paged = body(paged, 200).await;
    assert_eq!(
        paged["Invoices"][0]["LineItems"].as_array().map(Vec::len),
        Some(3)
    );
    let by_where = env
        .xero(Method::GET, "Invoices")
        .query(&[(
            "where",
            r#"Reference=="ref INV-A2" AND Status=="AUTHORISED""#,
        )])
        .send()
        .await
        .expect("where");
    assert_eq!(
        body(by_where, 200).await["Invoices"][0]["InvoiceNumber"],
        "INV-A2"
    );
}

#[tokio::test]
async fn xero_minute_limit_answers_429_with_retry_after() {
    let env = Env::start().await;
    for n in 0..60 {
        let answer = env.xero(Method::GET, "Contacts").send().await.expect("get");
        assert_eq!(answer.status(), 200, "call {n}");
        let remaining = answer.headers()["x-minlimit-remaining"]
            .to_str()
            .expect("h");
        assert_eq!(remaining, (59 - n).to_string());
    }
    let limited = env
        .xero(Method::GET, "Contacts")
        .send()
        .await
        .expect("61st");
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["x-rate-limit-problem"], "minute");
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let state = env.state().await;
    assert_eq!(state["requests"]["xero"]["rate_limited"], 1);
    assert_eq!(state["requests"]["xero"]["by_status"]["429"], 1);
}

#[tokio::test]
async fn xero_refuses_missing_tokens_and_foreign_tenants() {
    let env = Env::start().await;
    let url = format!("{}/xero/api.xro/2.0/Invoices", env.url);
    let anonymous = env
        .client
        .get(&url)
        .header("xero-tenant-id", XERO_TENANT)
        .send()
        .await
        .expect("a");
    assert_eq!(body(anonymous, 401).await["Title"], "Unauthorized");
    let foreign = env
        .client
        .get(&url)
        .bearer_auth(XERO_TOKEN)
        .header("xero-tenant-id", GLOBEX_XERO_TENANT)
        .send()
        .await
        .expect("f");
    assert_eq!(
        body(foreign, 403).await["detail"],
        "AuthenticationUnsuccessful"
    );
    let missing = env.xero(Method::GET, "Invoices/00000000-0000-0000-0000-000000000000");
    assert_eq!(missing.send().await.expect("404").status(), 404);
}
