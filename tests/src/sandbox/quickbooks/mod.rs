//! QuickBooks Online under `/quickbooks`: `/quickbooks/v3/company/{realmId}/{customer,invoice,
//! payment,refundreceipt,query}` (a `minorversion` parameter is accepted and changes nothing) and the token
//! endpoint `/quickbooks/oauth2/v1/tokens/bearer`.
//!
//! Every API call goes through the same gate: `Authorization: Bearer` (401 AuthenticationFailed),
//! the realm in the path being the one the token's tenant configured as `realm_id` (403
//! ApplicationAuthorizationFailed, which QuickBooks answers for a token used on a company it
//! was not authorized for), the realm's limits (429 ThrottleExceeded), then injected latency
//! and faults. Writes carrying the `requestid` query parameter (at most 50 characters, unique
//! per company) answer a repeat with the first answer, status and body, without changing
//! anything again: "If the service receives another request with the same RequestID, instead
//! of performing the operation again or returning an error, the service sends the same response
//! as it did for the original request" (blogs.intuit.com, 2015-04-06, "Request ID update").
//! Intuit names no window; the sandbox keeps `Options::idempotency_window`. Reads are never
//! replayed, as they change nothing. Entity names in paths ignore case.

mod customers;
mod invoices;
pub(crate) mod model;
mod output;
mod payments;
mod query;
mod refunds;
pub(crate) mod reply;
mod wire;

use std::{collections::HashMap, time::Instant};

use actix_web::{http::Method, web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde::Serialize;

use super::{
    auth::{self, Denied},
    faults,
    limits::Permit,
    state::{lock, Shared},
    System,
};
use model::{Cached, Company};
use reply::Reply;

/// One company in the state dump, in QuickBooks' own shapes.
#[derive(Debug, Serialize)]
pub(crate) struct CompanyDump {
    tenant: String,
    realm_id: String,
    customers: Vec<output::CustomerOut>,
    invoices: Vec<output::InvoiceOut>,
    payments: Vec<output::PaymentOut>,
    refund_receipts: Vec<refunds::RefundReceiptOut>,
}

pub(crate) fn dump(company: &Company) -> CompanyDump {
    CompanyDump {
        tenant: company.tenant.clone(),
        realm_id: company.realm_id.clone(),
        customers: company
            .customers
            .iter()
            .map(|c| output::CustomerOut::new(company, c))
            .collect(),
        invoices: company
            .invoices
            .iter()
            .map(|i| output::InvoiceOut::new(company, i))
            .collect(),
        payments: company
            .payments
            .iter()
            .map(|p| output::PaymentOut::new(company, p))
            .collect(),
        refund_receipts: company
            .refund_receipts
            .iter()
            .map(|r| refunds::RefundReceiptOut::new(company, r))
            .collect(),
    }
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/oauth2/v1/tokens/bearer",
        web::post().to(auth::quickbooks_token),
    )
    .route(
        "/v3/company/{realm}/{resource}",
        web::route().to(collection),
    )
    .route("/v3/company/{realm}/{resource}/{id}", web::route().to(item));
}

async fn collection(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (realm, resource) = path.into_inner();
    handle(&req, &realm, &resource, None, &body, &shared).await
}

async fn item(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (realm, resource, id) = path.into_inner();
    handle(&req, &realm, &resource, Some(&id), &body, &shared).await
}

/// A call that passed the gate: whose it is, and its place in the concurrent limit.
struct Call {
    tenant: String,
    realm_id: String,
    _permit: Permit,
}

async fn begin(shared: &Shared, req: &HttpRequest, realm: &str) -> Result<Call, HttpResponse> {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let tenant = match shared
        .tokens
        .authenticate(System::Quickbooks, authorization)
    {
        Ok(tenant) => tenant,
        Err(Denied::Expired(at)) => {
            return Err(reply::unauthorized(&format!(
                "Token expired: {}",
                at.to_rfc3339()
            )))
        }
        Err(Denied::Missing | Denied::Unknown) => return Err(reply::unauthorized("Token invalid")),
    };
    let Some(company) = shared
        .directory
        .quickbooks_for(&tenant)
        .filter(|t| t.realm_id == realm)
    else {
        return Err(reply::forbidden());
    };
    let permit = shared
        .limits
        .quickbooks(&company.realm_id)
        .map_err(|limited| {
            shared.counters.rate_limited(System::Quickbooks);
            reply::throttled(limited.retry_after.or(Some(1)))
        })?;
    if let Some(refused) = faults::gate(shared, System::Quickbooks).await {
        return Err(refused);
    }
    Ok(Call {
        tenant,
        realm_id: company.realm_id.clone(),
        _permit: permit,
    })
}

async fn handle(
    req: &HttpRequest,
    realm: &str,
    resource: &str,
    id: Option<&str>,
    body: &[u8],
    shared: &Shared,
) -> HttpResponse {
    let call = match begin(shared, req, realm).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    // Parameter names ignore case: Intuit writes both `requestid` and `RequestID`.
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
    let mut reply = {
        let mut companies = lock(&shared.quickbooks);
        match companies.get_mut(&call.realm_id) {
            Some(company) => route(company, req, resource, id, &params, body, shared),
            None => reply::not_found(),
        }
    };
    // Webhooks go out once the state lock is released; delivery itself runs on its own task.
    let events = std::mem::take(&mut reply.events);
    shared
        .webhooks
        .quickbooks(&call.tenant, &call.realm_id, events);
    reply.into_response()
}

fn route(
    company: &mut Company,
    req: &HttpRequest,
    resource: &str,
    id: Option<&str>,
    params: &HashMap<String, String>,
    body: &[u8],
    shared: &Shared,
) -> Reply {
    let resource = resource.to_ascii_lowercase();
    let method = req.method();
    if resource == "query" && id.is_none() && (method == Method::GET || method == Method::POST) {
        // A query comes as `?query=` or, with Content-Type application/text, as the body.
        let text = match params.get("query") {
            Some(q) => q.clone(),
            None => String::from_utf8_lossy(body).into_owned(),
        };
        return query::run(company, &text);
    }
    if method == Method::GET {
        return match (resource.as_str(), id) {
            ("customer", Some(id)) => customers::read(company, id),
            ("invoice", Some(id)) => invoices::read(company, id),
            ("payment", Some(id)) => payments::read(company, id),
            ("refundreceipt", Some(id)) => refunds::read(company, id),
            _ => reply::unsupported(req.path()),
        };
    }
    if method != Method::POST || id.is_some() {
        return reply::unsupported(req.path());
    }
    let operation = params.get("operation").map(|o| o.to_ascii_lowercase());
    let run = |company: &mut Company| match (resource.as_str(), operation.as_deref()) {
        ("customer", None | Some("update")) => customers::write(company, body),
        ("invoice", None | Some("update")) => invoices::write(company, body),
        ("invoice", Some("void")) => invoices::void(company, body),
        ("invoice", Some("delete")) => invoices::delete(company, body),
        ("payment", None | Some("update")) => payments::write(company, body),
        ("payment", Some("void")) => payments::void(company, body),
        ("payment", Some("delete")) => payments::delete(company, body),
        ("refundreceipt", None) => refunds::create(company, body),
        _ => reply::unsupported(req.path()),
    };
    idempotent(company, params.get("requestid"), shared, run)
}

fn idempotent(
    company: &mut Company,
    request_id: Option<&String>,
    shared: &Shared,
    run: impl FnOnce(&mut Company) -> Reply,
) -> Reply {
    let Some(key) = request_id.filter(|k| !k.is_empty()) else {
        return run(company);
    };
    if key.chars().count() > 50 {
        return reply::validation(
            "2050",
            "String length is either shorter or longer than supported by specification",
            &format!(
                "String length specified does not match the supported length. Min:0 Max:50 supplied length:{}",
                key.chars().count()
            ),
        );
    }
    let window = shared.options.idempotency_window;
    company.requests.retain(|_, c| c.at.elapsed() < window);
    if let Some(first) = company.requests.get(key) {
        let status = actix_web::http::StatusCode::from_u16(first.status)
            .unwrap_or(actix_web::http::StatusCode::OK);
        return Reply {
            status,
            body: first.body.clone(),
            events: Vec::new(),
        };
    }
    let reply = run(company);
    company.requests.insert(
        key.clone(),
        Cached {
            status: reply.status.as_u16(),
            body: reply.body.clone(),
            at: Instant::now(),
        },
    );
    reply
}
