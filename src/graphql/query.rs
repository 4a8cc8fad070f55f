//! Query root.

use async_graphql::{Context, Object, SimpleObject};

use super::context::{require_role, services, viewer};
use super::error::ApiResult;
use super::scalars::DateTime;
use crate::auth::{Role, Viewer};
use crate::store::audit::AuditRecord;

#[derive(Default)]
pub struct QueryRoot;

/// The most audit entries one query returns.
const MAX_AUDIT_ENTRIES: i32 = 200;

#[Object]
impl QueryRoot {
    /// The caller, as identified by their bearer token.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<ViewerObject> {
        Ok(ViewerObject(viewer(ctx)?.clone()))
    }

    /// Recent audit records, newest first (COORDINATOR, ADMIN).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        target: Option<String>,
        actor: Option<String>,
        #[graphql(default = 50)] first: Option<i32>,
    ) -> ApiResult<Vec<AuditEntry>> {
        require_role(ctx, &[Role::Coordinator, Role::Admin])?;
        let limit = first.unwrap_or(50).clamp(0, MAX_AUDIT_ENTRIES);
        let services = services(ctx);
        services.store()?;
        // Reads are recorded in batches; include every one made so far.
        services.read_audit.flush().await?;
        let records = services.audit.recent(target.as_deref(), actor.as_deref(), i64::from(limit)).await?;
        Ok(records.into_iter().map(AuditEntry::from).collect())
    }
}

/// The authenticated caller.
pub struct ViewerObject(pub Viewer);

#[Object(name = "Viewer")]
impl ViewerObject {
    /// The token's subject (`sub`).
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    async fn roles(&self) -> &[Role] {
        &self.0.roles
    }
}

/// One audit record.
#[derive(SimpleObject)]
pub struct AuditEntry {
    actor: String,
    roles: Vec<String>,
    action: String,
    target: Option<String>,
    /// "ok" or the error code the caller received.
    result: String,
    request_id: String,
    at: DateTime,
}

impl From<AuditRecord> for AuditEntry {
    fn from(record: AuditRecord) -> Self {
        AuditEntry {
            actor: record.actor,
            roles: record.roles,
            action: record.action,
            target: record.target,
            result: record.result,
            request_id: record.request_id,
            at: record.at.into(),
        }
    }
}
