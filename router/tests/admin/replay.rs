//! Replay: one, ten thousand in the background, and the sweeper's catch-up.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{call, get_json};
use crate::support::{seed, seed::Spec, *};

#[tokio::test]
async fn replaying_one_puts_the_exact_event_on_its_destination_queue_only() {
    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let d = seed::dead_letter(&c, Spec::new(9)).await;

    let response = call(
        &router,
        Method::POST,
        &format!("/api/v1/dead-letters/{}/replay", d.id),
        None,
    )
    .await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer, json!({ "id": d.id, "status": "replaying" }));

    // The broker confirmed it before the answer: it is on the queue now.
    let messages = drain(&format!("{}.accounting", router.prefix)).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.exchange, "");
    assert_eq!(m.routing_key, format!("{}.accounting", router.prefix));
    assert_eq!(m.json(), d.event);
    assert_eq!(
        seed::header(m, "x-ledgerhook-replay"),
        Some(d.id.to_string())
    );
    assert_eq!(
        m.properties.message_id().as_ref().map(|s| s.to_string()),
        Some(d.event_id.to_string())
    );
    assert_eq!(
        m.properties.content_type().as_ref().map(|s| s.to_string()),
        Some("application/cloudevents+json".to_owned())
    );
    assert_eq!(m.properties.delivery_mode(), &Some(2));
    assert!(drain(&format!("{}.crm", router.prefix)).await.is_empty());

    let (_, shown) = get_json(&router, &format!("/api/v1/dead-letters/{}", d.id)).await;
    assert_eq!(shown["status"], "replaying");
    assert_eq!(shown["replay_count"], 1);
    let actions = shown["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["action"], "replay");
    assert_eq!(actions[0]["actor"], "tests");
    let published = seed::count(
        &c,
        &format!(
            "SELECT count(*) FROM dead_letters WHERE id = '{}' AND replay_published_at IS NOT NULL",
            d.id
        ),
    )
    .await;
    assert_eq!(published, 1);

    // Replaying again is allowed (the inbox keeps it idempotent) and counted.
    let again = call(
        &router,
        Method::POST,
        &format!("/api/v1/dead-letters/{}/replay", d.id),
        None,
    )
    .await;
    assert_eq!(again.status(), 202);
    let (_, shown) = get_json(&router, &format!("/api/v1/dead-letters/{}", d.id)).await;
    assert_eq!(shown["replay_count"], 2);
    assert_eq!(
        drain(&format!("{}.accounting", router.prefix)).await.len(),
        1
    );

    let unknown = call(
        &router,
        Method::POST,
        &format!("/api/v1/dead-letters/{}/replay", Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!(unknown.status(), 404);
    let error: Value = unknown.json().await.expect("json");
    assert_eq!(error["error"], "not_found");

    let gone = seed::dead_letter(&c, Spec::new(10)).await;
    let discard = call(
        &router,
        Method::POST,
        &format!("/api/v1/dead-letters/{}/discard", gone.id),
        Some(json!({ "reason": "duplicate of INV-00009" })),
    )
    .await;
    assert_eq!(discard.status(), 200);
    let refused = call(
        &router,
        Method::POST,
        &format!("/api/v1/dead-letters/{}/replay", gone.id),
        None,
    )
    .await;
    assert_eq!(refused.status(), 409);
    let error: Value = refused.json().await.expect("json");
    assert_eq!(error["error"], "discarded");
    assert!(drain(&format!("{}.accounting", router.prefix))
        .await
        .is_empty());
    router.finish().await;
}

#[tokio::test]
async fn bulk_replay_of_ten_thousand_answers_at_once_and_publishes_them_all() {
    const N: usize = 10_000;
    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let prepared: Vec<_> = (0..N).map(|n| seed::prepare(Spec::new(n))).collect();
    for chunk in prepared.chunks(1000) {
        futures::future::join_all(chunk.iter().cloned().map(|p| seed::insert(&c, p))).await;
    }
    // Dead letters the filter leaves alone: another tenant's, and a discarded one of acme.
    for n in 0..50 {
        let mut spec = Spec::new(N + n);
        spec.tenant = "globex".to_owned();
        seed::dead_letter(&c, spec).await;
    }
    let discarded = seed::dead_letter(&c, Spec::new(2 * N)).await;
    c.execute(
        "UPDATE dead_letters SET status = 'discarded' WHERE id = $1",
        &[&discarded.id],
    )
    .await
    .expect("discard");

    let started = Instant::now();
    let response = call(
        &router,
        Method::POST,
        "/api/v1/dead-letters/replay",
        Some(json!({ "tenant": "acme" })),
    )
    .await;
    let answered = started.elapsed();
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer, json!({ "count": N }));

    let queue = format!("{}.accounting", router.prefix);
    let deadline = Instant::now() + Duration::from_secs(180);
    while seed::queue_depth(&queue).await < N as u32 {
        assert!(
            Instant::now() < deadline,
            "not all replays reached the queue"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let on_queue = started.elapsed();
    let published_sql = "SELECT count(*) FROM dead_letters WHERE replay_published_at IS NOT NULL";
    while seed::count(&c, published_sql).await < N as i64 {
        assert!(
            Instant::now() < deadline,
            "not all replays were recorded as published"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "bulk replay of {N}: answered in {} ms, all on the queue after {} ms",
        answered.as_millis(),
        on_queue.as_millis()
    );
    assert_eq!(
        seed::queue_depth(&queue).await,
        N as u32,
        "each published once"
    );

    let counts = |sql: &'static str| {
        let c = &c;
        async move { seed::count(c, sql).await }
    };
    assert_eq!(
        counts("SELECT count(*) FROM dead_letters WHERE status = 'replaying' AND tenant = 'acme'")
            .await,
        N as i64
    );
    assert_eq!(
        counts("SELECT count(*) FROM dead_letters WHERE status = 'open' AND tenant = 'globex'")
            .await,
        50
    );
    assert_eq!(
        counts("SELECT count(*) FROM dead_letters WHERE status = 'discarded'").await,
        1
    );
    assert_eq!(
        counts(
            "SELECT count(*) FROM dead_letter_actions WHERE action = 'replay' AND actor = 'tests'"
        )
        .await,
        N as i64
    );
    let (_, replaying) = get_json(&router, "/api/v1/dead-letters?status=replaying&limit=1").await;
    assert_eq!(replaying["items"][0]["replay_count"], 1);

    let m = seed::take_one(&queue).await.expect("a replayed message");
    let id = seed::header(&m, "x-ledgerhook-replay").expect("replay header");
    let d: Uuid = id.parse().expect("dead letter id");
    let (_, shown) = get_json(&router, &format!("/api/v1/dead-letters/{d}")).await;
    assert_eq!(m.json(), shown["event"]);

    // Nothing open is left for acme: a second bulk replay finds nothing.
    let again = call(
        &router,
        Method::POST,
        "/api/v1/dead-letters/replay",
        Some(json!({ "tenant": "acme" })),
    )
    .await;
    assert_eq!(again.status(), 202);
    assert_eq!(
        again.json::<Value>().await.expect("json"),
        json!({ "count": 0 })
    );
    // A misspelt filter is refused rather than replaying everything.
    let typo = call(
        &router,
        Method::POST,
        "/api/v1/dead-letters/replay",
        Some(json!({ "tennant": "acme" })),
    )
    .await;
    assert_eq!(typo.status(), 400);
    router.finish().await;
}

#[tokio::test]
async fn the_sweeper_publishes_a_replay_the_router_never_published() {
    let db = TestDb::create().await;
    let store = db.store().await;
    let c = store.client().await.expect("client");
    let d = seed::dead_letter(&c, Spec::new(21)).await;
    let fresh = seed::dead_letter(&c, Spec::new(22)).await;
    // A router marked both for replay and stopped before publishing; only the first is older
    // than a bulk replay could still be working on.
    c.execute(
        "UPDATE dead_letters SET status = 'replaying', replay_count = 1,
                replay_requested_at = now() - interval '5 minutes'
          WHERE id = $1",
        &[&d.id],
    )
    .await
    .expect("mark stale");
    c.execute(
        "UPDATE dead_letters SET status = 'replaying', replay_count = 1,
                replay_requested_at = now()
          WHERE id = $1",
        &[&fresh.id],
    )
    .await
    .expect("mark fresh");

    let router = TestRouter::spawn_in(db, &amqp_url(), 1_048_576).await;
    let queue = format!("{}.accounting", router.prefix);
    let deadline = Instant::now() + Duration::from_secs(30);
    let published = format!(
        "SELECT count(*) FROM dead_letters WHERE id = '{}' AND replay_published_at IS NOT NULL",
        d.id
    );
    while seed::count(&c, &published).await == 0 {
        assert!(
            Instant::now() < deadline,
            "the sweeper did not publish the stale replay"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let messages = drain(&queue).await;
    assert_eq!(messages.len(), 1, "only the stale replay");
    assert_eq!(messages[0].json(), d.event);
    assert_eq!(
        seed::header(&messages[0], "x-ledgerhook-replay"),
        Some(d.id.to_string())
    );
    router.finish().await;
}
