//! The association's mail templates. See [`crate::app::mail_templates`].

use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject};

use super::context::{actor, change_audit, services};
use super::scalars::DateTime;
use crate::app::error::AppResult;
use crate::app::mail_templates::{self, MailTemplateView};
use crate::domain::model::{Language, MailKind};
use crate::mail::templates::TemplateSource;

/// What one kind of mail in one language is sent with. Templates are
/// minijinja (Jinja2): `{{ applicant_name }}`, `{% if note %}...{% endif %}`;
/// the `html` part is escaped automatically.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MailTemplate {
    pub kind: MailKind,
    pub language: Language,
    /// The latest published revision (0: the built-in template, never changed).
    pub revision: i32,
    /// Whether these are the association's own words (else the built-in ones).
    pub custom: bool,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The names a template of this kind may use.
    pub variables: Vec<String>,
    pub published_at: Option<DateTime>,
    pub published_by: Option<String>,
    #[graphql(skip)]
    view: MailTemplateView,
}

/// A mail rendered with example values.
#[derive(SimpleObject)]
pub struct MailPreview {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[ComplexObject]
impl MailTemplate {
    /// The mail with example values, as a recipient would get it.
    async fn preview(&self) -> AppResult<MailPreview> {
        let rendered = self.view.preview()?;
        Ok(MailPreview { subject: rendered.subject, text: rendered.text, html: rendered.html })
    }
}

impl From<MailTemplateView> for MailTemplate {
    fn from(view: MailTemplateView) -> Self {
        MailTemplate {
            kind: view.kind,
            language: view.language,
            revision: view.revision,
            custom: view.custom,
            subject: view.source.subject.clone(),
            text: view.source.text.clone(),
            html: view.source.html.clone(),
            variables: view.kind.variables().iter().map(|(name, _)| (*name).to_owned()).collect(),
            published_at: view.published_at.map(Into::into),
            published_by: view.published_by.clone(),
            view,
        }
    }
}

#[derive(InputObject)]
pub struct MailTemplateInput {
    pub kind: MailKind,
    pub language: Language,
    /// One line; spaces and line breaks in it are folded.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (values are escaped; the markup is yours).
    pub html: String,
}

#[derive(Default)]
pub struct MailTemplateQuery;

#[Object]
impl MailTemplateQuery {
    /// Every kind of mail in every language, as the caller's association
    /// sends it now (ADMIN).
    async fn mail_templates(&self, ctx: &Context<'_>) -> AppResult<Vec<MailTemplate>> {
        let actor = actor(ctx).await?;
        Ok(mail_templates::list(&actor)?.into_iter().map(MailTemplate::from).collect())
    }
}

#[derive(Default)]
pub struct MailTemplateMutation;

#[Object]
impl MailTemplateMutation {
    /// Publishes the association's own template for one kind of mail in
    /// one language (ADMIN). It is tried with example values first: an
    /// unknown name, a syntax error, a missing rater link or a template too
    /// long or too slow is BAD_USER_INPUT naming the part. Mail already
    /// queued keeps its words.
    async fn publish_mail_template(&self, ctx: &Context<'_>, input: MailTemplateInput) -> AppResult<MailTemplate> {
        let actor = actor(ctx).await?;
        let source = TemplateSource { subject: input.subject, text: input.text, html: input.html };
        let view = mail_templates::publish(
            services(ctx),
            &actor,
            input.kind,
            input.language,
            Some(source),
            &change_audit(ctx),
        )
        .await?;
        Ok(view.into())
    }

    /// Goes back to the built-in template for one kind of mail in one
    /// language (ADMIN).
    async fn restore_built_in_mail_template(
        &self,
        ctx: &Context<'_>,
        kind: MailKind,
        language: Language,
    ) -> AppResult<MailTemplate> {
        let actor = actor(ctx).await?;
        let view = mail_templates::publish(services(ctx), &actor, kind, language, None, &change_audit(ctx)).await?;
        Ok(view.into())
    }
}
