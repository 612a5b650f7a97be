//! OAuth rotation, rate limits, fault injection, webhook retries, the state dump and reset.

use std::time::{Duration, Instant};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ledgerhook_tests::sandbox::Options;
use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;

async fn xero_refresh(env: &Env, refresh_token: &str, secret: &str) -> reqwest::Response {
    let basic = STANDARD.encode(format!("globex-xero-client:{secret}"));
    env.client
        .post(format!("{}/xero/connect/token", env.url))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .expect("token")
}

async fn hubspot_refresh(env: &Env, refresh_token: &str) -> reqwest::Response {
    env.client
        .post(format!("{}/hubspot/oauth/v1/token", env.url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "globex-hubspot-client"),
            ("client_secret", "globex-hubspot-secret"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .expect("token")
}

async fn globex_contacts(env: &Env, access_token: &str) -> reqwest::Response {
    env.client
        .get(format!("{}/xero/api.xro/2.0/Contacts", env.url))
        .bearer_auth(access_token)
        .header("xero-tenant-id", GLOBEX_XERO_TENANT)
        .send()
        .await
        .expect("contacts")
}

#[tokio::test]
async fn oauth_refresh_rotates_and_retired_refresh_tokens_stop_working() {
    let options = Options {
        access_token_lifetime: Duration::from_secs(2),
        refresh_grace: Duration::from_millis(400),
        ..Options::default()
    };
    let env = Env::start_with(options, 0).await;
    let wrong = body(
        xero_refresh(&env, "globex-xero-refresh-0", "wrong").await,
        400,
    )
    .await;
    assert_eq!(wrong["error"], "invalid_client");

    let first = body(
        xero_refresh(&env, "globex-xero-refresh-0", "globex-xero-secret").await,
        200,
    )
    .await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 2);
    let (access, refresh) = (
        first["access_token"].as_str().expect("a"),
        first["refresh_token"].as_str().expect("r"),
    );
    assert_ne!(
        refresh, "globex-xero-refresh-0",
        "a new refresh token each time"
    );
    assert_eq!(globex_contacts(&env, access).await.status(), 200);

    let second = body(xero_refresh(&env, refresh, "globex-xero-secret").await, 200).await;
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    // Xero's grace: the token just used still works for a while, then no more.
    let retry = xero_refresh(&env, refresh, "globex-xero-secret").await;
    assert_eq!(retry.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let late = body(xero_refresh(&env, refresh, "globex-xero-secret").await, 400).await;
    assert_eq!(late["error"], "invalid_grant");
    let newest = second["refresh_token"].as_str().expect("r2");
    assert_eq!(
        xero_refresh(&env, newest, "globex-xero-secret")
            .await
            .status(),
        200
    );

    // HubSpot rotates too, with no grace.
    let hs = body(hubspot_refresh(&env, "globex-hubspot-refresh-0").await, 200).await;
    assert_eq!(hs["token_type"], "bearer");
    let reused = body(hubspot_refresh(&env, "globex-hubspot-refresh-0").await, 400).await;
    assert_eq!(reused["status"], "BAD_REFRESH_TOKEN");
    let hs_token = hs["access_token"].as_str().expect("hs token").to_owned();
    let hs_get = |token: String| {
        env.client
            .get(format!("{}/hubspot/crm/v3/objects/contacts", env.url))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(hs_get(hs_token.clone()).await.expect("hs").status(), 200);

    // Both access tokens expire after their lifetime.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = body(globex_contacts(&env, access).await, 401).await;
    assert!(
        expired["Detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("TokenExpired"),
        "{expired}"
    );
    let expired = body(hs_get(hs_token).await.expect("hs"), 401).await;
    assert_eq!(expired["category"], "EXPIRED_AUTHENTICATION");
}

#[tokio::test]
async fn faults_fail_delay_and_rate_limit_until_cleared() {
    let env = Env::start().await;
    env.faults(json!({ "system": "xero", "error_rate": 1.0 }))
        .await;
    for _ in 0..3 {
        let answer = env
            .xero(Method::GET, "Contacts")
            .send()
            .await
            .expect("faulty");
        assert_eq!(answer.status(), 500);
    }
    env.clear_faults().await;
    assert_eq!(
        env.xero(Method::GET, "Contacts")
            .send()
            .await
            .expect("ok")
            .status(),
        200
    );

    env.faults(json!({ "system": "hubspot", "fail_next": 2, "status": 503 }))
        .await;
    let statuses = [
        env.hubspot(Method::GET, "crm/v3/objects/contacts")
            .send()
            .await
            .expect("1")
            .status(),
        env.hubspot(Method::GET, "crm/v3/objects/contacts")
            .send()
            .await
            .expect("2")
            .status(),
        env.hubspot(Method::GET, "crm/v3/objects/contacts")
            .send()
            .await
            .expect("3")
            .status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [503, 503, 200]);

    env.faults(json!({ "system": "*", "rate_limit_next": 1, "retry_after": 7 }))
        .await;
    let limited = env
        .hubspot(Method::GET, "crm/v3/objects/contacts")
        .send()
        .await
        .expect("429");
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(body(limited, 429).await["errorType"], "RATE_LIMIT");

    env.faults(json!({ "system": "hubspot", "latency_ms": 150 }))
        .await;
    let started = Instant::now();
    let slow = env
        .hubspot(Method::GET, "crm/v3/objects/contacts")
        .send()
        .await
        .expect("slow");
    assert_eq!(slow.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    env.clear_faults().await;

    let bad = env
        .client
        .post(format!("{}/_sandbox/faults", env.url))
        .json(&json!({ "system": "xero", "error_rate": 2.0 }))
        .send()
        .await
        .expect("bad");
    assert_eq!(bad.status(), 400);

    let state = env.state().await;
    assert_eq!(state["requests"]["xero"]["by_status"]["500"], 3);
    assert_eq!(state["requests"]["hubspot"]["by_status"]["503"], 2);
    assert_eq!(state["requests"]["hubspot"]["faults_injected"], 3);
    assert_eq!(state["faults"], json!({}));
}

#[tokio::test]
async fn hubspot_limit_is_per_ten_second_window() {
    let options = Options {
        hubspot_limit: 5,
        ..Options::default()
    };
    let env = Env::start_with(options, 0).await;
    for _ in 0..5 {
        let ok = env
            .hubspot(Method::GET, "crm/v3/objects/contacts")
            .send()
            .await
            .expect("ok");
        assert_eq!(ok.status(), 200);
    }
    let limited = env
        .hubspot(Method::GET, "crm/v3/objects/contacts")
        .send()
        .await
        .expect("429");
    assert!(limited.headers().contains_key("retry-after"));
    let limited = body(limited, 429).await;
    assert_eq!(limited["policyName"], "TEN_SECONDLY_ROLLING");
}

#[tokio::test]
async fn webhooks_are_retried_until_the_router_accepts_them() {
    let options = Options {
        webhook_backoff: Duration::from_millis(20),
        ..Options::default()
    };
    let env = Env::start_with(options, 2).await;
    let contact = env
        .xero(Method::PUT, "Contacts")
        .json(&json!({ "Contacts": [{ "Name": "Retry Ltd" }] }))
        .send()
        .await
        .expect("contact");
    assert_eq!(contact.status(), 200);
    let hits = env.wait_for("three attempts", |h| h.len() >= 3).await;
    assert_eq!(
        hits[0].body, hits[2].body,
        "Xero resends the same signed body"
    );
    for hit in &hits {
        env.verify(hit);
    }
    // Tenant globex has no Xero source: its changes are not announced, only counted.
    let first = xero_refresh(&env, "globex-xero-refresh-0", "globex-xero-secret").await;
    let token = body(first, 200).await["access_token"]
        .as_str()
        .expect("t")
        .to_owned();
    let skipped = env
        .client
        .put(format!("{}/xero/api.xro/2.0/Contacts", env.url))
        .bearer_auth(token)
        .header("xero-tenant-id", GLOBEX_XERO_TENANT)
        .json(&json!({ "Contacts": [{ "Name": "Quiet Ltd" }] }))
        .send()
        .await
        .expect("globex");
    assert_eq!(skipped.status(), 200);

    let start = Instant::now();
    let state = loop {
        let state = env.state().await;
        if state["webhooks"]["sent"] == 1 || start.elapsed() > Duration::from_secs(5) {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let webhooks = &state["webhooks"];
    assert_eq!(
        (webhooks["sent"].clone(), webhooks["retries"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(
        (webhooks["failed"].clone(), webhooks["skipped"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(webhooks["recent"][0]["attempts"], 3);
}

#[tokio::test]
async fn state_dump_shows_every_account_and_reset_empties_them() {
    let env = Env::start().await;
    let contact = env
        .xero(Method::PUT, "Contacts")
        .json(&json!({ "Contacts": [{ "Name": "Dump Co", "ContactNumber": "C-1" }] }))
        .send()
        .await
        .expect("contact");
    let contact = body(contact, 200).await["Contacts"][0]["ContactID"].clone();
    let invoice = r#"{"Type":"ACCREC","Contact":{"ContactNumber":"C-1"},"Status":"AUTHORISED",
        "LineItems":[{"Description":"x","Quantity":3,"UnitAmount":0.1}]}"#;
    let created = env
        .xero(Method::POST, "Invoices")
        .body(invoice)
        .send()
        .await
        .expect("invoice");
    let created = body(created, 200).await["Invoices"][0].clone();
    assert_eq!(created["InvoiceNumber"], "INV-0001");
    let voided = env
        .xero(
            Method::POST,
            &format!("Invoices/{}", created["InvoiceID"].as_str().expect("id")),
        )
        .json(&json!({ "Invoices": [{ "Status": "VOIDED" }] }))
        .send()
        .await
        .expect("void");
    let voided = body(voided, 200).await["Invoices"][0].clone();
    assert_eq!(voided["Status"], "VOIDED");
    assert_eq!(dec(&voided["AmountDue"]), d("0"));
    let hs = env
        .hubspot(Method::POST, "crm/v3/objects/companies")
        .json(&json!({ "properties": { "name": "Dump Co", "domain": "dump.example" } }))
        .send()
        .await
        .expect("company");
    assert_eq!(hs.status(), 201);

    let state: Value = env.state().await;
    let org = &state["xero"][XERO_TENANT];
    assert_eq!(org["tenant"], "acme");
    assert_eq!(org["contacts"][0]["ContactID"], contact);
    assert_eq!(org["invoices"][0]["Status"], "VOIDED");
    assert_eq!(dec(&org["invoices"][0]["Total"]), d("0.3"));
    assert_eq!(state["xero"][GLOBEX_XERO_TENANT]["invoices"], json!([]));
    let portal = &state["hubspot"]["acme"];
    assert_eq!(
        portal["objects"]["companies"][0]["properties"]["domain"],
        "dump.example"
    );
    assert!(portal["portalId"].as_u64().is_some());
    assert_eq!(state["requests"]["xero"]["requests"], 3);

    let reset = env
        .client
        .post(format!("{}/_sandbox/reset", env.url))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 200);
    let state = env.state().await;
    assert_eq!(state["xero"][XERO_TENANT]["invoices"], json!([]));
    assert_eq!(state["hubspot"]["acme"]["objects"]["companies"], json!([]));
    assert_eq!(state["requests"]["xero"]["requests"], 0);
}
