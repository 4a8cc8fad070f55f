//! The subscription root: live events over `graphql-transport-ws` (see
//! `http::ws`), authenticated in `connection_init`.

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::app::events::{self, Delivered};
use crate::app::portfolios::parse_id;
use crate::domain::model::PortfolioEventKind;
use crate::graphql::context::{actor, services};
use crate::graphql::scalars::DateTime;

/// Something that happened to a portfolio. RESYNC means events may have
/// been missed: read the portfolio again.
#[derive(SimpleObject)]
pub struct PortfolioEvent {
    pub kind: PortfolioEventKind,
    pub portfolio_id: ID,
    pub at: DateTime,
    /// The portfolio's new status (STATUS_CHANGED) or the evidence's (EVIDENCE_REVIEWED).
    pub status: Option<String>,
    /// The evidence or reference request the event is about.
    pub subject_id: Option<ID>,
}

impl From<Delivered> for PortfolioEvent {
    fn from(event: Delivered) -> Self {
        PortfolioEvent {
            kind: event.kind,
            portfolio_id: ID(event.portfolio_id.to_hex()),
            at: event.at.into(),
            status: event.status,
            subject_id: event.subject_id.map(|id| ID(id.to_hex())),
        }
    }
}

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// What happens to a portfolio the caller may see (its owner, reviewers
    /// of submitted portfolios, coordinators): a status change, a reference
    /// submitted, evidence reviewed, whichever instance made the change.
    async fn portfolio_events(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
    ) -> async_graphql::Result<BoxStream<'static, PortfolioEvent>> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        Ok(events::subscribe(services(ctx), &actor, id).await?.map(PortfolioEvent::from).boxed())
    }
}
