//! The renewal sweep every instance's outbox worker runs: endorsements
//! not renewed by their deadline lapse the next day, inactive ones after
//! two years; and renewal reminders go out on the association's schedule
//! (before the window opens, when it opens, before the deadline), each
//! once across instances. A lapse is a status change with its audit
//! record and its mail, in one transaction; the registry, the
//! verification page and the status lists follow it at once.

use chrono::{Days, NaiveDate};
use mongodb::bson::DateTime;

use super::super::error::AppResult;
use super::super::{Tenant, mail};
use crate::domain::model::EndorsementStatus;
use crate::domain::renewal;
use crate::services::Services;
use crate::store::audit::AuditRecord;
use crate::store::endorsements::{EndorsementDocument, StatusChange};

/// Endorsements looked at per association and pass; the rest wait.
const BATCH: i64 = 200;
/// Who the sweep's changes are recorded as.
const ACTOR: &str = "system:renewals";

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub lapsed: usize,
    pub reminded: usize,
}

/// One pass over every association.
pub async fn run(services: &Services) -> AppResult<Swept> {
    let mut swept = Swept::default();
    for association in services.tenants.store().list().await? {
        let Some(tenant) = services.tenants.get(&association.code).await? else { continue };
        swept.lapsed += lapse_due(services, &tenant).await?;
        swept.reminded += remind_due(services, &tenant).await?;
    }
    Ok(swept)
}

/// Why `endorsement` lapses on `today`, and from which day; `None` while
/// it does not.
pub fn lapse_of(endorsement: &EndorsementDocument, today: NaiveDate) -> Option<(NaiveDate, String)> {
    match endorsement.status {
        EndorsementStatus::Current if endorsement.current_through < today => {
            let from = endorsement.current_through + Days::new(1);
            Some((from, format!("Not renewed by {}", endorsement.current_through)))
        }
        EndorsementStatus::Inactive => {
            let since = endorsement
                .history
                .iter()
                .rev()
                .find(|change| change.status == EndorsementStatus::Inactive)
                .map_or(endorsement.endorsed_on, |change| change.on);
            let lapses_on = renewal::inactive_lapses_on(since);
            (lapses_on <= today)
                .then(|| (lapses_on, format!("Inactive since {since} for two years without reactivation")))
        }
        _ => None,
    }
}

fn system_record(tenant: &Tenant, endorsement: &EndorsementDocument) -> AuditRecord {
    AuditRecord {
        association: Some(tenant.code().clone()),
        actor: ACTOR.to_owned(),
        roles: Vec::new(),
        action: "lapseEndorsement".to_owned(),
        target: Some(format!("endorsement/{}", endorsement.id.to_hex())),
        result: "ok".to_owned(),
        outcome: Some("ENDORSEMENT_LAPSED".to_owned()),
        request_id: uuid::Uuid::new_v4().to_string(),
        client_request_id: None,
        at: DateTime::now(),
        request_ids: Vec::new(),
        last_at: None,
        event: None,
        mail: Vec::new(),
    }
}

async fn lapse_due(services: &Services, tenant: &Tenant) -> AppResult<usize> {
    let today = tenant.today();
    let store = services.renewals(tenant)?;
    let mut lapsed = 0;
    let inactive_by = today.checked_sub_months(chrono::Months::new(12 * renewal::MAX_INACTIVE_YEARS)).unwrap_or(today);
    for endorsement in store.past_deadline_or_inactive(today, inactive_by, BATCH).await? {
        let Some((on, reason)) = lapse_of(&endorsement, today) else { continue };
        let mut record = system_record(tenant, &endorsement);
        record.mail = mail::lapsed(tenant, &endorsement, on, &reason)?;
        let change = StatusChange {
            status: EndorsementStatus::Lapsed,
            on,
            reason: Some(reason),
            by: ACTOR.to_owned(),
            at: DateTime::now(),
        };
        if store.lapse_audited(&endorsement, &change, &record).await? {
            lapsed += 1;
            if !record.mail.is_empty() {
                services.outbox_wake.notify_one();
            }
        }
    }
    Ok(lapsed)
}

async fn remind_due(services: &Services, tenant: &Tenant) -> AppResult<usize> {
    let today = tenant.today();
    let settings = &tenant.association.settings;
    let cycle = tenant.renewal_rules().cycle(today);
    let schedule =
        renewal::reminders(&cycle, settings.renewal_days_before_window(), settings.renewal_days_before_deadline());
    let Some(due) = renewal::due_reminder(&schedule, today, None) else { return Ok(0) };
    let store = services.renewals(tenant)?;
    let mut reminded = 0;
    for endorsement in store.to_remind(cycle.ends, due.due_on, BATCH).await? {
        let Some(message) = mail::renewal_reminder(tenant, &endorsement, &cycle, due.kind)? else { continue };
        if store.remind(&endorsement, cycle.ends, due.due_on, &message).await? {
            reminded += 1;
        }
    }
    if reminded > 0 {
        services.outbox_wake.notify_one();
    }
    Ok(reminded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn endorsement(
        status: EndorsementStatus,
        current_through: NaiveDate,
        history: Vec<StatusChange>,
    ) -> EndorsementDocument {
        use crate::domain::model::{Category, Track};
        EndorsementDocument {
            id: mongodb::bson::oid::ObjectId::new(),
            association: crate::domain::association::AssociationCode::nys_aimh(),
            number: "NYS-AIMH-IFS-000001".into(),
            subject: "ada".into(),
            name: "Ada".into(),
            email: None,
            category: Category::FamilySpecialist,
            track: Track::Infant,
            portfolio_id: mongodb::bson::oid::ObjectId::new(),
            endorsed_on: day(2024, 5, 1),
            current_through,
            status,
            history,
            status_index: None,
            listing: None,
            sort_name: "ada".into(),
            search_words: vec!["ada".into()],
        }
    }

    #[test]
    fn an_endorsement_lapses_the_day_after_its_deadline() {
        let current = endorsement(EndorsementStatus::Current, day(2027, 12, 31), Vec::new());
        assert_eq!(lapse_of(&current, day(2027, 12, 31)), None);
        let (on, reason) = lapse_of(&current, day(2028, 1, 3)).unwrap();
        assert_eq!(on, day(2028, 1, 1));
        assert!(reason.contains("2027-12-31"), "{reason}");
    }

    #[test]
    fn inactive_status_lapses_after_two_years() {
        let change = |status, on| StatusChange { status, on, reason: None, by: "c".into(), at: DateTime::now() };
        let history = vec![
            change(EndorsementStatus::Current, day(2024, 5, 1)),
            change(EndorsementStatus::Inactive, day(2025, 2, 1)),
        ];
        let inactive = endorsement(EndorsementStatus::Inactive, day(2025, 12, 31), history);
        assert_eq!(lapse_of(&inactive, day(2027, 1, 31)), None);
        assert_eq!(lapse_of(&inactive, day(2027, 2, 1)).map(|(on, _)| on), Some(day(2027, 2, 1)));
        let lapsed = endorsement(EndorsementStatus::Lapsed, day(2020, 12, 31), Vec::new());
        assert_eq!(lapse_of(&lapsed, day(2030, 1, 1)), None);
    }
}
