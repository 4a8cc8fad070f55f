//! GraphQL over HTTP, per the GraphQL-over-HTTP specification: `POST` with a
//! JSON body, `GET` for queries only, `Accept` negotiation between
//! `application/graphql-response+json` and `application/json`, and the status
//! codes each media type calls for. Written by hand rather than with
//! `async_graphql_axum::GraphQL` because that service accepts batches, runs
//! mutations sent by GET and parses `text/plain` bodies (a CSRF vector).
//!
//! - [`response`]: media types and request-level error shapes;
//! - [`params`]: the request parameters from JSON or a query string;
//! - [`multipart`]: uploads (authenticated and bounded before any part is read);
//! - [`execute`]: cost check, rate limit, execution and error codes.

pub mod execute;
mod multipart;
mod params;
pub mod response;

use axum::Extension;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::request_id::RequestId;
use crate::app::error::code;
use execute::{Caller, Transport, outcome_response, refusal_response, run_as_caller};
use response::{MediaType, negotiate, not_acceptable, refuse, request_error};

pub async fn get(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let params = match params::from_query_string(raw.as_deref()) {
        Ok(params) => params,
        Err(message) => return request_error(media, &message),
    };
    let (request, persisted) = params.into_request();
    let transport = Transport { queries_only: true, persisted_hash: persisted, idempotency_key: None };
    execute(&state, caller, request_id, media, request, transport, &headers).await
}

pub async fn post(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    match content_kind(&headers) {
        ContentKind::Json => {}
        ContentKind::Multipart(content_type) => {
            return match multipart::receive(&state, &headers, &caller, media, &content_type, body).await {
                Ok((request, upload_slot)) => {
                    let response =
                        execute(&state, caller, request_id, media, request, Transport::default(), &headers).await;
                    drop(upload_slot);
                    response
                }
                Err(refused) => refused,
            };
        }
        ContentKind::Missing => {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "Send the request as `Content-Type: application/json`.",
                code::UNSUPPORTED_MEDIA_TYPE,
            );
        }
        ContentKind::Other(kind) => {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                &format!("Content-Type `{kind}` is not accepted; use application/json."),
                code::UNSUPPORTED_MEDIA_TYPE,
            );
        }
    }
    let limit = state.services.config.limits.max_body_bytes;
    let bytes = match read_limited(&headers, body, limit).await {
        Some(bytes) => bytes,
        None => return body_too_large(media, limit),
    };
    let params = match serde_json::from_slice::<Value>(&bytes) {
        Ok(json) => params::from_json(json),
        Err(_) => Err("The request body is not valid JSON.".to_owned()),
    };
    match params {
        Ok(params) => {
            let (request, persisted) = params.into_request();
            let transport = Transport { persisted_hash: persisted, ..Transport::default() };
            execute(&state, caller, request_id, media, request, transport, &headers).await
        }
        Err(message) => request_error(media, &message),
    }
}

/// The body, or `None` past `limit`: refused by the declared length before
/// reading anything; `to_bytes` enforces the same limit on chunked bodies
/// as they stream in.
async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Option<axum::body::Bytes> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return None;
    }
    axum::body::to_bytes(body, limit).await.ok()
}

fn body_too_large(media: MediaType, limit: usize) -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        media,
        &format!("The request body exceeds {limit} bytes."),
        code::PAYLOAD_TOO_LARGE,
    )
}

enum ContentKind {
    Json,
    Multipart(String),
    Missing,
    Other(String),
}

fn content_kind(headers: &HeaderMap) -> ContentKind {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return ContentKind::Missing;
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset_ok = parts.all(|p| {
        let p = p.trim().to_ascii_lowercase();
        !p.starts_with("charset=") || p == "charset=utf-8" || p == "charset=\"utf-8\""
    });
    match media.as_str() {
        "application/json" if charset_ok => ContentKind::Json,
        "multipart/form-data" => ContentKind::Multipart(value.to_owned()),
        _ => ContentKind::Other(value.to_owned()),
    }
}

async fn execute(
    state: &AppState,
    caller: Caller,
    request_id: RequestId,
    media: MediaType,
    request: async_graphql::Request,
    transport: Transport<'_>,
    headers: &HeaderMap,
) -> Response {
    let idempotency_key = match execute::idempotency_key(headers) {
        Ok(key) => key,
        Err(message) => return request_error(media, message),
    };
    let transport = Transport { idempotency_key, ..transport };
    match run_as_caller(state, caller, &request_id, request, transport).await {
        Ok(outcome) => outcome_response(media, &outcome, state.services.config.limits.max_response_bytes),
        Err(refusal) => refusal_response(media, refusal, media.document_error_status()),
    }
}
