//! The console test's world: a router with an admin token, its own broker prefix and its own
//! database, and dead letters recorded as the workers record them.

use std::{collections::HashMap, time::Duration};

use lapin::{options::BasicGetOptions, types::AMQPValue, Connection, ConnectionProperties};
use ledgerhook_router::Application;
use ledgerhook_shared::{
    config,
    store::{self, Handled, NewAttempt, NewDeadLetter, Store},
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ADMIN_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const TOKEN_NAME: &str = "support-alice";
pub const TOKEN: &str = "console-admin-token-7f3a9c1e5b";

/// One dead letter as the workers would have recorded it.
pub struct Seed {
    tenant: &'static str,
    source: &'static str,
    destination: &'static str,
    kind: &'static str,
    number: &'static str,
    subject: &'static str,
    class: &'static str,
    reason: &'static str,
    /// (class, HTTP status, message) of each failed attempt.
    attempts: &'static [(&'static str, Option<i32>, &'static str)],
}

const XERO_503: (&str, Option<i32>, &str) = (
    "transient",
    Some(503),
    "Xero answered 503 Service Unavailable",
);
const HUBSPOT_429: (&str, Option<i32>, &str) = (
    "transient",
    Some(429),
    "HubSpot answered 429 Too Many Requests (Retry-After 10)",
);

/// Oldest first; the console lists them newest first.
pub const SEEDS: &[Seed] = &[
    Seed { tenant: "acme", source: "xero", destination: "crm", kind: "invoice.updated",
        number: "INV-1040", subject: "7c1e0d2a-3f4b-4d5e-8f6a-1b2c3d4e5f60", class: "permanent",
        reason: "HubSpot refused the invoice (404): the associated contact 51 was deleted",
        attempts: &[("permanent", Some(404), "HubSpot answered 404: contact 51 not found")] },
    Seed { tenant: "globex", source: "stripe", destination: "accounting", kind: "invoice.paid",
        number: "INV-2002", subject: "in_1PqR7sLkdIwHu7ix9aBcDeFg", class: "poison",
        reason: "the worker stopped while applying this event 5 times (queue delivery limit)",
        attempts: &[("poison", None, "delivery limit of 5 exceeded")] },
    Seed { tenant: "globex", source: "quickbooks", destination: "crm", kind: "invoice.updated",
        number: "INV-2001", subject: "1467", class: "permanent",
        reason: "HubSpot refused the invoice (400 VALIDATION_ERROR): Property values were not valid: hs_currency \"XTS\"",
        attempts: &[("permanent", Some(400), "VALIDATION_ERROR: hs_currency \"XTS\" is not a valid option")] },
    Seed { tenant: "acme", source: "stripe", destination: "crm", kind: "invoice.paid",
        number: "INV-1043", subject: "in_1MtHbELkdIwHu7ixl4OzzPMv", class: "exhausted",
        reason: "HubSpot kept answering 429 Too Many Requests; gave up after 6 attempts",
        attempts: &[HUBSPOT_429, HUBSPOT_429, HUBSPOT_429, HUBSPOT_429, HUBSPOT_429, HUBSPOT_429] },
    Seed { tenant: "acme", source: "stripe", destination: "accounting", kind: "invoice.paid",
        number: "INV-1043", subject: "in_1MtHbELkdIwHu7ixl4OzzPMv", class: "exhausted",
        reason: "Xero kept answering 503 Service Unavailable; gave up after 6 attempts",
        attempts: &[XERO_503, XERO_503, XERO_503, XERO_503, XERO_503, XERO_503] },
    Seed { tenant: "acme", source: "hubspot", destination: "accounting", kind: "invoice.created",
        number: "INV-1042", subject: "395500", class: "permanent",
        reason: "Xero refused the invoice (400 ValidationException): Account code '4000' is not a valid code for this organisation",
        attempts: &[("permanent", Some(400), "ValidationException: Account code '4000' is not a valid code for this organisation")] },
];

pub struct Fixture {
    prefix: String,
    database: String,
    store: Store,
    pub admin_url: String,
    stop: CancellationToken,
    /// Dead letter id by (invoice number, destination).
    pub ids: HashMap<(&'static str, &'static str), Uuid>,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let prefix = format!("lhconsole-{}", Uuid::now_v7().simple());
        let database = format!("lhconsole_{}", Uuid::now_v7().simple());
        let (admin, conn) = tokio_postgres::connect(ADMIN_PG, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL answers (deploy/services.sh starts it)");
        tokio::spawn(conn);
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .await
            .expect("create database");
        let amqp = crate::support::amqp_url();
        let text = format!(
            r#"
[router]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
public_base_url = "https://hooks.example.com"

[broker]
url = "{amqp}"
prefix = "{prefix}"

[store]
url = "postgres://postgres@127.0.0.1:5432/{database}"

[admin]
tokens = [{{ name = "{TOKEN_NAME}", token = "{TOKEN}" }}]

[[tenants]]
id = "acme"

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["whsec_console_test_secret_0123456789"]

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
        );
        let config = config::load(&text, &HashMap::new()).expect("console test config loads");
        let store = Store::connect(&config.store.url, 4).await.expect("store");
        let stop = CancellationToken::new();
        let router = Application::build(config, stop.clone())
            .await
            .expect("router binds");
        assert!(
            router.wait_for_broker(Duration::from_secs(10)).await,
            "router reaches RabbitMQ"
        );
        let admin_url = format!("http://127.0.0.1:{}", router.admin_port());
        tokio::spawn(router.run_until_stopped());
        wait_for_api(&admin_url).await;
        let mut fixture = Fixture {
            prefix,
            database,
            store,
            admin_url,
            stop,
            ids: HashMap::new(),
        };
        fixture.seed().await;
        fixture
    }

    /// Records the dead letters, their attempts and a journal line each, as a worker does.
    async fn seed(&mut self) {
        let client = self.store.client().await.expect("store client");
        for s in SEEDS {
            let event_id = Uuid::now_v7();
            let key = format!("{}/{}/{}:{}", s.tenant, s.source, s.subject, s.kind);
            let received = chrono::Utc::now();
            let event = json!({
                "specversion": "1.0", "id": event_id, "source": format!("/{}/{}", s.tenant, s.source),
                "type": s.kind, "time": received, "subject": s.subject, "tenant": s.tenant,
                "category": if s.source == "stripe" { "payments" } else if s.destination == "crm" { "accounting" } else { "crm" },
                "system": s.source, "idempotencykey": key, "receivedat": received,
                "datacontenttype": "application/json",
                "data": { "object": "invoice", "number": s.number, "status": "open",
                    "total": { "amount": "1250.00", "currency": "USD" },
                    "customer": { "name": "Jenny Rosen", "email": "jenny.rosen@example.com" } },
            });
            let id = store::dead_letter_insert(
                &client,
                &NewDeadLetter {
                    destination: s.destination,
                    tenant: s.tenant,
                    source: s.source,
                    event_type: s.kind,
                    event_id: Some(event_id),
                    idempotency_key: Some(&key),
                    subject: Some(s.subject),
                    invoice_number: Some(s.number),
                    event: &event,
                    reason_class: s.class,
                    reason: s.reason,
                },
            )
            .await
            .expect("dead letter recorded");
            for (n, (class, http_status, message)) in s.attempts.iter().enumerate() {
                let attempt = NewAttempt {
                    destination: s.destination,
                    idempotency_key: &key,
                    event_id,
                    attempt: i32::try_from(n + 1).expect("few attempts"),
                    class,
                    http_status: *http_status,
                    message,
                };
                store::attempt_insert(&client, &attempt)
                    .await
                    .expect("attempt recorded");
            }
            let handled = Handled {
                destination: s.destination,
                idempotency_key: &key,
                event_id,
                tenant: s.tenant,
                source: s.source,
                event_type: s.kind,
                subject: s.subject,
                invoice_number: Some(s.number),
                received_at: received,
                status: "dead_lettered",
                target_id: None,
                detail: Some(s.reason),
            };
            store::journal(
                &client,
                s.tenant,
                Some(&handled),
                "dead_lettered",
                None,
                Some(s.reason),
            )
            .await
            .expect("journal line");
            self.ids.insert((s.number, s.destination), id);
        }
    }

    /// What the accounting worker reports once a replayed event is applied, through the
    /// store function the worker uses.
    pub async fn worker_reports_replayed(&self, id: Uuid) {
        let client = self.store.client().await.expect("store client");
        let was_replaying =
            store::dead_letter_replayed(&client, id, "applied as Xero invoice 8f1c")
                .await
                .expect("replay reported");
        assert!(was_replaying, "the dead letter was replaying");
    }

    /// Takes the messages now on the destination's queue: (replay header, event id).
    pub async fn take_queued(&self, destination: &str) -> Vec<(Option<String>, String)> {
        let conn =
            Connection::connect(&crate::support::amqp_url(), ConnectionProperties::default())
                .await
                .expect("RabbitMQ answers");
        let channel = conn.create_channel().await.expect("channel");
        let queue = format!("{}.{destination}", self.prefix);
        let mut taken = Vec::new();
        while let Some(message) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
        {
            let d = message.delivery;
            let replay = d.properties.headers().as_ref().and_then(|h| {
                match h.inner().get(ledgerhook_shared::broker::headers::REPLAY) {
                    Some(AMQPValue::LongString(s)) => Some(s.to_string()),
                    Some(AMQPValue::ShortString(s)) => Some(s.to_string()),
                    _ => None,
                }
            });
            let event: Value = serde_json::from_slice(&d.data).expect("event JSON");
            taken.push((replay, event["id"].as_str().unwrap_or_default().to_owned()));
        }
        let _ = conn.close(200, "done".into()).await;
        taken
    }

    pub async fn finish(self) {
        self.stop.cancel();
        crate::support::delete_topology(&self.prefix).await;
        drop(self.store);
        if let Ok((client, conn)) = tokio_postgres::connect(ADMIN_PG, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.database
                ))
                .await;
        }
    }
}

/// The router connects to the store in the background; the console needs it.
async fn wait_for_api(admin_url: &str) {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = http
            .get(format!("{admin_url}/api/v1/dead-letters"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .map(|r| r.status().as_u16());
        if let Ok(200) = status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the admin API never answered 200: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
