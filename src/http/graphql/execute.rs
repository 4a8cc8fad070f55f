//! Running one GraphQL request as its caller: the document is checked
//! (`graphql::cost`) and the caller charged (rate limit) before async-graphql
//! sees it; then it runs within the time limit, and every error leaves with
//! an `extensions.code`. Every route that answers from the schema (GraphQL,
//! CSV reports) goes through [`run_as_caller`], so limits, auth and masking
//! are the same for all.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{ServerError, Value as GqlValue};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::response::{MediaType, refuse, respond_bytes, set_retry_after};
use crate::app::error::{INTERNAL_MESSAGE, code};
use crate::app::records::idempotency::Claim;
use crate::graphql::context::RequestInfo;
use crate::graphql::cost::{self, CostError, Figures};
use crate::graphql::documents::{self, Parsed};
use crate::graphql::execution;
use crate::http::AppState;
pub use crate::http::identity::Caller;
use crate::http::request_id::RequestId;

/// Documents longer than this are parsed and weighed on the blocking pool,
/// so that no request keeps an async worker busy for more than a moment.
const INLINE_ANALYSIS_BYTES: usize = 16 * 1024;

/// How long a client should wait after a SERVICE_UNAVAILABLE.
pub const RETRY_AFTER_UNAVAILABLE: Duration = Duration::from_secs(2);

/// Why a request was not executed.
#[derive(Debug)]
pub enum Refusal {
    Document(CostError),
    /// A mutation or subscription sent with GET.
    NotAQuery,
    RateLimited(Duration),
    TimedOut,
    /// The Idempotency-Key was used for another request.
    KeyReused,
    /// The first request with this Idempotency-Key has not finished.
    KeyInProgress,
    /// A store the request needs before running is down.
    Unavailable,
    /// The request named a persisted query by a hash this server does not
    /// know: the client sends it again with the text (Apollo's protocol).
    PersistedQueryNotFound,
    /// The query text does not have the hash sent with it.
    PersistedQueryMismatch,
}

/// What execution produced.
pub struct Outcome {
    pub data: GqlValue,
    pub errors: Vec<ServerError>,
    /// The kept response of an earlier request with the same Idempotency-Key.
    pub replayed: bool,
}

/// How the request arrived.
#[derive(Debug, Clone, Copy, Default)]
pub struct Transport<'a> {
    /// GET: anything but a query is refused.
    pub queries_only: bool,
    /// The `Idempotency-Key` header, already checked by [`idempotency_key`].
    pub idempotency_key: Option<&'a str>,
    /// The SHA-256 of an automatic persisted query.
    pub persisted_hash: Option<documents::Hash>,
}

/// Checks, charges and runs `request` as `caller`.
pub async fn run_as_caller(
    state: &AppState,
    caller: Caller,
    request_id: &RequestId,
    mut request: async_graphql::Request,
    transport: Transport<'_>,
) -> Result<Outcome, Refusal> {
    let parsed = document(state, &mut request, transport.persisted_hash).await?;
    let figures = weigh(state, &parsed, &request).await.map_err(Refusal::Document)?;
    // The operation that will run, picked once for every check below.
    let selected = execution::selected_operation(&parsed.document, request.operation_name.as_deref());
    let operation = selected.map(|(_, operation)| operation.ty);
    if transport.queries_only && operation.is_some_and(|op| op != OperationType::Query) {
        return Err(Refusal::NotAQuery);
    }
    let rate_key = caller.rate_key();
    state.rate_limiter.check(&rate_key, figures.cost).map_err(Refusal::RateLimited)?;
    let key = transport.idempotency_key.filter(|_| operation == Some(OperationType::Mutation));
    let fingerprint = key.map(|_| fingerprint(&request));
    let mutations = execution::mutation_fields(&parsed.document, selected.map(|(_, operation)| operation));
    request.set_parsed_query(parsed.document.clone());
    let name = selected.and_then(|(name, _)| name.map(str::to_owned));
    let prevalidated = parsed.is_validated()
        && selected.is_some_and(|(_, operation)| state.prevalidated.variables_fit(operation, &request.variables));
    let info = RequestInfo::new(request_id.clone(), caller.identity, name, mutations);
    let prepared = Prepared { request, info, figures, parsed, prevalidated };
    let (Some(key), Some(fingerprint)) = (key, fingerprint) else {
        return execute_prepared(state, prepared, request_id).await;
    };
    let keys = &state.idempotency;
    let timeout = Duration::from_millis(state.services.config.limits.request_timeout_ms);
    // A claim older than this belongs to a request that died.
    let stale_after_ms = 2 * timeout.as_millis() as i64;
    let waiting_since = tokio::time::Instant::now();
    loop {
        let claim = keys.claim(&rate_key, key, &fingerprint, stale_after_ms).await.map_err(|error| {
            tracing::warn!(error = %error, "idempotency keys unavailable");
            Refusal::Unavailable
        })?;
        match claim {
            Claim::Fresh => break,
            Claim::Replay(body) => return replay(&body),
            Claim::Mismatch => return Err(Refusal::KeyReused),
            Claim::InProgress if waiting_since.elapsed() < timeout => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Claim::InProgress => return Err(Refusal::KeyInProgress),
        }
    }
    let outcome = execute_prepared(state, prepared, request_id).await?;
    let transient = outcome
        .errors
        .iter()
        .any(|e| matches!(execution::error_code(e), code::SERVICE_UNAVAILABLE | code::RATE_LIMITED));
    let kept = if transient {
        keys.release(&rate_key, key).await
    } else {
        keys.finish(&rate_key, key, &serde_json::to_string(&StoredOutcome::of(&outcome)).unwrap_or_default()).await
    };
    if let Err(error) = kept {
        // The effect happened; a retry with this key will wait for the
        // claim to go stale, then run again (version guards refuse repeats).
        tracing::error!(error = %error, "could not keep the response of an idempotent request");
    }
    Ok(outcome)
}

/// A request ready to run: checked, charged, with its caller attached.
struct Prepared {
    request: async_graphql::Request,
    info: Arc<RequestInfo>,
    figures: Figures,
    parsed: Arc<Parsed>,
    /// The document passed full validation before and these variables fit
    /// it (`graphql::validated`).
    prevalidated: bool,
}

async fn execute_prepared(state: &AppState, prepared: Prepared, request_id: &RequestId) -> Result<Outcome, Refusal> {
    let Prepared { request, info, figures, parsed, prevalidated } = prepared;
    let schema = if prevalidated { &state.prevalidated.schema } else { &state.schema };
    let response =
        execution::execute(schema, &state.services, request, info, figures).await.map_err(|_| Refusal::TimedOut)?;
    // Validation errors have no path: without any, the document passed.
    if !prevalidated && response.errors.iter().all(|error| !error.path.is_empty()) {
        parsed.mark_validated();
    }
    let errors = response.errors.into_iter().map(|e| classify(e, request_id)).collect();
    Ok(Outcome { data: response.data, errors, replayed: false })
}

/// The form a response is kept in for replays.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredOutcome {
    data: GqlValue,
    #[serde(default)]
    errors: Vec<ServerError>,
}

impl StoredOutcome {
    fn of(outcome: &Outcome) -> Self {
        StoredOutcome { data: outcome.data.clone(), errors: outcome.errors.clone() }
    }
}

fn replay(body: &str) -> Result<Outcome, Refusal> {
    let stored: StoredOutcome = serde_json::from_str(body).map_err(|_| Refusal::Unavailable)?;
    Ok(Outcome { data: stored.data, errors: stored.errors, replayed: true })
}

/// SHA-256 of what makes two requests "the same": operation name, query
/// text and variables (uploads appear as their variable's placeholder).
fn fingerprint(request: &async_graphql::Request) -> String {
    let mut hasher = Sha256::new();
    hasher.update(request.operation_name.as_deref().unwrap_or("").as_bytes());
    hasher.update([0]);
    hasher.update(request.query.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(&request.variables).unwrap_or_default());
    hex::encode(hasher.finalize())
}

/// The `Idempotency-Key` header: absent, or 1 to 255 visible ASCII
/// characters (as in the IETF draft and Stripe's API).
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().map_err(|_| "The Idempotency-Key header must be visible ASCII.")?.trim_matches('"');
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("The Idempotency-Key header must be 1 to 255 visible ASCII characters.");
    }
    Ok(Some(key))
}

/// The request's parsed document: from the cache when its text (or the
/// persisted-query hash it sends instead) was seen before. Documents longer
/// than [`INLINE_ANALYSIS_BYTES`] are parsed on the blocking pool.
async fn document(
    state: &AppState,
    request: &mut async_graphql::Request,
    persisted: Option<documents::Hash>,
) -> Result<Arc<Parsed>, Refusal> {
    if request.query.is_empty()
        && let Some(hash) = persisted
    {
        let parsed = state.documents.get(&hash).ok_or(Refusal::PersistedQueryNotFound)?;
        request.query = parsed.query.to_string();
        return Ok(parsed);
    }
    let key = documents::hash(&request.query);
    if persisted.is_some_and(|hash| hash != key) {
        return Err(Refusal::PersistedQueryMismatch);
    }
    let (cache, limits) = (state.documents.clone(), state.cost_limits.clone());
    if request.query.len() <= INLINE_ANALYSIS_BYTES {
        return cache.parse_keyed(key, &request.query, &limits).map_err(Refusal::Document);
    }
    let query = request.query.clone();
    tokio::task::spawn_blocking(move || cache.parse_keyed(key, &query, &limits))
        .await
        .unwrap_or_else(|_| Err(CostError::Syntax("The query could not be read.".into())))
        .map_err(Refusal::Document)
}

/// The document's figures with this request's variables, checked against
/// the limits (on the blocking pool for long documents).
async fn weigh(state: &AppState, parsed: &Arc<Parsed>, request: &async_graphql::Request) -> Result<Figures, CostError> {
    let limits = state.cost_limits.clone();
    if parsed.query.len() <= INLINE_ANALYSIS_BYTES {
        return cost::weigh(&parsed.document, request.operation_name.as_deref(), &request.variables, &limits);
    }
    let (parsed, name, variables) = (parsed.clone(), request.operation_name.clone(), request.variables.clone());
    tokio::task::spawn_blocking(move || cost::weigh(&parsed.document, name.as_deref(), &variables, &limits))
        .await
        .unwrap_or_else(|_| Err(CostError::Syntax("The query could not be read.".into())))
}

impl Refusal {
    /// Status, message, code and the wait to advertise: one table for
    /// every route that answers from the schema.
    fn parts(&self, document_status: StatusCode) -> (StatusCode, String, &'static str, Option<Duration>) {
        let unavailable = Some(RETRY_AFTER_UNAVAILABLE);
        match self {
            Refusal::Document(error) => {
                let code = if error.is_limit() { code::QUERY_TOO_COMPLEX } else { code::BAD_USER_INPUT };
                (document_status, error.to_string(), code, None)
            }
            Refusal::NotAQuery => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Only queries may be sent with GET; use POST for mutations.".into(),
                code::BAD_USER_INPUT,
                None,
            ),
            Refusal::RateLimited(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests; retry after the time in `Retry-After`.".into(),
                code::RATE_LIMITED,
                Some(*wait),
            ),
            Refusal::TimedOut => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The request took too long and was stopped.".into(),
                code::SERVICE_UNAVAILABLE,
                unavailable,
            ),
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable; retry later.".into(),
                code::SERVICE_UNAVAILABLE,
                unavailable,
            ),
            Refusal::KeyReused => (
                StatusCode::CONFLICT,
                "This Idempotency-Key was used for a different request.".into(),
                code::CONFLICT,
                None,
            ),
            // 200, as Apollo's servers answer it: clients read the code.
            Refusal::PersistedQueryNotFound => {
                (StatusCode::OK, "PersistedQueryNotFound".into(), code::PERSISTED_QUERY_NOT_FOUND, None)
            }
            Refusal::PersistedQueryMismatch => (
                document_status,
                "The query does not have the sha256Hash sent with it.".into(),
                code::BAD_USER_INPUT,
                None,
            ),
            Refusal::KeyInProgress => (
                StatusCode::CONFLICT,
                "A request with this Idempotency-Key is still running; retry later.".into(),
                code::CONFLICT,
                unavailable,
            ),
        }
    }
}

/// The HTTP answer to a refused request; `document_status` is what a bad
/// document gets under the route's media type.
pub fn refusal_response(media: MediaType, refusal: Refusal, document_status: StatusCode) -> Response {
    let (status, message, code, wait) = refusal.parts(document_status);
    let mut response = refuse(status, media, &message, code);
    if matches!(refusal, Refusal::NotAQuery) {
        response.headers_mut().insert(header::ALLOW, http::HeaderValue::from_static("POST"));
    }
    if let Some(wait) = wait {
        set_retry_after(&mut response, wait);
    }
    response
}

/// The GraphQL response body and status for an executed request.
pub fn outcome_response(media: MediaType, outcome: &Outcome, max_bytes: usize) -> Response {
    let errors = &outcome.errors;
    let request_failed =
        outcome.data == GqlValue::Null && !errors.is_empty() && errors.iter().all(|e| e.path.is_empty());
    let status = if request_failed { media.document_error_status() } else { StatusCode::OK };
    // Written straight from async-graphql's values to bytes: no
    // intermediate `serde_json::Value` tree of the whole response.
    let body = ResponseBody { data: (!request_failed).then_some(&outcome.data), errors };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    if bytes.len() > max_bytes {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            &format!("The response would exceed {max_bytes} bytes; ask for fewer fields or a smaller page."),
            code::PAYLOAD_TOO_LARGE,
        );
    }
    let mut response = respond_bytes(status, media, bytes);
    if outcome.replayed {
        response.headers_mut().insert("idempotent-replayed", http::HeaderValue::from_static("true"));
    }
    if errors.iter().any(|e| execution::error_code(e) == code::SERVICE_UNAVAILABLE) {
        set_retry_after(&mut response, RETRY_AFTER_UNAVAILABLE);
    }
    response
}

/// The GraphQL response map: `data` unless the request failed as a whole,
/// `errors` when there are any.
#[derive(serde::Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a GqlValue>,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
}

/// Gives every error an `extensions.code`. Errors raised by our resolvers
/// carry one. Limits never reach here (the cost check refuses first), so an
/// error without a code is a document or variable problem when it has no
/// path, and anything else is masked as INTERNAL.
fn classify(mut error: ServerError, request_id: &RequestId) -> ServerError {
    let existing = error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|v| if let GqlValue::String(s) = v { Some(s.clone()) } else { None });
    let code = match existing {
        Some(code) => code,
        None => {
            let code = if error.path.is_empty()
                || error.message.starts_with("Failed to parse")
                || error.message.starts_with("Invalid value")
                // A variable left out where the argument needs a value.
                || error.message.starts_with("Expected input type")
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
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("requestId", request_id.server.as_str());
        if let Some(client) = &request_id.client {
            extensions.set("clientRequestId", client.as_str());
        }
    }
    error
}
