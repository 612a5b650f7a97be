//! Per-connection rate limiting for the target APIs: N requests per sliding window, a cap on
//! requests in flight, and a shared pause after the target answers 429 with Retry-After.
//!
//! One `RateLimiter` belongs to one connection (a QuickBooks realm, a Xero tenant, a HubSpot
//! portal) and is shared, behind an `Arc`, by every client talking to it. The providers count
//! their limits per connection, so a limiter per client object would let two clients for the
//! same tenant exceed them together.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, MutexGuard,
    },
    time::Duration,
};

use reqwest::header::HeaderValue;
use tokio::{sync::Notify, time::Instant};

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
///
/// Several worker processes may call the same connection; the provider counts them together.
/// `set_share(n)` makes this process keep to 1/n of the limits (see [`crate::shared_limits`]).
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    window: Mutex<Window>,
    /// Woken when a request ends or the share changes, so waiters for a slot look again.
    changed: Notify,
    /// Microseconds callers spent waiting, not yet reported.
    waited_us: AtomicU64,
}

/// Held while a request is in flight; dropping it frees the concurrency slot.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.lock().release();
        self.limiter.changed.notify_waiters();
    }
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            window: Mutex::new(Window::default()),
            changed: Notify::new(),
            waited_us: AtomicU64::new(0),
        }
    }

    /// The provider's limits for the whole connection.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// What this process may send: the connection's limits divided among `share` processes,
    /// never less than one request per window and one at a time.
    pub fn effective(&self) -> Limits {
        self.limits.divided_by(self.lock().share)
    }

    /// Waits for a concurrency slot, the end of any 429 pause, and room in the window.
    pub async fn acquire(&self) -> Permit<'_> {
        let asked = Instant::now();
        let mut waited = false;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a release between the look and the wait is not missed.
            changed.as_mut().enable();
            let wait = match self.lock().try_take(Instant::now(), &self.limits) {
                Ok(()) => {
                    if waited {
                        let us = u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX);
                        self.waited_us.fetch_add(us, Ordering::Relaxed);
                    }
                    return Permit { limiter: self };
                }
                Err(wait) => wait,
            };
            waited = true;
            match wait {
                Wait::Slot => changed.await,
                Wait::Until(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = changed => {}
                    }
                }
            }
        }
    }

    /// The target answered 429: nobody on this connection sends before `retry_after` elapses.
    /// The pause is also offered to the other processes sharing the connection.
    pub fn pause_for(&self, retry_after: Duration) {
        let mut window = self.lock();
        window.pause_until(Instant::now() + retry_after);
        window.unshared_pause = Some(
            window
                .unshared_pause
                .map_or(retry_after, |p| p.max(retry_after)),
        );
    }

    /// A pause another process was asked for; not offered back.
    pub fn pause_from_elsewhere(&self, retry_after: Duration) {
        self.lock().pause_until(Instant::now() + retry_after);
    }

    /// The 429 pause, if any, not yet shared with the other processes.
    pub fn take_pause_to_share(&self) -> Option<Duration> {
        self.lock().unshared_pause.take()
    }

    /// Sets how many processes share the connection (at least one).
    pub fn set_share(&self, processes: u32) {
        self.lock().share = processes.max(1);
        self.changed.notify_waiters();
    }

    /// How long callers waited for this limiter since the last call of this function.
    pub fn take_waited(&self) -> Duration {
        Duration::from_micros(self.waited_us.swap(0, Ordering::Relaxed))
    }

    /// How many processes this one believes share the connection.
    pub fn share(&self) -> u32 {
        self.lock().share
    }

    /// Whether this process sent a request within `within`: it then counts as a sharer.
    pub fn used_within(&self, within: Duration) -> bool {
        self.lock()
            .last_started
            .is_some_and(|at| at.elapsed() <= within)
    }

    fn lock(&self) -> MutexGuard<'_, Window> {
        // The window holds plain counters and timestamps, so a panic elsewhere cannot leave it
        // inconsistent.
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Limits {
    /// One of `processes` equal parts, rounded down but never below one.
    pub fn divided_by(self, processes: u32) -> Limits {
        let n = processes.max(1);
        Limits {
            requests: (self.requests / n).max(1),
            per: self.per,
            concurrent: (self.concurrent / n as usize).max(1),
        }
    }
}

/// Why a request cannot start yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Every concurrency slot is taken; a release frees one.
    Slot,
    /// The window is full or a pause is in force until then.
    Until(Instant),
}

/// The sliding-window log, the requests in flight and the pause, without any waiting, so it can
/// be tested with explicit instants.
#[derive(Debug)]
struct Window {
    /// Start times of the requests inside the current window, oldest first.
    started: VecDeque<Instant>,
    in_flight: usize,
    paused_until: Option<Instant>,
    /// A Retry-After this process was given and has not yet shared.
    unshared_pause: Option<Duration>,
    /// How many processes share the connection, this one included.
    share: u32,
    last_started: Option<Instant>,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            started: VecDeque::new(),
            in_flight: 0,
            paused_until: None,
            unshared_pause: None,
            share: 1,
            last_started: None,
        }
    }
}

impl Window {
    /// Records a request starting at `now`, or says what it waits for.
    fn try_take(&mut self, now: Instant, limits: &Limits) -> Result<(), Wait> {
        let limits = limits.divided_by(self.share);
        if self.in_flight >= limits.concurrent {
            return Err(Wait::Slot);
        }
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(Wait::Until(until));
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
        let capacity = usize::try_from(limits.requests).unwrap_or(usize::MAX);
        if self.started.len() >= capacity {
            // The log may hold more than a smaller share allows: wait for enough to age out.
            let oldest_to_expire = self.started[self.started.len() - capacity];
            return Err(Wait::Until(oldest_to_expire + limits.per));
        }
        self.started.push_back(now);
        self.in_flight += 1;
        self.last_started = Some(now);
        Ok(())
    }

    fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
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

    /// Takes a request at `at` and ends it at once.
    fn take(window: &mut Window, at: Instant) -> Result<(), Wait> {
        let taken = window.try_take(at, &SMALL);
        if taken.is_ok() {
            window.release();
        }
        taken
    }

    #[test]
    fn window_admits_n_per_period_then_names_when_the_oldest_expires() {
        let t0 = Instant::now();
        let mut window = Window::default();
        for i in 0..3 {
            assert_eq!(take(&mut window, t0 + Duration::from_secs(i)), Ok(()));
        }
        let fourth = t0 + Duration::from_secs(5);
        assert_eq!(take(&mut window, fourth), Err(Wait::Until(t0 + SMALL.per)));
        // Exactly one period after the first request, one slot frees up, and only one.
        assert_eq!(take(&mut window, t0 + SMALL.per), Ok(()));
        let next = take(&mut window, t0 + SMALL.per);
        assert_eq!(next, Err(Wait::Until(t0 + Duration::from_secs(11))));
    }

    #[test]
    fn pause_blocks_until_it_ends_and_only_grows() {
        let t0 = Instant::now();
        let mut window = Window::default();
        window.pause_until(t0 + Duration::from_secs(30));
        window.pause_until(t0 + Duration::from_secs(5));
        assert_eq!(
            take(&mut window, t0),
            Err(Wait::Until(t0 + Duration::from_secs(30)))
        );
        assert_eq!(take(&mut window, t0 + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn a_share_divides_the_window_and_the_slots() {
        let limits = Limits {
            requests: 10,
            per: Duration::from_secs(60),
            concurrent: 5,
        };
        assert_eq!(
            limits.divided_by(2),
            Limits {
                requests: 5,
                per: Duration::from_secs(60),
                concurrent: 2
            }
        );
        // Never below one request and one slot, however many processes share.
        let tiny = limits.divided_by(50);
        assert_eq!((tiny.requests, tiny.concurrent), (1, 1));

        let t0 = Instant::now();
        let mut window = Window::default();
        for i in 0..3 {
            assert_eq!(take(&mut window, t0 + Duration::from_secs(i)), Ok(()));
        }
        // Three processes now share SMALL (3 per 10 s): this one may send one per window, and
        // waits until all but the newest of its three have aged out.
        window.share = 3;
        assert_eq!(
            take(&mut window, t0 + Duration::from_secs(3)),
            Err(Wait::Until(t0 + Duration::from_secs(12)))
        );
        assert_eq!(take(&mut window, t0 + Duration::from_secs(12)), Ok(()));
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

    #[tokio::test]
    async fn a_waiter_starts_when_a_slot_is_released_or_the_share_grows_back() {
        let limiter = std::sync::Arc::new(RateLimiter::new(Limits {
            requests: 100,
            ..SMALL
        }));
        limiter.set_share(2); // one slot of SMALL's two
        let held = limiter.acquire().await;
        let waiter = {
            let limiter = limiter.clone();
            tokio::spawn(async move { drop(limiter.acquire().await) })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "the only slot is taken");
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the release")
            .unwrap();
        assert!(
            limiter.take_waited() > Duration::ZERO,
            "the wait is counted"
        );
        assert_eq!(limiter.take_waited(), Duration::ZERO, "and reported once");

        let _held = limiter.acquire().await;
        let waiter = {
            let limiter = limiter.clone();
            tokio::spawn(async move { drop(limiter.acquire().await) })
        };
        tokio::task::yield_now().await;
        limiter.set_share(1); // the other process left: two slots again
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the larger share")
            .unwrap();
    }

    #[test]
    fn only_a_pause_this_process_was_given_is_offered_to_the_others() {
        let limiter = RateLimiter::new(SMALL);
        limiter.pause_from_elsewhere(Duration::from_secs(9));
        assert_eq!(limiter.take_pause_to_share(), None);
        limiter.pause_for(Duration::from_secs(7));
        limiter.pause_for(Duration::from_secs(3));
        assert_eq!(limiter.take_pause_to_share(), Some(Duration::from_secs(7)));
        assert_eq!(limiter.take_pause_to_share(), None, "offered once");
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
