//! Everything the ledgerhook binaries share: the canonical event vocabulary, money, the
//! configuration file, the RabbitMQ topology and publisher, logging and trace context setup,
//! and redaction of personal data in logged text.

pub mod broker;
pub mod config;
pub mod event;
pub mod model;
pub mod money;
pub mod redact;
pub mod store;
pub mod telemetry;
pub mod trace;

pub use event::{Category, Event, EventDraft, EventType, Origin};
pub use money::{Currency, Money, MoneyError};
