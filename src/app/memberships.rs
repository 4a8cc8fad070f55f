//! Membership as the association records it. Staff enter a membership or
//! import the member list (CSV), all of it or none; the membership
//! requirement counts these records, matched to a portfolio by the
//! applicant's email. An applicant's own claim stays a claim: staff may
//! check one of another infant mental health association, where the
//! association accepts those, and only then does it count.

use std::collections::HashSet;

use chrono::NaiveDate;
use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::portfolios::{check_version, find, save};
use super::{Actor, ChangeAudit, Tenant, policy};
use crate::domain::fees::Money;
use crate::domain::model::{Currency, MembershipRecordRef, MembershipType, Term};
use crate::domain::validate;
use crate::services::Services;
use crate::store::memberships::MembershipRecord;
use crate::store::portfolio::{PortfolioDocument, Projection};

/// Most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 20_000;
/// Errors one refused import lists at most.
const MAX_REPORTED: usize = 20;

/// One membership to record.
#[derive(Debug, Clone)]
pub struct NewMembership {
    pub email: String,
    pub name: String,
    pub kind: MembershipType,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub fee_paid_cents: Option<i64>,
}

/// The record of `input`, or what is wrong with it (field, message).
fn checked(actor: &Actor, input: NewMembership, source: &str) -> Result<MembershipRecord, (&'static str, String)> {
    let email = input.email.trim().to_lowercase();
    let name = input.name.trim().to_owned();
    validate::email("email", &email).map_err(|e| ("email", e.message))?;
    validate::required_text("name", &name, validate::MAX_NAME).map_err(|e| ("name", e.message))?;
    if input.valid_until < input.valid_from {
        return Err(("validUntil", format!("{} is before validFrom {}", input.valid_until, input.valid_from)));
    }
    if input.fee_paid_cents.is_some_and(|cents| cents < 0) {
        return Err(("feePaidCents", "cannot be negative".into()));
    }
    Ok(MembershipRecord {
        id: ObjectId::new(),
        association: actor.tenant.code().clone(),
        email,
        name,
        kind: input.kind,
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        fee_paid: input.fee_paid_cents.map(|cents| Money { cents, currency: Currency::Usd }),
        source: source.to_owned(),
        recorded_by: actor.subject().to_owned(),
        recorded_at: DateTime::now(),
    })
}

/// Records one membership (COORDINATOR, ADMIN); one of the same person
/// and first day is replaced.
pub async fn record(
    services: &Services,
    actor: &Actor,
    input: NewMembership,
    audit: &ChangeAudit<'_>,
) -> AppResult<MembershipRecord> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    let membership = checked(actor, input, "ENTERED")
        .map_err(|(field, message)| AppError::bad_input(format!("input.{field}"), format!("{field} {message}")))?;
    let record = audit.record(format!("membership/{}", membership.email), "MEMBERSHIP_RECORDED");
    services.memberships(&actor.tenant)?.put_all_audited(std::slice::from_ref(&membership), &record).await?;
    audit.stored();
    Ok(membership)
}

/// Imports the member list (COORDINATOR, ADMIN): CSV with the header
/// `email,name,type,valid_from,valid_until,fee_paid` (`type` as in
/// `MembershipType`, days as YYYY-MM-DD, `fee_paid` in dollars, may be
/// empty). Every row is checked first: one bad row refuses the whole file
/// (BAD_USER_INPUT naming the rows), so a list is never half imported.
/// How many rows were recorded.
pub async fn import(services: &Services, actor: &Actor, csv: &str, audit: &ChangeAudit<'_>) -> AppResult<usize> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target("memberships");
    let records = parse(actor, csv).map_err(|problems| AppError::bad_input("csv", problems.join("; ")))?;
    let record = audit.record("memberships", format!("IMPORTED {}", records.len()));
    services.memberships(&actor.tenant)?.put_all_audited(&records, &record).await?;
    audit.stored();
    Ok(records.len())
}

const HEADER: [&str; 6] = ["email", "name", "type", "valid_from", "valid_until", "fee_paid"];

fn parse(actor: &Actor, text: &str) -> Result<Vec<MembershipRecord>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(str::to_lowercase).collect(),
        Err(error) => return Err(vec![format!("the header cannot be read: {error}")]),
    };
    if header != HEADER {
        return Err(vec![format!("the header must be `{}`", HEADER.join(","))]);
    }
    let (mut records, mut problems, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
    for (index, row) in reader.records().enumerate() {
        let line = index + 2;
        if index >= MAX_IMPORT_ROWS {
            problems.push(format!("more than {MAX_IMPORT_ROWS} rows; split the file"));
            break;
        }
        match row.map_err(|error| error.to_string()).and_then(|row| row_of(actor, &row)) {
            Ok(record) if !seen.insert((record.email.clone(), record.valid_from)) => {
                problems.push(format!("line {line}: {} from {} is listed twice", record.email, record.valid_from));
            }
            Ok(record) => records.push(record),
            Err(message) => problems.push(format!("line {line}: {message}")),
        }
        if problems.len() >= MAX_REPORTED {
            break;
        }
    }
    if records.is_empty() && problems.is_empty() {
        problems.push("the file has no rows".into());
    }
    if problems.is_empty() { Ok(records) } else { Err(problems) }
}

fn row_of(actor: &Actor, row: &csv::StringRecord) -> Result<MembershipRecord, String> {
    let cell = |i: usize| row.get(i).unwrap_or_default();
    let day = |i: usize| {
        NaiveDate::parse_from_str(cell(i), "%Y-%m-%d")
            .map_err(|_| format!("{} `{}` is not a YYYY-MM-DD day", HEADER[i], cell(i)))
    };
    let kind = MembershipType::parse(&cell(2).to_uppercase()).ok_or_else(|| {
        let known: Vec<&str> = MembershipType::ALL.iter().map(|t| t.as_str()).collect();
        format!("type `{}` is not one of {}", cell(2), known.join(", "))
    })?;
    let fee_paid_cents = match cell(5) {
        "" => None,
        dollars => {
            Some(cents_of(dollars).ok_or_else(|| format!("fee_paid `{dollars}` is not an amount like 50 or 50.00"))?)
        }
    };
    let input = NewMembership {
        email: cell(0).to_owned(),
        name: cell(1).to_owned(),
        kind,
        valid_from: day(3)?,
        valid_until: day(4)?,
        fee_paid_cents,
    };
    checked(actor, input, "IMPORTED").map_err(|(field, message)| format!("{field} {message}"))
}

/// "50", "50.5" or "50.00" dollars in cents.
fn cents_of(dollars: &str) -> Option<i64> {
    let (whole, fraction) =
        dollars.trim_start_matches('$').split_once('.').unwrap_or((dollars.trim_start_matches('$'), ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 2 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// The association's records of `email` (COORDINATOR, ADMIN).
pub async fn of_email(services: &Services, actor: &Actor, email: &str) -> AppResult<Vec<MembershipRecord>> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    Ok(services.memberships(&actor.tenant)?.for_email(email.trim()).await?)
}

/// The records that count for `portfolio`: those of its applicant's email.
pub async fn of_portfolio(
    services: &Services,
    tenant: &Tenant,
    portfolio: &PortfolioDocument,
) -> AppResult<Vec<MembershipRecord>> {
    match portfolio.applicant.as_ref().and_then(|applicant| applicant.email.as_deref()) {
        Some(email) => Ok(services.memberships(tenant)?.for_email(email).await?),
        None => Ok(Vec::new()),
    }
}

pub fn refs(records: &[MembershipRecord]) -> Vec<MembershipRecordRef> {
    records.iter().map(MembershipRecord::as_ref).collect()
}

/// Marks the applicant's claim of another association's membership as
/// checked (COORDINATOR, ADMIN; never one's own), where the association
/// accepts those; it counts from then on.
pub async fn check_claim(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    expected_version: i32,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target(portfolio_id.to_hex());
    if !actor.tenant.association.settings.accepts_other_memberships() {
        return Err(AppError::Conflict(format!(
            "{} counts only its own membership records; record the membership instead.",
            actor.tenant.association.name
        )));
    }
    let mut document = find(services, actor, portfolio_id, &Projection::all())
        .await?
        .ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_judge(&actor.viewer, &document.owner_id, policy::STAFF)?;
    check_version(&document, expected_version)?;
    let Some(claim) = document.content.membership.as_mut() else {
        return Err(AppError::FailedPrecondition {
            message: "The applicant has not entered a membership to check.".into(),
            missing: vec!["membership".into()],
        });
    };
    claim.checked_by = Some(actor.subject().to_owned());
    save(services, actor, document, expected_version, audit).await
}

#[cfg(test)]
mod tests {
    use super::cents_of;

    #[test]
    fn dollars_become_cents_exactly() {
        assert_eq!(cents_of("50"), Some(5000));
        assert_eq!(cents_of("50.5"), Some(5050));
        assert_eq!(cents_of("$90.00"), Some(9000));
        assert_eq!(cents_of("0.07"), Some(7));
        for bad in ["", ".5", "5.000", "-5", "5,00", "five", "1e3"] {
            assert_eq!(cents_of(bad), None, "{bad}");
        }
    }
}
