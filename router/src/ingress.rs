//! `POST /webhooks/{tenant}/{source}`: read the raw body within the limit, verify, normalize,
//! publish every event with confirms, and only then answer 2xx.

use std::{sync::Arc, time::Instant};

use actix_web::{
    http::{header, StatusCode},
    web, HttpRequest, HttpResponse, ResponseError,
};
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::StreamExt;
use ledgerhook_shared::{
    broker::{headers, OutgoingMessage, PublishError},
    config::{Source, Tenant},
    event::{Origin, CLOUDEVENTS_CONTENT_TYPE},
    redact, telemetry,
    trace::TraceParent,
    Event,
};
use serde_json::json;
use tracing::Instrument;

use crate::{
    app::AppState,
    metrics::{EventLabels, ReasonLabels, SourceLabels, WebhookLabels},
    providers::{Keys, RawWebhook, VerifyError},
};

/// Every way a webhook request can fail, each mapped to exactly one status below.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error("no source `{source_id}` for tenant `{tenant}`")]
    UnknownSource { tenant: String, source_id: String },
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request body could not be read: {0}")]
    BodyRead(String),
    #[error("signature refused: {0}")]
    Signature(#[from] VerifyError),
    #[error("the body is not a valid {provider} webhook: {reason}; it was kept for support")]
    Unparseable {
        provider: &'static str,
        reason: String,
    },
    #[error("the events could not be stored durably ({0}); retry later")]
    Unavailable(#[from] PublishError),
}

impl IngressError {
    fn code(&self) -> &'static str {
        match self {
            IngressError::UnknownSource { .. } => "unknown_source",
            IngressError::TooLarge { .. } => "payload_too_large",
            IngressError::BodyRead(_) => "bad_body",
            IngressError::Signature(_) => "invalid_signature",
            IngressError::Unparseable { .. } => "unparseable_payload",
            IngressError::Unavailable(_) => "unavailable",
        }
    }
}

impl ResponseError for IngressError {
    fn status_code(&self) -> StatusCode {
        match self {
            IngressError::UnknownSource { .. } => StatusCode::NOT_FOUND,
            IngressError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IngressError::BodyRead(_) | IngressError::Unparseable { .. } => StatusCode::BAD_REQUEST,
            IngressError::Signature(_) => StatusCode::UNAUTHORIZED,
            IngressError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, IngressError::Unavailable(_)) {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        if matches!(self, IngressError::TooLarge { .. }) {
            // The rest of the body is never read, so the connection cannot be reused.
            response.insert_header((header::CONNECTION, "close"));
        }
        response.json(json!({ "error": self.code(), "message": self.to_string() }))
    }
}

impl IngressError {
    fn outcome(&self) -> &'static str {
        match self {
            IngressError::UnknownSource { .. } => "unknown_source",
            IngressError::TooLarge { .. } => "too_large",
            IngressError::BodyRead(_) => "bad_body",
            IngressError::Signature(_) => "unauthorized",
            IngressError::Unparseable { .. } => "quarantined",
            IngressError::Unavailable(_) => "unavailable",
        }
    }
}

/// The request's span continues the caller's W3C trace when it sent a valid `traceparent`, else
/// starts one; every line logged for the request carries its `trace_id`, and every event
/// published carries the span's own `traceparent` to the worker.
pub async fn receive(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, IngressError> {
    let (tenant_id, source_id) = path.into_inner();
    let incoming = req
        .headers()
        .get(headers::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse);
    let span = tracing::info_span!(
        "receive",
        tenant = %tenant_id,
        source = %source_id,
        trace_id = tracing::field::Empty,
    );
    let trace = telemetry::continue_trace(&span, incoming.as_ref());
    span.record("trace_id", trace.trace_id_hex());
    receive_in_trace(req, tenant_id, source_id, payload, state, trace)
        .instrument(span)
        .await
}

async fn receive_in_trace(
    req: HttpRequest,
    tenant_id: String,
    source_id: String,
    payload: web::Payload,
    state: web::Data<AppState>,
    trace: TraceParent,
) -> Result<HttpResponse, IngressError> {
    let state = state.into_inner();
    let Some((tenant, source)) = state
        .config
        .tenant(&tenant_id)
        .and_then(|t| t.source(&source_id).map(|s| (t, s)))
    else {
        return Err(IngressError::UnknownSource {
            tenant: tenant_id,
            source_id,
        });
    };
    let result = handle(&req, payload, &state, tenant, source, &trace).await;
    let outcome = match &result {
        Ok(outcome) => outcome.label,
        Err(e) => e.outcome(),
    };
    state
        .metrics
        .webhooks
        .get_or_create(&WebhookLabels {
            tenant: tenant.id.clone(),
            source: source.id.clone(),
            outcome,
        })
        .inc();
    match result {
        Ok(outcome) => {
            tracing::info!(
                outcome = outcome.label,
                events = outcome.event_ids.len(),
                ignored = outcome.ignored,
                "webhook accepted"
            );
            Ok(outcome.response())
        }
        Err(e) => {
            // A parse error can quote the payload, which holds customers' data: its text is
            // logged at debug only (support reads it in the quarantine).
            if matches!(e, IngressError::Unparseable { .. }) {
                tracing::debug!(error = %e, "why the payload was not understood");
                tracing::warn!(outcome = e.outcome(), "webhook refused");
            } else {
                tracing::warn!(outcome = e.outcome(), error = %e, "webhook refused");
            }
            Err(e)
        }
    }
}

struct Accepted {
    label: &'static str,
    event_ids: Vec<String>,
    ignored: usize,
    handshake: bool,
    /// Headers a handshake answers with.
    headers: Vec<(String, String)>,
}

impl Accepted {
    fn response(&self) -> HttpResponse {
        if self.handshake {
            // Xero's intent to receive wants an empty 200; a challenge answers in headers.
            let mut response = HttpResponse::Ok();
            for header in &self.headers {
                response.insert_header(header.clone());
            }
            return response.finish();
        }
        HttpResponse::Ok().json(json!({ "events": self.event_ids, "ignored": self.ignored }))
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &Arc<AppState>,
    tenant: &Tenant,
    source: &Source,
    trace: &TraceParent,
) -> Result<Accepted, IngressError> {
    let limit = state.config.router.max_body_bytes;
    let body = read_body(req, payload, limit).await?;
    let received_at = Utc::now();

    let raw = RawWebhook::new(
        req.method().as_str(),
        public_url(state, req),
        request_headers(req),
        body,
    );
    let keys = Keys {
        secrets: &source.secrets,
        tolerance: source.tolerance,
        now: received_at,
    };
    if let Some(headers) = raw.challenge(source.provider, &keys) {
        return Ok(Accepted {
            label: "handshake",
            event_ids: Vec::new(),
            ignored: 0,
            handshake: true,
            headers,
        });
    }
    let verified = raw.verify(source.provider, &keys).inspect_err(|e| {
        state
            .metrics
            .verify_failures
            .get_or_create(&ReasonLabels {
                tenant: tenant.id.clone(),
                source: source.id.clone(),
                reason: verify_reason(e),
            })
            .inc();
    })?;

    let normalized = match verified.normalize(source.provider) {
        Ok(n) => n,
        Err(e) => {
            // A parser's message may quote a value from the body, such as an email.
            let reason = redact::emails(&e.0).into_owned();
            quarantine(state, tenant, source, req, &verified.body, &reason).await?;
            return Err(IngressError::Unparseable {
                provider: source.provider.as_str(),
                reason,
            });
        }
    };

    if !normalized.ignored.is_empty() {
        tracing::info!(types = ?normalized.ignored, "provider events not synced");
        state
            .metrics
            .events_ignored
            .get_or_create(&SourceLabels {
                tenant: tenant.id.clone(),
                source: source.id.clone(),
            })
            .inc_by(normalized.ignored.len() as u64);
    }

    let origin = Origin {
        tenant: &tenant.id,
        source: &source.id,
        category: source.category,
        system: &source.system,
    };
    let exchange = state.publisher.topology().events_exchange();
    let events: Vec<Event> = normalized
        .events
        .into_iter()
        .map(|draft| Event::from_draft(draft, origin, received_at))
        .collect();
    let mut messages = Vec::with_capacity(events.len());
    let traceparent = trace.to_string();
    for event in &events {
        let body = serde_json::to_vec(event).map_err(|e| IngressError::BodyRead(e.to_string()))?;
        messages.push(OutgoingMessage {
            exchange: exchange.clone(),
            routing_key: event.routing_key(),
            message_id: event.id.to_string(),
            content_type: CLOUDEVENTS_CONTENT_TYPE.to_owned(),
            headers: vec![
                ("ledgerhook-tenant".to_owned(), tenant.id.clone()),
                (headers::TRACEPARENT.to_owned(), traceparent.clone()),
            ],
            body,
        });
    }

    if !messages.is_empty() {
        let started = Instant::now();
        state.publisher.publish_all(&messages).await?;
        state
            .metrics
            .publish_seconds
            .observe(started.elapsed().as_secs_f64());
        for event in &events {
            tracing::info!(event_id = %event.id, r#type = event.kind.as_str(), subject = %event.subject, "event published");
            state
                .metrics
                .events_published
                .get_or_create(&EventLabels {
                    tenant: tenant.id.clone(),
                    source: source.id.clone(),
                    r#type: event.kind.as_str(),
                })
                .inc();
        }
    }

    let label = if normalized.handshake {
        "handshake"
    } else if events.is_empty() {
        "ignored"
    } else {
        "published"
    };
    Ok(Accepted {
        label,
        event_ids: events.iter().map(|e| e.id.to_string()).collect(),
        ignored: normalized.ignored.len(),
        handshake: normalized.handshake,
        headers: Vec::new(),
    })
}

/// Reads the body up to `limit` bytes; refuses by Content-Length before reading anything.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, IngressError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(IngressError::TooLarge { limit });
    }
    let mut body = BytesMut::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| IngressError::BodyRead(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(IngressError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The URL the provider called: the configured public base joined with the request's path.
fn public_url(state: &AppState, req: &HttpRequest) -> url::Url {
    let mut url = state.config.router.public_base_url.clone();
    let base_path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base_path}{}", req.path()));
    url.set_query(Some(req.query_string()).filter(|q| !q.is_empty()));
    url
}

fn request_headers(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

fn verify_reason(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::MissingHeader(_) => "missing_header",
        VerifyError::Malformed { .. } => "malformed",
        VerifyError::Mismatch => "mismatch",
        VerifyError::Stale { .. } => "stale",
        VerifyError::Future { .. } => "future",
    }
}

/// Keeps a verified but unparseable body whole in `<prefix>.quarantine`, confirmed, so support
/// can see it; if even that fails the provider gets a 503 and retries, so nothing is lost.
async fn quarantine(
    state: &AppState,
    tenant: &Tenant,
    source: &Source,
    req: &HttpRequest,
    body: &Bytes,
    reason: &str,
) -> Result<(), IngressError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let message = OutgoingMessage {
        exchange: String::new(),
        routing_key: state.publisher.topology().quarantine_queue(),
        message_id: uuid::Uuid::now_v7().to_string(),
        content_type,
        headers: vec![
            ("ledgerhook-tenant".to_owned(), tenant.id.clone()),
            ("ledgerhook-source".to_owned(), source.id.clone()),
            (
                "ledgerhook-provider".to_owned(),
                source.provider.as_str().to_owned(),
            ),
            (
                "ledgerhook-reason".to_owned(),
                reason.chars().take(1000).collect(),
            ),
            ("ledgerhook-receivedat".to_owned(), Utc::now().to_rfc3339()),
        ],
        body: body.to_vec(),
    };
    state
        .publisher
        .publish_all(std::slice::from_ref(&message))
        .await?;
    state
        .metrics
        .quarantined
        .get_or_create(&SourceLabels {
            tenant: tenant.id.clone(),
            source: source.id.clone(),
        })
        .inc();
    Ok(())
}
