//! Reporting for REPORTER, COORDINATOR and ADMIN callers, over their own
//! association only: aggregates computed by MongoDB, with small cells
//! suppressed, and requirement failures computed by the engine over every
//! matching portfolio, streamed from MongoDB in batches with only the
//! fields it reads and evaluated on the blocking pool a few batches at a
//! time (memory holds at most `workers + 1` batches however many match).

use std::sync::Arc;

use chrono::NaiveDate;
use futures::TryStreamExt;

use super::error::{AppError, AppResult};
use super::evaluation::AllRecords;
use super::{Actor, policy};
use crate::domain::model::{Basis, Category};
use crate::domain::stats::Suppression;
use crate::domain::unmet::{UnmetRow, UnmetTally};
use crate::domain::{Rulebook, evaluate};
use crate::services::Services;
use crate::store::portfolio::PortfolioDocument;
use crate::store::stats::{Facet, PortfolioAggregates, StatsFilter};

/// What a report asks for.
#[derive(Debug, Clone, Default)]
pub struct ReportParts {
    pub facets: Vec<Facet>,
    /// The total (and the tables summing to it).
    pub portfolios: bool,
    pub evidence_backlog: bool,
}

/// A report's raw parts, with the suppression to apply when showing them.
pub struct Report {
    pub aggregates: PortfolioAggregates,
    pub backlog: Option<Vec<(String, u64, u64)>>,
    pub suppression: Suppression,
}

/// The association's smallest publishable count.
pub fn suppression(services: &Services, actor: &Actor) -> Suppression {
    let min_cell = actor.tenant.association.settings.stats_min_cell;
    Suppression::new(min_cell.map_or(services.config.reports.stats_min_cell, |n| n as u64))
}

/// Runs the parts of a report. The total and the portfolio tables (which
/// sum to it) are refused as a whole for a population of 1..k: no cell
/// could be published. The other parts suppress their own small cells.
pub async fn report(
    services: &Services,
    actor: &Actor,
    filter: &StatsFilter,
    mut parts: ReportParts,
) -> AppResult<Report> {
    policy::require_role(&actor.viewer, policy::REPORTING_ROLES)?;
    // Months, years and decision times derive from status counts, so
    // their suppression needs byStatus whether or not it is shown.
    if parts.facets.iter().any(|f| matches!(f, Facet::SubmittedByMonth | Facet::EndorsedByYear | Facet::DaysToDecision))
        && !parts.facets.contains(&Facet::ByStatus)
    {
        parts.facets.push(Facet::ByStatus);
    }
    let wants_portfolios = parts.portfolios || !parts.facets.is_empty();
    let store = services.stats(&actor.tenant)?;
    let (aggregates, backlog) = tokio::try_join!(
        async {
            if wants_portfolios { store.portfolio_aggregates(filter, &parts.facets).await.map(Some) } else { Ok(None) }
        },
        async { if parts.evidence_backlog { store.evidence_backlog(filter).await.map(Some) } else { Ok(None) } }
    )?;
    let suppression = suppression(services, actor);
    if aggregates.as_ref().is_some_and(|a| suppression.is_small(a.portfolios)) {
        return Err(AppError::bad_input(
            "filter",
            format!(
                "Fewer than {} portfolios match this filter, so even the total could identify people. \
                 Widen the filter.",
                suppression.min_cell
            ),
        ));
    }
    Ok(Report { aggregates: aggregates.unwrap_or_default(), backlog, suppression })
}

/// Portfolios per evaluation task: large enough that a task outweighs its
/// scheduling, small enough to keep memory flat.
const BATCH: usize = 256;

/// One row per requirement key, in rulebook order: failures out of the
/// portfolios evaluated with that key.
pub async fn unmet_requirements(
    services: &Services,
    actor: &Actor,
    filter: &StatsFilter,
    category: Category,
    as_of: Option<NaiveDate>,
) -> AppResult<Vec<UnmetRow>> {
    policy::require_role(&actor.viewer, policy::REPORTING_ROLES)?;
    let rulebook = actor.tenant.rulebook("asOf")?.clone();
    let today = actor.tenant.today();
    let current = rulebook.in_force(as_of.unwrap_or(today)).map(|v| v.id.clone());
    if let (Some(_), Err(refused)) = (as_of, &current) {
        return Err(AppError::bad_input("asOf", refused.to_string()));
    }
    let current = current.ok();
    let tally = match filter.only_category(category) {
        None => UnmetTally::default(),
        Some(filter) => {
            let documents = services.stats(&actor.tenant)?.engine_inputs(&filter).await?;
            let records = Arc::new(AllRecords::load(services, &actor.tenant).await?);
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
            documents
                .map_err(AppError::from)
                .try_chunks(BATCH)
                .map_err(|error| error.1)
                .map_ok(|batch| {
                    let (rulebook, records) = (rulebook.clone(), records.clone());
                    async move {
                        tokio::task::spawn_blocking(move || {
                            tally_batch(&batch, category, as_of, today, &rulebook, &records)
                        })
                        .await
                        .map_err(AppError::internal)
                    }
                })
                .try_buffer_unordered(workers)
                .try_fold(UnmetTally::default(), |mut total, part| async move {
                    total.merge(part);
                    Ok(total)
                })
                .await?
        }
    };
    Ok(tally.ordered(&rulebook, category, current.as_deref()))
}

fn tally_batch(
    batch: &[PortfolioDocument],
    category: Category,
    as_of: Option<NaiveDate>,
    today: NaiveDate,
    rulebook: &Arc<Rulebook>,
    records: &AllRecords,
) -> UnmetTally {
    let mut tally = UnmetTally::default();
    for document in batch {
        let as_of = as_of.unwrap_or_else(|| document.default_as_of(today));
        let applicant = records.of(document);
        let with_records;
        let content = if applicant.is_empty() {
            &document.content
        } else {
            let mut content = document.content.clone();
            applicant.apply(&mut content);
            with_records = content;
            &with_records
        };
        // A portfolio dated before the first rulebook version has no rules to
        // fail; `eligibility` refuses it too. It is left out of the population.
        if let Ok(eligibility) = evaluate(content, category, content.track, as_of, Basis::Claimed, rulebook) {
            tally.add(&eligibility);
        }
    }
    tally
}
