//! The HTTP server: `/xero`, `/quickbooks`, `/hubspot`, `/salesforce`, `/stripe` and `/_sandbox` (faults,
//! state dump, reset), with a per-system count of every answer.

use std::{
    collections::{BTreeMap, HashMap},
    net::TcpListener,
    sync::Arc,
};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::{from_fn, Next},
    web, App, HttpResponse, HttpServer,
};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    auth::TokenSnapshot,
    faults::{self, FaultState},
    hubspot, quickbooks, salesforce,
    state::{lock, CounterSnapshot, Shared},
    stripe, webhooks, xero, System,
};

/// Xero accepts request bodies up to 3.5 MB (developer.xero.com API limits); a little more
/// is allowed so that such a body reaches the handlers.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub(crate) fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: CancellationToken,
    server_stopped: CancellationToken,
) -> std::io::Result<JoinHandle<std::io::Result<()>>> {
    let data = web::Data::from(shared);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .wrap(from_fn(count))
            .service(web::scope("/xero").configure(xero::routes))
            .service(web::scope("/quickbooks").configure(quickbooks::routes))
            .service(web::scope("/hubspot").configure(hubspot::routes))
            .service(web::scope("/salesforce").configure(salesforce::routes))
            .service(web::scope("/stripe").configure(stripe::routes))
            .service(
                web::scope("/_sandbox")
                    .route("/state", web::get().to(state))
                    .route("/reset", web::post().to(reset))
                    .route("/faults", web::get().to(faults::get))
                    .route("/faults", web::post().to(faults::set))
                    .route("/faults", web::delete().to(faults::clear))
                    .route(
                        "/healthz",
                        web::get().to(|| async { HttpResponse::Ok().finish() }),
                    ),
            )
            .default_service(web::to(|| async {
                HttpResponse::NotFound()
                    .json(json!({ "error": "not_found", "message": "no such endpoint" }))
            }))
    })
    .workers(4)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        handle.stop(true).await;
        server_stopped.cancel();
    });
    Ok(tokio::spawn(server))
}

/// Counts each answer of a simulated system by status, for the state dump.
async fn count(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let system = System::ALL
        .into_iter()
        .find(|s| req.path().starts_with(&format!("/{}/", s.as_str())));
    let data = req.app_data::<web::Data<Shared>>().cloned();
    let answer = next.call(req).await?;
    if let (Some(system), Some(data)) = (system, data) {
        data.counters.answered(system, answer.status().as_u16());
    }
    Ok(answer)
}

#[derive(Debug, Serialize)]
struct Dump {
    xero: BTreeMap<String, xero::OrgDump>,
    quickbooks: BTreeMap<String, quickbooks::CompanyDump>,
    hubspot: BTreeMap<String, Value>,
    salesforce: BTreeMap<String, salesforce::OrgDump>,
    stripe: BTreeMap<String, Value>,
    webhooks: webhooks::Snapshot,
    requests: BTreeMap<&'static str, CounterSnapshot>,
    faults: HashMap<String, FaultState>,
    tokens: TokenSnapshot,
}

/// `GET /_sandbox/state`: every simulated account and counter. Serialized straight to text so
/// amounts keep their exact decimals.
async fn state(shared: web::Data<Shared>) -> HttpResponse {
    let xero = lock(&shared.xero)
        .iter()
        .map(|(id, org)| (id.clone(), xero::dump(org)))
        .collect();
    let quickbooks = lock(&shared.quickbooks)
        .iter()
        .map(|(realm, company)| (realm.clone(), quickbooks::dump(company)))
        .collect();
    let hubspot = lock(&shared.hubspot)
        .iter()
        .map(|(tenant, portal)| (tenant.clone(), hubspot::dump(portal)))
        .collect();
    let salesforce = lock(&shared.salesforce)
        .iter()
        .map(|(tenant, org)| (tenant.clone(), salesforce::dump(org)))
        .collect();
    let stripe = lock(&shared.stripe)
        .iter()
        .map(|(tenant, account)| (tenant.clone(), stripe::dump(account)))
        .collect();
    let dump = Dump {
        xero,
        quickbooks,
        hubspot,
        salesforce,
        stripe,
        webhooks: shared.webhooks.snapshot(),
        requests: System::ALL
            .into_iter()
            .map(|s| (s.as_str(), shared.counters.snapshot(s)))
            .collect(),
        faults: shared.faults.snapshot(),
        tokens: shared.tokens.snapshot(),
    };
    match serde_json::to_vec(&dump) {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/json")
            .body(body),
        Err(e) => HttpResponse::InternalServerError().json(json!({ "error": e.to_string() })),
    }
}

async fn reset(shared: web::Data<Shared>) -> HttpResponse {
    shared.reset();
    tracing::info!("sandbox reset");
    HttpResponse::Ok().json(json!({ "reset": true }))
}
