//! Portfolio queries: one by id, a filtered Relay connection, the rulebook.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use base64::Engine;
use mongodb::bson::oid::ObjectId;

use super::eligibility::{CategoryRules, RequirementRule};
use super::object::PortfolioObject;
use super::projection;
use crate::app::associations;
use crate::app::error::{AppError, AppResult};
use crate::app::evaluation::AllRecords;
use crate::app::page_sections::{Member, PageSections};
use crate::app::portfolios::{self, parse_id};
use crate::app::records::{ListFilter, Projection};
use crate::auth::Identity;
use crate::domain::model::{Category, PortfolioStatus, Track};
use crate::graphql::context::{actor, note_personal_reads, request_info, services};
use crate::graphql::scalars::Date;

#[derive(Default)]
pub struct PortfolioQuery;

const CURSOR_PREFIX: &str = "portfolio:";

fn encode_cursor(id: ObjectId) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{}", id.to_hex()))
}

fn decode_cursor(cursor: &str) -> AppResult<ObjectId> {
    let invalid = || AppError::bad_input("after", "`after` is not a cursor from this API");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let hex = text.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
    ObjectId::parse_str(hex).map_err(|_| invalid())
}

#[derive(InputObject, Default)]
pub struct PortfolioFilter {
    pub status: Option<Vec<PortfolioStatus>>,
    pub category: Option<Vec<Category>>,
    pub track: Option<Track>,
    pub owner_id: Option<String>,
    /// Submitted on or after this date (UTC).
    pub submitted_from: Option<Date>,
    /// Submitted on or before this date (UTC).
    pub submitted_to: Option<Date>,
    /// A review cycle's queue: its categories, submitted in its window.
    pub review_cycle: Option<String>,
}

impl PortfolioFilter {
    fn into_list_filter(self, actor: &crate::app::Actor) -> AppResult<ListFilter> {
        let cycle = self.review_cycle.clone();
        let filter = ListFilter {
            statuses: self.status.unwrap_or_default(),
            categories: self.category.unwrap_or_default(),
            track: self.track,
            owner_id: self.owner_id,
            submitted_from: self.submitted_from.map(|d| d.0),
            submitted_to: self.submitted_to.map(|d| d.0),
        };
        match cycle {
            Some(id) => crate::app::cycles::narrow(actor, &id, filter),
            None => Ok(filter),
        }
    }
}

#[Object]
impl PortfolioQuery {
    /// A portfolio, or null when it does not exist or is not visible to the caller.
    async fn portfolio(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<PortfolioObject>> {
        let actor = Arc::new(actor(ctx).await?);
        let id = parse_id("id", &id)?;
        let projection = projection::for_selection(ctx.look_ahead());
        let found = portfolios::read(services(ctx), &actor, id, &projection).await?;
        note_personal_reads(ctx, &actor.viewer, found.as_deref());
        Ok(found.map(|document| PortfolioObject::new(document, actor)))
    }

    /// Portfolios visible to the caller, newest first.
    async fn portfolios(
        &self,
        ctx: &Context<'_>,
        filter: Option<PortfolioFilter>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<PortfolioConnection> {
        let actor = Arc::new(actor(ctx).await?);
        let services = services(ctx);
        let max = services.config.limits.max_page_size;
        let first = first.unwrap_or(20);
        if first < 0 {
            return Err(AppError::bad_input("first", "`first` must not be negative"));
        }
        let limit = (first as usize).min(max);
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let filter = filter.unwrap_or_default().into_list_filter(&actor)?;
        let look_ahead = ctx.look_ahead();
        let node = look_ahead.field("edges").field("node");
        let evaluates = projection::evaluates(&node);
        let projection = projection::for_page(node);
        let wants_nodes = look_ahead.field("edges").exists() || look_ahead.field("pageInfo").exists();
        let mut nodes = if wants_nodes && limit > 0 {
            portfolios::page(services, &actor, &filter, after, limit as i64 + 1, &projection).await?
        } else {
            Vec::new()
        };
        let has_next_page = nodes.len() > limit;
        nodes.truncate(limit);
        note_personal_reads(ctx, &actor.viewer, &nodes);
        let total_count = if look_ahead.field("totalCount").exists() {
            portfolios::count(services, &actor, &filter).await?
        } else {
            0
        };
        let edges = if evaluates && !nodes.is_empty() {
            evaluated_edges(services, &actor, nodes, &projection).await?
        } else {
            nodes
                .into_iter()
                .map(|doc| PortfolioEdge {
                    cursor: encode_cursor(doc.id),
                    node: PortfolioObject::new(doc, actor.clone()),
                })
                .collect()
        };
        Ok(PortfolioConnection {
            page_info: PageInfo { has_next_page, end_cursor: edges.last().map(|e| e.cursor.clone()) },
            edges,
            total_count: i32::try_from(total_count).unwrap_or(i32::MAX),
        })
    }

    /// The requirements of every category offered on `track` under the
    /// rulebook version of `association` in force on `asOf` (default: the
    /// association's today). Public. `association` defaults to the
    /// caller's, or for anonymous callers the deployment's default.
    async fn rulebook(
        &self,
        ctx: &Context<'_>,
        track: Track,
        as_of: Option<Date>,
        association: Option<String>,
    ) -> AppResult<Vec<CategoryRules>> {
        let callers = match &request_info(ctx).identity {
            Identity::Authenticated(viewer) => viewer.association.as_ref(),
            _ => None,
        };
        let tenant = associations::for_public_read(services(ctx), association.as_deref(), callers).await?;
        let rulebook = tenant.rulebook("association")?;
        let as_of = as_of.map_or_else(|| tenant.today(), |d| d.0);
        let version = rulebook.in_force(as_of).map_err(|refused| AppError::bad_input("asOf", refused.to_string()))?;
        if !version.offers(track) {
            return Ok(Vec::new());
        }
        let cents = |fee: Option<&crate::domain::rulebook::Fee>| fee.map(|f| f.cents as i32);
        Ok(version
            .categories
            .iter()
            .map(|definition| CategoryRules {
                category: definition.category,
                track,
                code: definition.category.code(track).to_owned(),
                title: definition.title(track).to_owned(),
                requirements: definition
                    .rules()
                    .into_iter()
                    .map(|rule| RequirementRule {
                        key: rule.key,
                        title: rule.title,
                        optional: rule.optional,
                        description: rule.description,
                        parent_key: rule.parent,
                    })
                    .collect(),
                rulebook: version.id.clone(),
                registration_fee_cents: cents(definition.registration_fee.as_ref()),
                processing_fee_cents: cents(definition.processing_fee.as_ref()),
                exam_fee_cents: cents(version.exam_fee.as_ref()),
            })
            .collect())
    }
}

/// The edges of a page whose portfolios are evaluated. Their applicants'
/// records are read in two queries, not two per portfolio; when the page
/// was fetched without the sections, they share a [`PageSections`] that
/// fetches them on first need.
async fn evaluated_edges(
    services: &crate::services::Services,
    actor: &Arc<crate::app::Actor>,
    nodes: Vec<crate::app::records::PortfolioDocument>,
    projection: &Projection,
) -> AppResult<Vec<PortfolioEdge>> {
    let records = AllRecords::of_page(services, &actor.tenant, &nodes).await?;
    let records: Vec<_> = nodes.iter().map(|doc| records.of(doc)).collect();
    let page = projection.fields().is_some().then(|| {
        let members =
            nodes.iter().zip(&records).map(|(doc, records)| Member::of(doc, actor, records.clone())).collect();
        Arc::new(PageSections::new(actor.clone(), members))
    });
    Ok(nodes
        .into_iter()
        .zip(records)
        .map(|(doc, records)| PortfolioEdge {
            cursor: encode_cursor(doc.id),
            node: PortfolioObject::on_page(doc, actor.clone(), records, page.clone()),
        })
        .collect())
}

#[derive(SimpleObject)]
pub struct PortfolioConnection {
    pub edges: Vec<PortfolioEdge>,
    pub page_info: PageInfo,
    /// All portfolios matching the filter that the caller may see.
    pub total_count: i32,
}

#[derive(SimpleObject)]
pub struct PortfolioEdge {
    pub cursor: String,
    pub node: PortfolioObject,
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let id = ObjectId::new();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("bm90LWEtY3Vyc29y").is_err());
        assert!(decode_cursor("{\"$ne\":null}").is_err());
    }

    #[test]
    fn ids_refuse_operators() {
        assert!(parse_id("id", &ID("{\"$ne\": null}".into())).is_err());
        assert!(parse_id("id", &ID("0123456789abcdef01234567".into())).is_ok());
    }
}
