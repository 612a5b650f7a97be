//! The OAuth token endpoints, refresh grant only: `/xero/connect/token`,
//! `/quickbooks/oauth2/v1/tokens/bearer`, `/hubspot/oauth/v1/token` and
//! `/salesforce/services/oauth2/token`.
//!
//! Answers, as the providers document them:
//! - Xero `400 {"error":"invalid_grant"}`, `{"error":"invalid_client"}`,
//!   `{"error":"unsupported_grant_type"}` (developer.xero.com/documentation/oauth2/
//!   troubleshooting); success `{access_token, expires_in, token_type: "Bearer", refresh_token,
//!   scope}`.
//! - QuickBooks: the client authenticates with HTTP Basic, the form carries `grant_type` and
//!   `refresh_token`; success `{token_type: "bearer", access_token, refresh_token, expires_in,
//!   x_refresh_token_expires_in}` (developer.intuit.com "Set up OAuth 2.0", steps 13 and 14);
//!   `400 {"error":"invalid_grant"}` for a refused refresh token (as integrators report it).
//!   `401 {"error":"invalid_client"}` for a wrong client is what RFC 6749 §5.2 prescribes for
//!   Basic authentication; Intuit's own wording was not found in a stored copy of its docs.
//! - HubSpot `400 {"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh
//!   token"}`; success `{token_type: "bearer", refresh_token, access_token, expires_in}`. The
//!   status for a wrong client (`BAD_CLIENT_ID`) was not found in a stored copy of its docs.
//! - Salesforce: `client_id` and `client_secret` in the form (HTTP Basic is accepted too);
//!   success `{access_token, signature, scope, instance_url, id, token_type: "Bearer",
//!   issued_at}` with no `expires_in` (the session timeout decides), where `signature` is the
//!   base64 HMAC-SHA256 of `id` + `issued_at` keyed with the consumer secret (Salesforce's
//!   refresh token flow docs; jsforce's `TokenResponse`). The error bodies `{"error":
//!   "invalid_grant", "error_description": "expired access/refresh token"}`, `invalid_client_id`
//!   / "client identifier invalid" and `invalid_client` / "invalid client credentials", all 400,
//!   are recalled from Salesforce's answers rather than found in a stored copy of its docs.

use actix_web::{web, HttpRequest, HttpResponse};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::GrantError;
use crate::sandbox::{faults, salesforce, state::Shared, System};

#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

impl TokenForm {
    /// The client from an `Authorization: Basic` header, else from the form.
    fn client(&self, req: &HttpRequest) -> (String, String) {
        let basic = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials);
        basic.unwrap_or_else(|| {
            (
                self.client_id.clone().unwrap_or_default(),
                self.client_secret.clone().unwrap_or_default(),
            )
        })
    }

    fn is_refresh(&self) -> bool {
        self.grant_type.as_deref() == Some("refresh_token")
    }

    fn token(&self) -> &str {
        self.refresh_token.as_deref().unwrap_or_default()
    }
}

/// `POST /xero/connect/token`: the client authenticates with HTTP Basic as Xero documents, or
/// with `client_id`/`client_secret` form fields.
pub(crate) async fn xero_token(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = faults::gate(&shared, System::Xero).await {
        return refused;
    }
    let error = |code: &str| HttpResponse::BadRequest().json(json!({ "error": code }));
    if !form.is_refresh() {
        return error("unsupported_grant_type");
    }
    let (id, secret) = form.client(&req);
    match shared
        .tokens
        .refresh(System::Xero, &id, &secret, form.token())
    {
        Ok(issued) => HttpResponse::Ok().json(json!({
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
            "token_type": "Bearer",
            "refresh_token": issued.refresh_token,
            "scope": "offline_access accounting.transactions accounting.contacts",
        })),
        Err(GrantError::InvalidClient | GrantError::UnknownClient) => error("invalid_client"),
        Err(GrantError::InvalidGrant) => error("invalid_grant"),
    }
}

/// `POST /quickbooks/oauth2/v1/tokens/bearer`.
pub(crate) async fn quickbooks_token(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = faults::gate(&shared, System::Quickbooks).await {
        return refused;
    }
    if !form.is_refresh() {
        return HttpResponse::BadRequest().json(json!({ "error": "unsupported_grant_type" }));
    }
    let (id, secret) = form.client(&req);
    match shared
        .tokens
        .refresh(System::Quickbooks, &id, &secret, form.token())
    {
        Ok(issued) => HttpResponse::Ok().json(json!({
            "token_type": "bearer",
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_in": issued.expires_in,
            // 101 days, Intuit's documented rolling refresh token lifetime.
            "x_refresh_token_expires_in": 8_726_400,
        })),
        Err(GrantError::InvalidClient | GrantError::UnknownClient) => {
            HttpResponse::Unauthorized().json(json!({ "error": "invalid_client" }))
        }
        Err(GrantError::InvalidGrant) => {
            HttpResponse::BadRequest().json(json!({ "error": "invalid_grant" }))
        }
    }
}

/// `POST /hubspot/oauth/v1/token`: every parameter in the form body, as HubSpot requires.
pub(crate) async fn hubspot_token(
    form: web::Form<TokenForm>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = faults::gate(&shared, System::Hubspot).await {
        return refused;
    }
    let error = |status: &str, message: &str| {
        HttpResponse::BadRequest().json(json!({ "status": status, "message": message }))
    };
    if !form.is_refresh() {
        return error("BAD_GRANT_TYPE", "missing or invalid grant type");
    }
    let id = form.client_id.clone().unwrap_or_default();
    let secret = form.client_secret.clone().unwrap_or_default();
    match shared
        .tokens
        .refresh(System::Hubspot, &id, &secret, form.token())
    {
        Ok(issued) => HttpResponse::Ok().json(json!({
            "token_type": "bearer",
            "refresh_token": issued.refresh_token,
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
        })),
        Err(GrantError::InvalidClient | GrantError::UnknownClient) => {
            error("BAD_CLIENT_ID", "missing or invalid client id")
        }
        Err(GrantError::InvalidGrant) => {
            error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        }
    }
}

/// `POST /salesforce/services/oauth2/token`.
pub(crate) async fn salesforce_token(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(refused) = faults::gate(&shared, System::Salesforce).await {
        return refused;
    }
    let error = |code: &str, description: &str| {
        HttpResponse::BadRequest().json(json!({ "error": code, "error_description": description }))
    };
    if !form.is_refresh() {
        return error("unsupported_grant_type", "grant type not supported");
    }
    let (id, secret) = form.client(&req);
    let issued = match shared
        .tokens
        .refresh(System::Salesforce, &id, &secret, form.token())
    {
        Ok(issued) => issued,
        Err(GrantError::UnknownClient) => {
            return error("invalid_client_id", "client identifier invalid")
        }
        Err(GrantError::InvalidClient) => {
            return error("invalid_client", "invalid client credentials")
        }
        Err(GrantError::InvalidGrant) => {
            return error("invalid_grant", "expired access/refresh token")
        }
    };
    let info = req.connection_info();
    let instance_url = format!("{}://{}/salesforce", info.scheme(), info.host());
    let org_id = shared
        .directory
        .salesforce_for(&issued.tenant)
        .map(|t| t.org_id.clone())
        .unwrap_or_default();
    let identity = format!(
        "{instance_url}/id/{org_id}/{}",
        salesforce::model::user_id(&org_id)
    );
    let issued_at = Utc::now().timestamp_millis().to_string();
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(identity.as_bytes());
    mac.update(issued_at.as_bytes());
    let mut body = json!({
        "access_token": issued.access_token,
        "signature": STANDARD.encode(mac.finalize().into_bytes()),
        "scope": "api refresh_token",
        "instance_url": instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    if let Some(refresh) = issued.refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    HttpResponse::Ok().json(body)
}

fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?.trim();
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}
