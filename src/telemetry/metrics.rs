//! Prometheus metrics. Code records through the `metrics` facade (a no-op
//! until a recorder is installed, so tests and subcommands pay nothing);
//! `serve` installs the Prometheus recorder when something will read it
//! (`ENDORSE_METRICS_LISTEN` or `ENDORSE_METRICS_TOKEN`). Gauges of queues
//! and pools are read when scraped, not kept up to date per request.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "endorse_http_request_duration_seconds";
pub const HTTP_OPEN_CONNECTIONS: &str = "endorse_http_open_connections";
pub const HTTP_REFUSED_CONNECTIONS: &str = "endorse_http_refused_connections_total";
pub const GRAPHQL_OPERATIONS: &str = "endorse_graphql_operation_duration_seconds";
pub const MONGODB_COMMANDS: &str = "endorse_mongodb_command_duration_seconds";
pub const S3_REQUESTS: &str = "endorse_s3_request_duration_seconds";
pub const READ_AUDIT_QUEUED: &str = "endorse_read_audit_queued_records";
pub const READ_AUDIT_FAILED: &str = "endorse_read_audit_records_lost_total";
pub const IMAGE_POOL_CAPACITY: &str = "endorse_image_pool_capacity";
pub const IMAGE_POOL_BUSY: &str = "endorse_image_pool_busy";
pub const IMAGE_POOL_WAIT: &str = "endorse_image_pool_wait_seconds";
pub const DOCUMENTS_CACHED: &str = "endorse_graphql_documents_cached";
pub const MAIL_SEND_SECONDS: &str = "endorse_mail_send_duration_seconds";
pub const OUTBOX_PENDING: &str = "endorse_outbox_pending_messages";
pub const OUTBOX_DEAD: &str = "endorse_outbox_dead_messages";

/// Latency buckets, in seconds: a loopback read takes about a millisecond,
/// an upload check or a report several seconds.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// How often samples recorded between scrapes are folded into the
/// histograms, so that memory stays flat when nobody scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same
/// handle) and starts its upkeep on the current runtime.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder =
            PrometheusBuilder::new().set_buckets(BUCKETS).expect("the bucket list is not empty").build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only its own series");
        }
        describe();
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP);
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// Whether [`install`] has run: the database and S3 hooks are only worth
/// their cost when someone reads what they record.
pub fn installed() -> bool {
    HANDLE.get().is_some()
}

/// What the process measures now, gauges first set by `sample`.
pub fn render(sample: &Sample) -> String {
    gauge!(READ_AUDIT_QUEUED).set(sample.read_audit_queued as f64);
    gauge!(IMAGE_POOL_CAPACITY).set(sample.image_pool_capacity as f64);
    gauge!(IMAGE_POOL_BUSY).set(sample.image_pool_busy as f64);
    gauge!(DOCUMENTS_CACHED).set(sample.documents_cached as f64);
    HANDLE.get().map(PrometheusHandle::render).unwrap_or_default()
}

/// The values of the gauges read at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub read_audit_queued: usize,
    pub image_pool_capacity: usize,
    pub image_pool_busy: usize,
    pub documents_cached: usize,
}

fn describe() {
    describe_histogram!(HTTP_REQUESTS, Unit::Seconds, "HTTP requests by route, method and status.");
    describe_gauge!(HTTP_OPEN_CONNECTIONS, "Open client connections.");
    describe_counter!(HTTP_REFUSED_CONNECTIONS, "Connections refused because the connection cap was reached.");
    describe_histogram!(
        GRAPHQL_OPERATIONS,
        Unit::Seconds,
        "GraphQL operations by name, type and outcome (OK or the first error code)."
    );
    describe_histogram!(MONGODB_COMMANDS, Unit::Seconds, "MongoDB commands by name and outcome.");
    describe_histogram!(S3_REQUESTS, Unit::Seconds, "S3 requests by operation and outcome.");
    describe_gauge!(READ_AUDIT_QUEUED, "Read-audit records waiting to be written.");
    describe_counter!(READ_AUDIT_FAILED, "Read-audit records that could not be stored (they went to the error log).");
    describe_gauge!(IMAGE_POOL_CAPACITY, "Images that may be decoded at once.");
    describe_gauge!(IMAGE_POOL_BUSY, "Images being decoded now.");
    describe_histogram!(IMAGE_POOL_WAIT, Unit::Seconds, "Time an upload waited for an image-decoding slot.");
    describe_gauge!(DOCUMENTS_CACHED, "Parsed GraphQL documents kept.");
    describe_histogram!(MAIL_SEND_SECONDS, Unit::Seconds, "SMTP deliveries by kind and outcome (SENT, RETRY, DEAD).");
    describe_gauge!(OUTBOX_PENDING, "Mail waiting in the outbox (all instances), as this instance last counted.");
    describe_gauge!(OUTBOX_DEAD, "Mail given up as undeliverable (all instances).");
}

/// Distinct operation names given their own series; the names come from
/// clients, so past this many they are counted together as `other`.
const OPERATION_NAMES: usize = 200;

/// The label for a client's operation name: bounded, so a client sending
/// random names cannot grow the metrics without end.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name.filter(|n| !n.is_empty()) else { return "anonymous".into() };
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if seen.contains(name) {
        return name.to_owned();
    }
    if seen.len() < OPERATION_NAMES {
        seen.insert(name.to_owned());
        return name.to_owned();
    }
    "other".into()
}

/// Records one GraphQL operation.
pub fn graphql_operation(operation: String, kind: &'static str, outcome: String, elapsed: Duration) {
    histogram!(GRAPHQL_OPERATIONS, "operation" => operation, "type" => kind, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_operation_names_get_a_bounded_number_of_series() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("")), "anonymous");
        let labels: HashSet<String> =
            (0..OPERATION_NAMES * 2).map(|n| operation_label(Some(&format!("Op{n}")))).collect();
        assert!(labels.len() <= OPERATION_NAMES + 1, "{}", labels.len());
        assert!(labels.contains("other"));
        // A name seen before keeps its own series.
        assert_eq!(operation_label(Some("Op0")), "Op0");
    }
}
