//! Registration, fees and the ledger through GraphQL. See
//! [`crate::app::applications`] and [`crate::app::fees`].

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};

use super::context::{actor, change_audit, services};
use super::portfolio::PortfolioObject;
use super::portfolio::inputs::CreatePortfolioInput;
use super::scalars::{Date, DateTime};
use crate::app::applications;
use crate::app::error::AppResult;
use crate::app::fees::{self, ChargeView, StaffMovement};
use crate::app::portfolios::{NewPortfolio, parse_id};
use crate::app::records::{ApplicationDocument, LedgerEntry};
use crate::domain::fees::{FeeLine, Money};
use crate::domain::model::{Category, Currency, FeeKind, LedgerEntryKind, MembershipType, Payee, Track};

/// An amount in whole cents of one currency.
#[derive(SimpleObject, Debug)]
#[graphql(name = "Money")]
pub struct MoneyObject {
    pub cents: i64,
    pub currency: Currency,
    /// For people: "$25.00".
    pub formatted: String,
}

impl From<Money> for MoneyObject {
    fn from(money: Money) -> Self {
        MoneyObject { cents: money.cents, currency: money.currency, formatted: money.to_string() }
    }
}

/// One fee of a schedule version.
#[derive(SimpleObject)]
pub struct Fee {
    pub kind: FeeKind,
    /// The categories it applies to; empty: any.
    pub categories: Vec<Category>,
    pub membership_type: Option<MembershipType>,
    pub amount: MoneyObject,
    /// ALLIANCE: paid to the Alliance (the exam), shown for information.
    pub payee: Payee,
    pub refundable: bool,
}

impl From<&FeeLine> for Fee {
    fn from(line: &FeeLine) -> Self {
        Fee {
            kind: line.kind,
            categories: line.categories.clone(),
            membership_type: line.membership,
            amount: line.amount.into(),
            payee: line.payee,
            refundable: line.refundable,
        }
    }
}

/// The fees in force from one day.
#[derive(SimpleObject)]
pub struct FeeScheduleVersion {
    pub effective_from: Date,
    pub fees: Vec<Fee>,
}

/// Where a portfolio's registration stands.
#[derive(SimpleObject)]
pub struct Registration {
    pub category: Category,
    pub track: Track,
    /// The association's calendar day of the registration.
    pub registered_on: Date,
    /// Open until the portfolio is endorsed or withdrawn.
    pub open: bool,
    /// Why a coordinator let it be submitted before it met its requirements.
    pub incomplete_submission_allowed: Option<String>,
}

impl From<ApplicationDocument> for Registration {
    fn from(application: ApplicationDocument) -> Self {
        Registration {
            category: application.category,
            track: application.track,
            registered_on: Date(application.registered_on),
            open: application.open_for.is_some(),
            incomplete_submission_allowed: application.incomplete_allowed.map(|allowance| allowance.reason),
        }
    }
}

/// A payment, waiver or refund against a charge.
pub struct LedgerMovement(LedgerEntry);

#[Object]
impl LedgerMovement {
    async fn id(&self) -> ID {
        ID(self.0.id.to_hex())
    }
    /// PAYMENT, WAIVER (in full or a reduction) or REFUND.
    async fn kind(&self) -> LedgerEntryKind {
        self.0.kind
    }
    async fn amount(&self) -> MoneyObject {
        self.0.amount.into()
    }
    /// The association's calendar day (a payment: when it was received).
    async fn on(&self) -> Date {
        Date(self.0.on)
    }
    async fn recorded_at(&self) -> DateTime {
        self.0.at.into()
    }
    /// Why it was waived or refunded.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// A cheque number or the payment provider's id.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
}

/// A fee charged to the applicant, with what was paid, waived and refunded.
pub struct FeeCharge(ChargeView);

#[Object]
impl FeeCharge {
    /// Pay against it with the id as the provider's `metadata.charge_id`.
    async fn id(&self) -> ID {
        ID(self.0.charge.id.to_hex())
    }
    async fn kind(&self) -> FeeKind {
        self.0.charge.fee
    }
    async fn category(&self) -> Option<Category> {
        self.0.charge.category
    }
    async fn amount(&self) -> MoneyObject {
        self.0.charge.amount.into()
    }
    async fn refundable(&self) -> bool {
        self.0.charge.refundable
    }
    /// The association's calendar day it was charged (the fee in force then).
    async fn charged_on(&self) -> Date {
        Date(self.0.charge.on)
    }
    async fn paid(&self) -> MoneyObject {
        self.0.money(self.0.balance.paid).into()
    }
    async fn waived(&self) -> MoneyObject {
        self.0.money(self.0.balance.waived).into()
    }
    async fn refunded(&self) -> MoneyObject {
        self.0.money(self.0.balance.refunded).into()
    }
    async fn outstanding(&self) -> MoneyObject {
        self.0.money(self.0.balance.outstanding()).into()
    }
    /// Paid beyond what is owed (to refund).
    async fn credit(&self) -> MoneyObject {
        self.0.money(self.0.balance.credit()).into()
    }
    async fn settled(&self) -> bool {
        self.0.balance.settled()
    }
    /// Oldest first.
    async fn movements(&self) -> Vec<LedgerMovement> {
        self.0.lines.iter().cloned().map(LedgerMovement).collect()
    }
}

/// The portfolio's `registration` field.
pub async fn registration(ctx: &Context<'_>, portfolio: &PortfolioObject) -> AppResult<Option<Registration>> {
    Ok(applications::of_portfolio(services(ctx), &portfolio.1, portfolio.0.id).await?.map(Registration::from))
}

/// The portfolio's `fees` field.
pub async fn account(ctx: &Context<'_>, portfolio: &PortfolioObject) -> AppResult<Vec<FeeCharge>> {
    Ok(fees::account(services(ctx), &portfolio.1, &portfolio.0).await?.into_iter().map(FeeCharge).collect())
}

#[derive(InputObject)]
pub struct RecordPaymentInput {
    pub charge_id: ID,
    pub amount_cents: i64,
    /// A cheque number, a receipt.
    pub reference: Option<String>,
    /// The day it was received (today otherwise).
    pub received_on: Option<Date>,
}

#[derive(InputObject)]
pub struct WaiveFeeInput {
    pub charge_id: ID,
    /// A reduction; leave out to waive all that is outstanding.
    pub amount_cents: Option<i64>,
    pub reason: String,
}

#[derive(InputObject)]
pub struct RefundPaymentInput {
    pub charge_id: ID,
    pub amount_cents: i64,
    pub reason: String,
}

#[derive(Default)]
pub struct FeeQuery;

#[Object]
impl FeeQuery {
    /// The caller's association's fees in force on `asOf` (today
    /// otherwise); null when it has no fees then.
    async fn fee_schedule(&self, ctx: &Context<'_>, as_of: Option<Date>) -> AppResult<Option<FeeScheduleVersion>> {
        let actor = actor(ctx).await?;
        let day = as_of.map_or_else(|| actor.tenant.today(), |d| d.0);
        Ok(actor.tenant.fees.in_force(day).map(|version| FeeScheduleVersion {
            effective_from: Date(version.effective_from),
            fees: version.lines.iter().map(Fee::from).collect(),
        }))
    }
}

#[derive(Default)]
pub struct FeeMutation;

fn charge_id(id: &ID) -> AppResult<mongodb::bson::oid::ObjectId> {
    parse_id("input.chargeId", id)
}

#[Object]
impl FeeMutation {
    /// Registers the caller for Endorsement in one category and track
    /// (APPLICANT): a new DRAFT portfolio, charged the registration fee in
    /// force today. One open application per person: a second is CONFLICT.
    async fn register_for_endorsement(
        &self,
        ctx: &Context<'_>,
        input: CreatePortfolioInput,
    ) -> AppResult<PortfolioObject> {
        let actor = actor(ctx).await?;
        let input = NewPortfolio {
            track: input.track,
            target_category: input.target_category,
            applicant: input.applicant.into_domain(),
            extra: input.extra.map(|Json(value)| value),
        };
        let (portfolio, _) = applications::register(services(ctx), &actor, input, &change_audit(ctx)).await?;
        Ok(PortfolioObject::new(portfolio, actor))
    }

    /// Lets a registered portfolio be submitted before it meets its
    /// requirements (COORDINATOR, ADMIN), with the reason kept.
    async fn allow_incomplete_submission(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        reason: String,
    ) -> AppResult<Registration> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        Ok(applications::allow_incomplete(services(ctx), &actor, id, reason, &change_audit(ctx)).await?.into())
    }

    /// Records a payment received (COORDINATOR, ADMIN): at most what is
    /// outstanding.
    async fn record_payment(&self, ctx: &Context<'_>, input: RecordPaymentInput) -> AppResult<FeeCharge> {
        let movement = StaffMovement {
            charge_id: charge_id(&input.charge_id)?,
            kind: LedgerEntryKind::Payment,
            cents: Some(input.amount_cents),
            reason: None,
            reference: input.reference,
            on: input.received_on.map(|d| d.0),
        };
        record(ctx, movement).await
    }

    /// Waives a fee or reduces it (COORDINATOR, ADMIN), with a reason.
    async fn waive_fee(&self, ctx: &Context<'_>, input: WaiveFeeInput) -> AppResult<FeeCharge> {
        let movement = StaffMovement {
            charge_id: charge_id(&input.charge_id)?,
            kind: LedgerEntryKind::Waiver,
            cents: input.amount_cents,
            reason: Some(input.reason),
            reference: None,
            on: None,
        };
        record(ctx, movement).await
    }

    /// Refunds part or all of what was paid for a refundable fee
    /// (COORDINATOR, ADMIN), with a reason; a registration fee never is.
    async fn refund_payment(&self, ctx: &Context<'_>, input: RefundPaymentInput) -> AppResult<FeeCharge> {
        let movement = StaffMovement {
            charge_id: charge_id(&input.charge_id)?,
            kind: LedgerEntryKind::Refund,
            cents: Some(input.amount_cents),
            reason: Some(input.reason),
            reference: None,
            on: None,
        };
        record(ctx, movement).await
    }
}

async fn record(ctx: &Context<'_>, movement: StaffMovement) -> AppResult<FeeCharge> {
    let actor = actor(ctx).await?;
    Ok(FeeCharge(fees::record(services(ctx), &actor, movement, &change_audit(ctx)).await?))
}
