//! GraphQL over HTTP, per the GraphQL-over-HTTP specification: `POST` with a
//! JSON body, `GET` for queries only, `Accept` negotiation between
//! `application/graphql-response+json` and `application/json`, and the status
//! codes each media type calls for. Written by hand rather than with
//! `async_graphql_axum::GraphQL` because that service accepts batches, runs
//! mutations sent by GET and parses `text/plain` bodies (a CSRF vector).

use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{ServerError, Value as GqlValue, Variables};
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use super::AppState;
use super::request_id::RequestId;
use crate::auth::Identity;
use crate::graphql::context::RequestInfo;
use crate::graphql::error::{INTERNAL_MESSAGE, code};

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
    fn document_error_status(self) -> StatusCode {
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

/// The parameters of one GraphQL request.
#[derive(Debug, Default)]
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
}

fn params_from_json(body: Value) -> Result<Params, String> {
    let mut map = match body {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err("Batched requests are not supported; send one operation per request.".into());
        }
        _ => return Err("The request body must be a JSON object.".into()),
    };
    let query = match map.remove("query") {
        Some(Value::String(query)) => query,
        None | Some(Value::Null) => return Err("The `query` parameter is missing.".into()),
        Some(_) => return Err("The `query` parameter must be a string.".into()),
    };
    let operation_name = match map.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("The `operationName` parameter must be a string.".into()),
    };
    let variables = match map.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(vars)) => Some(vars),
        Some(_) => return Err("The `variables` parameter must be an object.".into()),
    };
    match map.remove("extensions") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err("The `extensions` parameter must be an object.".into()),
    }
    Ok(Params { query, operation_name, variables })
}

fn params_from_query_string(raw: Option<&str>) -> Result<Params, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| "The query string is malformed.".to_owned())?;
    let mut object = Map::new();
    for (key, value) in pairs {
        let value = match key.as_str() {
            "variables" | "extensions" => {
                serde_json::from_str(&value).map_err(|_| format!("The `{key}` parameter must be URL-encoded JSON."))?
            }
            _ => Value::String(value),
        };
        if object.insert(key.clone(), value).is_some() {
            return Err(format!("The `{key}` parameter is given more than once."));
        }
    }
    params_from_json(Value::Object(object))
}

/// The operation type the request would run (`None` if the document cannot
/// be parsed or the operation is not found: execution reports those).
fn operation_type(params: &Params) -> Result<Option<OperationType>, String> {
    let document = async_graphql::parser::parse_query(&params.query).map_err(|e| e.to_string())?;
    Ok(match (&document.operations, &params.operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()).map(|op| op.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    })
}

pub(super) fn error_body(message: &str, code: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

pub(super) fn respond(status: StatusCode, media: MediaType, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    (status, [(header::CONTENT_TYPE, media.content_type()), (header::VARY, "accept")], Bytes::from(bytes))
        .into_response()
}

fn request_error(media: MediaType, message: &str) -> Response {
    respond(StatusCode::BAD_REQUEST, media, &error_body(message, code::BAD_USER_INPUT))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let params = match params_from_query_string(raw.as_deref()) {
        Ok(params) => params,
        Err(message) => return request_error(media, &message),
    };
    match operation_type(&params) {
        Err(message) => {
            return respond(media.document_error_status(), media, &error_body(&message, code::BAD_USER_INPUT));
        }
        Ok(Some(OperationType::Query)) | Ok(None) => {}
        Ok(Some(_)) => {
            let mut response = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                &error_body("Only queries may be sent with GET; use POST for mutations.", code::BAD_USER_INPUT),
            );
            response.headers_mut().insert(header::ALLOW, http::HeaderValue::from_static("POST"));
            return response;
        }
    }
    execute(&state, &headers, request_id, media, request_from(params)).await
}

pub async fn post(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    match content_kind(&headers) {
        ContentKind::Json => {}
        ContentKind::Multipart(content_type) => {
            return multipart(&state, &headers, request_id, media, content_type, body).await;
        }
        ContentKind::Missing => {
            return respond(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                &error_body("Send the request as `Content-Type: application/json`.", code::UNSUPPORTED_MEDIA_TYPE),
            );
        }
        ContentKind::Other(kind) => {
            return respond(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                &error_body(
                    &format!("Content-Type `{kind}` is not accepted; use application/json."),
                    code::UNSUPPORTED_MEDIA_TYPE,
                ),
            );
        }
    }
    let limit = state.services.config.limits.max_body_bytes;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    // Refuse by the declared length before reading anything; `to_bytes`
    // enforces the same limit on chunked bodies as they stream in.
    let read = match declared {
        Some(length) if length > limit => Err(()),
        _ => axum::body::to_bytes(body, limit).await.map_err(|_| ()),
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(_) => {
            return respond(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                &error_body(&format!("The request body exceeds {limit} bytes."), code::PAYLOAD_TOO_LARGE),
            );
        }
    };
    let params = match serde_json::from_slice::<Value>(&bytes) {
        Ok(json) => params_from_json(json),
        Err(_) => Err("The request body is not valid JSON.".to_owned()),
    };
    match params {
        Ok(params) => execute(&state, &headers, request_id, media, request_from(params)).await,
        Err(message) => request_error(media, &message),
    }
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

/// Headers that a browser can only send after a CORS preflight: a
/// multipart form from another site (a "simple" request) cannot carry them.
fn has_preflight_header(headers: &HeaderMap) -> bool {
    ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()))
}

/// A GraphQL multipart request (file uploads). The file is spooled to a
/// temporary file while it streams in, never held in memory; the size and
/// count limits apply while reading.
async fn multipart(
    state: &AppState,
    headers: &HeaderMap,
    request_id: RequestId,
    media: MediaType,
    content_type: String,
    body: Body,
) -> Response {
    if !has_preflight_header(headers) {
        return respond(
            StatusCode::BAD_REQUEST,
            media,
            &error_body(
                "Multipart requests must carry the `apollo-require-preflight: true` header (CSRF protection).",
                code::BAD_USER_INPUT,
            ),
        );
    }
    let max_file = state.services.config.evidence.max_upload_bytes;
    // The file plus the operations and map parts.
    let max_body = max_file.saturating_add(MULTIPART_OVERHEAD);
    let too_large = || {
        respond(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            &error_body(&format!("The upload exceeds {max_file} bytes."), code::PAYLOAD_TOO_LARGE),
        )
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body) {
        return too_large();
    }
    // Counts while streaming: a chunked body has no Content-Length to check.
    let mut seen: u64 = 0;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen += chunk.len() as u64;
        if seen > max_body {
            return Err(std::io::Error::other("length limit exceeded"));
        }
        Ok(chunk)
    });
    let options = async_graphql::http::MultipartOptions::default().max_file_size(max_file as usize).max_num_files(1);
    match async_graphql::http::receive_body(Some(content_type), stream.into_async_read(), options).await {
        Ok(request) => execute(state, headers, request_id, media, request).await,
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => too_large(),
        Err(error) if error.to_string().contains("length limit exceeded") => too_large(),
        Err(error) => request_error(media, &format!("Invalid multipart request: {error}")),
    }
}

/// Room for the `operations` and `map` parts of a multipart request.
const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

fn not_acceptable() -> Response {
    respond(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        &error_body("Accept application/graphql-response+json or application/json.", code::UNSUPPORTED_MEDIA_TYPE),
    )
}

fn request_from(params: Params) -> async_graphql::Request {
    let mut request = async_graphql::Request::new(params.query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    request
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    request_id: RequestId,
    media: MediaType,
    request: async_graphql::Request,
) -> Response {
    let Some((data, errors)) = run_as_caller(state, headers, &request_id, request).await else {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            media,
            &error_body("The request took too long and was stopped.", code::SERVICE_UNAVAILABLE),
        );
    };
    let request_failed = data == GqlValue::Null && !errors.is_empty() && errors.iter().all(|e| e.path.is_empty());
    let mut body = Map::new();
    if !request_failed {
        body.insert("data".into(), serde_json::to_value(&data).unwrap_or(Value::Null));
    }
    if !errors.is_empty() {
        body.insert("errors".into(), serde_json::to_value(&errors).unwrap_or(Value::Null));
    }
    let status = if request_failed { media.document_error_status() } else { StatusCode::OK };
    respond(status, media, &Value::Object(body))
}

/// The caller as the `Authorization` header identifies them.
fn identity(state: &AppState, headers: &HeaderMap) -> Identity {
    match headers.get(header::AUTHORIZATION) {
        None => Identity::Anonymous,
        Some(value) => match value.to_str() {
            Ok(value) => match state.services.verifier.verify_header(value) {
                Ok(viewer) => Identity::Authenticated(viewer),
                Err(why) => Identity::Rejected(why),
            },
            Err(_) => Identity::Rejected(crate::auth::jwt::TokenError::Malformed),
        },
    }
}

/// Runs `request` as the caller, within the request time limit: the data
/// and the errors, each with its `extensions.code` (INTERNAL ones masked).
/// `None` when the time limit stopped it. Every route that answers from the
/// schema (GraphQL, CSV reports) goes through here, so auth, limits and
/// masking are the same for all.
pub(super) async fn run_as_caller(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &RequestId,
    request: async_graphql::Request,
) -> Option<(GqlValue, Vec<ServerError>)> {
    let request = request.data(RequestInfo::new(request_id.0.clone(), identity(state, headers)));
    let timeout = Duration::from_millis(state.services.config.limits.request_timeout_ms);
    let Ok(response) = tokio::time::timeout(timeout, state.schema.execute(request)).await else {
        tracing::warn!(timeout_ms = timeout.as_millis() as u64, "GraphQL request timed out");
        return None;
    };
    let errors = response.errors.into_iter().map(|e| classify(e, &request_id.0)).collect();
    Some((response.data, errors))
}

/// Gives every error an `extensions.code`. Errors raised by our resolvers
/// already carry one; the rest come from async-graphql itself: document and
/// variable problems (no path) are the client's, limits are
/// QUERY_TOO_COMPLEX, and anything else is masked as INTERNAL.
fn classify(mut error: ServerError, request_id: &str) -> ServerError {
    let existing = error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|v| if let GqlValue::String(s) = v { Some(s.clone()) } else { None });
    let code = match existing {
        Some(code) => code,
        None => {
            let code = if is_limit_error(&error.message) {
                code::QUERY_TOO_COMPLEX
            } else if error.path.is_empty()
                || error.message.starts_with("Failed to parse")
                || error.message.starts_with("Invalid value")
            {
                code::BAD_USER_INPUT
            } else {
                tracing::error!(error = %error.message, "unclassified resolver error");
                error.message = INTERNAL_MESSAGE.to_owned();
                code::INTERNAL
            };
            error.extensions.get_or_insert_with(Default::default).set("code", code);
            code.to_owned()
        }
    };
    if code == code::INTERNAL {
        error.extensions.get_or_insert_with(Default::default).set("requestId", request_id);
    }
    error
}

fn is_limit_error(message: &str) -> bool {
    message.starts_with("Query is nested too deep")
        || message.starts_with("Query is too complex")
        || message.contains("recursion depth")
        || message.contains("too many directives")
        || message.contains("The number of directives")
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
    fn batches_and_bad_parameters_are_request_errors() {
        assert!(params_from_json(json!([{ "query": "{a}" }])).is_err());
        assert!(params_from_json(json!({ "query": 1 })).is_err());
        assert!(params_from_json(json!({ "query": "{a}", "variables": "x" })).is_err());
        assert!(params_from_json(json!({ "query": "{a}", "operationName": false })).is_err());
        assert!(params_from_json(json!({ "query": "{a}", "extensions": [1] })).is_err());
        let ok = params_from_json(json!({ "query": "{a}", "variables": null, "extensions": {} })).unwrap();
        assert_eq!(ok.query, "{a}");
    }

    #[test]
    fn get_parameters_decode_json_variables() {
        let params = params_from_query_string(Some("query=%7Ba%7D&variables=%7B%22x%22%3A1%7D")).unwrap();
        assert_eq!(params.variables.unwrap()["x"], json!(1));
        assert!(params_from_query_string(Some("query=a&query=b")).is_err());
        assert!(params_from_query_string(Some("variables=notjson&query=x")).is_err());
    }

    #[test]
    fn mutations_are_detected_for_the_selected_operation() {
        let params = Params {
            query: "query A { a } mutation B { b }".into(),
            operation_name: Some("B".into()),
            variables: None,
        };
        assert_eq!(operation_type(&params).unwrap(), Some(OperationType::Mutation));
        let params = Params { query: "mutation { b }".into(), ..Default::default() };
        assert_eq!(operation_type(&params).unwrap(), Some(OperationType::Mutation));
    }
}
