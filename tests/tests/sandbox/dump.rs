//! The state dump, reset and fault injection across QuickBooks and Salesforce, and the refresh
//! token rotation a Salesforce connected app may turn on.

use ledgerhook_tests::sandbox::Options;
use reqwest::Method;
use serde_json::json;

use super::{
    salesforce::{sf_refresh, soql, upsert, INVOICE},
    support::*,
};

#[tokio::test]
async fn salesforce_rotation_when_enabled_and_state_reset_and_faults_of_both_new_systems() {
    let options = Options {
        salesforce_rotate_refresh_tokens: true,
        ..Options::default()
    };
    let env = Env::start_with(options, 0).await;
    let (client, secret) = ("umbrella-sf-consumer-key", "umbrella-sf-consumer-secret");
    let rotated = body(
        sf_refresh(&env, client, secret, "umbrella-sf-refresh-0").await,
        200,
    )
    .await;
    assert!(rotated["refresh_token"]
        .as_str()
        .is_some_and(|t| t != "umbrella-sf-refresh-0"));
    assert_eq!(
        sf_refresh(&env, client, secret, "umbrella-sf-refresh-0")
            .await
            .status(),
        400
    );

    assert_eq!(
        upsert(&env, "Invoice__c/External_Id__c/S-1", INVOICE)
            .await
            .status(),
        400,
        "CUST-1 does not exist"
    );
    assert_eq!(
        upsert(
            &env,
            "Account/External_Id__c/CUST-1",
            r#"{"Name":"Dump Co"}"#
        )
        .await
        .status(),
        201
    );
    assert_eq!(
        upsert(&env, "Invoice__c/External_Id__c/S-1", INVOICE)
            .await
            .status(),
        201
    );
    env.faults(json!({ "system": "salesforce", "fail_next": 1, "status": 503 }))
        .await;
    let failed = soql(&env, "SELECT Id FROM Account").await;
    assert_eq!(
        body(failed, 503).await[0]["errorCode"],
        "SERVER_UNAVAILABLE"
    );
    env.faults(json!({ "system": "salesforce", "rate_limit_next": 1, "retry_after": 9 }))
        .await;
    let limited = soql(&env, "SELECT Id FROM Account").await;
    assert_eq!(limited.headers()["retry-after"], "9");
    assert_eq!(
        body(limited, 403).await[0]["errorCode"],
        "REQUEST_LIMIT_EXCEEDED"
    );

    env.faults(json!({ "system": "quickbooks", "fail_next": 1, "status": 503 }))
        .await;
    let failing = env
        .qbo(Method::GET, "query")
        .query(&[("query", "select * from Item")]);
    let failing = body(failing.send().await.expect("fault"), 503).await;
    assert_eq!(failing["Fault"]["type"], "SystemFault");

    let state = env.state().await;
    assert_eq!(state["quickbooks"][QBO_REALM]["tenant"], "initech");
    assert_eq!(state["requests"]["quickbooks"]["faults_injected"], 1);
    let org = &state["salesforce"]["initech"];
    assert_eq!(org["objects"]["Invoice__c"][0]["Name"], "INV-1");
    assert_eq!(
        dec(&org["objects"]["Invoice__c"][0]["Amount__c"]),
        d("1884.02")
    );
    assert_eq!(state["salesforce"]["umbrella"]["objects"], json!({}));
    assert_eq!(state["requests"]["salesforce"]["by_status"]["201"], 2);
    assert_eq!(state["requests"]["salesforce"]["faults_injected"], 2);

    let reset = env
        .client
        .post(format!("{}/_sandbox/reset", env.url))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 200);
    let state = env.state().await;
    assert_eq!(state["salesforce"]["initech"]["objects"], json!({}));
    assert_eq!(state["quickbooks"][QBO_REALM]["invoices"], json!([]));
    assert_eq!(state["requests"]["salesforce"]["requests"], 0);
}
