//! Every way a support API request can fail, each mapped to one status and one error code.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, ResponseError,
};
use ledgerhook_shared::{broker::PublishError, store::StoreError};
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid admin token is required: send `Authorization: Bearer <token>`")]
    Unauthorized,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("dead letter {0} was discarded; it cannot be replayed")]
    Discarded(Uuid),
    #[error("dead letter {id} is {status}; only an open dead letter can be discarded")]
    NotOpen { id: Uuid, status: String },
    #[error("the store is not reachable; try again shortly")]
    StoreUnavailable,
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    #[error("the replay could not be published ({0}); nothing changed, try again")]
    BrokerUnavailable(#[from] PublishError),
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest(message.into())
    }

    pub fn no_dead_letter(id: &str) -> Self {
        ApiError::NotFound(format!("no dead letter `{id}`"))
    }

    /// Store errors without an SQL state are lost connections: the store is unavailable, not
    /// wrong, and the request can be retried.
    fn store_is_down(&self) -> bool {
        match self {
            ApiError::StoreUnavailable => true,
            ApiError::Store(StoreError::Pool(_)) => true,
            ApiError::Store(StoreError::Db(e)) => e.code().is_none(),
            _ => false,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::Discarded(_) => "discarded",
            ApiError::NotOpen { .. } => "not_open",
            _ if self.store_is_down() => "store_unavailable",
            ApiError::StoreUnavailable | ApiError::Store(_) => "internal",
            ApiError::BrokerUnavailable(_) => "broker_unavailable",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Discarded(_) | ApiError::NotOpen { .. } => StatusCode::CONFLICT,
            _ if self.store_is_down() => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StoreUnavailable | ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BrokerUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        let message = match self {
            ApiError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
                self.to_string()
            }
            ApiError::Store(_) if !self.store_is_down() => {
                tracing::error!(error = %self, "support request failed");
                "the store could not answer the query".to_owned()
            }
            _ if status.is_server_error() => {
                tracing::warn!(error = %self, "support request failed");
                response.insert_header((header::RETRY_AFTER, "5"));
                self.to_string()
            }
            _ => self.to_string(),
        };
        response.json(json!({ "error": self.code(), "message": message }))
    }
}
