//! Bearer tokens from `admin.tokens` guard the support API. The name of the token that
//! authenticated a request is its `Actor`, recorded with every replay and discard.

use std::future::{ready, Ready};

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderMap, AUTHORIZATION},
    middleware::Next,
    web, FromRequest, HttpMessage, HttpRequest, ResponseError,
};
use ledgerhook_shared::config::AdminToken;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::app::AppState;

/// Who made a support request: the name of the admin token it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
}

/// Lets a request through only with a configured token; answers 401 otherwise.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let actor = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| authenticate(req.headers(), &state.config.admin.tokens));
    match actor {
        Some(actor) => {
            req.extensions_mut().insert(actor);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        None => {
            let response = ApiError::Unauthorized.error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

/// The token presented as `Authorization: Bearer <token>`, if it is one of `tokens`. Both sides
/// are hashed first so the comparison takes the same time whatever the lengths, and every
/// configured token is compared, so the time says nothing about which one matched.
fn authenticate(headers: &HeaderMap, tokens: &[AdminToken]) -> Option<Actor> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, presented) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let presented = Sha256::digest(presented.trim().as_bytes());
    let mut found = None;
    for token in tokens {
        let expected = Sha256::digest(token.token.expose_secret().as_bytes());
        let equal: bool = presented.as_slice().ct_eq(expected.as_slice()).into();
        if equal && found.is_none() {
            found = Some(Actor {
                name: token.name.clone(),
            });
        }
    }
    found
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = Ready<Result<Actor, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Actor>()
                .cloned()
                .ok_or(ApiError::Unauthorized),
        )
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;
    use secrecy::SecretString;

    use super::*;

    fn tokens() -> Vec<AdminToken> {
        ["alice", "bob"]
            .into_iter()
            .map(|name| AdminToken {
                name: name.to_owned(),
                token: SecretString::from(format!("{name}-token-0123456789abcdef")),
            })
            .collect()
    }

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(value).expect("header value"),
        );
        headers
    }

    #[test]
    fn a_configured_token_names_its_actor() {
        let headers = with_authorization("Bearer bob-token-0123456789abcdef");
        assert_eq!(
            authenticate(&headers, &tokens()),
            Some(Actor {
                name: "bob".to_owned()
            })
        );
        let headers = with_authorization("bearer alice-token-0123456789abcdef");
        assert_eq!(
            authenticate(&headers, &tokens()).map(|a| a.name),
            Some("alice".to_owned())
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for value in [
            "Bearer bob-token-0123456789abcde",
            "Bearer ",
            "Basic Ym9iLXRva2VuLTAxMjM0NTY3ODlhYmNkZWY=",
            "bob-token-0123456789abcdef",
        ] {
            assert_eq!(
                authenticate(&with_authorization(value), &tokens()),
                None,
                "{value}"
            );
        }
        assert_eq!(authenticate(&HeaderMap::new(), &tokens()), None);
        let headers = with_authorization("Bearer bob-token-0123456789abcdef");
        assert_eq!(authenticate(&headers, &[]), None);
    }
}
