//! The QuickBooks Online simulator: balances to the cent, `requestid` replays, SyncToken
//! conflicts, queries, void and delete, its errors, OAuth and limits, and its CloudEvents
//! webhooks as the router verifies them.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ledgerhook_shared::{config::ProviderKind, EventType};
use ledgerhook_tests::sandbox::Options;
use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;

async fn create_customer(env: &Env, name: &str, email: &str) -> String {
    let answer = env
        .qbo(Method::POST, "customer?minorversion=75")
        .json(&json!({ "DisplayName": name, "PrimaryEmailAddr": { "Address": email } }))
        .send()
        .await
        .expect("customer");
    body(answer, 200).await["Customer"]["Id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// 1 × 0.10 + 3 × 33.33 (amount computed) + an amount-only 0.20 = 100.29, as literal numbers.
fn invoice_body(customer: &str, number: &str) -> String {
    format!(
        r#"{{"CustomerRef":{{"value":"{customer}"}},"DocNumber":"{number}","TxnDate":"2024-06-01",
        "DueDate":"2024-07-01","CurrencyRef":{{"value":"USD"}},"Line":[
          {{"DetailType":"SalesItemLineDetail","Amount":0.10,"Description":"Ten cents",
            "SalesItemLineDetail":{{"Qty":1,"UnitPrice":0.1,"ItemRef":{{"value":"1","name":"Services"}}}}}},
          {{"DetailType":"SalesItemLineDetail","Description":"Thirds",
            "SalesItemLineDetail":{{"Qty":3,"UnitPrice":33.33}}}},
          {{"DetailType":"SalesItemLineDetail","Amount":0.20,"Description":"Twenty cents"}}]}}"#
    )
}

async fn create_invoice(env: &Env, customer: &str, number: &str) -> Value {
    let answer = env
        .qbo(Method::POST, "invoice")
        .header("Content-Type", "application/json")
        .body(invoice_body(customer, number))
        .send()
        .await
        .expect("invoice");
    body(answer, 200).await["Invoice"].clone()
}

async fn pay(env: &Env, customer: &str, invoice: &str, amount: &str) -> reqwest::Response {
    let payment = format!(
        r#"{{"CustomerRef":{{"value":"{customer}"}},"TotalAmt":{amount},"TxnDate":"2024-06-15",
        "Line":[{{"Amount":{amount},"LinkedTxn":[{{"TxnId":"{invoice}","TxnType":"Invoice"}}]}}]}}"#
    );
    env.qbo(Method::POST, "payment")
        .header("Content-Type", "application/json")
        .body(payment)
        .send()
        .await
        .expect("payment")
}

async fn query(env: &Env, text: &str) -> reqwest::Response {
    env.qbo(Method::GET, "query")
        .query(&[("query", text), ("minorversion", "75")])
        .send()
        .await
        .expect("query")
}

fn fault_code(error: &Value) -> &str {
    error["Fault"]["Error"][0]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn quickbooks_invoice_and_payments_balance_to_the_cent_and_are_announced() {
    let env = Env::start().await;
    let customer = create_customer(&env, "Initech LLC", "ap@initech.example").await;
    let duplicate = env
        .qbo(Method::POST, "customer")
        .json(&json!({ "DisplayName": "INITECH llc" }))
        .send()
        .await
        .expect("duplicate");
    let duplicate = body(duplicate, 400).await;
    assert_eq!(fault_code(&duplicate), "6240");
    assert_eq!(duplicate["Fault"]["type"], "ValidationFault");
    for q in [
        "select * from Customer where DisplayName = 'Initech LLC'",
        "SELECT * FROM Customer WHERE PrimaryEmailAddr = 'AP@initech.example'",
    ] {
        let found = body(query(&env, q).await, 200).await;
        assert_eq!(
            found["QueryResponse"]["Customer"][0]["Id"],
            customer.as_str(),
            "{q}"
        );
    }

    let invoice = create_invoice(&env, &customer, "INV-1").await;
    let id = invoice["Id"].as_str().expect("id").to_owned();
    assert_eq!(dec(&invoice["TotalAmt"]), d("100.29"));
    assert_eq!(dec(&invoice["Balance"]), d("100.29"));
    assert_eq!(dec(&invoice["Line"][1]["Amount"]), d("99.99"));
    assert_eq!(invoice["Line"][3]["DetailType"], "SubTotalLineDetail");
    assert_eq!(invoice["SyncToken"], "0");
    assert_eq!(invoice["CustomerRef"]["name"], "Initech LLC");

    let first = text(pay(&env, &customer, &id, "60.19").await, 200).await;
    assert!(first.contains(r#""TotalAmt":60.19"#), "{first}");
    let over = body(pay(&env, &customer, &id, "40.11").await, 400).await;
    assert_eq!(fault_code(&over), "6000");
    let last = body(pay(&env, &customer, &id, "40.10").await, 200).await;
    assert_eq!(dec(&last["Payment"]["UnappliedAmt"]), d("0"));
    let payment = last["Payment"]["Id"]
        .as_str()
        .expect("payment id")
        .to_owned();
    let read = env
        .qbo(Method::GET, &format!("payment/{payment}"))
        .send()
        .await
        .expect("read payment");
    assert_eq!(
        body(read, 200).await["Payment"]["Line"][0]["LinkedTxn"][0]["TxnId"],
        id.as_str()
    );

    let read = env.qbo(Method::GET, &format!("invoice/{id}")).send().await;
    let read = text(read.expect("read"), 200).await;
    // Amounts are written as exact two-decimal JSON numbers, never through a float.
    assert!(
        read.contains(r#""TotalAmt":100.29"#) && read.contains(r#""Balance":0.00"#),
        "{read}"
    );
    let read: Value = serde_json::from_str(&read).expect("json");
    assert_eq!(
        read["Invoice"]["LinkedTxn"].as_array().map(Vec::len),
        Some(2)
    );
    // Each payment changed the invoice, so its version moved with it.
    assert_eq!(read["Invoice"]["SyncToken"], "2");
    let customer_now = env
        .qbo(Method::GET, &format!("customer/{customer}"))
        .send()
        .await;
    assert_eq!(
        dec(&body(customer_now.expect("c"), 200).await["Customer"]["Balance"]),
        d("0")
    );

    // Customer, invoice, two payments (each also an invoice update): signed CloudEvents.
    let hits = env
        .wait_for("4 QuickBooks webhooks", |h| h.len() >= 4)
        .await;
    let mut events = Vec::new();
    for hit in &hits {
        assert_eq!(hit.path, "/webhooks/initech/quickbooks");
        assert!(hit.headers.iter().any(|(k, _)| k == "intuit-signature"));
        let cloud: Value = serde_json::from_slice(&hit.body).expect("json");
        assert_eq!(cloud[0]["specversion"], "1.0");
        assert_eq!(cloud[0]["intuitaccountid"], QBO_REALM);
        let (provider, normalized) = env.verify(hit);
        assert_eq!(provider, ProviderKind::Quickbooks);
        events.extend(normalized.events.into_iter().map(|e| (e.kind, e.subject)));
    }
    assert!(events.contains(&(EventType::CustomerUpserted, customer.clone())));
    assert!(events.contains(&(EventType::InvoiceCreated, id.clone())));
    let count = |kind: EventType| events.iter().filter(|e| e.0 == kind).count();
    assert_eq!(count(EventType::PaymentSucceeded), 2);
    assert_eq!(count(EventType::InvoiceUpdated), 2);
}

#[tokio::test]
async fn requestid_replays_the_first_answer_and_creates_one_invoice() {
    let env = Env::start().await;
    let customer = create_customer(&env, "Replay Co", "ap@replay.example").await;
    let send = || {
        env.qbo(
            Method::POST,
            "invoice?requestid=sync-invoice-42&minorversion=75",
        )
        .header("Content-Type", "application/json")
        .body(invoice_body(&customer, "INV-42"))
        .send()
    };
    let first = text(send().await.expect("1"), 200).await;
    let again = text(send().await.expect("2"), 200).await;
    assert_eq!(first, again, "a replay answers byte for byte the same");
    let count = body(query(&env, "select count(*) from Invoice").await, 200).await;
    assert_eq!(count["QueryResponse"]["totalCount"], 1);

    // Without the requestid, the same number is a duplicate document number.
    let dup = env
        .qbo(Method::POST, "invoice")
        .body(invoice_body(&customer, "INV-42"))
        .send()
        .await
        .expect("dup");
    let dup = body(dup, 400).await;
    assert_eq!(fault_code(&dup), "6140");
    let detail = dup["Fault"]["Error"][0]["Detail"].as_str().unwrap_or("");
    assert!(detail.contains("DocNumber=INV-42"), "{detail}");

    env.wait_for("customer and invoice", |h| h.len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let creates = env
        .hits()
        .iter()
        .flat_map(|h| env.verify(h).1.events)
        .filter(|e| e.kind == EventType::InvoiceCreated)
        .count();
    assert_eq!(creates, 1);
}

#[tokio::test]
async fn stale_sync_token_is_refused_and_void_and_delete_work() {
    let env = Env::start().await;
    let customer = create_customer(&env, "Stale Ltd", "ap@stale.example").await;
    let invoice = create_invoice(&env, &customer, "INV-7").await;
    let id = invoice["Id"].as_str().expect("id").to_owned();
    let sparse = |token: &str| {
        env.qbo(Method::POST, "invoice")
            .json(&json!({ "Id": id, "SyncToken": token, "sparse": true, "DueDate": "2024-08-01" }))
            .send()
    };
    let updated = body(sparse("0").await.expect("update"), 200).await;
    assert_eq!(updated["Invoice"]["SyncToken"], "1");
    assert_eq!(updated["Invoice"]["DueDate"], "2024-08-01");
    assert_eq!(dec(&updated["Invoice"]["TotalAmt"]), d("100.29"));
    let stale = body(sparse("0").await.expect("stale"), 400).await;
    assert_eq!(fault_code(&stale), "5010");
    assert_eq!(stale["Fault"]["Error"][0]["Message"], "Stale Object Error");

    let found = body(
        query(&env, "select * from Invoice where DocNumber = 'INV-7'").await,
        200,
    )
    .await;
    assert_eq!(
        found["QueryResponse"]["Invoice"][0]["DueDate"],
        "2024-08-01"
    );
    assert_eq!(found["QueryResponse"]["maxResults"], 1);
    let none = body(
        query(&env, "select * from Invoice where DocNumber = 'INV-0'").await,
        200,
    )
    .await;
    assert_eq!(none["QueryResponse"], json!({}));
    let projected = body(query(&env, "select DocNumber from Invoice").await, 200).await;
    assert_eq!(projected["QueryResponse"]["Invoice"][0]["sparse"], true);
    assert!(projected["QueryResponse"]["Invoice"][0]
        .get("Line")
        .is_none());
    let bad = body(
        query(&env, "select * from Invoice where A = 'x' or B = 'y'").await,
        400,
    )
    .await;
    assert_eq!(fault_code(&bad), "4000");

    let voided = env
        .qbo(Method::POST, "invoice?operation=void")
        .json(&json!({ "Id": id, "SyncToken": "1" }))
        .send()
        .await
        .expect("void");
    let voided = body(voided, 200).await["Invoice"].clone();
    assert_eq!(
        (dec(&voided["TotalAmt"]), dec(&voided["Balance"])),
        (d("0"), d("0"))
    );
    assert_eq!(voided["PrivateNote"], "Voided");

    let other = create_invoice(&env, &customer, "INV-8").await;
    let other_id = other["Id"].as_str().expect("id").to_owned();
    let deleted = env
        .qbo(Method::POST, "invoice?operation=delete")
        .json(&json!({ "Id": other_id, "SyncToken": "0" }))
        .send()
        .await
        .expect("delete");
    assert_eq!(body(deleted, 200).await["Invoice"]["status"], "Deleted");
    let gone = env
        .qbo(Method::GET, &format!("invoice/{other_id}"))
        .send()
        .await;
    assert_eq!(fault_code(&body(gone.expect("gone"), 400).await), "610");

    let hits = env
        .wait_for("voided and deleted", |h| {
            h.iter()
                .any(|h| String::from_utf8_lossy(&h.body).contains("qbo.invoice.deleted.v1"))
        })
        .await;
    let events: Vec<_> = hits.iter().flat_map(|h| env.verify(h).1.events).collect();
    assert!(events
        .iter()
        .any(|e| e.kind == EventType::InvoiceVoided && e.subject == id));
    assert!(events
        .iter()
        .any(|e| e.kind == EventType::InvoiceDeleted && e.subject == other_id));
}

async fn qbo_refresh(env: &Env, refresh_token: &str, secret: &str) -> reqwest::Response {
    let basic = STANDARD.encode(format!("umbrella-qbo-client:{secret}"));
    env.client
        .post(format!("{}/quickbooks/oauth2/v1/tokens/bearer", env.url))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .expect("token")
}

#[tokio::test]
async fn quickbooks_auth_realms_oauth_and_limits() {
    let options = Options {
        quickbooks_minute_limit: 3,
        ..Options::default()
    };
    let env = Env::start_with(options, 0).await;
    let url = |realm: &str| format!("{}/quickbooks/v3/company/{realm}/query", env.url);
    let anonymous = env.client.get(url(QBO_REALM)).send().await.expect("anon");
    let anonymous = body(anonymous, 401).await;
    assert_eq!(anonymous["fault"]["error"][0]["code"], "3200");
    let foreign = env
        .client
        .get(url(UMBRELLA_REALM))
        .bearer_auth(QBO_TOKEN)
        .send()
        .await;
    assert_eq!(
        body(foreign.expect("foreign"), 403).await["fault"]["error"][0]["code"],
        "3100"
    );

    let wrong = body(
        qbo_refresh(&env, "umbrella-qbo-refresh-0", "nope").await,
        401,
    )
    .await;
    assert_eq!(wrong["error"], "invalid_client");
    let tokens = body(
        qbo_refresh(&env, "umbrella-qbo-refresh-0", "umbrella-qbo-secret").await,
        200,
    )
    .await;
    assert_eq!(tokens["token_type"], "bearer");
    assert!(tokens["x_refresh_token_expires_in"].as_u64().is_some());
    let rotated = tokens["refresh_token"].as_str().expect("refresh");
    assert_ne!(rotated, "umbrella-qbo-refresh-0");
    let reused = body(
        qbo_refresh(&env, "umbrella-qbo-refresh-0", "umbrella-qbo-secret").await,
        400,
    )
    .await;
    assert_eq!(reused["error"], "invalid_grant");
    let access = tokens["access_token"].as_str().expect("access");
    let listed = env
        .client
        .get(url(UMBRELLA_REALM))
        .query(&[("query", "select * from Customer")])
        .bearer_auth(access)
        .send()
        .await
        .expect("list");
    assert_eq!(body(listed, 200).await["QueryResponse"], json!({}));

    // Refused calls did not count, and umbrella's realm has its own limit: three calls fill
    // initech's minute.
    for _ in 0..3 {
        assert_eq!(query(&env, "select * from Invoice").await.status(), 200);
    }
    let limited = query(&env, "select * from Invoice").await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        body(limited, 429).await["fault"]["error"][0]["code"],
        "3001"
    );

    let state = env.state().await;
    assert_eq!(state["requests"]["quickbooks"]["rate_limited"], 1);
}
