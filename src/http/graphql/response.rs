//! Response media types and the shape of request-level errors, per the
//! GraphQL-over-HTTP specification.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::error::code;

/// The response media types of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }

    /// A document that does not parse or validate, or variables that do not
    /// coerce: 400 under the new media type; legacy `application/json`
    /// clients expect 200 with `errors`. (Unparseable bodies and bad request
    /// parameters are 400 under both.)
    pub fn document_error_status(self) -> StatusCode {
        match self {
            MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        }
    }
}

/// Picks the response media type from `Accept`; `None` means 406.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match media.as_str() {
            "application/graphql-response+json" => return Some(MediaType::GraphqlResponseJson),
            "application/json" | "application/*" | "*/*" => return Some(MediaType::Json),
            _ => {}
        }
    }
    None
}

pub fn error_body(message: &str, code: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

pub fn respond(status: StatusCode, media: MediaType, body: &Value) -> Response {
    respond_bytes(status, media, serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()))
}

/// A JSON body already serialised.
pub fn respond_bytes(status: StatusCode, media: MediaType, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, media.content_type()), (header::VARY, "accept")], Bytes::from(body))
        .into_response()
}

/// A request-level error (nothing was executed).
pub fn refuse(status: StatusCode, media: MediaType, message: &str, code: &str) -> Response {
    respond(status, media, &error_body(message, code))
}

pub fn request_error(media: MediaType, message: &str) -> Response {
    refuse(StatusCode::BAD_REQUEST, media, message, code::BAD_USER_INPUT)
}

pub fn not_acceptable() -> Response {
    refuse(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        "Accept application/graphql-response+json or application/json.",
        code::UNSUPPORTED_MEDIA_TYPE,
    )
}

/// 429 RATE_LIMITED with the seconds to wait.
pub fn rate_limited(media: MediaType, retry_after: Duration, what: &str) -> Response {
    let mut response = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        media,
        &format!("Too many {what}; retry after the time in `Retry-After`."),
        code::RATE_LIMITED,
    );
    set_retry_after(&mut response, retry_after);
    response
}

/// `Retry-After` in whole seconds, at least one.
pub fn set_retry_after(response: &mut Response, wait: Duration) {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, value.parse().unwrap());
        negotiate(&headers)
    }

    #[test]
    fn accept_negotiation_prefers_the_first_acceptable_type() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(accept("application/graphql-response+json"), Some(MediaType::GraphqlResponseJson));
        assert_eq!(accept("application/json, application/graphql-response+json"), Some(MediaType::Json));
        assert_eq!(accept("application/graphql-response+json;q=0, application/json"), Some(MediaType::Json));
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(accept("text/html"), None);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let mut response = Response::new(axum::body::Body::empty());
        set_retry_after(&mut response, Duration::from_millis(1200));
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        set_retry_after(&mut response, Duration::ZERO);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
