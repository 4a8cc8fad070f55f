//! Review decisions: reviewers and coordinators move a submitted portfolio
//! through review (see `domain::workflow`), with the same version guard as
//! every other change. Decision times feed `stats` (days to decision,
//! endorsements per year).

use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::portfolios::{check_version, find, save_granting, save_new_status};
use super::{Actor, ChangeAudit, fees, policy};
use crate::domain::model::FeeKind;
use crate::domain::workflow::{Decision, next_status};
use crate::services::Services;
use crate::store::endorsements::Grant;
use crate::store::portfolio::{PortfolioDocument, Projection};

/// Longest review note.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A review decision (REVIEWER, COORDINATOR, ADMIN; never on one's own
/// portfolio). APPROVE gives EXAM_ELIGIBLE where the category's rules in
/// force at submission require an exam, APPROVED otherwise. The first
/// verdict after a submission sets `decidedAt`; ENDORSE sets `endorsedAt`.
/// A decision that does not apply to the current status is a CONFLICT.
pub async fn decide(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    expected_version: i32,
    decision: Decision,
    note: Option<String>,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    policy::require_role(&actor.viewer, policy::JUDGES)?;
    audit.target(id.to_hex());
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(AppError::bad_input("note", format!("`note` is longer than {MAX_NOTE_CHARS} characters")));
    }
    let mut document =
        find(services, actor, id, &Projection::all()).await?.ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_judge(&actor.viewer, &document.owner_id, policy::JUDGES)?;
    check_version(&document, expected_version)?;
    let as_of = document.default_as_of(actor.tenant.today());
    let exam_required = actor
        .tenant
        .rulebook
        .as_ref()
        .is_some_and(|rulebook| rulebook.exam_required(document.content.target_category, as_of));
    document.status = next_status(document.status, decision, exam_required)
        .map_err(|refused| AppError::Conflict(refused.to_string()))?;
    // Fees are owed to the association before approval and endorsement.
    match decision {
        Decision::Approve => {
            fees::require_settled(services, &actor.tenant, id, &[FeeKind::Processing], "Approval").await?;
        }
        Decision::Endorse => fees::require_settled(services, &actor.tenant, id, &[], "Endorsement").await?,
        _ => {}
    }
    let now = DateTime::now();
    if decision.is_verdict() && document.decided_at.is_none() {
        document.decided_at = Some(now);
    }
    if decision == Decision::Endorse {
        document.endorsed_at = Some(now);
    }
    document.review_note = note;
    // The applicant hears of every verdict (not of a reviewer taking it up).
    let mail = if decision.is_verdict() { super::mail::decision(&actor.tenant, &document)? } else { Vec::new() };
    if decision == Decision::Endorse {
        let grant = grant(actor, &document);
        return Ok(save_granting(services, actor, document, expected_version, audit, mail, grant).await?.0);
    }
    save_new_status(services, actor, document, expected_version, audit, mail).await
}

/// The endorsement an ENDORSE decision grants: the portfolio's category
/// and track, from the association's today.
fn grant(actor: &Actor, document: &PortfolioDocument) -> Grant {
    let applicant = document.applicant.as_ref();
    Grant {
        subject: document.owner_id.clone(),
        name: applicant.map_or_else(|| document.owner_id.clone(), |a| a.name.clone()),
        email: applicant.and_then(|a| a.email.clone()),
        category: document.content.target_category,
        track: document.content.track,
        portfolio_id: document.id,
        endorsed_on: actor.tenant.today(),
        by: actor.subject().to_owned(),
    }
}
