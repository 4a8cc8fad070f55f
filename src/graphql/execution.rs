//! Running one operation against the schema, with what every operation
//! needs so that no resolver can forget it: a span and a log line (and a
//! warning when slow), panics masked, a record of every root mutation field
//! and of every personal-data read.
//!
//! This is done around `Schema::execute` rather than as async-graphql
//! extensions on purpose: with any extension registered, async-graphql
//! sends every field and every list item through the extension chain (a
//! boxed future and a registry lookup each). Profiled on the full
//! 67-entry portfolio, that chain was 40% of the server's CPU.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, Selection};
use async_graphql::{PathSegment, Response, ServerError, Value};
use futures::FutureExt;
use tracing::Instrument;

use super::EndorseSchema;
use super::context::{FieldAudit, RequestInfo};
use super::cost::Figures;
use crate::app::audit::{append_outside_transaction, record_reads};
use crate::app::error::{AppError, code};
use crate::app::records::AuditRecord;
use crate::services::Services;

/// The operation ran out of its time limit (what it changed was audited).
#[derive(Debug)]
pub struct TimedOut;

/// Runs `request` (its document already parsed and weighed: `figures`) as
/// the caller `info` describes, within the request time limit. Operations
/// slower than `ENDORSE_SLOW_OPERATION_MS` are logged as warnings with
/// their name, cost and timings (never their variables).
pub async fn execute(
    schema: &EndorseSchema,
    services: &Services,
    request: async_graphql::Request,
    info: Arc<RequestInfo>,
    figures: Figures,
) -> Result<Response, TimedOut> {
    let limits = &services.config.limits;
    let (limit, slow) =
        (Duration::from_millis(limits.request_timeout_ms), Duration::from_millis(limits.slow_operation_ms));
    let name = info.operation_name.as_deref().unwrap_or("");
    let span = tracing::info_span!("graphql.operation", otel.name = %format_args!("graphql {name}"), operation = name);
    let measured = crate::telemetry::metrics::installed().then(|| {
        let kind = if info.mutations.is_empty() { "query" } else { "mutation" };
        (crate::telemetry::metrics::operation_label(info.operation_name.as_deref()), kind)
    });
    let started = Instant::now();
    let execution = guarded(schema.execute(request.data(info.clone()))).instrument(span.clone());
    let Ok(mut response) = tokio::time::timeout(limit, execution).await else {
        // What is not stored by now never will be: the execution is gone.
        let timed_out = async_graphql::Error::from(AppError::ServiceUnavailable("The request"))
            .into_server_error(Default::default());
        audit_mutations(services, &info, &[timed_out]).await;
        let _entered = span.enter();
        tracing::warn!(cost = figures.cost, limit_ms = limit.as_millis() as u64, "graphql operation timed out");
        if let Some((operation, kind)) = measured {
            crate::telemetry::metrics::graphql_operation(operation, kind, "TIMED_OUT".into(), started.elapsed());
        }
        return Err(TimedOut);
    };
    let executed = started.elapsed();
    audit_mutations(services, &info, &response.errors).await;
    if let Err(refused) = audit_reads(services, &info).await {
        let extensions = std::mem::take(&mut response.extensions);
        response = Response::from_errors(vec![refused]);
        response.extensions = extensions;
    }
    let _entered = span.enter();
    let elapsed = started.elapsed();
    let (elapsed_ms, executed_ms) = (elapsed.as_secs_f64() * 1000.0, executed.as_secs_f64() * 1000.0);
    if elapsed >= slow {
        tracing::warn!(
            cost = figures.cost,
            selections = figures.selections,
            executed_ms,
            elapsed_ms,
            errors = response.errors.len(),
            "slow graphql operation"
        );
    } else {
        tracing::info!(elapsed_ms, errors = response.errors.len(), "graphql operation finished");
    }
    if let Some((operation, kind)) = measured {
        let outcome = response.errors.first().map(error_code).unwrap_or("OK");
        crate::telemetry::metrics::graphql_operation(operation, kind, outcome.to_owned(), elapsed);
    }
    Ok(response)
}

/// `execution`'s response; a panic anywhere in it makes the whole
/// response one masked INTERNAL error (the cause goes to the log), and the
/// server carries on.
pub async fn guarded(execution: impl std::future::Future<Output = Response>) -> Response {
    AssertUnwindSafe(execution).catch_unwind().await.unwrap_or_else(panicked)
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let error: async_graphql::Error = AppError::internal(format!("a resolver panicked: {what}")).into();
    Response::from_errors(vec![error.into_server_error(Default::default())])
}

/// The operation that runs for `operation_name`, as GraphQL picks it (the
/// named one, or the document's only one), with its name if it has one.
pub fn selected_operation<'d>(
    document: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'d str>, &'d OperationDefinition)> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some((None, &operation.node)),
        (DocumentOperations::Multiple(map), Some(name)) => {
            map.get_key_value(name).map(|(name, op)| (Some(name.as_str()), &op.node))
        }
        (DocumentOperations::Multiple(map), None) if map.len() == 1 => {
            map.iter().next().map(|(name, op)| (Some(name.as_str()), &op.node))
        }
        _ => None,
    }
}

/// The root fields of `operation` (the one [`selected_operation`] picked)
/// when it is a mutation, as (response key, field name): one audit slot each.
pub fn mutation_fields(document: &ExecutableDocument, operation: Option<&OperationDefinition>) -> Vec<FieldAudit> {
    let Some(operation) = operation.filter(|op| op.ty == async_graphql::parser::types::OperationType::Mutation) else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    root_fields(document, &operation.selection_set.node.items, &mut fields, 0);
    fields
}

fn root_fields(
    document: &ExecutableDocument,
    items: &[async_graphql::Positioned<Selection>],
    out: &mut Vec<FieldAudit>,
    depth: usize,
) {
    // Fragments at the root cannot nest deeper than the cost check allows;
    // the bound only guards against a cycle it would refuse anyway.
    if depth > 16 {
        return;
    }
    for item in items {
        match &item.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.to_string();
                if field.node.name.node != "__typename" && !out.iter().any(|f| f.key == key) {
                    out.push(FieldAudit::new(key, field.node.name.node.to_string()));
                }
            }
            Selection::InlineFragment(fragment) => {
                root_fields(document, &fragment.node.selection_set.node.items, out, depth + 1)
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    root_fields(document, &fragment.node.selection_set.node.items, out, depth + 1)
                }
            }
        }
    }
}

/// One record per root mutation field whose change was not stored with
/// its own record: failures (nothing changed; the record says why), and
/// mutations without a transactional path.
async fn audit_mutations(services: &Services, info: &RequestInfo, errors: &[ServerError]) {
    for field in &info.mutations {
        if field.was_stored() {
            continue;
        }
        let error = errors.iter().find(|error| match error.path.first() {
            Some(PathSegment::Field(key)) => key == &field.key,
            _ => error.path.is_empty(),
        });
        let outcome = error.map_or("ok", error_code);
        let record = info.audit_record(&field.action, field.target(), outcome);
        append_outside_transaction(services, &record, error.is_some()).await;
    }
}

/// One `readPortfolio` record per portfolio whose personal data a
/// non-owner read, queued for the batched writer before the response
/// leaves; when the writer is gone the read is refused.
async fn audit_reads(services: &Services, info: &RequestInfo) -> Result<(), ServerError> {
    let reads = info.personal_reads.lock().map(|mut reads| std::mem::take(&mut *reads)).unwrap_or_default();
    if reads.is_empty() {
        return Ok(());
    }
    let records: Vec<AuditRecord> =
        reads.into_iter().map(|target| info.audit_record("readPortfolio", Some(target), "ok")).collect();
    record_reads(services, records).await.map_err(|error| {
        tracing::error!(error = %error, "could not record personal-data reads");
        async_graphql::Error::from(AppError::ServiceUnavailable("The audit log")).into_server_error(Default::default())
    })
}

/// The `extensions.code` of an error (INTERNAL when it has none).
pub fn error_code(error: &ServerError) -> &str {
    error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|value| match value {
            Value::String(code) => Some(code.as_str()),
            _ => None,
        })
        .unwrap_or(code::INTERNAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(query: &str, name: Option<&str>) -> Vec<(String, String)> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        mutation_fields(&document, selected_operation(&document, name).map(|(_, op)| op))
            .into_iter()
            .map(|f| (f.key, f.action))
            .collect()
    }

    #[test]
    fn every_root_mutation_field_gets_a_slot_under_its_response_key() {
        assert_eq!(
            keys("mutation { a: submitPortfolio(id: 1) { id } changePortfolio { id } __typename }", None),
            vec![("a".into(), "submitPortfolio".into()), ("changePortfolio".into(), "changePortfolio".into())]
        );
        let spread =
            "mutation M { ...F ... on Mutation { deleteEvidence } } fragment F on Mutation { createPortfolio }";
        assert_eq!(
            keys(spread, Some("M")),
            vec![
                ("createPortfolio".into(), "createPortfolio".into()),
                ("deleteEvidence".into(), "deleteEvidence".into())
            ]
        );
        assert!(keys("query { portfolio(id: 1) { id } }", None).is_empty());
        assert!(keys("query Q { a } mutation M { createPortfolio }", Some("Q")).is_empty());
    }

    struct Query;

    #[async_graphql::Object]
    impl Query {
        async fn fine(&self) -> i32 {
            1
        }
        async fn boom(&self) -> Option<i32> {
            if std::hint::black_box(true) {
                panic!("secret detail from a bug");
            }
            Some(2)
        }
    }

    #[tokio::test]
    async fn a_panicking_resolver_becomes_one_masked_internal_error() {
        let schema =
            async_graphql::Schema::build(Query, async_graphql::EmptyMutation, async_graphql::EmptySubscription)
                .finish();
        let response = guarded(schema.execute("{ fine boom }")).await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        assert_eq!(error_code(&response.errors[0]), code::INTERNAL);
        assert!(!response.errors[0].message.contains("secret"), "{}", response.errors[0].message);
        assert_eq!(guarded(schema.execute("{ fine }")).await.data.to_string(), "{fine: 1}");
    }
}
