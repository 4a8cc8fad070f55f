//! `decidePortfolio`: see [`crate::app::review::decide`].

use async_graphql::{Context, ID, Object};

use super::object::PortfolioObject;
use crate::app::error::AppResult;
use crate::app::portfolios::parse_id;
use crate::app::review;
use crate::domain::workflow::Decision;
use crate::graphql::context::{actor, change_audit, services};

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
    ) -> AppResult<PortfolioObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("id", &id)?;
        let decided =
            review::decide(services(ctx), &actor, id, expected_version, decision, note, &change_audit(ctx)).await?;
        Ok(PortfolioObject::new(decided, actor))
    }
}
