//! What the server tells its operators: logs (text for people, JSON for
//! log pipelines), Prometheus metrics ([`metrics`]), and traces over OTLP
//! ([`traces`]), with hooks on every MongoDB command ([`mongo`]) and S3
//! request ([`s3`]).

pub mod metrics;
pub mod mongo;
pub mod s3;
pub mod traces;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, LogFormat};

/// Whether anything reads what the MongoDB and S3 hooks record (metrics
/// or traces): only then are they installed, as they cost every call.
pub fn observing() -> bool {
    metrics::installed() || traces::enabled()
}

/// Logging alone (the one-shot subcommands).
pub fn init(format: LogFormat, filter: &str) {
    let _ = tracing_subscriber::registry().with(log_layer(format, filter)).try_init();
}

/// Logging and, when an OTLP endpoint is configured, trace export (the
/// server). Keep the returned guard alive: dropping it sends the last spans.
pub fn init_server(config: &Config) -> Result<Option<traces::Exporting>, String> {
    let logs = log_layer(config.log_format, &config.log);
    let Some(url) = config.telemetry.traces_url() else {
        let _ = tracing_subscriber::registry().with(logs).try_init();
        return Ok(None);
    };
    let (spans, exporting) = traces::layer(&url, config.telemetry.trace_sample_ratio)?;
    // Spans are exported at info whatever the log filter says: a quiet
    // log should not blind the traces.
    let _ = tracing_subscriber::registry().with(logs).with(spans.with_filter(LevelFilter::INFO)).try_init();
    Ok(Some(exporting))
}

fn log_layer<S>(format: LogFormat, filter: &str) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => layer.with_filter(filter).boxed(),
        LogFormat::Json => {
            layer.json().flatten_event(true).with_current_span(true).with_span_list(false).with_filter(filter).boxed()
        }
    }
}
