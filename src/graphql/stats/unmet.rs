//! `unmetRequirements`: the engine over every matching portfolio, streamed
//! from MongoDB in batches with only the fields it reads, evaluated on the
//! blocking pool a few batches at a time. Memory holds at most
//! `workers + 1` batches however many portfolios match.

use std::sync::Arc;

use async_graphql::Context;
use chrono::NaiveDate;
use futures::TryStreamExt;

use crate::domain::model::{Basis, Category};
use crate::domain::unmet::{UnmetRow, UnmetTally};
use crate::domain::{Rulebook, evaluate};
use crate::graphql::context::services;
use crate::graphql::error::{ApiError, ApiResult};
use crate::store::portfolio::PortfolioDocument;
use crate::store::stats::StatsFilter;

/// Portfolios per evaluation task: large enough that a task outweighs its
/// scheduling, small enough to keep memory flat.
const BATCH: usize = 256;

/// One row per requirement key, in rulebook order: failures out of the
/// portfolios evaluated with that key.
pub async fn unmet_requirements(
    ctx: &Context<'_>,
    filter: &StatsFilter,
    category: Category,
    as_of: Option<NaiveDate>,
) -> ApiResult<Vec<UnmetRow>> {
    let services = services(ctx);
    let rulebook = services.rulebook.clone();
    let today = chrono::Utc::now().date_naive();
    let current = rulebook.version_at(as_of.unwrap_or(today)).map(|v| v.id.clone());
    if let (Some(as_of), None) = (as_of, &current) {
        return Err(ApiError::bad_input("asOf", format!("no version of the rulebook is in force on {as_of}")));
    }
    let tally = match filter.only_category(category) {
        None => UnmetTally::default(),
        Some(filter) => {
            let documents = services.stats_store()?.engine_inputs(&filter).await?;
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
            documents
                .map_err(ApiError::from)
                .try_chunks(BATCH)
                .map_err(|error| error.1)
                .map_ok(|batch| {
                    let rulebook = rulebook.clone();
                    async move {
                        tokio::task::spawn_blocking(move || tally_batch(&batch, category, as_of, today, &rulebook))
                            .await
                            .map_err(ApiError::internal)
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
) -> UnmetTally {
    let mut tally = UnmetTally::default();
    for document in batch {
        let as_of = as_of.unwrap_or_else(|| document.default_as_of(today));
        let content = &document.content;
        // A portfolio dated before the first rulebook version has no rules to
        // fail; `eligibility` refuses it too. It is left out of the population.
        if let Ok(eligibility) = evaluate(content, category, content.track, as_of, Basis::Claimed, rulebook) {
            tally.add(&eligibility);
        }
    }
    tally
}
