//! Relay's Global Object Identification: every type with a global id
//! implements `Node`, and `node(id:)` / `nodes(ids:)` refetch any of them
//! through the same use cases (policy and association) as their own
//! queries: an id the caller may not see is `null`, as if absent.
//! Portfolio and evidence ids are ObjectIds, unique across both
//! collections, so an id names one object without a type prefix (and the
//! contract's ids stay as they are). Entry ids name an entry within its
//! portfolio only; entries are reached through their portfolio.

use std::sync::Arc;

use async_graphql::{Context, ID, Interface, Object};

use super::context::{actor, note_personal_reads, services};
use super::evidence::EvidenceObject;
use super::portfolio::{PortfolioObject, projection};
use crate::app::error::{AppError, AppResult};
use crate::app::portfolios::parse_id;
use crate::app::{Actor, evidence, portfolios};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
// Built once per object resolved and handed straight to the executor:
// boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Node {
    Portfolio(PortfolioObject),
    Evidence(EvidenceObject),
}

/// Most ids one `nodes` call resolves.
const MAX_NODES: usize = 100;

#[derive(Default)]
pub struct NodeQuery;

async fn resolve(ctx: &Context<'_>, actor: &Arc<Actor>, id: &ID) -> AppResult<Option<Node>> {
    let object_id = parse_id("id", id)?;
    let services = services(ctx);
    let projection = projection::for_selection(ctx.look_ahead());
    if let Some(document) = portfolios::read(services, actor, object_id, &projection).await? {
        note_personal_reads(ctx, &actor.viewer, std::iter::once(&*document));
        return Ok(Some(Node::Portfolio(PortfolioObject::new(document, actor.clone()))));
    }
    let record = evidence::find(services, actor, object_id).await?;
    Ok(record.map(|record| Node::Evidence(EvidenceObject::new(record, actor.clone()))))
}

#[Object]
impl NodeQuery {
    /// Any object by its global id: a portfolio or an evidence file; null
    /// when it does not exist or the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Node>> {
        let actor = Arc::new(actor(ctx).await?);
        resolve(ctx, &actor, &id).await
    }

    /// Several objects by global id, in the order asked (at most 100).
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> AppResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(AppError::bad_input("ids", format!("at most {MAX_NODES} ids per call")));
        }
        let actor = Arc::new(actor(ctx).await?);
        let mut found = Vec::with_capacity(ids.len());
        for id in &ids {
            found.push(resolve(ctx, &actor, id).await?);
        }
        Ok(found)
    }
}
