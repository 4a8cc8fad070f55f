//! S3 request latencies (and, when traces are exported, a span per
//! operation) from an SDK interceptor: every call the blob store makes
//! passes through it, retries included in the time.

use std::time::Instant;

use aws_sdk_s3::config::interceptors::{BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use metrics::histogram;

use super::metrics::S3_REQUESTS;

#[derive(Debug, Default)]
pub struct Observer;

/// When the operation began, and its span while it runs.
#[derive(Debug, Clone)]
struct Started {
    at: Instant,
    span: Option<tracing::Span>,
}

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_else(|| "unknown".into())
}

impl Intercept for Observer {
    fn name(&self) -> &'static str {
        "endorse-telemetry"
    }

    // The first hook after the operation's own settings (its name among
    // them) are in `cfg`; it runs once per operation, not per attempt.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let span = super::traces::enabled().then(|| {
            let operation = operation(cfg);
            tracing::info_span!(
                "s3.request",
                otel.name = %format_args!("S3.{operation}"),
                otel.kind = "client",
                rpc.system = "aws-api",
                rpc.service = "S3",
                rpc.method = %operation,
                otel.status_code = tracing::field::Empty,
            )
        });
        cfg.interceptor_state().store_put(Started { at: Instant::now(), span });
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(started) = cfg.load::<Started>().cloned() else { return Ok(()) };
        let failed = context.output_or_error().is_none_or(|result| result.is_err());
        let outcome = if failed { "error" } else { "ok" };
        histogram!(S3_REQUESTS, "operation" => operation(cfg), "outcome" => outcome)
            .record(started.at.elapsed().as_secs_f64());
        if let (Some(span), true) = (&started.span, failed) {
            span.record("otel.status_code", "ERROR");
        }
        Ok(())
    }
}
