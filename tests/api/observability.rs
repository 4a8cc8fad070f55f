//! What operators see: `/metrics` (behind a token on the main listener,
//! open on its own listener) and traces exported over OTLP/HTTP to a
//! receiver that decodes what the exporter really sends.

use std::time::Duration;

use endorse::auth::Role;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, test_args};
use crate::portfolios::{CREATE, create};

const TOKEN: &str = "metrics-token-for-the-tests";

async fn scrape(app: &TestApp, bearer: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of the first sample of `metric` whose labels include all of `labels`.
fn sample(exposition: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(metric)?;
        let (names, value) = rest.rsplit_once(' ')?;
        let names_ok = names.is_empty() || names.starts_with('{');
        (names_ok && labels.iter().all(|label| names.contains(label))).then(|| value.parse().ok())?
    })
}

#[tokio::test]
async fn metrics_on_the_main_listener_need_the_token_and_show_every_layer() {
    let app = spawn_app_with(&["--metrics-token", TOKEN]).await;
    let (id, owner) = create(&app, "mia", "INFANT", "FAMILY_ASSOCIATE").await;
    let read = "query MetricsProbeRead($id: ID!) { portfolio(id: $id) { id applicant { name email } } }";
    for _ in 0..2 {
        let body = app.graphql(Some(&owner), read, json!({ "id": id })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let refused = CREATE.replacen("mutation(", "mutation MetricsProbeRefused(", 1);
    let body = app
        .graphql(Some(&reviewer), &refused, json!({ "input": { "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": "X" } } }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(scrape(&app, Some("metrics-token-for-the-test")).await.0, 401);
    let (status, text) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");

    let operations = "endorse_graphql_operation_duration_seconds_count";
    let reads = sample(&text, operations, &[r#"operation="MetricsProbeRead""#, r#"type="query""#, r#"outcome="OK""#]);
    assert_eq!(reads, Some(2.0), "{text}");
    let refusals = sample(
        &text,
        operations,
        &[r#"operation="MetricsProbeRefused""#, r#"type="mutation""#, r#"outcome="FORBIDDEN""#],
    );
    assert_eq!(refusals, Some(1.0), "{text}");
    let graphql_posts = sample(
        &text,
        "endorse_http_request_duration_seconds_count",
        &[r#"route="/graphql""#, r#"method="POST""#, r#"status="200""#],
    );
    assert!(graphql_posts.is_some_and(|n| n >= 4.0), "{text}");
    let finds =
        sample(&text, "endorse_mongodb_command_duration_seconds_count", &[r#"command="find""#, r#"outcome="ok""#]);
    assert!(finds.is_some_and(|n| n >= 2.0), "{text}");
    let inserts =
        sample(&text, "endorse_mongodb_command_duration_seconds_count", &[r#"command="insert""#, r#"outcome="ok""#]);
    assert!(inserts.is_some_and(|n| n >= 1.0), "{text}");
    let head_bucket =
        sample(&text, "endorse_s3_request_duration_seconds_count", &[r#"operation="HeadBucket""#, r#"outcome="ok""#]);
    assert!(head_bucket.is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(&text, "endorse_http_open_connections", &[]).is_some_and(|n| n >= 1.0), "{text}");
    assert_eq!(sample(&text, "endorse_image_pool_capacity", &[]), Some(app.config.evidence.image_concurrency as f64));
    assert!(sample(&text, "endorse_read_audit_queued_records", &[]).is_some(), "{text}");
    assert!(sample(&text, "endorse_graphql_documents_cached", &[]).is_some_and(|n| n >= 2.0), "{text}");
    // Histograms have buckets; nothing personal or client-chosen beyond
    // operation names is in a label.
    assert!(text.contains("endorse_graphql_operation_duration_seconds_bucket{"), "{text}");
    assert!(!text.contains("mia@example.org") && !text.contains(&id), "{text}");
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_alone_and_without_a_token() {
    let app = spawn_app_with(&["--metrics-listen", "127.0.0.1:0"]).await;
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    let response = app.client.get(format!("{metrics}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    assert!(response.text().await.unwrap().contains("# TYPE endorse_"));
    let graphql = app.client.post(format!("{metrics}/graphql")).body("{}").send().await.unwrap();
    assert_eq!(graphql.status(), 404, "the metrics listener serves nothing else");
    // Without a token the main listener has no /metrics at all.
    assert_eq!(scrape(&app, Some(TOKEN)).await.0, 404);
}

#[tokio::test]
async fn without_metrics_settings_there_is_no_metrics_route() {
    let app = spawn_app().await;
    assert_eq!(scrape(&app, None).await.0, 404);
    assert!(app.metrics_address.is_none());
}

mod traces {
    use std::collections::HashMap;
    use std::process::Stdio;

    use axum::body::Bytes;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::sync::mpsc;

    use super::*;

    /// One exported span: name, trace id, parent span id and own id (hex).
    #[derive(Debug, Clone)]
    pub struct Span {
        pub name: String,
        pub trace: String,
        pub id: String,
        pub parent: String,
    }

    /// An OTLP/HTTP traces endpoint: decodes each export request (protobuf,
    /// as the exporter sends it) and passes its spans on.
    async fn receiver() -> (String, mpsc::UnboundedReceiver<Span>) {
        let (sender, received) = mpsc::unbounded_channel();
        let route = axum::routing::post(move |body: Bytes| {
            let sender = sender.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            let _ = sender.send(Span {
                                name: span.name,
                                trace: hex::encode(span.trace_id),
                                id: hex::encode(span.span_id),
                                parent: hex::encode(span.parent_span_id),
                            });
                        }
                    }
                }
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, axum::Router::new().route("/v1/traces", route)).await });
        (format!("http://{address}"), received)
    }

    /// Runs `endorse serve` (traces are set up once per process, so the
    /// server is a process of its own) and returns it with its address.
    async fn serve_exporting_to(endpoint: &str) -> (tokio::process::Child, String) {
        let mut args = test_args(&["--otlp-endpoint", endpoint, "--log-format", "json"]);
        // The harness logs at warn; the start-up line this needs is info.
        let at = args.iter().position(|a| a == "--log").unwrap();
        args[at + 1] = "info".into();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_endorse"))
            .arg("serve")
            .args(&args[1..])
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary runs");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                if event["message"] == "Endorse is listening" {
                    return event["address"].as_str().unwrap().to_owned();
                }
            }
            panic!("the server ended before listening");
        })
        .await
        .expect("the server starts within a minute");
        // Keep reading its log so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        (child, format!("http://{address}"))
    }

    #[tokio::test]
    async fn spans_reach_the_collector_and_join_the_callers_trace() {
        let (endpoint, mut received) = receiver().await;
        let (_server, address) = serve_exporting_to(&endpoint).await;
        let client = reqwest::Client::new();
        // The child runs in development mode with the built-in secret.
        let config = crate::helpers::test_config(&[]);
        let token = endorse::auth::jwt::mint_dev_token(
            &config,
            "tia",
            &[Role::Applicant],
            Some(&config.default_association),
            600,
        )
        .unwrap();
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let caller_span = "00f067aa0ba902b7";
        let body: serde_json::Value = client
            .post(format!("{address}/graphql"))
            .header("traceparent", format!("00-{trace}-{caller_span}-01"))
            .bearer_auth(&token)
            .json(&json!({ "query": "query TracedRead { portfolios(first: 1) { totalCount } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body["errors"].is_null(), "{body}");
        let ready = client.get(format!("{address}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);

        let mut spans: HashMap<String, Span> = HashMap::new();
        let in_trace = |spans: &HashMap<String, Span>, prefix: &str| {
            spans.values().any(|s| s.trace == trace && s.name.starts_with(prefix))
        };
        // The readiness probe's S3 call (start-up made some without a request).
        let probe_call = |spans: &HashMap<String, Span>| {
            spans
                .values()
                .find(|s| s.name == "S3.HeadBucket" && spans.get(&s.parent).is_some_and(|p| p.name == "http.request"))
                .cloned()
        };
        let complete = |spans: &HashMap<String, Span>| {
            ["http.request", "graphql TracedRead", "aggregate "].iter().all(|name| in_trace(spans, name))
                && probe_call(spans).is_some()
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        // A parent ends after its children, so it may come in a later batch.
        while !complete(&spans) {
            let span = tokio::time::timeout_at(deadline, received.recv())
                .await
                .unwrap_or_else(|_| panic!("spans still missing after 20 s; got {spans:?}"))
                .unwrap();
            spans.insert(span.id.clone(), span);
        }
        let request = spans
            .values()
            .find(|s| s.name == "http.request" && s.trace == trace)
            .unwrap_or_else(|| panic!("the request joined the caller's trace: {spans:?}"));
        assert_eq!(request.parent, caller_span, "the caller's span is the parent");
        let operation = spans.values().find(|s| s.name == "graphql TracedRead").unwrap();
        assert_eq!((operation.trace.as_str(), operation.parent.as_str()), (trace, request.id.as_str()));
        let command = spans.values().find(|s| s.name.starts_with("aggregate ")).unwrap();
        assert_eq!((command.trace.as_str(), command.parent.as_str()), (trace, operation.id.as_str()));
        // The readiness probe started a trace of its own, with the S3 call in it.
        let head_bucket = probe_call(&spans).unwrap();
        assert_ne!(head_bucket.trace, trace);
        assert_eq!(spans[&head_bucket.parent].trace, head_bucket.trace);
    }
}
