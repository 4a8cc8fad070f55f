//! Associations and their rulebooks. A platform admin creates an
//! association and names its first admin; the association's admins publish
//! its rulebook. A published rulebook is checked like a built-in one, and
//! it may not change the past: every version already in force stays
//! exactly as it was, and a new version takes effect after today (the
//! association's today). Every revision is kept.

use std::sync::Arc;

use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::{Actor, ChangeAudit, Tenant, policy};
use crate::auth::{Role, Viewer};
use crate::domain::Rulebook;
use crate::domain::association::{AssociationCode, AssociationSettings, parse_time_zone};
use crate::services::Services;
use crate::store::associations::{AssociationDocument, RulebookRevision};

/// Longest association name.
const MAX_NAME: usize = 200;
/// Largest rulebook source accepted.
pub const MAX_RULEBOOK_BYTES: usize = 512 * 1024;

#[derive(Debug, Clone)]
pub struct NewAssociation {
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub first_admin: String,
    pub settings: AssociationSettings,
}

/// Creates an association (PLATFORM_ADMIN). A taken code is a CONFLICT.
pub async fn create(
    services: &Services,
    viewer: &Viewer,
    input: NewAssociation,
    audit: &ChangeAudit<'_>,
) -> AppResult<AssociationDocument> {
    policy::require_role(viewer, &[Role::PlatformAdmin])?;
    let code =
        AssociationCode::parse(input.code.trim()).map_err(|e| AppError::bad_input("input.code", e.to_string()))?;
    audit.target(code.to_string());
    let name = super::input::required_text("input.name", &input.name, MAX_NAME)?;
    parse_time_zone(input.time_zone.trim()).map_err(|e| AppError::bad_input("input.timeZone", e))?;
    let first_admin = input.first_admin.trim().to_owned();
    if first_admin.is_empty() || first_admin.len() > 256 {
        return Err(AppError::bad_input("input.firstAdmin", "`firstAdmin` must be a token subject"));
    }
    check_settings(&input.settings)?;
    let document = AssociationDocument {
        code: code.clone(),
        name,
        time_zone: input.time_zone.trim().to_owned(),
        settings: input.settings,
        admins: vec![first_admin],
        created_at: DateTime::now(),
    };
    // The record belongs to the new association: its admins see who
    // created it.
    let mut record = audit.record(code.to_string(), "CREATED");
    record.association = Some(code.clone());
    services.tenants.store().create_audited(&document, &record).await.map_err(|error| match AppError::from(error) {
        AppError::Conflict(_) => AppError::Conflict(format!("An association with code `{code}` exists already.")),
        other => other,
    })?;
    audit.stored();
    services.tenants.load(&code).await?;
    Ok(document)
}

/// Every association (PLATFORM_ADMIN), or the caller's own.
pub async fn visible(services: &Services, viewer: &Viewer) -> AppResult<Vec<AssociationDocument>> {
    if viewer.has_role(Role::PlatformAdmin) {
        services.store()?;
        return Ok(services.tenants.store().list().await?);
    }
    let Some(code) = &viewer.association else { return Ok(Vec::new()) };
    services.store()?;
    Ok(services.tenants.store().get(code).await?.into_iter().collect())
}

/// The association a public read (the rulebook) is about: the one asked
/// for, else the caller's, else the deployment's default.
pub async fn for_public_read(
    services: &Services,
    asked: Option<&str>,
    callers: Option<&AssociationCode>,
) -> AppResult<Arc<Tenant>> {
    let code = match asked {
        Some(text) => AssociationCode::parse(text).map_err(|e| AppError::bad_input("association", e.to_string()))?,
        None => callers.unwrap_or(&services.config.default_association).clone(),
    };
    services
        .tenants
        .get(&code)
        .await?
        .ok_or_else(|| AppError::bad_input("association", format!("there is no association `{code}`")))
}

/// Publishes `source` as the caller's association's rulebook (ADMIN).
pub async fn publish_rulebook(
    services: &Services,
    actor: &Actor,
    source: String,
    audit: &ChangeAudit<'_>,
) -> AppResult<Arc<Tenant>> {
    policy::require_role(&actor.viewer, &[Role::Admin])?;
    let code = actor.tenant.code().clone();
    audit.target(code.to_string());
    if source.len() > MAX_RULEBOOK_BYTES {
        return Err(AppError::FieldTooLarge {
            message: format!("A rulebook may take at most {MAX_RULEBOOK_BYTES} bytes."),
            field: "source".into(),
        });
    }
    let rulebook =
        Rulebook::from_json("source", &source).map_err(|error| AppError::bad_input("source", error.to_string()))?;
    check_publishable(&actor.tenant, &rulebook)?;
    let revision = RulebookRevision {
        id: ObjectId::new(),
        association: code.clone(),
        revision: actor.tenant.rulebook_revision + 1,
        source,
        published_at: DateTime::now(),
        published_by: actor.subject().to_owned(),
    };
    let record = audit.record(code.to_string(), format!("RULEBOOK {}", revision.revision));
    services.tenants.store().publish_rulebook_audited(&revision, &record).await.map_err(
        |error| match AppError::from(error) {
            AppError::Conflict(_) => {
                AppError::Conflict("Another rulebook was published meanwhile; reload and publish again.".into())
            }
            other => other,
        },
    )?;
    audit.stored();
    services.tenants.load(&code).await?.ok_or_else(|| AppError::not_found("Association"))
}

/// The rules a new rulebook must keep: it is this association's, every
/// version in force today or earlier is unchanged (none removed), and
/// every new version takes effect after today.
fn check_publishable(tenant: &Tenant, rulebook: &Rulebook) -> AppResult<()> {
    let code = tenant.code();
    if rulebook.association != code.as_str() {
        return Err(AppError::bad_input(
            "source",
            format!("the rulebook is for `{}`, not for `{code}`", rulebook.association),
        ));
    }
    let today = tenant.today();
    if let Some(current) = &tenant.rulebook {
        for version in current.versions.iter().filter(|v| v.effective_from <= today) {
            match rulebook.versions.iter().find(|v| v.effective_from == version.effective_from) {
                Some(same) if same == version => {}
                Some(_) => {
                    return Err(AppError::Conflict(format!(
                        "Version {} is in force and cannot change; publish a new version from a later date.",
                        version.id
                    )));
                }
                None => {
                    return Err(AppError::Conflict(format!(
                        "Version {} is in force and cannot be removed.",
                        version.id
                    )));
                }
            }
        }
        let known = |v: &crate::domain::RulebookVersion| current.versions.iter().any(|c| c == v);
        if let Some(late) = rulebook.versions.iter().find(|v| v.effective_from <= today && !known(v)) {
            return Err(AppError::bad_input(
                "source",
                format!("a new version must take effect after today ({today}); {} does not", late.id),
            ));
        }
    }
    Ok(())
}

/// Settings an association may hold: reminder days ascending within a
/// year, positive limits.
fn check_settings(settings: &AssociationSettings) -> AppResult<()> {
    if let Some(days) = &settings.reference_reminder_days {
        let ascending = days.windows(2).all(|pair| pair[0] < pair[1]);
        if days.len() > 10 || !ascending || days.iter().any(|d| !(1..=365).contains(d)) {
            return Err(AppError::bad_input(
                "input.referenceReminderDays",
                "reminder days are at most 10 distinct days from 1 to 365, ascending",
            ));
        }
    }
    for (days, field) in [
        (&settings.renewal_reminder_days_before_window, "input.renewalReminderDaysBeforeWindow"),
        (&settings.renewal_reminder_days_before_deadline, "input.renewalReminderDaysBeforeDeadline"),
    ] {
        if let Some(days) = days
            && (days.len() > 10 || days.iter().any(|d| !(1..=365).contains(d)))
        {
            return Err(AppError::bad_input(field, "renewal reminders are at most 10 days, each from 1 to 365"));
        }
    }
    if settings.renewal_audit_percent.is_some_and(|n| n > 100) {
        return Err(AppError::bad_input("input.renewalAuditPercent", "`renewalAuditPercent` must be from 0 to 100"));
    }
    if settings.exam_retakes.is_some_and(|n| n > 100) {
        return Err(AppError::bad_input("input.examRetakes", "`examRetakes` must be from 0 to 100"));
    }
    if settings.stats_min_cell == Some(0) || settings.max_upload_bytes == Some(0) {
        return Err(AppError::bad_input("input.settings", "settings must be positive"));
    }
    Ok(())
}

/// Changes the caller's association's settings (ADMIN): each field given
/// replaces the current one, the others stay.
pub async fn update_settings(
    services: &Services,
    actor: &Actor,
    patch: AssociationSettings,
    audit: &ChangeAudit<'_>,
) -> AppResult<AssociationDocument> {
    policy::require_role(&actor.viewer, &[Role::Admin])?;
    let code = actor.tenant.code().clone();
    audit.target(code.to_string());
    check_settings(&patch)?;
    let store = services.tenants.store();
    let current = store.get(&code).await?.ok_or_else(|| AppError::not_found("Association"))?;
    let mut settings = current.settings;
    macro_rules! take {
        ($($field:ident),+) => { $( if patch.$field.is_some() { settings.$field = patch.$field; } )+ };
    }
    take!(
        stats_min_cell,
        max_upload_bytes,
        language,
        reference_reminder_days,
        allow_incomplete_submissions,
        processing_fee_due,
        require_registration,
        accept_other_memberships,
        exam_retakes,
        renewal_audit_percent,
        renewal_reminder_days_before_window,
        renewal_reminder_days_before_deadline
    );
    let record = audit.record(code.to_string(), "SETTINGS_CHANGED");
    let updated = store
        .set_settings_audited(&code, &settings, &record)
        .await?
        .ok_or_else(|| AppError::not_found("Association"))?;
    audit.stored();
    services.tenants.load(&code).await?;
    Ok(updated)
}
