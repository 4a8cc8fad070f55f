//! The association's own wording of its mail: an admin publishes a
//! template per kind of mail and language (checked before it is
//! accepted), or goes back to the built-in one. Every revision is kept.

use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::{Actor, ChangeAudit, Services, policy};
use crate::auth::Role;
use crate::domain::model::{Language, MailKind};
use crate::mail::templates::{self, Rendered, TemplateSource};
use crate::store::associations::MailTemplateRevision;

/// The template a kind of mail in a language is sent with.
#[derive(Debug, Clone)]
pub struct MailTemplateView {
    pub kind: MailKind,
    pub language: Language,
    /// Its latest revision (0: never published).
    pub revision: i32,
    /// The association's own words (else the built-in ones).
    pub custom: bool,
    pub source: TemplateSource,
    pub published_at: Option<DateTime>,
    pub published_by: Option<String>,
}

impl MailTemplateView {
    fn of(kind: MailKind, language: Language, published: Option<&MailTemplateRevision>) -> Self {
        let custom = published.and_then(|revision| revision.source.clone());
        MailTemplateView {
            kind,
            language,
            revision: published.map_or(0, |revision| revision.revision),
            custom: custom.is_some(),
            source: custom.unwrap_or_else(|| templates::built_in(kind, language).clone()),
            published_at: published.map(|revision| revision.published_at),
            published_by: published.map(|revision| revision.published_by.clone()),
        }
    }

    /// The mail with the kind's example values.
    pub fn preview(&self) -> AppResult<Rendered> {
        templates::preview(self.kind, &self.source).map_err(AppError::internal)
    }
}

/// Every kind of mail in every language, as the association sends it now
/// (ADMIN).
pub fn list(actor: &Actor) -> AppResult<Vec<MailTemplateView>> {
    policy::require_role(&actor.viewer, &[Role::Admin])?;
    let published = &actor.tenant.mail_templates;
    Ok(MailKind::ALL
        .iter()
        .flat_map(|kind| Language::ALL.iter().map(move |language| (*kind, *language)))
        .map(|(kind, language)| MailTemplateView::of(kind, language, published.get(&(kind, language))))
        .collect())
}

/// Publishes `source` for `kind` in `language`, or (`None`) goes back to
/// the built-in template (ADMIN). Mail already queued keeps its words.
pub async fn publish(
    services: &Services,
    actor: &Actor,
    kind: MailKind,
    language: Language,
    source: Option<TemplateSource>,
    audit: &ChangeAudit<'_>,
) -> AppResult<MailTemplateView> {
    policy::require_role(&actor.viewer, &[Role::Admin])?;
    if let Some(source) = &source {
        templates::check(kind, source).map_err(|problem| {
            AppError::bad_input(format!("input.{}", problem.part), format!("{}: {}", problem.part, problem.message))
        })?;
    }
    let code = actor.tenant.code().clone();
    let store = services.tenants.store();
    // The store, not this instance's cache, knows the latest revision.
    let latest = store.latest_mail_templates(&code).await?;
    let latest = latest.iter().find(|t| t.kind == kind && t.language == language).map_or(0, |t| t.revision);
    let revision = MailTemplateRevision {
        id: ObjectId::new(),
        association: code.clone(),
        kind,
        language,
        revision: latest + 1,
        source,
        published_at: DateTime::now(),
        published_by: actor.subject().to_owned(),
    };
    let target = format!("mail-template/{}/{}", kind.template_name(), language.tag());
    let action = if revision.source.is_some() { "PUBLISHED" } else { "BUILT_IN_RESTORED" };
    let record = audit.record(format!("{target}/{}", revision.revision), action);
    store.publish_mail_template_audited(&revision, &record).await.map_err(|error| match AppError::from(error) {
        AppError::Conflict(_) => AppError::Conflict(
            "Another revision of this template was published meanwhile; reload and try again.".into(),
        ),
        other => other,
    })?;
    audit.stored();
    // This instance sends with it at once; others within their cache's age.
    services.tenants.load(&code).await?;
    Ok(MailTemplateView::of(kind, language, Some(&revision)))
}
