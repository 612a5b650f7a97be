//! ledgerhook workers: consume canonical events and apply them to the opposite system, exactly
//! once in effect.

pub mod auth;
pub mod cli;
pub mod connectors;
pub mod limits;
pub mod metrics;
pub mod runtime;
pub mod sync;
pub mod targets;
