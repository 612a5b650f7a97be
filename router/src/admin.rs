//! The admin listener: liveness, readiness and metrics, open to probes and scrapers.

use actix_web::{http::header::ContentType, web, HttpResponse};
use serde_json::json;

use crate::app::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// The process is alive and serving.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready to accept webhooks: connected to the broker and not blocked by it.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.publisher.is_ready() {
        HttpResponse::Ok().json(json!({ "status": "ready", "broker": "ok" }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "status": "not_ready",
            "broker": "unavailable",
            "error": "broker_unavailable",
            "message": "not connected to the broker, or the broker blocked publishing",
        }))
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType(
            "text/plain; version=0.0.4; charset=utf-8"
                .parse()
                .unwrap_or(mime_text()),
        ))
        .body(state.metrics.render())
}

fn mime_text() -> actix_web::mime::Mime {
    actix_web::mime::TEXT_PLAIN_UTF_8
}
