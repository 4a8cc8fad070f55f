//! Evidence: direct upload (presigned PUT, then completion), upload through
//! the API, deletion, review, and who may download what.

pub mod verify;

use std::time::Duration;

use mongodb::bson::{DateTime, oid::ObjectId};

use self::verify::{Declared, RejectReason};
use super::error::{AppError, AppResult};
use super::portfolios::{load_changeable, save};
use super::{Actor, ChangeAudit, policy};
use crate::blob::{BlobError, keys};
use crate::domain::model::{EvidenceKind, EvidenceStatus};
use crate::media::FileType;
use crate::services::Services;
use crate::store::evidence::{EvidenceRecord, Review};
use crate::store::portfolio::Projection;

/// Longest review note.
const MAX_NOTE: usize = 2000;

/// Keeps only the last path component, without control or quoting
/// characters, at most 200 characters. Metadata only: keys are generated.
pub fn sanitize_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':' | '`'))
        .take(200)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() { "file".to_owned() } else { trimmed.to_owned() }
}

/// What a direct upload declares.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    pub portfolio_id: ObjectId,
    pub kind: EvidenceKind,
    pub file_name: String,
    pub content_type: String,
    pub byte_size: i32,
    pub sha256: String,
}

/// A presigned PUT for a new record.
pub struct UploadTicket {
    pub record: EvidenceRecord,
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
}

/// A file the transport has received (spooled to disk).
pub struct IncomingFile {
    pub file_name: String,
    pub content: std::fs::File,
}

fn new_record(
    actor: &Actor,
    portfolio_id: ObjectId,
    kind: EvidenceKind,
    file_name: &str,
    content_type: &str,
    declared: Option<(i64, String)>,
    ttl: Duration,
) -> EvidenceRecord {
    let id = ObjectId::new();
    let now = DateTime::now();
    EvidenceRecord {
        id,
        association: actor.tenant.code().clone(),
        portfolio_id,
        owner_id: actor.subject().to_owned(),
        kind,
        status: EvidenceStatus::PendingUpload,
        file_name: sanitize_file_name(file_name),
        content_type: content_type.to_owned(),
        byte_size: declared.as_ref().map(|(size, _)| *size),
        sha256: declared.map(|(_, sha)| sha.to_ascii_lowercase()),
        object_key: keys::original(actor.tenant.code(), portfolio_id, id),
        preview_key: None,
        thumbnail_key: None,
        created_at: now,
        created_by: actor.subject().to_owned(),
        expires_at: Some(DateTime::from_millis(now.timestamp_millis() + ttl.as_millis() as i64)),
        verifying_since: None,
        uploaded_at: None,
        reject_reason: None,
        reviewed_by: None,
        reviewed_at: None,
        review_note: None,
    }
}

/// The largest file the association accepts (never above the deployment's).
fn max_upload_bytes(services: &Services, actor: &Actor) -> u64 {
    let deployment = services.config.evidence.max_upload_bytes;
    actor.tenant.association.settings.max_upload_bytes.map_or(deployment, |own| own.min(deployment))
}

/// The record, if the caller owns it; NOT_FOUND otherwise (as if absent).
async fn owned_record(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    audit: &ChangeAudit<'_>,
) -> AppResult<EvidenceRecord> {
    audit.target(id.to_hex());
    let record = services.evidence(&actor.tenant)?.get(id).await?;
    record.filter(|r| policy::is_subject_of(&actor.viewer, &r.owner_id)).ok_or_else(|| AppError::not_found("Evidence"))
}

/// Starts a direct upload: a presigned PUT for a server-generated key,
/// bound to the declared type, size and SHA-256.
pub async fn request_upload(
    services: &Services,
    actor: &Actor,
    request: UploadRequest,
    audit: &ChangeAudit<'_>,
) -> AppResult<UploadTicket> {
    let limits = &services.config.evidence;
    let max = max_upload_bytes(services, actor);
    if request.byte_size <= 0 || request.byte_size as u64 > max {
        return Err(AppError::PayloadTooLarge(format!("byteSize must be between 1 and {max} bytes")));
    }
    let sha256 = request.sha256;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::bad_input("sha256", "sha256 must be 64 hexadecimal digits"));
    }
    let content_type = request.content_type.trim().to_ascii_lowercase();
    if !limits.allowed_types.contains(&content_type) {
        return Err(AppError::UnsupportedMediaType(format!(
            "contentType must be one of {}",
            limits.allowed_types.join(", ")
        )));
    }
    load_changeable(services, actor, request.portfolio_id).await?;
    let ttl = Duration::from_secs(limits.upload_url_ttl_seconds);
    let declared = Some((request.byte_size.into(), sha256));
    let record =
        new_record(actor, request.portfolio_id, request.kind, &request.file_name, &content_type, declared, ttl);
    audit.target(record.id.to_hex());
    let presigned = services
        .blob
        .presign_put(
            &record.staging_key_name(),
            &content_type,
            request.byte_size as u64,
            record.sha256.as_deref().unwrap_or(""),
            ttl,
        )
        .await?;
    let change = audit.record(record.id.to_hex(), record.status.as_str());
    services.evidence(&actor.tenant)?.insert_audited(&record, &change).await?;
    audit.stored();
    Ok(UploadTicket {
        record,
        url: presigned.url,
        method: presigned.method,
        headers: presigned.headers.into_iter().collect(),
    })
}

/// Copies what landed in staging to the evidence's own key, checks that
/// copy and marks the evidence UPLOADED, or deletes it and marks it
/// REJECTED. One call at a time verifies (the record is VERIFYING
/// meanwhile); a concurrent call gets CONFLICT, a later one the same
/// answer as the first.
pub async fn complete_upload(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    audit: &ChangeAudit<'_>,
) -> AppResult<EvidenceRecord> {
    let record = owned_record(services, actor, id, audit).await?;
    let store = services.evidence(&actor.tenant)?;
    // Compare-and-set before any read of the bytes: only the winner reads.
    let claimed = match record.status {
        EvidenceStatus::PendingUpload => store.claim(record.id, DateTime::now()).await?,
        _ => None,
    };
    let Some(claimed) = claimed else {
        let current = store.get(record.id).await?.ok_or_else(|| AppError::not_found("Evidence"))?;
        return settled(current);
    };
    let result = verify_staged(services, actor, claimed.clone(), audit).await;
    if result.is_err() {
        // A verdict (REJECTED) has ended the claim already; after any other
        // failure (S3 or MongoDB mid-way) the record goes back to
        // PENDING_UPLOAD so that completing again retries. If even that
        // fails, the sweeper removes the record once it has expired.
        if let Err(error) = store.release(&claimed).await {
            tracing::warn!(error = %error, evidence = %claimed.id, "verification claim left to expire");
        }
    }
    result
}

/// Uploads a file through the API. Same checks as the direct flow.
pub async fn upload(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    kind: EvidenceKind,
    file: IncomingFile,
    audit: &ChangeAudit<'_>,
) -> AppResult<EvidenceRecord> {
    load_changeable(services, actor, portfolio_id).await?;
    let ttl = Duration::from_secs(services.config.evidence.upload_url_ttl_seconds);
    // Claimed by this request from the start: completion cannot touch it.
    // The record goes in first: a crash after the bytes land leaves a
    // VERIFYING record with an expiry, which the sweeper removes with its
    // objects.
    let mut record = new_record(actor, portfolio_id, kind, &file.file_name, "application/octet-stream", None, ttl);
    record.status = EvidenceStatus::Verifying;
    record.verifying_since = Some(record.created_at);
    audit.target(record.id.to_hex());
    services.evidence(&actor.tenant)?.insert(&record).await?;
    // A second handle on the spooled file, so an image's previews are
    // made from it rather than downloaded back from S3.
    let spool = file.content.try_clone().ok();
    let content = tokio::fs::File::from_std(file.content);
    let result = async {
        let stored = services
            .blob
            .upload_stream(&record.object_key, content, "application/octet-stream", max_upload_bytes(services, actor))
            .await?;
        let image = match (crate::media::sniff(&stored.head), spool) {
            (Some(FileType::Jpeg | FileType::Png | FileType::Webp), Some(spool)) => read_spool(spool).await,
            _ => None,
        };
        let declared = Declared { size: None, sha256: None };
        verify::accept(services, actor, record.clone(), stored, declared, image, audit).await
    }
    .await;
    if result.is_err() {
        discard(services, actor, &record).await?;
    }
    result
}

/// Removes evidence of a portfolio that is still being edited: the links
/// from entries, the record and the stored files.
pub async fn delete(services: &Services, actor: &Actor, id: ObjectId, audit: &ChangeAudit<'_>) -> AppResult<bool> {
    let record = owned_record(services, actor, id, audit).await?;
    if record.status == EvidenceStatus::Verifying {
        return Err(being_verified());
    }
    let hex = record.id.to_hex();
    // Unlink first, version-guarded; retry if the portfolio changed
    // meanwhile. The unlinking is part of this change: its own audit
    // record is the portfolio's.
    for attempt in 0.. {
        let mut portfolio = load_changeable(services, actor, record.portfolio_id).await?;
        if !crate::domain::changes::unlink_evidence(&mut portfolio.content, &hex) {
            break;
        }
        let version = portfolio.version;
        match save(services, actor, portfolio, version, audit).await {
            Ok(_) => break,
            Err(AppError::Conflict(_)) if attempt < 3 => continue,
            Err(error) => return Err(error),
        }
    }
    // Conditional: a completion may have claimed it since it was read.
    let store = services.evidence(&actor.tenant)?;
    let change = audit.record(hex, "DELETED");
    if store.delete_unless_verifying(record.id, &change).await? {
        audit.stored();
    } else if store.get(record.id).await?.is_some() {
        return Err(being_verified());
    }
    // Objects after the record: if S3 fails here the sweeper removes
    // objects without a record.
    for key in record.keys() {
        if let Err(error) = services.blob.delete(&key).await {
            tracing::warn!(error = %error, key, "evidence object left for the sweeper");
        }
    }
    Ok(true)
}

/// A reviewer's decision: VERIFIED (counts for basis VERIFIED) or REJECTED.
pub async fn review(
    services: &Services,
    actor: &Actor,
    id: ObjectId,
    verified: bool,
    note: Option<String>,
    audit: &ChangeAudit<'_>,
) -> AppResult<EvidenceRecord> {
    policy::require_role(&actor.viewer, policy::EVIDENCE_REVIEWERS)?;
    audit.target(id.to_hex());
    let record = find(services, actor, id).await?.ok_or_else(|| AppError::not_found("Evidence"))?;
    policy::may_judge(&actor.viewer, &record.owner_id, policy::EVIDENCE_REVIEWERS)?;
    if record.uploaded_at.is_none() {
        return Err(AppError::Conflict("Only evidence that finished uploading can be reviewed.".into()));
    }
    if let Some(note) = &note {
        crate::domain::validate::optional_text("note", Some(note), MAX_NOTE)
            .map_err(|e| AppError::bad_input("note", e.message))?;
    }
    let review = Review { verified, reviewer: actor.subject().to_owned(), at: DateTime::now(), note };
    let status = if verified { EvidenceStatus::Verified } else { EvidenceStatus::Rejected };
    let mut change = audit.record(id.to_hex(), status.as_str());
    change.event = Some(crate::store::audit::PortfolioEvent {
        portfolio_id: record.portfolio_id,
        kind: crate::domain::model::PortfolioEventKind::EvidenceReviewed,
        status: Some(status.as_str().to_owned()),
        subject_id: Some(id),
    });
    if !verified {
        let projection = crate::store::portfolio::Projection::only(["applicant"]);
        if let Some(portfolio) = super::portfolios::find(services, actor, record.portfolio_id, &projection).await? {
            change.mail = super::mail::evidence_rejected(&actor.tenant, &portfolio, &record, review.note.as_deref())?;
        }
    }
    let mails = !change.mail.is_empty();
    let updated = services
        .evidence(&actor.tenant)?
        .record_review(id, &review, &change)
        .await?
        .ok_or_else(|| AppError::Conflict("The evidence changed meanwhile; reload it.".into()))?;
    audit.stored();
    if mails {
        services.outbox_wake.notify_one();
    }
    Ok(updated)
}

/// A record by id, if the caller may see the portfolio it belongs to.
pub async fn find(services: &Services, actor: &Actor, id: ObjectId) -> AppResult<Option<EvidenceRecord>> {
    let Some(record) = services.evidence(&actor.tenant)?.get(id).await? else {
        return Ok(None);
    };
    let access = super::portfolios::access(services, actor).await?;
    let visible =
        services.portfolios(&actor.tenant)?.find(record.portfolio_id, &access, &Projection::only([])).await?.is_some();
    Ok(visible.then_some(record))
}

/// One page of a portfolio's evidence (the caller reached the portfolio
/// through the policy already), oldest first, after `after`.
pub async fn page_for_portfolio(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    after: Option<ObjectId>,
    limit: i64,
) -> AppResult<Vec<EvidenceRecord>> {
    Ok(services.evidence(&actor.tenant)?.page_for_portfolio(portfolio_id, after, limit).await?)
}

/// A short-lived download URL for one of `record`'s files, if the caller
/// may download it and bytes were stored (a reviewer's rejection keeps
/// them).
pub async fn download_url(
    services: &Services,
    actor: &Actor,
    record: &EvidenceRecord,
    key: Option<&str>,
    seconds: u64,
) -> AppResult<Option<String>> {
    let Some(key) = key else { return Ok(None) };
    if record.uploaded_at.is_none() || !policy::may_download(&actor.viewer, &record.owner_id) {
        return Ok(None);
    }
    let max = services.config.evidence.max_download_url_ttl_seconds;
    let url = services.blob.presign_get(key, &record.file_name, Duration::from_secs(seconds.clamp(1, max))).await?;
    Ok(Some(url))
}

fn being_verified() -> AppError {
    AppError::Conflict("The upload is being verified by another request; try again shortly.".into())
}

/// What a completion that did not get the claim answers: the settled
/// outcome, or CONFLICT while another call is verifying.
fn settled(record: EvidenceRecord) -> AppResult<EvidenceRecord> {
    match record.status {
        EvidenceStatus::Uploaded | EvidenceStatus::Verified => Ok(record),
        EvidenceStatus::Rejected => match record.reject_reason.as_deref().and_then(RejectReason::from_code) {
            Some(reason) => Err(reason.error()),
            // Rejected by a reviewer, not by verification.
            None => Ok(record),
        },
        EvidenceStatus::Verifying => Err(being_verified()),
        EvidenceStatus::PendingUpload => match record.expires_at {
            Some(at) if at <= DateTime::now() => Err(AppError::Conflict(format!(
                "The upload window closed at {}; request a new upload.",
                at.try_to_rfc3339_string().unwrap_or_default()
            ))),
            // Claimed and released again between our two reads.
            _ => Err(AppError::Conflict("The upload changed meanwhile; try again.".into())),
        },
    }
}

/// Removes an API upload that failed before a verdict: the record while
/// this request's claim holds (a REJECTED one stays, with its reason), then
/// its objects, best effort: the sweeper removes objects without a record.
async fn discard(services: &Services, actor: &Actor, record: &EvidenceRecord) -> AppResult<()> {
    if services.evidence(&actor.tenant)?.delete_claimed(record).await? {
        for key in record.keys() {
            if let Err(error) = services.blob.delete(&key).await {
                // S3 is likely down: do not wait out a timeout per key.
                tracing::warn!(error = %error, key, "evidence objects left for the sweeper");
                break;
            }
        }
    }
    Ok(())
}

/// Verifies a direct upload. The bytes are copied out of staging first and
/// the copy is what gets checked: the upload URL may still be valid, and
/// bytes PUT after the check must not be what the final key ends up with.
async fn verify_staged(
    services: &Services,
    actor: &Actor,
    record: EvidenceRecord,
    audit: &ChangeAudit<'_>,
) -> AppResult<EvidenceRecord> {
    let staging = record.staging_key_name();
    match services.blob.copy(&staging, &record.object_key).await {
        Ok(()) => {}
        Err(BlobError::NotFound) => {
            return Err(AppError::bad_input("evidenceId", "Nothing has been uploaded for this evidence yet."));
        }
        Err(error) => return Err(error.into()),
    }
    let stored = services.blob.fingerprint(&record.object_key).await?;
    let declared = Declared { size: record.byte_size.map(|s| s as u64), sha256: record.sha256.clone() };
    let accepted = verify::accept(services, actor, record, stored, declared, None, audit).await?;
    // Best effort: a leftover (or a later PUT with the same URL) is removed
    // by the sweeper once its record is settled.
    if let Err(error) = services.blob.delete(&staging).await {
        tracing::warn!(error = %error, key = staging, "staging object left for the sweeper");
    }
    Ok(accepted)
}

/// The whole spooled upload (size-checked already), or None if unreadable
/// (then the previews are made from the stored object).
async fn read_spool(spool: std::fs::File) -> Option<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::from_std(spool);
    file.seek(std::io::SeekFrom::Start(0)).await.ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).await.ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::sanitize_file_name;

    #[test]
    fn file_names_lose_paths_and_dangerous_characters() {
        assert_eq!(sanitize_file_name("../../x.pdf"), "x.pdf");
        assert_eq!(sanitize_file_name("C:\\\\Users\\\\me\\\\cert.pdf"), "cert.pdf");
        assert_eq!(sanitize_file_name("a\"b<c>\u{0}.pdf"), "abc.pdf");
        assert_eq!(sanitize_file_name(".."), "file");
        assert_eq!(sanitize_file_name("  "), "file");
        assert_eq!(sanitize_file_name(&"x".repeat(500)).len(), 200);
        assert_eq!(sanitize_file_name("Zeugnis für Jürgen.pdf"), "Zeugnis für Jürgen.pdf");
    }
}
