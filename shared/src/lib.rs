//! Everything the ledgerhook binaries share: the canonical event vocabulary, money, the
//! configuration file, the RabbitMQ topology and publisher, and logging setup.

pub mod broker;
pub mod config;
pub mod event;
pub mod model;
pub mod money;
pub mod store;
pub mod telemetry;

pub use event::{Category, Event, EventDraft, EventType, Origin};
pub use money::{Currency, Money, MoneyError};
