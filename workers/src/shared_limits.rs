//! Divides each connection's rate limits among the worker processes that call it.
//!
//! The providers count per connection (a Xero tenant, a QuickBooks realm, a HubSpot portal), so
//! two processes that each keep to Xero's 60 calls a minute send 120 together and collect 429s.
//! Every few seconds each process checks in, through the store, the connections it called in the
//! last minute, learns how many processes did the same and keeps to its part of the limits; a
//! Retry-After one process is given pauses every process. Between check-ins a newly started
//! process may briefly send more than its part; the 429s that can cause are retried like any
//! other, and the pause they carry is then shared.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use ledgerhook_shared::store::{self, Store, StoreError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    limits::{Limits, RateLimiter},
    metrics::WorkerMetrics,
};

/// How often a process checks in.
pub const CHECK_IN_EVERY: Duration = Duration::from_secs(2);
/// A process that has not checked in for this long no longer counts (a crashed one, say).
pub const LIVE_FOR: Duration = Duration::from_secs(10);
/// A process counts as calling a connection for this long after its last request.
pub const CALLING_FOR: Duration = Duration::from_secs(60);

/// This process's limiters, one per connection, and its identity among the processes.
#[derive(Debug)]
pub struct SharedLimits {
    process: Uuid,
    limiters: Mutex<BTreeMap<String, Arc<RateLimiter>>>,
    metrics: OnceLock<Arc<WorkerMetrics>>,
}

impl SharedLimits {
    pub fn new() -> Arc<SharedLimits> {
        Arc::new(SharedLimits {
            process: Uuid::now_v7(),
            limiters: Mutex::default(),
            metrics: OnceLock::new(),
        })
    }

    /// Reports each connection's share and wait time to `metrics` at every check-in.
    pub fn report_to(&self, metrics: Arc<WorkerMetrics>) {
        let _ = self.metrics.set(metrics);
    }

    fn report(&self) {
        let Some(metrics) = self.metrics.get() else {
            return;
        };
        for (name, limiter) in self.lock().iter() {
            metrics.rate_limit(name, limiter.share(), limiter.take_waited());
        }
    }

    /// The one limiter of `connection` in this process (created with `limits` the first time).
    pub fn limiter(&self, connection: &str, limits: Limits) -> Arc<RateLimiter> {
        self.lock()
            .entry(connection.to_owned())
            .or_insert_with(|| Arc::new(RateLimiter::new(limits)))
            .clone()
    }

    /// Shares this process's 429 pauses, checks in the connections it calls, and takes the
    /// part of each connection's limits and the pauses the other processes left.
    pub async fn check_in(&self, store: &Store) -> Result<(), StoreError> {
        let limiters: Vec<(String, Arc<RateLimiter>)> = self
            .lock()
            .iter()
            .map(|(name, limiter)| (name.clone(), limiter.clone()))
            .collect();
        if limiters.is_empty() {
            return Ok(());
        }
        let client = store.client().await?;
        for (name, limiter) in &limiters {
            if let Some(pause) = limiter.take_pause_to_share() {
                store::rate_limit_pause(&client, name, pause).await?;
            }
        }
        let calling: Vec<String> = limiters
            .iter()
            .filter(|(_, l)| l.used_within(CALLING_FOR))
            .map(|(name, _)| name.clone())
            .collect();
        let watching: Vec<String> = limiters.iter().map(|(name, _)| name.clone()).collect();
        let shares =
            store::rate_limit_check_in(&client, self.process, &calling, &watching, LIVE_FOR)
                .await?;
        for (name, limiter) in &limiters {
            let Some(share) = shares.get(name) else {
                continue;
            };
            // A connection this process does not call yet: were it to start, it would be one more.
            let processes = if calling.contains(name) {
                share.processes
            } else {
                share.processes + 1
            };
            let before = limiter.share();
            limiter.set_share(processes);
            if processes.max(1) != before {
                let part = limiter.effective();
                tracing::info!(
                    connection = %name,
                    processes = processes.max(1),
                    requests = part.requests,
                    per_secs = part.per.as_secs(),
                    concurrent = part.concurrent,
                    "rate limit shared anew"
                );
            }
            if let Some(pause) = share.paused_for {
                limiter.pause_from_elsewhere(pause);
            }
        }
        Ok(())
    }

    /// Checks in every `CHECK_IN_EVERY` until `stop`, then leaves so the others take this
    /// process's part at once. A store outage keeps the last shares.
    pub async fn run(self: Arc<Self>, store: Store, stop: CancellationToken) {
        let mut failing = false;
        loop {
            match self.check_in(&store).await {
                Ok(()) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "cannot share rate limits; keeping the last shares");
                }
                Err(_) => {}
            }
            self.report();
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(CHECK_IN_EVERY) => {}
            }
        }
        let left = match store.client().await {
            Ok(client) => store::rate_limit_leave(&client, self.process).await,
            Err(e) => Err(e),
        };
        if let Err(e) = left {
            tracing::warn!(error = %e, "could not leave the rate-limit shares; they expire");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<RateLimiter>>> {
        self.limiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}
