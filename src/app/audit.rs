//! The audit of one change, for the use case that makes it: it builds the
//! record (with the outcome the use case decides) to be written in the same
//! transaction as the change, and says when both were stored, so that the
//! audit layer of the transport adds no second record.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::store::audit::AuditRecord;

pub struct ChangeAudit<'a> {
    /// Actor, roles, action, request ids and association of the request.
    template: AuditRecord,
    /// The target slot the transport's audit reads for failures.
    target: &'a Mutex<Option<String>>,
    stored: &'a AtomicBool,
}

impl<'a> ChangeAudit<'a> {
    pub fn new(template: AuditRecord, target: &'a Mutex<Option<String>>, stored: &'a AtomicBool) -> Self {
        ChangeAudit { template, target, stored }
    }

    /// Names the object the change acts on (also for a failure's record).
    pub fn target(&self, target: impl Into<String>) {
        if let Ok(mut slot) = self.target.lock() {
            *slot = Some(target.into());
        }
    }

    /// The record to store with a successful change of `target`.
    pub fn record(&self, target: impl Into<String>, outcome: impl Into<String>) -> AuditRecord {
        self.record_with_result(target, outcome, "ok")
    }

    /// The record of a change that is also an error for the caller (a
    /// rejected upload): `result` is the code the caller gets.
    pub fn record_with_result(
        &self,
        target: impl Into<String>,
        outcome: impl Into<String>,
        result: &str,
    ) -> AuditRecord {
        let target = target.into();
        self.target(target.clone());
        AuditRecord {
            target: Some(target),
            outcome: Some(outcome.into()),
            result: result.to_owned(),
            ..self.template.clone()
        }
    }

    /// The change and its record were committed.
    pub fn stored(&self) {
        self.stored.store(true, Ordering::SeqCst);
    }
}

/// Recent audit records of the caller's association, newest first
/// (COORDINATOR, ADMIN). Reads are recorded in batches: every one made so
/// far is included.
pub async fn recent(
    services: &crate::services::Services,
    actor: &super::Actor,
    target: Option<&str>,
    by: Option<&str>,
    limit: i64,
) -> super::error::AppResult<Vec<AuditRecord>> {
    super::policy::require_role(&actor.viewer, super::policy::AUDIT_READERS)?;
    services.store()?;
    services.read_audit.flush().await?;
    Ok(services.audit.recent(actor.tenant.code(), target, by, limit).await?)
}

/// Stores the record of a change that was not stored with it: a failure
/// (nothing changed; the record says why) or a mutation without a
/// transactional path. While MongoDB is known to be down, a failure's
/// record goes to the error log instead: storing it would hold the fast
/// answer for the whole server-selection timeout.
pub async fn append_outside_transaction(services: &crate::services::Services, record: &AuditRecord, failed: bool) {
    if failed && !services.health.mongo_available() {
        tracing::error!(record = ?record, "MongoDB is down; audit record not stored");
    } else if let Err(error) = services.audit.append(record).await {
        tracing::error!(error = %error, record = ?record, "could not append audit record");
    }
}

/// Queues records of personal-data reads for the batched writer; an error
/// when the writer is gone (then the read must be refused).
pub async fn record_reads(
    services: &crate::services::Services,
    records: Vec<AuditRecord>,
) -> Result<(), crate::store::StoreError> {
    services.read_audit.record(records).await
}
