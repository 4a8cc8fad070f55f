//! Review decisions: reviewers and coordinators move a submitted portfolio
//! through review (see `domain::workflow`), with the same version guard as
//! every other change. Decision times feed `stats` (days to decision,
//! endorsements per year).

use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::portfolios::{check_version, find, save_new_status_with};
use super::{Actor, ChangeAudit, fees, policy};
use crate::domain::model::FeeKind;
use crate::domain::workflow::{CategoryRules, Decision, next_status};
use crate::services::Services;
use crate::store::endorsements::Grant;
use crate::store::portfolio::Companions;
use crate::store::portfolio::{PortfolioDocument, Projection};
use crate::store::rounds::ReviewRoundDocument;

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
    let note = super::input::optional_text("note", note, MAX_NOTE_CHARS)?;
    let document =
        find(services, actor, id, &Projection::all()).await?.ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_judge(&actor.viewer, &document.owner_id, policy::JUDGES)?;
    check_version(&document, expected_version)?;
    // A verdict closes the submission's review round (one is opened for it
    // when reviewers were never assigned). A hold does not: the same
    // reviewers go on once what it waits for arrives.
    let round = if matches!(decision, Decision::Return | Decision::Approve | Decision::Emerging) {
        let by = if actor.viewer.has_any_role(policy::STAFF) { "COORDINATOR" } else { "REVIEWER" };
        Some(super::rounds::closing(services, actor, &document, decision, by, note.clone()).await?)
    } else {
        None
    };
    apply(services, actor, document, decision, note, audit, round).await
}

/// Moves `document` (read at its current version) by `decision`, with
/// what the decision implies: the fee gates, the applicant's mail, the
/// endorsement it grants, the review round it closes.
pub(crate) async fn apply(
    services: &Services,
    actor: &Actor,
    mut document: PortfolioDocument,
    decision: Decision,
    note: Option<String>,
    audit: &ChangeAudit<'_>,
    round: Option<(ReviewRoundDocument, Option<i32>)>,
) -> AppResult<PortfolioDocument> {
    let (id, expected_version) = (document.id, document.version);
    let as_of = document.default_as_of(actor.tenant.today());
    let category = document.content.target_category;
    let rules = CategoryRules {
        exam_required: actor.tenant.rulebook.as_ref().is_some_and(|rulebook| rulebook.exam_required(category, as_of)),
        emerging_offered: category == crate::domain::model::Category::ReflectiveSupervisor,
    };
    if decision == Decision::Hold && note.is_none() {
        return Err(AppError::bad_input("note", "say in `note` what the portfolio waits for"));
    }
    document.status =
        next_status(document.status, decision, rules).map_err(|refused| AppError::Conflict(refused.to_string()))?;
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
    let grant = (decision == Decision::Endorse).then(|| grant(actor, &document));
    let companions = Companions { grant, round };
    Ok(save_new_status_with(services, actor, document, expected_version, audit, mail, companions).await?.0)
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
        current_through: actor.tenant.renewal_rules().cycle(actor.tenant.today()).ends,
        by: actor.subject().to_owned(),
    }
}

/// Records the result of the Alliance's exam for an EXAM_ELIGIBLE
/// portfolio (COORDINATOR, ADMIN; never one's own). A pass endorses it
/// (fees settled; the endorsement record is written with it); a fail
/// keeps it EXAM_ELIGIBLE for a retake. Either way the result is kept in
/// the portfolio's exams.
pub async fn record_exam_result(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    expected_version: i32,
    taken_on: chrono::NaiveDate,
    passed: bool,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target(id.to_hex());
    let mut document =
        find(services, actor, id, &Projection::all()).await?.ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_judge(&actor.viewer, &document.owner_id, policy::STAFF)?;
    check_version(&document, expected_version)?;
    if document.status != crate::domain::model::PortfolioStatus::ExamEligible {
        return Err(AppError::Conflict(format!(
            "A {} portfolio has no exam to record; only EXAM_ELIGIBLE ones do.",
            document.status
        )));
    }
    if taken_on > actor.tenant.today() {
        return Err(AppError::bad_input("takenOn", "`takenOn` cannot be after today"));
    }
    let category = document.content.target_category;
    let failed = document.content.exams.iter().filter(|e| e.category == category && !e.passed).count();
    if let Some(retakes) = actor.tenant.association.settings.exam_retakes
        && failed > retakes as usize
    {
        return Err(AppError::Conflict(format!(
            "The exam was failed {failed} times; {} allows {retakes} retakes.",
            actor.tenant.association.name
        )));
    }
    document.content.exams.push(crate::domain::model::ExamResult {
        id: ObjectId::new().to_hex(),
        category: document.content.target_category,
        taken_on,
        passed,
        evidence_ids: Vec::new(),
    });
    if passed {
        let note = Some(format!("Passed the exam on {taken_on}."));
        return apply(services, actor, document, Decision::Endorse, note, audit, None).await;
    }
    super::portfolios::save(services, actor, document, expected_version, audit).await
}
