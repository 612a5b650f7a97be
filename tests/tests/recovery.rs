//! Recovery: the real RabbitMQ and PostgreSQL are restarted while webhooks keep arriving.
//! Whatever the router accepted is applied exactly once after the service is back, and nobody
//! had to restart ledgerhook. The tests restart shared services, so they take turns, and this
//! binary runs alone (cargo runs test binaries one after another).

mod support;

use std::{
    process::Command,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use support::Env;
use tokio::sync::Mutex;

/// One restart at a time.
static RESTARTS: Mutex<()> = Mutex::const_new(());

const EVENTS: usize = 120;

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

/// The PostgreSQL cluster on port 5432, as `pg_lsclusters` names it (`15 main`).
fn pg_cluster() -> (String, String) {
    let out = Command::new("pg_lsclusters")
        .arg("--no-header")
        .output()
        .expect("pg_lsclusters runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(2) == Some(&"5432"))
        .map(|f| (f[0].to_owned(), f[1].to_owned()))
        .expect("a cluster on 5432")
}

/// Posts every event, as a provider does: a non-2xx answer is retried until it is a 200.
/// Counts the answers that were not 200 (the outage the provider saw).
async fn deliver_all(env: &Env, prefix: &str, refused: &AtomicUsize) {
    futures::stream::iter(0..EVENTS)
        .for_each_concurrent(4, |i| async move {
            let id = format!("msg_{prefix}_{i}");
            let body = support::flow_invoice_created(
                &format!("a0X{prefix}{i:04}"),
                &format!("INV-{prefix}-{i:04}"),
                "12.34",
            );
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if env.post_flow(&id, &body).await == 200 {
                    break;
                }
                refused.fetch_add(1, Ordering::Relaxed);
                assert!(Instant::now() < deadline, "{id} never accepted");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            // Spread the events over the restart.
            tokio::time::sleep(Duration::from_millis(100)).await;
        })
        .await;
}

async fn applied_once(env: &Env, prefix: &str) {
    let number = |i: usize| format!("INV-{prefix}-{i:04}");
    let state = env
        .wait_for(
            Duration::from_secs(180),
            "every accepted event in Xero",
            |s| {
                let numbers: Vec<&str> = s["xero"][support::XERO_TENANT]["invoices"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|i| i["InvoiceNumber"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                (0..EVENTS).all(|i| numbers.contains(&number(i).as_str()))
            },
        )
        .await;
    let invoices = state["xero"][support::XERO_TENANT]["invoices"]
        .as_array()
        .expect("invoices");
    for i in 0..EVENTS {
        let copies = invoices
            .iter()
            .filter(|inv| inv["InvoiceNumber"] == number(i).as_str())
            .count();
        assert_eq!(copies, 1, "{} applied {copies} times", number(i));
    }
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
}

async fn router_ready(env: &Env) -> u16 {
    match env
        .http
        .get(format!("{}/readyz", env.admin_url))
        .timeout(Duration::from_secs(2))
        .send()
        .await
    {
        Ok(answer) => answer.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbitmq_restarted_under_load_loses_nothing() {
    let _turn = RESTARTS.lock().await;
    let env = Env::start_with(1, Some(support::high_limits())).await;
    let refused = Arc::new(AtomicUsize::new(0));
    let load = {
        let refused = refused.clone();
        let env = &env;
        async move { deliver_all(env, "MQ", &refused).await }
    };
    let restart = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        run("rabbitmqctl", &["-q", "stop_app"]);
        // While the broker is away the router refuses webhooks and is not ready.
        let down = Instant::now();
        let mut not_ready = false;
        while down.elapsed() < Duration::from_secs(4) {
            not_ready |= router_ready(&env).await == 503;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        run("rabbitmqctl", &["-q", "start_app"]);
        run("rabbitmqctl", &["-q", "await_startup"]);
        not_ready
    };
    let ((), not_ready) = tokio::join!(load, restart);
    assert!(not_ready, "/readyz said 503 while the broker was away");
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the router refused webhooks while the broker was away"
    );
    applied_once(&env, "MQ").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while router_ready(&env).await != 200 {
        assert!(Instant::now() < deadline, "the router is ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgresql_restarted_under_load_loses_nothing() {
    let _turn = RESTARTS.lock().await;
    let env = Env::start_with(1, Some(support::high_limits())).await;
    let (version, cluster) = pg_cluster();
    let refused = AtomicUsize::new(0);
    let load = deliver_all(&env, "PG", &refused);
    let restart = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        run("pg_ctlcluster", &[&version, &cluster, "stop", "-m", "fast"]);
        // Workers hold their events meanwhile: nothing is acked, nothing is dead-lettered.
        tokio::time::sleep(Duration::from_secs(4)).await;
        run("pg_ctlcluster", &[&version, &cluster, "start"]);
    };
    tokio::join!(load, restart);
    // The router does not need the store to accept webhooks.
    assert_eq!(
        refused.load(Ordering::Relaxed),
        0,
        "webhooks were refused while only PostgreSQL was away"
    );
    applied_once(&env, "PG").await;
    env.finish().await;
}
