//! Liveness, readiness and metrics, open to probes and scrapers without a token.

use std::time::Duration;

use actix_web::{http::header::ContentType, web, HttpResponse};
use serde_json::json;

use crate::app::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// A store that takes longer than this to answer `SELECT 1` counts as unreachable.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is alive and serving.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready: connected to the broker and not blocked by it, and the store answers.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let broker = state.publisher.is_ready();
    let store = match state.store.get() {
        Some(store) => tokio::time::timeout(STORE_PING_TIMEOUT, store.ping())
            .await
            .unwrap_or(false),
        None => false,
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    if broker && store {
        return HttpResponse::Ok()
            .json(json!({ "status": "ready", "broker": "ok", "store": "ok" }));
    }
    let (error, message) = if !broker {
        (
            "broker_unavailable",
            "not connected to the broker, or the broker blocked publishing",
        )
    } else {
        (
            "store_unavailable",
            "the store (PostgreSQL) does not answer",
        )
    };
    HttpResponse::ServiceUnavailable().json(json!({
        "status": "not_ready",
        "broker": word(broker),
        "store": word(store),
        "error": error,
        "message": message,
    }))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType(
            "text/plain; version=0.0.4; charset=utf-8"
                .parse()
                .unwrap_or(actix_web::mime::TEXT_PLAIN_UTF_8),
        ))
        .body(state.metrics.render())
}
