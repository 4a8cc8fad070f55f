//! Associations (tenants): who they are, creating one, publishing a
//! rulebook. See [`crate::app::associations`].

use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::context::{actor, change_audit, services, viewer};
use super::scalars::DateTime;
use crate::app::associations::{self, NewAssociation};
use crate::app::error::AppResult;
use crate::app::records::AssociationDocument;
use crate::domain::association::AssociationSettings;
use crate::domain::model::{Language, ProcessingFeeDue};

#[derive(InputObject)]
pub struct CreateAssociationInput {
    /// Stable code, e.g. "ct-aimh" (lowercase words joined by hyphens).
    pub code: String,
    pub name: String,
    /// IANA time zone of the association's calendar, e.g. "America/New_York".
    pub time_zone: String,
    /// The subject (token `sub`) who becomes the association's first admin.
    pub first_admin: String,
    /// Smallest count `stats` publishes (the deployment's default otherwise).
    pub stats_min_cell: Option<i32>,
    /// Largest evidence file in bytes (at most the deployment's limit).
    pub max_upload_bytes: Option<i32>,
    /// Language of mail and of the rater page unless a person chooses (EN otherwise).
    pub language: Option<Language>,
    /// Days after a reference link is sent on which the rater is reminded ([3, 7, 14] otherwise; [] for none).
    pub reference_reminder_days: Option<Vec<i32>>,
}

/// Settings to change; a field left out keeps its value.
#[derive(InputObject)]
pub struct AssociationSettingsInput {
    pub stats_min_cell: Option<i32>,
    pub max_upload_bytes: Option<i32>,
    pub language: Option<Language>,
    pub reference_reminder_days: Option<Vec<i32>>,
    /// Let portfolios that do not meet their requirements be submitted.
    pub allow_incomplete_submissions: Option<bool>,
    /// AT_SUBMISSION: submission waits for the processing fee;
    /// BEFORE_APPROVAL: approval does.
    pub processing_fee_due: Option<ProcessingFeeDue>,
    /// Only registered portfolios may be submitted.
    pub require_registration: Option<bool>,
    /// Staff may accept another infant mental health association's membership.
    pub accept_other_memberships: Option<bool>,
    /// Retakes of a failed exam allowed (unlimited when never set).
    pub exam_retakes: Option<i32>,
    /// Share of the renewals filed in a window that is audited, in percent (10 otherwise).
    pub renewal_audit_percent: Option<i32>,
    /// Days before a renewal window opens on which endorsees are reminded ([30] otherwise).
    pub renewal_reminder_days_before_window: Option<Vec<i32>>,
    /// Days before the renewal deadline on which endorsees are reminded ([30, 7] otherwise).
    pub renewal_reminder_days_before_deadline: Option<Vec<i32>>,
}

/// An association, as its own staff or a platform admin see it.
#[derive(SimpleObject)]
#[graphql(name = "Association")]
pub struct AssociationObject {
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub stats_min_cell: Option<i32>,
    pub max_upload_bytes: Option<i32>,
    pub language: Language,
    pub reference_reminder_days: Vec<i32>,
    /// Whether portfolios that do not meet their requirements may be submitted.
    pub allow_incomplete_submissions: bool,
    /// When the processing fee must be settled.
    pub processing_fee_due: ProcessingFeeDue,
    /// Whether only registered portfolios may be submitted.
    pub require_registration: bool,
    /// Whether staff may accept another infant mental health association's membership.
    pub accept_other_memberships: bool,
    /// Retakes of a failed exam allowed; null: unlimited.
    pub exam_retakes: Option<i32>,
    /// Share of the renewals filed in a window that is audited, in percent.
    pub renewal_audit_percent: i32,
    /// Days before a renewal window opens on which endorsees are reminded.
    pub renewal_reminder_days_before_window: Vec<i32>,
    /// Days before the renewal deadline on which endorsees are reminded.
    pub renewal_reminder_days_before_deadline: Vec<i32>,
    pub created_at: DateTime,
}

impl From<AssociationDocument> for AssociationObject {
    fn from(document: AssociationDocument) -> Self {
        AssociationObject {
            code: document.code.to_string(),
            name: document.name,
            time_zone: document.time_zone,
            stats_min_cell: document.settings.stats_min_cell.map(|n| n as i32),
            max_upload_bytes: document.settings.max_upload_bytes.and_then(|n| i32::try_from(n).ok()),
            language: document.settings.language(),
            reference_reminder_days: days(document.settings.reminder_days()),
            allow_incomplete_submissions: document.settings.allows_incomplete_submissions(),
            processing_fee_due: document.settings.processing_fee_due(),
            require_registration: document.settings.requires_registration(),
            accept_other_memberships: document.settings.accepts_other_memberships(),
            exam_retakes: document.settings.exam_retakes.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            renewal_audit_percent: document.settings.renewal_audit_percent() as i32,
            renewal_reminder_days_before_window: days(document.settings.renewal_days_before_window()),
            renewal_reminder_days_before_deadline: days(document.settings.renewal_days_before_deadline()),
            created_at: document.created_at.into(),
        }
    }
}

/// What `publishRulebook` answers: the revision now in force for new reads.
#[derive(SimpleObject)]
pub struct PublishedRulebook {
    pub association: String,
    pub revision: i32,
    /// The ids of every version, oldest first ("ct-aimh@2025-01-01").
    pub versions: Vec<String>,
}

#[derive(Default)]
pub struct AssociationQuery;

#[Object]
impl AssociationQuery {
    /// The associations the caller may see: every one for a platform
    /// admin, otherwise the caller's own.
    async fn associations(&self, ctx: &Context<'_>) -> AppResult<Vec<AssociationObject>> {
        let viewer = viewer(ctx)?;
        Ok(associations::visible(services(ctx), viewer).await?.into_iter().map(AssociationObject::from).collect())
    }
}

#[derive(Default)]
pub struct AssociationMutation;

#[Object]
impl AssociationMutation {
    /// Creates an association and names its first admin (PLATFORM_ADMIN).
    /// A code in use is a CONFLICT.
    async fn create_association(
        &self,
        ctx: &Context<'_>,
        input: CreateAssociationInput,
    ) -> AppResult<AssociationObject> {
        let viewer = viewer(ctx)?;
        let input = NewAssociation {
            code: input.code,
            name: input.name,
            time_zone: input.time_zone,
            first_admin: input.first_admin,
            settings: settings(
                input.stats_min_cell,
                input.max_upload_bytes,
                input.language,
                input.reference_reminder_days,
            ),
        };
        let created = associations::create(services(ctx), viewer, input, &change_audit(ctx)).await?;
        Ok(created.into())
    }

    /// Changes the caller's association's settings (ADMIN); fields left
    /// out keep their values.
    async fn update_association_settings(
        &self,
        ctx: &Context<'_>,
        input: AssociationSettingsInput,
    ) -> AppResult<AssociationObject> {
        let actor = actor(ctx).await?;
        let patch = AssociationSettings {
            allow_incomplete_submissions: input.allow_incomplete_submissions,
            processing_fee_due: input.processing_fee_due,
            require_registration: input.require_registration,
            accept_other_memberships: input.accept_other_memberships,
            // Negative counts are refused by the use case, not wrapped here.
            exam_retakes: input.exam_retakes.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            renewal_audit_percent: input.renewal_audit_percent.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            renewal_reminder_days_before_window: input.renewal_reminder_days_before_window.map(unsigned_days),
            renewal_reminder_days_before_deadline: input.renewal_reminder_days_before_deadline.map(unsigned_days),
            ..settings(input.stats_min_cell, input.max_upload_bytes, input.language, input.reference_reminder_days)
        };
        Ok(associations::update_settings(services(ctx), &actor, patch, &change_audit(ctx)).await?.into())
    }

    /// Publishes the caller's association's rulebook (ADMIN): the whole
    /// JSON document, checked like a built-in one. Versions in force stay
    /// as they are; new ones must take effect after today.
    async fn publish_rulebook(&self, ctx: &Context<'_>, source: String) -> AppResult<PublishedRulebook> {
        let actor = actor(ctx).await?;
        let tenant = associations::publish_rulebook(services(ctx), &actor, source, &change_audit(ctx)).await?;
        Ok(PublishedRulebook {
            association: tenant.code().to_string(),
            revision: tenant.rulebook_revision,
            versions: tenant.rulebook.iter().flat_map(|r| r.versions.iter().map(|v| v.id.clone())).collect(),
        })
    }
}

/// The settings both inputs share, as the use cases take them: negative
/// numbers are refused there, not wrapped here.
fn settings(
    stats_min_cell: Option<i32>,
    max_upload_bytes: Option<i32>,
    language: Option<Language>,
    reference_reminder_days: Option<Vec<i32>>,
) -> AssociationSettings {
    let count = |n: Option<i32>| n.map(|n| u64::try_from(n).unwrap_or(0));
    AssociationSettings {
        stats_min_cell: count(stats_min_cell).map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        max_upload_bytes: count(max_upload_bytes),
        language,
        reference_reminder_days: reference_reminder_days.map(unsigned_days),
        ..Default::default()
    }
}

/// Days as given; a negative one becomes out of range (refused by the use case).
fn unsigned_days(days: Vec<i32>) -> Vec<u32> {
    days.into_iter().map(|d| u32::try_from(d).unwrap_or(u32::MAX)).collect()
}

fn days(days: &[u32]) -> Vec<i32> {
    days.iter().map(|d| i32::try_from(*d).unwrap_or(i32::MAX)).collect()
}
