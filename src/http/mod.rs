//! HTTP wiring: routes, request ids, CORS, body limits and timeouts.

mod graphql;
mod health;
pub mod identity;
pub mod metrics;
pub mod payments;
mod public;
pub mod rate_limit;
mod rater;
mod reports;
pub mod request_id;
pub mod serve;
mod ws;

use std::time::Duration;

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Router, middleware};
use http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Config;
use crate::graphql::EndorseSchema;
use crate::services::Services;

/// Distinct documents kept parsed: far more than the operations a set of
/// clients sends, few enough that the cache stays small (each document is
/// bounded by the body limit, typically a few KB).
const DOCUMENTS_KEPT: usize = 1_000;

#[derive(Clone)]
pub struct AppState {
    pub schema: EndorseSchema,
    /// The same schema for documents validated before.
    pub prevalidated: std::sync::Arc<crate::graphql::validated::Prevalidated>,
    pub services: Services,
    pub cost_limits: crate::graphql::cost::CostLimits,
    /// Parsed documents by the hash of their text (and persisted queries).
    pub documents: std::sync::Arc<crate::graphql::documents::DocumentCache>,
    pub rate_limiter: std::sync::Arc<rate_limit::RateLimiter>,
    /// Slots for multipart uploads being received and processed.
    pub uploads: std::sync::Arc<tokio::sync::Semaphore>,
    pub idempotency: crate::app::records::idempotency::IdempotencyKeys,
}

impl AppState {
    pub fn new(config: &Config, schema: EndorseSchema, services: Services) -> Self {
        let limits = &config.limits;
        AppState {
            idempotency: crate::app::records::idempotency::IdempotencyKeys::new(services.store_unchecked()),
            prevalidated: std::sync::Arc::new(crate::graphql::validated::Prevalidated::new(config, services.clone())),
            schema,
            services,
            cost_limits: crate::graphql::cost::CostLimits::from_config(config),
            documents: std::sync::Arc::new(crate::graphql::documents::DocumentCache::new(DOCUMENTS_KEPT)),
            rate_limiter: std::sync::Arc::new(rate_limit::RateLimiter::new(
                limits.rate_limit_per_minute,
                limits.rate_limit_burst,
            )),
            uploads: std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_uploads_in_flight)),
        }
    }
}

impl axum::extract::FromRef<AppState> for Services {
    fn from_ref(state: &AppState) -> Services {
        state.services.clone()
    }
}

pub fn router(config: &Config, state: AppState) -> Router {
    let mut pages = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/reports/stats.csv", get(reports::stats_csv))
        .route("/registry/{association}", get(public::registry_page))
        .route("/verify/{number}", get(public::verify_page))
        .route("/issuers/{association}", get(public::issuer))
        .route("/keys/{association}", get(public::keys))
        .route("/keys/{association}/{kid}", get(public::key))
        .route("/status/{association}/{purpose}", get(public::status_list));
    if config.graphiql_enabled() {
        pages = pages.route("/", get(graphiql));
    }
    if !config.telemetry.metrics_token.is_empty() {
        pages = pages.merge(metrics::guarded_route());
    }
    // /graphql enforces its body limit itself, with a GraphQL-shaped
    // PAYLOAD_TOO_LARGE answer; the other routes take no body at all.
    let pages = pages.layer(RequestBodyLimitLayer::new(1024));
    // The handler's own timeout answers with a GraphQL error; this one is the
    // backstop for everything else (slow bodies, probes), a little later.
    let backstop = Duration::from_millis(config.limits.request_timeout_ms) + Duration::from_secs(2);
    let rater_pages = Router::new()
        .route("/r/assets/form.css", get(rater::stylesheet))
        .route("/r/{token}", get(rater::show).post(rater::post))
        .layer(RequestBodyLimitLayer::new(rater::MAX_FORM_BYTES));
    let webhooks = Router::new()
        .route("/webhooks/payments/{association}", axum::routing::post(payments::receive))
        .layer(RequestBodyLimitLayer::new(payments::MAX_BODY_BYTES));
    let routes = Router::new()
        .route("/graphql", get(get_or_upgrade).post(graphql::post))
        .route("/ws", get(ws::upgrade))
        .merge(pages)
        .merge(rater_pages)
        .merge(webhooks)
        .with_state(state);
    metrics::measured(routes)
        .layer(cors(config))
        .layer(TimeoutLayer::with_status_code(http::StatusCode::REQUEST_TIMEOUT, backstop))
        .layer(middleware::from_fn(request_id::middleware))
}

/// `GET /graphql`: a WebSocket upgrade for subscriptions, else a query.
async fn get_or_upgrade(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::handler::Handler;
    if ws::is_upgrade(request.headers()) {
        Handler::call(ws::upgrade, request, state).await
    } else {
        Handler::call(graphql::get, request, state).await
    }
}

async fn graphiql() -> impl IntoResponse {
    Html(async_graphql::http::GraphiQLSource::build().endpoint("/graphql").title("Endorse GraphiQL").finish())
}

fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<&String> = config.cors_origins.iter().filter(|o| !o.is_empty()).collect();
    let allow_origin = if origins.iter().any(|o| o.as_str() == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static(request_id::HEADER),
            HeaderName::from_static("apollo-require-preflight"),
            HeaderName::from_static("x-apollo-operation-name"),
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            HeaderName::from_static(request_id::HEADER),
            HeaderName::from_static(request_id::SERVER_HEADER),
            HeaderName::from_static("idempotent-replayed"),
            http::header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}
