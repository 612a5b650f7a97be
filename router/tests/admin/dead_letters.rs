//! Listing, showing and discarding dead letters.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{all_pages, call, get_json, ids};
use crate::support::{seed, seed::Spec, *};

#[tokio::test]
async fn the_list_filters_and_pages_newest_first() {
    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let mut seeded = Vec::new();
    for n in 0..120 {
        let mut spec = Spec::new(n);
        if n % 3 == 0 {
            spec.tenant = "globex".to_owned();
            spec.source = "quickbooks".to_owned();
        }
        if n % 2 == 1 {
            spec.destination = "crm".to_owned();
        }
        if n % 4 == 0 {
            spec.event_type = "payment.succeeded".to_owned();
        }
        seeded.push(seed::dead_letter(&c, spec).await);
    }
    seed::attempt(&c, &seeded[7], 1, Some(503), "Xero answered 503").await;
    seed::attempt(&c, &seeded[7], 2, Some(400), "Xero answered 400").await;
    c.execute(
        "UPDATE dead_letters SET status = 'discarded' WHERE invoice_number < 'INV-00010'",
        &[],
    )
    .await
    .expect("discard ten");
    let status = |n: usize| if n < 10 { "discarded" } else { "open" };

    // Pages of 50: 50, 50, 20, each newest first, and together every dead letter once.
    let mut listed = Vec::new();
    let mut cursor = String::new();
    for expected in [50, 50, 20] {
        let (code, page) = get_json(
            &router,
            &format!("/api/v1/dead-letters?limit=50&cursor={cursor}"),
        )
        .await;
        assert_eq!(code, 200);
        let items = page["items"].as_array().expect("items");
        assert_eq!(items.len(), expected);
        listed.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => assert_eq!(expected, 20, "only the last page has no cursor"),
        }
    }
    let newest_first: Vec<String> = seeded.iter().rev().map(|d| d.id.to_string()).collect();
    let listed_ids: Vec<String> = listed
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(listed_ids, newest_first);
    let (_, default_page) = get_json(&router, "/api/v1/dead-letters").await;
    assert_eq!(default_page["items"].as_array().expect("items").len(), 50);

    // One summary in full.
    let summary = listed
        .iter()
        .find(|i| i["id"] == json!(seeded[7].id))
        .expect("seeded 7 listed");
    assert_eq!(summary["destination"], "crm");
    assert_eq!(summary["tenant"], "acme");
    assert_eq!(summary["source"], "/acme/stripe");
    assert_eq!(summary["type"], "invoice.paid");
    assert_eq!(summary["event_id"], json!(seeded[7].event_id));
    assert_eq!(summary["idempotency_key"], "acme/stripe/evt_00007");
    assert_eq!(summary["subject"], "in_00007");
    assert_eq!(summary["invoice_number"], "INV-00007");
    assert_eq!(summary["reason_class"], "permanent");
    assert_eq!(summary["status"], "discarded");
    assert_eq!(summary["attempts"], 2);
    assert_eq!(summary["replay_count"], 0);
    assert!(summary["created_at"].as_str().expect("time").ends_with('Z'));

    let expect = |pred: &dyn Fn(usize, &Spec) -> bool| -> HashSet<String> {
        seeded
            .iter()
            .enumerate()
            .filter(|(n, d)| pred(*n, &d.spec))
            .map(|(_, d)| d.id.to_string())
            .collect()
    };
    let d42 = &seeded[42];
    let cases: Vec<(String, HashSet<String>)> = vec![
        ("tenant=globex".into(), expect(&|_, s| s.tenant == "globex")),
        ("source=stripe".into(), expect(&|_, s| s.source == "stripe")),
        (
            "source=/acme/stripe".into(),
            expect(&|_, s| s.source == "stripe"),
        ),
        (
            "type=payment.succeeded".into(),
            expect(&|_, s| s.event_type == "payment.succeeded"),
        ),
        (
            "destination=crm".into(),
            expect(&|_, s| s.destination == "crm"),
        ),
        (
            "status=discarded".into(),
            expect(&|n, _| status(n) == "discarded"),
        ),
        ("status=open".into(), expect(&|n, _| status(n) == "open")),
        ("q=INV-00042".into(), HashSet::from([d42.id.to_string()])),
        ("q=in_00042".into(), HashSet::from([d42.id.to_string()])),
        (
            format!("q={}", d42.event_id),
            HashSet::from([d42.id.to_string()]),
        ),
        (
            "q=globex/quickbooks/evt_00042".into(),
            HashSet::from([d42.id.to_string()]),
        ),
        ("q=INV-99999".into(), HashSet::new()),
        (
            "tenant=acme&destination=accounting&status=open&type=invoice.paid".into(),
            expect(&|n, s| {
                s.tenant == "acme"
                    && s.destination == "accounting"
                    && status(n) == "open"
                    && s.event_type == "invoice.paid"
            }),
        ),
        ("tenant=&status=&q=".into(), expect(&|_, _| true)),
    ];
    for (query, expected) in cases {
        let got = all_pages(&router, &query).await;
        assert_eq!(ids(&got), expected, "{query}");
        assert_eq!(got.len(), expected.len(), "{query}: no duplicates");
    }
    // Small pages over a filter still cover it exactly.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let (_, page) = get_json(
            &router,
            &format!("/api/v1/dead-letters?tenant=globex&limit=7&cursor={cursor}"),
        )
        .await;
        paged.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(paged.len(), 40);
    assert_eq!(ids(&paged), expect(&|_, s| s.tenant == "globex"));

    for bad in [
        "limit=0",
        "limit=501",
        "limit=many",
        "destination=erp",
        "status=lost",
        "cursor=not-a-cursor",
    ] {
        let (code, error) = get_json(&router, &format!("/api/v1/dead-letters?{bad}")).await;
        assert_eq!(code, 400, "{bad}");
        assert_eq!(error["error"], "invalid_request", "{bad}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    router.finish().await;
}

#[tokio::test]
async fn show_has_the_event_every_attempt_and_every_action() {
    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let d = seed::dead_letter(&c, Spec::new(5)).await;
    seed::attempt(
        &c,
        &d,
        1,
        Some(503),
        "Xero answered 503 Service Unavailable",
    )
    .await;
    seed::attempt(&c, &d, 2, None, "connection reset by Xero").await;
    seed::attempt(
        &c,
        &d,
        3,
        Some(400),
        "Xero refused: account code 200 is archived",
    )
    .await;
    // The same event failing at the other destination is another dead letter's business.
    let mut other = d.clone();
    other.spec.destination = "crm".to_owned();
    seed::attempt(&c, &other, 1, Some(429), "HubSpot rate limit").await;

    let (status, shown) = get_json(&router, &format!("/api/v1/dead-letters/{}", d.id)).await;
    assert_eq!(status, 200);
    assert_eq!(shown["id"], json!(d.id));
    assert_eq!(shown["event"], d.event);
    assert_eq!(shown["reason"], d.spec.reason);
    assert_eq!(shown["status"], "open");
    assert_eq!(shown["attempts"].as_array().expect("attempts").len(), 3);
    let attempts = &shown["attempts"];
    assert_eq!(attempts[0]["attempt"], 1);
    assert_eq!(attempts[0]["class"], "transient");
    assert_eq!(attempts[0]["http_status"], 503);
    assert_eq!(attempts[1]["http_status"], Value::Null);
    assert_eq!(attempts[1]["message"], "connection reset by Xero");
    assert_eq!(attempts[2]["class"], "permanent");
    assert!(attempts[0]["at"].as_str().is_some());
    assert_eq!(shown["actions"], json!([]));
    assert_eq!(shown["closed_by"], Value::Null);
    assert_eq!(shown["closed_reason"], Value::Null);

    for missing in [Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        let (status, error) = get_json(&router, &format!("/api/v1/dead-letters/{missing}")).await;
        assert_eq!(status, 404, "{missing}");
        assert_eq!(error["error"], "not_found");
    }
    router.finish().await;
}

#[tokio::test]
async fn discarding_needs_a_reason_and_an_open_dead_letter() {
    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let d = seed::dead_letter(&c, Spec::new(11)).await;
    let path = format!("/api/v1/dead-letters/{}/discard", d.id);

    for body in [None, Some(json!({})), Some(json!({ "reason": "  " }))] {
        let response = call(&router, Method::POST, &path, body.clone()).await;
        assert_eq!(response.status(), 400, "{body:?}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"], "invalid_request");
    }

    let response = call(
        &router,
        Method::POST,
        &path,
        Some(json!({ "reason": "the customer cancelled the invoice by phone" })),
    )
    .await;
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.expect("json");
    assert_eq!(summary["id"], json!(d.id));
    assert_eq!(summary["status"], "discarded");

    let (_, shown) = get_json(&router, &format!("/api/v1/dead-letters/{}", d.id)).await;
    assert_eq!(shown["status"], "discarded");
    assert_eq!(shown["closed_by"], "tests");
    assert_eq!(
        shown["closed_reason"],
        "the customer cancelled the invoice by phone"
    );
    let actions = shown["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["action"], "discard");
    assert_eq!(actions[0]["actor"], "tests");
    assert_eq!(
        actions[0]["reason"],
        "the customer cancelled the invoice by phone"
    );

    let again = call(
        &router,
        Method::POST,
        &path,
        Some(json!({ "reason": "twice" })),
    )
    .await;
    assert_eq!(again.status(), 409);
    let error: Value = again.json().await.expect("json");
    assert_eq!(error["error"], "not_open");
    // Never deleted.
    assert_eq!(
        seed::count(&c, "SELECT count(*) FROM dead_letters").await,
        1
    );

    let unknown = call(
        &router,
        Method::POST,
        &format!("/api/v1/dead-letters/{}/discard", Uuid::now_v7()),
        Some(json!({ "reason": "no such thing" })),
    )
    .await;
    assert_eq!(unknown.status(), 404);
    router.finish().await;
}
