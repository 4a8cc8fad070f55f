//! Per-request data the resolvers read: the request's identity, the caller
//! inside their association, the audit of the running change.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::Context;

use crate::app::error::{AppError, AppResult};
use crate::app::records::AuditRecord;
use crate::app::records::PortfolioDocument;
use crate::app::{Actor, ChangeAudit};
use crate::auth::{Identity, Viewer};
use crate::http::request_id::RequestId;
use crate::services::Services;

/// Attached to every GraphQL request by the HTTP layer.
pub struct RequestInfo {
    pub request_id: RequestId,
    pub identity: Identity,
    /// The name of the operation that runs (from the document when the
    /// request names none), for logs, traces and metrics.
    pub operation_name: Option<String>,
    /// One slot per root field when the operation is a mutation, filled by
    /// the use case and read by [`super::execution`] once it has run.
    pub mutations: Vec<FieldAudit>,
    /// For a mutation field missing from `mutations` (none should be).
    unlisted: FieldAudit,
    /// Portfolios whose personal data someone other than their owner read
    /// in this request; [`super::execution`] records each once at the end.
    pub personal_reads: Mutex<Vec<String>>,
}

/// The audit of one root mutation field.
#[derive(Debug)]
pub struct FieldAudit {
    /// The field's response key (its alias, else its name).
    pub key: String,
    /// The field's name: the audit record's action.
    pub action: String,
    /// The object it acts on, set by the use case.
    target: Mutex<Option<String>>,
    /// Set once the change was stored together with its audit record, so
    /// that no second record is added.
    stored: AtomicBool,
}

impl FieldAudit {
    pub fn new(key: String, action: String) -> Self {
        FieldAudit { key, action, target: Mutex::new(None), stored: AtomicBool::new(false) }
    }

    pub fn was_stored(&self) -> bool {
        self.stored.load(Ordering::SeqCst)
    }

    pub fn target(&self) -> Option<String> {
        self.target.lock().ok().and_then(|slot| slot.clone())
    }
}

impl RequestInfo {
    pub fn new(
        request_id: RequestId,
        identity: Identity,
        operation_name: Option<String>,
        mutations: Vec<FieldAudit>,
    ) -> Arc<Self> {
        Arc::new(RequestInfo {
            request_id,
            identity,
            operation_name,
            mutations,
            unlisted: FieldAudit::new(String::new(), String::new()),
            personal_reads: Mutex::new(Vec::new()),
        })
    }

    /// An audit record of this request's caller doing `action`.
    pub fn audit_record(&self, action: &str, target: Option<String>, result: &str) -> AuditRecord {
        let (actor, roles) = self.actor();
        let association = match &self.identity {
            Identity::Authenticated(viewer) => viewer.association.clone(),
            _ => None,
        };
        AuditRecord {
            association,
            actor,
            roles,
            action: action.to_owned(),
            target,
            result: result.to_owned(),
            outcome: None,
            request_id: self.request_id.server.clone(),
            client_request_id: self.request_id.client.clone(),
            at: mongodb::bson::DateTime::now(),
            request_ids: Vec::new(),
            last_at: None,
            event: None,
            mail: Vec::new(),
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
    ctx.data_unchecked::<Arc<RequestInfo>>()
}

pub fn services<'a>(ctx: &Context<'a>) -> &'a Services {
    ctx.data_unchecked::<Services>()
}

/// The authenticated caller, or UNAUTHENTICATED saying why not.
pub fn viewer<'a>(ctx: &Context<'a>) -> AppResult<&'a Viewer> {
    match &request_info(ctx).identity {
        Identity::Authenticated(viewer) => Ok(viewer),
        Identity::Anonymous => Err(AppError::Unauthenticated("send `Authorization: Bearer <token>`".into())),
        Identity::Rejected(why) => Err(AppError::from(why.clone())),
    }
}

/// The caller inside their association (see [`Actor::resolve`]).
pub async fn actor(ctx: &Context<'_>) -> AppResult<Actor> {
    Actor::resolve(services(ctx), viewer(ctx)?).await
}

/// The audit of the running mutation's change, for the use case to store
/// with the change.
pub fn change_audit<'a>(ctx: &Context<'a>) -> ChangeAudit<'a> {
    let request = request_info(ctx);
    let field = ctx.field();
    let key = field.alias().unwrap_or(field.name());
    let slot = request.mutations.iter().find(|slot| slot.key == key).unwrap_or(&request.unlisted);
    let template = request.audit_record(field.name(), None, "ok");
    ChangeAudit::new(template, &slot.target, &slot.stored)
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
        if crate::app::policy::read_is_audited(viewer, &document.owner_id) && !reads.contains(&id) {
            reads.push(id);
        }
    }
}
