//! Logging setup: human-readable lines by default, JSON lines when `LOG_FORMAT=json`; and, when
//! `[telemetry] otlp_endpoint` is set in a build with the `otlp` feature, spans exported over
//! OTLP/HTTP.
//!
//! Trace context: [`continue_trace`] makes a span continue the trace of a `traceparent` (from an
//! HTTP request or an AMQP header) and returns the `traceparent` that span stands for, to pass
//! on. With export on, the exported span is that trace's child; either way the `trace_id` the
//! caller logs is the trace's.

use tracing_subscriber::{fmt, prelude::*, EnvFilter, Layer};

use crate::{config::TelemetryConfig, trace::TraceParent};

/// Installs the global subscriber for logs only. `RUST_LOG` filters (default `info`). Safe to
/// call twice.
pub fn init(service: &'static str) {
    let _ = install(service, None);
}

/// Installs the global subscriber, with span export when `config` names a collector. Call it
/// inside the Tokio runtime (the exporter runs on it), and [`Telemetry::shutdown`] before the
/// process exits so the last spans are sent.
pub fn init_with(service: &'static str, config: &TelemetryConfig) -> Telemetry {
    install(service, config.otlp_traces_url())
}

/// What [`init_with`] started; [`Telemetry::shutdown`] flushes it.
#[derive(Debug, Default)]
#[must_use = "call `shutdown` before exiting so the last spans are exported"]
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are being exported.
    pub fn exporting(&self) -> bool {
        #[cfg(feature = "otlp")]
        {
            self.provider.is_some()
        }
        #[cfg(not(feature = "otlp"))]
        {
            false
        }
    }

    /// Exports the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider {
            // The processor's shutdown blocks until its task on the runtime has exported.
            let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            match flushed {
                Ok(Ok(())) => tracing::debug!("spans exported"),
                Ok(Err(e)) => tracing::warn!(error = %e, "the last spans could not be exported"),
                Err(e) => tracing::warn!(error = %e, "the span exporter did not stop"),
            }
        }
    }
}

fn install(service: &'static str, otlp: Option<url::Url>) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let lines = if json {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    } else {
        fmt::layer().with_target(false).boxed()
    };
    #[cfg(feature = "otlp")]
    let (export, telemetry, export_error) =
        match otlp.as_ref().map(|url| otlp::provider(service, url)) {
            Some(Ok(provider)) => {
                use opentelemetry::trace::TracerProvider as _;
                let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer(service));
                let telemetry = Telemetry {
                    provider: Some(provider),
                };
                (Some(layer), telemetry, None)
            }
            Some(Err(e)) => (None, Telemetry::default(), Some(e.to_string())),
            None => (None, Telemetry::default(), None),
        };
    #[cfg(not(feature = "otlp"))]
    let (export, telemetry, export_error) = (
        None::<tracing_subscriber::layer::Identity>,
        Telemetry::default(),
        Some("this build has no OTLP export (cargo feature `otlp`)".to_owned()),
    );
    let result = tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(export)
        .try_init();
    if result.is_ok() {
        tracing::debug!(service, "logging initialised");
        if let Some(url) = &otlp {
            if telemetry.exporting() {
                #[cfg(feature = "otlp")]
                otlp::ACTIVE.store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(service, endpoint = %url, "exporting spans over OTLP/HTTP");
            } else {
                tracing::warn!(
                    service,
                    error = export_error.as_deref().unwrap_or("unknown"),
                    "telemetry.otlp_endpoint is set, but spans are not exported"
                );
            }
        }
    }
    telemetry
}

/// Makes `span` continue `parent`'s trace, or start one, and returns the `traceparent` that
/// `span` stands for: the same trace id, and the span's own id as the parent id, so that what is
/// sent on with it becomes the span's child. Call it before the span is first entered.
pub fn continue_trace(span: &tracing::Span, parent: Option<&TraceParent>) -> TraceParent {
    #[cfg(feature = "otlp")]
    if let Some(exported) = otlp::continue_trace(span, parent) {
        return exported;
    }
    let _ = span;
    match parent {
        Some(parent) => parent.child(),
        None => TraceParent::generate(),
    }
}

#[cfg(feature = "otlp")]
mod otlp {
    use std::{
        sync::atomic::{AtomicBool, Ordering},
        time::Duration,
    };

    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
    use opentelemetry_sdk::{
        runtime,
        trace::{span_processor_with_async_runtime::BatchSpanProcessor, SdkTracerProvider},
        Resource,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use crate::trace::TraceParent;

    /// Set once the export layer is part of the global subscriber.
    pub(super) static ACTIVE: AtomicBool = AtomicBool::new(false);

    pub(super) fn provider(
        service: &'static str,
        url: &url::Url,
    ) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url.as_str())
            .with_timeout(Duration::from_secs(10))
            .build()?;
        let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
        Ok(SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build())
    }

    pub(super) fn continue_trace(
        span: &tracing::Span,
        parent: Option<&TraceParent>,
    ) -> Option<TraceParent> {
        if !ACTIVE.load(Ordering::Relaxed) || span.is_disabled() {
            return None;
        }
        if let Some(parent) = parent {
            let remote = SpanContext::new(
                TraceId::from_bytes(parent.trace_id().to_be_bytes()),
                SpanId::from_bytes(parent.parent_id().to_be_bytes()),
                TraceFlags::new(parent.flags()),
                true,
                TraceState::default(),
            );
            let context = opentelemetry::Context::new().with_remote_span_context(remote);
            span.set_parent(context).ok()?;
        }
        let context = span.context();
        let own = context.span().span_context().clone();
        if !own.is_valid() {
            return None;
        }
        TraceParent::new(
            u128::from_be_bytes(own.trace_id().to_bytes()),
            u64::from_be_bytes(own.span_id().to_bytes()),
            own.trace_flags().to_u8(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn without_export_the_trace_is_continued_or_started() {
        let span = tracing::info_span!("receive");
        let incoming = TraceParent::parse(INCOMING).unwrap();
        let continued = continue_trace(&span, Some(&incoming));
        assert_eq!(continued.trace_id(), incoming.trace_id());
        assert_ne!(continued.parent_id(), incoming.parent_id());
        assert_eq!(continued.flags(), incoming.flags());
        let started = continue_trace(&span, None);
        assert_ne!(started.trace_id(), incoming.trace_id());
    }

    #[cfg(feature = "otlp")]
    #[test]
    fn an_exported_span_is_the_incoming_traces_child() {
        use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
        use tracing_opentelemetry::OpenTelemetrySpanExt;

        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        otlp::ACTIVE.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::subscriber::with_default(subscriber, || {
            let incoming = TraceParent::parse(INCOMING).unwrap();
            let span = tracing::info_span!("receive");
            let ours = continue_trace(&span, Some(&incoming));
            assert_eq!(ours.trace_id(), incoming.trace_id());
            let exported = span.context().span().span_context().clone();
            assert_eq!(
                u128::from_be_bytes(exported.trace_id().to_bytes()),
                incoming.trace_id()
            );
            assert_eq!(
                u64::from_be_bytes(exported.span_id().to_bytes()),
                ours.parent_id(),
                "what is passed on names the exported span as its parent"
            );

            let root = tracing::info_span!("apply");
            let started = continue_trace(&root, None);
            let exported = root.context().span().span_context().clone();
            assert_eq!(
                u128::from_be_bytes(exported.trace_id().to_bytes()),
                started.trace_id()
            );
        });
    }
}
