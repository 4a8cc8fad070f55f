//! Portfolios: start one, change it, submit it, read one or a page. Every
//! change loads the document, applies and validates the whole change in
//! memory, then writes it with one version-guarded replace, together with
//! its audit record: all or nothing, and a stale `expected_version` is a
//! CONFLICT.

use std::collections::HashSet;
use std::sync::Arc;

use mongodb::bson::{Bson, DateTime, Document, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::{Actor, ChangeAudit, policy};
use crate::auth::Role;
use crate::domain::changes::{self, Entry};
use crate::domain::model::{
    Agreement, AssignmentKind, Category, EvidenceStatus, Membership, Portfolio, PortfolioEventKind, PortfolioStatus,
    ReferenceSource, Track,
};
use crate::domain::validate;
use crate::domain::workflow;
use crate::services::Services;
use crate::store::audit::PortfolioEvent;
use crate::store::portfolio::{Applicant, Companions, ListFilter, PortfolioDocument, Projection, SCHEMA_VERSION};

/// Most entries one change may add or replace: keeps documents far below
/// MongoDB's 16 MB limit.
const MAX_UPSERTS_PER_CHANGE: usize = 500;
/// A stored portfolio stays far below MongoDB's 16 MB document limit, so
/// that a write never fails half-way through a review for its size.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// Largest `extra` object, serialized.
const MAX_EXTRA_BYTES: usize = 16 * 1024;

/// The applicant's details as given.
#[derive(Debug, Clone)]
pub struct ApplicantDetails {
    pub name: String,
    pub email: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewPortfolio {
    pub track: Track,
    pub target_category: Category,
    pub applicant: ApplicantDetails,
    pub extra: Option<serde_json::Value>,
}

/// One entry to add (`id` none) or replace; the entry's own id is ignored.
#[derive(Debug, Clone)]
pub struct Upsert {
    pub id: Option<String>,
    pub entry: Entry,
}

/// A change set: every field optional, applied all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub applicant: Option<ApplicantDetails>,
    pub target_category: Option<Category>,
    pub track: Option<Track>,
    /// `Some(Null)` clears it.
    pub extra: Option<serde_json::Value>,
    pub agreement: Option<Agreement>,
    pub membership: Option<Membership>,
    pub upsert: Vec<Upsert>,
    pub remove: Vec<String>,
}

/// Parses an API id; anything else (operators included) is refused before
/// it reaches the driver.
pub fn parse_id(field: &str, id: &str) -> AppResult<ObjectId> {
    ObjectId::parse_str(id).map_err(|_| AppError::bad_input(field, format!("`{field}` is not a valid id")))
}

fn applicant(input: ApplicantDetails, prefix: &str) -> AppResult<Applicant> {
    validate::required_text("name", &input.name, validate::MAX_NAME).map_err(AppError::invalid_at(prefix))?;
    validate::optional_text("region", input.region.as_deref(), 100).map_err(AppError::invalid_at(prefix))?;
    if let Some(email) = &input.email {
        validate::email("email", email).map_err(AppError::invalid_at(prefix))?;
    }
    Ok(Applicant { name: input.name.trim().to_owned(), email: input.email, region: input.region })
}

/// `extra` must be a JSON object of bounded size whose keys are plain names
/// (no `$` prefixes or dots that MongoDB would treat specially).
fn extra(value: serde_json::Value, field: &str) -> AppResult<Option<Document>> {
    fn keys_ok(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => {
                map.iter().all(|(k, v)| !k.is_empty() && !k.starts_with('$') && !k.contains('.') && keys_ok(v))
            }
            serde_json::Value::Array(items) => items.iter().all(keys_ok),
            _ => true,
        }
    }
    if value.is_null() {
        return Ok(None);
    }
    if !value.is_object() {
        return Err(AppError::bad_input(field, "`extra` must be a JSON object"));
    }
    if serde_json::to_vec(&value).map_or(usize::MAX, |bytes| bytes.len()) > MAX_EXTRA_BYTES {
        return Err(AppError::bad_input(field, format!("`extra` must be at most {MAX_EXTRA_BYTES} bytes")));
    }
    if !keys_ok(&value) {
        return Err(AppError::bad_input(field, "`extra` keys must not be empty, start with `$` or contain `.`"));
    }
    match Bson::try_from(value) {
        Ok(Bson::Document(document)) => Ok(Some(document)),
        _ => Err(AppError::bad_input(field, "`extra` must be a JSON object")),
    }
}

/// Which portfolios the caller sees (see [`policy::portfolio_access`]); an
/// adviser's assignments are read for it.
pub(crate) async fn access(services: &Services, actor: &Actor) -> AppResult<crate::domain::access::PortfolioAccess> {
    let assigned = if actor.viewer.has_role(Role::Adviser) {
        let ids = services.assignments(&actor.tenant)?.portfolios_of(actor.subject(), AssignmentKind::Adviser).await?;
        ids.into_iter().map(|id| id.to_hex()).collect()
    } else {
        Vec::new()
    };
    Ok(policy::portfolio_access(&actor.viewer, assigned))
}

/// The portfolio if the caller may see it (projected), else `None`.
pub async fn find(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    projection: &Projection,
) -> AppResult<Option<PortfolioDocument>> {
    let access = access(services, actor).await?;
    Ok(services.portfolios(&actor.tenant)?.find(id, &access, projection).await?)
}

/// [`find`], to show rather than to change: the document may be shared
/// with other reads (see [`crate::store::decoded`]).
pub async fn read(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    projection: &Projection,
) -> AppResult<Option<Arc<PortfolioDocument>>> {
    let access = access(services, actor).await?;
    Ok(services.portfolios(&actor.tenant)?.read(id, &access, projection).await?)
}

/// One page of the portfolios the caller may see, newest first, after
/// the id `after`; `limit + 1` are fetched so the caller can tell whether
/// another page follows.
pub async fn page(
    services: &Services,
    actor: &Actor,
    filter: &ListFilter,
    after: Option<ObjectId>,
    limit: i64,
    projection: &Projection,
) -> AppResult<Vec<PortfolioDocument>> {
    let access = access(services, actor).await?;
    Ok(services.portfolios(&actor.tenant)?.page(filter, &access, after, limit, projection).await?)
}

/// How many portfolios matching `filter` the caller may see.
pub async fn count(services: &Services, actor: &Actor, filter: &ListFilter) -> AppResult<u64> {
    let access = access(services, actor).await?;
    Ok(services.portfolios(&actor.tenant)?.count(filter, &access).await?)
}

/// Starts a DRAFT portfolio owned by the caller (APPLICANT), within the
/// association's cap per applicant. It is not registered: see
/// [`super::applications::register`].
pub async fn create(
    services: &Services,
    actor: &Actor,
    input: NewPortfolio,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    let document = prepare(services, actor, input, audit).await?;
    let record = audit.record(document.id.to_hex(), document.status.as_str());
    services.portfolios(&actor.tenant)?.insert_audited(&document, &record).await?;
    audit.stored();
    Ok(document)
}

/// A new DRAFT portfolio of the caller (APPLICANT), checked and within the
/// association's cap per applicant, not stored yet.
pub(crate) async fn prepare(
    services: &Services,
    actor: &Actor,
    input: NewPortfolio,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    policy::require_role(&actor.viewer, &[Role::Applicant])?;
    let applicant = applicant(input.applicant, "input.applicant")?;
    let extra = input.extra.map(|value| extra(value, "input.extra")).transpose()?.flatten();
    let now = DateTime::now();
    let document = PortfolioDocument {
        id: ObjectId::new(),
        association: actor.tenant.code().clone(),
        owner_id: actor.subject().to_owned(),
        status: PortfolioStatus::Draft,
        schema_version: SCHEMA_VERSION,
        version: 1,
        applicant: Some(applicant),
        created_at: Some(now),
        updated_at: Some(now),
        submitted_at: None,
        decided_at: None,
        endorsed_at: None,
        review_note: None,
        extra,
        content: Portfolio::new(input.track, input.target_category),
    };
    audit.target(document.id.to_hex());
    let portfolios = services.portfolios(&actor.tenant)?;
    let cap = services.config.limits.max_portfolios_per_applicant;
    let own = ListFilter { owner_id: Some(actor.subject().to_owned()), ..Default::default() };
    if portfolios.count(&own, &crate::domain::access::PortfolioAccess::Everything).await? >= cap {
        return Err(AppError::Conflict(format!(
            "You already have {cap} portfolios, the most one applicant may hold; continue one of them."
        )));
    }
    Ok(document)
}

/// A portfolio the caller may change: visible (else NOT_FOUND, exactly as
/// if absent), owned (else FORBIDDEN) and editable (else CONFLICT).
pub(crate) async fn load_editable(services: &Services, actor: &Actor, id: ObjectId) -> AppResult<PortfolioDocument> {
    let document =
        find(services, actor, id, &Projection::all()).await?.ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_edit(&actor.viewer, &document.owner_id)?;
    workflow::check_editable(document.status).map_err(|refused| AppError::Conflict(refused.to_string()))?;
    Ok(document)
}

/// A portfolio whose owner may change its entries: an editable one, or an
/// ENDORSED one, which takes continuing education for renewal (checked by
/// [`crate::domain::renewal::check_continuing_change`] in [`change`]).
pub(crate) async fn load_changeable(services: &Services, actor: &Actor, id: ObjectId) -> AppResult<PortfolioDocument> {
    Ok(load_changeable_since(services, actor, id).await?.0)
}

/// [`load_changeable`], with the day before which an ENDORSED portfolio's
/// entries stay as they are (`None` for an editable one).
async fn load_changeable_since(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
) -> AppResult<(PortfolioDocument, Option<chrono::NaiveDate>)> {
    let document =
        find(services, actor, id, &Projection::all()).await?.ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_edit(&actor.viewer, &document.owner_id)?;
    if document.status == PortfolioStatus::Endorsed {
        // Only with an endorsement that may still be renewed.
        let frozen_before = super::renewals::frozen_before(services, actor, &document).await?;
        return Ok((document, Some(frozen_before)));
    }
    workflow::check_editable(document.status).map_err(|refused| AppError::Conflict(refused.to_string()))?;
    Ok((document, None))
}

/// [`load_changeable_since`] at `expected_version` (else CONFLICT).
async fn load_for_change(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    expected_version: i32,
    audit: &ChangeAudit<'_>,
) -> AppResult<(PortfolioDocument, Option<chrono::NaiveDate>)> {
    audit.target(id.to_hex());
    let loaded = load_changeable_since(services, actor, id).await?;
    check_version(&loaded.0, expected_version)?;
    Ok(loaded)
}

pub(crate) fn check_version(document: &PortfolioDocument, expected_version: i32) -> AppResult<()> {
    if document.version == expected_version { Ok(()) } else { Err(stale(document.version)) }
}

fn stale(current: i32) -> AppError {
    AppError::Conflict(format!(
        "The portfolio was changed by someone else (now version {current}); reload it and apply your change again."
    ))
}

/// Every section within the configured entry cap, and the whole document
/// within [`MAX_DOCUMENT_BYTES`]: PAYLOAD_TOO_LARGE naming what is too big.
fn check_size(services: &Services, document: &PortfolioDocument) -> AppResult<()> {
    let max_entries = services.config.limits.max_section_entries;
    if let Some((section, len)) = validate::oversized_section(&document.content, max_entries) {
        return Err(AppError::FieldTooLarge {
            message: format!("`{section}` would hold {len} entries; a section may hold at most {max_entries}."),
            field: section.to_owned(),
        });
    }
    let bytes = mongodb::bson::to_vec(document).map_err(AppError::internal)?.len();
    if bytes > MAX_DOCUMENT_BYTES {
        return Err(AppError::FieldTooLarge {
            message: format!("The portfolio would take {bytes} bytes; at most {MAX_DOCUMENT_BYTES} are kept."),
            field: "changes".to_owned(),
        });
    }
    Ok(())
}

/// Writes `document` as the next version after `expected_version`, with
/// its audit record.
pub(crate) async fn save(
    services: &Services,
    actor: &Actor,
    document: PortfolioDocument,
    expected_version: i32,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    save_with(services, actor, document, expected_version, audit, Effects::default()).await.map(|(saved, _)| saved)
}

/// [`save`] of a change that moved the status: subscribers hear of it,
/// and `mail` (to the applicant) goes with it.
pub(crate) async fn save_new_status(
    services: &Services,
    actor: &Actor,
    document: PortfolioDocument,
    expected_version: i32,
    audit: &ChangeAudit<'_>,
    mail: Vec<crate::store::outbox::OutboxMessage>,
) -> AppResult<PortfolioDocument> {
    let effects = Effects { status_changed: true, mail, companions: Companions::default() };
    save_with(services, actor, document, expected_version, audit, effects).await.map(|(saved, _)| saved)
}

/// [`save_new_status`] of a change that also writes `companions` (the
/// endorsement it grants, the review round it decides) in its transaction.
pub(crate) async fn save_new_status_with(
    services: &Services,
    actor: &Actor,
    document: PortfolioDocument,
    expected_version: i32,
    audit: &ChangeAudit<'_>,
    mail: Vec<crate::store::outbox::OutboxMessage>,
    companions: Companions,
) -> AppResult<(PortfolioDocument, Option<crate::store::endorsements::EndorsementDocument>)> {
    let effects = Effects { status_changed: true, mail, companions };
    save_with(services, actor, document, expected_version, audit, effects).await
}

/// What a saved change does besides replacing the document.
#[derive(Default)]
struct Effects {
    /// Subscribers hear of the new status.
    status_changed: bool,
    /// Mail queued with the change.
    mail: Vec<crate::store::outbox::OutboxMessage>,
    /// What else it writes in its transaction.
    companions: Companions,
}

async fn save_with(
    services: &Services,
    actor: &Actor,
    mut document: PortfolioDocument,
    expected_version: i32,
    audit: &ChangeAudit<'_>,
    effects: Effects,
) -> AppResult<(PortfolioDocument, Option<crate::store::endorsements::EndorsementDocument>)> {
    let Effects { status_changed, mail, companions } = effects;
    let mails = !mail.is_empty();
    document.version = expected_version + 1;
    document.schema_version = SCHEMA_VERSION;
    document.updated_at = Some(DateTime::now());
    let mut record = audit.record(document.id.to_hex(), document.status.as_str());
    if status_changed {
        record.event = Some(PortfolioEvent {
            portfolio_id: document.id,
            kind: PortfolioEventKind::StatusChanged,
            status: Some(document.status.as_str().to_owned()),
            subject_id: None,
        });
    }
    record.mail = mail;
    match services
        .portfolios(&actor.tenant)?
        .replace_if_version_audited(&document, expected_version, &record, &companions)
        .await?
    {
        Some(saved) => {
            audit.stored();
            if mails {
                services.outbox_wake.notify_one();
            }
            Ok(saved)
        }
        // Changed between our read and write: the guard did its job.
        None => Err(stale(expected_version + 1)),
    }
}

/// Evidence a change links: (input field, ids).
type Links = Vec<(String, Vec<String>)>;

/// A link this change adds must be to this portfolio's own evidence whose
/// bytes passed verification (UPLOADED or VERIFIED): never a pending upload
/// that may still fail or be swept, nor rejected evidence. Links the
/// portfolio had already stay as they are, so that a reviewer rejecting
/// evidence later does not make its entry uneditable (the engine counts
/// only VERIFIED evidence anyway).
async fn check_evidence_links(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    already: &HashSet<String>,
    links: &Links,
) -> AppResult<()> {
    let added: Vec<(&String, &String)> = links
        .iter()
        .flat_map(|(field, ids)| ids.iter().map(move |id| (field, id)))
        .filter(|(_, id)| !already.contains(*id))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let statuses = services.evidence(&actor.tenant)?.statuses_of(portfolio_id).await?;
    for (field, id) in added {
        match statuses.get(id) {
            Some(EvidenceStatus::Uploaded | EvidenceStatus::Verified) => {}
            Some(status) => {
                return Err(AppError::bad_input(
                    field.as_str(),
                    format!("evidence `{id}` is {status}; only UPLOADED or VERIFIED evidence can be linked"),
                ));
            }
            None => {
                return Err(AppError::bad_input(
                    field.as_str(),
                    format!("evidence `{id}` does not belong to this portfolio"),
                ));
            }
        }
    }
    Ok(())
}

/// Applies `changes` at once, all or nothing (the owner, DRAFT or RETURNED).
pub async fn change(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    expected_version: i32,
    changes: Changes,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    let (mut document, frozen_before) = load_for_change(services, actor, id, expected_version, audit).await?;
    // What an endorsed portfolio held before, to check it only grew.
    let endorsed = frozen_before.map(|day| (document.content.clone(), day));
    let today = actor.tenant.today();
    let already: HashSet<String> = changes::linked_evidence(&document.content).map(str::to_owned).collect();
    let mut links = Links::new();
    if let Some(input) = changes.applicant {
        document.applicant = Some(applicant(input, "changes.applicant")?);
    }
    if (changes.target_category.is_some() || changes.track.is_some())
        && services.applications(&actor.tenant)?.of_portfolio(document.id).await?.is_some()
    {
        return Err(AppError::Conflict(
            "The portfolio is registered for its category and track; register again for another one.".into(),
        ));
    }
    if let Some(category) = changes.target_category {
        document.content.target_category = category;
    }
    if let Some(track) = changes.track {
        document.content.track = track;
    }
    if let Some(value) = changes.extra {
        document.extra = extra(value, "changes.extra")?;
    }
    if let Some(agreement) = changes.agreement {
        validate::agreement(&agreement, today).map_err(AppError::invalid_at("changes.agreement"))?;
        links.push(("changes.agreement.evidenceIds".to_owned(), agreement.evidence_ids.clone()));
        document.content.agreement = Some(agreement);
    }
    if let Some(membership) = changes.membership {
        validate::membership(&membership, today).map_err(AppError::invalid_at("changes.membership"))?;
        document.content.membership = Some(membership);
    }
    let mut touched: HashSet<String> = HashSet::new();
    for (index, id) in changes.remove.into_iter().enumerate() {
        let field = format!("changes.remove[{index}]");
        if !touched.insert(id.clone()) {
            return Err(AppError::bad_input(field, format!("entry `{id}` is listed more than once")));
        }
        if document.content.references.iter().any(|r| r.id == id && r.source != ReferenceSource::Typed) {
            return Err(AppError::bad_input(
                field,
                format!("reference rating `{id}` came from its rater (or a coordinator) and stays with the portfolio"),
            ));
        }
        changes::remove(&mut document.content, &id).map_err(|e| AppError::bad_input(field, e.to_string()))?;
    }
    if changes.upsert.len() > MAX_UPSERTS_PER_CHANGE {
        return Err(AppError::bad_input(
            "changes.upsert",
            format!("at most {MAX_UPSERTS_PER_CHANGE} entries per change"),
        ));
    }
    for (index, change) in changes.upsert.into_iter().enumerate() {
        let replace = change.id.is_some();
        let entry_id = change.id.unwrap_or_else(|| ObjectId::new().to_hex());
        if replace && !touched.insert(entry_id.clone()) {
            return Err(AppError::bad_input(
                format!("changes.upsert[{index}].id"),
                format!("entry `{entry_id}` is changed more than once"),
            ));
        }
        if matches!(change.entry, Entry::Reference(_)) {
            return Err(AppError::bad_input(
                format!("changes.upsert[{index}].entry.reference"),
                "reference ratings come from the raters: ask one with `requestReference`, and they fill the form themselves",
            ));
        }
        let entry = change.entry.with_id(entry_id);
        let prefix = format!("changes.upsert[{index}].entry.{}", entry.section());
        validate::entry(&entry, today).map_err(AppError::invalid_at(&prefix))?;
        links.push((format!("{prefix}.evidenceIds"), entry.evidence_ids().to_vec()));
        changes::upsert(&mut document.content, entry, replace)
            .map_err(|e| AppError::bad_input(format!("changes.upsert[{index}].id"), e.to_string()))?;
    }
    if let Some((before, frozen_before)) = endorsed {
        crate::domain::renewal::check_continuing_change(&before, &document.content, frozen_before)
            .map_err(|refused| AppError::Conflict(refused.to_string()))?;
    }
    check_size(services, &document)?;
    check_evidence_links(services, actor, document.id, &already, &links).await?;
    save(services, actor, document, expected_version, audit).await
}

/// DRAFT or RETURNED -> SUBMITTED; sets `submittedAt`. A resubmission
/// starts a new review round: the earlier decision time is cleared. The
/// gates of [`super::applications::check_submission`] come first.
pub async fn submit(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    expected_version: i32,
    audit: &ChangeAudit<'_>,
) -> AppResult<PortfolioDocument> {
    let (mut document, _) = load_for_change(services, actor, id, expected_version, audit).await?;
    super::applications::check_submission(services, actor, &document, audit).await?;
    document.status =
        workflow::submitted(document.status).map_err(|refused| AppError::Conflict(refused.to_string()))?;
    document.submitted_at = Some(DateTime::now());
    document.decided_at = None;
    save_new_status(services, actor, document, expected_version, audit, Vec::new()).await
}
