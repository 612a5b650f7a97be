//! The RabbitMQ names and declarations every binary agrees on, declared idempotently at start.
//!
//! Only features RabbitMQ 3.10 and 4.x both have are used: a topic exchange, durable quorum
//! queues, queue-level message TTL on quorum queues, at-least-once dead-lettering
//! (`x-dead-letter-strategy`, which needs `x-overflow = reject-publish`) and `x-delivery-limit`.
//! Declaring twice with the same arguments is a no-op; every binary builds its `Topology` from the
//! same `[broker]` settings, so they all declare the same arguments.
//!
//! ```text
//! <prefix>.events --crm.#, payments.#--> <prefix>.accounting --delivery limit--> <prefix>.accounting.dead
//!                                           ^      | transient failure: the worker publishes a copy
//!                                           |      v  with its attempt header, then acks
//!                  (TTL, back by the copy's  +-- <prefix>.retry.<n>s <-- fanout exchange <prefix>.retry.<n>s
//!                   routing key = the destination queue)
//! ```

use std::{collections::BTreeMap, time::Duration};

use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, ShortString},
    Channel, ExchangeKind,
};
use serde_json::Value;

/// The retry ladder's defaults: 5 s, 30 s, 2 min, 10 min, 1 h.
pub const DEFAULT_RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3600),
];

/// Deliveries of one message before the broker moves it to the destination's dead queue. Only
/// returned deliveries count (a worker that crashed or lost its connection holding the message),
/// never a retry through the ladder. RabbitMQ 4.0's own default is 20; 3.10 has none.
pub const DEFAULT_DELIVERY_LIMIT: u32 = 20;

/// Exchange and queue names under one prefix, so tests and tenants of a shared broker don't mix.
#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    retry_delays: Vec<Duration>,
    delivery_limit: u32,
}

/// Where a worker applies events: the accounting system or the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    Accounting,
    Crm,
}

impl Destination {
    pub const ALL: [Destination; 2] = [Destination::Accounting, Destination::Crm];

    pub fn as_str(&self) -> &'static str {
        match self {
            Destination::Accounting => "accounting",
            Destination::Crm => "crm",
        }
    }

    /// The destination named `name` (`accounting` or `crm`).
    pub fn parse(name: &str) -> Option<Destination> {
        Destination::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// The routing-key patterns that feed this destination's queue: events from the opposite
    /// system, and payment events, which both sides record.
    pub fn binding_keys(&self) -> [&'static str; 2] {
        match self {
            Destination::Accounting => ["crm.#", "payments.#"],
            Destination::Crm => ["accounting.#", "payments.#"],
        }
    }
}

impl Topology {
    /// The topology with the default retry ladder and delivery limit.
    pub fn new(prefix: impl Into<String>) -> Self {
        Topology {
            prefix: prefix.into(),
            retry_delays: DEFAULT_RETRY_DELAYS.to_vec(),
            delivery_limit: DEFAULT_DELIVERY_LIMIT,
        }
    }

    /// Replaces the retry ladder (each step a whole number of seconds, at least one step) and
    /// the delivery limit. The config loader has validated both.
    pub fn with_retry(mut self, delays: Vec<Duration>, delivery_limit: u32) -> Self {
        if !delays.is_empty() {
            self.retry_delays = delays;
        }
        self.delivery_limit = delivery_limit.max(1);
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The delay of each step of the retry ladder, shortest first.
    pub fn retry_delays(&self) -> &[Duration] {
        &self.retry_delays
    }

    pub fn delivery_limit(&self) -> u32 {
        self.delivery_limit
    }

    /// `<prefix>.events`, the topic exchange the router publishes canonical events to.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// `<prefix>.accounting` or `<prefix>.crm`.
    pub fn queue(&self, destination: Destination) -> String {
        format!("{}.{}", self.prefix, destination.as_str())
    }

    /// `<prefix>.retry.<seconds>s`: the fanout exchange and the delay queue of one step of the
    /// ladder, shared by both destinations. A copy is published there with the destination
    /// queue's name as its routing key; when its TTL runs out the queue dead-letters it through
    /// the default exchange under that same key, so it lands back in its destination queue.
    pub fn retry_queue(&self, delay: Duration) -> String {
        format!("{}.retry.{}s", self.prefix, delay.as_secs())
    }

    /// `<prefix>.<destination>.dead`: messages the broker took away after the delivery limit;
    /// the worker moves them into the dead-letter table.
    pub fn dead_queue(&self, destination: Destination) -> String {
        format!("{}.dead", self.queue(destination))
    }

    /// `<prefix>.quarantine`: verified bodies that could not be parsed, kept whole for support.
    pub fn quarantine_queue(&self) -> String {
        format!("{}.quarantine", self.prefix)
    }

    /// Every queue `declare` declares, for tools that remove a topology.
    pub fn queue_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for destination in Destination::ALL {
            names.push(self.queue(destination));
            names.push(self.dead_queue(destination));
        }
        names.extend(self.retry_delays.iter().map(|d| self.retry_queue(*d)));
        names.push(self.quarantine_queue());
        names
    }

    /// Every exchange `declare` declares: the events exchange and one per retry step.
    pub fn exchange_names(&self) -> Vec<String> {
        let mut names = vec![self.events_exchange()];
        names.extend(self.retry_delays.iter().map(|d| self.retry_queue(*d)));
        names
    }

    /// Every queue `declare` declares, in its order, with the arguments it declares it with:
    /// also what `deploy/rabbitmq/definitions.json` must hold.
    pub fn queue_arguments(&self) -> Vec<(String, BTreeMap<String, Value>)> {
        let mut queues = Vec::new();
        for destination in Destination::ALL {
            queues.push((self.dead_queue(destination), quorum_args()));
            let mut args = dead_letter_args(Some(&self.dead_queue(destination)));
            args.insert("x-delivery-limit".into(), Value::from(self.delivery_limit));
            queues.push((self.queue(destination), args));
        }
        for delay in &self.retry_delays {
            let mut args = dead_letter_args(None);
            args.insert(
                "x-message-ttl".into(),
                Value::from(delay.as_millis() as u64),
            );
            queues.push((self.retry_queue(*delay), args));
        }
        queues.push((self.quarantine_queue(), quorum_args()));
        queues
    }

    /// Declares the exchange, the destination queues with their bindings, delay queues and dead
    /// queues, and the quarantine.
    pub async fn declare(&self, channel: &Channel) -> Result<(), lapin::Error> {
        let queues = self.queue_arguments();
        let arguments = |name: &str| {
            queues
                .iter()
                .find(|(queue, _)| queue == name)
                .map(|(_, args)| field_table(args))
                .unwrap_or_default()
        };
        channel
            .exchange_declare(
                self.events_exchange().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        for destination in Destination::ALL {
            let queue = self.queue(destination);
            // The dead queue first: the destination queue dead-letters into it.
            let dead = self.dead_queue(destination);
            declare_quorum_queue(channel, &dead, arguments(&dead)).await?;
            declare_quorum_queue(channel, &queue, arguments(&queue)).await?;
            for key in destination.binding_keys() {
                channel
                    .queue_bind(
                        queue.clone().into(),
                        self.events_exchange().into(),
                        key.into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
        }
        for delay in &self.retry_delays {
            let name = self.retry_queue(*delay);
            channel
                .exchange_declare(
                    name.as_str().into(),
                    ExchangeKind::Fanout,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            // No dead-letter routing key: an expired copy keeps its own, the destination queue.
            declare_quorum_queue(channel, &name, arguments(&name)).await?;
            channel
                .queue_bind(
                    name.as_str().into(),
                    name.as_str().into(),
                    "".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        // The quarantine is fed through the default exchange by queue name.
        let quarantine = self.quarantine_queue();
        declare_quorum_queue(channel, &quarantine, arguments(&quarantine)).await?;
        Ok(())
    }
}

fn quorum_args() -> BTreeMap<String, Value> {
    BTreeMap::from([("x-queue-type".to_string(), Value::from("quorum"))])
}

/// A quorum queue whose dead letters go, at least once, through the default exchange to
/// `target`, or under their own routing key when there is none.
fn dead_letter_args(target: Option<&str>) -> BTreeMap<String, Value> {
    let mut args = quorum_args();
    args.insert("x-dead-letter-exchange".into(), Value::from(""));
    if let Some(target) = target {
        args.insert("x-dead-letter-routing-key".into(), Value::from(target));
    }
    args.insert(
        "x-dead-letter-strategy".into(),
        Value::from("at-least-once"),
    );
    // at-least-once dead-lettering requires it; nothing sets a length limit, so it never rejects.
    args.insert("x-overflow".into(), Value::from("reject-publish"));
    args
}

/// The AMQP table of queue arguments: strings as long strings, numbers as 64-bit integers.
fn field_table(args: &BTreeMap<String, Value>) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in args {
        let value = match value {
            Value::Number(n) => AMQPValue::LongLongInt(n.as_i64().unwrap_or(i64::MAX)),
            Value::String(s) => AMQPValue::LongString(s.as_str().into()),
            other => AMQPValue::LongString(other.to_string().into()),
        };
        table.insert(ShortString::from(key.as_str()), value);
    }
    table
}

async fn declare_quorum_queue(
    channel: &Channel,
    name: &str,
    args: FieldTable,
) -> Result<(), lapin::Error> {
    channel
        .queue_declare(
            name.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            args,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let t = Topology::new("lh").with_retry(vec![Duration::from_secs(2)], 3);
        assert_eq!(t.queue(Destination::Crm), "lh.crm");
        assert_eq!(t.retry_queue(Duration::from_secs(120)), "lh.retry.120s");
        assert_eq!(t.dead_queue(Destination::Crm), "lh.crm.dead");
        assert_eq!(t.retry_delays(), &[Duration::from_secs(2)]);
        assert_eq!(t.delivery_limit(), 3);
    }

    #[test]
    fn arguments_go_on_the_wire_as_long_strings_and_64_bit_integers() {
        let t = Topology::new("lh");
        let queues = t.queue_arguments();
        let (_, accounting) = queues
            .iter()
            .find(|(name, _)| name == "lh.accounting")
            .expect("declared");
        let table = field_table(accounting);
        let inner = table.inner();
        assert_eq!(
            inner.get(&ShortString::from("x-delivery-limit")),
            Some(&AMQPValue::LongLongInt(20))
        );
        assert_eq!(
            inner.get(&ShortString::from("x-dead-letter-routing-key")),
            Some(&AMQPValue::LongString("lh.accounting.dead".into()))
        );
        let (_, retry) = queues
            .iter()
            .find(|(name, _)| name == "lh.retry.30s")
            .expect("declared");
        assert_eq!(
            field_table(retry)
                .inner()
                .get(&ShortString::from("x-message-ttl")),
            Some(&AMQPValue::LongLongInt(30_000))
        );
    }

    #[test]
    fn an_empty_ladder_keeps_the_defaults() {
        let t = Topology::new("lh").with_retry(vec![], 0);
        assert_eq!(t.retry_delays(), &DEFAULT_RETRY_DELAYS);
        assert_eq!(t.delivery_limit(), 1);
    }
}
