//! RabbitMQ: the topology every binary declares, and the router's confirmed publisher.

mod publisher;
mod topology;

pub use publisher::{OutgoingMessage, PublishError, Publisher, PublisherOptions};
pub use topology::{Destination, Topology};
