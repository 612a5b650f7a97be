//! Black-box tests of the ingress against the real RabbitMQ: status codes, what lands on which
//! queue with which attributes, and that nothing is acknowledged before the broker confirms.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;

async fn post_stripe(router: &TestRouter, body: &[u8]) -> reqwest::Response {
    router
        .client
        .post(router.url("acme", "stripe"))
        .header(
            "Stripe-Signature",
            stripe_signature(STRIPE_SECRET, body, now()),
        )
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn signed_webhook_is_confirmed_on_both_destination_queues_before_200() {
    let router = TestRouter::spawn().await;
    let body = stripe_event(
        "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        "invoice.paid",
        stripe_invoice(
            "in_1MtHbELkdIwHu7ixl4OzzPMv",
            "INV-0042",
            "paid",
            123_450,
            "usd",
        ),
    );
    let response = post_stripe(&router, &body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json answer");
    let ids = answer["events"].as_array().expect("event ids");
    assert_eq!(ids.len(), 1);

    for destination in ["accounting", "crm"] {
        let messages = drain(&format!("{}.{destination}", router.prefix)).await;
        assert_eq!(messages.len(), 1, "one message on {destination}");
        let m = &messages[0];
        assert_eq!(m.routing_key, "payments.invoice.paid");
        assert_eq!(m.exchange, format!("{}.events", router.prefix));
        assert_eq!(m.properties.delivery_mode(), &Some(2), "persistent");
        assert_eq!(
            m.properties.content_type().as_ref().map(|s| s.to_string()),
            Some("application/cloudevents+json".to_owned())
        );
        assert_eq!(
            m.properties.message_id().as_ref().map(|s| s.to_string()),
            Some(ids[0].as_str().expect("id").to_owned())
        );
        let event = m.json();
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["id"], ids[0]);
        assert_eq!(event["type"], "invoice.paid");
        assert_eq!(event["source"], "/acme/stripe");
        assert_eq!(event["subject"], "in_1MtHbELkdIwHu7ixl4OzzPMv");
        assert_eq!(event["tenant"], "acme");
        assert_eq!(event["category"], "payments");
        assert_eq!(event["system"], "stripe");
        assert_eq!(event["data"]["object"], "invoice");
        assert_eq!(event["data"]["number"], "INV-0042");
        assert_eq!(
            event["data"]["total"],
            json!({ "amount": "1234.50", "currency": "USD" })
        );
    }
    router.finish().await;
}

#[tokio::test]
async fn a_retried_webhook_keeps_its_idempotency_key() {
    let router = TestRouter::spawn().await;
    let body = stripe_event(
        "evt_retried_0001",
        "invoice.created",
        stripe_invoice("in_retried", "INV-7", "open", 5000, "jpy"),
    );
    for _ in 0..2 {
        assert_eq!(post_stripe(&router, &body).await.status(), 200);
    }
    let messages = drain(&format!("{}.accounting", router.prefix)).await;
    assert_eq!(messages.len(), 2);
    let (a, b) = (messages[0].json(), messages[1].json());
    assert_ne!(a["id"], b["id"], "each delivery is its own event");
    assert_eq!(a["idempotencykey"], b["idempotencykey"]);
    assert_eq!(a["idempotencykey"], "acme/stripe/evt_retried_0001");
    assert_eq!(
        a["data"]["total"],
        json!({ "amount": "5000", "currency": "JPY" })
    );
    router.finish().await;
}

#[tokio::test]
async fn published_events_carry_the_requests_trace_as_traceparent() {
    use ledgerhook_shared::trace::TraceParent;
    use support::seed::header;

    let router = TestRouter::spawn().await;
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let body = stripe_event(
        "evt_traced_0001",
        "invoice.created",
        stripe_invoice("in_traced", "INV-T1", "open", 1000, "usd"),
    );
    let send = |traceparent: Option<&'static str>| {
        let mut request = router
            .client
            .post(router.url("acme", "stripe"))
            .header(
                "Stripe-Signature",
                stripe_signature(STRIPE_SECRET, &body, now()),
            )
            .header("Content-Type", "application/json")
            .body(body.clone());
        if let Some(value) = traceparent {
            request = request.header("traceparent", value);
        }
        request.send()
    };
    let queue = format!("{}.accounting", router.prefix);

    // A valid incoming trace is continued: same trace id, the router's span as the parent.
    assert_eq!(send(Some(incoming)).await.expect("request").status(), 200);
    let messages = drain(&queue).await;
    assert_eq!(messages.len(), 1);
    let value = header(&messages[0], "traceparent").expect("traceparent header");
    let published = TraceParent::parse(&value).expect("a valid traceparent");
    assert_eq!(published.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(published.parent_id_hex(), "00f067aa0ba902b7");
    assert!(published.is_sampled());

    // No trace, or an invalid one: a new trace is started.
    for traceparent in [
        None,
        Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        Some("garbage"),
    ] {
        assert_eq!(send(traceparent).await.expect("request").status(), 200);
        let messages = drain(&queue).await;
        assert_eq!(messages.len(), 1, "{traceparent:?}");
        let value = header(&messages[0], "traceparent").expect("traceparent header");
        let started = TraceParent::parse(&value).expect("a valid traceparent");
        assert_ne!(started.trace_id(), 0);
        assert_ne!(started.trace_id(), published.trace_id(), "{traceparent:?}");
    }
    router.finish().await;
}

#[tokio::test]
async fn unknown_tenant_or_source_is_404() {
    let router = TestRouter::spawn().await;
    for (tenant, source) in [("acme", "paypal"), ("nobody", "stripe")] {
        let response = router
            .client
            .post(router.url(tenant, source))
            .body("{}")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 404);
        let error: Value = response.json().await.expect("json error");
        assert_eq!(error["error"], "unknown_source");
    }
    router.finish().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let router = TestRouter::spawn().await;
    let body = vec![b'x'; 2 * 1024 * 1024];
    let response = post_stripe(&router, &body).await;
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.expect("json error");
    assert_eq!(error["error"], "payload_too_large");
    router.finish().await;
}

#[tokio::test]
async fn forged_or_stale_signatures_are_401_and_publish_nothing() {
    let router = TestRouter::spawn().await;
    let body = stripe_event(
        "evt_forged",
        "invoice.paid",
        stripe_invoice("in_f", "F-1", "paid", 100, "usd"),
    );
    let cases = [
        stripe_signature("whsec_not_the_secret", &body, now()),
        stripe_signature(STRIPE_SECRET, &body, now() - 3600),
        stripe_signature(STRIPE_SECRET, b"another body", now()),
        "t=abc,v1=zz".to_owned(),
    ];
    for signature in cases {
        let response = router
            .client
            .post(router.url("acme", "stripe"))
            .header("Stripe-Signature", signature)
            .body(body.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401);
        let error: Value = response.json().await.expect("json error");
        assert_eq!(error["error"], "invalid_signature");
    }
    let missing = router
        .client
        .post(router.url("acme", "stripe"))
        .body(body.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 401);
    assert!(drain(&format!("{}.accounting", router.prefix))
        .await
        .is_empty());
    router.finish().await;
}

#[tokio::test]
async fn the_old_and_new_secret_both_verify_while_rotating() {
    let router = TestRouter::spawn().await;
    let body = stripe_event(
        "evt_rotate",
        "customer.created",
        json!({
            "id": "cus_rotate", "object": "customer", "email": "a@example.com", "name": "A"
        }),
    );
    for secret in ["whsec_an_older_secret_being_rotated", STRIPE_SECRET] {
        let response = router
            .client
            .post(router.url("acme", "stripe"))
            .header("Stripe-Signature", stripe_signature(secret, &body, now()))
            .body(body.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "secret {secret}");
    }
    router.finish().await;
}

#[tokio::test]
async fn unsynced_types_are_200_and_not_published() {
    let router = TestRouter::spawn().await;
    let body = stripe_event(
        "evt_sub",
        "customer.subscription.created",
        json!({ "id": "sub_1", "object": "subscription" }),
    );
    let response = post_stripe(&router, &body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["events"], json!([]));
    assert_eq!(answer["ignored"], 1);
    assert!(drain(&format!("{}.accounting", router.prefix))
        .await
        .is_empty());
    assert!(drain(&format!("{}.crm", router.prefix)).await.is_empty());
    let metrics = router
        .client
        .get(format!("{}/metrics", router.admin))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(
            "ledgerhook_router_events_ignored_total{tenant=\"acme\",source=\"stripe\"} 1"
        ),
        "{metrics}"
    );
    router.finish().await;
}

#[tokio::test]
async fn a_verified_body_that_does_not_parse_is_400_and_quarantined_whole() {
    let router = TestRouter::spawn().await;
    let body = br#"{"this is": "not a stripe event"}"#;
    let response = post_stripe(&router, body).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"], "unparseable_payload");
    let kept = drain(&format!("{}.quarantine", router.prefix)).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].body,
        body.to_vec(),
        "the raw body is kept byte for byte"
    );
    let headers = kept[0].properties.headers().clone().expect("headers");
    let header = |name: &str| match headers.inner().get(name) {
        Some(lapin::types::AMQPValue::LongString(s)) => {
            String::from_utf8_lossy(s.as_bytes()).into_owned()
        }
        other => panic!("header {name}: {other:?}"),
    };
    assert_eq!(header("ledgerhook-source"), "stripe");
    assert_eq!(header("ledgerhook-tenant"), "acme");
    assert!(
        header("ledgerhook-reason").contains("Stripe"),
        "{}",
        header("ledgerhook-reason")
    );
    router.finish().await;
}

#[tokio::test]
async fn xero_intent_to_receive_gets_200_when_signed_and_401_when_not() {
    let router = TestRouter::spawn().await;
    let body =
        br#"{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}"#;
    let good = router
        .client
        .post(router.url("acme", "xero"))
        .header("x-xero-signature", xero_signature(XERO_KEY, body))
        .body(body.to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(good.status(), 200);
    assert!(
        good.bytes().await.expect("body").is_empty(),
        "Xero expects an empty body"
    );
    let bad = router
        .client
        .post(router.url("acme", "xero"))
        .header("x-xero-signature", xero_signature("wrong-key", body))
        .body(body.to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), 401);
    router.finish().await;
}

#[tokio::test]
async fn a_standard_webhooks_challenge_is_answered_in_the_header() {
    let router = TestRouter::spawn().await;
    let response = router
        .client
        .post(router.url("acme", "flow"))
        .header("webhook-challenge", "c8f2a1e0-challenge")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // The value the official library expects (standardwebhooks 1.3.0,
    // `endpoint_verification_response`) for the spec's test secret.
    assert_eq!(
        response
            .headers()
            .get("webhook-challenge-response")
            .and_then(|v| v.to_str().ok()),
        Some("v1,EdZLL4+/A+y9ydgF0leTX/s9AxHatv+ErxvjL6PXoEM=")
    );
    router.finish().await;
}

#[tokio::test]
async fn broker_unreachable_is_503_with_retry_after() {
    // Nothing listens on port 1: the publisher never connects.
    let router = TestRouter::spawn_with("amqp://guest:guest@127.0.0.1:1/%2f", 1_048_576).await;
    let body = stripe_event(
        "evt_down",
        "invoice.paid",
        stripe_invoice("in_d", "D-1", "paid", 100, "usd"),
    );
    let response = post_stripe(&router, &body).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    let ready = router
        .client
        .get(format!("{}/readyz", router.admin))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let health = router
        .client
        .get(format!("{}/healthz", router.admin))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    router.finish().await;
}

#[tokio::test]
async fn an_unroutable_event_is_503_not_200() {
    let router = TestRouter::spawn().await;
    // With the destination queues gone the exchange routes nowhere: the broker returns the
    // mandatory message, and the provider must be told to retry.
    let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .expect("connect");
    let ch = conn.create_channel().await.expect("channel");
    for q in ["accounting", "crm"] {
        ch.queue_delete(format!("{}.{q}", router.prefix).into(), Default::default())
            .await
            .expect("delete");
    }
    let body = stripe_event(
        "evt_unroutable",
        "invoice.paid",
        stripe_invoice("in_u", "U-1", "paid", 100, "usd"),
    );
    let response = post_stripe(&router, &body).await;
    assert_eq!(response.status(), 503);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"], "unavailable");
    router.finish().await;
}

#[tokio::test]
async fn health_ready_and_metrics_answer_on_the_admin_listener() {
    let router = TestRouter::spawn().await;
    let ready = router
        .client
        .get(format!("{}/readyz", router.admin))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let body = stripe_event(
        "evt_metrics",
        "invoice.paid",
        stripe_invoice("in_m", "M-1", "paid", 100, "usd"),
    );
    assert_eq!(post_stripe(&router, &body).await.status(), 200);
    let metrics = router
        .client
        .get(format!("{}/metrics", router.admin))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("ledgerhook_router_webhooks_total{tenant=\"acme\",source=\"stripe\",outcome=\"published\"} 1"), "{metrics}");
    assert!(
        metrics.contains("ledgerhook_router_publish_seconds_count 1"),
        "{metrics}"
    );
    // The webhook routes are not on the admin listener and vice versa.
    let wrong = router
        .client
        .get(format!("{}/metrics", router.base))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 404);
    router.finish().await;
}

#[tokio::test]
async fn sigterm_drains_a_request_in_flight() {
    let router = TestRouter::spawn().await;
    let body = stripe_event(
        "evt_drain",
        "invoice.paid",
        stripe_invoice("in_dr", "DR-1", "paid", 100, "usd"),
    );
    // Many requests in flight when the shutdown starts: every one that was accepted gets its
    // confirms and a 200, none is cut off with a reset.
    let mut requests = Vec::new();
    for _ in 0..20 {
        let client = router.client.clone();
        let url = router.url("acme", "stripe");
        let signature = stripe_signature(STRIPE_SECRET, &body, now());
        let body = body.clone();
        requests.push(tokio::spawn(async move {
            client
                .post(url)
                .header("Stripe-Signature", signature)
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    router.shutdown.cancel();
    let mut accepted = 0;
    for r in requests {
        match r.await.expect("task") {
            Ok(status) => {
                assert_eq!(status, 200);
                accepted += 1;
            }
            // Not yet connected when the listener closed: the provider retries those.
            Err(e) => assert!(e.is_connect() || e.is_request(), "{e}"),
        }
    }
    let prefix = router.prefix.clone();
    let _ = tokio::time::timeout(Duration::from_secs(35), router.handle).await;
    let on_queue = drain(&format!("{prefix}.accounting")).await.len();
    assert_eq!(on_queue, accepted, "every 200 has its event on the queue");
    delete_topology(&prefix).await;
}
