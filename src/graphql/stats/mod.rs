//! Reporting: `stats` answers aggregate questions for REPORTER, COORDINATOR
//! and ADMIN tokens. Counts, groupings and percentiles are computed by
//! MongoDB; requirement failures by the engine over a projected stream.
//! Nothing personal is reachable, and small counts are suppressed.

mod filter;
mod object;
mod tables;

use std::sync::Arc;

use async_graphql::{Context, Object};

use crate::app::error::{AppError, AppResult};
use crate::app::policy::{REPORTING_ROLES, require_role};
use crate::app::records::Facet;
use crate::app::stats::{ReportParts, report};
use crate::graphql::context::{actor, services};

pub use filter::StatsFilterInput;
pub use object::StatsObject;

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
    async fn stats(&self, ctx: &Context<'_>, filter: Option<StatsFilterInput>) -> AppResult<StatsObject> {
        let actor = Arc::new(actor(ctx).await?);
        require_role(&actor.viewer, REPORTING_ROLES)?;
        if stats_fields_in_operation(ctx) > 1 {
            return Err(AppError::bad_input(
                "stats",
                "Ask for `stats` once per request: answers to several filters side by side could be \
                 subtracted from each other to undo suppression.",
            ));
        }
        let filter = filter.unwrap_or_default().into_filter()?;
        // Run only the parts the query selects (aliases and fragments are
        // seen through by the look-ahead).
        let selection = ctx.look_ahead();
        let parts = ReportParts {
            facets: Facet::ALL.into_iter().filter(|f| selection.field(f.name()).exists()).collect(),
            portfolios: selection.field("portfolios").exists(),
            evidence_backlog: selection.field("evidenceBacklog").exists(),
        };
        let report = report(services(ctx), &actor, &filter, parts).await?;
        Ok(StatsObject::new(actor, filter, report.aggregates, report.backlog, report.suppression))
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
