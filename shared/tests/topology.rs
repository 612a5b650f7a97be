//! The topology against the real RabbitMQ: it declares (twice), a delay queue sends its message
//! back to the destination queue after its TTL, and the delivery limit moves a message that is
//! never settled to the dead queue.

use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::{
    options::{
        BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
        QueueDeleteOptions,
    },
    types::FieldTable,
    BasicProperties, Channel, Connection, ConnectionProperties,
};
use ledgerhook_shared::broker::{Destination, Topology};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

async fn connect() -> Connection {
    Connection::connect(AMQP, ConnectionProperties::default())
        .await
        .expect("RabbitMQ answers (deploy/services.sh starts it)")
}

fn topology() -> Topology {
    Topology::new(format!("lhtest-topo-{}", uuid::Uuid::now_v7().simple()))
        .with_retry(vec![Duration::from_secs(1), Duration::from_secs(2)], 2)
}

async fn count(channel: &Channel, queue: &str) -> u32 {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue exists")
        .message_count()
}

async fn wait_count(channel: &Channel, queue: &str, want: u32, within: Duration) -> Duration {
    let started = Instant::now();
    while count(channel, queue).await != want {
        assert!(started.elapsed() < within, "{queue} never held {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

async fn delete_all(channel: &Channel, t: &Topology) {
    for name in t.queue_names() {
        let _ = channel
            .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    for name in t.exchange_names() {
        let _ = channel
            .exchange_delete(name.as_str().into(), Default::default())
            .await;
    }
}

async fn publish(channel: &Channel, queue: &str, body: &[u8]) {
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            body,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("confirmed");
}

#[tokio::test]
async fn a_delay_queue_returns_its_message_to_the_destination_after_its_ttl() {
    let connection = connect().await;
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let t = topology();
    t.declare(&channel).await.expect("declares");
    t.declare(&channel)
        .await
        .expect("declaring again is a no-op");

    let delay = t.retry_delays()[1];
    // As the worker defers: through the step's exchange, keyed by the destination queue.
    channel
        .basic_publish(
            t.retry_queue(delay).as_str().into(),
            t.queue(Destination::Crm).as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            b"later",
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("confirmed");
    assert_eq!(count(&channel, &t.queue(Destination::Crm)).await, 0);
    let took = wait_count(
        &channel,
        &t.queue(Destination::Crm),
        1,
        Duration::from_secs(30),
    )
    .await;
    assert!(took >= Duration::from_millis(1500), "back after {took:?}");
    assert_eq!(count(&channel, &t.retry_queue(delay)).await, 0);
    assert_eq!(count(&channel, &t.queue(Destination::Accounting)).await, 0);
    delete_all(&channel, &t).await;
}

#[tokio::test]
async fn a_message_never_settled_goes_to_the_dead_queue_after_the_delivery_limit() {
    let connection = connect().await;
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let t = topology();
    t.declare(&channel).await.expect("declares");
    let queue = t.queue(Destination::Accounting);
    publish(&channel, &queue, b"poison").await;

    // Each consumer takes the message and dies holding it, as a crashing worker does.
    let mut deliveries = 0;
    let started = Instant::now();
    while count(&channel, &t.dead_queue(Destination::Accounting)).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never dead-lettered"
        );
        let crashing = connection.create_channel().await.expect("channel");
        let mut consumer = crashing
            .basic_consume(
                queue.as_str().into(),
                "crashing".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        if let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(1), consumer.next()).await
        {
            deliveries += 1;
        }
        let _ = crashing.close(200, "crashed".into()).await;
    }
    // The limit is 2: the first delivery and two returns, then the broker gives up.
    assert_eq!(deliveries, 3);
    assert_eq!(count(&channel, &queue).await, 0);
    delete_all(&channel, &t).await;
}
