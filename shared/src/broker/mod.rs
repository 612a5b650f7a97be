//! RabbitMQ: the topology every binary declares, and the router's confirmed publisher.

pub mod headers;
mod publisher;
mod topology;

pub use publisher::{OutgoingMessage, PublishError, Publisher, PublisherOptions};
pub use topology::{Destination, Topology, DEFAULT_DELIVERY_LIMIT, DEFAULT_RETRY_DELAYS};
