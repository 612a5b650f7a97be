//! Logging setup: human-readable lines by default, JSON lines when `LOG_FORMAT=json`.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Installs the global subscriber. `RUST_LOG` filters (default `info`). Safe to call twice.
pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    } else {
        registry.with(fmt::layer().with_target(false)).try_init()
    };
    if result.is_ok() {
        tracing::debug!(service, "logging initialised");
    }
}
