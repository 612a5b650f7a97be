//! The Salesforce REST API under `/salesforce` (standing for an org's instance URL):
//! `services/data/vXX.X/sobjects/...`, `services/data/vXX.X/query` and the token endpoint
//! `services/oauth2/token`.
//!
//! Every API call goes through the same gate: `Authorization: Bearer` with a token the config
//! or the token endpoint made valid for a tenant whose CRM is Salesforce (else 401
//! `INVALID_SESSION_ID`), the org's daily allocation (403 `REQUEST_LIMIT_EXCEEDED`), then
//! injected latency and faults. The version in the path must be `vNN.N` from 20.0 on (else 404,
//! as for any unknown resource); it matters to upserts, whose answer for an update changed in
//! 46.0. Answers carry `Sforce-Limit-Info: api-usage=<used>/<limit>`. After each write, the
//! org's Flow (`flow`) announces the saved Accounts, Contacts and `Invoice__c` records.

mod flow;
pub(crate) mod model;
pub(crate) mod reply;
mod sobjects;
mod soql;
mod write;

use std::collections::BTreeMap;

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
use model::SfOrg;

/// One org in the state dump: every record of every object, as a read by id shows it.
#[derive(Debug, Serialize)]
pub(crate) struct OrgDump {
    tenant: String,
    org_id: String,
    objects: BTreeMap<String, Vec<reply::RecordOut>>,
}

pub(crate) fn dump(org: &SfOrg) -> OrgDump {
    let user = model::user_id(&org.org_id);
    let objects = org
        .objects
        .values()
        .map(|o| {
            let records = o
                .records
                .iter()
                .map(|r| reply::record("v60.0", &user, o, r, None))
                .collect();
            (o.name.clone(), records)
        })
        .collect();
    OrgDump {
        tenant: org.tenant.clone(),
        org_id: org.org_id.clone(),
        objects,
    }
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/services/oauth2/token",
        web::post().to(auth::salesforce_token),
    )
    .route("/services/data/{version}/query", web::get().to(query))
    .route("/services/data/{version}/query/", web::get().to(query))
    .route(
        "/services/data/{version}/sobjects/{object}",
        web::route().to(collection),
    )
    .route(
        "/services/data/{version}/sobjects/{object}/{id}",
        web::route().to(item),
    )
    .route(
        "/services/data/{version}/sobjects/{object}/{field}/{value}",
        web::route().to(external),
    );
}

/// A call that passed the gate.
struct Call {
    tenant: String,
    /// The path's version as written (`v60.0`) and its major number.
    version: String,
    api: u32,
    permit: Permit,
}

fn api_version(text: &str) -> Option<u32> {
    let (major, minor) = text.strip_prefix('v')?.split_once('.')?;
    let major: u32 = major.parse().ok()?;
    (minor == "0" && major >= 20).then_some(major)
}

async fn begin(shared: &Shared, req: &HttpRequest, version: &str) -> Result<Call, HttpResponse> {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let tenant = match shared
        .tokens
        .authenticate(System::Salesforce, authorization)
    {
        Ok(tenant) => tenant,
        Err(Denied::Missing | Denied::Unknown | Denied::Expired(_)) => {
            return Err(reply::invalid_session())
        }
    };
    if shared.directory.salesforce_for(&tenant).is_none() {
        return Err(reply::invalid_session());
    }
    let Some(api) = api_version(version) else {
        return Err(reply::not_found().into());
    };
    let permit = shared.limits.salesforce(&tenant).map_err(|limited| {
        shared.counters.rate_limited(System::Salesforce);
        reply::limit_exceeded(limited.retry_after)
    })?;
    if let Some(refused) = faults::gate(shared, System::Salesforce).await {
        return Err(refused);
    }
    Ok(Call {
        tenant,
        version: version.to_owned(),
        api,
        permit,
    })
}

/// Runs `op` on the caller's org, announces what it saved, and adds the usage header.
async fn run(
    shared: &Shared,
    req: &HttpRequest,
    version: &str,
    op: impl FnOnce(&mut SfOrg, &Call, &str) -> sobjects::Outcome,
) -> HttpResponse {
    let call = match begin(shared, req, version).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let (mut answer, events) = {
        let mut orgs = lock(&shared.salesforce);
        let Some(org) = orgs.get_mut(&call.tenant) else {
            return reply::not_found().into();
        };
        let user = model::user_id(&org.org_id);
        let (answer, changes) = op(org, &call, &user);
        (answer, flow::events(org, &changes))
    };
    shared.webhooks.salesforce(&call.tenant, events);
    let limit = shared.options.salesforce_daily_limit;
    let usage = format!("api-usage={}/{limit}", call.permit.day_used);
    if let Ok(value) = usage.parse() {
        answer.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("sforce-limit-info"),
            value,
        );
    }
    answer
}

#[derive(Debug, serde::Deserialize)]
struct QueryParams {
    q: Option<String>,
}

async fn query(
    req: HttpRequest,
    path: web::Path<String>,
    params: web::Query<QueryParams>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let text = params.into_inner().q.unwrap_or_default();
    run(&shared, &req, &path, |org, call, user| {
        (soql::run(org, &call.version, user, &text), Vec::new())
    })
    .await
}

async fn collection(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (version, object) = path.into_inner();
    let method = req.method().clone();
    run(&shared, &req, &version, |org, _, _| match method {
        Method::POST => sobjects::create(org, &object, &body),
        _ => (HttpResponse::MethodNotAllowed().finish(), Vec::new()),
    })
    .await
}

async fn item(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (version, object, id) = path.into_inner();
    let method = req.method().clone();
    let fields: Option<Vec<String>> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "fields")
        .map(|(_, v)| {
            v.split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect()
        });
    run(&shared, &req, &version, |org, call, user| match method {
        Method::GET => (
            sobjects::read(org, &call.version, user, &object, &id, fields),
            Vec::new(),
        ),
        Method::PATCH => sobjects::patch(org, &object, &id, &body),
        Method::DELETE => sobjects::delete(org, &object, &id),
        _ => (HttpResponse::MethodNotAllowed().finish(), Vec::new()),
    })
    .await
}

async fn external(
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (version, object, field, value) = path.into_inner();
    let method = req.method().clone();
    let update_only = url::form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(k, v)| k == "updateOnly" && v.eq_ignore_ascii_case("true"));
    run(&shared, &req, &version, |org, call, user| match method {
        Method::GET => (
            sobjects::read_external(org, &call.version, user, &object, &field, &value),
            Vec::new(),
        ),
        Method::PATCH => {
            let upsert = sobjects::Upsert {
                version: &call.version,
                api: call.api,
                object: &object,
                field: &field,
                value: &value,
                update_only,
            };
            sobjects::upsert(org, upsert, &body)
        }
        _ => (HttpResponse::MethodNotAllowed().finish(), Vec::new()),
    })
    .await
}
