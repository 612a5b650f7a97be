//! The Xero Accounting API under `/xero`:
//! `/xero/api.xro/2.0/{Contacts,Invoices,Payments,CreditNotes}`
//! and the token endpoint `/xero/connect/token`.
//!
//! Every API call goes through the same gate: `Authorization: Bearer` (401), the
//! `xero-tenant-id` header naming the Xero tenant id of that token's tenant (403, the
//! `requiredHeader` parameter of `xero_accounting.yaml`), the rate limits (429), then injected
//! latency and faults. Writes with an `Idempotency-Key` (a header of at most 128 characters,
//! per the spec's `idempotencyKey` parameter) answer a repeat with the first answer, status and
//! body, without changing anything again; a key reused for a different request is refused.
//! Xero documents no window in its spec; integrators report 6 minutes, errors included, which
//! is what the sandbox keeps (`Options::idempotency_window`). Paths ignore case, as Xero's do.

mod batch;
mod contacts;
mod creditnotes;
mod filter;
mod invoices;
pub(crate) mod model;
mod output;
mod payments;
pub(crate) mod reply;
mod wire;

use std::{collections::HashMap, time::Instant};

use actix_web::{http::Method, web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    auth::{self, Denied},
    faults,
    limits::Permit,
    state::{lock, Shared},
    System,
};
use batch::Query;
use model::{Cached, Org};
use reply::Reply;

/// One organisation in the state dump, in Xero's own shapes.
#[derive(Debug, Serialize)]
pub(crate) struct OrgDump {
    tenant: String,
    xero_tenant_id: String,
    contacts: Vec<output::ContactOut>,
    invoices: Vec<output::InvoiceOut>,
    payments: Vec<output::PaymentOut>,
    credit_notes: Vec<creditnotes::CreditNoteOut>,
}

pub(crate) fn dump(org: &Org) -> OrgDump {
    OrgDump {
        tenant: org.tenant.clone(),
        xero_tenant_id: org.xero_tenant_id.clone(),
        contacts: org.contacts.iter().map(output::ContactOut::new).collect(),
        invoices: org
            .invoices
            .iter()
            .map(|i| output::InvoiceOut::new(org, i, true, 4))
            .collect(),
        payments: org
            .payments
            .iter()
            .map(|p| output::PaymentOut::new(org, p))
            .collect(),
        credit_notes: org
            .credit_notes
            .iter()
            .map(|c| creditnotes::CreditNoteOut::new(org, c))
            .collect(),
    }
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/connect/token", web::post().to(auth::xero_token))
        .route("/api.xro/2.0/{collection}", web::route().to(collection))
        .route("/api.xro/2.0/{collection}/{id}", web::route().to(item));
}

async fn collection(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let query = Query::new(query.into_inner());
    handle(&req, &path, None, &query, &body, &shared).await
}

async fn item(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<HashMap<String, String>>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (collection, id) = path.into_inner();
    let query = Query::new(query.into_inner());
    handle(&req, &collection, Some(&id), &query, &body, &shared).await
}

/// A call that passed the gate: whose it is, and its place in the concurrent limit.
struct Call {
    tenant: String,
    xero_tenant_id: String,
    permit: Permit,
}

async fn begin(shared: &Shared, req: &HttpRequest) -> Result<Call, HttpResponse> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let tenant = match shared
        .tokens
        .authenticate(System::Xero, header("authorization"))
    {
        Ok(tenant) => tenant,
        Err(Denied::Expired(at)) => {
            let detail = format!(
                "TokenExpired: token expired at {}",
                at.format("%m/%d/%Y %H:%M:%S")
            );
            return Err(reply::unauthorized(&detail));
        }
        Err(Denied::Missing | Denied::Unknown) => {
            return Err(reply::unauthorized("AuthenticationUnsuccessful"))
        }
    };
    let asked = header("xero-tenant-id").map(str::trim).unwrap_or_default();
    let Some(org) = shared
        .directory
        .xero_for(&tenant)
        .filter(|t| t.xero_tenant_id.eq_ignore_ascii_case(asked))
    else {
        return Err(reply::forbidden());
    };
    let permit = shared.limits.xero(&org.xero_tenant_id).map_err(|limited| {
        shared.counters.rate_limited(System::Xero);
        reply::rate_limited(limited.problem, limited.retry_after)
    })?;
    if let Some(refused) = faults::gate(shared, System::Xero).await {
        return Err(refused);
    }
    Ok(Call {
        tenant,
        xero_tenant_id: org.xero_tenant_id.clone(),
        permit,
    })
}

async fn handle(
    req: &HttpRequest,
    collection: &str,
    id: Option<&str>,
    query: &Query,
    body: &[u8],
    shared: &Shared,
) -> HttpResponse {
    let call = match begin(shared, req).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let mut reply = {
        let mut orgs = lock(&shared.xero);
        match orgs.get_mut(&call.xero_tenant_id) {
            Some(org) => route(org, req, collection, id, query, body, shared),
            None => reply::not_found(),
        }
    };
    // Webhooks go out once the state lock is released; delivery itself runs on its own task.
    let events = std::mem::take(&mut reply.events);
    shared
        .webhooks
        .xero(&call.tenant, &call.xero_tenant_id, events);
    let mut answer = reply.into_response();
    let headers = answer.headers_mut();
    // The sandbox serves one app, so the app-wide minute count is this tenant's.
    let used = shared
        .options
        .xero_minute_limit
        .saturating_sub(call.permit.minute_remaining);
    for (name, value) in [
        ("x-minlimit-remaining", call.permit.minute_remaining),
        ("x-daylimit-remaining", call.permit.day_remaining),
        ("x-appminlimit-remaining", 10_000u32.saturating_sub(used)),
    ] {
        if let Ok(value) = value.to_string().parse() {
            headers.insert(
                actix_web::http::header::HeaderName::from_static(name),
                value,
            );
        }
    }
    answer
}

fn route(
    org: &mut Org,
    req: &HttpRequest,
    collection: &str,
    id: Option<&str>,
    query: &Query,
    body: &[u8],
    shared: &Shared,
) -> Reply {
    let method = req.method().clone();
    let resource = collection.to_ascii_lowercase();
    if method == Method::GET {
        return match (resource.as_str(), id) {
            ("contacts", None) => contacts::list(org, query),
            ("contacts", Some(id)) => contacts::get(org, id),
            ("invoices", None) => invoices::list(org, query),
            ("invoices", Some(id)) => invoices::get(org, id, query),
            ("payments", None) => payments::list(org),
            ("payments", Some(id)) => payments::get(org, id),
            ("creditnotes", None) => creditnotes::list(org),
            ("creditnotes", Some(id)) => creditnotes::get(org, id),
            _ => reply::not_found(),
        };
    }
    let put = method == Method::PUT;
    if !put && method != Method::POST {
        return reply::not_found();
    }
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let fingerprint = format!(
        "{method} {}?{} {}",
        req.path().to_ascii_lowercase(),
        req.query_string(),
        hex::encode(Sha256::digest(body))
    );
    idempotent(org, key.as_deref(), fingerprint, shared, |org| {
        match (resource.as_str(), id) {
            ("contacts", id) => contacts::write(org, body, query, put, id),
            ("invoices", id) => invoices::write(org, body, query, put, id),
            ("payments", None) => payments::create(org, body, query),
            ("payments", Some(id)) if !put => payments::delete(org, id, body),
            ("creditnotes", None) => creditnotes::create(org, body, query),
            _ => reply::not_found(),
        }
    })
}

fn idempotent(
    org: &mut Org,
    key: Option<&str>,
    fingerprint: String,
    shared: &Shared,
    run: impl FnOnce(&mut Org) -> Reply,
) -> Reply {
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return run(org);
    };
    if key.len() > 128 {
        return reply::validation_message(
            "The Idempotency-Key header must be at most 128 characters",
        );
    }
    let window = shared.options.idempotency_window;
    org.idempotency.retain(|_, c| c.at.elapsed() < window);
    if let Some(first) = org.idempotency.get(key) {
        if first.fingerprint != fingerprint {
            return reply::validation_message(&format!(
                "Idempotency Key {key} is used with a different request."
            ));
        }
        let status = actix_web::http::StatusCode::from_u16(first.status)
            .unwrap_or(actix_web::http::StatusCode::OK);
        let mut replay = Reply::json(status, first.body.clone());
        replay.content_type = first.content_type;
        return replay;
    }
    let reply = run(org);
    org.idempotency.insert(
        key.to_owned(),
        Cached {
            fingerprint,
            status: reply.status.as_u16(),
            content_type: reply.content_type,
            body: reply.body.clone(),
            at: Instant::now(),
        },
    );
    reply
}
