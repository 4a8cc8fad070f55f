//! `/metrics` in Prometheus text format, and the per-request histogram.
//!
//! Two ways to reach it, either or both (`ENDORSE_METRICS_*`): a second
//! listener that serves nothing else, meant for an internal network and
//! needing no token, or the main listener with `Authorization: Bearer`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::telemetry::metrics::{self, HTTP_REQUESTS, Sample};

/// The router of the metrics listener.
pub fn listener_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(open)).with_state(state)
}

/// The route on the main listener, behind the token.
pub fn guarded_route() -> Router<AppState> {
    Router::new().route("/metrics", get(guarded))
}

async fn open(State(state): State<AppState>) -> Response {
    exposition(&state)
}

async fn guarded(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let expected = state.services.config.telemetry.metrics_token.expose();
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    // Digests compared, so the comparison takes the same time however much
    // of the token a guess gets right.
    if expected.is_empty() || Sha256::digest(given) != Sha256::digest(expected) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")], "")
            .into_response();
    }
    exposition(&state)
}

fn exposition(state: &AppState) -> Response {
    let services = &state.services;
    let capacity = services.config.evidence.image_concurrency;
    let sample = Sample {
        read_audit_queued: services.read_audit.queued(),
        image_pool_capacity: capacity,
        image_pool_busy: capacity.saturating_sub(services.image_permits.available_permits()),
        documents_cached: state.documents.len(),
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics::render(&sample)).into_response()
}

/// Adds the request-duration layer to `router` when metrics are collected.
pub fn measured(router: Router) -> Router {
    if metrics::installed() { router.layer(middleware::from_fn(record)) } else { router }
}

/// Times each request, labelled by route pattern (never the raw path,
/// which a client controls), method and status.
async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    ::metrics::histogram!(
        HTTP_REQUESTS,
        "route" => route.unwrap_or_else(|| "unmatched".into()),
        "method" => method,
        "status" => response.status().as_str().to_owned(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}
