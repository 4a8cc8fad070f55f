//! Review cycles: an admin publishes the association's submission
//! deadlines (closed cycles stay as they were); a submitted portfolio of a
//! category with deadlines is in the cycle its latest submission day
//! joins; reviewers' queues are per cycle (`portfolios(filter: { reviewCycle })`).

use super::error::{AppError, AppResult};
use super::{Actor, ChangeAudit, policy};
use crate::auth::Role;
use crate::domain::cycles::{self, ReviewCycle};
use crate::services::Services;
use crate::store::portfolio::{ListFilter, PortfolioDocument};

/// The association's cycles, ascending.
pub fn list(actor: &Actor) -> &[ReviewCycle] {
    actor.tenant.association.settings.review_cycles()
}

/// Replaces the association's cycles (ADMIN).
pub async fn publish(
    services: &Services,
    actor: &Actor,
    cycles: Vec<ReviewCycle>,
    audit: &ChangeAudit<'_>,
) -> AppResult<Vec<ReviewCycle>> {
    policy::require_role(&actor.viewer, &[Role::Admin])?;
    let code = actor.tenant.code().clone();
    audit.target(code.to_string());
    let store = services.tenants.store();
    let current = store.get(&code).await?.ok_or_else(|| AppError::not_found("Association"))?;
    let cycles: Vec<ReviewCycle> = cycles
        .into_iter()
        .map(|c| ReviewCycle { id: c.id.trim().to_owned(), name: c.name.trim().to_owned(), ..c })
        .collect();
    if cycles.len() > 100 {
        return Err(AppError::bad_input("cycles", "at most 100 cycles"));
    }
    cycles::check(&cycles, current.settings.review_cycles(), actor.tenant.today())
        .map_err(|problem| AppError::bad_input("cycles", problem))?;
    let mut settings = current.settings;
    settings.review_cycles = Some(cycles.clone());
    let record = audit.record(code.to_string(), "REVIEW_CYCLES_PUBLISHED");
    store.set_settings_audited(&code, &settings, &record).await?.ok_or_else(|| AppError::not_found("Association"))?;
    audit.stored();
    services.tenants.load(&code).await?;
    Ok(cycles)
}

/// The cycle a submitted portfolio is in, if its category has deadlines
/// and a cycle is open for its latest submission day.
pub fn of_portfolio<'a>(actor: &'a Actor, portfolio: &PortfolioDocument) -> Option<&'a ReviewCycle> {
    let submitted = portfolio.submitted_at?;
    let day = actor.tenant.association.today(submitted.to_chrono());
    cycles::cycle_for(list(actor), portfolio.content.target_category, day)
}

/// `filter` narrowed to cycle `id`'s queue: its categories, submitted in
/// its window. An unknown cycle is BAD_USER_INPUT.
pub fn narrow(actor: &Actor, id: &str, mut filter: ListFilter) -> AppResult<ListFilter> {
    let (from, to) = cycles::window(list(actor), id)
        .ok_or_else(|| AppError::bad_input("filter.reviewCycle", format!("there is no review cycle `{id}`")))?;
    let in_cycles = cycles::categories();
    filter.categories = if filter.categories.is_empty() {
        in_cycles
    } else {
        filter.categories.into_iter().filter(|c| in_cycles.contains(c)).collect()
    };
    if filter.categories.is_empty() {
        return Err(AppError::bad_input(
            "filter.category",
            "only Mental Health Specialist and Mentor portfolios are reviewed in cycles",
        ));
    }
    filter.submitted_from = match (filter.submitted_from, from) {
        (Some(asked), Some(from)) => Some(asked.max(from)),
        (asked, from) => asked.or(from),
    };
    filter.submitted_to = Some(filter.submitted_to.map_or(to, |asked| asked.min(to)));
    Ok(filter)
}
