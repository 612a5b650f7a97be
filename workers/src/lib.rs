//! ledgerhook workers: consume canonical events and apply them to the opposite system, exactly
//! once in effect.

pub mod auth;
pub mod cli;
pub mod connectors;
pub mod failures;
pub mod limits;
pub mod metrics;
pub mod ops;
pub mod retry;
pub mod runtime;
pub mod shared_limits;
pub mod sync;
pub mod targets;
