//! Shared code of ledgerhook's end-to-end tests, sandbox and load generator.

pub mod database;
pub mod demo;
pub mod e2e_bench;
pub mod load;
pub mod sandbox;
