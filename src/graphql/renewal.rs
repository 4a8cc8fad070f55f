//! Renewal through GraphQL: where an endorsement stands against its cycle,
//! renewal by attestation, reinstatement, the audit. See
//! [`crate::app::renewals`].

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};

use super::context::{actor, change_audit, services};
use super::portfolio::eligibility::EligibilityObject;
use super::scalars::{Date, DateTime};
use crate::app::error::AppResult;
use crate::app::portfolios::parse_id;
use crate::app::records::{Attestation, AuditDraw, AuditOutcome, RenewalDocument, RenewalKind};
use crate::app::renewals::{self, RenewalStatus};
use crate::domain::model::Basis;

/// How an endorsement was kept current.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RenewalType {
    /// Renewed by attestation in the cycle's window.
    Renewal,
    /// Reinstated after a lapse.
    Reinstatement,
}

/// What an audit found.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RenewalAuditOutcome {
    /// The evidence verified covers the requirements.
    Passed,
    /// It does not: the endorsement lapses.
    Failed,
}

impl From<AuditOutcome> for RenewalAuditOutcome {
    fn from(outcome: AuditOutcome) -> Self {
        match outcome {
            AuditOutcome::Passed => RenewalAuditOutcome::Passed,
            AuditOutcome::Failed => RenewalAuditOutcome::Failed,
        }
    }
}

/// One renewal cycle.
#[derive(SimpleObject)]
pub struct RenewalCycle {
    /// Entries dated from this day count.
    pub starts: Date,
    /// The deadline: renewed by this day, or lapsed the next.
    pub ends: Date,
    pub window_opens: Date,
    pub years: i32,
}

impl From<&crate::domain::renewal::Cycle> for RenewalCycle {
    fn from(cycle: &crate::domain::renewal::Cycle) -> Self {
        RenewalCycle {
            starts: Date(cycle.starts),
            ends: Date(cycle.ends),
            window_opens: Date(cycle.window_opens),
            years: cycle.years as i32,
        }
    }
}

/// A renewal's audit: selected by a draw, then decided by a reviewer.
#[derive(SimpleObject)]
pub struct RenewalAuditResult {
    pub selected_on: Date,
    /// Null until decided.
    pub outcome: Option<RenewalAuditOutcome>,
    pub note: Option<String>,
    pub decided_on: Option<Date>,
}

/// A renewal or reinstatement filed by the endorsee.
#[derive(SimpleObject)]
pub struct Renewal {
    pub id: ID,
    pub endorsement_id: ID,
    /// The endorsed portfolio, where audit evidence is uploaded.
    pub portfolio_id: ID,
    pub kind: RenewalType,
    /// The deadline of the cycle renewed (reinstated: of the cycle it is
    /// current through again).
    pub cycle_ends: Date,
    /// What the endorsement is current through since.
    pub current_through: Date,
    pub filed_on: Date,
    /// The rules it was checked against.
    pub rules: String,
    /// Years of the cycle owed (fewer than `cycleYears` when prorated).
    pub owed_years: i32,
    pub cycle_years: i32,
    /// Null unless selected for audit.
    pub audit: Option<RenewalAuditResult>,
}

impl From<RenewalDocument> for Renewal {
    fn from(renewal: RenewalDocument) -> Self {
        Renewal {
            id: ID(renewal.id.to_hex()),
            endorsement_id: ID(renewal.endorsement_id.to_hex()),
            portfolio_id: ID(renewal.portfolio_id.to_hex()),
            kind: match renewal.kind {
                RenewalKind::Renewal => RenewalType::Renewal,
                RenewalKind::Reinstatement => RenewalType::Reinstatement,
            },
            cycle_ends: Date(renewal.cycle_ends),
            current_through: Date(renewal.current_through),
            filed_on: Date(renewal.filed_on),
            rules: renewal.rules,
            owed_years: renewal.owed_years as i32,
            cycle_years: renewal.cycle_years as i32,
            audit: renewal.audit.map(|audit| RenewalAuditResult {
                selected_on: Date(audit.selected_on),
                outcome: audit.outcome.map(Into::into),
                note: audit.note,
                decided_on: audit.decided_on.map(Date),
            }),
        }
    }
}

/// Where an endorsement stands against one renewal cycle.
#[derive(SimpleObject)]
pub struct RenewalStatusObject {
    pub endorsement_id: ID,
    pub cycle: RenewalCycle,
    /// Whether the renewal window is open on the association's today.
    pub window_open: bool,
    /// Of the cycle's years, how many are owed (proration).
    pub owed_years: i32,
    /// Endorsed as ERS or Mentor-Clinical, or providing RS/C in the cycle
    /// (then training on providing RS/C is required).
    pub provides_rsc: bool,
    /// The renewal filed for this cycle, if any.
    pub renewal: Option<Renewal>,
    /// The requirements, evaluated like a category's over the entries
    /// inside the cycle only.
    pub requirements: EligibilityObject,
}

/// An audit draw, reproducible from its seed.
#[derive(SimpleObject)]
pub struct RenewalAuditDraw {
    pub id: ID,
    pub cycle_ends: Date,
    /// Each renewal id is ranked by SHA-256 of "seed:id"; the lowest ranks
    /// are drawn.
    pub seed: String,
    pub share_percent: i32,
    /// Renewals filed for the cycle.
    pub population: Vec<ID>,
    /// Drawn from `population`: `sharePercent` of it, rounded up.
    pub drawn: Vec<ID>,
    /// Reinstatements joining the audit on top of the draw.
    pub reinstated: Vec<ID>,
    pub drawn_on: Date,
    pub at: DateTime,
}

impl From<AuditDraw> for RenewalAuditDraw {
    fn from(draw: AuditDraw) -> Self {
        let ids = |list: Vec<String>| list.into_iter().map(ID).collect();
        RenewalAuditDraw {
            id: ID(draw.id.to_hex()),
            cycle_ends: Date(draw.cycle_ends),
            seed: draw.seed,
            share_percent: draw.share_percent as i32,
            population: ids(draw.population),
            drawn: ids(draw.drawn),
            reinstated: ids(draw.reinstated),
            drawn_on: Date(draw.drawn_on),
            at: draw.at.into(),
        }
    }
}

/// What the endorsee attests when renewing or reinstating: every one must
/// be true.
#[derive(InputObject)]
pub struct RenewalAttestationInput {
    /// Their training in the cycle is entered in the portfolio.
    pub training_entered: bool,
    /// Their reflective supervision/consultation is entered.
    pub rsc_entered: bool,
    /// They signed the Code of Ethics and Endorsement Agreement again.
    pub agreement_signed: bool,
    /// Their membership is current.
    pub membership_current: bool,
}

impl From<RenewalAttestationInput> for Attestation {
    fn from(input: RenewalAttestationInput) -> Self {
        Attestation {
            training_entered: input.training_entered,
            rsc_entered: input.rsc_entered,
            agreement_signed: input.agreement_signed,
            membership_current: input.membership_current,
        }
    }
}

fn status_object(status: RenewalStatus, today: chrono::NaiveDate) -> RenewalStatusObject {
    RenewalStatusObject {
        endorsement_id: ID(status.endorsement.id.to_hex()),
        cycle: (&status.cycle).into(),
        window_open: status.cycle.window_is_open(today),
        owed_years: status.owed_years as i32,
        provides_rsc: status.provides_rsc,
        renewal: status.renewal.map(Into::into),
        requirements: EligibilityObject(std::sync::Arc::new(status.eligibility)),
    }
}

#[derive(Default)]
pub struct RenewalQuery;

#[Object]
impl RenewalQuery {
    /// Where an endorsement stands against the renewal cycle `asOf` falls
    /// in (default: the cycle it is current through, as of today): the
    /// requirements (prorated for those endorsed during the cycle),
    /// evaluated like a category's over the entries inside the cycle. The
    /// endorsee, reviewers and staff.
    async fn renewal_status(
        &self,
        ctx: &Context<'_>,
        endorsement_id: ID,
        as_of: Option<Date>,
        #[graphql(desc = "CLAIMED when left out.")] basis: Option<Basis>,
    ) -> AppResult<RenewalStatusObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("endorsementId", &endorsement_id)?;
        let status =
            renewals::status(services(ctx), &actor, id, as_of.map(|d| d.0), basis.unwrap_or(Basis::Claimed)).await?;
        Ok(status_object(status, actor.tenant.today()))
    }

    /// What reinstating a lapsed endorsement requires, evaluated over the
    /// 12 months before `asOf` (default: today).
    async fn reinstatement_status(
        &self,
        ctx: &Context<'_>,
        endorsement_id: ID,
        as_of: Option<Date>,
        #[graphql(desc = "CLAIMED when left out.")] basis: Option<Basis>,
    ) -> AppResult<EligibilityObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("endorsementId", &endorsement_id)?;
        let eligibility = renewals::reinstatement_status(
            services(ctx),
            &actor,
            id,
            as_of.map(|d| d.0),
            basis.unwrap_or(Basis::Claimed),
        )
        .await?;
        Ok(EligibilityObject(std::sync::Arc::new(eligibility)))
    }

    /// The renewals and reinstatements of an endorsement, oldest first.
    async fn renewals(&self, ctx: &Context<'_>, endorsement_id: ID) -> AppResult<Vec<Renewal>> {
        let actor = actor(ctx).await?;
        let id = parse_id("endorsementId", &endorsement_id)?;
        Ok(renewals::of_endorsement_id(services(ctx), &actor, id).await?.into_iter().map(Into::into).collect())
    }

    /// Audited renewals awaiting an outcome (REVIEWER, COORDINATOR, ADMIN).
    async fn renewal_audit_queue(&self, ctx: &Context<'_>) -> AppResult<Vec<Renewal>> {
        let actor = actor(ctx).await?;
        Ok(renewals::audit_queue(services(ctx), &actor).await?.into_iter().map(Into::into).collect())
    }

    /// The audit draw of the cycle ending `cycleEnds`, once made.
    async fn renewal_audit(&self, ctx: &Context<'_>, cycle_ends: Date) -> AppResult<Option<RenewalAuditDraw>> {
        let actor = actor(ctx).await?;
        Ok(renewals::draw_of(services(ctx), &actor, cycle_ends.0).await?.map(Into::into))
    }
}

#[derive(Default)]
pub struct RenewalMutation;

#[Object]
impl RenewalMutation {
    /// The endorsee renews in the window of the cycle their endorsement is
    /// current through (CONFLICT outside it): every attestation true, the
    /// requirements met (FAILED_PRECONDITION with `extensions.missing`
    /// naming them), then the renewal fee, charged at the first ask and
    /// `missing: ["renewalFee"]` until paid or waived. The endorsement is
    /// then current through the next cycle's end.
    async fn renew_endorsement(
        &self,
        ctx: &Context<'_>,
        endorsement_id: ID,
        attestation: RenewalAttestationInput,
    ) -> AppResult<Renewal> {
        let actor = actor(ctx).await?;
        let id = parse_id("endorsementId", &endorsement_id)?;
        Ok(renewals::renew(services(ctx), &actor, id, attestation.into(), &change_audit(ctx)).await?.into())
    }

    /// The endorsee reinstates a lapsed endorsement: 15 hours of training
    /// in the past 12 months, a current RS/C provider where the category
    /// requires RS/C, the agreement, membership, and the reinstatement fee.
    /// Reinstated endorsements join the next audit.
    async fn reinstate_endorsement(
        &self,
        ctx: &Context<'_>,
        endorsement_id: ID,
        attestation: RenewalAttestationInput,
    ) -> AppResult<Renewal> {
        let actor = actor(ctx).await?;
        let id = parse_id("endorsementId", &endorsement_id)?;
        Ok(renewals::reinstate(services(ctx), &actor, id, attestation.into(), &change_audit(ctx)).await?.into())
    }

    /// Draws the audit of a cycle once its window has closed (COORDINATOR,
    /// ADMIN): the association's share of the renewals filed (10% by
    /// default, rounded up) chosen by `seed` (random when left out; kept
    /// either way), plus every reinstatement not yet audited.
    async fn draw_renewal_audit(
        &self,
        ctx: &Context<'_>,
        cycle_ends: Date,
        seed: Option<String>,
    ) -> AppResult<RenewalAuditDraw> {
        let actor = actor(ctx).await?;
        Ok(renewals::draw_audit(services(ctx), &actor, cycle_ends.0, seed, &change_audit(ctx)).await?.into())
    }

    /// Records an audited renewal's outcome (REVIEWER, COORDINATOR, ADMIN;
    /// never one's own): PASSED once the evidence verified covers the
    /// requirements (FAILED_PRECONDITION naming what it does not); FAILED,
    /// with a note, lapses the endorsement.
    async fn record_renewal_audit(
        &self,
        ctx: &Context<'_>,
        renewal_id: ID,
        outcome: RenewalAuditOutcome,
        note: Option<String>,
    ) -> AppResult<Renewal> {
        let actor = actor(ctx).await?;
        let id = parse_id("renewalId", &renewal_id)?;
        let outcome = match outcome {
            RenewalAuditOutcome::Passed => AuditOutcome::Passed,
            RenewalAuditOutcome::Failed => AuditOutcome::Failed,
        };
        Ok(renewals::record_audit(services(ctx), &actor, id, outcome, note, &change_audit(ctx)).await?.into())
    }

    /// Sets the clock every association's calendar reads (ADMIN, development
    /// only: FORBIDDEN in production): for demos and tests that walk
    /// through a renewal cycle. The renewal sweep runs at once.
    async fn set_clock(&self, ctx: &Context<'_>, now: DateTime) -> AppResult<DateTime> {
        let actor = actor(ctx).await?;
        Ok(DateTime(crate::app::clock::set(services(ctx), &actor, now.0, &change_audit(ctx)).await?))
    }
}
