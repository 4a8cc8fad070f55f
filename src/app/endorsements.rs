//! Endorsement records, granted by the ENDORSE decision (see
//! [`super::review`]): the endorsee reads their own; staff and reviewers
//! read anyone's in their association.

use mongodb::bson::oid::ObjectId;

use super::error::AppResult;
use super::{Actor, policy};
use crate::services::Services;
use crate::store::endorsements::EndorsementDocument;

/// The endorsements of `subject` (the caller's own when none is named).
pub async fn of_subject(
    services: &Services,
    actor: &Actor,
    subject: Option<&str>,
) -> AppResult<Vec<EndorsementDocument>> {
    let subject = subject.unwrap_or(actor.subject());
    if !policy::is_subject_of(&actor.viewer, subject) {
        policy::require_role(&actor.viewer, policy::JUDGES)?;
    }
    Ok(services.endorsements(&actor.tenant)?.of_subject(subject).await?)
}

/// The endorsement a portfolio the caller sees earned, if any.
pub async fn of_portfolio(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
) -> AppResult<Option<EndorsementDocument>> {
    Ok(services.endorsements(&actor.tenant)?.of_portfolio(portfolio_id).await?)
}
