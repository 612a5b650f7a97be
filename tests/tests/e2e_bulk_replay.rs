//! Bulk replay through the admin API: a thousand dead letters, replayed with one request, each
//! applied once. Its own test binary, so the load does not disturb the timing assertions of
//! `e2e_failures`.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use support::Env;

/// Bulk replay of 1,000 dead letters: each applied once. Prints how long it took, for the
/// README (`cargo test -p ledgerhook-tests --test e2e_failures bulk -- --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_replay_of_a_thousand_dead_letters_applies_each_once() {
    const N: usize = 1000;
    let env = Env::start_with(2, Some(support::high_limits())).await;
    env.faults(json!({ "system": "xero", "error_rate": 1.0, "status": 400 }))
        .await;
    let bodies: Vec<(String, Value)> = (0..N)
        .map(|i| {
            (
                format!("msg_bulk_{i}"),
                support::flow_invoice_created(
                    &format!("a0XBULK{i:04}"),
                    &format!("INV-BULK-{i:04}"),
                    "1.00",
                ),
            )
        })
        .collect();
    futures::stream::iter(bodies.iter())
        .for_each_concurrent(16, |(id, body)| async {
            assert_eq!(env.post_flow(id, body).await, 200);
        })
        .await;
    env.wait_for_dead_letters(
        Duration::from_secs(300),
        "tenant=acme&destination=accounting&status=open&type=invoice.created",
        "a thousand dead letters",
        |items| items.len() >= 500,
    )
    .await;
    // The list pages at 500; count them all through the store.
    let open = open_dead_letters(&env).await;
    wait_until(Duration::from_secs(300), || async {
        open_dead_letters(&env).await == N as i64
    })
    .await;
    assert!(open <= N as i64);

    env.clear_faults().await;
    let started = Instant::now();
    let (status, answer) = env
        .admin_post(
            "/api/v1/dead-letters/replay",
            &json!({ "tenant": "acme", "destination": "accounting" }),
        )
        .await;
    assert_eq!(status, 202, "{answer:#}");
    assert_eq!(answer["count"], N);
    env.wait_for(Duration::from_secs(600), "every replayed invoice", |s| {
        support::xero_invoice_count(s) >= N
    })
    .await;
    let took = started.elapsed();
    println!(
        "bulk replay of {N} dead letters: all applied in {:.1} s ({:.0} per second)",
        took.as_secs_f64(),
        N as f64 / took.as_secs_f64()
    );
    let state = env.state().await;
    assert_eq!(support::xero_invoice_count(&state), N, "each applied once");
    wait_until(Duration::from_secs(60), || async {
        replayed_dead_letters(&env).await == N as i64
    })
    .await;
    env.finish().await;
}

async fn count_where(env: &Env, status: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(&env.database_url, tokio_postgres::NoTls)
        .await
        .expect("store");
    tokio::spawn(conn);
    client
        .query_one(
            "SELECT count(*) FROM dead_letters WHERE status = $1",
            &[&status],
        )
        .await
        .expect("count")
        .get(0)
}

async fn open_dead_letters(env: &Env) -> i64 {
    count_where(env, "open").await
}

async fn replayed_dead_letters(env: &Env) -> i64 {
    count_where(env, "replayed").await
}

async fn wait_until<F, Fut>(timeout: Duration, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
