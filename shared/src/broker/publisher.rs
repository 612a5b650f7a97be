//! The confirmed publisher: persistent, `mandatory` publishes whose broker confirms are awaited
//! through one bounded window shared by every concurrent request, over a connection that a
//! supervisor task re-establishes with backoff whenever it is lost.
//!
//! A publish succeeds only on a positive confirm for a routed message. Everything else (no
//! connection, blocked connection, nack, return, channel error, timeout) is a `PublishError`, and
//! the router turns every one of them into a 503 so the provider retries.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

use futures::{future::join_all, StreamExt};
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable, ShortString},
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::{
    sync::{Notify, Semaphore},
    time::{timeout_at, Instant},
};
use tokio_util::sync::CancellationToken;

use super::Topology;

#[derive(Debug, Clone)]
pub struct PublisherOptions {
    pub url: SecretString,
    pub topology: Topology,
    /// Publishes awaiting a confirm at once, shared by all callers.
    pub confirm_window: usize,
    /// How long one `publish_all` may take, window wait included.
    pub publish_timeout: Duration,
    /// Channels to spread publishes over; confirms are per channel.
    pub channels: usize,
    /// Shown in the broker's connection list.
    pub connection_name: String,
}

/// One message to publish. `exchange` is empty for the default exchange.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub exchange: String,
    pub routing_key: String,
    pub message_id: String,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to the broker")]
    Unavailable,
    #[error("the broker has blocked publishing: resources are low")]
    Blocked,
    #[error("no confirm from the broker within {0:?}")]
    Timeout(Duration),
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("the broker could not route the message: {0}")]
    Unroutable(String),
    #[error("broker error: {0}")]
    Broker(#[from] lapin::Error),
}

/// A cheap handle; clones share the connection and the confirm window.
#[derive(Clone, Debug)]
pub struct Publisher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: PublisherOptions,
    window: Semaphore,
    link: RwLock<Option<Arc<Link>>>,
    /// Wakes the supervisor when a publish saw a broken channel.
    trouble: Notify,
    /// Wakes whoever waits for the first connection.
    connected: Notify,
}

#[derive(Debug)]
struct Link {
    connection: Connection,
    channels: Vec<Channel>,
    next: AtomicUsize,
}

impl Link {
    fn channel(&self) -> &Channel {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len();
        &self.channels[i]
    }

    fn healthy(&self) -> bool {
        self.connection.status().connected() && self.channels.iter().all(|c| c.status().connected())
    }
}

impl Publisher {
    /// Starts the supervisor, which connects (and reconnects) in the background until
    /// `shutdown` is cancelled. Publishing before the first connection fails with `Unavailable`.
    pub fn start(options: PublisherOptions, shutdown: CancellationToken) -> Publisher {
        let inner = Arc::new(Inner {
            window: Semaphore::new(options.confirm_window.max(1)),
            options,
            link: RwLock::new(None),
            trouble: Notify::new(),
            connected: Notify::new(),
        });
        tokio::spawn(supervise(inner.clone(), shutdown));
        Publisher { inner }
    }

    /// Waits until connected, or `timeout` passes; returns whether it is connected.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.connected.notified();
            if self.is_ready() {
                return true;
            }
            if timeout_at(deadline, notified).await.is_err() {
                return self.is_ready();
            }
        }
    }

    /// Connected, with healthy channels, and not blocked by the broker.
    pub fn is_ready(&self) -> bool {
        self.current()
            .is_some_and(|l| l.healthy() && !l.connection.status().blocked())
    }

    pub fn topology(&self) -> &Topology {
        &self.inner.options.topology
    }

    fn current(&self) -> Option<Arc<Link>> {
        self.inner
            .link
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Publishes every message and waits for every confirm; all succeed or the call fails.
    /// Messages are published concurrently and pipelined, never one publish-and-wait at a time.
    pub async fn publish_all(&self, messages: &[OutgoingMessage]) -> Result<(), PublishError> {
        let deadline = Instant::now() + self.inner.options.publish_timeout;
        let link = self.current().ok_or(PublishError::Unavailable)?;
        if link.connection.status().blocked() {
            return Err(PublishError::Blocked);
        }
        let results = join_all(
            messages
                .iter()
                .map(|m| self.publish_one(&link, m, deadline)),
        )
        .await;
        results.into_iter().collect()
    }

    async fn publish_one(
        &self,
        link: &Link,
        message: &OutgoingMessage,
        deadline: Instant,
    ) -> Result<(), PublishError> {
        let timeout = PublishError::Timeout(self.inner.options.publish_timeout);
        let _permit = match timeout_at(deadline, self.inner.window.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return Err(PublishError::Unavailable),
            Err(_) => return Err(timeout),
        };
        let channel = link.channel();
        let sent = channel
            .basic_publish(
                message.exchange.as_str().into(),
                message.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &message.body,
                properties(message),
            )
            .await;
        let confirm = match sent {
            Ok(confirm) => confirm,
            Err(e) => {
                self.inner.trouble.notify_one();
                return Err(PublishError::Broker(e));
            }
        };
        match timeout_at(deadline, confirm).await {
            Err(_) => Err(timeout),
            Ok(Err(e)) => {
                self.inner.trouble.notify_one();
                Err(PublishError::Broker(e))
            }
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(returned)))) => Err(PublishError::Unroutable(format!(
                "{} {}",
                returned.reply_code, returned.reply_text
            ))),
            Ok(Ok(Confirmation::Nack(_))) => Err(PublishError::Nacked),
            // Confirms are selected on every channel we create; this means the channel was
            // replaced under us, and the message's fate is unknown.
            Ok(Ok(Confirmation::NotRequested)) => Err(PublishError::Unavailable),
        }
    }
}

fn properties(message: &OutgoingMessage) -> BasicProperties {
    let mut headers = FieldTable::default();
    for (k, v) in &message.headers {
        headers.insert(
            ShortString::from(k.as_str()),
            AMQPValue::LongString(v.as_str().into()),
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(message.content_type.as_str().into())
        .with_message_id(message.message_id.as_str().into())
        .with_timestamp(now)
        .with_headers(headers)
}

/// Keeps a healthy link in place: connect, declare, wait for trouble, drop, back off, repeat.
async fn supervise(inner: Arc<Inner>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt = tokio::select! {
            _ = shutdown.cancelled() => return,
            attempt = connect(&inner.options) => attempt,
        };
        match attempt {
            Ok(link) => {
                tracing::info!(
                    prefix = inner.options.topology.prefix(),
                    "connected to the broker"
                );
                backoff = Duration::from_millis(100);
                let link = Arc::new(link);
                set_link(&inner, Some(link.clone()));
                inner.connected.notify_waiters();
                let closing = wait_for_trouble(&inner, &link, &shutdown).await;
                set_link(&inner, None);
                if closing {
                    // Confirms still outstanding were awaited by their requests; closing now
                    // only loses what no request is waiting for.
                    let _ = link.connection.close(200, "shutting down".into()).await;
                    return;
                }
                tracing::warn!("lost the broker connection; reconnecting");
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot connect to the broker");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(jitter(backoff)) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn set_link(inner: &Inner, link: Option<Arc<Link>>) {
    *inner
        .link
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = link;
}

/// Returns true when shutting down, false when the link broke.
async fn wait_for_trouble(inner: &Inner, link: &Link, shutdown: &CancellationToken) -> bool {
    let mut events = link.connection.events_listener();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return true,
            event = events.next() => match event {
                Some(lapin::Event::Error(e)) => {
                    tracing::warn!(error = %e, "broker connection error");
                    return false;
                }
                Some(lapin::Event::ConnectionBlocked(reason)) => {
                    tracing::warn!(%reason, "the broker blocked publishing");
                }
                Some(lapin::Event::ConnectionUnblocked) => tracing::info!("the broker unblocked publishing"),
                Some(_) => {}
                None => return false,
            },
            _ = inner.trouble.notified() => {}
            _ = tick.tick() => {}
        }
        if !link.healthy() {
            return false;
        }
    }
}

async fn connect(options: &PublisherOptions) -> Result<Link, lapin::Error> {
    let properties = ConnectionProperties::default()
        .with_connection_name(options.connection_name.as_str().into());
    let connection = Connection::connect(options.url.expose_secret(), properties).await?;
    let mut channels = Vec::with_capacity(options.channels.max(1));
    for i in 0..options.channels.max(1) {
        let channel = connection.create_channel().await?;
        if i == 0 {
            options.topology.declare(&channel).await?;
        }
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channels.push(channel);
    }
    Ok(Link {
        connection,
        channels,
        next: AtomicUsize::new(0),
    })
}

/// Spreads reconnect attempts of many processes so a restarted broker is not stampeded.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or_default();
    let spread = d.as_millis() as u64 / 4 + 1;
    d + Duration::from_millis(u64::from(nanos) % spread)
}
