//! Failures end to end: the retry ladder, dead letters, replay through the admin API, and a
//! message that takes its worker down every time.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::{
    options::{BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions},
    types::FieldTable,
    BasicProperties, Connection, ConnectionProperties,
};
use ledgerhook_shared::broker::Destination;
use serde_json::{json, Value};
use support::{dec, Env, XERO_TENANT};

const WAIT: Duration = Duration::from_secs(60);

fn xero_invoices<'a>(state: &'a Value, number: &str) -> Vec<&'a Value> {
    state["xero"][XERO_TENANT]["invoices"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|i| i["InvoiceNumber"] == number)
                .collect()
        })
        .unwrap_or_default()
}

/// The journal's steps for one source object at the accounting worker, with their times.
async fn steps(env: &Env, subject: &str) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    let (client, conn) = tokio_postgres::connect(&env.database_url, tokio_postgres::NoTls)
        .await
        .expect("store");
    tokio::spawn(conn);
    client
        .query(
            "SELECT step, at FROM journal
              WHERE subject = $1 AND destination = 'accounting' ORDER BY id",
            &[&subject],
        )
        .await
        .expect("journal")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_permanent_failure_is_dead_lettered_and_a_replay_applies_it_once() {
    let env = Env::start(1).await;
    // Xero refuses everything, as it does a request it finds invalid.
    env.faults(json!({ "system": "xero", "error_rate": 1.0, "status": 400 }))
        .await;
    assert_eq!(
        env.post_flow(
            "msg_dl_1",
            &support::flow_invoice_created("a0XDL0001", "INV-DL-1", "1234.56")
        )
        .await,
        200
    );
    let open = env
        .wait_for_dead_letters(
            WAIT,
            "tenant=acme&destination=accounting&status=open",
            "the refused invoice as a dead letter",
            |items| items.iter().any(|d| d["subject"] == "a0XDL0001"),
        )
        .await;
    let letter = open
        .iter()
        .find(|d| d["subject"] == "a0XDL0001")
        .expect("dead letter");
    assert_eq!(letter["reason_class"], "permanent");
    assert_eq!(letter["type"], "invoice.created");
    assert_eq!(letter["invoice_number"], "INV-DL-1");
    let id = letter["id"].as_str().expect("id").to_owned();

    let (status, detail) = env.admin_get(&format!("/api/v1/dead-letters/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        detail["reason"].as_str().unwrap_or("").contains("HTTP 400"),
        "the target's answer is the reason: {detail:#}"
    );
    assert_eq!(detail["event"]["data"]["total"]["amount"], "1234.56");
    let attempts = detail["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "a permanent failure is not retried");
    assert_eq!(attempts[0]["class"], "permanent");
    assert_eq!(attempts[0]["http_status"], 400);

    // The cause is fixed; support replays the dead letter.
    env.clear_faults().await;
    let (status, _) = env
        .admin_post(&format!("/api/v1/dead-letters/{id}/replay"), &json!({}))
        .await;
    assert_eq!(status, 202);
    let state = env
        .wait_for(WAIT, "the replayed invoice in Xero", |s| {
            !xero_invoices(s, "INV-DL-1").is_empty()
        })
        .await;
    assert_eq!(
        dec(&xero_invoices(&state, "INV-DL-1")[0]["Total"]),
        "1234.56".parse().expect("decimal")
    );
    env.wait_for_dead_letters(
        WAIT,
        "tenant=acme&status=replayed",
        "the replay closed",
        |items| items.iter().any(|d| d["id"] == id.as_str()),
    )
    .await;

    // A second replay of an event that was applied changes nothing.
    let (status, _) = env
        .admin_post(&format!("/api/v1/dead-letters/{id}/replay"), &json!({}))
        .await;
    assert_eq!(status, 202);
    env.wait_for_dead_letters(
        WAIT,
        "tenant=acme&status=replayed",
        "the second replay closed",
        |items| {
            items
                .iter()
                .any(|d| d["id"] == id.as_str() && d["replay_count"] == 2)
        },
    )
    .await;
    let state = env.state().await;
    assert_eq!(xero_invoices(&state, "INV-DL-1").len(), 1, "applied once");
    let (_, detail) = env.admin_get(&format!("/api/v1/dead-letters/{id}")).await;
    let actions: Vec<(&str, &str)> = detail["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or(""),
                a["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("replay", "support"),
            ("replayed", "worker"),
            ("replay", "support"),
            ("replayed", "worker")
        ]
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transient_failures_climb_the_ladder_and_are_journaled() {
    let env = Env::start(1).await;
    env.faults(json!({ "system": "xero", "fail_next": 3, "status": 503 }))
        .await;
    assert_eq!(
        env.post_flow(
            "msg_ladder_1",
            &support::flow_invoice_created("a0XLD0001", "INV-LD-1", "10.00")
        )
        .await,
        200
    );
    env.wait_for(WAIT, "the invoice in Xero after the 503s", |s| {
        !xero_invoices(s, "INV-LD-1").is_empty()
    })
    .await;
    let steps = steps(&env, "a0XLD0001").await;
    let names: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names.last(), Some(&"applied"), "{names:?}");
    // Each failure climbed one step of the 1 s, 2 s, 3 s ladder.
    let retried: Vec<String> = env
        .journal("retried")
        .await
        .into_iter()
        .map(|(_, _, detail)| detail)
        .collect();
    for (attempt, wait) in [(1, 1), (2, 2), (3, 3)] {
        let step = format!("(attempt {attempt}; next in {wait}s)");
        assert!(
            retried
                .iter()
                .any(|d| d.contains("HTTP 503") && d.ends_with(&step)),
            "no {step} in {retried:?}"
        );
    }
    let waited = (steps[steps.len() - 1].1 - steps[0].1)
        .to_std()
        .unwrap_or_default();
    assert!(
        waited >= Duration::from_millis(5900),
        "applied {waited:?} after the first failure, before the ladder's 1 + 2 + 3 s"
    );
    // The same story through the journal search support uses.
    let (status, found) = env.admin_get("/api/v1/events?tenant=acme&q=INV-LD-1").await;
    assert_eq!(status, 200);
    let text = found.to_string();
    assert!(
        text.contains("retried") && text.contains("applied"),
        "{found:#}"
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_after_is_honoured() {
    let env = Env::start(1).await;
    env.faults(json!({ "system": "xero", "rate_limit_next": 1, "retry_after": 7 }))
        .await;
    assert_eq!(
        env.post_flow(
            "msg_ra_1",
            &support::flow_invoice_created("a0XRA0001", "INV-RA-1", "70.00")
        )
        .await,
        200
    );
    env.wait_for(WAIT, "the invoice in Xero after the 429", |s| {
        !xero_invoices(s, "INV-RA-1").is_empty()
    })
    .await;
    let steps = steps(&env, "a0XRA0001").await;
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_eq!(steps[0].0, "retried");
    assert_eq!(steps[1].0, "applied");
    let waited = (steps[1].1 - steps[0].1).to_std().unwrap_or_default();
    assert!(
        waited >= Duration::from_secs(7),
        "retried after {waited:?}, sooner than Retry-After: 7"
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_that_takes_its_worker_down_ends_as_a_dead_letter() {
    // No workers yet: a consumer that dies holding the message plays the crashing worker.
    let mut env = Env::start(0).await;
    let connection = Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        ConnectionProperties::default(),
    )
    .await
    .expect("RabbitMQ");
    let queue = format!("{}.accounting", env.prefix);
    let dead = format!("{}.accounting.dead", env.prefix);
    let event = json!({
        "specversion": "1.0", "id": "0193a3c0-0000-7000-8000-000000000001",
        "source": "/acme/flow", "type": "invoice.created", "time": "2026-12-01T10:00:00Z",
        "subject": "a0XPOISON", "tenant": "acme", "category": "crm", "system": "flow",
        "idempotencykey": "acme/flow/poison-1", "receivedat": "2026-12-01T10:00:00Z",
        "datacontenttype": "application/json"
    });
    let publisher = connection.create_channel().await.expect("channel");
    publisher
        .basic_publish(
            "".into(),
            queue.as_str().into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(&event).expect("json"),
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    // Take the message and die without settling it, until the broker gives it up.
    let deadline = Instant::now() + WAIT;
    loop {
        let probe = connection.create_channel().await.expect("channel");
        let in_dead = probe
            .queue_declare(
                dead.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("dead queue exists")
            .message_count();
        if in_dead == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the broker never gave up");
        let mut consumer = probe
            .basic_consume(
                queue.as_str().into(),
                "crashing-worker".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        if let Ok(Some(Ok(_delivery))) =
            tokio::time::timeout(Duration::from_secs(2), consumer.next()).await
        {
            // Gone without an ack or a nack, as a crashed process is.
        }
        let _ = probe.close(200, "crashed".into()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A real worker moves it into the dead-letter table and serves other events meanwhile.
    env.start_worker(Destination::Accounting).await;
    assert_eq!(
        env.post_flow(
            "msg_after_poison",
            &support::flow_invoice_created("a0XOK0001", "INV-OK-1", "5.00")
        )
        .await,
        200
    );
    env.wait_for(WAIT, "the healthy invoice in Xero", |s| {
        !xero_invoices(s, "INV-OK-1").is_empty()
    })
    .await;
    let poisoned = env
        .wait_for_dead_letters(
            WAIT,
            "tenant=acme&destination=accounting",
            "the poison message in the dead-letter table",
            |items| items.iter().any(|d| d["subject"] == "a0XPOISON"),
        )
        .await;
    let letter = poisoned
        .iter()
        .find(|d| d["subject"] == "a0XPOISON")
        .expect("dead letter");
    assert_eq!(letter["reason_class"], "poison");
    assert_eq!(letter["status"], "open");
    let _ = connection.close(200, "done".into()).await;
    env.finish().await;
}
