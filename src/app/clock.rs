//! Setting the deployment's clock: development only (demos, tests that
//! walk through a renewal cycle); production's is the system clock.

use chrono::{DateTime, Utc};

use super::error::{AppError, AppResult};
use super::{Actor, ChangeAudit, policy};
use crate::auth::Role;
use crate::services::Services;

/// Sets the clock to read `at` now (ADMIN; FORBIDDEN where the clock
/// cannot be set), recorded in the audit log; the renewal sweep runs at
/// once. The time the clock now reads.
pub async fn set(
    services: &Services,
    actor: &Actor,
    at: DateTime<Utc>,
    audit: &ChangeAudit<'_>,
) -> AppResult<DateTime<Utc>> {
    policy::require_role(&actor.viewer, &[Role::Admin])?;
    audit.target("clock");
    let clock = services.tenants.clock();
    clock.set(at).map_err(|_| AppError::Forbidden)?;
    let record = audit.record("clock", at.to_rfc3339());
    super::audit::append_outside_transaction(services, &record, false).await;
    audit.stored();
    services.outbox_wake.notify_one();
    Ok(clock.now())
}
