//! The mail the reference flow sends, rendered when it is queued.

use minijinja::context;

use super::super::Tenant;
use super::super::error::AppResult;
use super::super::mail::compose;
use crate::domain::model::{Language, MailKind};
use crate::domain::names;
use crate::mail::templates::LINK_PLACEHOLDER;
use crate::store::outbox::{CarriedLink, OutboxMessage};
use crate::store::references::ReferenceRequestDocument;

fn expires_on(request: &ReferenceRequestDocument, tenant: &Tenant) -> String {
    let day = tenant.association.today(request.expires_at.to_chrono());
    day.format("%Y-%m-%d").to_string()
}

/// The link mail to the rater: the first one, or a reminder.
pub fn link(tenant: &Tenant, request: &ReferenceRequestDocument, reminder: bool) -> AppResult<OutboxMessage> {
    let language = request.language;
    let context = context! {
        association_name => &tenant.association.name,
        rater_name => &request.rater_name,
        applicant_name => &request.applicant_name,
        role_name => names::role(request.role, language),
        // Not escaped, so that the outbox finds it to put the link in; the
        // link is the configured public URL and a base64url token.
        link => minijinja::Value::from_safe_string(LINK_PLACEHOLDER.to_owned()),
        expires_on => expires_on(request, tenant),
        waived => request.waived,
    };
    let kind = if reminder { MailKind::ReferenceReminder } else { MailKind::ReferenceRequest };
    let mut mail = compose(tenant, kind, language, (&request.rater_name, &request.rater_email), context)?;
    mail.link = Some(CarriedLink { request_id: request.id, nonce: request.nonce.clone() });
    Ok(mail)
}

/// After a submission: thanks to the rater, and a note to the applicant
/// (when their address is known) that says nothing of the content.
pub fn submitted(
    tenant: &Tenant,
    request: &ReferenceRequestDocument,
    applicant_email: Option<&str>,
) -> AppResult<Vec<OutboxMessage>> {
    let context = |language: Language| {
        context! {
            association_name => &tenant.association.name,
            rater_name => &request.rater_name,
            applicant_name => &request.applicant_name,
            role_name => names::role(request.role, language),
            waived => request.waived,
        }
    };
    let to_rater = (request.rater_name.as_str(), request.rater_email.as_str());
    let mut mail =
        vec![compose(tenant, MailKind::ReferenceReceived, request.language, to_rater, context(request.language))?];
    if let Some(address) = applicant_email {
        let language = tenant.association.settings.language();
        let to_applicant = (request.applicant_name.as_str(), address);
        mail.push(compose(tenant, MailKind::ReferenceSubmitted, language, to_applicant, context(language))?);
    }
    Ok(mail)
}
