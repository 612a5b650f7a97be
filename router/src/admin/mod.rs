//! The admin listener: probes and metrics open to everyone, and the support API under
//! `/api/v1` behind a bearer token from `admin.tokens`: dead letters (list, show, replay,
//! discard) and the event journal.

mod auth;
mod dead_letters;
mod error;
mod events;
mod probes;
mod replay;
pub(crate) mod sweeper;

use actix_web::{middleware::from_fn, web, HttpResponse};
use ledgerhook_shared::store::Store;

pub use auth::Actor;
pub use error::ApiError;

use crate::app::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    probes::routes(cfg);
    cfg.service(
        web::scope("/api/v1")
            .wrap(from_fn(auth::require_token))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::invalid(format!("invalid query string: {e}")).into()
            }))
            .route("/dead-letters", web::get().to(dead_letters::list))
            .route(
                "/dead-letters/replay",
                web::post().to(replay::replay_matching),
            )
            .route("/dead-letters/{id}", web::get().to(dead_letters::show))
            .route(
                "/dead-letters/{id}/replay",
                web::post().to(replay::replay_one),
            )
            .route(
                "/dead-letters/{id}/discard",
                web::post().to(dead_letters::discard),
            )
            .route("/events", web::get().to(events::search))
            .default_service(web::to(no_endpoint)),
    );
}

/// The store, once the background connection has succeeded.
fn store(state: &AppState) -> Result<&Store, ApiError> {
    state.store.get().ok_or(ApiError::StoreUnavailable)
}

async fn no_endpoint() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": "not_found",
        "message": "no such endpoint",
    }))
}
