//! The router's Prometheus metrics, rendered in the text format at `/metrics`.

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub tenant: String,
    pub source: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub tenant: String,
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub tenant: String,
    pub source: String,
    pub r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub tenant: String,
    pub source: String,
    pub reason: &'static str,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub webhooks: Family<WebhookLabels, Counter>,
    pub verify_failures: Family<ReasonLabels, Counter>,
    pub events_published: Family<EventLabels, Counter>,
    pub events_ignored: Family<SourceLabels, Counter>,
    pub quarantined: Family<SourceLabels, Counter>,
    pub publish_seconds: Histogram,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ledgerhook_router");
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook requests by tenant, source and outcome",
            webhooks.clone(),
        );
        let verify_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "verify_failures",
            "Webhooks refused for their signature, by reason",
            verify_failures.clone(),
        );
        let events_published = Family::<EventLabels, Counter>::default();
        registry.register(
            "events_published",
            "Canonical events confirmed by the broker",
            events_published.clone(),
        );
        let events_ignored = Family::<SourceLabels, Counter>::default();
        registry.register(
            "events_ignored",
            "Provider events of types ledgerhook does not sync",
            events_ignored.clone(),
        );
        let quarantined = Family::<SourceLabels, Counter>::default();
        registry.register(
            "quarantined",
            "Verified bodies that did not parse, kept in the quarantine queue",
            quarantined.clone(),
        );
        // From 0.5 ms to about 8 s: confirms normally take a few ms, the timeout is seconds.
        let publish_seconds = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 15),
        );
        registry.register(
            "publish_seconds",
            "Time from publishing a request's events to the last broker confirm",
            publish_seconds.clone(),
        );
        Metrics {
            registry,
            webhooks,
            verify_failures,
            events_published,
            events_ignored,
            quarantined,
            publish_seconds,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
