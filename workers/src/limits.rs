//! Per-connection rate limiting for the target APIs: N requests per sliding window, a cap on
//! requests in flight, and a shared pause after the target answers 429 with Retry-After.
//!
//! One `RateLimiter` belongs to one connection (a QuickBooks realm, a Xero tenant, a HubSpot
//! portal) and is shared, behind an `Arc`, by every client talking to it. The providers count
//! their limits per connection, so a limiter per client object would let two clients for the
//! same tenant exceed them together.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use reqwest::header::HeaderValue;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

/// How much traffic one connection may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests allowed to start within any window of `per`.
    pub requests: u32,
    pub per: Duration,
    /// Requests allowed in flight at once.
    pub concurrent: usize,
}

impl Limits {
    /// Xero: 60 calls a minute and 5 concurrent calls per tenant.
    pub const XERO: Limits = Limits {
        requests: 60,
        per: Duration::from_secs(60),
        concurrent: 5,
    };
    /// HubSpot: 100 calls per 10 seconds for the lowest tier (higher tiers allow more, so this
    /// is safe everywhere).
    pub const HUBSPOT: Limits = Limits {
        requests: 100,
        per: Duration::from_secs(10),
        concurrent: 10,
    };
    /// QuickBooks Online: 500 calls a minute and 10 concurrent calls per realm.
    pub const QUICKBOOKS: Limits = Limits {
        requests: 500,
        per: Duration::from_secs(60),
        concurrent: 10,
    };
    /// Salesforce: no per-minute limit, but a rolling 24-hour allocation per org (answered with
    /// 403 REQUEST_LIMIT_EXCEEDED, which the connector retries much later) and at most 25
    /// concurrent long-running requests in a production org. The window only bounds bursts.
    pub const SALESFORCE: Limits = Limits {
        requests: 1000,
        per: Duration::from_secs(60),
        concurrent: 25,
    };
}

/// Admits requests for one connection. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    slots: Arc<Semaphore>,
    window: Mutex<Window>,
}

/// Held while a request is in flight; dropping it frees the concurrency slot.
#[derive(Debug)]
pub struct Permit {
    _slot: OwnedSemaphorePermit,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            // A zero limit would block forever; one request at a time is the least that works.
            slots: Arc::new(Semaphore::new(limits.concurrent.max(1))),
            window: Mutex::new(Window::default()),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Waits for a concurrency slot, then for the end of any 429 pause, then for room in the
    /// window. The slot is taken first so that at most `concurrent` callers poll the window.
    pub async fn acquire(&self) -> Permit {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the limiter never closes its semaphore");
        loop {
            let wake_at = match self.lock().try_take(Instant::now(), &self.limits) {
                Ok(()) => return Permit { _slot: slot },
                Err(wake_at) => wake_at,
            };
            tokio::time::sleep_until(wake_at).await;
        }
    }

    /// The target answered 429: nobody on this connection sends before `retry_after` elapses.
    pub fn pause_for(&self, retry_after: Duration) {
        self.lock().pause_until(Instant::now() + retry_after);
    }

    fn lock(&self) -> MutexGuard<'_, Window> {
        // The window holds plain timestamps, so a panic elsewhere cannot leave it inconsistent.
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sliding-window log and the pause, without any waiting, so it can be tested with
/// explicit instants.
#[derive(Debug, Default)]
struct Window {
    /// Start times of the requests inside the current window, oldest first.
    started: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl Window {
    /// Records a request starting at `now`, or says when to try again.
    fn try_take(&mut self, now: Instant, limits: &Limits) -> Result<(), Instant> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        while self
            .started
            .front()
            .is_some_and(|&start| start + limits.per <= now)
        {
            self.started.pop_front();
        }
        let capacity = usize::try_from(limits.requests.max(1)).unwrap_or(usize::MAX);
        match self.started.front() {
            Some(&oldest) if self.started.len() >= capacity => Err(oldest + limits.per),
            _ => {
                self.started.push_back(now);
                Ok(())
            }
        }
    }

    /// Extends the pause; a shorter Retry-After never shortens a longer one already in force.
    fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
    }
}

/// Reads a Retry-After header: delay-seconds, or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    // A date in the past means "now"; retrying immediately is what the target asked for.
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    const SMALL: Limits = Limits {
        requests: 3,
        per: Duration::from_secs(10),
        concurrent: 2,
    };

    #[test]
    fn window_admits_n_per_period_then_names_when_the_oldest_expires() {
        let t0 = Instant::now();
        let mut window = Window::default();
        for i in 0..3 {
            assert_eq!(window.try_take(t0 + Duration::from_secs(i), &SMALL), Ok(()));
        }
        let fourth = t0 + Duration::from_secs(5);
        assert_eq!(window.try_take(fourth, &SMALL), Err(t0 + SMALL.per));
        // Exactly one period after the first request, one slot frees up, and only one.
        assert_eq!(window.try_take(t0 + SMALL.per, &SMALL), Ok(()));
        let next = window.try_take(t0 + SMALL.per, &SMALL);
        assert_eq!(next, Err(t0 + Duration::from_secs(11)));
    }

    #[test]
    fn pause_blocks_until_it_ends_and_only_grows() {
        let t0 = Instant::now();
        let mut window = Window::default();
        window.pause_until(t0 + Duration::from_secs(30));
        window.pause_until(t0 + Duration::from_secs(5));
        assert_eq!(
            window.try_take(t0, &SMALL),
            Err(t0 + Duration::from_secs(30))
        );
        assert_eq!(
            window.try_take(t0 + Duration::from_secs(30), &SMALL),
            Ok(())
        );
    }

    #[tokio::test]
    async fn concurrency_is_capped_and_a_dropped_permit_frees_a_slot() {
        let limiter = RateLimiter::new(Limits {
            requests: 100,
            ..SMALL
        });
        let first = limiter.acquire().await;
        let _second = limiter.acquire().await;
        assert!(
            limiter.acquire().now_or_never().is_none(),
            "third must wait"
        );
        drop(first);
        assert!(limiter.acquire().now_or_never().is_some());
    }

    #[tokio::test]
    async fn a_full_window_and_a_429_pause_make_callers_wait() {
        let limiter = RateLimiter::new(Limits {
            concurrent: 10,
            ..SMALL
        });
        for _ in 0..3 {
            drop(limiter.acquire().await);
        }
        assert!(limiter.acquire().now_or_never().is_none(), "window is full");

        let paused = RateLimiter::new(Limits::HUBSPOT);
        paused.pause_for(Duration::from_secs(60));
        assert!(paused.acquire().now_or_never().is_none(), "paused by a 429");
    }

    #[test]
    fn presets_match_the_providers_published_limits() {
        assert_eq!((Limits::XERO.requests, Limits::XERO.concurrent), (60, 5));
        assert_eq!(Limits::XERO.per, Duration::from_secs(60));
        assert_eq!(
            (Limits::HUBSPOT.requests, Limits::HUBSPOT.per.as_secs()),
            (100, 10)
        );
        assert_eq!(
            (Limits::QUICKBOOKS.requests, Limits::QUICKBOOKS.concurrent),
            (500, 10)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let secs = HeaderValue::from_static("7");
        assert_eq!(parse_retry_after(&secs), Some(Duration::from_secs(7)));
        let past = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(&past), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&HeaderValue::from_static("soon")), None);
    }
}
