//! Who may call the support API, and what it answers while the store is away.

use reqwest::Method;
use serde_json::{json, Value};

use super::{get_json, queue_depth_of};
use crate::support::{seed, seed::Spec, *};

#[tokio::test]
async fn the_api_needs_a_configured_token_and_the_probes_do_not() {
    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let d = seed::dead_letter(&c, Spec::new(1)).await;
    let endpoints = [
        (Method::GET, "/api/v1/dead-letters".to_owned()),
        (Method::GET, format!("/api/v1/dead-letters/{}", d.id)),
        (
            Method::POST,
            format!("/api/v1/dead-letters/{}/replay", d.id),
        ),
        (Method::POST, "/api/v1/dead-letters/replay".to_owned()),
        (
            Method::POST,
            format!("/api/v1/dead-letters/{}/discard", d.id),
        ),
        (Method::GET, "/api/v1/events?q=INV-00001".to_owned()),
    ];
    let wrong = [
        None,
        Some("Bearer wrong-token-0123456789".to_owned()),
        Some(format!("Basic {ADMIN_TOKEN}")),
        Some(format!("Bearer {ADMIN_TOKEN}x")),
    ];
    for (method, path) in &endpoints {
        for authorization in &wrong {
            let mut request = router
                .client
                .request(method.clone(), router.admin_url(path))
                .json(&json!({ "reason": "should not matter" }));
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            let response = request.send().await.expect("request");
            assert_eq!(
                response.status(),
                401,
                "{method} {path} with {authorization:?}"
            );
            assert_eq!(
                response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some("Bearer")
            );
            let error: Value = response.json().await.expect("json error");
            assert_eq!(error["error"], "unauthorized");
        }
    }
    // Nothing was replayed or discarded by the refused calls.
    let (status, shown) = get_json(&router, &format!("/api/v1/dead-letters/{}", d.id)).await;
    assert_eq!(status, 200);
    assert_eq!(shown["status"], "open");
    assert_eq!(shown["actions"], json!([]));
    assert_eq!(queue_depth_of(&router, "accounting").await, 0);

    for probe in ["/healthz", "/readyz", "/metrics"] {
        let response = router
            .client
            .get(router.admin_url(probe))
            .send()
            .await
            .expect("probe");
        assert_eq!(response.status(), 200, "{probe}");
    }
    let (_, ready) = get_json(&router, "/readyz").await;
    assert_eq!(
        ready,
        json!({ "status": "ready", "broker": "ok", "store": "ok" })
    );
    router.finish().await;
}

#[tokio::test]
async fn without_the_store_webhooks_still_flow_and_support_answers_503() {
    let db = TestDb {
        name: "lhrouter_unreachable".to_owned(),
        url: "postgres://postgres@127.0.0.1:1/lhrouter_unreachable".to_owned(),
    };
    let router = TestRouter::spawn_in(db, &amqp_url(), 1_048_576).await;

    let body = stripe_event(
        "evt_store_down",
        "invoice.paid",
        stripe_invoice("in_sd", "SD-1", "paid", 100, "usd"),
    );
    let response = router
        .client
        .post(router.url("acme", "stripe"))
        .header(
            "Stripe-Signature",
            stripe_signature(STRIPE_SECRET, &body, now()),
        )
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("webhook");
    assert_eq!(response.status(), 200);

    let ready = router
        .client
        .get(router.admin_url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.expect("json");
    assert_eq!(ready["broker"], "ok");
    assert_eq!(ready["store"], "unavailable");
    assert_eq!(ready["error"], "store_unavailable");

    let (status, error) = get_json(&router, "/api/v1/dead-letters").await;
    assert_eq!(status, 503);
    assert_eq!(error["error"], "store_unavailable");
    router.finish().await;
}
