//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::services::Services;

/// The process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// MongoDB is up by the health monitor's last word (no round trip per call,
/// so probes of readiness cannot load the database) and the S3 bucket is
/// reachable; 503 otherwise.
pub async fn readyz(State(services): State<Services>) -> Response {
    let mongo_up = services.health.mongo_available();
    let s3 = tokio::time::timeout(std::time::Duration::from_secs(2), services.blob.check_bucket()).await;
    let s3_up = matches!(s3, Ok(Ok(())));
    let status = if mongo_up && s3_up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = |up: bool| if up { "ok" } else { "unavailable" };
    (status, Json(json!({ "status": word(mongo_up && s3_up), "mongodb": word(mongo_up), "s3": word(s3_up) })))
        .into_response()
}
