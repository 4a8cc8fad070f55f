//! Traces over OTLP/HTTP: the `http.request` and `graphql.operation`
//! spans, with a `mongodb.command` and `s3.request` span per call, go to
//! the configured collector in batches. A caller's `traceparent` header is
//! followed, so Endorse's spans join the client's trace.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported: the per-call spans are only made then.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Ends the export when dropped, sending what is still batched.
pub struct Exporting(SdkTracerProvider);

impl Drop for Exporting {
    fn drop(&mut self) {
        // Blocks until the batch thread has sent the last spans (it has
        // its own timeout), so it must not run on a runtime thread.
        let provider = self.0.clone();
        let shutdown = std::thread::spawn(move || provider.shutdown());
        if let Ok(Err(error)) = shutdown.join() {
            eprintln!("traces: the last batch could not be sent: {error}");
        }
    }
}

/// The layer that exports spans to `url` (an OTLP/HTTP traces endpoint),
/// sampling `ratio` of the traces that start here.
pub fn layer<S>(url: &str, ratio: f64) -> Result<(impl Layer<S>, Exporting), String>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()
        .map_err(|e| format!("ENDORSE_OTLP_ENDPOINT: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio))))
        .with_resource(Resource::builder().with_service_name("endorse").build())
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let tracer = provider.tracer("endorse");
    ENABLED.store(true, Ordering::Relaxed);
    Ok((tracing_opentelemetry::layer().with_tracer(tracer), Exporting(provider)))
}

/// Makes `span` a child of the trace the caller's headers name, if any.
pub fn follow_caller(span: &tracing::Span, headers: &http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !enabled() || !headers.contains_key("traceparent") {
        return;
    }
    let context = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http::HeaderExtractor(headers))
    });
    let _ = span.set_parent(context);
}
