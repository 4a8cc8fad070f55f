//! Reference requests and ratings: the applicant's and coordinator's side
//! (authenticated), and the rater's side through a link token (no account:
//! the token is the credential). Translates to [`crate::app::references`].

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::app::error::{AppError, AppResult};
use crate::app::portfolios::parse_id;
use crate::app::records::ReferenceFormRevision;
use crate::app::references::rater::{self, RaterForm};
use crate::app::references::{self, NewRequest, RequestView};
use crate::domain::model::{
    Category, Credential, CredentialBasis, Language, ReferenceEntry, ReferenceRequestStatus, ReferenceRole,
    ReferenceSource,
};
use crate::domain::names;
use crate::domain::reference::{Answer, FormItem, Localized, Rating, ReferenceForm, ScalePoint, StatedEndorsement};
use crate::graphql::context::{actor, change_audit, services};
use crate::graphql::portfolio::PortfolioObject;
use crate::graphql::scalars::{Date, DateTime};

/// One answer of a rating.
#[derive(SimpleObject)]
pub struct RatingAnswer {
    pub item_id: String,
    /// The point of the scale; null for "not enough information".
    pub value: Option<i32>,
    pub not_enough_information: bool,
}

/// What a rater gave (or has drafted so far).
#[derive(SimpleObject)]
pub struct ReferenceRating {
    pub answers: Vec<RatingAnswer>,
    pub not_enough_info_count: i32,
    pub recommends: Option<bool>,
    pub comments: Option<String>,
    /// Whether the rater said they are endorsed; null until they say.
    pub endorsed: Option<bool>,
    /// The category the rater stated, when endorsed.
    pub endorsed_category: Option<Category>,
}

impl From<&Rating> for ReferenceRating {
    fn from(rating: &Rating) -> Self {
        ReferenceRating {
            answers: rating
                .answers
                .iter()
                .map(|a| RatingAnswer {
                    item_id: a.item_id.clone(),
                    value: a.value,
                    not_enough_information: a.value.is_none(),
                })
                .collect(),
            not_enough_info_count: rating.answers.iter().filter(|a| a.value.is_none()).count() as i32,
            recommends: rating.recommends,
            comments: rating.comments.clone(),
            endorsed: rating.endorsement.map(|e| e.category.is_some()),
            endorsed_category: rating.endorsement.and_then(|e| e.category),
        }
    }
}

/// A rating asked of a rater, as the caller may see it: the applicant
/// always sees its status and dates, and its content unless they waived it.
pub struct ReferenceRequestObject(RequestView);

#[Object(name = "ReferenceRequest")]
impl ReferenceRequestObject {
    async fn id(&self) -> ID {
        ID(self.0.request.id.to_hex())
    }
    async fn portfolio_id(&self) -> ID {
        ID(self.0.request.portfolio_id.to_hex())
    }
    async fn rater_name(&self) -> &str {
        &self.0.request.rater_name
    }
    async fn rater_email(&self) -> &str {
        &self.0.request.rater_email
    }
    async fn role(&self) -> ReferenceRole {
        self.0.request.role
    }
    async fn waived(&self) -> bool {
        self.0.request.waived
    }
    async fn language(&self) -> Language {
        self.0.request.language
    }
    /// SENT, OPENED (the rater saved a draft), SUBMITTED, EXPIRED, BOUNCED or REVOKED.
    async fn status(&self) -> ReferenceRequestStatus {
        self.0.status
    }
    async fn form_revision(&self) -> i32 {
        self.0.request.form_revision
    }
    async fn created_at(&self) -> DateTime {
        self.0.request.created_at.into()
    }
    /// When the current link was sent.
    async fn sent_at(&self) -> DateTime {
        self.0.request.sent_at.into()
    }
    async fn expires_at(&self) -> DateTime {
        self.0.request.expires_at.into()
    }
    /// The earliest time `resendReferenceRequest` sends a new link.
    async fn resend_available_at(&self) -> DateTime {
        DateTime(self.0.resend_available_at())
    }
    async fn reminders_sent(&self) -> i32 {
        self.0.request.reminders_sent
    }
    async fn opened_at(&self) -> Option<DateTime> {
        self.0.request.opened_at.map(Into::into)
    }
    async fn submitted_at(&self) -> Option<DateTime> {
        self.0.request.submitted_at.map(Into::into)
    }
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.request.revoked_at.map(Into::into)
    }
    async fn bounced_at(&self) -> Option<DateTime> {
        self.0.request.bounced_at.map(Into::into)
    }
    /// The rater's endorsement as it counts (after matching or vetting).
    async fn rater_credential(&self) -> Option<Credential> {
        self.0.request.rater_credential
    }
    async fn credential_basis(&self) -> Option<CredentialBasis> {
        self.0.request.credential_basis
    }
    /// The submitted rating; null before submission, and always for an
    /// applicant who waived the right to read it.
    async fn rating(&self) -> Option<ReferenceRating> {
        self.0.rating_visible.then_some(self.0.request.rating.as_ref()).flatten().map(Into::into)
    }
    /// The coordinator's note on vetting the rater (not shown to the applicant).
    async fn vetted_note(&self) -> Option<String> {
        (!self.0.viewer_is_owner).then(|| self.0.request.vetted_note.clone()).flatten()
    }
}

/// A form item in the page's language.
#[derive(SimpleObject)]
pub struct RaterFormItem {
    pub id: String,
    pub domain: String,
    pub text: String,
}

#[derive(SimpleObject)]
pub struct RaterScalePoint {
    pub value: i32,
    pub label: String,
}

/// The form behind a live link, for a rater's single-page app.
pub struct RaterFormObject(RaterForm);

#[Object(name = "ReferenceRaterForm")]
impl RaterFormObject {
    async fn association_name(&self) -> &str {
        &self.0.tenant.association.name
    }
    async fn applicant_name(&self) -> &str {
        &self.0.request.applicant_name
    }
    async fn rater_name(&self) -> &str {
        &self.0.request.rater_name
    }
    async fn role(&self) -> ReferenceRole {
        self.0.request.role
    }
    /// The role as people name it, in `language`.
    async fn role_name(&self) -> &str {
        names::role(self.0.request.role, self.0.language)
    }
    async fn language(&self) -> Language {
        self.0.language
    }
    /// Whether the applicant waived the right to read this rating.
    async fn waived(&self) -> bool {
        self.0.request.waived
    }
    async fn status(&self) -> ReferenceRequestStatus {
        self.0.request.status
    }
    async fn expires_at(&self) -> DateTime {
        self.0.request.expires_at.into()
    }
    async fn items(&self) -> Vec<RaterFormItem> {
        let language = self.0.language;
        let item = |i: &FormItem| RaterFormItem {
            id: i.id.clone(),
            domain: i.domain.get(language).to_owned(),
            text: i.text.get(language).to_owned(),
        };
        self.0.form.items.iter().map(item).collect()
    }
    async fn scale(&self) -> Vec<RaterScalePoint> {
        let language = self.0.language;
        self.0
            .form
            .scale
            .iter()
            .map(|p| RaterScalePoint { value: p.value, label: p.label.get(language).to_owned() })
            .collect()
    }
    /// What the rater saved so far.
    async fn draft(&self) -> Option<ReferenceRating> {
        self.0.request.draft.as_ref().map(Into::into)
    }
}

#[derive(SimpleObject)]
pub struct LocalizedText {
    pub en: String,
    pub es: Option<String>,
}

impl From<&Localized> for LocalizedText {
    fn from(text: &Localized) -> Self {
        LocalizedText { en: text.en.clone(), es: text.es.clone() }
    }
}

#[derive(SimpleObject)]
pub struct FormItemObject {
    pub id: String,
    pub domain: LocalizedText,
    pub text: LocalizedText,
}

#[derive(SimpleObject)]
pub struct ScalePointObject {
    pub value: i32,
    pub label: LocalizedText,
}

/// A published revision of the association's rating form.
#[derive(SimpleObject)]
#[graphql(name = "ReferenceForm")]
pub struct ReferenceFormObject {
    pub revision: i32,
    pub published_at: DateTime,
    pub items: Vec<FormItemObject>,
    pub scale: Vec<ScalePointObject>,
}

impl From<ReferenceFormRevision> for ReferenceFormObject {
    fn from(revision: ReferenceFormRevision) -> Self {
        ReferenceFormObject {
            revision: revision.revision,
            published_at: revision.published_at.into(),
            items: revision
                .form
                .items
                .iter()
                .map(|i| FormItemObject { id: i.id.clone(), domain: (&i.domain).into(), text: (&i.text).into() })
                .collect(),
            scale: revision
                .form
                .scale
                .iter()
                .map(|p| ScalePointObject { value: p.value, label: (&p.label).into() })
                .collect(),
        }
    }
}

#[derive(InputObject)]
pub struct ReferenceRequestInput {
    pub rater_name: String,
    pub rater_email: String,
    pub role: ReferenceRole,
    /// Chosen before sending: a waived rating is never shown to the applicant.
    pub waived: bool,
    /// The language of the mail and the page (the association's otherwise).
    pub language: Option<Language>,
}

#[derive(InputObject)]
pub struct RatingAnswerInput {
    pub item_id: String,
    /// A point of the form's scale; leave out with `notEnoughInformation`.
    pub value: Option<i32>,
    #[graphql(default = false)]
    pub not_enough_information: bool,
}

/// A rater's answers. A draft may leave anything out; a submission answers
/// every item, says whether they recommend, and states their endorsement.
#[derive(InputObject)]
pub struct RatingInput {
    #[graphql(default)]
    pub answers: Vec<RatingAnswerInput>,
    pub recommends: Option<bool>,
    pub comments: Option<String>,
    /// Whether the rater is endorsed themselves.
    pub endorsed: Option<bool>,
    /// The category they are endorsed in (with `endorsed: true`).
    pub endorsed_category: Option<Category>,
}

impl RatingInput {
    pub fn into_domain(self) -> AppResult<Rating> {
        let mut answers = Vec::with_capacity(self.answers.len());
        for (i, answer) in self.answers.into_iter().enumerate() {
            let value = match (answer.value, answer.not_enough_information) {
                (Some(_), true) => {
                    return Err(AppError::bad_input(
                        format!("input.answers[{i}]"),
                        "give a value or `notEnoughInformation`, not both",
                    ));
                }
                (None, false) => {
                    return Err(AppError::bad_input(
                        format!("input.answers[{i}].value"),
                        "choose a point of the scale, or `notEnoughInformation: true`",
                    ));
                }
                (value, _) => value,
            };
            answers.push(Answer { item_id: answer.item_id, value });
        }
        let endorsement = match (self.endorsed, self.endorsed_category) {
            (Some(true), Some(category)) => Some(StatedEndorsement { category: Some(category) }),
            (Some(true), None) => {
                return Err(AppError::bad_input("input.endorsedCategory", "name the category you are endorsed in"));
            }
            (Some(false), Some(_)) => {
                return Err(AppError::bad_input("input.endorsedCategory", "a category goes with `endorsed: true`"));
            }
            (Some(false), None) => Some(StatedEndorsement { category: None }),
            (None, Some(category)) => Some(StatedEndorsement { category: Some(category) }),
            (None, None) => None,
        };
        Ok(Rating { answers, recommends: self.recommends, comments: self.comments, endorsement })
    }
}

#[derive(InputObject)]
pub struct LocalizedInput {
    pub en: String,
    pub es: Option<String>,
}

impl From<LocalizedInput> for Localized {
    fn from(input: LocalizedInput) -> Self {
        Localized { en: input.en, es: input.es }
    }
}

#[derive(InputObject)]
pub struct FormItemInput {
    /// Stable id (letters, digits, `-`, `_`).
    pub id: String,
    pub domain: LocalizedInput,
    pub text: LocalizedInput,
}

#[derive(InputObject)]
pub struct ScalePointInput {
    pub value: i32,
    pub label: LocalizedInput,
}

/// The association's rating form: its licensed items and scale.
#[derive(InputObject)]
pub struct ReferenceFormInput {
    pub items: Vec<FormItemInput>,
    pub scale: Vec<ScalePointInput>,
}

/// A rating moved from an earlier system by a coordinator.
#[derive(InputObject)]
pub struct ImportedReferenceInput {
    pub rater_name: String,
    pub rater_email: Option<String>,
    pub role: ReferenceRole,
    pub rater_credential: Credential,
    pub completed_on: Date,
    #[graphql(default = 0)]
    pub not_enough_info_count: i32,
    pub recommends: Option<bool>,
    #[graphql(default = false)]
    pub waived: bool,
}

/// What a submission answers.
#[derive(SimpleObject)]
pub struct ReferenceSubmission {
    pub submitted_at: DateTime,
}

#[derive(Default)]
pub struct ReferenceQuery;

#[Object]
impl ReferenceQuery {
    /// The form behind a rater's link (no token needed: the link's token
    /// is the credential). Opening it changes nothing. NOT_FOUND for an
    /// unknown or replaced link; CONFLICT saying why for a used, revoked
    /// or expired one.
    async fn reference_form(
        &self,
        ctx: &Context<'_>,
        token: String,
        language: Option<Language>,
    ) -> AppResult<RaterFormObject> {
        Ok(RaterFormObject(rater::open_form(services(ctx), &token, language).await?))
    }

    /// The rating form in force for new requests in the caller's association.
    async fn current_reference_form(&self, ctx: &Context<'_>) -> AppResult<Option<ReferenceFormObject>> {
        let actor = actor(ctx).await?;
        Ok(references::form(services(ctx), &actor).await?.map(Into::into))
    }
}

#[derive(Default)]
pub struct ReferenceMutation;

#[Object]
impl ReferenceMutation {
    /// Asks a rater for a reference rating of the caller's portfolio (DRAFT
    /// or RETURNED) and mails them a link valid for 30 days (configurable).
    async fn request_reference(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        input: ReferenceRequestInput,
    ) -> AppResult<ReferenceRequestObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        let input = NewRequest {
            rater_name: input.rater_name,
            rater_email: input.rater_email,
            role: input.role,
            waived: input.waived,
            language: input.language,
        };
        let view = references::request(services(ctx), &actor, id, input, &change_audit(ctx)).await?;
        Ok(ReferenceRequestObject(view))
    }

    /// Mails a new link (the old one stops working), at most once per 12
    /// hours (the applicant or a coordinator).
    async fn resend_reference_request(&self, ctx: &Context<'_>, id: ID) -> AppResult<ReferenceRequestObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("id", &id)?;
        Ok(ReferenceRequestObject(references::resend(services(ctx), &actor, id, &change_audit(ctx)).await?))
    }

    /// Withdraws a request not yet submitted; its link stops working.
    async fn revoke_reference_request(&self, ctx: &Context<'_>, id: ID) -> AppResult<ReferenceRequestObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("id", &id)?;
        Ok(ReferenceRequestObject(references::revoke(services(ctx), &actor, id, &change_audit(ctx)).await?))
    }

    /// Records that a coordinator checked the rater's endorsement (COORDINATOR).
    async fn mark_rater_vetted(&self, ctx: &Context<'_>, id: ID, note: String) -> AppResult<ReferenceRequestObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("id", &id)?;
        Ok(ReferenceRequestObject(references::vet(services(ctx), &actor, id, &note, &change_audit(ctx)).await?))
    }

    /// Adds a rating from an earlier system (COORDINATOR): marked IMPORTED, audited.
    async fn import_reference_rating(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        input: ImportedReferenceInput,
    ) -> AppResult<PortfolioObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        let entry = ReferenceEntry {
            id: String::new(),
            rater_name: input.rater_name,
            rater_email: input.rater_email,
            role: input.role,
            rater_credential: input.rater_credential,
            completed_on: Some(input.completed_on.0),
            not_enough_info_count: input.not_enough_info_count,
            waived: input.waived,
            source: ReferenceSource::Imported,
            recommends: input.recommends,
            credential_basis: Some(CredentialBasis::Vetted),
        };
        let saved = references::import(services(ctx), &actor, id, entry, &change_audit(ctx)).await?;
        Ok(PortfolioObject::new(saved, actor))
    }

    /// Publishes a new revision of the association's rating form (ADMIN).
    async fn publish_reference_form(
        &self,
        ctx: &Context<'_>,
        input: ReferenceFormInput,
    ) -> AppResult<ReferenceFormObject> {
        let actor = actor(ctx).await?;
        let form = ReferenceForm {
            items: input
                .items
                .into_iter()
                .map(|i| FormItem { id: i.id, domain: i.domain.into(), text: i.text.into() })
                .collect(),
            scale: input.scale.into_iter().map(|p| ScalePoint { value: p.value, label: p.label.into() }).collect(),
        };
        Ok(references::publish_form(services(ctx), &actor, form, &change_audit(ctx)).await?.into())
    }

    /// Keeps a rater's draft while their link is live (no account needed).
    async fn save_reference_draft(
        &self,
        ctx: &Context<'_>,
        token: String,
        input: RatingInput,
    ) -> AppResult<RaterFormObject> {
        let draft = input.into_domain()?;
        Ok(RaterFormObject(rater::save_draft(services(ctx), &token, draft).await?))
    }

    /// Submits a rater's rating; the link is used up. A second submission
    /// (or one racing it) is a CONFLICT and changes nothing.
    async fn submit_reference_rating(
        &self,
        ctx: &Context<'_>,
        token: String,
        input: RatingInput,
    ) -> AppResult<ReferenceSubmission> {
        let rating = input.into_domain()?;
        let at = rater::submit(services(ctx), &token, rating, &change_audit(ctx)).await?;
        Ok(ReferenceSubmission { submitted_at: at.into() })
    }
}

/// The portfolio's reference requests for its `referenceRequests` field.
pub async fn for_portfolio(ctx: &Context<'_>, portfolio: &PortfolioObject) -> AppResult<Vec<ReferenceRequestObject>> {
    let views = references::for_portfolio(services(ctx), &portfolio.1, &portfolio.0).await?;
    Ok(views.into_iter().map(ReferenceRequestObject).collect())
}
