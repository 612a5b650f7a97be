//! Test harness: a router on port 0 with its own broker prefix and database, plus a broker
//! peek and signers.

#![allow(dead_code)]

pub mod seed;

use std::{collections::HashMap, time::Duration};

use base64::Engine;
use hmac::{Hmac, Mac};
use lapin::{
    options::{BasicGetOptions, ExchangeDeleteOptions, QueueDeleteOptions},
    BasicProperties, Connection, ConnectionProperties,
};
use ledgerhook_router::Application;
use ledgerhook_shared::{broker::Topology, config, store::Store};
use secrecy::SecretString;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const STRIPE_SECRET: &str = "whsec_test_router_blackbox_0123456789";
pub const XERO_KEY: &str = "xero-webhook-key-for-tests-0123456789abcdef";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
const ADMIN_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| AMQP_URL.to_owned())
}

/// A config for tenant `acme` (stripe, hubspot, xero, standard-webhooks sources; Xero and
/// HubSpot targets) with everything bound to port 0 and a prefix of its own.
pub fn test_config(prefix: &str, broker_url: &str, max_body: usize) -> String {
    format!(
        r#"
[router]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
public_base_url = "https://hooks.example.com"
max_body_bytes = {max_body}
publish_timeout_ms = 2000

[broker]
url = "{broker_url}"
prefix = "{prefix}"

[store]
url = "${{DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ledgerhook}}"

[admin]
tokens = [{{ name = "tests", token = "test-admin-token-0123456789" }}]

[[tenants]]
id = "acme"

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["whsec_an_older_secret_being_rotated", "${{STRIPE_SECRET}}"]

[[tenants.sources]]
id = "flow"
provider = "standard-webhooks"
category = "payments"
system = "billing"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[[tenants.sources]]
id = "xero"
provider = "xero"
secrets = ["${{XERO_KEY}}"]

[tenants.accounting]
system = "xero"
base_url = "http://127.0.0.1:9/xero"
tenant_id = "0b5a3a3f-2b44-4a0e-9a55-7f1c8c5b2f61"
access_token = "static-token"

[tenants.crm]
system = "hubspot"
base_url = "http://127.0.0.1:9/hubspot"
access_token = "static-token"
"#
    )
}

/// A database of a test's own, created empty and dropped by `finish`. Names start with
/// `lhrouter_` so a failed run's leftovers are easy to find.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let (client, conn) = tokio_postgres::connect(ADMIN_PG, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL answers (deploy/services.sh starts it)");
        tokio::spawn(conn);
        let name = format!("lhrouter_{}", uuid::Uuid::now_v7().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        TestDb { name, url }
    }

    /// Connects (applying the migrations) for seeding and inspecting.
    pub async fn store(&self) -> Store {
        Store::connect(&SecretString::from(self.url.clone()), 4)
            .await
            .expect("store connects and migrates")
    }

    pub async fn drop_database(&self) {
        if let Ok((client, conn)) = tokio_postgres::connect(ADMIN_PG, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }
}

#[derive(Debug)]
pub struct TestRouter {
    pub base: String,
    pub admin: String,
    pub prefix: String,
    pub db: TestDb,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<std::io::Result<()>>,
    pub client: reqwest::Client,
}

impl TestRouter {
    pub async fn spawn() -> TestRouter {
        Self::spawn_with(&amqp_url(), 1_048_576).await
    }

    pub async fn spawn_with(broker_url: &str, max_body: usize) -> TestRouter {
        Self::spawn_in(TestDb::create().await, broker_url, max_body).await
    }

    /// A router on `db`, which may already hold data; waits for the store unless the database
    /// URL leads nowhere on purpose.
    pub async fn spawn_in(db: TestDb, broker_url: &str, max_body: usize) -> TestRouter {
        let prefix = format!("lhtest-{}", uuid::Uuid::now_v7().simple());
        let vars: HashMap<String, String> = [
            ("STRIPE_SECRET", STRIPE_SECRET),
            ("XERO_KEY", XERO_KEY),
            ("DATABASE_URL", db.url.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config = config::load(&test_config(&prefix, broker_url, max_body), &vars)
            .expect("test config loads");
        let shutdown = CancellationToken::new();
        let app = Application::build(config, shutdown.clone())
            .await
            .expect("router binds");
        // A test of an unreachable broker must not wait for it.
        if broker_url == amqp_url() {
            let connected = app.wait_for_broker(Duration::from_secs(10)).await;
            assert!(connected, "router could not reach RabbitMQ at {broker_url}");
        }
        if db.url.contains("127.0.0.1:5432") {
            let connected = app.wait_for_store(Duration::from_secs(20)).await;
            assert!(connected, "router could not reach PostgreSQL at {}", db.url);
        }
        let base = format!("http://127.0.0.1:{}", app.port());
        let admin = format!("http://127.0.0.1:{}", app.admin_port());
        let handle = tokio::spawn(app.run_until_stopped());
        TestRouter {
            base,
            admin,
            prefix,
            db,
            shutdown,
            handle,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, tenant: &str, source: &str) -> String {
        format!("{}/webhooks/{tenant}/{source}", self.base)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{path}", self.admin)
    }

    /// Stops the router and deletes its queues, exchange and database.
    pub async fn finish(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(35), self.handle).await;
        delete_topology(&self.prefix).await;
        self.db.drop_database().await;
    }
}

pub async fn delete_topology(prefix: &str) {
    let Ok(conn) = Connection::connect(&amqp_url(), ConnectionProperties::default()).await else {
        return;
    };
    if let Ok(ch) = conn.create_channel().await {
        let topology = Topology::new(prefix);
        for q in topology.queue_names() {
            let _ = ch
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for exchange in topology.exchange_names() {
            let _ = ch
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    let _ = conn.close(200, "done".into()).await;
}

/// A message taken from a queue for inspection.
#[derive(Debug)]
pub struct Peeked {
    pub routing_key: String,
    pub exchange: String,
    pub properties: BasicProperties,
    pub body: Vec<u8>,
}

impl Peeked {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("message body is JSON")
    }
}

/// Takes every message now in `queue` (auto-ack), waiting briefly for the first.
pub async fn drain(queue: &str) -> Vec<Peeked> {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect for inspection");
    let ch = conn.create_channel().await.expect("channel");
    let mut out = Vec::new();
    for _ in 0..1000 {
        match ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
        {
            Some(msg) => {
                let d = msg.delivery;
                out.push(Peeked {
                    routing_key: d.routing_key.to_string(),
                    exchange: d.exchange.to_string(),
                    properties: d.properties,
                    body: d.data,
                });
            }
            None => break,
        }
    }
    let _ = conn.close(200, "done".into()).await;
    out
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `Stripe-Signature` as Stripe computes it.
pub fn stripe_signature(secret: &str, body: &[u8], t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// `x-xero-signature` as Xero computes it.
pub fn xero_signature(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("hmac key");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub fn stripe_event(id: &str, kind: &str, object: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": now(),
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": kind,
        "data": { "object": object },
    }))
    .expect("json")
}

pub fn stripe_invoice(
    id: &str,
    number: &str,
    status: &str,
    total: i64,
    currency: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "object": "invoice",
        "number": number,
        "status": status,
        "currency": currency,
        "customer": "cus_NeZwdNtLEOXuvB",
        "customer_email": "jenny.rosen@example.com",
        "customer_name": "Jenny Rosen",
        "created": 1_680_644_467,
        "due_date": null,
        "subtotal": total,
        "total": total,
        "amount_due": total,
        "amount_paid": if status == "paid" { total } else { 0 },
        "amount_remaining": if status == "paid" { 0 } else { total },
        "status_transitions": { "finalized_at": 1_680_644_500, "paid_at": null, "voided_at": null },
        "lines": { "object": "list", "data": [{
            "id": "il_1",
            "object": "line_item",
            "amount": total,
            "currency": currency,
            "description": "Consulting",
            "quantity": 1
        }], "has_more": false }
    })
}
