//! Reporting: `stats` answers aggregate questions for REPORTER, COORDINATOR
//! and ADMIN tokens. Counts, groupings and percentiles are computed by
//! MongoDB; requirement failures by the engine over a projected stream.
//! Nothing personal is reachable, and small counts are suppressed.

mod filter;
mod object;
mod tables;
mod unmet;

use async_graphql::{Context, Object};

use crate::auth::Role;
use crate::domain::stats::Suppression;
use crate::graphql::context::{require_role, services};
use crate::graphql::error::{ApiError, ApiResult};
use crate::store::stats::Facet;

pub use filter::StatsFilterInput;
pub use object::StatsObject;

/// Who may read aggregates.
pub const REPORTING_ROLES: &[Role] = &[Role::Reporter, Role::Coordinator, Role::Admin];

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Aggregate statistics over the portfolios the filter selects (REPORTER,
    /// COORDINATOR, ADMIN). Counts from 1 to `ENDORSE_STATS_MIN_CELL - 1` are
    /// suppressed, with complementary cells where a total would give them
    /// back. Asking for the total or the portfolio tables of a filter that
    /// matches 1 to `ENDORSE_STATS_MIN_CELL - 1` portfolios is refused
    /// (BAD_USER_INPUT on `filter`): the total itself would be a small cell.
    async fn stats(&self, ctx: &Context<'_>, filter: Option<StatsFilterInput>) -> ApiResult<StatsObject> {
        require_role(ctx, REPORTING_ROLES)?;
        if stats_fields_in_operation(ctx) > 1 {
            return Err(ApiError::bad_input(
                "stats",
                "Ask for `stats` once per request: answers to several filters side by side could be \
                 subtracted from each other to undo suppression.",
            ));
        }
        let filter = filter.unwrap_or_default().into_filter()?;
        let services = services(ctx);
        let store = services.stats_store()?;
        // Run only the parts the query selects (aliases and fragments are
        // seen through by the look-ahead).
        let selection = ctx.look_ahead();
        let mut facets: Vec<Facet> = Facet::ALL.into_iter().filter(|f| selection.field(f.name()).exists()).collect();
        // Months, years and decision times derive from status counts, so
        // their suppression needs byStatus whether or not it is shown.
        if facets.iter().any(|f| matches!(f, Facet::SubmittedByMonth | Facet::EndorsedByYear | Facet::DaysToDecision))
            && !facets.contains(&Facet::ByStatus)
        {
            facets.push(Facet::ByStatus);
        }
        let wants_portfolios = selection.field("portfolios").exists() || !facets.is_empty();
        let wants_backlog = selection.field("evidenceBacklog").exists();
        let (aggregates, backlog) = tokio::try_join!(
            async {
                if wants_portfolios { store.portfolio_aggregates(&filter, &facets).await.map(Some) } else { Ok(None) }
            },
            async { if wants_backlog { store.evidence_backlog(&filter).await.map(Some) } else { Ok(None) } }
        )?;
        let suppression = Suppression::new(services.config.reports.stats_min_cell);
        // The total and the portfolio tables (which sum to it) are refused
        // as a whole for a population of 1..k: no cell could be published.
        // The other parts suppress their own small cells.
        if aggregates.as_ref().is_some_and(|a| suppression.is_small(a.portfolios)) {
            return Err(ApiError::bad_input(
                "filter",
                format!(
                    "Fewer than {} portfolios match this filter, so even the total could identify people. \
                     Widen the filter.",
                    suppression.min_cell
                ),
            ));
        }
        Ok(StatsObject::new(filter, aggregates.unwrap_or_default(), backlog, suppression))
    }
}

/// How many `stats` fields the operation asks for at its root, fragments
/// included (a skipped one counts too: the check is on the document).
fn stats_fields_in_operation(ctx: &Context<'_>) -> usize {
    use async_graphql::parser::types::{FragmentDefinition, Selection, SelectionSet};
    use async_graphql::{Name, Positioned};
    use std::collections::HashMap;

    fn count(set: &SelectionSet, fragments: &HashMap<Name, Positioned<FragmentDefinition>>, depth: usize) -> usize {
        if depth > 16 {
            return 0;
        }
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => usize::from(field.node.name.node == "stats"),
                Selection::InlineFragment(inline) => count(&inline.node.selection_set.node, fragments, depth + 1),
                Selection::FragmentSpread(spread) => fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |fragment| count(&fragment.node.selection_set.node, fragments, depth + 1)),
            })
            .sum()
    }
    let env = &ctx.query_env;
    count(&env.operation.node.selection_set.node, &env.fragments, 0)
}
