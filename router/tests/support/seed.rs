//! Dead letters, attempts and journal lines written with the store's own functions, as the
//! workers write them, and a look at the broker's queues.

use chrono::{DateTime, Utc};
use lapin::{
    options::{BasicGetOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
    Connection, ConnectionProperties,
};
use ledgerhook_shared::store::{self, Client, NewAttempt, NewDeadLetter};
use serde_json::{json, Value};
use uuid::Uuid;

use super::amqp_url;

/// What a seeded dead letter is about.
#[derive(Debug, Clone)]
pub struct Spec {
    pub tenant: String,
    pub source: String,
    pub event_type: String,
    pub destination: String,
    pub invoice_number: String,
    pub subject: String,
    /// The provider's id of the change; the idempotency key is `<tenant>/<source>/<change>`.
    pub change: String,
    pub reason: String,
}

impl Spec {
    pub fn new(n: usize) -> Spec {
        Spec {
            tenant: "acme".to_owned(),
            source: "stripe".to_owned(),
            event_type: "invoice.paid".to_owned(),
            destination: "accounting".to_owned(),
            invoice_number: format!("INV-{n:05}"),
            subject: format!("in_{n:05}"),
            change: format!("evt_{n:05}"),
            reason: format!("Xero refused invoice INV-{n:05}: the account code 200 is archived"),
        }
    }

    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.tenant, self.source, self.change)
    }
}

/// A dead letter as stored: its id, the event's id and the whole event.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event: Value,
    pub spec: Spec,
}

/// The CloudEvent the router would have published for `spec`.
pub fn event(spec: &Spec, event_id: Uuid, received_at: DateTime<Utc>) -> Value {
    json!({
        "specversion": "1.0",
        "id": event_id,
        "source": format!("/{}/{}", spec.tenant, spec.source),
        "type": spec.event_type,
        "time": received_at,
        "subject": spec.subject,
        "tenant": spec.tenant,
        "category": "payments",
        "system": spec.source,
        "idempotencykey": spec.key(),
        "receivedat": received_at,
        "datacontenttype": "application/json",
        "data": {
            "object": "invoice",
            "id": spec.subject,
            "number": spec.invoice_number,
            "status": "paid",
            "total": { "amount": "1234.50", "currency": "USD" }
        }
    })
}

/// Prepares a dead letter for `spec` without writing it.
pub fn prepare(spec: Spec) -> (Uuid, Value, Spec) {
    let event_id = Uuid::now_v7();
    let event = event(&spec, event_id, Utc::now());
    (event_id, event, spec)
}

/// Writes a prepared dead letter with `dead_letter_insert`, as a worker does.
pub async fn insert(c: &Client, (event_id, event, spec): (Uuid, Value, Spec)) -> Seeded {
    let key = spec.key();
    let id = store::dead_letter_insert(
        c,
        &NewDeadLetter {
            destination: &spec.destination,
            tenant: &spec.tenant,
            source: &format!("/{}/{}", spec.tenant, spec.source),
            event_type: &spec.event_type,
            event_id: Some(event_id),
            idempotency_key: Some(&key),
            subject: Some(&spec.subject),
            invoice_number: Some(&spec.invoice_number),
            event: &event,
            reason_class: "permanent",
            reason: &spec.reason,
        },
    )
    .await
    .expect("insert dead letter");
    Seeded {
        id,
        event_id,
        event,
        spec,
    }
}

pub async fn dead_letter(c: &Client, spec: Spec) -> Seeded {
    insert(c, prepare(spec)).await
}

/// Records a failed attempt for a seeded dead letter's event.
pub async fn attempt(c: &Client, d: &Seeded, n: i32, http_status: Option<i32>, message: &str) {
    let key = d.spec.key();
    store::attempt_insert(
        c,
        &NewAttempt {
            destination: &d.spec.destination,
            idempotency_key: &key,
            event_id: d.event_id,
            attempt: n,
            class: if n < 3 { "transient" } else { "permanent" },
            http_status,
            message,
        },
    )
    .await
    .expect("insert attempt");
}

/// Runs one SQL statement and returns the first column of the first row as a count.
pub async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.expect(sql).get(0)
}

/// Messages ready in `queue`.
pub async fn queue_depth(queue: &str) -> u32 {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect for inspection");
    let ch = conn.create_channel().await.expect("channel");
    let q = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue exists");
    let _ = conn.close(200, "done".into()).await;
    q.message_count()
}

/// Takes one message from `queue`, if there is one.
pub async fn take_one(queue: &str) -> Option<super::Peeked> {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect for inspection");
    let ch = conn.create_channel().await.expect("channel");
    let got = ch
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get");
    let _ = conn.close(200, "done".into()).await;
    got.map(|m| super::Peeked {
        routing_key: m.delivery.routing_key.to_string(),
        exchange: m.delivery.exchange.to_string(),
        properties: m.delivery.properties,
        body: m.delivery.data,
    })
}

/// A string header of a peeked message.
pub fn header(m: &super::Peeked, name: &str) -> Option<String> {
    let headers = m.properties.headers().as_ref()?;
    match headers.inner().get(name)? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}
