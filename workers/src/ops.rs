//! The worker's own HTTP listener, for probes and scrapers: `/healthz` (the process is alive),
//! `/readyz` (consuming from the broker and the store answers) and `/metrics` (Prometheus).

use std::{
    net::{SocketAddr, TcpListener},
    sync::{Arc, OnceLock},
    time::Duration,
};

use actix_web::{dev::Server, http::header::ContentType, web, App, HttpResponse, HttpServer};
use ledgerhook_shared::store::Store;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{metrics::WorkerMetrics, sync::Worker};

/// How long `/readyz` waits for the store before calling it unavailable.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// What the listener reports on. The store is known only once the worker has connected to it,
/// so the listener can answer `/healthz` (and a not-ready `/readyz`) while it waits.
#[derive(Debug, Clone)]
pub struct Probes {
    metrics: Arc<WorkerMetrics>,
    store: Arc<OnceLock<Store>>,
}

impl Probes {
    pub fn new(metrics: Arc<WorkerMetrics>) -> Self {
        Probes {
            metrics,
            store: Arc::new(OnceLock::new()),
        }
    }

    /// Probes for a worker that already has its store.
    pub fn for_worker(worker: &Worker) -> Self {
        let probes = Probes::new(worker.metrics().clone());
        probes.set_store(worker.store().clone());
        probes
    }

    /// The store `/readyz` checks from now on.
    pub fn set_store(&self, store: Store) {
        let _ = self.store.set(store);
    }

    async fn store_answers(&self) -> bool {
        match self.store.get() {
            Some(store) => tokio::time::timeout(STORE_PING_TIMEOUT, store.ping())
                .await
                .unwrap_or(false),
            None => false,
        }
    }
}

/// The bound listener; it serves once `run_until` is awaited.
pub struct OpsServer {
    addr: SocketAddr,
    server: Server,
}

impl std::fmt::Debug for OpsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl OpsServer {
    /// Binds `addr` (port 0 picks a free port); fails at once when the address is taken.
    pub fn bind(addr: SocketAddr, probes: Probes) -> std::io::Result<OpsServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let state = web::Data::new(probes);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics))
                .default_service(web::to(not_found))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(2)
        .listen(listener)?
        .run();
        Ok(OpsServer { addr, server })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `stop` is cancelled, then closes the listener.
    pub async fn run_until(self, stop: CancellationToken) -> std::io::Result<()> {
        let handle = self.server.handle();
        let stopper = tokio::spawn(async move {
            stop.cancelled().await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        stopper.abort();
        result
    }
}

/// The process is alive and serving.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready to work: a consumer is attached to the queue and the store answers.
async fn readyz(probes: web::Data<Probes>) -> HttpResponse {
    let broker = probes.metrics.is_consuming();
    let store = probes.store_answers().await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let not_ready = |error: &str, message: &str| {
        HttpResponse::ServiceUnavailable().json(json!({
            "status": "not_ready",
            "broker": word(broker),
            "store": word(store),
            "error": error,
            "message": message,
        }))
    };
    match (broker, store) {
        (true, true) => {
            HttpResponse::Ok().json(json!({ "status": "ready", "broker": "ok", "store": "ok" }))
        }
        (false, _) => not_ready(
            "broker_unavailable",
            "not consuming from the broker: connecting, reconnecting or draining",
        ),
        (true, false) => not_ready("store_unavailable", "the store does not answer"),
    }
}

async fn metrics(probes: web::Data<Probes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType(
            "text/plain; version=0.0.4; charset=utf-8"
                .parse()
                .unwrap_or(actix_web::mime::TEXT_PLAIN_UTF_8),
        ))
        .body(probes.metrics.render())
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": "not_found", "message": "no such endpoint" }))
}
