//! The `Stats`, `Count` and `Percentiles` types. Each holds counts only:
//! no field leads to a portfolio, an applicant or an evidence file.

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};

use super::tables::{monthly, with_known_keys, yearly};
use crate::app::Actor;
use crate::app::error::AppResult;
use crate::app::process_report::{ProcessReport, process_report};
use crate::app::records::{Distribution, PortfolioAggregates, StatsFilter};
use crate::app::stats::unmet_requirements;
use crate::domain::model::{Category, EvidenceKind, PortfolioStatus, Term, Track};
use crate::domain::stats::{Cell, Suppression};
use crate::graphql::context::services;
use crate::graphql::scalars::Date;

pub struct StatsObject {
    actor: Arc<Actor>,
    filter: StatsFilter,
    aggregates: PortfolioAggregates,
    /// Fetched only when the query selects `evidenceBacklog`.
    backlog: Option<Backlog>,
    suppression: Suppression,
    /// `byStatus` as published; other tables derive from its cells.
    by_status: Vec<Cell>,
    /// The process figures, computed once when a field asks for them.
    process: tokio::sync::OnceCell<ProcessReport>,
}

impl StatsObject {
    pub fn new(
        actor: Arc<Actor>,
        filter: StatsFilter,
        aggregates: PortfolioAggregates,
        backlog: Option<Backlog>,
        suppression: Suppression,
    ) -> Self {
        let by_status = suppression.partition(with_known_keys(names(PortfolioStatus::ALL), &aggregates.by_status));
        StatsObject { actor, filter, aggregates, backlog, suppression, by_status, process: Default::default() }
    }

    /// Every table here partitions a total the reader knows or can derive
    /// (the portfolios, the submitted ones, the endorsed ones, the backlog),
    /// so each gets complementary suppression.
    fn table(&self, cells: Vec<(String, u64)>) -> Vec<CountObject> {
        self.suppression.partition(cells).into_iter().map(CountObject::from).collect()
    }

    fn status_hidden(&self, statuses: &[PortfolioStatus]) -> bool {
        self.by_status.iter().any(|cell| cell.suppressed() && statuses.iter().any(|s| s.as_str() == cell.key))
    }

    fn percentiles(&self, distribution: &Distribution) -> Option<Percentiles> {
        self.suppression.publishable(distribution.n).then(|| Percentiles::from(distribution))
    }

    async fn process(&self, ctx: &Context<'_>) -> AppResult<&ProcessReport> {
        self.process.get_or_try_init(|| process_report(services(ctx), &self.actor, &self.filter)).await
    }
}

/// Money of one kind of ledger line in one month; the amount and the
/// number of applicants are null when fewer than the threshold of
/// applicants are behind it.
#[derive(SimpleObject, Debug)]
pub struct FeeMonth {
    /// "YYYY-MM", the association's calendar.
    pub month: String,
    /// CHARGE, PAYMENT, WAIVER or REFUND.
    pub kind: crate::domain::model::LedgerEntryKind,
    pub amount: Option<crate::graphql::fees::MoneyObject>,
    pub applicants: Option<i32>,
    pub suppressed: bool,
}

/// Reviewers' work in one review cycle, in counts (no reviewer is named:
/// `stats` leads to nothing but counts).
#[derive(SimpleObject, Debug)]
pub struct CycleWorkload {
    /// Null: portfolios reviewed outside cycles.
    pub cycle: Option<String>,
    /// Reviewers with at least one round.
    pub reviewers: i32,
    /// Reviewer assignments (a round with two reviewers counts twice).
    pub assigned: i32,
    /// Assignments whose review is recorded.
    pub reviewed: i32,
    /// The most rounds one reviewer holds.
    pub most_per_reviewer: i32,
}

/// Evidence waiting for review, per kind: files, and the portfolios they
/// belong to (the people a cell is about).
pub type Backlog = Vec<(String, u64, u64)>;

fn names<T: Term>(values: &[T]) -> Vec<&'static str> {
    values.iter().map(|v| v.as_str()).collect()
}

#[Object(name = "Stats")]
impl StatsObject {
    /// Portfolios matching the filter.
    async fn portfolios(&self) -> i32 {
        saturating_i32(self.aggregates.portfolios)
    }
    /// Every status, in workflow order.
    async fn by_status(&self) -> Vec<CountObject> {
        self.by_status.iter().cloned().map(CountObject::from).collect()
    }
    /// By target category: the filter's categories, or all of them.
    async fn by_category(&self) -> Vec<CountObject> {
        let categories = if self.filter.categories.is_empty() { Category::ALL } else { &self.filter.categories };
        self.table(with_known_keys(names(categories), &self.aggregates.by_category))
    }
    async fn by_track(&self) -> Vec<CountObject> {
        let tracks = self.filter.track.map_or(Track::ALL.to_vec(), |t| vec![t]);
        self.table(with_known_keys(names(&tracks), &self.aggregates.by_track))
    }
    /// Submissions per month (UTC), key "2025-03"; months in between with none are 0.
    async fn submitted_by_month(&self) -> Vec<CountObject> {
        let months = monthly(&self.aggregates.submitted_by_month, self.filter.from, self.filter.to);
        // The months sum to the portfolios minus those never submitted
        // (drafts, drafts withdrawn). When byStatus hides DRAFT or WITHDRAWN,
        // that sum must not be exact: one month is hidden as well (and
        // protected like a small cell).
        let mut primary = vec![false; months.len()];
        if self.status_hidden(&[PortfolioStatus::Draft, PortfolioStatus::Withdrawn])
            && let Some((i, _)) = months.iter().enumerate().filter(|(_, (_, n))| *n > 0).min_by_key(|(_, (_, n))| *n)
        {
            primary[i] = true;
        }
        self.suppression.partition_with(months, primary).into_iter().map(CountObject::from).collect()
    }
    /// Endorsements per calendar year (UTC), key "2025". Hidden as a whole
    /// when byStatus hides ENDORSED (the years sum to it).
    async fn endorsed_by_year(&self) -> Vec<CountObject> {
        let years = yearly(&self.aggregates.endorsed_by_year);
        let all = self.status_hidden(&[PortfolioStatus::Endorsed]);
        let primary = vec![all; years.len()];
        self.suppression.partition_with(years, primary).into_iter().map(CountObject::from).collect()
    }
    /// Days from submission to the first decision, for decided portfolios;
    /// null when fewer than the suppression threshold were decided, or when
    /// byStatus hides a status that decided portfolios are in (`n` would
    /// give it back).
    async fn days_to_decision(&self) -> Option<Percentiles> {
        use PortfolioStatus::*;
        if self.status_hidden(&[Returned, Approved, ExamEligible, Endorsed, Withdrawn]) {
            return None;
        }
        self.percentiles(&self.aggregates.days_to_decision)
    }
    /// Days from registration to the latest submission, for registered
    /// portfolios that were submitted; null below the threshold.
    async fn days_registration_to_submission(&self, ctx: &Context<'_>) -> AppResult<Option<Percentiles>> {
        Ok(self.percentiles(&self.process(ctx).await?.registration_to_submission))
    }
    /// Days from the latest submission to endorsement, for endorsed
    /// portfolios; null below the threshold.
    async fn days_submission_to_endorsement(&self, ctx: &Context<'_>) -> AppResult<Option<Percentiles>> {
        Ok(self.percentiles(&self.process(ctx).await?.submission_to_endorsement))
    }
    /// Fees charged, paid, waived and refunded by month (the association's
    /// calendar) for the matching portfolios.
    async fn fees_by_month(&self, ctx: &Context<'_>) -> AppResult<Vec<FeeMonth>> {
        let report = self.process(ctx).await?;
        Ok(report
            .fees
            .iter()
            .map(|cell| {
                let suppressed = self.suppression.is_small(cell.applicants);
                FeeMonth {
                    month: cell.month.clone(),
                    kind: cell.kind,
                    amount: (!suppressed)
                        .then(|| crate::domain::fees::Money { cents: cell.cents, currency: cell.currency }.into()),
                    applicants: (!suppressed).then(|| saturating_i32(cell.applicants)),
                    suppressed,
                }
            })
            .collect())
    }
    /// Reviewers' workload per review cycle, in counts.
    async fn reviewer_workload(&self, ctx: &Context<'_>) -> AppResult<Vec<CycleWorkload>> {
        let report = self.process(ctx).await?;
        let mut cycles: Vec<CycleWorkload> = Vec::new();
        for load in &report.workload {
            if cycles.last().is_none_or(|last| last.cycle != load.cycle) {
                cycles.push(CycleWorkload {
                    cycle: load.cycle.clone(),
                    reviewers: 0,
                    assigned: 0,
                    reviewed: 0,
                    most_per_reviewer: 0,
                });
            }
            let cycle = cycles.last_mut().expect("pushed above");
            cycle.reviewers += 1;
            cycle.assigned += saturating_i32(load.assigned);
            cycle.reviewed += saturating_i32(load.reviewed);
            cycle.most_per_reviewer = cycle.most_per_reviewer.max(saturating_i32(load.assigned));
        }
        Ok(cycles)
    }
    /// Total training hours per portfolio; null below the threshold.
    async fn training_hours(&self) -> Option<Percentiles> {
        self.percentiles(&self.aggregates.training_hours)
    }
    /// Evidence files UPLOADED and not yet reviewed, by kind. A cell is
    /// small when the files belong to fewer than the threshold of portfolios
    /// (it is about that few people), however many files there are.
    async fn evidence_backlog(&self) -> Vec<CountObject> {
        let rows = self.backlog.as_deref().unwrap_or_default();
        let files: Vec<(String, u64)> = rows.iter().map(|(kind, files, _)| (kind.clone(), *files)).collect();
        let files = with_known_keys(names(EvidenceKind::ALL), &files);
        let primary = files
            .iter()
            .map(|(kind, _)| {
                rows.iter().find(|(k, _, _)| k == kind).is_some_and(|(_, _, people)| self.suppression.is_small(*people))
            })
            .collect();
        self.suppression.partition_with(files, primary).into_iter().map(CountObject::from).collect()
    }
    /// For the matching portfolios that target `category`: how many fail each
    /// requirement (key as in `Eligibility.requirements`), evaluated by the
    /// same engine with the same defaults as `eligibility` (basis CLAIMED;
    /// `asOf` the submission date under review, else today). A cell is
    /// suppressed when the failing or the passing count is small, or when
    /// every portfolio fails (the count would be the category's total, which
    /// `byCategory` may hide).
    async fn unmet_requirements(
        &self,
        ctx: &Context<'_>,
        category: Category,
        as_of: Option<Date>,
    ) -> AppResult<Vec<CountObject>> {
        let rows = unmet_requirements(services(ctx), &self.actor, &self.filter, category, as_of.map(|d| d.0)).await?;
        Ok(rows
            .into_iter()
            .map(|row| CountObject::from(self.suppression.against_population(row.key, row.failed, row.evaluated)))
            .collect())
    }
}

/// One cell: `count` is null and `suppressed` true when publishing it could
/// identify people.
#[derive(SimpleObject, Debug)]
#[graphql(name = "Count")]
pub struct CountObject {
    pub key: String,
    pub count: Option<i32>,
    pub suppressed: bool,
}

impl From<Cell> for CountObject {
    fn from(cell: Cell) -> Self {
        CountObject { suppressed: cell.suppressed(), count: cell.count.map(saturating_i32), key: cell.key }
    }
}

/// Nearest-rank percentiles: each is a value that occurred (the smallest
/// with at least p% of the values at or below it). Null when `n` is 0.
#[derive(SimpleObject, Debug)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub max: Option<f64>,
    pub n: i32,
}

impl From<&Distribution> for Percentiles {
    fn from(d: &Distribution) -> Self {
        Percentiles { p50: d.p50, p90: d.p90, max: d.max, n: saturating_i32(d.n) }
    }
}

fn saturating_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
