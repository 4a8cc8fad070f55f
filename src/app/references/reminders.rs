//! Reminders to raters on the association's schedule (days after the
//! link was sent), until the rating is submitted or the link expires.
//! Every instance's outbox worker runs [`send_due`]; a reminder is counted
//! and queued in one conditional transaction, so only one instance sends it.

use mongodb::bson::DateTime;

use super::super::Tenant;
use super::super::error::AppResult;
use crate::services::Services;
use crate::store::references::{self, ReferenceRequestDocument};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Requests reminded per pass; the rest wait for the next one.
const BATCH: i64 = 100;

fn after(sent_at: DateTime, days: u32) -> DateTime {
    DateTime::from_millis(sent_at.timestamp_millis() + i64::from(days) * DAY_MS)
}

/// When the first reminder of a link sent at `sent_at` is due.
pub fn first(tenant: &Tenant, sent_at: DateTime) -> Option<DateTime> {
    tenant.association.settings.reminder_days().first().map(|days| after(sent_at, *days))
}

/// When the reminder after this one is due, if the schedule has one
/// before the link expires.
fn next(tenant: &Tenant, request: &ReferenceRequestDocument) -> Option<DateTime> {
    let days = tenant.association.settings.reminder_days();
    let index = usize::try_from(request.reminders_sent).ok()? + 1;
    days.get(index).map(|days| after(request.sent_at, *days)).filter(|at| *at < request.expires_at)
}

/// Queues every reminder now due; how many were queued here.
pub async fn send_due(services: &Services) -> AppResult<usize> {
    let due = references::due_reminders(services.store()?, BATCH).await?;
    let mut queued = 0;
    for request in due {
        let Some(tenant) = services.tenants.get(&request.association).await? else { continue };
        let mail = super::mail::link(&tenant, &request, true)?;
        if services.references(&tenant)?.remind(&request, next(&tenant, &request), &mail).await? {
            queued += 1;
        }
    }
    Ok(queued)
}
