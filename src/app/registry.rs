//! After endorsement, in public: the registry of current endorsements, the
//! verification of one by its number, and the endorsee's choices of what
//! the registry shows. Anyone may read (no login); what they read is
//! [`PublicEndorsement`] and nothing more: never an email, a subject or a
//! portfolio. Staff move endorsements between statuses (revocation,
//! inactive status, lapse, reinstatement), which the registry, the
//! verification page and the status lists all follow.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::{Actor, ChangeAudit, Tenant, input, policy};
use crate::domain::association::AssociationCode;
use crate::domain::credential::{self, PublicEndorsement};
use crate::domain::endorsement;
use crate::domain::model::{Category, EndorsementStatus, Track};
use crate::services::Services;
use crate::store::endorsements::{EndorsementDocument, RegistryFilter, RegistryListing, StatusChange};

/// Longest page of the registry.
pub const MAX_PAGE: usize = 100;
/// Longest location or employer shown.
const MAX_LISTING_CHARS: usize = 200;
/// Longest reason for a status change.
const MAX_REASON_CHARS: usize = 2_000;

/// What the public may know of `record`.
pub fn public(record: &EndorsementDocument) -> PublicEndorsement {
    let listing = record.listing.clone().unwrap_or_default();
    PublicEndorsement {
        number: record.number.clone(),
        name: record.name.clone(),
        category: record.category,
        track: record.track,
        code: record.category.code(record.track).to_owned(),
        title: credential::title(record.category, record.track),
        endorsed_on: record.endorsed_on,
        current_through: record.current_through,
        status: record.status,
        status_since: record.history.last().map(|change| change.on).unwrap_or(record.endorsed_on),
        location: listing.location,
        employer: listing.employer,
    }
}

/// The association a public page names, or NOT_FOUND.
pub async fn association(services: &Services, code: &str) -> AppResult<std::sync::Arc<Tenant>> {
    let code = AssociationCode::parse(code).map_err(|_| AppError::not_found("Association"))?;
    services.tenants.get(&code).await?.ok_or_else(|| AppError::not_found("Association"))
}

/// A registry search.
#[derive(Debug, Clone, Default)]
pub struct RegistrySearch {
    pub search: Option<String>,
    pub category: Option<Category>,
    pub track: Option<Track>,
    pub first: usize,
    pub after: Option<String>,
}

/// One page of the registry, in name order.
pub struct RegistryPage {
    pub entries: Vec<(String, PublicEndorsement)>,
    pub has_next_page: bool,
}

fn encode_cursor(record: &EndorsementDocument) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", record.id.to_hex(), record.sort_name))
}

fn decode_cursor(cursor: &str) -> AppResult<(String, ObjectId)> {
    let invalid = || AppError::bad_input("after", "`after` is not a cursor from this registry");
    let text = URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let (id, name) = text.split_once(':').ok_or_else(invalid)?;
    Ok((name.to_owned(), ObjectId::parse_str(id).map_err(|_| invalid())?))
}

/// The current endorsements of `tenant` that match `search`.
pub async fn registry(services: &Services, tenant: &Tenant, search: RegistrySearch) -> AppResult<RegistryPage> {
    if !(1..=MAX_PAGE).contains(&search.first) {
        return Err(AppError::bad_input("first", format!("`first` must be between 1 and {MAX_PAGE}")));
    }
    let text = input::optional_text("search", search.search, 200)?;
    let filter = RegistryFilter {
        words: text.as_deref().map(endorsement::query_words).unwrap_or_default(),
        category: search.category,
        track: search.track,
        after: search.after.as_deref().map(decode_cursor).transpose()?,
    };
    let mut found = services.endorsements(tenant)?.registry(&filter, search.first as i64 + 1).await?;
    let has_next_page = found.len() > search.first;
    found.truncate(search.first);
    Ok(RegistryPage { entries: found.iter().map(|r| (encode_cursor(r), public(r))).collect(), has_next_page })
}

/// The endorsement numbered `number`, in whatever status (a verifier is
/// told it is not current, and since when), or NOT_FOUND.
pub async fn verify(services: &Services, number: &str) -> AppResult<(std::sync::Arc<Tenant>, PublicEndorsement)> {
    let number = number.trim();
    if number.is_empty() || number.len() > 64 {
        return Err(AppError::not_found("Endorsement"));
    }
    let record = crate::store::endorsements::by_number(services.store()?, number)
        .await?
        .ok_or_else(|| AppError::not_found("Endorsement"))?;
    let tenant = services.tenants.get(&record.association).await?.ok_or_else(|| AppError::not_found("Endorsement"))?;
    Ok((tenant, public(&record)))
}

/// An endorsement of the caller's association the caller may act on: the
/// endorsee's own, or anyone's for staff.
async fn own_or_staff(services: &Services, actor: &Actor, id: ObjectId) -> AppResult<EndorsementDocument> {
    let record =
        services.endorsements(&actor.tenant)?.get(id).await?.ok_or_else(|| AppError::not_found("Endorsement"))?;
    if !policy::is_subject_of(&actor.viewer, &record.subject) {
        policy::require_role(&actor.viewer, policy::STAFF)?;
    }
    Ok(record)
}

pub(crate) async fn issuable(services: &Services, actor: &Actor, id: ObjectId) -> AppResult<EndorsementDocument> {
    let record = own_or_staff(services, actor, id).await?;
    if record.status != EndorsementStatus::Current {
        return Err(AppError::FailedPrecondition {
            message: format!(
                "Endorsement {} is {}: only a current endorsement is issued as a credential.",
                record.number,
                record.status.as_str()
            ),
            missing: vec!["CURRENT_ENDORSEMENT".into()],
        });
    }
    Ok(record)
}

/// The endorsee chooses what the registry shows besides their name (blank
/// hides it).
pub async fn set_listing(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    location: Option<String>,
    employer: Option<String>,
    audit: &ChangeAudit<'_>,
) -> AppResult<EndorsementDocument> {
    audit.target(format!("endorsement/{}", id.to_hex()));
    let listing = RegistryListing {
        location: input::optional_text("location", location, MAX_LISTING_CHARS)?,
        employer: input::optional_text("employer", employer, MAX_LISTING_CHARS)?,
    };
    let record =
        services.endorsements(&actor.tenant)?.get(id).await?.ok_or_else(|| AppError::not_found("Endorsement"))?;
    // Opting in is the endorsee's own choice, not staff's.
    if !policy::is_subject_of(&actor.viewer, &record.subject) {
        return Err(AppError::Forbidden);
    }
    services
        .endorsements(&actor.tenant)?
        .set_listing(id, &listing)
        .await?
        .ok_or_else(|| AppError::not_found("Endorsement"))
}

/// Moves an endorsement to `to` (COORDINATOR, ADMIN), with the reason:
/// revocation and withdrawal are final; inactive status and a lapse end
/// with a return to CURRENT.
pub async fn change_status(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    to: EndorsementStatus,
    reason: Option<String>,
    audit: &ChangeAudit<'_>,
) -> AppResult<EndorsementDocument> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target(format!("endorsement/{}", id.to_hex()));
    let reason = input::optional_text("reason", reason, MAX_REASON_CHARS)?;
    if matches!(to, EndorsementStatus::Revoked | EndorsementStatus::Withdrawn) && reason.is_none() {
        return Err(AppError::bad_input("reason", "`reason` is required: say why it ends"));
    }
    let store = services.endorsements(&actor.tenant)?;
    let record = store.get(id).await?.ok_or_else(|| AppError::not_found("Endorsement"))?;
    if policy::is_subject_of(&actor.viewer, &record.subject) {
        return Err(AppError::Forbidden);
    }
    if !endorsement::may_change(record.status, to) {
        return Err(AppError::Conflict(format!(
            "Endorsement {} is {}; it cannot become {}.",
            record.number,
            record.status.as_str(),
            to.as_str()
        )));
    }
    let change = StatusChange {
        status: to,
        on: actor.tenant.today(),
        reason,
        by: actor.subject().to_owned(),
        at: DateTime::now(),
    };
    let record_of = audit.record(format!("endorsement/{}", id.to_hex()), format!("ENDORSEMENT_{}", to.as_str()));
    let changed = store.change_status_audited(id, record.status, &change, &record_of).await?.ok_or_else(|| {
        AppError::Conflict(format!("Endorsement {} changed meanwhile; read it again.", record.number))
    })?;
    audit.stored();
    Ok(changed)
}
