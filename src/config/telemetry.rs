//! What the server tells its operators: Prometheus metrics and OTLP traces.

use std::net::SocketAddr;

use clap::Args;

use super::Secret;
use super::parse::{Redacted, http_url, metrics_token, sample_ratio};

#[derive(Debug, Clone, Args)]
pub struct TelemetryConfig {
    /// Address of a second listener that serves only `/metrics`, without a token (keep it off the public network) [default: none].
    #[arg(long = "metrics-listen", env = "ENDORSE_METRICS_LISTEN", value_name = "ENDORSE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Bearer token that opens `/metrics` on the main listener (at least 16 bytes); unset, the main listener has no `/metrics`.
    #[arg(
        long = "metrics-token",
        env = "ENDORSE_METRICS_TOKEN",
        value_name = "ENDORSE_METRICS_TOKEN",
        value_parser = Redacted(metrics_token),
        default_value = "",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub metrics_token: Secret,

    /// OTLP/HTTP collector that receives traces (`http://localhost:4318`; `/v1/traces` is appended). `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES` apply [default: no traces].
    #[arg(long = "otlp-endpoint", env = "ENDORSE_OTLP_ENDPOINT", value_name = "ENDORSE_OTLP_ENDPOINT", value_parser = http_url)]
    pub otlp_endpoint: Option<String>,

    /// Share of requests traced when the caller sent no `traceparent` (0 to 1); a caller's sampling decision is followed.
    #[arg(
        long = "trace-sample-ratio",
        env = "ENDORSE_TRACE_SAMPLE_RATIO",
        value_name = "ENDORSE_TRACE_SAMPLE_RATIO",
        value_parser = sample_ratio,
        default_value_t = 1.0
    )]
    pub trace_sample_ratio: f64,
}

impl TelemetryConfig {
    /// Whether anything reads the metrics: only then are they collected.
    pub fn metrics_enabled(&self) -> bool {
        self.metrics_listen.is_some() || !self.metrics_token.is_empty()
    }

    /// Where traces go, if anywhere.
    pub fn traces_url(&self) -> Option<String> {
        let base = self.otlp_endpoint.as_deref()?;
        let base = base.trim_end_matches('/');
        Some(if base.ends_with("/v1/traces") { base.to_owned() } else { format!("{base}/v1/traces") })
    }
}
