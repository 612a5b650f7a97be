//! The RabbitMQ names and declarations every binary agrees on, declared idempotently at start.
//!
//! Only features RabbitMQ 3.10 and 4.x both have are used: a topic exchange, durable quorum
//! queues and bindings. Declaring twice with the same arguments is a no-op.

use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, ShortString},
    Channel, ExchangeKind,
};

/// Exchange and queue names under one prefix, so tests and tenants of a shared broker don't mix.
#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
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
    pub fn new(prefix: impl Into<String>) -> Self {
        Topology {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>.events`, the topic exchange the router publishes canonical events to.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// `<prefix>.accounting` or `<prefix>.crm`.
    pub fn queue(&self, destination: Destination) -> String {
        format!("{}.{}", self.prefix, destination.as_str())
    }

    /// `<prefix>.quarantine`: verified bodies that could not be parsed, kept whole for support.
    pub fn quarantine_queue(&self) -> String {
        format!("{}.quarantine", self.prefix)
    }

    /// Declares the exchange, the destination queues with their bindings, and the quarantine.
    pub async fn declare(&self, channel: &Channel) -> Result<(), lapin::Error> {
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
            declare_quorum_queue(channel, &queue).await?;
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
        // The quarantine is fed through the default exchange by queue name.
        declare_quorum_queue(channel, &self.quarantine_queue()).await?;
        Ok(())
    }
}

async fn declare_quorum_queue(channel: &Channel, name: &str) -> Result<(), lapin::Error> {
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from("x-queue-type"),
        AMQPValue::LongString("quorum".into()),
    );
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
