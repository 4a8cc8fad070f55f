//! The process in figures, for `stats`: how long applicants take from
//! registration to submission and from submission to endorsement, the
//! money charged, paid, waived and refunded by month, and reviewers'
//! workload per review cycle. Joined in memory from the association's
//! applications, endorsements, ledger and rounds, over the portfolios the
//! report's filter matches; suppression is applied where they are shown.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Datelike;
use mongodb::bson::oid::ObjectId;

use super::error::AppResult;
use super::{Actor, policy};
use crate::domain::cycles;
use crate::domain::model::{Currency, LedgerEntryKind};
use crate::domain::stats::nearest_rank;
use crate::services::Services;
use crate::store::stats::{Distribution, StatsFilter};

/// Money of one kind of ledger line in one month.
#[derive(Debug, Clone, PartialEq)]
pub struct FeeMonth {
    /// "YYYY-MM", the association's calendar.
    pub month: String,
    pub kind: LedgerEntryKind,
    pub cents: i64,
    pub currency: Currency,
    /// The applicants the lines are about (what suppression counts).
    pub applicants: u64,
}

/// One reviewer's rounds in one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewerLoad {
    /// None: portfolios reviewed outside cycles (no deadline, or none open).
    pub cycle: Option<String>,
    pub reviewer: String,
    pub assigned: u64,
    pub reviewed: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessReport {
    pub registration_to_submission: Distribution,
    pub submission_to_endorsement: Distribution,
    pub fees: Vec<FeeMonth>,
    pub workload: Vec<ReviewerLoad>,
}

fn distribution(values: Vec<f64>) -> Distribution {
    let (n, p50, p90, max) = nearest_rank(values);
    Distribution { n, p50, p90, max }
}

pub async fn process_report(services: &Services, actor: &Actor, filter: &StatsFilter) -> AppResult<ProcessReport> {
    policy::require_role(&actor.viewer, policy::REPORTING_ROLES)?;
    let tenant = &actor.tenant;
    let portfolios = services.stats(tenant)?.process_inputs(filter).await?;
    let matching: HashSet<ObjectId> = portfolios.iter().map(|p| p.id).collect();
    let stores = (
        services.applications(tenant)?,
        services.endorsements(tenant)?,
        services.ledger(tenant)?,
        services.rounds(tenant)?,
    );
    let (applications, endorsements, ledger, rounds) =
        tokio::try_join!(stores.0.all(), stores.1.all(), stores.2.all(), stores.3.all())?;
    let day_of = |at: mongodb::bson::DateTime| tenant.association.today(at.to_chrono());
    let submitted: HashMap<ObjectId, chrono::NaiveDate> =
        portfolios.iter().filter_map(|p| p.submitted_at.map(|at| (p.id, day_of(at)))).collect();

    let registration_to_submission = applications
        .iter()
        .filter_map(|a| submitted.get(&a.portfolio_id).map(|on| (*on - a.registered_on).num_days() as f64))
        .collect();
    let submission_to_endorsement = endorsements
        .iter()
        .filter_map(|e| submitted.get(&e.portfolio_id).map(|on| (e.endorsed_on - *on).num_days() as f64))
        .collect();

    let mut fees: BTreeMap<(String, LedgerEntryKind), (i64, Currency, HashSet<String>)> = BTreeMap::new();
    for line in ledger.iter().filter(|line| matching.contains(&line.portfolio_id)) {
        let month = format!("{:04}-{:02}", line.on.year(), line.on.month());
        let cell = fees.entry((month, line.kind)).or_insert((0, line.amount.currency, HashSet::new()));
        cell.0 += line.amount.cents;
        cell.2.insert(line.owner_id.clone());
    }
    let fees = fees
        .into_iter()
        .map(|((month, kind), (cents, currency, people))| FeeMonth {
            month,
            kind,
            cents,
            currency,
            applicants: people.len() as u64,
        })
        .collect();

    let category_of: HashMap<ObjectId, crate::domain::model::Category> =
        portfolios.iter().map(|p| (p.id, p.content.target_category)).collect();
    let all_cycles = tenant.association.settings.review_cycles();
    let mut loads: BTreeMap<(Option<String>, String), (u64, u64)> = BTreeMap::new();
    for round in rounds.iter().filter(|r| matching.contains(&r.portfolio_id)) {
        let cycle = match (category_of.get(&round.portfolio_id), round.submitted_at) {
            (Some(category), Some(at)) => cycles::cycle_for(all_cycles, *category, day_of(at)).map(|c| c.id.clone()),
            _ => None,
        };
        for reviewer in &round.reviewers {
            let load = loads.entry((cycle.clone(), reviewer.subject.clone())).or_default();
            load.0 += 1;
            load.1 += u64::from(round.reviews.iter().any(|review| review.reviewer == reviewer.subject));
        }
    }
    let workload = loads
        .into_iter()
        .map(|((cycle, reviewer), (assigned, reviewed))| ReviewerLoad { cycle, reviewer, assigned, reviewed })
        .collect();
    Ok(ProcessReport {
        registration_to_submission: distribution(registration_to_submission),
        submission_to_endorsement: distribution(submission_to_endorsement),
        fees,
        workload,
    })
}
