//! The Salesforce simulator: upsert by external id, SOQL, errors, the daily allocation, OAuth
//! refresh without rotation (Salesforce's default), and its Flow callouts as the router
//! verifies them.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use ledgerhook_shared::{config::ProviderKind, model::CanonicalObject, EventType};
use ledgerhook_tests::sandbox::Options;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use super::support::*;

pub(super) async fn upsert(env: &Env, path: &str, payload: &str) -> reqwest::Response {
    env.salesforce(Method::PATCH, &format!("sobjects/{path}"))
        .header("Content-Type", "application/json")
        .body(payload.to_owned())
        .send()
        .await
        .expect("upsert")
}

pub(super) async fn soql(env: &Env, q: &str) -> reqwest::Response {
    env.salesforce(Method::GET, "query")
        .query(&[("q", q)])
        .send()
        .await
        .expect("query")
}

pub(super) const INVOICE: &str = r#"{"Name":"INV-1","Amount__c":1884.02,"CurrencyIsoCode":"USD",
    "Status__c":"Open","Due_Date__c":"2026-01-02","Account__r":{"External_Id__c":"CUST-1"}}"#;

#[tokio::test]
async fn upsert_by_external_id_twice_keeps_one_record_and_the_flow_announces_it() {
    let env = Env::start().await;
    let account = upsert(
        &env,
        "Account/External_Id__c/CUST-1",
        r#"{"Name":"Northwind Traders","Phone":"555-0100"}"#,
    )
    .await;
    let account = body(account, 201).await;
    assert_eq!(
        (account["success"].clone(), account["created"].clone()),
        (json!(true), json!(true))
    );
    let account_id = account["id"].as_str().expect("id").to_owned();
    assert!(
        account_id.starts_with("001") && account_id.len() == 18,
        "{account_id}"
    );

    let created = body(
        upsert(&env, "Invoice__c/External_Id__c/INV-EXT-1", INVOICE).await,
        201,
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let again = INVOICE.replace("1884.02", "1884.03");
    let updated = body(
        upsert(&env, "Invoice__c/External_Id__c/inv-ext-1", &again).await,
        200,
    )
    .await;
    assert_eq!(
        (updated["id"].as_str(), updated["created"].clone()),
        (Some(id.as_str()), json!(false))
    );
    // Before API version 46.0 an upsert that updates answers 204 with no body.
    let old = env
        .client
        .patch(format!(
            "{}/salesforce/services/data/v45.0/sobjects/Invoice__c/External_Id__c/INV-EXT-1",
            env.url
        ))
        .bearer_auth(SF_TOKEN)
        .json(&json!({ "Status__c": "Paid", "Amount_Paid__c": 1884.03 }))
        .send()
        .await
        .expect("v45");
    assert_eq!(old.status(), 204);

    let q = "SELECT Id, Name, Amount__c, Account__c, Account__r.Name FROM Invoice__c \
        WHERE Name = 'inv-1' AND Status__c IN ('Open', 'Paid')";
    let found = text(soql(&env, q).await, 200).await;
    assert!(found.contains(r#""Amount__c":1884.03"#), "{found}");
    let found: Value = serde_json::from_str(&found).expect("json");
    assert_eq!(found["totalSize"], 1);
    assert_eq!(found["records"][0]["Id"], id.as_str());
    assert_eq!(found["records"][0]["Account__c"], account_id.as_str());
    assert_eq!(found["records"][0]["attributes"]["type"], "Invoice__c");
    let parent = &found["records"][0]["Account__r"];
    assert_eq!(
        (
            parent["Name"].as_str(),
            parent["attributes"]["type"].as_str()
        ),
        (Some("Northwind Traders"), Some("Account"))
    );
    let count = body(soql(&env, "SELECT COUNT() FROM Invoice__c").await, 200).await;
    assert_eq!(count["totalSize"], 1);
    let contact = json!({ "LastName": "Buyer", "FirstName": "Bea", "Email": "bea@northwind.example", "AccountId": account_id });
    let contact = env
        .salesforce(Method::POST, "sobjects/Contact")
        .json(&contact)
        .send()
        .await;
    assert_eq!(body(contact.expect("contact"), 201).await["success"], true);
    let q =
        "SELECT Id, Name, Email, Account.Name FROM Contact WHERE Email = 'BEA@northwind.example'";
    let contacts = body(soql(&env, q).await, 200).await;
    assert_eq!(contacts["records"][0]["Name"], "Bea Buyer");
    assert_eq!(
        contacts["records"][0]["Account"]["Name"],
        "Northwind Traders"
    );

    let read = env
        .salesforce(Method::GET, &format!("sobjects/Invoice__c/{id}"))
        .send()
        .await;
    let read = body(read.expect("read"), 200).await;
    assert!(read["LastModifiedDate"]
        .as_str()
        .is_some_and(|t| t.ends_with("+0000")));
    assert_eq!(read["SystemModstamp"], read["LastModifiedDate"]);
    assert_eq!(read["CurrencyIsoCode"], "USD");
    let by_external = env
        .salesforce(Method::GET, "sobjects/Invoice__c/External_Id__c/INV-EXT-1")
        .send()
        .await;
    assert_eq!(
        body(by_external.expect("ext"), 200).await["Id"],
        id.as_str()
    );

    // Account, invoice created, updated, paid, contact: Standard Webhooks signed callouts.
    let hits = env.wait_for("5 Flow callouts", |h| h.len() >= 5).await;
    let mut events = Vec::new();
    for hit in &hits {
        assert_eq!(hit.path, "/webhooks/initech/salesforce");
        assert!(hit
            .headers
            .iter()
            .any(|(k, v)| k == "webhook-id" && v.starts_with("msg_")));
        let (provider, normalized) = env.verify(hit);
        assert_eq!(provider, ProviderKind::StandardWebhooks);
        events.extend(normalized.events);
    }
    // Deliveries run concurrently, so they may arrive in any order.
    let mut kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "customer.upserted",
            "customer.upserted",
            "invoice.created",
            "invoice.paid",
            "invoice.updated"
        ]
    );
    let data = |kind: EventType| match events
        .iter()
        .find(|e| e.kind == kind)
        .and_then(|e| e.data.clone())
    {
        Some(CanonicalObject::Invoice(invoice)) => invoice,
        other => panic!("{kind} data: {other:?}"),
    };
    let invoice = data(EventType::InvoiceCreated);
    assert_eq!(invoice.number.as_deref(), Some("INV-1"));
    assert_eq!(invoice.total.amount, d("1884.02"));
    assert_eq!(invoice.customer.id.as_deref(), Some(account_id.as_str()));
    assert_eq!(invoice.customer.name.as_deref(), Some("Northwind Traders"));
    let paid = data(EventType::InvoicePaid);
    assert_eq!(paid.amount_due.map(|m| m.amount), Some(d("0")));
}

fn code(answer: &Value) -> String {
    answer[0]["errorCode"].as_str().unwrap_or("").to_owned()
}

/// A create's answer, asserting its status.
async fn create(env: &Env, object: &str, payload: Value, status: u16) -> Value {
    let path = format!("sobjects/{object}");
    let answer = env
        .salesforce(Method::POST, &path)
        .json(&payload)
        .send()
        .await;
    body(answer.expect("create"), status).await
}

#[tokio::test]
async fn salesforce_errors_are_arrays_of_codes() {
    let env = Env::start().await;
    let url = format!("{}/salesforce/services/data/v60.0/query", env.url);
    let anonymous = env
        .client
        .get(url)
        .query(&[("q", "SELECT Id FROM Account")])
        .send();
    let anonymous = body(anonymous.await.expect("anon"), 401).await;
    assert_eq!(code(&anonymous), "INVALID_SESSION_ID");

    let missing = create(&env, "Account", json!({ "Phone": "1" }), 400).await;
    assert_eq!(code(&missing), "REQUIRED_FIELD_MISSING");
    assert_eq!(missing[0]["fields"], json!(["Name"]));
    let first = create(&env, "Invoice__c", json!({ "External_Id__c": "X-1" }), 201).await;
    assert_eq!(first["success"], true);
    for (payload, want) in [
        (json!({ "Bogus": 1 }), "INVALID_FIELD"),
        (
            json!({ "LastModifiedDate": "2024-01-01T00:00:00.000+0000" }),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (json!({ "External_Id__c": "x-1" }), "DUPLICATE_VALUE"),
        (
            json!({ "CurrencyIsoCode": "XXX" }),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (json!({ "Lines__c": [1] }), "JSON_PARSER_ERROR"),
    ] {
        let refused = create(&env, "Invoice__c", payload.clone(), 400).await;
        assert_eq!(code(&refused), want, "{payload}");
    }
    let no_parent = r#"{"Account__r":{"External_Id__c":"NOPE"}}"#;
    let no_parent = upsert(&env, "Invoice__c/External_Id__c/X-2", no_parent).await;
    assert_eq!(code(&body(no_parent, 400).await), "INVALID_FIELD");

    let gone = env.salesforce(Method::GET, "sobjects/Invoice__c/a008c000000009Z");
    assert_eq!(
        code(&body(gone.send().await.expect("gone"), 404).await),
        "NOT_FOUND"
    );
    let not_external = upsert(&env, "Account/Name/Acme", r#"{"Phone":"1"}"#).await;
    assert_eq!(code(&body(not_external, 404).await), "NOT_FOUND");
    // From API version 61.0, `updateOnly=true` makes an unmatched upsert a 404.
    let url = format!(
        "{}/salesforce/services/data/v61.0/sobjects/Account/External_Id__c/C-9",
        env.url
    );
    let update_only = env
        .client
        .patch(url)
        .query(&[("updateOnly", "true")])
        .bearer_auth(SF_TOKEN);
    let update_only = update_only
        .json(&json!({}))
        .send()
        .await
        .expect("updateOnly");
    assert_eq!(code(&body(update_only, 404).await), "NOT_FOUND");
    for (q, want) in [
        ("SELECT Id FROM Opportunity", "INVALID_TYPE"),
        ("SELECT Bogus FROM Account", "INVALID_FIELD"),
        ("SELECT FROM Account", "MALFORMED_QUERY"),
    ] {
        assert_eq!(code(&body(soql(&env, q).await, 400).await), want, "{q}");
    }
}

pub(super) async fn sf_refresh(
    env: &Env,
    client: &str,
    secret: &str,
    token: &str,
) -> reqwest::Response {
    env.client
        .post(format!("{}/salesforce/services/oauth2/token", env.url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("client_secret", secret),
            ("refresh_token", token),
        ])
        .send()
        .await
        .expect("token")
}

#[tokio::test]
async fn salesforce_keeps_refresh_tokens_and_counts_the_daily_allocation() {
    let options = Options {
        salesforce_daily_limit: 3,
        ..Options::default()
    };
    let env = Env::start_with(options, 0).await;
    let (client, secret) = ("umbrella-sf-consumer-key", "umbrella-sf-consumer-secret");
    let first = body(
        sf_refresh(&env, client, secret, "umbrella-sf-refresh-0").await,
        200,
    )
    .await;
    assert_eq!(first["token_type"], "Bearer");
    assert!(
        first.get("refresh_token").is_none(),
        "Salesforce does not rotate by default"
    );
    assert!(first["instance_url"]
        .as_str()
        .is_some_and(|u| u.ends_with("/salesforce")));
    let signed = format!(
        "{}{}",
        first["id"].as_str().unwrap_or(""),
        first["issued_at"].as_str().unwrap_or("")
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("hmac");
    mac.update(signed.as_bytes());
    assert_eq!(
        first["signature"],
        STANDARD.encode(mac.finalize().into_bytes())
    );
    let again = sf_refresh(&env, client, secret, "umbrella-sf-refresh-0").await;
    assert_eq!(again.status(), 200, "the same refresh token keeps working");
    let error = |v: Value| v["error"].as_str().unwrap_or("").to_owned();
    assert_eq!(
        error(
            body(
                sf_refresh(&env, "nobody", secret, "umbrella-sf-refresh-0").await,
                400
            )
            .await
        ),
        "invalid_client_id"
    );
    assert_eq!(
        error(
            body(
                sf_refresh(&env, client, "wrong", "umbrella-sf-refresh-0").await,
                400
            )
            .await
        ),
        "invalid_client"
    );
    assert_eq!(
        error(body(sf_refresh(&env, client, secret, "bogus").await, 400).await),
        "invalid_grant"
    );

    let access = first["access_token"].as_str().expect("access").to_owned();
    let call = || {
        env.client
            .get(format!("{}/salesforce/services/data/v60.0/query", env.url))
            .query(&[("q", "SELECT Id FROM Account")])
            .bearer_auth(&access)
            .send()
    };
    for n in 1..=3 {
        let answer = call().await.expect("call");
        assert_eq!(
            answer.headers()["sforce-limit-info"],
            format!("api-usage={n}/3").as_str()
        );
        assert_eq!(body(answer, 200).await["totalSize"], 0);
    }
    let over = body(call().await.expect("over"), 403).await;
    assert_eq!(over[0]["errorCode"], "REQUEST_LIMIT_EXCEEDED");
    // Initech's org has its own allocation.
    assert_eq!(soql(&env, "SELECT Id FROM Account").await.status(), 200);
}
