//! Reference ratings: the applicant names a rater and the system mails
//! them a link ([`request`]); the rater fills the association's form
//! through it ([`rater`]); the submitted rating enters the portfolio, where
//! the engine counts it. Applicants resend and revoke requests and see
//! their status (never a waived rating's content); coordinators revoke,
//! vet raters and import ratings from an earlier system.

pub mod link;
mod mail;
pub mod rater;
pub mod reminders;

use chrono::Utc;
use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::{Actor, ChangeAudit, Tenant, policy};
use crate::auth::Role;
use crate::domain::model::{
    CredentialBasis, Language, ReferenceEntry, ReferenceRequestStatus, ReferenceRole, ReferenceSource,
};
use crate::domain::reference::{self as rules, ReferenceForm};
use crate::domain::validate;
use crate::services::Services;
use crate::store::associations::ReferenceFormRevision;
use crate::store::portfolio::{PortfolioDocument, Projection};
use crate::store::references::{ReferenceRequestDocument, Relink};

/// Requests one portfolio may hold besides revoked ones: enough for every
/// rule and some to spare, few enough that nobody mails a crowd.
pub const MAX_REQUESTS_PER_PORTFOLIO: u64 = 12;
/// Who manages other people's requests and ratings.
const COORDINATORS: &[Role] = &[Role::Coordinator];

#[derive(Debug, Clone)]
pub struct NewRequest {
    pub rater_name: String,
    pub rater_email: String,
    pub role: ReferenceRole,
    pub waived: bool,
    /// The rater's language; the association's otherwise.
    pub language: Option<Language>,
}

/// A request as one caller may see it.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: ReferenceRequestDocument,
    /// What the applicant (or anyone) is shown now: EXPIRED by time.
    pub status: ReferenceRequestStatus,
    /// Whether the caller may read the rating: reviewers and coordinators
    /// always; the applicant only when not waived.
    pub rating_visible: bool,
    /// Whether the caller is the applicant (coordinators' notes are not for them).
    pub viewer_is_owner: bool,
}

impl RequestView {
    fn new(request: ReferenceRequestDocument, actor: &Actor) -> Self {
        let status = rules::shown_status(request.status, request.expires_at.to_chrono(), Utc::now());
        let owner = policy::is_subject_of(&actor.viewer, &request.owner_id);
        let rating_visible = !owner || !request.waived;
        RequestView { request, status, rating_visible, viewer_is_owner: owner }
    }

    /// When the next link may be sent.
    pub fn resend_available_at(&self) -> chrono::DateTime<Utc> {
        self.request.sent_at.to_chrono() + rules::RESEND_INTERVAL
    }
}

fn conflict(refused: impl ToString) -> AppError {
    AppError::Conflict(refused.to_string())
}

/// The association's form in force for new requests, or CONFLICT.
async fn current_form(services: &Services, tenant: &Tenant) -> AppResult<ReferenceFormRevision> {
    services.tenants.store().latest_reference_form(tenant.code()).await?.ok_or_else(|| {
        AppError::Conflict(format!(
            "{} has not published a reference rating form yet; an association admin publishes one with `publishReferenceForm`.",
            tenant.association.name
        ))
    })
}

fn new_link(services: &Services, request_id: ObjectId, now: DateTime) -> (String, String, DateTime) {
    let nonce = link::nonce();
    let token = link::token(services.config.link_secret(), &request_id.to_hex(), &nonce);
    let days = services.config.mail.reference_link_days;
    let expires = DateTime::from_millis(now.timestamp_millis() + days * 24 * 3600 * 1000);
    (nonce, link::digest(&token), expires)
}

/// Asks a rater for a rating of the caller's own portfolio (DRAFT or
/// RETURNED); the link mail is queued with it.
pub async fn request(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    input: NewRequest,
    audit: &ChangeAudit<'_>,
) -> AppResult<RequestView> {
    audit.target(portfolio_id.to_hex());
    let portfolio = super::portfolios::load_editable(services, actor, portfolio_id).await?;
    let field = |name: &str| format!("input.{name}");
    validate::required_text("raterName", &input.rater_name, validate::MAX_NAME)
        .map_err(|e| AppError::bad_input(field("raterName"), e.message))?;
    let email = input.rater_email.trim().to_owned();
    validate::email("raterEmail", &email).map_err(|e| AppError::bad_input(field("raterEmail"), e.message))?;
    let applicant = portfolio.applicant.as_ref();
    if applicant.and_then(|a| a.email.as_deref()).is_some_and(|own| own.eq_ignore_ascii_case(&email)) {
        return Err(AppError::bad_input(
            field("raterEmail"),
            "a reference comes from someone other than the applicant",
        ));
    }
    let references = services.references(&actor.tenant)?;
    if references.count_active(portfolio_id).await? >= MAX_REQUESTS_PER_PORTFOLIO {
        return Err(AppError::Conflict(format!(
            "A portfolio may hold {MAX_REQUESTS_PER_PORTFOLIO} reference requests; revoke one you no longer need."
        )));
    }
    let form = current_form(services, &actor.tenant).await?;
    let id = ObjectId::new();
    let now = DateTime::now();
    let (nonce, token_hash, expires_at) = new_link(services, id, now);
    let request = ReferenceRequestDocument {
        id,
        association: actor.tenant.code().clone(),
        portfolio_id,
        owner_id: portfolio.owner_id.clone(),
        applicant_name: applicant.map_or_else(String::new, |a| a.name.clone()),
        rater_name: input.rater_name.trim().to_owned(),
        rater_email: email,
        role: input.role,
        waived: input.waived,
        language: input.language.unwrap_or_else(|| actor.tenant.association.settings.language()),
        status: ReferenceRequestStatus::Sent,
        token_hash: Some(token_hash),
        nonce,
        form_revision: form.revision,
        created_at: now,
        created_by: actor.subject().to_owned(),
        sent_at: now,
        expires_at,
        reminders_sent: 0,
        next_reminder_at: reminders::first(&actor.tenant, now),
        spent_token_hash: None,
        opened_at: None,
        submitted_at: None,
        revoked_at: None,
        revoked_by: None,
        bounced_at: None,
        draft: None,
        rating: None,
        rater_credential: None,
        credential_basis: None,
        vetted_by: None,
        vetted_note: None,
    };
    let mut record = audit.record(id.to_hex(), ReferenceRequestStatus::Sent.as_str());
    record.mail = vec![mail::link(&actor.tenant, &request, false)?];
    references.insert_audited(&request, &record).await?;
    audit.stored();
    services.outbox_wake.notify_one();
    Ok(RequestView::new(request, actor))
}

/// The request, if the caller may see its portfolio.
async fn visible_request(services: &Services, actor: &Actor, id: ObjectId) -> AppResult<ReferenceRequestDocument> {
    let request =
        services.references(&actor.tenant)?.get(id).await?.ok_or_else(|| AppError::not_found("Reference request"))?;
    super::portfolios::find(services, actor, request.portfolio_id, &Projection::only(["ownerId"]))
        .await?
        .ok_or_else(|| AppError::not_found("Reference request"))?;
    Ok(request)
}

/// The applicant, or a coordinator (never for their own portfolio's
/// ratings as a judge; as its owner they act as the applicant).
fn may_manage(actor: &Actor, request: &ReferenceRequestDocument) -> AppResult<()> {
    if policy::is_subject_of(&actor.viewer, &request.owner_id) {
        return Ok(());
    }
    policy::may_judge(&actor.viewer, &request.owner_id, COORDINATORS)
}

/// The request a conditional change left, or CONFLICT when it had
/// changed meanwhile (then nothing was written).
fn settled(
    updated: Option<ReferenceRequestDocument>,
    actor: &Actor,
    audit: &ChangeAudit<'_>,
) -> AppResult<RequestView> {
    let updated = updated.ok_or_else(|| conflict("The request changed meanwhile; reload it."))?;
    audit.stored();
    Ok(RequestView::new(updated, actor))
}

/// Sends a new link (the old one dies), at most once per 12 hours.
pub async fn resend(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    audit: &ChangeAudit<'_>,
) -> AppResult<RequestView> {
    audit.target(id.to_hex());
    let request = visible_request(services, actor, id).await?;
    may_manage(actor, &request)?;
    let now = DateTime::now();
    rules::check_resend(request.status, request.sent_at.to_chrono(), now.to_chrono()).map_err(conflict)?;
    let (nonce, token_hash, expires_at) = new_link(services, id, now);
    let relink = Relink {
        nonce,
        token_hash,
        sent_at: now,
        expires_at,
        opened: request.opened_at.is_some(),
        next_reminder_at: reminders::first(&actor.tenant, now),
    };
    let mut renewed = request.clone();
    renewed.nonce = relink.nonce.clone();
    renewed.expires_at = expires_at;
    let mut record = audit.record(id.to_hex(), "RESENT");
    record.mail = vec![mail::link(&actor.tenant, &renewed, false)?];
    let updated = services.references(&actor.tenant)?.relink_audited(id, &request.nonce, &relink, &record).await?;
    let view = settled(updated, actor, audit)?;
    services.outbox_wake.notify_one();
    Ok(view)
}

/// Withdraws a request not yet submitted; its link dies at once.
pub async fn revoke(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    audit: &ChangeAudit<'_>,
) -> AppResult<RequestView> {
    audit.target(id.to_hex());
    let request = visible_request(services, actor, id).await?;
    may_manage(actor, &request)?;
    rules::check_revocable(request.status).map_err(conflict)?;
    let record = audit.record(id.to_hex(), ReferenceRequestStatus::Revoked.as_str());
    let updated = services.references(&actor.tenant)?.revoke_audited(&request, actor.subject(), &record).await?;
    settled(updated, actor, audit)
}

/// A coordinator checked the rater's own endorsement (a phone call):
/// recorded with a note, and the rating counts as vetted.
pub async fn vet(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    note: &str,
    audit: &ChangeAudit<'_>,
) -> AppResult<RequestView> {
    audit.target(id.to_hex());
    let request = visible_request(services, actor, id).await?;
    policy::may_judge(&actor.viewer, &request.owner_id, COORDINATORS)?;
    validate::required_text("note", note, validate::MAX_DESCRIPTION)
        .map_err(|e| AppError::bad_input("note", e.message))?;
    if request.status != ReferenceRequestStatus::Submitted {
        return Err(conflict("Only a submitted rating's rater can be vetted."));
    }
    let record = audit.record(id.to_hex(), CredentialBasis::Vetted.as_str());
    let updated =
        services.references(&actor.tenant)?.vet_audited(&request, actor.subject(), note.trim(), &record).await?;
    settled(updated, actor, audit)
}

/// The portfolio's requests as the caller may see them (the caller has
/// already been shown the portfolio).
pub async fn for_portfolio(
    services: &Services,
    actor: &Actor,
    portfolio: &PortfolioDocument,
) -> AppResult<Vec<RequestView>> {
    let requests = services.references(&actor.tenant)?.for_portfolio(portfolio.id).await?;
    Ok(requests.into_iter().map(|request| RequestView::new(request, actor)).collect())
}

/// A rating moved from an earlier system (COORDINATOR): marked IMPORTED,
/// its rater's endorsement taken as vetted, audited with its source.
pub async fn import(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    mut entry: ReferenceEntry,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    audit.target(portfolio_id.to_hex());
    let portfolio = super::portfolios::find(services, actor, portfolio_id, &Projection::only(["ownerId"]))
        .await?
        .ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_judge(&actor.viewer, &portfolio.owner_id, COORDINATORS)?;
    entry.id = ObjectId::new().to_hex();
    entry.source = ReferenceSource::Imported;
    entry.credential_basis = Some(CredentialBasis::Vetted);
    validate::reference(&entry, actor.tenant.today())
        .map_err(|e| AppError::bad_input(format!("input.{}", e.field), format!("{}: {}", e.field, e.message)))?;
    if entry.completed_on.is_none() {
        return Err(AppError::bad_input("input.completedOn", "an imported rating has the day it was completed"));
    }
    let record = audit.record(portfolio_id.to_hex(), ReferenceSource::Imported.as_str());
    if !services.portfolios(&actor.tenant)?.push_reference_audited(portfolio_id, &entry, &record).await? {
        return Err(AppError::not_found("Portfolio"));
    }
    audit.stored();
    super::portfolios::find(services, actor, portfolio_id, &Projection::all())
        .await?
        .ok_or_else(|| AppError::not_found("Portfolio"))
}

/// Publishes a new revision of the association's rating form (ADMIN).
/// Open requests keep the revision they were sent with.
pub async fn publish_form(
    services: &Services,
    actor: &Actor,
    form: ReferenceForm,
    audit: &ChangeAudit<'_>,
) -> AppResult<ReferenceFormRevision> {
    policy::require_role(&actor.viewer, &[Role::Admin])?;
    form.check().map_err(|e| AppError::bad_input(format!("input.{}", e.field), e.message))?;
    let store = services.tenants.store();
    let latest = store.latest_reference_form(actor.tenant.code()).await?.map_or(0, |form| form.revision);
    let revision = ReferenceFormRevision {
        id: ObjectId::new(),
        association: actor.tenant.code().clone(),
        revision: latest + 1,
        form,
        published_at: DateTime::now(),
        published_by: actor.subject().to_owned(),
    };
    let record = audit.record(format!("reference-form/{}", revision.revision), "PUBLISHED");
    store.publish_reference_form_audited(&revision, &record).await?;
    audit.stored();
    Ok(revision)
}

/// The form in force for new requests (anyone in the association).
pub async fn form(services: &Services, actor: &Actor) -> AppResult<Option<ReferenceFormRevision>> {
    Ok(services.tenants.store().latest_reference_form(actor.tenant.code()).await?)
}
