//! Cross-cutting behaviour applied to every operation or field, so that no
//! resolver can forget it: operation spans and logs, panic masking, and the
//! audit record of every mutation.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo};
use async_graphql::{Response, ServerError, ServerResult, Value};
use futures::FutureExt;
use tracing::Instrument;

use super::context::RequestInfo;
use crate::app::audit::{append_outside_transaction, record_reads};
use crate::app::error::{AppError, code};
use crate::app::records::AuditRecord;
use crate::services::Services;

/// One span per operation (name, type, duration, error count).
pub struct OperationLog;

impl ExtensionFactory for OperationLog {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationLogExtension)
    }
}

struct OperationLogExtension;

#[async_trait::async_trait]
impl Extension for OperationLogExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span = tracing::info_span!("graphql.operation", operation = operation_name.unwrap_or(""));
        let started = Instant::now();
        let response = next.run(ctx, operation_name).instrument(span.clone()).await;
        let _entered = span.enter();
        tracing::info!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            errors = response.errors.len(),
            "graphql operation finished"
        );
        response
    }
}

/// Turns a panicking resolver into a masked INTERNAL error on that field; the
/// rest of the response and the server carry on.
pub struct PanicGuard;

impl ExtensionFactory for PanicGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PanicGuardExtension)
    }
}

struct PanicGuardExtension;

#[async_trait::async_trait]
impl Extension for PanicGuardExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let pos = info.field.name.pos;
        let field = info.name.to_owned();
        match AssertUnwindSafe(next.run(ctx, info)).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let error: async_graphql::Error =
                    AppError::internal(format!("resolver for `{field}` panicked: {what}")).into();
                Err(error.into_server_error(pos))
            }
        }
    }
}

/// Appends an audit record for every root mutation field: who, what, when,
/// target (set by the resolver), result and request id.
pub struct Audit {
    pub services: Services,
}

impl ExtensionFactory for Audit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AuditExtension { services: self.services.clone() })
    }
}

struct AuditExtension {
    services: Services,
}

#[async_trait::async_trait]
impl Extension for AuditExtension {
    /// After the whole operation: one `readPortfolio` record per portfolio
    /// whose personal data a non-owner read, queued for the batched writer
    /// before the response leaves (if the writer is gone, the read is refused).
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        let Some(request) = ctx.data_opt::<RequestInfo>() else {
            return response;
        };
        let reads = request.personal_reads.lock().map(|mut reads| std::mem::take(&mut *reads)).unwrap_or_default();
        if reads.is_empty() {
            return response;
        }
        let records: Vec<AuditRecord> =
            reads.into_iter().map(|target| request.audit_record("readPortfolio", Some(target), "ok")).collect();
        if let Err(error) = record_reads(&self.services, records).await {
            tracing::error!(error = %error, "could not record personal-data reads");
            let error = async_graphql::Error::from(AppError::ServiceUnavailable("The audit log"))
                .into_server_error(Default::default());
            let mut refused = Response::from_errors(vec![error]);
            refused.extensions = response.extensions;
            return refused;
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.parent_type != "Mutation" {
            return next.run(ctx, info).await;
        }
        let action = info.name.to_owned();
        if let Some(request) = ctx.data_opt::<RequestInfo>() {
            request.change_audited.store(false, Ordering::SeqCst);
        }
        let result = next.run(ctx, info).await;
        let Some(request) = ctx.data_opt::<RequestInfo>() else {
            return result;
        };
        // A change stored with its record in one transaction is audited
        // already; what is left is failures (nothing changed: the record
        // says why) and mutations that have no transactional path.
        if request.change_audited.swap(false, Ordering::SeqCst) {
            return result;
        }
        let target = request.audit_target.lock().ok().and_then(|mut slot| slot.take());
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => error_code(error),
        };
        let record = request.audit_record(&action, target, outcome);
        append_outside_transaction(&self.services, &record, result.is_err()).await;
        result
    }
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
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::*;

    struct Query;

    #[Object]
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
    async fn a_panicking_resolver_is_masked_and_the_rest_answers() {
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription).extension(PanicGuard).finish();
        let response = schema.execute("{ fine boom }").await;
        assert!(response.data.to_string().starts_with("{fine: 1"), "{}", response.data);
        let error = &response.errors[0];
        assert_eq!(error_code(error), code::INTERNAL);
        assert!(!error.message.contains("secret"), "{}", error.message);
    }
}
