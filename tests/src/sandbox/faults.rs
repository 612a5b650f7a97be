//! Fault injection: `/_sandbox/faults` makes a system slow, failing or rate limited, so tests
//! and benchmarks can watch the workers retry.
//!
//! `POST` a JSON object `{system: "xero"|"quickbooks"|"hubspot"|"salesforce"|"stripe"|"*", error_rate,
//! status, fail_next, rate_limit_next, retry_after, latency_ms}`; fields left out keep their
//! value. `DELETE` (optionally `?system=`) clears. Every call to a system, token endpoints
//! included, first waits the added latency, then fails if `fail_next` is left, then is refused
//! as the provider refuses a call over its limits if `rate_limit_next` is left (429 with
//! `Retry-After`; Salesforce, which has no 429, answers 403 `REQUEST_LIMIT_EXCEEDED` and the
//! sandbox adds `Retry-After`), then fails with probability `error_rate`. Settings for `*`
//! apply to every system, on top of its own.
//!
//! `fail_after_next` fails calls the other way round: the call runs and its change is made
//! (and announced), then its answer is replaced by the `status` failure, as when a provider
//! applies a write and the answer is lost to a timeout or a gateway error. With
//! `fail_after_route` (`"POST /crm/v3/objects/invoices"`: the method and the path under the
//! system's prefix) only those calls count. HubSpot calls honour it.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use actix_web::{web, HttpResponse};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    hubspot, quickbooks, salesforce,
    state::{lock, Shared},
    stripe, xero, System,
};

#[derive(Debug, Default)]
pub(crate) struct Faults {
    by_scope: Mutex<HashMap<String, FaultState>>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FaultState {
    error_rate: f64,
    status: u16,
    fail_next: u32,
    rate_limit_next: u32,
    retry_after: u64,
    latency_ms: u64,
    fail_after_next: u32,
    fail_after_route: Option<String>,
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            error_rate: 0.0,
            status: 500,
            fail_next: 0,
            rate_limit_next: 0,
            retry_after: 1,
            latency_ms: 0,
            fail_after_next: 0,
            fail_after_route: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    system: String,
    error_rate: Option<f64>,
    status: Option<u16>,
    fail_next: Option<u32>,
    rate_limit_next: Option<u32>,
    retry_after: Option<u64>,
    latency_ms: Option<u64>,
    fail_after_next: Option<u32>,
    fail_after_route: Option<String>,
}

/// What a call meets before it runs.
#[derive(Debug, PartialEq, Eq)]
enum Injected {
    Fail(u16),
    RateLimited(u64),
}

const SCOPES: [&str; 6] = ["xero", "quickbooks", "hubspot", "salesforce", "stripe", "*"];

impl Faults {
    pub fn clear(&self, scope: Option<&str>) {
        let mut map = lock(&self.by_scope);
        match scope {
            Some(s) => {
                map.remove(s);
            }
            None => map.clear(),
        }
    }

    fn latency(&self, system: System) -> Duration {
        let map = lock(&self.by_scope);
        let ms: u64 = [system.as_str(), "*"]
            .iter()
            .filter_map(|s| map.get(*s))
            .map(|f| f.latency_ms)
            .sum();
        Duration::from_millis(ms)
    }

    fn decide(&self, system: System) -> Option<Injected> {
        let mut map = lock(&self.by_scope);
        for scope in [system.as_str(), "*"] {
            if let Some(f) = map.get_mut(scope) {
                if f.fail_next > 0 {
                    f.fail_next -= 1;
                    return Some(Injected::Fail(f.status));
                }
                if f.rate_limit_next > 0 {
                    f.rate_limit_next -= 1;
                    return Some(Injected::RateLimited(f.retry_after));
                }
            }
        }
        for scope in [system.as_str(), "*"] {
            if let Some(f) = map.get(scope) {
                if f.error_rate > 0.0 && rand::rng().random::<f64>() < f.error_rate {
                    return Some(Injected::Fail(f.status));
                }
            }
        }
        None
    }

    /// After a call to `route` (`"<METHOD> <path under the system's prefix>"`) has run: the
    /// failure status to answer instead, when `fail_after_next` says so.
    pub fn after_applied(&self, system: System, route: &str) -> Option<u16> {
        let mut map = lock(&self.by_scope);
        for scope in [system.as_str(), "*"] {
            if let Some(f) = map.get_mut(scope) {
                let matches = f.fail_after_route.as_deref().is_none_or(|r| r == route);
                if f.fail_after_next > 0 && matches {
                    f.fail_after_next -= 1;
                    return Some(f.status);
                }
            }
        }
        None
    }

    pub fn snapshot(&self) -> HashMap<String, FaultState> {
        lock(&self.by_scope).clone()
    }
}

/// Applies the system's latency and injected failures: `Some` is the answer to send instead of
/// running the call.
pub(crate) async fn gate(shared: &Shared, system: System) -> Option<HttpResponse> {
    let latency = shared.faults.latency(system);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let injected = shared.faults.decide(system)?;
    shared.counters.fault_injected(system);
    Some(match (system, injected) {
        (System::Xero, Injected::Fail(status)) => xero::reply::fault(status),
        (System::Quickbooks, Injected::Fail(status)) => quickbooks::reply::fault(status),
        (System::Hubspot, Injected::Fail(status)) => hubspot::reply::fault(status),
        (System::Salesforce, Injected::Fail(status)) => salesforce::reply::fault(status),
        (System::Stripe, Injected::Fail(status)) => stripe::reply::fault(status),
        (System::Xero, Injected::RateLimited(secs)) => {
            xero::reply::rate_limited("minute", Some(secs))
        }
        (System::Quickbooks, Injected::RateLimited(secs)) => {
            quickbooks::reply::throttled(Some(secs))
        }
        (System::Hubspot, Injected::RateLimited(secs)) => {
            hubspot::reply::rate_limited(Duration::from_secs(secs))
        }
        (System::Salesforce, Injected::RateLimited(secs)) => {
            salesforce::reply::limit_exceeded(Some(secs))
        }
        (System::Stripe, Injected::RateLimited(secs)) => stripe::reply::rate_limited(secs),
    })
}

pub(crate) async fn set(spec: web::Json<FaultSpec>, shared: web::Data<Shared>) -> HttpResponse {
    let spec = spec.into_inner();
    let bad = |message: &str| {
        HttpResponse::BadRequest().json(json!({ "error": "invalid_fault", "message": message }))
    };
    if !SCOPES.contains(&spec.system.as_str()) {
        return bad(
            "system must be \"xero\", \"quickbooks\", \"hubspot\", \"salesforce\", \"stripe\" or \"*\"",
        );
    }
    if spec.error_rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
        return bad("error_rate must be between 0 and 1");
    }
    if spec.status.is_some_and(|s| !(400..=599).contains(&s)) {
        return bad("status must be an error status, 400 to 599");
    }
    {
        let mut map = lock(&shared.faults.by_scope);
        let f = map.entry(spec.system.clone()).or_default();
        f.error_rate = spec.error_rate.unwrap_or(f.error_rate);
        f.status = spec.status.unwrap_or(f.status);
        f.fail_next = spec.fail_next.unwrap_or(f.fail_next);
        f.rate_limit_next = spec.rate_limit_next.unwrap_or(f.rate_limit_next);
        f.retry_after = spec.retry_after.unwrap_or(f.retry_after);
        f.latency_ms = spec.latency_ms.unwrap_or(f.latency_ms);
        f.fail_after_next = spec.fail_after_next.unwrap_or(f.fail_after_next);
        if spec.fail_after_route.is_some() {
            f.fail_after_route = spec.fail_after_route;
        }
    }
    tracing::info!(system = %spec.system, "sandbox faults set");
    HttpResponse::Ok().json(shared.faults.snapshot())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ClearQuery {
    system: Option<String>,
}

pub(crate) async fn clear(
    query: web::Query<ClearQuery>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    shared.faults.clear(query.system.as_deref());
    HttpResponse::Ok().json(shared.faults.snapshot())
}

pub(crate) async fn get(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.faults.snapshot())
}
