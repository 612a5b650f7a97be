//! ledgerhook-sandbox: stateful simulators of the Xero Accounting API, QuickBooks Online, the
//! HubSpot CRM v3 API, the Salesforce REST API and the Stripe API, for the quickstart, demos and
//! end-to-end tests.
//!
//! Each system lives under its own prefix with the provider's own paths, so a target whose
//! `base_url` is `http://127.0.0.1:PORT/xero` behaves as `https://api.xero.com` would,
//! `.../quickbooks` as `https://quickbooks.api.intuit.com`, `.../hubspot` as
//! `https://api.hubapi.com`, `.../salesforce` as an org's instance URL and `.../stripe` as
//! `https://api.stripe.com`. Every change the
//! sandbox makes is announced to the router as the provider's correctly signed webhook (for
//! Salesforce, a Flow callout signed the Standard Webhooks way), so echoes are real.
//! `/_sandbox/` holds fault injection, a state dump and a reset.
//!
//! Code map: `server` wires the routes; `auth` holds tokens and the OAuth endpoints; `limits`
//! and `faults` decide whether a call is refused before it runs; `webhooks` signs and delivers;
//! `xero/`, `quickbooks/`, `hubspot/`, `salesforce/` and `stripe/` hold each system's model and
//! handlers;
//! `sql` is the SELECT language QuickBooks queries and SOQL share. Only `money` turns numbers
//! into text and back, so no amount ever passes through a float.

mod auth;
mod faults;
mod hubspot;
mod limits;
mod money;
mod quickbooks;
mod salesforce;
mod server;
mod sql;
mod state;
mod stripe;
mod webhooks;
mod xero;

use std::{net::TcpListener, sync::Arc, time::Duration};

use ledgerhook_shared::config::Config;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The simulated systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum System {
    Xero,
    Quickbooks,
    Hubspot,
    Salesforce,
    Stripe,
}

impl System {
    pub const ALL: [System; 5] = [
        System::Xero,
        System::Quickbooks,
        System::Hubspot,
        System::Salesforce,
        System::Stripe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            System::Xero => "xero",
            System::Quickbooks => "quickbooks",
            System::Hubspot => "hubspot",
            System::Salesforce => "salesforce",
            System::Stripe => "stripe",
        }
    }
}

/// Knobs with the providers' documented values as defaults; tests shorten some of them.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lifetime of access tokens issued by the OAuth endpoints (Xero and HubSpot: 30 minutes;
    /// QuickBooks documents one hour and Salesforce a session timeout of two hours by default,
    /// but one knob keeps tests simple).
    pub access_token_lifetime: Duration,
    /// How long Xero still accepts a refresh token after it was used (30 minutes per
    /// developer.xero.com/faq/oauth2). HubSpot gets no grace in the sandbox.
    pub refresh_grace: Duration,
    /// How long Xero replays a response for an `Idempotency-Key`, and QuickBooks for a
    /// `requestid` (Intuit documents no window).
    pub idempotency_window: Duration,
    pub xero_minute_limit: u32,
    pub xero_concurrent_limit: u32,
    pub xero_daily_limit: u32,
    /// QuickBooks Online: 500 requests per minute and 10 in progress per realm.
    pub quickbooks_minute_limit: u32,
    pub quickbooks_concurrent_limit: u32,
    pub hubspot_limit: u32,
    pub hubspot_window: Duration,
    /// A Salesforce org's API requests per day (its "daily allocation"); past it every call
    /// answers 403 `REQUEST_LIMIT_EXCEEDED`.
    pub salesforce_daily_limit: u32,
    /// Salesforce leaves refresh token rotation off unless a connected app turns it on; when
    /// true the sandbox rotates as such an app does (a new refresh token each time, the old one
    /// invalidated).
    pub salesforce_rotate_refresh_tokens: bool,
    /// Stripe's basic rate limiter in test mode: 25 read and 25 write operations per second
    /// per account (docs.stripe.com/rate-limits).
    pub stripe_read_limit: u32,
    pub stripe_write_limit: u32,
    /// Stripe secret keys accepted besides each Stripe tenant's `sk_test_<tenant id>`, as
    /// (key, tenant id).
    pub stripe_api_keys: Vec<(String, String)>,
    /// Delivery attempts per webhook before it counts as failed.
    pub webhook_attempts: u32,
    /// Wait before the second attempt; doubled for each later one.
    pub webhook_backoff: Duration,
    pub webhook_timeout: Duration,
    /// The home currency of every simulated account (Xero organisation, QuickBooks company,
    /// Salesforce org), used when a record names none.
    pub base_currency: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            access_token_lifetime: Duration::from_secs(1800),
            refresh_grace: Duration::from_secs(1800),
            idempotency_window: Duration::from_secs(360),
            xero_minute_limit: 60,
            xero_concurrent_limit: 5,
            xero_daily_limit: 5000,
            quickbooks_minute_limit: 500,
            quickbooks_concurrent_limit: 10,
            hubspot_limit: 100,
            hubspot_window: Duration::from_secs(10),
            salesforce_daily_limit: 100_000,
            salesforce_rotate_refresh_tokens: false,
            stripe_read_limit: 25,
            stripe_write_limit: 25,
            stripe_api_keys: Vec::new(),
            webhook_attempts: 5,
            webhook_backoff: Duration::from_millis(250),
            webhook_timeout: Duration::from_secs(10),
            base_currency: "USD".to_owned(),
        }
    }
}

impl Options {
    /// The same options with every provider rate limit raised out of reach, for load tests
    /// and benchmarks that measure ledgerhook rather than the providers' quotas.
    pub fn without_rate_limits(self) -> Options {
        Options {
            xero_minute_limit: u32::MAX / 2,
            xero_concurrent_limit: u32::MAX / 2,
            xero_daily_limit: u32::MAX / 2,
            hubspot_limit: u32::MAX / 2,
            quickbooks_minute_limit: u32::MAX / 2,
            quickbooks_concurrent_limit: u32::MAX / 2,
            salesforce_daily_limit: u32::MAX / 2,
            stripe_read_limit: u32::MAX / 2,
            stripe_write_limit: u32::MAX / 2,
            ..self
        }
    }
}

/// A running sandbox. It serves until the shutdown token given to `start` is cancelled.
#[derive(Debug)]
pub struct Sandbox {
    port: u16,
    base_url: String,
    server: JoinHandle<std::io::Result<()>>,
    dispatcher: JoinHandle<()>,
}

impl Sandbox {
    /// Starts serving on `listener` (port 0 works) with the default options.
    pub async fn start(
        config: Config,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<Sandbox> {
        Sandbox::start_with(config, listener, shutdown, Options::default()).await
    }

    pub async fn start_with(
        config: Config,
        listener: TcpListener,
        shutdown: CancellationToken,
        options: Options,
    ) -> std::io::Result<Sandbox> {
        let port = listener.local_addr()?.port();
        // Webhooks drain only once the server has stopped, so the changes made by requests
        // still in flight at shutdown are announced too.
        let drain = CancellationToken::new();
        let (shared, dispatcher) = state::Shared::new(config, options, drain.clone());
        let server = server::serve(Arc::new(shared), listener, shutdown, drain.clone())
            .inspect_err(|_| drain.cancel())?;
        Ok(Sandbox {
            port,
            base_url: format!("http://127.0.0.1:{port}"),
            server,
            dispatcher,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`; the systems are under `/xero`, `/quickbooks`, `/hubspot`,
    /// `/salesforce` and `/stripe`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Waits, after the shutdown token was cancelled, until the server has finished its
    /// requests and the webhooks they caused have been delivered (or given up, after 5 s).
    pub async fn stopped(self) -> std::io::Result<()> {
        let served = self.server.await.map_err(std::io::Error::other)?;
        self.dispatcher.await.map_err(std::io::Error::other)?;
        served
    }
}
