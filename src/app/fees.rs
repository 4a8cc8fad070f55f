//! Fees: charging the fee in force (once per portfolio and kind), and the
//! ledger's movements. Coordinators and admins record payments, waive or
//! reduce fees and refund refundable ones, always with a reason for
//! anything but a payment; a payment provider reports payments through the
//! webhook (see `http::payments`). The applicant reads their account.

use chrono::NaiveDate;
use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::{Actor, ChangeAudit, Tenant, policy};
use crate::domain::fees::{ChargeBalance, LedgerRefusal, Money};
use crate::domain::model::{FeeKind, LedgerEntryKind, Payee};
use crate::services::Services;
use crate::store::audit::AuditRecord;
use crate::store::ledger::{self, LedgerEntry, Recorded};
use crate::store::portfolio::PortfolioDocument;

/// Longest reason or reference kept with a ledger line.
pub const MAX_REASON_CHARS: usize = 500;

/// One charge with every line against it.
#[derive(Debug, Clone)]
pub struct ChargeView {
    pub charge: LedgerEntry,
    pub lines: Vec<LedgerEntry>,
    pub balance: ChargeBalance,
}

impl ChargeView {
    fn of(charge: LedgerEntry, all: &[LedgerEntry]) -> Self {
        let lines: Vec<LedgerEntry> = all.iter().filter(|line| line.charge_id == Some(charge.id)).cloned().collect();
        let balance = ledger::balance(&charge, &lines);
        ChargeView { charge, lines, balance }
    }

    pub fn money(&self, cents: i64) -> Money {
        Money { cents, currency: self.charge.amount.currency }
    }
}

/// The portfolio's charges, oldest first: for its owner and the staff who
/// keep fees.
pub async fn account(services: &Services, actor: &Actor, portfolio: &PortfolioDocument) -> AppResult<Vec<ChargeView>> {
    if !policy::is_subject_of(&actor.viewer, &portfolio.owner_id) {
        policy::require_role(&actor.viewer, policy::STAFF)?;
    }
    charges(services, &actor.tenant, portfolio.id).await
}

pub(crate) async fn charges(
    services: &Services,
    tenant: &Tenant,
    portfolio_id: ObjectId,
) -> AppResult<Vec<ChargeView>> {
    let all = services.ledger(tenant)?.for_portfolio(portfolio_id).await?;
    Ok(all
        .iter()
        .filter(|line| line.kind == LedgerEntryKind::Charge)
        .map(|charge| ChargeView::of(charge.clone(), &all))
        .collect())
}

/// The charge of `fee` for `portfolio` in force today, unless the
/// schedule has none; a new charge line when `portfolio` has no such
/// charge yet (its key is unique).
pub(crate) fn new_charge(
    tenant: &Tenant,
    portfolio: &PortfolioDocument,
    fee: FeeKind,
    by: &str,
) -> Option<LedgerEntry> {
    new_keyed_charge(tenant, portfolio, fee, ledger::charge_key(portfolio.id, fee), by)
}

/// [`new_charge`] under `key`: a fee charged once per something other
/// than the portfolio (a renewal, once per cycle).
fn new_keyed_charge(
    tenant: &Tenant,
    portfolio: &PortfolioDocument,
    fee: FeeKind,
    key: String,
    by: &str,
) -> Option<LedgerEntry> {
    let category = portfolio.content.target_category;
    let line = tenant.fees.fee(fee, Some(category), None, tenant.today())?;
    // The exam is paid to the Alliance: shown, never charged here.
    (line.payee == Payee::Association).then(|| LedgerEntry {
        id: ObjectId::new(),
        association: tenant.code().clone(),
        owner_id: portfolio.owner_id.clone(),
        portfolio_id: portfolio.id,
        kind: LedgerEntryKind::Charge,
        fee,
        category: Some(category),
        charge_id: None,
        amount: line.amount,
        refundable: line.refundable,
        on: tenant.today(),
        at: DateTime::now(),
        by: by.to_owned(),
        reason: None,
        reference: None,
        key: Some(key),
        movements: 0,
    })
}

/// Charges `fee` for `portfolio` once: the existing charge if there is
/// one (a resubmission owes no second processing fee), else the one in
/// force today, written with its own audit record; `None` when the
/// schedule has no such fee.
pub(crate) async fn charge_once(
    services: &Services,
    actor: &Actor,
    portfolio: &PortfolioDocument,
    fee: FeeKind,
    audit: &ChangeAudit<'_>,
) -> AppResult<Option<ChargeView>> {
    charge_once_keyed(services, actor, portfolio, fee, ledger::charge_key(portfolio.id, fee), audit).await
}

/// [`charge_once`] under `key` (see [`new_keyed_charge`]).
pub(crate) async fn charge_once_keyed(
    services: &Services,
    actor: &Actor,
    portfolio: &PortfolioDocument,
    fee: FeeKind,
    key: String,
    audit: &ChangeAudit<'_>,
) -> AppResult<Option<ChargeView>> {
    let store = services.ledger(&actor.tenant)?;
    // One read serves both answers: the charge already made, with its lines.
    let account = store.for_portfolio(portfolio.id).await?;
    if let Some(charge) = account.iter().find(|entry| entry.key.as_deref() == Some(key.as_str())) {
        return Ok(Some(ChargeView::of(charge.clone(), &account)));
    }
    let Some(charge) = new_keyed_charge(&actor.tenant, portfolio, fee, key, actor.subject()) else {
        return Ok(None);
    };
    // Its own record: the request that caused it may still be refused.
    let record = AuditRecord {
        target: Some(format!("fee/{}", charge.id.to_hex())),
        outcome: Some(format!("{}_CHARGED", fee.as_str())),
        ..audit.record(portfolio.id.to_hex(), "")
    };
    let (charge, created) = store.charge_once_audited(&charge, &record).await?;
    // A new charge has no lines yet; one a concurrent request made may.
    let account = if created { Vec::new() } else { store.for_portfolio(portfolio.id).await? };
    Ok(Some(ChargeView::of(charge, &account)))
}

/// A staff movement to record.
#[derive(Debug, Clone)]
pub struct StaffMovement {
    pub charge_id: ObjectId,
    pub kind: LedgerEntryKind,
    /// `None` for a waiver: all that is outstanding.
    pub cents: Option<i64>,
    pub reason: Option<String>,
    pub reference: Option<String>,
    /// A payment: the day it was received (today otherwise, never later).
    pub on: Option<NaiveDate>,
}

fn text(field: &str, value: Option<String>, required: bool) -> AppResult<Option<String>> {
    let value = super::input::optional_text(field, value, MAX_REASON_CHARS)?;
    if required && value.is_none() {
        return Err(AppError::bad_input(field, format!("`{field}` is required: say why")));
    }
    Ok(value)
}

/// Records a payment, waiver (or reduction) or refund against a charge
/// (COORDINATOR, ADMIN; never on one's own account).
pub async fn record(
    services: &Services,
    actor: &Actor,
    movement: StaffMovement,
    audit: &ChangeAudit<'_>,
) -> AppResult<ChargeView> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target(format!("fee/{}", movement.charge_id.to_hex()));
    let store = services.ledger(&actor.tenant)?;
    let charge = store
        .get(movement.charge_id)
        .await?
        .filter(|line| line.kind == LedgerEntryKind::Charge)
        .ok_or_else(|| AppError::not_found("Fee charge"))?;
    policy::may_judge(&actor.viewer, &charge.owner_id, policy::STAFF)?;
    let today = actor.tenant.today();
    let reason = text("input.reason", movement.reason, movement.kind != LedgerEntryKind::Payment)?;
    let reference = text("input.reference", movement.reference, false)?;
    let on = movement.on.unwrap_or(today);
    if on > today {
        return Err(AppError::bad_input("input.receivedOn", "`receivedOn` cannot be after today"));
    }
    let cents = match movement.cents {
        Some(cents) => cents,
        None => {
            let all = store.for_portfolio(charge.portfolio_id).await?;
            ledger::balance(&charge, &all).outstanding()
        }
    };
    let line = LedgerEntry {
        id: ObjectId::new(),
        kind: movement.kind,
        charge_id: Some(charge.id),
        amount: Money { cents, currency: charge.amount.currency },
        refundable: false,
        on,
        at: DateTime::now(),
        by: actor.subject().to_owned(),
        reason,
        reference,
        key: None,
        movements: 0,
        ..charge.clone()
    };
    let outcome = match movement.kind {
        LedgerEntryKind::Payment => "PAYMENT_RECORDED",
        LedgerEntryKind::Waiver => "WAIVED",
        _ => "REFUNDED",
    };
    let record = audit.record(format!("fee/{}", charge.id.to_hex()), outcome);
    match store.record_movement_audited(&line, ChargeBalance::check, &record).await? {
        Recorded::Done(_) => audit.stored(),
        Recorded::Refused(refusal) => return Err(refused(refusal, &charge)),
        Recorded::NoSuchCharge => return Err(AppError::not_found("Fee charge")),
        Recorded::Already => return Err(AppError::Conflict("That was recorded already.".into())),
    }
    let all = store.for_portfolio(charge.portfolio_id).await?;
    Ok(ChargeView::of(charge, &all))
}

fn refused(refusal: LedgerRefusal, charge: &LedgerEntry) -> AppError {
    let money = |cents| Money { cents, currency: charge.amount.currency };
    match refusal {
        LedgerRefusal::NotPositive => AppError::bad_input("input.amountCents", "the amount must be more than zero"),
        LedgerRefusal::MoreThanOutstanding { outstanding } => AppError::bad_input(
            "input.amountCents",
            format!("only {} of the {} fee is outstanding", money(outstanding), charge.fee),
        ),
        LedgerRefusal::MoreThanPaid { net } => {
            AppError::bad_input("input.amountCents", format!("only {} was paid and not refunded", money(net)))
        }
        LedgerRefusal::NotRefundable => AppError::Conflict(format!("The {} fee is not refundable.", charge.fee)),
    }
}

/// A payment a provider reports (see `http::payments`).
#[derive(Debug, Clone)]
pub struct ProviderPayment {
    pub event_id: String,
    pub charge_id: ObjectId,
    pub amount: Money,
    /// The provider's own id of the payment.
    pub payment_id: String,
}

/// What became of a provider's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderOutcome {
    Recorded,
    /// The event was recorded before (a retry): nothing more happens.
    AlreadySeen,
    UnknownCharge,
    WrongCurrency,
}

/// Records a provider's payment once per event id. Money that arrived is
/// recorded even beyond what is owed (it shows as a credit for staff).
pub async fn provider_payment(
    services: &Services,
    tenant: &Tenant,
    payment: ProviderPayment,
    record: AuditRecord,
) -> AppResult<ProviderOutcome> {
    let store = services.ledger(tenant)?;
    if store.by_key(&ledger::event_key(&payment.event_id)).await?.is_some() {
        return Ok(ProviderOutcome::AlreadySeen);
    }
    let Some(charge) = store.get(payment.charge_id).await?.filter(|line| line.kind == LedgerEntryKind::Charge) else {
        return Ok(ProviderOutcome::UnknownCharge);
    };
    if charge.amount.currency != payment.amount.currency || payment.amount.cents <= 0 {
        return Ok(ProviderOutcome::WrongCurrency);
    }
    let line = LedgerEntry {
        id: ObjectId::new(),
        kind: LedgerEntryKind::Payment,
        charge_id: Some(charge.id),
        amount: payment.amount,
        refundable: false,
        on: tenant.today(),
        at: DateTime::now(),
        by: record.actor.clone(),
        reason: None,
        reference: Some(payment.payment_id),
        key: Some(ledger::event_key(&payment.event_id)),
        movements: 0,
        ..charge.clone()
    };
    let record = AuditRecord {
        target: Some(format!("fee/{}", charge.id.to_hex())),
        outcome: Some("PAYMENT_RECORDED".into()),
        ..record
    };
    Ok(match store.record_movement_audited(&line, |_, _, _| Ok(()), &record).await? {
        Recorded::Done(_) => ProviderOutcome::Recorded,
        Recorded::Already => ProviderOutcome::AlreadySeen,
        Recorded::NoSuchCharge => ProviderOutcome::UnknownCharge,
        Recorded::Refused(_) => ProviderOutcome::WrongCurrency,
    })
}

/// FAILED_PRECONDITION unless every charge of `kinds` (every charge when
/// empty) of the portfolio is settled.
pub(crate) async fn require_settled(
    services: &Services,
    tenant: &Tenant,
    portfolio_id: ObjectId,
    kinds: &[FeeKind],
    step: &str,
) -> AppResult<()> {
    let unsettled: Vec<ChargeView> = charges(services, tenant, portfolio_id)
        .await?
        .into_iter()
        .filter(|view| kinds.is_empty() || kinds.contains(&view.charge.fee))
        .filter(|view| !view.balance.settled())
        .collect();
    if unsettled.is_empty() {
        return Ok(());
    }
    let owed: Vec<String> = unsettled
        .iter()
        .map(|view| format!("{} of the {} fee", view.money(view.balance.outstanding()), fee_name(view.charge.fee)))
        .collect();
    Err(AppError::FailedPrecondition {
        message: format!("{step} waits for the fees: {} outstanding (paid or waived).", owed.join(", ")),
        missing: unsettled.iter().map(|view| missing_name(view.charge.fee)).collect(),
    })
}

/// How `extensions.missing` names an unsettled fee: "processingFee".
pub fn missing_name(fee: FeeKind) -> String {
    format!("{}Fee", fee_name(fee))
}

fn fee_name(fee: FeeKind) -> &'static str {
    match fee {
        FeeKind::Registration => "registration",
        FeeKind::Processing => "processing",
        FeeKind::Exam => "exam",
        FeeKind::Membership => "membership",
        FeeKind::Renewal => "renewal",
        FeeKind::Reinstatement => "reinstatement",
    }
}
