//! Mail the application sends about a portfolio: composed from the
//! templates of its kind and language when the change is made, then carried
//! on the change's audit record into the outbox (see `store::in_transaction!`).

use minijinja::context;

use super::Tenant;
use super::error::{AppError, AppResult};
use crate::domain::model::{Language, MailKind};
use crate::domain::names;
use crate::domain::renewal::{Cycle, ReminderKind};
use crate::mail::templates;
use crate::store::endorsements::EndorsementDocument;
use crate::store::evidence::EvidenceRecord;
use crate::store::outbox::OutboxMessage;
use crate::store::portfolio::PortfolioDocument;

/// One message of `kind` in `language` to `to` (name, address), in the
/// association's words when it published a template for them. A
/// published template was checked with the same variables; should it
/// still fail on real values, the built-in one is used (the change that
/// causes the mail must not fail for its wording).
pub(crate) fn compose(
    tenant: &Tenant,
    kind: MailKind,
    language: Language,
    to: (&str, &str),
    context: minijinja::Value,
) -> AppResult<OutboxMessage> {
    let built_in = templates::built_in(kind, language);
    let custom = tenant.mail_templates.get(&(kind, language)).and_then(|revision| revision.source.as_ref());
    let rendered = match custom.map(|source| templates::render(kind, source, context.clone())) {
        Some(Ok(rendered)) => rendered,
        Some(Err(error)) => {
            tracing::warn!(association = %tenant.code(), kind = %kind, language = %language, error = %error,
                "the association's mail template failed; the built-in one is used");
            templates::render(kind, built_in, context).map_err(AppError::internal)?
        }
        None => templates::render(kind, built_in, context).map_err(AppError::internal)?,
    };
    let mut message = OutboxMessage::new(tenant.code(), kind.template_name(), language, to);
    message.subject = rendered.subject;
    message.text = rendered.text;
    message.html = rendered.html;
    Ok(message)
}

/// The applicant's name and address, when they gave one.
fn applicant(portfolio: &PortfolioDocument) -> Option<(&str, &str)> {
    let applicant = portfolio.applicant.as_ref()?;
    Some((applicant.name.as_str(), applicant.email.as_deref()?))
}

/// To the applicant: a reviewer rejected evidence they uploaded.
pub fn evidence_rejected(
    tenant: &Tenant,
    portfolio: &PortfolioDocument,
    evidence: &EvidenceRecord,
    note: Option<&str>,
) -> AppResult<Vec<OutboxMessage>> {
    let Some(to) = applicant(portfolio) else { return Ok(Vec::new()) };
    let language = tenant.association.settings.language();
    let context = context! {
        association_name => &tenant.association.name,
        applicant_name => to.0,
        file_name => &evidence.file_name,
        kind_name => names::evidence_kind(evidence.kind, language),
        note => note,
    };
    Ok(vec![compose(tenant, MailKind::EvidenceRejected, language, to, context)?])
}

/// To the applicant: reviewers decided (the portfolio's new status).
pub fn decision(tenant: &Tenant, portfolio: &PortfolioDocument) -> AppResult<Vec<OutboxMessage>> {
    let Some(to) = applicant(portfolio) else { return Ok(Vec::new()) };
    let language = tenant.association.settings.language();
    let context = context! {
        association_name => &tenant.association.name,
        applicant_name => to.0,
        status_name => names::status(portfolio.status, language),
        category_name => names::category(portfolio.content.target_category, language),
        note => portfolio.review_note.as_deref(),
    };
    Ok(vec![compose(tenant, MailKind::Decision, language, to, context)?])
}

/// To an endorsee: a renewal reminder of `kind` for the cycle ending
/// `cycle.ends`. `None` when the endorsement has no address.
pub fn renewal_reminder(
    tenant: &Tenant,
    endorsement: &EndorsementDocument,
    cycle: &Cycle,
    kind: ReminderKind,
) -> AppResult<Option<OutboxMessage>> {
    let Some(email) = endorsement.email.as_deref() else { return Ok(None) };
    let language = tenant.association.settings.language();
    let context = context! {
        association_name => &tenant.association.name,
        applicant_name => &endorsement.name,
        category_name => names::category(endorsement.category, language),
        number => &endorsement.number,
        reminder => kind.as_str(),
        window_opens => cycle.window_opens.to_string(),
        deadline => cycle.ends.to_string(),
    };
    compose(tenant, MailKind::RenewalReminder, language, (&endorsement.name, email), context).map(Some)
}

/// To an endorsee: their endorsement lapsed on `on`, and why.
pub fn lapsed(
    tenant: &Tenant,
    endorsement: &EndorsementDocument,
    on: chrono::NaiveDate,
    reason: &str,
) -> AppResult<Vec<OutboxMessage>> {
    let Some(email) = endorsement.email.as_deref() else { return Ok(Vec::new()) };
    let language = tenant.association.settings.language();
    let context = context! {
        association_name => &tenant.association.name,
        applicant_name => &endorsement.name,
        category_name => names::category(endorsement.category, language),
        number => &endorsement.number,
        lapsed_on => on.to_string(),
        reason => reason,
    };
    Ok(vec![compose(tenant, MailKind::EndorsementLapsed, language, (&endorsement.name, email), context)?])
}
