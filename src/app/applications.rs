//! Registration for Endorsement and the gates on the way to it. An
//! applicant registers for one category and track: the portfolio, its
//! application and the registration fee in force that day are written
//! together, and a person holds one open application per association
//! (open: registered and not yet endorsed or withdrawn). Submission is
//! refused while the portfolio does not meet its requirements (unless the
//! association allows it, or a coordinator let this one through) and,
//! where the association says so, while the processing fee is owed.

use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::fees;
use super::portfolios::{NewPortfolio, prepare};
use super::{Actor, ChangeAudit, input, policy};
use crate::domain::model::{FeeKind, PortfolioStatus, ProcessingFeeDue};
use crate::domain::submission::unmet_before_submission;
use crate::domain::{evaluate, model::Basis};
use crate::services::Services;
use crate::store::applications::{Allowance, ApplicationDocument};
use crate::store::portfolio::PortfolioDocument;

/// Registers the caller for `input`'s category and track (APPLICANT): a
/// new DRAFT portfolio with its application, charged the registration fee
/// in force today. A second open application is a CONFLICT.
pub async fn register(
    services: &Services,
    actor: &Actor,
    input: NewPortfolio,
    audit: &ChangeAudit<'_>,
) -> AppResult<(PortfolioDocument, ApplicationDocument)> {
    let document = prepare(services, actor, input, audit).await?;
    let applications = services.applications(&actor.tenant)?;
    if let Some(open) = applications.open_of(actor.subject()).await? {
        close_if_done(services, actor, open).await?;
    }
    let application = ApplicationDocument {
        id: ObjectId::new(),
        association: actor.tenant.code().clone(),
        owner_id: actor.subject().to_owned(),
        portfolio_id: document.id,
        category: document.content.target_category,
        track: document.content.track,
        registered_on: actor.tenant.today(),
        registered_at: DateTime::now(),
        open_for: Some(actor.subject().to_owned()),
        incomplete_allowed: None,
    };
    let charge = fees::new_charge(&actor.tenant, &document, FeeKind::Registration, actor.subject());
    let record = audit.record(document.id.to_hex(), "REGISTERED");
    services
        .portfolios(&actor.tenant)?
        .insert_registered_audited(&document, &application, charge.as_ref(), &record)
        .await
        .map_err(|error| match AppError::from(error) {
            AppError::Conflict(_) => second_application(),
            other => other,
        })?;
    audit.stored();
    Ok((document, application))
}

fn second_application() -> AppError {
    AppError::Conflict(
        "You already have an open application for Endorsement here; finish or withdraw it before registering again."
            .into(),
    )
}

/// An open application whose portfolio was endorsed or withdrawn is
/// closed now (the portfolio's status is the truth); a live one refuses
/// the new registration.
async fn close_if_done(services: &Services, actor: &Actor, open: ApplicationDocument) -> AppResult<()> {
    let portfolios = services.portfolios(&actor.tenant)?;
    let everything = crate::domain::access::PortfolioAccess::Everything;
    let status = portfolios
        .find(open.portfolio_id, &everything, &crate::store::portfolio::Projection::all())
        .await?
        .map(|portfolio| portfolio.status);
    match status {
        Some(PortfolioStatus::Endorsed | PortfolioStatus::Withdrawn) | None => {
            services.applications(&actor.tenant)?.close(open.id).await?;
            Ok(())
        }
        Some(_) => Err(second_application()),
    }
}

/// The portfolio's application, if it was registered.
pub async fn of_portfolio(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
) -> AppResult<Option<ApplicationDocument>> {
    Ok(services.applications(&actor.tenant)?.of_portfolio(portfolio_id).await?)
}

/// Lets a portfolio that does not meet its requirements yet be submitted
/// (COORDINATOR, ADMIN; never one's own), with the reason kept.
pub async fn allow_incomplete(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    reason: String,
    audit: &ChangeAudit<'_>,
) -> AppResult<ApplicationDocument> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target(portfolio_id.to_hex());
    let reason = input::required_text("reason", &reason, fees::MAX_REASON_CHARS)?;
    let application = of_portfolio(services, actor, portfolio_id)
        .await?
        .ok_or_else(|| AppError::not_found("Registered portfolio"))?;
    policy::may_judge(&actor.viewer, &application.owner_id, policy::STAFF)?;
    let allowance = Allowance { reason, by: actor.subject().to_owned(), at: DateTime::now() };
    let record = audit.record(portfolio_id.to_hex(), "INCOMPLETE_SUBMISSION_ALLOWED");
    let updated = services
        .applications(&actor.tenant)?
        .allow_incomplete_audited(application.id, &allowance, &record)
        .await?
        .ok_or_else(|| AppError::not_found("Registered portfolio"))?;
    audit.stored();
    Ok(updated)
}

/// Whether `document` may be submitted now: registered (where the
/// association requires it), meeting its requirements (CLAIMED basis, the
/// rules in force today, the exam aside) unless allowed otherwise, and
/// with the processing fee settled where it is due at submission. Asking
/// charges the processing fee once.
pub(crate) async fn check_submission(
    services: &Services,
    actor: &Actor,
    document: &PortfolioDocument,
    audit: &ChangeAudit<'_>,
) -> AppResult<()> {
    let settings = &actor.tenant.association.settings;
    let application = of_portfolio(services, actor, document.id).await?;
    if application.is_none() && settings.requires_registration() {
        return Err(AppError::FailedPrecondition {
            message: "Register for Endorsement first: `registerForEndorsement` starts a registered portfolio.".into(),
            missing: vec!["registration".into()],
        });
    }
    let allowed = settings.allows_incomplete_submissions()
        || application.as_ref().is_some_and(|application| application.incomplete_allowed.is_some());
    if !allowed {
        check_requirements(services, actor, document).await?;
    }
    if application.is_some() {
        fees::charge_once(services, actor, document, FeeKind::Processing, audit).await?;
        if settings.processing_fee_due() == ProcessingFeeDue::AtSubmission {
            fees::require_settled(services, &actor.tenant, document.id, &[FeeKind::Processing], "Submission").await?;
        }
    }
    Ok(())
}

async fn check_requirements(services: &Services, actor: &Actor, document: &PortfolioDocument) -> AppResult<()> {
    let no_rules = || AppError::FailedPrecondition {
        message: format!("{} has no rules in force today to check the portfolio against.", actor.tenant.code()),
        missing: vec!["rulebook".into()],
    };
    let rulebook = actor.tenant.rulebook.as_ref().ok_or_else(no_rules)?;
    let today = actor.tenant.today();
    let (mut content, category) = (document.content.clone(), document.content.target_category);
    super::evaluation::records(services, &actor.tenant, document).await?.apply(&mut content);
    let eligibility =
        evaluate(&content, category, content.track, today, Basis::Claimed, rulebook).map_err(|_| no_rules())?;
    let definition = rulebook.in_force(today).ok().and_then(|version| version.category(category)).ok_or_else(|| {
        AppError::FailedPrecondition {
            message: format!("{} does not offer this category today.", actor.tenant.code()),
            missing: vec!["category.offered".into()],
        }
    })?;
    let unmet = unmet_before_submission(&eligibility, definition);
    if unmet.is_empty() {
        return Ok(());
    }
    let titles: Vec<&str> = unmet.iter().map(|u| u.title.as_str()).collect();
    Err(AppError::FailedPrecondition {
        message: format!(
            "The portfolio does not meet the {} requirements yet: {}. See `eligibility` for what is missing.",
            eligibility.code,
            titles.join("; ")
        ),
        missing: unmet.into_iter().map(|u| u.key).collect(),
    })
}
