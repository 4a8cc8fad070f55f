//! Renewal (process.md, "Renewal"): where an endorsement stands against
//! its cycle, renewal by attestation in the window, reinstatement after a
//! lapse, the audit draw and its outcomes. The deadline sweep and the
//! reminders are [`sweep`].
//!
//! Continuing education is entered in the endorsed portfolio itself
//! (training, RS/C, the agreement signed again; see
//! [`crate::domain::renewal::check_continuing_change`]), so an audit asks
//! for evidence through the same uploads and the same reviewer
//! verification as the first application, and a renewal is evaluated by
//! the same engine over the entries inside the cycle.

pub mod sweep;

use chrono::NaiveDate;
use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::fees::ChargeView;
use super::{Actor, ChangeAudit, Tenant, evaluation, fees, input, policy};
use crate::domain::access::PortfolioAccess;
use crate::domain::engine::{Eligibility, Tree, evaluate_tree};
use crate::domain::model::{Basis, Category, EndorsementStatus, FeeKind, Portfolio};
use crate::domain::renewal::{self, Cycle, RenewalRules};
use crate::services::Services;
use crate::store::endorsements::{EndorsementDocument, StatusChange};
use crate::store::portfolio::{PortfolioDocument, Projection};
use crate::store::renewals::{Attestation, AuditDraw, AuditOutcome, RenewalAudit, RenewalDocument, RenewalKind};

/// Longest audit note.
const MAX_NOTE_CHARS: usize = 2_000;
/// Longest audit seed.
const MAX_SEED_CHARS: usize = 100;

/// Where an endorsement stands against one renewal cycle.
#[derive(Debug, Clone)]
pub struct RenewalStatus {
    pub endorsement: EndorsementDocument,
    pub cycle: Cycle,
    /// Of the cycle's years, how many are owed (proration).
    pub owed_years: u32,
    /// Endorsed as ERS or Mentor-Clinical, or providing RS/C in the cycle.
    pub provides_rsc: bool,
    /// The renewal filed for this cycle, if any.
    pub renewal: Option<RenewalDocument>,
    /// The requirements, evaluated over the entries inside the cycle.
    pub eligibility: Eligibility,
}

/// An endorsement the caller may look at: the endorsee's own, or anyone's
/// here for reviewers and staff.
async fn visible(services: &Services, actor: &Actor, id: ObjectId) -> AppResult<EndorsementDocument> {
    let record =
        services.endorsements(&actor.tenant)?.get(id).await?.ok_or_else(|| AppError::not_found("Endorsement"))?;
    if !policy::is_subject_of(&actor.viewer, &record.subject) {
        policy::require_role(&actor.viewer, policy::JUDGES).map_err(|_| AppError::not_found("Endorsement"))?;
    }
    Ok(record)
}

/// The endorsee's own endorsement (FORBIDDEN for anyone else: renewing and
/// reinstating are the endorsee's attestations).
async fn own(services: &Services, actor: &Actor, id: ObjectId) -> AppResult<EndorsementDocument> {
    let record = visible(services, actor, id).await?;
    if !policy::is_subject_of(&actor.viewer, &record.subject) {
        return Err(AppError::Forbidden);
    }
    Ok(record)
}

/// The endorsee's own endorsement, in `status` (CONFLICT otherwise: a
/// current one is renewed, a lapsed one reinstated).
async fn own_in(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    status: EndorsementStatus,
    audit: &ChangeAudit<'_>,
) -> AppResult<EndorsementDocument> {
    audit.target(format!("endorsement/{}", id.to_hex()));
    let endorsement = own(services, actor, id).await?;
    if endorsement.status == status {
        return Ok(endorsement);
    }
    let step = match status {
        EndorsementStatus::Lapsed => "a lapsed endorsement is reinstated",
        _ => "a current endorsement is renewed (a lapsed one is reinstated)",
    };
    Err(AppError::Conflict(format!(
        "Endorsement {} is {}: only {step}.",
        endorsement.number,
        endorsement.status.as_str()
    )))
}

/// The portfolio that earned `endorsement` (read after the endorsement's
/// own access check).
async fn portfolio_of(
    services: &Services,
    tenant: &Tenant,
    endorsement: &EndorsementDocument,
) -> AppResult<PortfolioDocument> {
    services
        .portfolios(tenant)?
        .find(endorsement.portfolio_id, &PortfolioAccess::Everything, &Projection::all())
        .await?
        .ok_or_else(|| AppError::internal(format!("the portfolio of endorsement {} vanished", endorsement.number)))
}

/// The engine's input for `endorsement`: its portfolio with the
/// association's records of the endorsee, and the evidence under VERIFIED;
/// with the categories the endorsee holds here now.
async fn content(
    services: &Services,
    tenant: &Tenant,
    endorsement: &EndorsementDocument,
    basis: Basis,
) -> AppResult<(Portfolio, Vec<Category>)> {
    let portfolio = portfolio_of(services, tenant, endorsement).await?;
    let records = evaluation::records(services, tenant, &portfolio).await?;
    let mut content = portfolio.content.clone();
    records.apply(&mut content);
    if basis == Basis::Verified {
        content.evidence = services.evidence(tenant)?.refs_for_portfolio(portfolio.id).await?;
    }
    let mut held: Vec<Category> = records.endorsements.iter().map(|prior| prior.category).collect();
    if endorsement.status == EndorsementStatus::Current {
        held.push(endorsement.category);
    }
    Ok((content, held))
}

/// Evaluates `requirements` over the entries of `window` (from its
/// start, as of its end).
fn evaluate(
    tenant: &Tenant,
    content: &Portfolio,
    endorsement: &EndorsementDocument,
    window: std::ops::RangeInclusive<NaiveDate>,
    basis: Basis,
    id: String,
    requirements: &[crate::domain::rulebook::Requirement],
) -> Eligibility {
    let policy = tenant.rulebook.as_ref().map(|rulebook| rulebook.evidence.clone()).unwrap_or_default();
    let tree = Tree { id, requirements, policy: &policy };
    let inside = renewal::within(content, *window.start());
    evaluate_tree(&inside, endorsement.category, endorsement.track, *window.end(), basis, &tree)
}

fn rules_id(tenant: &Tenant, what: &str, since: NaiveDate, until: NaiveDate) -> String {
    format!("{}@{what}:{since}..{until}", tenant.code())
}

/// The renewal of `endorsement` for the cycle `as_of` falls in, evaluated
/// as of `as_of` over the entries inside that cycle.
async fn status_in(
    services: &Services,
    tenant: &Tenant,
    endorsement: EndorsementDocument,
    as_of: NaiveDate,
    basis: Basis,
) -> AppResult<RenewalStatus> {
    let rules = tenant.renewal_rules();
    let cycle = rules.cycle(as_of);
    let (content, held) = content(services, tenant, &endorsement, basis).await?;
    let provides_rsc = renewal::provides_rsc(&held, &content, cycle.starts, as_of);
    let (requirements, owed_years) =
        rules.renewal_requirements(&cycle, endorsement.category, endorsement.endorsed_on, provides_rsc);
    let id = rules_id(tenant, "renewal", cycle.starts, cycle.ends);
    let eligibility = evaluate(tenant, &content, &endorsement, cycle.starts..=as_of, basis, id, &requirements);
    let renewal = services
        .renewals(tenant)?
        .of_endorsement(endorsement.id)
        .await?
        .into_iter()
        .find(|renewal| renewal.kind == RenewalKind::Renewal && renewal.cycle_ends == cycle.ends);
    Ok(RenewalStatus { endorsement, cycle, owed_years, provides_rsc, renewal, eligibility })
}

/// Where `endorsement_id` stands against the cycle `as_of` falls in
/// (default: the cycle it is current through, evaluated today or at its
/// deadline if that is earlier): the endorsee, reviewers and staff.
pub async fn status(
    services: &Services,
    actor: &Actor,
    endorsement_id: ObjectId,
    as_of: Option<NaiveDate>,
    basis: Basis,
) -> AppResult<RenewalStatus> {
    let endorsement = visible(services, actor, endorsement_id).await?;
    let as_of = as_of.unwrap_or_else(|| actor.tenant.today().min(endorsement.current_through));
    status_in(services, &actor.tenant, endorsement, as_of, basis).await
}

fn check_attestation(attestation: &Attestation) -> AppResult<()> {
    let unattested = [
        (attestation.training_entered, "trainingEntered"),
        (attestation.rsc_entered, "rscEntered"),
        (attestation.agreement_signed, "agreementSigned"),
        (attestation.membership_current, "membershipCurrent"),
    ]
    .into_iter()
    .find(|(attested, _)| !attested);
    match unattested {
        Some((_, name)) => Err(AppError::bad_input(
            format!("attestation.{name}"),
            format!("`{name}` must be attested (true) to file a renewal"),
        )),
        None => Ok(()),
    }
}

/// FAILED_PRECONDITION naming every unmet requirement.
fn require_met(eligibility: &Eligibility, step: &str) -> AppResult<()> {
    if eligibility.met {
        return Ok(());
    }
    let missing: Vec<String> = eligibility
        .requirements
        .iter()
        .filter(|r| !r.met && !r.optional && r.parent.is_none())
        .map(|r| r.key.to_string())
        .collect();
    Err(AppError::FailedPrecondition {
        message: format!("{step} waits for requirements not yet met: {}.", missing.join(", ")),
        missing,
    })
}

/// The fee of `kind` under `key`, charged at the first ask; FAILED_PRECONDITION
/// until it is paid or waived.
async fn require_fee(
    services: &Services,
    actor: &Actor,
    endorsement: &EndorsementDocument,
    kind: FeeKind,
    key: String,
    step: &str,
    audit: &ChangeAudit<'_>,
) -> AppResult<()> {
    let portfolio = portfolio_of(services, &actor.tenant, endorsement).await?;
    let charge: Option<ChargeView> = fees::charge_once_keyed(services, actor, &portfolio, kind, key, audit).await?;
    match charge {
        Some(view) if !view.balance.settled() => Err(AppError::FailedPrecondition {
            message: format!(
                "{step} waits for the {} fee: {} outstanding (paid or waived).",
                kind.as_str().to_lowercase(),
                view.money(view.balance.outstanding())
            ),
            missing: vec![fees::missing_name(kind)],
        }),
        _ => Ok(()),
    }
}

fn renewal_charge_key(endorsement: &EndorsementDocument, kind: FeeKind, cycle_ends: NaiveDate) -> String {
    format!("charge:endorsement:{}:{}:{cycle_ends}", endorsement.id.to_hex(), kind.as_str())
}

/// The endorsee renews in the window of the cycle their endorsement is
/// current through: attested, requirements met (CLAIMED), the renewal fee
/// settled; then it is current through the next cycle's end.
pub async fn renew(
    services: &Services,
    actor: &Actor,
    endorsement_id: ObjectId,
    attestation: Attestation,
    audit: &ChangeAudit<'_>,
) -> AppResult<RenewalDocument> {
    let endorsement = own_in(services, actor, endorsement_id, EndorsementStatus::Current, audit).await?;
    let today = actor.tenant.today();
    let rules = actor.tenant.renewal_rules();
    let cycle = rules.cycle(endorsement.current_through);
    if !cycle.window_is_open(today) {
        return Err(AppError::Conflict(format!(
            "Endorsement {} is current through {}; its renewal window is {} to {}.",
            endorsement.number, cycle.ends, cycle.window_opens, cycle.ends
        )));
    }
    check_attestation(&attestation)?;
    let status = status_in(services, &actor.tenant, endorsement.clone(), today, Basis::Claimed).await?;
    if status.renewal.is_some() {
        return Err(AppError::Conflict(format!(
            "Endorsement {} is already renewed for {}.",
            endorsement.number, cycle.ends
        )));
    }
    require_met(&status.eligibility, "Renewal")?;
    let key = renewal_charge_key(&endorsement, FeeKind::Renewal, cycle.ends);
    require_fee(services, actor, &endorsement, FeeKind::Renewal, key, "Renewal", audit).await?;
    let filed = Filing { kind: RenewalKind::Renewal, cycle: &cycle, owed_years: status.owed_years, today, attestation };
    let renewal = filed.document(actor, &endorsement, rules.next(&cycle).ends, &status.eligibility);
    file(services, actor, &renewal, &endorsement, None, audit).await
}

/// A renewal or reinstatement being filed today for `cycle`.
struct Filing<'a> {
    kind: RenewalKind,
    cycle: &'a Cycle,
    owed_years: u32,
    today: NaiveDate,
    attestation: Attestation,
}

impl Filing<'_> {
    /// The record: `endorsement` current through `current_through`,
    /// checked against the rules `checked` names.
    fn document(
        self,
        actor: &Actor,
        endorsement: &EndorsementDocument,
        current_through: NaiveDate,
        checked: &Eligibility,
    ) -> RenewalDocument {
        RenewalDocument {
            id: ObjectId::new(),
            association: actor.tenant.code().clone(),
            endorsement_id: endorsement.id,
            portfolio_id: endorsement.portfolio_id,
            subject: endorsement.subject.clone(),
            kind: self.kind,
            cycle_ends: self.cycle.ends,
            current_through,
            filed_on: self.today,
            filed_at: DateTime::now(),
            attestation: self.attestation,
            rules: checked.rulebook.clone(),
            owed_years: self.owed_years,
            cycle_years: self.cycle.years,
            audit: None,
        }
    }
}

async fn file(
    services: &Services,
    actor: &Actor,
    renewal: &RenewalDocument,
    endorsement: &EndorsementDocument,
    change: Option<&StatusChange>,
    audit: &ChangeAudit<'_>,
) -> AppResult<RenewalDocument> {
    let outcome = match renewal.kind {
        RenewalKind::Renewal => "RENEWED",
        RenewalKind::Reinstatement => "REINSTATED",
    };
    let record = audit.record(format!("endorsement/{}", endorsement.id.to_hex()), outcome);
    let filed = services.renewals(&actor.tenant)?.file_audited(renewal, endorsement, change, &record).await;
    match filed {
        Ok(Some(filed)) => {
            audit.stored();
            Ok(filed)
        }
        Ok(None) => {
            Err(AppError::Conflict(format!("Endorsement {} changed meanwhile; read it again.", endorsement.number)))
        }
        Err(crate::store::StoreError::Duplicate(_)) => Err(AppError::Conflict(format!(
            "Endorsement {} is already renewed for {}.",
            endorsement.number, renewal.cycle_ends
        ))),
        Err(error) => Err(error.into()),
    }
}

/// What reinstating `endorsement_id` today requires, evaluated over the
/// past 12 months.
pub async fn reinstatement_status(
    services: &Services,
    actor: &Actor,
    endorsement_id: ObjectId,
    as_of: Option<NaiveDate>,
    basis: Basis,
) -> AppResult<Eligibility> {
    let endorsement = visible(services, actor, endorsement_id).await?;
    let as_of = as_of.unwrap_or_else(|| actor.tenant.today());
    reinstatement_eligibility(services, &actor.tenant, &endorsement, as_of, basis).await
}

async fn reinstatement_eligibility(
    services: &Services,
    tenant: &Tenant,
    endorsement: &EndorsementDocument,
    as_of: NaiveDate,
    basis: Basis,
) -> AppResult<Eligibility> {
    let since = renewal::reinstatement_since(as_of);
    let (content, held) = content(services, tenant, endorsement, basis).await?;
    let rules: &RenewalRules = tenant.renewal_rules();
    let provides = renewal::provides_rsc(&held, &content, since, as_of);
    let requirements = rules.reinstatement_requirements(endorsement.category, provides);
    let id = rules_id(tenant, "reinstatement", since, as_of);
    Ok(evaluate(tenant, &content, endorsement, since..=as_of, basis, id, &requirements))
}

/// The endorsee reinstates a lapsed endorsement: attested, the
/// reinstatement requirements met over the past 12 months, the fee
/// settled; current again through the end of today's cycle, and in the
/// next audit whatever the draw.
pub async fn reinstate(
    services: &Services,
    actor: &Actor,
    endorsement_id: ObjectId,
    attestation: Attestation,
    audit: &ChangeAudit<'_>,
) -> AppResult<RenewalDocument> {
    let endorsement = own_in(services, actor, endorsement_id, EndorsementStatus::Lapsed, audit).await?;
    check_attestation(&attestation)?;
    let today = actor.tenant.today();
    let cycle = actor.tenant.renewal_rules().cycle(today);
    let eligibility = reinstatement_eligibility(services, &actor.tenant, &endorsement, today, Basis::Claimed).await?;
    require_met(&eligibility, "Reinstatement")?;
    let key = renewal_charge_key(&endorsement, FeeKind::Reinstatement, cycle.ends);
    require_fee(services, actor, &endorsement, FeeKind::Reinstatement, key, "Reinstatement", audit).await?;
    let filed = Filing { kind: RenewalKind::Reinstatement, cycle: &cycle, owed_years: cycle.years, today, attestation };
    let renewal = filed.document(actor, &endorsement, cycle.ends, &eligibility);
    let change = StatusChange {
        status: EndorsementStatus::Current,
        on: today,
        reason: Some("Reinstated".into()),
        by: actor.subject().to_owned(),
        at: DateTime::now(),
    };
    file(services, actor, &renewal, &endorsement, Some(&change), audit).await
}

/// The renewals and reinstatements of an endorsement the caller sees.
pub async fn of_endorsement(
    services: &Services,
    actor: &Actor,
    endorsement: &EndorsementDocument,
) -> AppResult<Vec<RenewalDocument>> {
    if !policy::is_subject_of(&actor.viewer, &endorsement.subject) {
        policy::require_role(&actor.viewer, policy::JUDGES)?;
    }
    Ok(services.renewals(&actor.tenant)?.of_endorsement(endorsement.id).await?)
}

/// [`of_endorsement`] by the endorsement's id.
pub async fn of_endorsement_id(
    services: &Services,
    actor: &Actor,
    endorsement_id: ObjectId,
) -> AppResult<Vec<RenewalDocument>> {
    let endorsement = visible(services, actor, endorsement_id).await?;
    of_endorsement(services, actor, &endorsement).await
}

/// Draws the audit of the cycle ending `cycle_ends` once its window has
/// closed (COORDINATOR, ADMIN): the association's share of the renewals
/// filed for it, by `seed` (a random one when none is given; either way
/// recorded), plus every reinstatement not yet audited.
pub async fn draw_audit(
    services: &Services,
    actor: &Actor,
    cycle_ends: NaiveDate,
    seed: Option<String>,
    audit: &ChangeAudit<'_>,
) -> AppResult<AuditDraw> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target(format!("renewal-audit/{cycle_ends}"));
    let cycle = actor.tenant.renewal_rules().cycle(cycle_ends);
    if cycle.ends != cycle_ends {
        return Err(AppError::bad_input(
            "cycleEnds",
            format!("{cycle_ends} ends no renewal cycle; the cycle it falls in ends {}", cycle.ends),
        ));
    }
    let today = actor.tenant.today();
    if today <= cycle.ends {
        return Err(AppError::Conflict(format!(
            "The renewal window of the cycle ending {} closes at its end; the audit is drawn after it.",
            cycle.ends
        )));
    }
    let seed = input::optional_text("seed", seed, MAX_SEED_CHARS)?
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let store = services.renewals(&actor.tenant)?;
    if store.draw_of(cycle.ends).await?.is_some() {
        return Err(AppError::Conflict(format!("The audit of the cycle ending {} is drawn already.", cycle.ends)));
    }
    let population: Vec<String> = store.filed_for(cycle.ends).await?.iter().map(|r| r.id.to_hex()).collect();
    let share = actor.tenant.association.settings.renewal_audit_percent();
    let drawn = renewal::audit_sample(&seed, &population, share);
    let reinstated: Vec<String> = store
        .reinstated_unaudited(today)
        .await?
        .iter()
        .map(|r| r.id.to_hex())
        .filter(|id| !drawn.contains(id))
        .collect();
    let draw = AuditDraw {
        id: ObjectId::new(),
        association: actor.tenant.code().clone(),
        cycle_ends: cycle.ends,
        seed,
        share_percent: share,
        population,
        drawn,
        reinstated,
        drawn_on: today,
        drawn_by: actor.subject().to_owned(),
        at: DateTime::now(),
    };
    let record = audit.record(format!("renewal-audit/{}", draw.id.to_hex()), "AUDIT_DRAWN");
    if !store.draw_audited(&draw, &record).await? {
        return Err(AppError::Conflict(format!("The audit of the cycle ending {} is drawn already.", cycle.ends)));
    }
    audit.stored();
    Ok(draw)
}

/// The draw of the cycle ending `cycle_ends`, if made (staff).
pub async fn draw_of(services: &Services, actor: &Actor, cycle_ends: NaiveDate) -> AppResult<Option<AuditDraw>> {
    policy::require_role(&actor.viewer, policy::JUDGES)?;
    Ok(services.renewals(&actor.tenant)?.draw_of(cycle_ends).await?)
}

/// Audited renewals awaiting an outcome (reviewers and staff).
pub async fn audit_queue(services: &Services, actor: &Actor) -> AppResult<Vec<RenewalDocument>> {
    policy::require_role(&actor.viewer, policy::JUDGES)?;
    Ok(services.renewals(&actor.tenant)?.awaiting_audit().await?)
}

/// A reviewer (or coordinator) records the outcome of an audited renewal:
/// PASSED only when the evidence verified covers the requirements as of
/// the filing day; FAILED (with a note) lapses the endorsement.
pub async fn record_audit(
    services: &Services,
    actor: &Actor,
    renewal_id: ObjectId,
    outcome: AuditOutcome,
    note: Option<String>,
    audit: &ChangeAudit<'_>,
) -> AppResult<RenewalDocument> {
    audit.target(format!("renewal/{}", renewal_id.to_hex()));
    let store = services.renewals(&actor.tenant)?;
    let renewal = store.get(renewal_id).await?.ok_or_else(|| AppError::not_found("Renewal"))?;
    policy::may_judge(&actor.viewer, &renewal.subject, policy::JUDGES)?;
    let note = input::optional_text("note", note, MAX_NOTE_CHARS)?;
    let Some(selected) = renewal.audit.clone() else {
        return Err(AppError::Conflict("This renewal was not selected for audit.".into()));
    };
    if selected.outcome.is_some() {
        return Err(AppError::Conflict("This renewal's audit is decided already.".into()));
    }
    let endorsement = services
        .endorsements(&actor.tenant)?
        .get(renewal.endorsement_id)
        .await?
        .ok_or_else(|| AppError::internal("an audited renewal's endorsement vanished"))?;
    let today = actor.tenant.today();
    let lapse = match outcome {
        AuditOutcome::Passed => {
            let verified = match renewal.kind {
                RenewalKind::Renewal => {
                    let as_of = renewal.filed_on;
                    status_in(services, &actor.tenant, endorsement.clone(), as_of, Basis::Verified).await?.eligibility
                }
                RenewalKind::Reinstatement => {
                    reinstatement_eligibility(services, &actor.tenant, &endorsement, renewal.filed_on, Basis::Verified)
                        .await?
                }
            };
            require_met(&verified, "Passing the audit")?;
            None
        }
        AuditOutcome::Failed => {
            let Some(note) = note.clone() else {
                return Err(AppError::bad_input("note", "`note` is required: say what the evidence did not show"));
            };
            Some(StatusChange {
                status: EndorsementStatus::Lapsed,
                on: today,
                reason: Some(format!("Renewal audit failed: {note}")),
                by: actor.subject().to_owned(),
                at: DateTime::now(),
            })
        }
    };
    let decided = RenewalAudit {
        outcome: Some(outcome),
        note,
        decided_by: Some(actor.subject().to_owned()),
        decided_on: Some(today),
        ..selected
    };
    let outcome_name = match outcome {
        AuditOutcome::Passed => "AUDIT_PASSED",
        AuditOutcome::Failed => "AUDIT_FAILED",
    };
    let record = audit.record(format!("renewal/{}", renewal.id.to_hex()), outcome_name);
    let stored = store
        .decide_audit_audited(&renewal, &decided, lapse.as_ref(), &record)
        .await?
        .ok_or_else(|| AppError::Conflict("This renewal's audit was decided meanwhile.".into()))?;
    audit.stored();
    Ok(stored)
}

/// The day from which an endorsed portfolio's entries may still change:
/// the start of the cycle its endorsement is to renew (or the endorsement
/// day, if later). Before it, entries were reviewed or attested. CONFLICT
/// for a portfolio endorsed without a record (imported or synthetic
/// data), or whose endorsement was revoked or withdrawn (final).
pub(crate) async fn frozen_before(
    services: &Services,
    actor: &Actor,
    portfolio: &PortfolioDocument,
) -> AppResult<NaiveDate> {
    let endorsement = services.endorsements(&actor.tenant)?.of_portfolio(portfolio.id).await?.ok_or_else(|| {
        AppError::Conflict("This ENDORSED portfolio has no endorsement record to renew; it cannot be changed.".into())
    })?;
    if matches!(endorsement.status, EndorsementStatus::Revoked | EndorsementStatus::Withdrawn) {
        return Err(AppError::Conflict(format!(
            "Endorsement {} is {}: its portfolio no longer changes.",
            endorsement.number,
            endorsement.status.as_str()
        )));
    }
    let cycle = actor.tenant.renewal_rules().cycle(endorsement.current_through);
    Ok(cycle.starts.max(endorsement.endorsed_on))
}
