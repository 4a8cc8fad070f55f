//! Per-request data the resolvers read, and the guard helpers every resolver
//! reuses for identity, roles and ownership.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::Context;

use super::error::{ApiError, ApiResult};
use crate::auth::{Identity, Role, Viewer};
use crate::http::request_id::RequestId;
use crate::services::Services;
use crate::store::audit::AuditRecord;
use crate::store::portfolio::PortfolioDocument;

/// Attached to every GraphQL request by the HTTP layer.
pub struct RequestInfo {
    pub request_id: RequestId,
    pub identity: Identity,
    /// The object the current mutation acts on, set by its resolver and read
    /// by the audit extension once the mutation has finished.
    pub audit_target: Mutex<Option<String>>,
    /// Portfolios whose personal data someone other than their owner read
    /// in this request; the audit extension records each once at the end.
    pub personal_reads: Mutex<Vec<String>>,
    /// Set once the running mutation's change was stored together with
    /// its audit record, so that the audit extension does not add another.
    pub change_audited: AtomicBool,
}

impl RequestInfo {
    pub fn new(request_id: RequestId, identity: Identity) -> Self {
        RequestInfo {
            request_id,
            identity,
            audit_target: Mutex::new(None),
            personal_reads: Mutex::new(Vec::new()),
            change_audited: AtomicBool::new(false),
        }
    }

    /// An audit record of this request's caller doing `action`.
    pub fn audit_record(&self, action: &str, target: Option<String>, result: &str) -> AuditRecord {
        let (actor, roles) = self.actor();
        AuditRecord {
            actor,
            roles,
            action: action.to_owned(),
            target,
            result: result.to_owned(),
            outcome: None,
            request_id: self.request_id.server.clone(),
            client_request_id: self.request_id.client.clone(),
            at: mongodb::bson::DateTime::now(),
        }
    }

    pub fn actor(&self) -> (String, Vec<String>) {
        match &self.identity {
            Identity::Authenticated(viewer) => {
                (viewer.subject.clone(), viewer.roles.iter().map(|r| r.as_str().to_owned()).collect())
            }
            _ => ("anonymous".to_owned(), Vec::new()),
        }
    }
}

pub fn request_info<'a>(ctx: &Context<'a>) -> &'a RequestInfo {
    ctx.data_unchecked::<RequestInfo>()
}

pub fn services<'a>(ctx: &Context<'a>) -> &'a Services {
    ctx.data_unchecked::<Services>()
}

/// The authenticated caller, or UNAUTHENTICATED saying why not.
pub fn viewer<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    match &request_info(ctx).identity {
        Identity::Authenticated(viewer) => Ok(viewer),
        Identity::Anonymous => Err(ApiError::Unauthenticated("send `Authorization: Bearer <token>`".into())),
        Identity::Rejected(why) => Err(ApiError::from(why.clone())),
    }
}

/// The caller, if they hold at least one of `roles`; FORBIDDEN otherwise.
pub fn require_role<'a>(ctx: &Context<'a>, roles: &[Role]) -> ApiResult<&'a Viewer> {
    let viewer = viewer(ctx)?;
    if viewer.has_any_role(roles) { Ok(viewer) } else { Err(ApiError::Forbidden) }
}

/// The audit record of the running mutation's change, to be written in the
/// same transaction as the change ([`crate::store::Store::transaction`]);
/// call [`change_stored`] once that transaction committed.
pub fn change_record(ctx: &Context<'_>, target: impl Into<String>, outcome: Option<String>) -> AuditRecord {
    let request = request_info(ctx);
    let target = target.into();
    set_audit_target(ctx, target.clone());
    let mut record = request.audit_record(ctx.field().name(), Some(target), "ok");
    record.outcome = outcome;
    record
}

/// The audit of one mutation's change, for code below the resolver that
/// decides the outcome (evidence verification): it builds the record with
/// the outcome and says when the change and record were stored.
pub struct ChangeAudit<'a> {
    record: AuditRecord,
    stored: &'a AtomicBool,
}

impl ChangeAudit<'_> {
    /// The record to store with the change: `result` is "ok" or the error
    /// code the caller will get (a rejection is a change, and an error).
    pub fn record(&self, outcome: impl Into<String>, result: &str) -> AuditRecord {
        AuditRecord { outcome: Some(outcome.into()), result: result.to_owned(), ..self.record.clone() }
    }

    /// The change and its record were committed.
    pub fn stored(&self) {
        self.stored.store(true, Ordering::SeqCst);
    }
}

pub fn change_audit<'a>(ctx: &Context<'a>, target: impl Into<String>) -> ChangeAudit<'a> {
    ChangeAudit { record: change_record(ctx, target, None), stored: &request_info(ctx).change_audited }
}

/// The running mutation's change and its audit record are stored: the
/// audit extension adds no record of its own.
pub fn change_stored(ctx: &Context<'_>) {
    request_info(ctx).change_audited.store(true, Ordering::SeqCst);
}

/// Records the target of the running mutation for the audit log.
pub fn set_audit_target(ctx: &Context<'_>, target: impl Into<String>) {
    if let Ok(mut slot) = request_info(ctx).audit_target.lock() {
        *slot = Some(target.into());
    }
}

/// Notes that `viewer` read these portfolios, for the audit log (S24):
/// reads by anyone but the owner (reviewers, coordinators, admins) are
/// recorded; an applicant reading their own portfolio is not.
pub fn note_personal_reads<'d>(
    ctx: &Context<'_>,
    viewer: &Viewer,
    documents: impl IntoIterator<Item = &'d PortfolioDocument>,
) {
    let Ok(mut reads) = request_info(ctx).personal_reads.lock() else { return };
    for document in documents {
        let id = document.id.to_hex();
        if !viewer.owns(&document.owner_id) && !reads.contains(&id) {
            reads.push(id);
        }
    }
}
