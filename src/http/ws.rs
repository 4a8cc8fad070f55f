//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`, and the
//! older `graphql-ws`), on `/graphql` (an upgrade request) and `/ws`. The
//! caller authenticates in `connection_init` (`{"authorization": "Bearer
//! <token>"}`); without a valid token the connection is closed saying why
//! (async-graphql closes with 1002, not the protocol's 4403).
//! Only subscriptions run here, after the same depth, size and directive
//! checks as over HTTP: queries and mutations go to `POST /graphql`, where
//! rate limits, audit and idempotency apply.

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response as HttpResponse;
use futures::stream::{self, BoxStream, StreamExt};

use super::AppState;
use crate::app::error::{AppError, code};
use crate::auth::Identity;
use crate::graphql::EndorseSchema;
use crate::graphql::context::RequestInfo;
use crate::graphql::cost::{self, CostLimits};
use crate::http::request_id::RequestId;
use crate::services::Services;

/// Largest message a client may send (a subscription document is small).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The schema, serving subscriptions only.
#[derive(Clone)]
struct SubscriptionsOnly {
    schema: EndorseSchema,
    limits: CostLimits,
}

fn refused(message: impl Into<String>, code: &str) -> Response {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    Response::from_errors(vec![error])
}

fn not_a_subscription() -> Response {
    refused(
        "Only subscriptions are served over the WebSocket; send queries and mutations to POST /graphql.",
        code::BAD_USER_INPUT,
    )
}

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        not_a_subscription()
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<std::sync::Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let document = match cost::parse(&request.query, &self.limits) {
            Ok(document) => document,
            Err(error) => {
                let code = if error.is_limit() { code::QUERY_TOO_COMPLEX } else { code::BAD_USER_INPUT };
                return stream::once(async move { refused(error.to_string(), code) }).boxed();
            }
        };
        let selected = crate::graphql::execution::selected_operation(&document, request.operation_name.as_deref());
        if selected.map(|(_, operation)| operation.ty) != Some(OperationType::Subscription) {
            return stream::once(async { not_a_subscription() }).boxed();
        }
        request.set_parsed_query(document);
        Executor::execute_stream(&self.schema, request, session_data)
    }
}

/// The identity `connection_init` carries, as the resolvers read it.
async fn connection_init(services: Services, payload: serde_json::Value) -> async_graphql::Result<Data> {
    let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_str);
    let header = field("authorization")
        .or_else(|| field("Authorization"))
        .map(str::to_owned)
        .or_else(|| field("token").map(|token| format!("Bearer {token}")));
    let Some(header) = header else {
        return Err(AppError::Unauthenticated(
            "send {\"authorization\": \"Bearer <token>\"} in connection_init".into(),
        )
        .into());
    };
    let viewer = services.verifier.verify_header(&header).map_err(AppError::from)?;
    let mut data = Data::default();
    data.insert(RequestInfo::new(RequestId::generated(), Identity::Authenticated(viewer), None, Vec::new()));
    Ok(data)
}

/// Upgrades to a GraphQL WebSocket.
pub async fn upgrade(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let executor = SubscriptionsOnly { schema: state.schema.clone(), limits: state.cost_limits.clone() };
    let services = state.services.clone();
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).max_message_size(MAX_MESSAGE_BYTES).on_upgrade(move |socket| {
        GraphQLWebSocket::new(socket, executor, protocol)
            .on_connection_init(move |payload| connection_init(services, payload))
            .serve()
    })
}

/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}
