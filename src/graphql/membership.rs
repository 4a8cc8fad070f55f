//! Membership records through GraphQL. See [`crate::app::memberships`].

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::context::{actor, change_audit, services};
use super::fees::MoneyObject;
use super::portfolio::PortfolioObject;
use super::scalars::{Date, DateTime};
use crate::app::error::AppResult;
use crate::app::memberships::{self, NewMembership};
use crate::app::portfolios::parse_id;
use crate::app::records::MembershipRecord;
use crate::domain::model::MembershipType;

/// A membership on the association's records.
#[derive(SimpleObject)]
#[graphql(name = "MembershipRecord")]
pub struct MembershipRecordObject {
    pub email: String,
    pub name: String,
    #[graphql(name = "type")]
    pub kind: MembershipType,
    pub valid_from: Date,
    /// Valid through this day.
    pub valid_until: Date,
    pub fee_paid: Option<MoneyObject>,
    /// IMPORTED (from the member list) or ENTERED (by staff).
    pub source: String,
    pub recorded_at: DateTime,
}

impl From<MembershipRecord> for MembershipRecordObject {
    fn from(record: MembershipRecord) -> Self {
        MembershipRecordObject {
            email: record.email,
            name: record.name,
            kind: record.kind,
            valid_from: Date(record.valid_from),
            valid_until: Date(record.valid_until),
            fee_paid: record.fee_paid.map(Into::into),
            source: record.source,
            recorded_at: record.recorded_at.into(),
        }
    }
}

#[derive(InputObject)]
pub struct MembershipRecordInput {
    pub email: String,
    pub name: String,
    #[graphql(name = "type")]
    pub kind: MembershipType,
    pub valid_from: Date,
    /// Valid through this day.
    pub valid_until: Date,
    pub fee_paid_cents: Option<i64>,
}

#[derive(Default)]
pub struct MembershipQuery;

#[Object]
impl MembershipQuery {
    /// The association's membership records of `email`, latest first
    /// (COORDINATOR, ADMIN).
    async fn memberships(&self, ctx: &Context<'_>, email: String) -> AppResult<Vec<MembershipRecordObject>> {
        let actor = actor(ctx).await?;
        Ok(memberships::of_email(services(ctx), &actor, &email).await?.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct MembershipMutation;

#[Object]
impl MembershipMutation {
    /// Records a membership (COORDINATOR, ADMIN); one of the same person
    /// and first day is replaced.
    async fn record_membership(
        &self,
        ctx: &Context<'_>,
        input: MembershipRecordInput,
    ) -> AppResult<MembershipRecordObject> {
        let actor = actor(ctx).await?;
        let input = NewMembership {
            email: input.email,
            name: input.name,
            kind: input.kind,
            valid_from: input.valid_from.0,
            valid_until: input.valid_until.0,
            fee_paid_cents: input.fee_paid_cents,
        };
        Ok(memberships::record(services(ctx), &actor, input, &change_audit(ctx)).await?.into())
    }

    /// Imports the member list (COORDINATOR, ADMIN): CSV with the header
    /// `email,name,type,valid_from,valid_until,fee_paid`. A bad row refuses
    /// the whole file (BAD_USER_INPUT naming its lines). How many rows
    /// were recorded.
    async fn import_memberships(&self, ctx: &Context<'_>, csv: String) -> AppResult<i32> {
        let actor = actor(ctx).await?;
        let imported = memberships::import(services(ctx), &actor, &csv, &change_audit(ctx)).await?;
        Ok(i32::try_from(imported).unwrap_or(i32::MAX))
    }

    /// Accepts the applicant's claim of another infant mental health
    /// association's membership as checked (COORDINATOR, ADMIN), where the
    /// association accepts those (`acceptOtherMemberships`).
    async fn check_membership_claim(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        expected_version: i32,
    ) -> AppResult<PortfolioObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        let document =
            memberships::check_claim(services(ctx), &actor, id, expected_version, &change_audit(ctx)).await?;
        Ok(PortfolioObject::new(document, actor))
    }
}
