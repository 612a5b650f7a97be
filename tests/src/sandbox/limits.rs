//! The providers' rate limits, per simulated account.
//!
//! Xero (developer.xero.com/faq/limits): per tenant, 5 calls in progress at once, 60 calls per
//! minute and 5000 per day; every answer carries `X-MinLimit-Remaining`,
//! `X-DayLimit-Remaining` and `X-AppMinLimit-Remaining`; over a limit the answer is 429 with
//! `X-Rate-Limit-Problem` naming it (`minute`, `day`, as clients such as xero-python compare
//! it; `concurrent` for the third) and, for the minute and day limits, `Retry-After` in seconds.
//! QuickBooks Online: 500 requests per minute and 10 concurrent requests per realm id, over
//! which it answers 429 (developer.intuit.com "Limits and throttles", as Intuit's own SDK
//! maintainers quote it). HubSpot: 100 requests per 10 seconds per portal. Salesforce: a daily
//! allocation of API requests per org, counted here per UTC day rather than over Salesforce's
//! rolling 24 hours, so the counter needs no per-call history. Stripe: per account, read and
//! write operations each limited per second (25 and 25 in test mode, docs.stripe.com/rate-limits),
//! a write being any POST or DELETE. Refused calls do not count
//! against a window, so `Retry-After` says exactly when the next call will pass.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{Days, Utc};

use super::{state::lock, Options, System};

type Windows = Arc<Mutex<HashMap<(System, String), Window>>>;

#[derive(Debug)]
pub(crate) struct Limits {
    windows: Windows,
    hubspot: Mutex<HashMap<String, VecDeque<Instant>>>,
    stripe: Mutex<HashMap<(String, bool), VecDeque<Instant>>>,
    stripe_read: u32,
    stripe_write: u32,
    xero_minute: u32,
    xero_concurrent: u32,
    xero_daily: u32,
    quickbooks_minute: u32,
    quickbooks_concurrent: u32,
    salesforce_daily: u32,
    hubspot_limit: u32,
    hubspot_window: Duration,
}

#[derive(Debug, Default)]
struct Window {
    minute: VecDeque<Instant>,
    in_flight: u32,
    day: Option<chrono::NaiveDate>,
    day_count: u32,
}

/// Which limits an account has; `None` is unlimited.
#[derive(Debug, Clone, Copy)]
struct Quota {
    minute: Option<u32>,
    concurrent: Option<u32>,
    daily: Option<u32>,
}

/// Why a call was refused, and when to come back.
#[derive(Debug)]
pub(crate) struct Limited {
    pub problem: &'static str,
    pub retry_after: Option<u64>,
}

/// A call in progress: it counts against the concurrent limit until dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    windows: Windows,
    key: (System, String),
    pub minute_remaining: u32,
    pub day_used: u32,
    pub day_remaining: u32,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(w) = lock(&self.windows).get_mut(&self.key) {
            w.in_flight = w.in_flight.saturating_sub(1);
        }
    }
}

/// A HubSpot call that passed, with what is left of the window.
#[derive(Debug)]
pub(crate) struct HubspotQuota {
    pub max: u32,
    pub remaining: u32,
    pub window: Duration,
}

impl Limits {
    pub fn new(options: &Options) -> Limits {
        Limits {
            windows: Arc::new(Mutex::new(HashMap::new())),
            hubspot: Mutex::new(HashMap::new()),
            stripe: Mutex::new(HashMap::new()),
            stripe_read: options.stripe_read_limit,
            stripe_write: options.stripe_write_limit,
            xero_minute: options.xero_minute_limit,
            xero_concurrent: options.xero_concurrent_limit,
            xero_daily: options.xero_daily_limit,
            quickbooks_minute: options.quickbooks_minute_limit,
            quickbooks_concurrent: options.quickbooks_concurrent_limit,
            salesforce_daily: options.salesforce_daily_limit,
            hubspot_limit: options.hubspot_limit,
            hubspot_window: options.hubspot_window,
        }
    }

    pub fn reset(&self) {
        lock(&self.windows).clear();
        lock(&self.hubspot).clear();
        lock(&self.stripe).clear();
    }

    /// Counts a Stripe call against the account's one-second window of reads or of writes, or
    /// says how long until one passes.
    pub fn stripe(&self, account: &str, write: bool) -> Result<(), Duration> {
        let limit = if write {
            self.stripe_write
        } else {
            self.stripe_read
        };
        let window = Duration::from_secs(1);
        let mut windows = lock(&self.stripe);
        let hits = windows.entry((account.to_owned(), write)).or_default();
        let now = Instant::now();
        while hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            hits.pop_front();
        }
        if hits.len() >= limit as usize {
            let oldest = hits.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)));
        }
        hits.push_back(now);
        Ok(())
    }

    pub fn xero(&self, xero_tenant_id: &str) -> Result<Permit, Limited> {
        let quota = Quota {
            minute: Some(self.xero_minute),
            concurrent: Some(self.xero_concurrent),
            daily: Some(self.xero_daily),
        };
        self.admit((System::Xero, xero_tenant_id.to_owned()), quota)
    }

    pub fn quickbooks(&self, realm_id: &str) -> Result<Permit, Limited> {
        let quota = Quota {
            minute: Some(self.quickbooks_minute),
            concurrent: Some(self.quickbooks_concurrent),
            daily: None,
        };
        self.admit((System::Quickbooks, realm_id.to_owned()), quota)
    }

    pub fn salesforce(&self, tenant: &str) -> Result<Permit, Limited> {
        let quota = Quota {
            minute: None,
            concurrent: None,
            daily: Some(self.salesforce_daily),
        };
        self.admit((System::Salesforce, tenant.to_owned()), quota)
    }

    fn admit(&self, key: (System, String), quota: Quota) -> Result<Permit, Limited> {
        let mut windows = lock(&self.windows);
        let w = windows.entry(key.clone()).or_default();
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        while w
            .minute
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            w.minute.pop_front();
        }
        let today = Utc::now().date_naive();
        if w.day != Some(today) {
            w.day = Some(today);
            w.day_count = 0;
        }
        if quota.concurrent.is_some_and(|max| w.in_flight >= max) {
            return Err(Limited {
                problem: "concurrent",
                retry_after: None,
            });
        }
        if quota
            .minute
            .is_some_and(|max| w.minute.len() >= max as usize)
        {
            let oldest = w.minute.front().copied().unwrap_or(now);
            let wait = minute.saturating_sub(now.duration_since(oldest));
            return Err(Limited {
                problem: "minute",
                retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
            });
        }
        if quota.daily.is_some_and(|max| w.day_count >= max) {
            let midnight = today
                .checked_add_days(Days::new(1))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc());
            let wait = midnight.map_or(3600, |m| (m - Utc::now()).num_seconds().max(1) as u64);
            return Err(Limited {
                problem: "day",
                retry_after: Some(wait),
            });
        }
        if quota.minute.is_some() {
            w.minute.push_back(now);
        }
        w.day_count += 1;
        w.in_flight += 1;
        Ok(Permit {
            windows: self.windows.clone(),
            key,
            minute_remaining: quota
                .minute
                .map_or(u32::MAX, |max| max.saturating_sub(w.minute.len() as u32)),
            day_used: w.day_count,
            day_remaining: quota
                .daily
                .map_or(u32::MAX, |max| max.saturating_sub(w.day_count)),
        })
    }

    /// Counts a call against the portal's rolling window, or says how long until one passes.
    pub fn hubspot(&self, tenant: &str) -> Result<HubspotQuota, Duration> {
        let mut windows = lock(&self.hubspot);
        let hits = windows.entry(tenant.to_owned()).or_default();
        let now = Instant::now();
        while hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.hubspot_window)
        {
            hits.pop_front();
        }
        if hits.len() >= self.hubspot_limit as usize {
            let oldest = hits.front().copied().unwrap_or(now);
            return Err(self
                .hubspot_window
                .saturating_sub(now.duration_since(oldest)));
        }
        hits.push_back(now);
        Ok(HubspotQuota {
            max: self.hubspot_limit,
            remaining: self.hubspot_limit.saturating_sub(hits.len() as u32),
            window: self.hubspot_window,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xero_counts_calls_in_progress_and_per_minute() {
        let limits = Limits::new(&Options {
            xero_minute_limit: 7,
            ..Options::default()
        });
        let permits: Vec<_> = (0..5).map(|_| limits.xero("t").expect("ok")).collect();
        let busy = limits.xero("t").expect_err("sixth in progress");
        assert_eq!((busy.problem, busy.retry_after), ("concurrent", None));
        // Another tenant has its own limits.
        assert!(limits.xero("other").is_ok());
        drop(permits);
        let (a, b) = (limits.xero("t").expect("6"), limits.xero("t").expect("7"));
        assert_eq!((a.minute_remaining, b.minute_remaining), (1, 0));
        let full = limits.xero("t").expect_err("eighth in a minute");
        assert_eq!(full.problem, "minute");
        assert!(full.retry_after.is_some_and(|s| (1..=60).contains(&s)));
    }

    #[test]
    fn quickbooks_and_salesforce_have_their_own_limits() {
        let limits = Limits::new(&Options {
            quickbooks_concurrent_limit: 2,
            salesforce_daily_limit: 2,
            ..Options::default()
        });
        let busy: Vec<_> = (0..2)
            .map(|_| limits.quickbooks("r").expect("ok"))
            .collect();
        assert_eq!(
            limits.quickbooks("r").expect_err("third").problem,
            "concurrent"
        );
        // The same id in another system is another account.
        assert!(limits.xero("r").is_ok());
        drop(busy);
        assert_eq!(limits.salesforce("t").expect("1").day_used, 1);
        assert_eq!(limits.salesforce("t").expect("2").day_remaining, 0);
        assert_eq!(limits.salesforce("t").expect_err("3").problem, "day");
    }

    #[test]
    fn hubspot_window_rolls() {
        let limits = Limits::new(&Options {
            hubspot_limit: 2,
            hubspot_window: Duration::from_millis(50),
            ..Options::default()
        });
        assert_eq!(limits.hubspot("p").expect("1").remaining, 1);
        assert_eq!(limits.hubspot("p").expect("2").remaining, 0);
        let wait = limits.hubspot("p").expect_err("3");
        assert!(wait <= Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(60));
        assert!(limits.hubspot("p").is_ok());
    }
}
