//! Portfolio mutations. Each loads the document, applies and validates the
//! whole change in memory, then writes it with one version-guarded replace:
//! all or nothing, and a stale `expectedVersion` is a CONFLICT.

use std::collections::HashSet;

use async_graphql::{Context, ID, Json, Object};
use mongodb::bson::{Bson, DateTime, Document, oid::ObjectId};

use super::inputs::{ApplicantInput, CreatePortfolioInput, PortfolioChanges};
use super::object::PortfolioObject;
use super::query::parse_id;
use crate::auth::{Role, Viewer};
use crate::domain::changes::{self, Entry};
use crate::domain::model::{EvidenceStatus, Portfolio, PortfolioStatus};
use crate::domain::validate::{self, ValidationError};
use crate::graphql::context::{change_record, change_stored, require_role, services, set_audit_target, viewer};
use crate::graphql::error::{ApiError, ApiResult};
use crate::store::portfolio::{Applicant, ListFilter, PortfolioDocument, Projection, SCHEMA_VERSION, Visibility};

#[derive(Default)]
pub struct PortfolioMutation;

/// Most entries one change may add or replace, and most per section: keeps
/// documents far below MongoDB's 16 MB limit.
const MAX_UPSERTS_PER_CHANGE: usize = 500;
/// A stored portfolio stays far below MongoDB's 16 MB document limit, so
/// that a write never fails half-way through a review for its size.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// Largest `extra` object, serialized.
const MAX_EXTRA_BYTES: usize = 16 * 1024;

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A domain validation error at `prefix` becomes BAD_USER_INPUT naming the
/// full input path, e.g. "changes.upsert[2].entry.training.hours".
fn at(prefix: &str) -> impl Fn(ValidationError) -> ApiError + '_ {
    move |error| ApiError::bad_input(format!("{prefix}.{}", error.field), format!("{}: {}", error.field, error.message))
}

fn applicant(input: ApplicantInput, prefix: &str) -> ApiResult<Applicant> {
    validate::required_text("name", &input.name, validate::MAX_NAME).map_err(at(prefix))?;
    validate::optional_text("region", input.region.as_deref(), 100).map_err(at(prefix))?;
    if let Some(email) = &input.email {
        let plausible = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.contains('@'));
        if !plausible {
            return Err(ApiError::bad_input(
                format!("{prefix}.email"),
                "email must be an address like name@example.org",
            ));
        }
    }
    Ok(Applicant { name: input.name.trim().to_owned(), email: input.email, region: input.region })
}

/// `extra` must be a JSON object of bounded size whose keys are plain names
/// (no `$` prefixes or dots that MongoDB would treat specially).
fn extra(value: serde_json::Value, field: &str) -> ApiResult<Option<Document>> {
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
        return Err(ApiError::bad_input(field, "`extra` must be a JSON object"));
    }
    if serde_json::to_vec(&value).map_or(usize::MAX, |bytes| bytes.len()) > MAX_EXTRA_BYTES {
        return Err(ApiError::bad_input(field, format!("`extra` must be at most {MAX_EXTRA_BYTES} bytes")));
    }
    if !keys_ok(&value) {
        return Err(ApiError::bad_input(field, "`extra` keys must not be empty, start with `$` or contain `.`"));
    }
    match Bson::try_from(value) {
        Ok(Bson::Document(document)) => Ok(Some(document)),
        _ => Err(ApiError::bad_input(field, "`extra` must be a JSON object")),
    }
}

fn validate_entry(entry: &Entry, today: chrono::NaiveDate) -> Result<(), ValidationError> {
    match entry {
        Entry::Education(e) => validate::education(e, today),
        Entry::Training(e) => validate::training(e, today),
        Entry::Work(e) => validate::work(e, today),
        Entry::ReflectiveSupervision(e) => validate::rsc(e, today),
        Entry::Leadership(e) => validate::leadership(e, today),
        Entry::Reference(e) => validate::reference(e, today),
        Entry::Exam(e) => validate::exam(e, today),
        Entry::PriorEndorsement(e) => validate::prior_endorsement(e, today),
    }
}

/// Loads a portfolio the caller may change: visible (else NOT_FOUND, exactly
/// as if absent), owned (else FORBIDDEN), editable and at `expected_version`
/// (else CONFLICT).
async fn load_for_change(
    ctx: &Context<'_>,
    viewer: &Viewer,
    id: &ID,
    expected_version: i32,
) -> ApiResult<PortfolioDocument> {
    let object_id = parse_id("id", id)?;
    set_audit_target(ctx, object_id.to_hex());
    let document = load_editable(ctx, viewer, object_id).await?;
    check_version(&document, expected_version)?;
    Ok(document)
}

/// A portfolio the caller owns and may still edit (DRAFT or RETURNED).
pub(crate) async fn load_editable(ctx: &Context<'_>, viewer: &Viewer, id: ObjectId) -> ApiResult<PortfolioDocument> {
    let document = services(ctx)
        .portfolios()?
        .find(id, &Visibility::for_viewer(viewer), &Projection::all())
        .await?
        .ok_or_else(|| ApiError::NotFound("Portfolio".into()))?;
    if !viewer.owns(&document.owner_id) {
        return Err(ApiError::Forbidden);
    }
    if !matches!(document.status, PortfolioStatus::Draft | PortfolioStatus::Returned) {
        return Err(ApiError::Conflict(format!(
            "A {} portfolio cannot be changed; only DRAFT and RETURNED ones can.",
            document.status
        )));
    }
    Ok(document)
}

pub(crate) fn check_version(document: &PortfolioDocument, expected_version: i32) -> ApiResult<()> {
    if document.version == expected_version { Ok(()) } else { Err(stale(document.version)) }
}

fn stale(current: i32) -> ApiError {
    ApiError::Conflict(format!(
        "The portfolio was changed by someone else (now version {current}); reload it and apply your change again."
    ))
}

/// Every section within the configured entry cap, and the whole document
/// within [`MAX_DOCUMENT_BYTES`]: PAYLOAD_TOO_LARGE naming what is too big.
fn check_size(ctx: &Context<'_>, document: &PortfolioDocument) -> ApiResult<()> {
    let max_entries = services(ctx).config.limits.max_section_entries;
    if let Some((section, len)) = validate::oversized_section(&document.content, max_entries) {
        return Err(ApiError::FieldTooLarge {
            message: format!("`{section}` would hold {len} entries; a section may hold at most {max_entries}."),
            field: section.to_owned(),
        });
    }
    let bytes = mongodb::bson::to_vec(document).map_err(ApiError::internal)?.len();
    if bytes > MAX_DOCUMENT_BYTES {
        return Err(ApiError::FieldTooLarge {
            message: format!("The portfolio would take {bytes} bytes; at most {MAX_DOCUMENT_BYTES} are kept."),
            field: "changes".to_owned(),
        });
    }
    Ok(())
}

/// Writes `document` as the next version after `expected_version`.
pub(crate) async fn save(
    ctx: &Context<'_>,
    mut document: PortfolioDocument,
    expected_version: i32,
) -> ApiResult<PortfolioObject> {
    document.version = expected_version + 1;
    document.schema_version = SCHEMA_VERSION;
    document.updated_at = Some(DateTime::now());
    let portfolios = services(ctx).portfolios()?;
    let record = change_record(ctx, document.id.to_hex(), Some(document.status.as_str().to_owned()));
    match portfolios.replace_if_version_audited(&document, expected_version, &record).await? {
        Some(saved) => {
            change_stored(ctx);
            Ok(PortfolioObject(saved))
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
    ctx: &Context<'_>,
    portfolio_id: ObjectId,
    already: &HashSet<String>,
    links: &Links,
) -> ApiResult<()> {
    let added: Vec<(&String, &String)> = links
        .iter()
        .flat_map(|(field, ids)| ids.iter().map(move |id| (field, id)))
        .filter(|(_, id)| !already.contains(*id))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let statuses = services(ctx).evidence_store()?.statuses_of(portfolio_id).await?;
    for (field, id) in added {
        match statuses.get(id) {
            Some(EvidenceStatus::Uploaded | EvidenceStatus::Verified) => {}
            Some(status) => {
                return Err(ApiError::bad_input(
                    field.as_str(),
                    format!("evidence `{id}` is {status}; only UPLOADED or VERIFIED evidence can be linked"),
                ));
            }
            None => {
                return Err(ApiError::bad_input(
                    field.as_str(),
                    format!("evidence `{id}` does not belong to this portfolio"),
                ));
            }
        }
    }
    Ok(())
}

#[Object]
impl PortfolioMutation {
    /// Starts a DRAFT portfolio owned by the caller (APPLICANT).
    async fn create_portfolio(&self, ctx: &Context<'_>, input: CreatePortfolioInput) -> ApiResult<PortfolioObject> {
        let viewer = require_role(ctx, &[Role::Applicant])?;
        let applicant = applicant(input.applicant, "input.applicant")?;
        let extra = input.extra.map(|Json(value)| extra(value, "input.extra")).transpose()?.flatten();
        let now = DateTime::now();
        let document = PortfolioDocument {
            id: ObjectId::new(),
            owner_id: viewer.subject.clone(),
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
        set_audit_target(ctx, document.id.to_hex());
        let portfolios = services(ctx).portfolios()?;
        let cap = services(ctx).config.limits.max_portfolios_per_applicant;
        let own = ListFilter { owner_id: Some(viewer.subject.clone()), ..Default::default() };
        if portfolios.count(&own, &Visibility::everything()).await? >= cap {
            return Err(ApiError::Conflict(format!(
                "You already have {cap} portfolios, the most one applicant may hold; continue one of them."
            )));
        }
        let record = change_record(ctx, document.id.to_hex(), Some(document.status.as_str().to_owned()));
        portfolios.insert_audited(&document, &record).await?;
        change_stored(ctx);
        Ok(PortfolioObject(document))
    }

    /// Applies many changes at once, all or nothing. Fails with CONFLICT
    /// when `expectedVersion` is not the current version.
    async fn change_portfolio(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        changes: PortfolioChanges,
    ) -> ApiResult<PortfolioObject> {
        let viewer = viewer(ctx)?;
        let mut document = load_for_change(ctx, viewer, &id, expected_version).await?;
        let today = today();
        let already: HashSet<String> = changes::linked_evidence(&document.content).map(str::to_owned).collect();
        let mut links = Links::new();
        if let Some(input) = changes.applicant {
            document.applicant = Some(applicant(input, "changes.applicant")?);
        }
        if let Some(category) = changes.target_category {
            document.content.target_category = category;
        }
        if let Some(track) = changes.track {
            document.content.track = track;
        }
        if let Some(Json(value)) = changes.extra {
            document.extra = extra(value, "changes.extra")?;
        }
        if let Some(input) = changes.agreement {
            let agreement = input.into_domain();
            validate::agreement(&agreement, today).map_err(at("changes.agreement"))?;
            links.push(("changes.agreement.evidenceIds".to_owned(), agreement.evidence_ids.clone()));
            document.content.agreement = Some(agreement);
        }
        if let Some(input) = changes.membership {
            let membership = input.into_domain();
            validate::membership(&membership, today).map_err(at("changes.membership"))?;
            document.content.membership = Some(membership);
        }
        let mut touched: HashSet<String> = HashSet::new();
        for (index, id) in changes.remove.unwrap_or_default().into_iter().enumerate() {
            let field = format!("changes.remove[{index}]");
            if !touched.insert(id.0.clone()) {
                return Err(ApiError::bad_input(field, format!("entry `{}` is listed more than once", id.0)));
            }
            changes::remove(&mut document.content, &id).map_err(|e| ApiError::bad_input(field, e.to_string()))?;
        }
        let upserts = changes.upsert.unwrap_or_default();
        if upserts.len() > MAX_UPSERTS_PER_CHANGE {
            return Err(ApiError::bad_input(
                "changes.upsert",
                format!("at most {MAX_UPSERTS_PER_CHANGE} entries per change"),
            ));
        }
        for (index, change) in upserts.into_iter().enumerate() {
            let replace = change.id.is_some();
            let entry_id = change.id.map_or_else(|| ObjectId::new().to_hex(), |id| id.0);
            if replace && !touched.insert(entry_id.clone()) {
                return Err(ApiError::bad_input(
                    format!("changes.upsert[{index}].id"),
                    format!("entry `{entry_id}` is changed more than once"),
                ));
            }
            let entry = change.entry.into_entry(entry_id);
            let prefix = format!("changes.upsert[{index}].entry.{}", entry.section());
            validate_entry(&entry, today).map_err(at(&prefix))?;
            links.push((format!("{prefix}.evidenceIds"), entry.evidence_ids().to_vec()));
            changes::upsert(&mut document.content, entry, replace)
                .map_err(|e| ApiError::bad_input(format!("changes.upsert[{index}].id"), e.to_string()))?;
        }
        check_size(ctx, &document)?;
        check_evidence_links(ctx, document.id, &already, &links).await?;
        save(ctx, document, expected_version).await
    }

    /// DRAFT or RETURNED -> SUBMITTED; sets `submittedAt`. A resubmission
    /// starts a new review round: the earlier decision time is cleared.
    async fn submit_portfolio(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> ApiResult<PortfolioObject> {
        let viewer = viewer(ctx)?;
        let mut document = load_for_change(ctx, viewer, &id, expected_version).await?;
        document.status = PortfolioStatus::Submitted;
        document.submitted_at = Some(DateTime::now());
        document.decided_at = None;
        save(ctx, document, expected_version).await
    }
}
