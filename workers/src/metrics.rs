//! The worker's Prometheus metrics, rendered in the text format at `/metrics` on the worker's
//! listener. Every series carries the `destination` label of the queue the process consumes.

use std::{
    borrow::Cow,
    sync::atomic::{AtomicU64, Ordering},
};

use chrono::{DateTime, Utc};
use ledgerhook_shared::broker::Destination;
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// What became of an event: `applied`, `suppressed` (an echo of ledgerhook's own write),
/// `skipped` (already handled, or stale), `retried` or `dead_lettered`.
pub const OUTCOMES: [&str; 5] = [
    "applied",
    "suppressed",
    "skipped",
    "retried",
    "dead_lettered",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub tenant: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    /// `<tenant>/<system>`.
    pub connection: String,
}

#[derive(Debug)]
pub struct WorkerMetrics {
    registry: Registry,
    events: Family<EventLabels, Counter>,
    end_to_end_seconds: Histogram,
    queue_lag_seconds: Histogram,
    in_flight: Gauge,
    consuming: Gauge,
    rate_limit_processes: Family<ConnectionLabels, Gauge>,
    rate_limit_wait_seconds: Family<ConnectionLabels, Counter<f64, AtomicU64>>,
    totals: [AtomicU64; 5],
}

impl WorkerMetrics {
    pub fn new(destination: Destination) -> Self {
        let mut registry = Registry::with_prefix_and_labels(
            "ledgerhook_worker",
            [(
                Cow::Borrowed("destination"),
                Cow::Borrowed(destination.as_str()),
            )]
            .into_iter(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "events",
            "Events handled, by tenant and outcome (applied, suppressed, skipped, retried, dead_lettered)",
            events.clone(),
        );
        // From 5 ms to about 11 minutes: a write takes tens of ms, retries take minutes.
        let end_to_end_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 18));
        registry.register(
            "event_end_to_end_seconds",
            "Time from the router's receipt of an event to its commit as applied",
            end_to_end_seconds.clone(),
        );
        // From 1 ms to about 9 minutes.
        let queue_lag_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 20));
        registry.register(
            "event_queue_lag_seconds",
            "Time from the router's receipt of an event to a worker taking its delivery, every attempt",
            queue_lag_seconds.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "events_in_flight",
            "Deliveries taken from the queue and not yet settled",
            in_flight.clone(),
        );
        let consuming = Gauge::default();
        registry.register(
            "consuming",
            "1 while a consumer is attached to the destination's queue",
            consuming.clone(),
        );
        let rate_limit_processes = Family::<ConnectionLabels, Gauge>::default();
        registry.register(
            "rate_limit_processes",
            "Worker processes sharing a connection's API limits; each keeps to its part",
            rate_limit_processes.clone(),
        );
        let rate_limit_wait_seconds =
            Family::<ConnectionLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "rate_limit_wait_seconds",
            "Time calls to a connection waited for its API limits (a window, a concurrency slot or a 429 pause)",
            rate_limit_wait_seconds.clone(),
        );
        WorkerMetrics {
            registry,
            events,
            end_to_end_seconds,
            queue_lag_seconds,
            in_flight,
            consuming,
            rate_limit_processes,
            rate_limit_wait_seconds,
            totals: Default::default(),
        }
    }

    /// Counts one event's outcome, one of `OUTCOMES`.
    pub fn count(&self, tenant: &str, outcome: &'static str) {
        self.events
            .get_or_create(&EventLabels {
                tenant: tenant.to_owned(),
                outcome,
            })
            .inc();
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.totals[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An event received at `received_at` was just committed as applied.
    pub fn observe_applied(&self, received_at: DateTime<Utc>) {
        self.end_to_end_seconds.observe(seconds_since(received_at));
    }

    /// A delivery of an event received at `received_at` was just taken from the queue.
    pub fn observe_pickup(&self, received_at: DateTime<Utc>) {
        self.queue_lag_seconds.observe(seconds_since(received_at));
    }

    /// How many processes share `connection`'s limits, and how long calls waited for them since
    /// the last report.
    pub fn rate_limit(&self, connection: &str, processes: u32, waited: std::time::Duration) {
        let labels = ConnectionLabels {
            connection: connection.to_owned(),
        };
        self.rate_limit_processes
            .get_or_create(&labels)
            .set(i64::from(processes));
        self.rate_limit_wait_seconds
            .get_or_create(&labels)
            .inc_by(waited.as_secs_f64());
    }

    /// Counts a delivery as in flight until the guard drops.
    pub fn in_flight(&self) -> GaugeGuard {
        GaugeGuard::hold(&self.in_flight)
    }

    /// Marks the queue as consumed until the guard drops.
    pub fn consuming(&self) -> GaugeGuard {
        GaugeGuard::hold(&self.consuming)
    }

    /// Whether a consumer is attached to the queue right now.
    pub fn is_consuming(&self) -> bool {
        self.consuming.get() > 0
    }

    /// (applied, suppressed, skipped, retried, dead-lettered) so far, across tenants.
    pub fn snapshot(&self) -> [u64; 5] {
        std::array::from_fn(|i| self.totals[i].load(Ordering::Relaxed))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Holds a gauge one higher while it lives.
#[derive(Debug)]
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn hold(gauge: &Gauge) -> Self {
        gauge.inc();
        GaugeGuard(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Seconds from `then` until now; zero when the clocks of two hosts disagree the other way.
fn seconds_since(then: DateTime<Utc>) -> f64 {
    (Utc::now() - then)
        .to_std()
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_with_the_destination() {
        let metrics = WorkerMetrics::new(Destination::Crm);
        metrics.count("acme", "suppressed");
        metrics.count("acme", "applied");
        metrics.count("acme", "applied");
        metrics.observe_applied(Utc::now() - chrono::Duration::milliseconds(40));
        metrics.observe_pickup(Utc::now() + chrono::Duration::seconds(5));
        let text = metrics.render();
        assert!(
            text.contains(
                r#"ledgerhook_worker_events_total{destination="crm",tenant="acme",outcome="applied"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ledgerhook_worker_events_total{destination="crm",tenant="acme",outcome="suppressed"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ledgerhook_worker_event_end_to_end_seconds_count{destination="crm"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"ledgerhook_worker_event_end_to_end_seconds_bucket{destination="crm",le="0.08"} 1"#),
            "{text}"
        );
        // A receipt time ahead of this host's clock counts as no lag, not a negative one.
        assert!(
            text.contains(
                r#"ledgerhook_worker_event_queue_lag_seconds_sum{destination="crm"} 0.0"#
            ),
            "{text}"
        );
        assert_eq!(metrics.snapshot(), [2, 1, 0, 0, 0]);

        metrics.rate_limit("acme/xero", 2, std::time::Duration::from_millis(1500));
        metrics.rate_limit("acme/xero", 2, std::time::Duration::from_millis(500));
        let text = metrics.render();
        assert!(
            text.contains(r#"ledgerhook_worker_rate_limit_processes{destination="crm",connection="acme/xero"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"ledgerhook_worker_rate_limit_wait_seconds_total{destination="crm",connection="acme/xero"} 2.0"#),
            "{text}"
        );
    }

    #[test]
    fn guards_hold_the_gauges_while_they_live() {
        let metrics = WorkerMetrics::new(Destination::Accounting);
        assert!(!metrics.is_consuming());
        let consuming = metrics.consuming();
        let a = metrics.in_flight();
        let b = metrics.in_flight();
        assert!(metrics.is_consuming());
        assert!(metrics
            .render()
            .contains(r#"ledgerhook_worker_events_in_flight{destination="accounting"} 2"#));
        drop((a, b, consuming));
        assert!(!metrics.is_consuming());
        assert!(metrics
            .render()
            .contains(r#"ledgerhook_worker_events_in_flight{destination="accounting"} 0"#));
    }
}
