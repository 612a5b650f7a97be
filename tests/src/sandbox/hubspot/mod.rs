//! The HubSpot CRM API under `/hubspot`: `/hubspot/crm/v3/objects/{contacts,companies,
//! invoices,line_items}`, the v4 association PUTs and the token endpoint
//! `/hubspot/oauth/v1/token`.
//!
//! The bearer token (a tenant's static private-app token, or one issued by the token endpoint)
//! says whose portal a call is for; without a valid one the answer is 401. Then the portal's
//! 100-per-10-seconds limit (429), then injected latency and faults. After every change the
//! portal's contacts, companies and invoices are compared with before: a new object is a
//! `*.creation` notification, each changed property an `*.propertyChange` (invoices are generic
//! `object.*` notifications with `objectTypeId` `0-53`), a removed one `*.deletion`. Line items
//! have no subscription; their changes reach the invoice's calculated amounts instead.

mod batch;
pub(crate) mod model;
mod notifications;
mod objects;
pub(crate) mod reply;
mod search;
mod types;

use actix_web::{http::Method, web, HttpRequest, HttpResponse};
use bytes::Bytes;
use chrono::Utc;

use super::{
    auth::{self, Denied},
    faults,
    limits::HubspotQuota,
    state::{lock, Shared},
    System,
};
use model::{ObjType, Portal};
use reply::Props;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/v1/token", web::post().to(auth::hubspot_token))
        .route("/crm/v3/objects/{type}", web::route().to(collection))
        .route("/crm/v3/objects/{type}/search", web::post().to(search))
        .route(
            "/crm/v3/objects/{type}/batch/{action}",
            web::post().to(batch),
        )
        .route("/crm/v3/objects/{type}/{id}", web::route().to(item))
        .route(
            "/crm/v4/objects/{from}/{from_id}/associations/default/{to}/{to_id}",
            web::put().to(associate_default),
        )
        .route(
            "/crm/v4/objects/{from}/{from_id}/associations/{to}/{to_id}",
            web::put().to(associate_labeled),
        );
}

/// One portal in the state dump: every object with all its properties and associations.
pub(crate) fn dump(portal: &Portal) -> serde_json::Value {
    let mut objects = serde_json::Map::new();
    for t in ObjType::ALL {
        let all: Vec<serde_json::Value> = portal
            .of(t)
            .map(|o| reply::object(portal, t, o, &Props::All, &ObjType::ALL))
            .collect();
        objects.insert(t.name().to_owned(), serde_json::Value::Array(all));
    }
    serde_json::json!({ "tenant": portal.tenant, "portalId": portal.portal_id, "objects": objects })
}

/// A call that passed the gate: the portal it is for and what is left of its rate window.
struct Call {
    tenant: String,
    portal_id: u64,
    quota: HubspotQuota,
}

async fn begin(shared: &Shared, req: &HttpRequest) -> Result<Call, HttpResponse> {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let tenant = match shared.tokens.authenticate(System::Hubspot, authorization) {
        Ok(tenant) => tenant,
        Err(Denied::Expired(at)) => {
            return Err(reply::unauthorized(Some((Utc::now() - at).num_seconds())))
        }
        Err(_) => return Err(reply::unauthorized(None)),
    };
    let Some(portal) = shared.directory.hubspot_for(&tenant) else {
        return Err(reply::unauthorized(None));
    };
    let quota = shared.limits.hubspot(&tenant).map_err(|wait| {
        shared.counters.rate_limited(System::Hubspot);
        reply::rate_limited(wait)
    })?;
    if let Some(refused) = faults::gate(shared, System::Hubspot).await {
        return Err(refused);
    }
    Ok(Call {
        portal_id: portal.portal_id,
        tenant,
        quota,
    })
}

/// Runs `op` on the caller's portal, then sends the webhooks its changes cause.
async fn run(
    shared: &Shared,
    req: &HttpRequest,
    op: impl FnOnce(&mut Portal) -> HttpResponse,
) -> HttpResponse {
    let call = match begin(shared, req).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let (mut answer, events) = {
        let mut portals = lock(&shared.hubspot);
        let Some(portal) = portals.get_mut(&call.tenant) else {
            return reply::not_found();
        };
        let before = portal.snapshot();
        let answer = op(portal);
        (answer, notifications::diff(&before, portal))
    };
    shared
        .webhooks
        .hubspot(&call.tenant, call.portal_id, events);
    let path = req.path();
    let route = format!(
        "{} {}",
        req.method(),
        path.strip_prefix("/hubspot").unwrap_or(path)
    );
    if let Some(status) = shared.faults.after_applied(System::Hubspot, &route) {
        // The change stands (and was announced); only its answer is lost.
        shared.counters.fault_injected(System::Hubspot);
        answer = reply::fault(status);
    }
    let headers = answer.headers_mut();
    for (name, value) in [
        ("x-hubspot-ratelimit-max", call.quota.max.to_string()),
        (
            "x-hubspot-ratelimit-remaining",
            call.quota.remaining.to_string(),
        ),
        (
            "x-hubspot-ratelimit-interval-milliseconds",
            call.quota.window.as_millis().to_string(),
        ),
    ] {
        if let Ok(value) = value.parse() {
            headers.insert(
                actix_web::http::header::HeaderName::from_static(name),
                value,
            );
        }
    }
    answer
}

/// Query parameters, repeated ones (`properties=a&properties=b`) and lists (`a,b`) alike.
struct Params(Vec<(String, String)>);

impl Params {
    fn new(req: &HttpRequest) -> Params {
        Params(
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn list(&self, name: &str) -> Option<Vec<String>> {
        let values: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        (!values.is_empty()).then_some(values)
    }

    fn props(&self) -> Props {
        Props::from_list(self.list("properties"))
    }

    fn associations(&self) -> Vec<ObjType> {
        self.list("associations")
            .unwrap_or_default()
            .iter()
            .filter_map(|n| ObjType::parse(n))
            .collect()
    }
}

fn unknown_type(name: &str) -> HttpResponse {
    reply::bad_request(&format!("Unable to infer object type from: {name}"))
}

async fn collection(
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let Some(t) = ObjType::parse(&path) else {
        return unknown_type(&path);
    };
    let params = Params::new(&req);
    let method = req.method().clone();
    run(&shared, &req, |portal| match method {
        Method::GET => {
            let limit = params
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(10);
            let after = params
                .get("after")
                .and_then(|a| a.parse().ok())
                .unwrap_or(0);
            objects::list(
                portal,
                t,
                limit,
                after,
                &params.props(),
                &params.associations(),
            )
        }
        Method::POST => objects::create(portal, t, &body),
        _ => HttpResponse::MethodNotAllowed().finish(),
    })
    .await
}

async fn item(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (t, id) = path.into_inner();
    let Some(t) = ObjType::parse(&t) else {
        return unknown_type(&t);
    };
    let params = Params::new(&req);
    let id_property = params.get("idProperty").map(str::to_owned);
    let method = req.method().clone();
    run(&shared, &req, |portal| match method {
        Method::GET => {
            let (props, assoc) = (params.props(), params.associations());
            objects::get(portal, t, &id, id_property.as_deref(), &props, &assoc)
        }
        Method::PATCH => objects::patch(portal, t, &id, id_property.as_deref(), &body),
        Method::DELETE => objects::archive(portal, t, &id),
        _ => HttpResponse::MethodNotAllowed().finish(),
    })
    .await
}

async fn search(
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let Some(t) = ObjType::parse(&path) else {
        return unknown_type(&path);
    };
    run(&shared, &req, |portal| search::search(portal, t, &body)).await
}

async fn batch(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (t, action) = path.into_inner();
    let Some(t) = ObjType::parse(&t) else {
        return unknown_type(&t);
    };
    run(&shared, &req, |portal| match action.as_str() {
        "read" => batch::batch_read(portal, t, &body),
        "upsert" => batch::batch_upsert(portal, t, &body),
        _ => reply::not_found(),
    })
    .await
}

type AssociationPath = web::Path<(String, u64, String, u64)>;

async fn associate_default(
    req: HttpRequest,
    path: AssociationPath,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (from, from_id, to, to_id) = path.into_inner();
    let (Some(from), Some(to)) = (ObjType::parse(&from), ObjType::parse(&to)) else {
        return unknown_type(&format!("{from} or {to}"));
    };
    run(&shared, &req, |portal| {
        objects::associate(portal, from, from_id, to, to_id, Vec::new())
    })
    .await
}

async fn associate_labeled(
    req: HttpRequest,
    path: AssociationPath,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (from, from_id, to, to_id) = path.into_inner();
    let (Some(from), Some(to)) = (ObjType::parse(&from), ObjType::parse(&to)) else {
        return unknown_type(&format!("{from} or {to}"));
    };
    let types: Vec<objects::AssociationType> = match serde_json::from_slice(&body) {
        Ok(types) => types,
        Err(e) => return reply::bad_request(&format!("Invalid input JSON: {e}")),
    };
    if types.is_empty() {
        return reply::bad_request("at least one association type is required");
    }
    run(&shared, &req, |portal| {
        objects::associate(portal, from, from_id, to, to_id, types)
    })
    .await
}
