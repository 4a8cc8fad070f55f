//! `decidePortfolio`: reviewers and coordinators move a submitted portfolio
//! through review (see `domain::workflow`), with the same version guard as
//! every other change. Decision times feed `stats` (days to decision,
//! endorsements per year).

use async_graphql::{Context, ID, Object};
use mongodb::bson::DateTime;

use super::mutation::{check_version, save};
use super::object::PortfolioObject;
use super::query::parse_id;
use crate::auth::policy::{JUDGES, may_judge};
use crate::domain::workflow::{Decision, next_status};
use crate::graphql::context::{require_role, services, set_audit_target};
use crate::graphql::error::{ApiError, ApiResult};
use crate::store::portfolio::{Projection, Visibility};

/// Longest review note.
const MAX_NOTE_CHARS: usize = 2000;

#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// A review decision (REVIEWER, COORDINATOR, ADMIN; never on one's own
    /// portfolio). APPROVE gives EXAM_ELIGIBLE where the category's rules in
    /// force at submission require an exam, APPROVED otherwise. The first
    /// verdict after a submission sets `decidedAt`; ENDORSE sets `endorsedAt`.
    /// A decision that does not apply to the current status is a CONFLICT.
    async fn decide_portfolio(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        decision: Decision,
        note: Option<String>,
    ) -> ApiResult<PortfolioObject> {
        let viewer = require_role(ctx, JUDGES)?;
        let object_id = parse_id("id", &id)?;
        set_audit_target(ctx, object_id.to_hex());
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            return Err(ApiError::bad_input("note", format!("`note` is longer than {MAX_NOTE_CHARS} characters")));
        }
        let services = services(ctx);
        let mut document = services
            .portfolios()?
            .find(object_id, &Visibility::for_viewer(viewer), &Projection::all())
            .await?
            .ok_or_else(|| ApiError::NotFound("Portfolio".into()))?;
        may_judge(viewer, &document.owner_id, JUDGES)?;
        check_version(&document, expected_version)?;
        let as_of = document.default_as_of(chrono::Utc::now().date_naive());
        let exam_required = services
            .rulebook
            .version_at(as_of)
            .and_then(|version| version.category(document.content.target_category))
            .is_some_and(|category| category.exam_required());
        document.status = next_status(document.status, decision, exam_required)
            .map_err(|refused| ApiError::Conflict(refused.to_string()))?;
        let now = DateTime::now();
        if decision.is_verdict() && document.decided_at.is_none() {
            document.decided_at = Some(now);
        }
        if decision == Decision::Endorse {
            document.endorsed_at = Some(now);
        }
        document.review_note = note;
        save(ctx, document, expected_version).await
    }
}
