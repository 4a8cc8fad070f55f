//! What a rater does through their link, without an account: open the
//! form (which changes nothing: mail scanners open links before people
//! do), keep a draft, submit. The link is the only credential, so every
//! step starts from its hash, and submitting uses it up atomically.

use std::sync::Arc;

use chrono::Utc;
use mongodb::bson::DateTime;

use super::super::error::{AppError, AppResult};
use super::super::{ChangeAudit, Tenant};
use super::link;
use crate::domain::model::{
    Credential, CredentialBasis, Language, PortfolioEventKind, ReferenceEntry, ReferenceSource,
};
use crate::domain::reference::{self as rules, LinkRefused, Rating, ReferenceForm};
use crate::services::Services;
use crate::store::audit::{AuditRecord, PortfolioEvent};
use crate::store::portfolio::Projection;
use crate::store::references::{self, ReferenceRequestDocument, Submission};

/// A live link's form, as the rater sees it.
#[derive(Debug, Clone)]
pub struct RaterForm {
    pub tenant: Arc<Tenant>,
    pub request: ReferenceRequestDocument,
    pub form: ReferenceForm,
    /// The page's language: the rater's choice, else the request's.
    pub language: Language,
}

/// Where the link led: to the form, or to why not (with the association,
/// when the link is known, so the page can say whose it is).
#[derive(Debug, Clone)]
pub enum Opened {
    Form(Box<RaterForm>),
    Refused { refused: LinkRefused, tenant: Option<Arc<Tenant>>, language: Language },
}

impl LinkRefused {
    /// The GraphQL error: NOT_FOUND for a link that was never valid (or
    /// was replaced), CONFLICT with the reason otherwise.
    pub fn into_error(self) -> AppError {
        match self {
            LinkRefused::Unknown => AppError::NotFound(self.to_string()),
            _ => AppError::Conflict(self.to_string()),
        }
    }
}

/// Opens the form the link names. Reads only.
pub async fn open(services: &Services, token: &str, language: Option<Language>) -> AppResult<Opened> {
    let unknown = |tenant: Option<Arc<Tenant>>| Opened::Refused {
        refused: LinkRefused::Unknown,
        language: language
            .unwrap_or_else(|| tenant.as_ref().map_or(Language::En, |t| t.association.settings.language())),
        tenant,
    };
    if !link::plausible(token) {
        return Ok(unknown(None));
    }
    let hash = link::digest(token);
    let Some(code) = references::locate(services.store()?, &hash).await? else { return Ok(unknown(None)) };
    let Some(tenant) = services.tenants.get(&code).await? else { return Ok(unknown(None)) };
    let Some(request) = services.references(&tenant)?.by_token_hash(&hash).await? else {
        return Ok(unknown(Some(tenant)));
    };
    let language = language.unwrap_or(request.language);
    let live = request.token_hash.as_deref() == Some(hash.as_str());
    let refused = if live {
        rules::check_usable(request.status, request.expires_at.to_chrono(), Utc::now()).err()
    } else {
        // A spent link: say why, if it was used or withdrawn.
        Some(
            rules::check_usable(request.status, request.expires_at.to_chrono(), Utc::now())
                .err()
                .unwrap_or(LinkRefused::Unknown),
        )
    };
    if let Some(refused) = refused {
        return Ok(Opened::Refused { refused, tenant: Some(tenant), language });
    }
    let form = services
        .tenants
        .store()
        .reference_form(tenant.code(), request.form_revision)
        .await?
        .ok_or_else(|| AppError::internal(format!("reference form revision {} is missing", request.form_revision)))?
        .form;
    Ok(Opened::Form(Box::new(RaterForm { tenant, request, form, language })))
}

/// The form, or the refusal as an error.
pub async fn open_form(services: &Services, token: &str, language: Option<Language>) -> AppResult<RaterForm> {
    match open(services, token, language).await? {
        Opened::Form(form) => Ok(*form),
        Opened::Refused { refused, .. } => Err(refused.into_error()),
    }
}

fn bad_rating(error: crate::domain::ValidationError) -> AppError {
    AppError::bad_input(format!("input.{}", error.field), error.message)
}

/// Keeps what the rater has filled in so far; the request is OPENED.
pub async fn save_draft(services: &Services, token: &str, draft: Rating) -> AppResult<RaterForm> {
    let mut opened = open_form(services, token, None).await?;
    draft.check_draft(&opened.form).map_err(bad_rating)?;
    let saved = services
        .references(&opened.tenant)?
        .save_draft(&link::digest(token), &draft)
        .await?
        .ok_or_else(|| LinkRefused::Submitted.into_error())?;
    opened.request = saved;
    Ok(opened)
}

/// How the rater's own endorsement is taken: confirmed when the
/// association endorsed the holder of the rater's address (in what its
/// records say), else as stated.
async fn rater_credential(
    services: &Services,
    tenant: &Tenant,
    request: &ReferenceRequestDocument,
    stated: Credential,
) -> AppResult<(Credential, CredentialBasis)> {
    let endorsed = services.portfolios(tenant)?.endorsed_categories_of(&request.rater_email).await?;
    let on_record: Vec<Credential> = endorsed.into_iter().map(Credential::of_category).collect();
    if on_record.contains(&stated) {
        return Ok((stated, CredentialBasis::Confirmed));
    }
    let best = on_record.iter().copied().find(|c| c.is_level_two_or_above()).or_else(|| on_record.first().copied());
    Ok(match best {
        Some(credential) => (credential, CredentialBasis::Confirmed),
        None => (stated, CredentialBasis::Stated),
    })
}

/// The audit record of a submission made outside GraphQL (the page),
/// before the use case fills in its target and outcome.
pub fn submission_record(form: &RaterForm, request_id: String, client_request_id: Option<String>) -> AuditRecord {
    AuditRecord {
        association: Some(form.tenant.code().clone()),
        actor: format!("rater:{}", form.request.id.to_hex()),
        roles: Vec::new(),
        action: "submitReferenceRating".to_owned(),
        target: None,
        result: "ok".to_owned(),
        outcome: None,
        request_id,
        client_request_id,
        at: DateTime::now(),
        request_ids: Vec::new(),
        last_at: None,
        event: None,
        mail: Vec::new(),
    }
}

/// Submits the rating: the link is used up, the rating enters the
/// portfolio (dated by this day in the association's calendar), and the
/// rater and applicant are told. When.
pub async fn submit(services: &Services, token: &str, rating: Rating, audit: &ChangeAudit<'_>) -> AppResult<DateTime> {
    let opened = open_form(services, token, None).await?;
    let (tenant, request) = (&opened.tenant, &opened.request);
    audit.target(request.portfolio_id.to_hex());
    let scored = rating.check_complete(&opened.form).map_err(bad_rating)?;
    let (rater_credential, credential_basis) =
        rater_credential(services, tenant, request, scored.stated.credential()).await?;
    let entry = ReferenceEntry {
        id: request.id.to_hex(),
        rater_name: request.rater_name.clone(),
        rater_email: Some(request.rater_email.clone()),
        role: request.role,
        rater_credential,
        completed_on: Some(tenant.today()),
        not_enough_info_count: scored.not_enough_info_count,
        waived: request.waived,
        source: ReferenceSource::Submitted,
        recommends: Some(scored.recommends),
        credential_basis: Some(credential_basis),
    };
    let portfolio = services
        .portfolios(tenant)?
        .find(
            request.portfolio_id,
            &crate::domain::access::PortfolioAccess::Everything,
            &Projection::only(["applicant"]),
        )
        .await?;
    let applicant_email = portfolio.as_ref().and_then(|p| p.applicant.as_ref()).and_then(|a| a.email.clone());
    let mut record = audit.record(request.portfolio_id.to_hex(), "REFERENCE_SUBMITTED");
    record.mail = super::mail::submitted(tenant, request, applicant_email.as_deref())?;
    record.association = Some(tenant.code().clone());
    record.actor = format!("rater:{}", request.id.to_hex());
    record.event = Some(PortfolioEvent {
        portfolio_id: request.portfolio_id,
        kind: PortfolioEventKind::ReferenceSubmitted,
        status: None,
        subject_id: Some(request.id),
    });
    let submission = Submission { rating, rater_credential, credential_basis, entry };
    let submitted = services
        .references(tenant)?
        .submit_audited(&link::digest(token), request, &submission, &record)
        .await?
        .ok_or_else(|| LinkRefused::Submitted.into_error())?;
    audit.stored();
    services.outbox_wake.notify_one();
    Ok(submitted)
}
