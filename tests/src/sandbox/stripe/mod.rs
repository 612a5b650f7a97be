//! The Stripe API under `/stripe`: `/stripe/v1/...` answers as `https://api.stripe.com/v1/...`
//! does, in test mode and API version 2024-06-20, for one account per tenant that has a source
//! with provider `stripe`.
//!
//! Every call goes through the same gate (docs.stripe.com/api/authentication,
//! docs.stripe.com/rate-limits): the secret key as `Authorization: Bearer sk_test_...` or as the
//! Basic auth user name (401 otherwise; a tenant's key is `sk_test_<tenant id>`, plus any in
//! `Options::stripe_api_keys`), the account's 25 reads and 25 writes per second (429), then
//! injected latency and faults. Parameters are form-encoded with bracket notation (`form`);
//! answers are JSON in Stripe's shapes (`output`) with a `Request-Id` header.
//!
//! Idempotency as docs.stripe.com/api/idempotent_requests describes it: a POST with an
//! `Idempotency-Key` (at most 255 characters) saves the status and body of its answer once the
//! endpoint has begun executing (not when parameters fail validation); the same key with the same
//! parameters answers that again with `Idempotent-Replayed: true` and changes nothing; the same
//! key with other parameters, or on another endpoint, is a 400 `idempotency_error`. Keys belong
//! to the account and are pruned after 24 hours. Every change is announced to the tenant's
//! Stripe source as a signed event (`webhooks/stripe.rs`).

mod customers;
mod form;
mod invoices;
pub(crate) mod model;
mod output;
mod payments;
pub(crate) mod reply;

use std::time::{Duration, Instant};

use actix_web::{http::Method, web, HttpRequest, HttpResponse};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use serde_json::Value;

use super::{
    faults,
    state::{lock, Shared},
    webhooks::StripeRequest,
    System,
};
use form::Form;
use model::{new_id, Account, Cached};
use reply::{ApiError, Reply};

/// The API version the sandbox's objects and events are shaped after.
pub(crate) const API_VERSION: &str = "2024-06-20";

/// How long an idempotency key is kept.
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 3600);

pub(crate) fn dump(account: &Account) -> Value {
    output::dump(account)
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.default_service(web::to(handle));
}

/// The tenant whose secret key the request carries.
fn authenticate(shared: &Shared, req: &HttpRequest) -> Result<String, ApiError> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let key = header.and_then(|h| {
        let (scheme, value) = h.split_once(' ')?;
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            Some(value.to_owned())
        } else if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD.decode(value).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            Some(
                text.split_once(':')
                    .map_or(text.clone(), |(u, _)| u.to_owned()),
            )
        } else {
            None
        }
    });
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(reply::unauthorized(None));
    };
    let configured = shared
        .options
        .stripe_api_keys
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, tenant)| tenant.clone());
    let tenant = configured.or_else(|| key.strip_prefix("sk_test_").map(str::to_owned));
    match tenant.filter(|t| shared.directory.stripe_for(t).is_some()) {
        Some(tenant) => Ok(tenant),
        None => Err(reply::unauthorized(Some(&key))),
    }
}

fn respond(status: u16, body: Vec<u8>, request_id: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("Request-Id", request_id.to_owned()))
        .insert_header(("Stripe-Version", API_VERSION))
        .body(body)
}

fn error_response(e: &ApiError, request_id: &str) -> HttpResponse {
    respond(
        e.status.as_u16(),
        serde_json::to_vec_pretty(&e.body()).unwrap_or_default(),
        request_id,
    )
}

async fn handle(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let request_id = new_id("req_")[..18].to_owned();
    let tenant = match authenticate(&shared, &req) {
        Ok(tenant) => tenant,
        Err(e) => return error_response(&e, &request_id),
    };
    let Some(account_id) = shared
        .directory
        .stripe_for(&tenant)
        .map(|t| t.account_id.clone())
    else {
        return error_response(&reply::unauthorized(None), &request_id);
    };
    let write = req.method() != Method::GET;
    if let Err(wait) = shared.limits.stripe(&account_id, write) {
        shared.counters.rate_limited(System::Stripe);
        return reply::rate_limited(wait.as_secs_f64().ceil() as u64);
    }
    if let Some(refused) = faults::gate(&shared, System::Stripe).await {
        return refused;
    }
    let form = Form::parse(req.query_string(), &body);
    let path = req
        .path()
        .strip_prefix("/stripe")
        .unwrap_or(req.path())
        .to_owned();
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && write)
        .map(str::to_owned);
    let outcome = {
        let mut accounts = lock(&shared.stripe);
        let Some(account) = accounts.get_mut(&tenant) else {
            return error_response(&reply::unauthorized(None), &request_id);
        };
        idempotent(
            account,
            req.method(),
            &path,
            &form,
            key.as_deref(),
            &request_id,
        )
    };
    let (status, body, events, replayed) = match outcome {
        Outcome::Fresh(reply) => (
            reply.status.as_u16(),
            serde_json::to_vec_pretty(&reply.body).unwrap_or_default(),
            reply.events,
            None,
        ),
        Outcome::Replay(cached) => (
            cached.status,
            cached.body,
            Vec::new(),
            Some(cached.request_id),
        ),
    };
    let request = StripeRequest {
        id: request_id.clone(),
        idempotency_key: key.clone(),
    };
    // Webhooks go out once the state lock is released; delivery runs on its own task.
    shared.webhooks.stripe(&tenant, &request, events);
    let mut answer = respond(status, body, &request_id);
    let headers = answer.headers_mut();
    if let Some(key) = key.as_deref().and_then(|k| k.parse().ok()) {
        headers.insert(
            actix_web::http::header::HeaderName::from_static("idempotency-key"),
            key,
        );
    }
    if let Some(original) = replayed.and_then(|r| r.parse().ok()) {
        headers.insert(
            actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
            actix_web::http::header::HeaderValue::from_static("true"),
        );
        headers.insert(
            actix_web::http::header::HeaderName::from_static("original-request"),
            original,
        );
    }
    answer
}

enum Outcome {
    Fresh(Reply),
    Replay(Cached),
}

fn idempotent(
    account: &mut Account,
    method: &Method,
    path: &str,
    form: &Form,
    key: Option<&str>,
    request_id: &str,
) -> Outcome {
    let Some(key) = key else {
        return Outcome::Fresh(route(account, method, path, form));
    };
    if key.chars().count() > 255 {
        let e = reply::invalid(
            "Idempotency keys can be at most 255 characters long.",
            "Idempotency-Key",
            None,
        );
        return Outcome::Fresh(e.into());
    }
    account
        .idempotency
        .retain(|_, c| c.at.elapsed() < IDEMPOTENCY_WINDOW);
    let endpoint = format!("{method} {path}");
    let params = form.canonical();
    if let Some(first) = account.idempotency.get(key) {
        let conflict = if first.endpoint != endpoint {
            Some(format!(
                "Keys for idempotent requests can only be used for the same endpoint they were first used for ('{}' vs '{}'). Try using a key other than '{key}' if you meant to execute a different request.",
                first.endpoint.split_once(' ').map_or("", |e| e.1),
                path
            ))
        } else if first.params != params {
            Some(format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            ))
        } else {
            None
        };
        return match conflict {
            Some(message) => Outcome::Fresh(reply::idempotency(message).into()),
            None => Outcome::Replay(first.clone()),
        };
    }
    let reply = route(account, method, path, form);
    if reply.saved {
        account.idempotency.insert(
            key.to_owned(),
            Cached {
                endpoint,
                params,
                status: reply.status.as_u16(),
                body: serde_json::to_vec_pretty(&reply.body).unwrap_or_default(),
                request_id: request_id.to_owned(),
                at: Instant::now(),
            },
        );
    }
    Outcome::Fresh(reply)
}

fn route(account: &mut Account, method: &Method, path: &str, form: &Form) -> Reply {
    let segments: Vec<&str> = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .collect();
    let get = method == Method::GET;
    let post = method == Method::POST;
    let result = match segments.as_slice() {
        ["v1", "customers"] if post => customers::create(account, form),
        ["v1", "customers", id] if get => customers::get(account, id),
        ["v1", "invoiceitems"] if post => invoices::create_item(account, form),
        ["v1", "invoiceitems", id] if get => invoices::get_item(account, id),
        ["v1", "invoices"] if post => invoices::create(account, form),
        ["v1", "invoices", id] if get => invoices::get(account, id),
        ["v1", "invoices", id, "add_lines"] if post => invoices::add_lines(account, id, form),
        ["v1", "invoices", id, "finalize"] if post => invoices::finalize(account, id, form),
        ["v1", "invoices", id, "pay"] if post => payments::pay(account, id, form),
        ["v1", "refunds"] if post => payments::refund(account, form),
        ["v1", "refunds", id] if get => payments::get_refund(account, id),
        ["v1", "payment_intents", id] if get => payments::get_payment_intent(account, id),
        ["v1", "charges", id] if get => payments::get_charge(account, id),
        _ => Err(reply::unrecognized(method.as_str(), path)),
    };
    result.unwrap_or_else(Reply::from)
}
