//! Portfolio mutations: translate the contract's inputs to the use cases
//! in [`crate::app::portfolios`] and their results back.

use async_graphql::{Context, ID, Json, Object};

use super::inputs::{CreatePortfolioInput, PortfolioChanges};
use super::object::PortfolioObject;
use crate::app::error::AppResult;
use crate::app::portfolios::{self, parse_id};
use crate::graphql::context::{actor, change_audit, services};

#[derive(Default)]
pub struct PortfolioMutation;

#[Object]
impl PortfolioMutation {
    /// Starts a DRAFT portfolio owned by the caller (APPLICANT).
    async fn create_portfolio(&self, ctx: &Context<'_>, input: CreatePortfolioInput) -> AppResult<PortfolioObject> {
        let actor = actor(ctx).await?;
        let input = portfolios::NewPortfolio {
            track: input.track,
            target_category: input.target_category,
            applicant: input.applicant.into_domain(),
            extra: input.extra.map(|Json(value)| value),
        };
        let created = portfolios::create(services(ctx), &actor, input, &change_audit(ctx)).await?;
        Ok(PortfolioObject::new(created, actor))
    }

    /// Applies many changes at once, all or nothing. Fails with CONFLICT
    /// when `expectedVersion` is not the current version.
    async fn change_portfolio(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        changes: PortfolioChanges,
    ) -> AppResult<PortfolioObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("id", &id)?;
        let changes = changes.into_domain();
        let saved =
            portfolios::change(services(ctx), &actor, id, expected_version, changes, &change_audit(ctx)).await?;
        Ok(PortfolioObject::new(saved, actor))
    }

    /// DRAFT or RETURNED -> SUBMITTED; sets `submittedAt`. A resubmission
    /// starts a new review round: the earlier decision time is cleared.
    async fn submit_portfolio(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> AppResult<PortfolioObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("id", &id)?;
        let saved = portfolios::submit(services(ctx), &actor, id, expected_version, &change_audit(ctx)).await?;
        Ok(PortfolioObject::new(saved, actor))
    }
}
