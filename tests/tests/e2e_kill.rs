//! A worker process killed with SIGKILL in the middle of a stream of 500 payments, then
//! restarted: every payment is applied, none twice.

mod support;

use std::{path::PathBuf, process::Stdio, time::Duration};

use reqwest::Method;
use serde_json::{json, Value};
use support::{Env, XERO_TENANT};
use tokio::process::{Child, Command};

const EVENTS: usize = 500;

/// The real `ledgerhook-accounting-worker`, built by `cargo test --workspace` next to this test.
fn worker_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let binary = dir.join("ledgerhook-accounting-worker");
    assert!(
        binary.exists(),
        "{} is missing: run the workspace's tests (`cargo test --workspace`), which build it",
        binary.display()
    );
    binary
}

fn spawn_worker(config: &std::path::Path) -> Child {
    Command::new(worker_binary())
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("worker starts")
}

fn payments(state: &Value) -> usize {
    state["xero"][XERO_TENANT]["payments"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_stream_applies_every_event_once() {
    let env = Env::start_with(0, Some(support::high_limits())).await;
    // 500 open invoices, made in Xero directly.
    let contact = env
        .xero(
            Method::PUT,
            "Contacts",
            json!({ "Contacts": [{ "Name": "Initech", "EmailAddress": "ap@initech.example" }] }),
        )
        .await;
    let contact_id = contact["Contacts"][0]["ContactID"]
        .as_str()
        .expect("contact")
        .to_owned();
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(50) {
        let invoices: Vec<Value> = chunk
            .iter()
            .map(|n| {
                json!({ "Type": "ACCREC", "Contact": { "ContactID": contact_id }, "InvoiceNumber": format!("INV-K{n:04}"),
                    "Status": "AUTHORISED", "CurrencyCode": "USD", "LineAmountTypes": "NoTax",
                    "LineItems": [{ "Description": "Seat", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200" }] })
            })
            .collect();
        env.xero(Method::PUT, "Invoices", json!({ "Invoices": invoices }))
            .await;
    }

    let dir = std::env::temp_dir().join(format!("ledgerhook-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("ledgerhook.toml");
    std::fs::write(&config, &env.config_text).expect("config file");
    let mut worker = spawn_worker(&config);

    // Stripe reports the 500 payments, 16 at a time.
    let mut sent = 0;
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(16) {
        let posts = chunk.iter().map(|n| {
            let body = support::stripe_invoice_paid(
                &format!("evt_kill_{n:04}"),
                &format!("in_kill_{n:04}"),
                &format!("INV-K{n:04}"),
                1_000,
            );
            let env = &env;
            async move { env.post_stripe(&body).await }
        });
        for status in futures::future::join_all(posts).await {
            assert_eq!(status, 200);
            sent += 1;
        }
    }
    assert_eq!(sent, EVENTS);

    // Kill it mid-stream: some payments applied, most not.
    env.wait_for(Duration::from_secs(60), "the first payments", |s| {
        payments(s) >= 50
    })
    .await;
    worker.start_kill().expect("SIGKILL");
    let _ = worker.wait().await;
    let at_kill = payments(&env.state().await);
    assert!(
        at_kill < EVENTS,
        "the worker was killed before the end ({at_kill} applied)"
    );

    let mut worker = spawn_worker(&config);
    env.wait_for(Duration::from_secs(180), "every payment applied", |s| {
        payments(s) >= EVENTS
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let state = env.state().await;
    assert_eq!(payments(&state), EVENTS, "no payment applied twice");
    let unpaid = state["xero"][XERO_TENANT]["invoices"]
        .as_array()
        .expect("invoices")
        .iter()
        .filter(|i| i["Status"] != "PAID")
        .count();
    assert_eq!(unpaid, 0, "every invoice paid");

    // SIGTERM drains and exits cleanly.
    let pid = worker.id().expect("pid");
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let status = tokio::time::timeout(Duration::from_secs(20), worker.wait())
        .await
        .expect("the worker stops after SIGTERM")
        .expect("exit status");
    assert!(status.success(), "a drained worker exits 0, got {status}");
    let _ = std::fs::remove_dir_all(&dir);
    env.finish().await;
}
