//! Request ids: the server generates one for every request, and keeps the
//! caller's `x-request-id` beside it when the caller sends a sane one (a
//! client-chosen id is not trusted to be unique). `x-request-id` on the
//! response echoes the caller's id, or the server's when there is none;
//! `x-server-request-id` always carries the server's. Both go on the
//! request's tracing span, so every log line of the request carries them.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

pub const SERVER_HEADER: &str = "x-server-request-id";

#[derive(Clone, Debug)]
pub struct RequestId {
    /// Generated here: unique, what logs and audit records are keyed by.
    pub server: String,
    /// The caller's own id, if it sent an acceptable one.
    pub client: Option<String>,
}

impl RequestId {
    /// A fresh id, for work the middleware did not see.
    pub fn generated() -> Self {
        RequestId { server: uuid::Uuid::new_v4().to_string(), client: None }
    }
}

/// The path as logs and traces may keep it: a rater link's token is a
/// credential, so `/r/{token}` is never written down.
fn loggable_path(path: &str) -> &str {
    match path.strip_prefix("/r/") {
        Some(rest) if !rest.starts_with("assets/") => "/r/{token}",
        _ => path,
    }
}

/// Accept only short ids of safe characters: the id ends up in logs.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

pub async fn middleware(mut request: Request, next: Next) -> Response {
    let client = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned);
    let server = uuid::Uuid::new_v4().to_string();
    let echoed = client.clone().unwrap_or_else(|| server.clone());
    request.extensions_mut().insert(RequestId { server: server.clone(), client: client.clone() });
    let span = tracing::info_span!(
        "http.request",
        request_id = %server,
        client_request_id = client.as_deref().unwrap_or(""),
        method = %request.method(),
        path = %loggable_path(request.uri().path()),
    );
    crate::telemetry::traces::follow_caller(&span, request.headers());
    let mut response = next.run(request).instrument(span.clone()).await;
    {
        let _entered = span.enter();
        tracing::debug!(status = response.status().as_u16(), "request finished");
    }
    for (name, value) in [(HEADER, &echoed), (SERVER_HEADER, &server)] {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn rater_tokens_never_reach_the_logs() {
        assert_eq!(super::loggable_path("/r/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"), "/r/{token}");
        assert_eq!(super::loggable_path("/r/assets/form.css"), "/r/assets/form.css");
        assert_eq!(super::loggable_path("/graphql"), "/graphql");
    }

    use super::acceptable;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(acceptable("3f2a-11_x.9"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(65)));
        assert!(!acceptable("id with spaces"));
        assert!(!acceptable("line\nbreak"));
    }
}
