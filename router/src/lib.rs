//! ledgerhook-router: the public webhook ingress and the admin listener.

pub mod admin;
pub mod app;
pub mod console;
pub mod ingress;
pub mod metrics;
pub mod providers;

pub use app::Application;
