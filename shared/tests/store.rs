//! The store against a real PostgreSQL, each test in a database of its own.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use ledgerhook_shared::store::{self, Handled, Store};
use secrecy::SecretString;
use uuid::Uuid;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Creates an empty database and returns its URL.
async fn fresh_database() -> (String, String) {
    let admin = std::env::var("LEDGERHOOK_TEST_PG").unwrap_or_else(|_| ADMIN_URL.to_owned());
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL answers (deploy/services.sh starts it)");
    tokio::spawn(conn);
    let name = format!("lhtest_{}", Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let url = admin
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/{name}"))
        .expect("url");
    (name, url)
}

async fn drop_database(name: &str) {
    let admin = std::env::var("LEDGERHOOK_TEST_PG").unwrap_or_else(|_| ADMIN_URL.to_owned());
    if let Ok((client, conn)) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

async fn connect(url: &str) -> Store {
    Store::connect(&SecretString::from(url.to_owned()), 4)
        .await
        .expect("store connects and migrates")
}

#[tokio::test]
async fn processes_starting_together_migrate_once() {
    let (name, url) = fresh_database().await;
    let (a, b, c) = tokio::join!(connect(&url), connect(&url), connect(&url));
    let client = a.client().await.expect("client");
    let rows = client
        .query(
            "SELECT version FROM ledgerhook_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("query");
    // Each embedded migration recorded exactly once, however many processes raced.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/migrations"))
        .expect("migrations folder")
        .count();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=files as i32).collect::<Vec<_>>());
    assert!(b.ping().await && c.ping().await);
    drop_database(&name).await;
}

fn handled<'a>(key: &'a str, status: &'a str) -> Handled<'a> {
    Handled {
        destination: "accounting",
        idempotency_key: key,
        event_id: Uuid::now_v7(),
        tenant: "acme",
        source: "stripe",
        event_type: "invoice.paid",
        subject: "in_1",
        invoice_number: Some("INV-1"),
        received_at: Utc::now(),
        status,
        target_id: Some("xero-inv-1"),
        detail: None,
    }
}

#[tokio::test]
async fn the_inbox_remembers_what_was_applied() {
    let (name, url) = fresh_database().await;
    let store = connect(&url).await;
    let c = store.client().await.expect("client");
    assert_eq!(
        store::inbox_get(&c, "accounting", "acme/stripe/evt_1")
            .await
            .expect("get"),
        None
    );
    store::inbox_record(&c, &handled("acme/stripe/evt_1", "applied"))
        .await
        .expect("record");
    let got = store::inbox_get(&c, "accounting", "acme/stripe/evt_1")
        .await
        .expect("get")
        .expect("row");
    assert_eq!(got.status, "applied");
    assert_eq!(got.target_id.as_deref(), Some("xero-inv-1"));
    // The same key for the other destination is a different inbox entry.
    assert_eq!(
        store::inbox_get(&c, "crm", "acme/stripe/evt_1")
            .await
            .expect("get"),
        None
    );
    let journal = c
        .query(
            "SELECT step, invoice_number FROM journal WHERE tenant = 'acme'",
            &[],
        )
        .await
        .expect("journal");
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].get::<_, String>(0), "applied");
    drop_database(&name).await;
}

#[tokio::test]
async fn versions_only_move_forward() {
    let (name, url) = fresh_database().await;
    let store = connect(&url).await;
    let c = store.client().await.expect("client");
    let t = |s| Utc.timestamp_opt(s, 0).single().expect("time");
    let advance = |v| store::version_advance(&c, "acme", "hubspot", "invoice", "42", v);
    assert!(advance(t(1000)).await.expect("first"));
    assert!(advance(t(2000)).await.expect("newer"));
    assert!(!advance(t(1500)).await.expect("older is stale"));
    // Providers' clocks are coarse: an update in the same second is applied, not dropped.
    assert!(advance(t(2000)).await.expect("same second is applied"));
    assert!(!advance(t(1999)).await.expect("a second older is stale"));
    drop_database(&name).await;
}

#[tokio::test]
async fn links_and_own_writes() {
    let (name, url) = fresh_database().await;
    let store = connect(&url).await;
    let c = store.client().await.expect("client");
    store::link_put(&c, "acme", "invoice", ("hubspot", "42"), ("xero", "abc"))
        .await
        .expect("link");
    assert_eq!(
        store::link_get(&c, "acme", "invoice", "xero", "abc", "hubspot")
            .await
            .expect("get")
            .as_deref(),
        Some("42")
    );
    assert_eq!(
        store::link_get(&c, "acme", "invoice", "hubspot", "42", "xero")
            .await
            .expect("get")
            .as_deref(),
        Some("abc")
    );
    assert_eq!(
        store::link_get(&c, "other", "invoice", "hubspot", "42", "xero")
            .await
            .expect("get"),
        None
    );
    store::write_record(&c, "acme", "xero", "invoice", "abc", "open|100.00")
        .await
        .expect("write");
    assert!(
        store::is_own_write(&c, "acme", "xero", "invoice", "abc", "open|100.00")
            .await
            .expect("echo")
    );
    assert!(
        !store::is_own_write(&c, "acme", "xero", "invoice", "abc", "paid|100.00")
            .await
            .expect("echo")
    );
    drop_database(&name).await;
}

#[tokio::test]
async fn an_entity_lock_serializes_two_transactions() {
    let (name, url) = fresh_database().await;
    let store = connect(&url).await;
    let mut first = store.client().await.expect("client");
    let mut second = store.client().await.expect("client");
    let tx1 = first.transaction().await.expect("tx");
    store::lock_entity(&tx1, "acme/invoice/INV-1")
        .await
        .expect("lock");
    let waiter = tokio::spawn(async move {
        let tx2 = second.transaction().await.expect("tx");
        store::lock_entity(&tx2, "acme/invoice/INV-1")
            .await
            .expect("lock");
        tx2.commit().await.expect("commit");
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiter.is_finished(),
        "the second transaction waits for the first"
    );
    tx1.commit().await.expect("commit");
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the second proceeds once the first commits")
        .expect("task");
    drop_database(&name).await;
}
