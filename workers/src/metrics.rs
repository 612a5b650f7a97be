//! Counters of what the worker did with events, by outcome.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct WorkerMetrics {
    applied: AtomicU64,
    suppressed: AtomicU64,
    skipped: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
}

impl WorkerMetrics {
    pub fn count(&self, outcome: &str) {
        let counter = match outcome {
            "applied" => &self.applied,
            "suppressed" => &self.suppressed,
            "skipped" => &self.skipped,
            "retried" => &self.retried,
            _ => &self.dead_lettered,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (applied, suppressed, skipped, retried, dead-lettered) so far.
    pub fn snapshot(&self) -> [u64; 5] {
        [
            &self.applied,
            &self.suppressed,
            &self.skipped,
            &self.retried,
            &self.dead_lettered,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}
