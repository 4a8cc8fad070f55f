//! Endorsement records through GraphQL. See [`crate::app::endorsements`].

use async_graphql::{Context, ID, Object, SimpleObject};

use super::context::{actor, services};
use super::portfolio::PortfolioObject;
use super::scalars::Date;
use crate::app::endorsements;
use crate::app::error::AppResult;
use crate::app::records::{EndorsementDocument, StatusChange};
use crate::domain::model::{Category, EndorsementStatus, Track};

/// One status an endorsement has had.
#[derive(SimpleObject)]
pub struct EndorsementStatusChange {
    pub status: EndorsementStatus,
    pub on: Date,
    pub reason: Option<String>,
}

impl From<StatusChange> for EndorsementStatusChange {
    fn from(change: StatusChange) -> Self {
        EndorsementStatusChange { status: change.status, on: Date(change.on), reason: change.reason }
    }
}

/// An endorsement granted by the association.
#[derive(SimpleObject)]
pub struct Endorsement {
    pub id: ID,
    /// Unique across the deployment, e.g. "NYS-AIMH-IMHS-000042".
    pub number: String,
    pub name: String,
    pub category: Category,
    pub track: Track,
    /// The published code, e.g. "IMHS".
    pub code: String,
    pub endorsed_on: Date,
    /// The end of the renewal cycle it was granted in.
    pub current_through: Date,
    pub status: EndorsementStatus,
    /// Oldest first.
    pub history: Vec<EndorsementStatusChange>,
    /// Shown on the public registry because the endorsee opted in.
    pub location: Option<String>,
    pub employer: Option<String>,
}

impl From<EndorsementDocument> for Endorsement {
    fn from(record: EndorsementDocument) -> Self {
        Endorsement {
            id: ID(record.id.to_hex()),
            number: record.number,
            name: record.name,
            category: record.category,
            track: record.track,
            code: record.category.code(record.track).to_owned(),
            endorsed_on: Date(record.endorsed_on),
            current_through: Date(record.current_through),
            status: record.status,
            history: record.history.into_iter().map(Into::into).collect(),
            location: record.listing.as_ref().and_then(|l| l.location.clone()),
            employer: record.listing.and_then(|l| l.employer),
        }
    }
}

/// The portfolio's `endorsement` field.
pub async fn of_portfolio(ctx: &Context<'_>, portfolio: &PortfolioObject) -> AppResult<Option<Endorsement>> {
    Ok(endorsements::of_portfolio(services(ctx), &portfolio.1, portfolio.0.id).await?.map(Into::into))
}

#[derive(Default)]
pub struct EndorsementQuery;

#[Object]
impl EndorsementQuery {
    /// The endorsements of `subject` in the caller's association (the
    /// caller's own when left out; anyone's for REVIEWER, COORDINATOR, ADMIN).
    async fn endorsements(&self, ctx: &Context<'_>, subject: Option<String>) -> AppResult<Vec<Endorsement>> {
        let actor = actor(ctx).await?;
        let found = endorsements::of_subject(services(ctx), &actor, subject.as_deref()).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}
