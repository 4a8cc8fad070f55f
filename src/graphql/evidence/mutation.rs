//! Evidence mutations: direct upload (presigned PUT, then completion), upload
//! through the API (GraphQL multipart), deletion and review.

use std::time::Duration;

use async_graphql::{Context, ID, Object, Upload};
use mongodb::bson::{DateTime, doc, oid::ObjectId};

use super::object::{EvidenceObject, Header, UploadTicket};
use super::verify::{self, Declared, RejectReason};
use crate::auth::policy::may_judge;
use crate::auth::{Role, Viewer};
use crate::blob::BlobError;
use crate::domain::model::{EvidenceKind, EvidenceStatus};
use crate::graphql::context::{
    ChangeAudit, change_audit, change_record, change_stored, require_role, services, set_audit_target, viewer,
};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::portfolio::mutation::{load_editable, save};
use crate::graphql::portfolio::query::parse_id;
use crate::media::FileType;
use crate::services::Services;
use crate::store::evidence::{EvidenceRecord, original_key};
use crate::store::portfolio::{Projection, Visibility};

#[derive(Default)]
pub struct EvidenceMutation;

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

fn new_record(
    viewer: &Viewer,
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
        portfolio_id,
        owner_id: viewer.subject.clone(),
        kind,
        status: EvidenceStatus::PendingUpload,
        file_name: sanitize_file_name(file_name),
        content_type: content_type.to_owned(),
        byte_size: declared.as_ref().map(|(size, _)| *size),
        sha256: declared.map(|(_, sha)| sha.to_ascii_lowercase()),
        object_key: original_key(portfolio_id, id),
        preview_key: None,
        thumbnail_key: None,
        created_at: now,
        created_by: viewer.subject.clone(),
        expires_at: Some(DateTime::from_millis(now.timestamp_millis() + ttl.as_millis() as i64)),
        verifying_since: None,
        uploaded_at: None,
        reject_reason: None,
        reviewed_by: None,
        reviewed_at: None,
        review_note: None,
    }
}

/// Who verifies or rejects evidence (admins manage, they do not review).
const EVIDENCE_REVIEWERS: &[Role] = &[Role::Reviewer, Role::Coordinator];

/// The record, if the caller owns it; NOT_FOUND otherwise (as if absent).
async fn owned_record(ctx: &Context<'_>, viewer: &Viewer, id: &ID) -> ApiResult<EvidenceRecord> {
    let id = parse_id("evidenceId", id)?;
    set_audit_target(ctx, id.to_hex());
    let record = services(ctx).evidence_store()?.get(id).await?;
    record.filter(|r| viewer.owns(&r.owner_id)).ok_or_else(|| ApiError::NotFound("Evidence".into()))
}

// The contract fixes requestEvidenceUpload's six arguments (plus self and ctx).
#[allow(clippy::too_many_arguments)]
#[Object]
impl EvidenceMutation {
    /// Starts a direct upload: a presigned PUT for a server-generated key, bound
    /// to the declared type, size and SHA-256. Call `completeEvidenceUpload`
    /// after the PUT.
    async fn request_evidence_upload(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        kind: EvidenceKind,
        file_name: String,
        content_type: String,
        byte_size: i32,
        sha256: String,
    ) -> ApiResult<UploadTicket> {
        let viewer = viewer(ctx)?;
        let services = services(ctx);
        let portfolio_id = parse_id("portfolioId", &portfolio_id)?;
        let limits = &services.config.evidence;
        if byte_size <= 0 || byte_size as u64 > limits.max_upload_bytes {
            return Err(ApiError::PayloadTooLarge(format!(
                "byteSize must be between 1 and {} bytes",
                limits.max_upload_bytes
            )));
        }
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::bad_input("sha256", "sha256 must be 64 hexadecimal digits"));
        }
        let content_type = content_type.trim().to_ascii_lowercase();
        if !limits.allowed_types.contains(&content_type) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "contentType must be one of {}",
                limits.allowed_types.join(", ")
            )));
        }
        load_editable(ctx, viewer, portfolio_id).await?;
        let ttl = Duration::from_secs(limits.upload_url_ttl_seconds);
        let declared = Some((byte_size.into(), sha256));
        let record = new_record(viewer, portfolio_id, kind, &file_name, &content_type, declared, ttl);
        set_audit_target(ctx, record.id.to_hex());
        let presigned = services
            .blob
            .presign_put(
                &record.staging_key_name(),
                &content_type,
                byte_size as u64,
                record.sha256.as_deref().unwrap_or(""),
                ttl,
            )
            .await?;
        let audit = change_record(ctx, record.id.to_hex(), Some(record.status.as_str().to_owned()));
        services.evidence_store()?.insert_audited(&record, &audit).await?;
        change_stored(ctx);
        Ok(UploadTicket {
            expires_at: record.expires_at.unwrap_or(record.created_at).into(),
            evidence: EvidenceObject(record),
            url: presigned.url,
            method: presigned.method,
            headers: presigned.headers.into_iter().map(|(name, value)| Header { name, value }).collect(),
        })
    }

    /// Copies what landed in staging to the evidence's own key, checks that
    /// copy (size, SHA-256, type; previews for images) and marks the evidence
    /// UPLOADED, or deletes it and marks it REJECTED. One call at a time
    /// verifies (the record is VERIFYING meanwhile); a concurrent call gets
    /// CONFLICT, a later one the same answer as the first.
    async fn complete_evidence_upload(&self, ctx: &Context<'_>, evidence_id: ID) -> ApiResult<EvidenceObject> {
        let viewer = viewer(ctx)?;
        let services = services(ctx);
        let record = owned_record(ctx, viewer, &evidence_id).await?;
        let store = services.evidence_store()?;
        // Compare-and-set before any read of the bytes: only the winner reads.
        let claimed = match record.status {
            EvidenceStatus::PendingUpload => store.claim(record.id, DateTime::now()).await?,
            _ => None,
        };
        let Some(claimed) = claimed else {
            let current = store.get(record.id).await?.ok_or_else(|| ApiError::NotFound("Evidence".into()))?;
            return settled(current).map(EvidenceObject);
        };
        let result = verify_staged(services, claimed.clone(), &change_audit(ctx, claimed.id.to_hex())).await;
        if result.is_err() {
            // A verdict (REJECTED) has ended the claim already; after any other
            // failure (S3 or MongoDB mid-way) the record goes back to
            // PENDING_UPLOAD so that completing again retries. If even that
            // fails, the sweeper removes the record once it has expired.
            if let Err(error) = store.release(&claimed).await {
                tracing::warn!(error = %error, evidence = %claimed.id, "verification claim left to expire");
            }
        }
        Ok(EvidenceObject(result?))
    }

    /// Uploads a file through the API (GraphQL multipart request; send the
    /// `apollo-require-preflight: true` header). Same checks as the direct flow.
    async fn upload_evidence(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        kind: EvidenceKind,
        file: Upload,
    ) -> ApiResult<EvidenceObject> {
        let viewer = viewer(ctx)?;
        let services = services(ctx);
        let portfolio_id = parse_id("portfolioId", &portfolio_id)?;
        load_editable(ctx, viewer, portfolio_id).await?;
        let upload = file.value(ctx).map_err(|e| ApiError::bad_input("file", format!("unreadable upload: {e}")))?;
        let limits = &services.config.evidence;
        let ttl = Duration::from_secs(limits.upload_url_ttl_seconds);
        // Claimed by this request from the start: completeEvidenceUpload
        // cannot touch it. The record goes in first: a crash after the bytes
        // land leaves a VERIFYING record with an expiry, which the sweeper
        // removes with its objects.
        let mut record =
            new_record(viewer, portfolio_id, kind, &upload.filename, "application/octet-stream", None, ttl);
        record.status = EvidenceStatus::Verifying;
        record.verifying_since = Some(record.created_at);
        set_audit_target(ctx, record.id.to_hex());
        services.evidence_store()?.insert(&record).await?;
        // A second handle on the spooled file, so an image's previews are
        // made from it rather than downloaded back from S3.
        let spool = upload.content.try_clone().ok();
        let file = tokio::fs::File::from_std(upload.content);
        let result = async {
            let stored = services
                .blob
                .upload_stream(&record.object_key, file, "application/octet-stream", limits.max_upload_bytes)
                .await?;
            let image = match (crate::media::sniff(&stored.head), spool) {
                (Some(FileType::Jpeg | FileType::Png | FileType::Webp), Some(spool)) => read_spool(spool).await,
                _ => None,
            };
            let audit = change_audit(ctx, record.id.to_hex());
            verify::accept(services, record.clone(), stored, Declared { size: None, sha256: None }, image, &audit).await
        }
        .await;
        if result.is_err() {
            discard(services, &record).await?;
        }
        Ok(EvidenceObject(result?))
    }

    /// Removes evidence of a portfolio that is still being edited: the
    /// links from entries, the record and the stored files.
    async fn delete_evidence(&self, ctx: &Context<'_>, evidence_id: ID) -> ApiResult<bool> {
        let viewer = viewer(ctx)?;
        let services = services(ctx);
        let record = owned_record(ctx, viewer, &evidence_id).await?;
        if record.status == EvidenceStatus::Verifying {
            return Err(being_verified());
        }
        let id = record.id.to_hex();
        // Unlink first, version-guarded; retry if the portfolio changed meanwhile.
        for attempt in 0.. {
            let mut portfolio = load_editable(ctx, viewer, record.portfolio_id).await?;
            if !crate::domain::changes::unlink_evidence(&mut portfolio.content, &id) {
                break;
            }
            let version = portfolio.version;
            match save(ctx, portfolio, version).await {
                Ok(_) => break,
                Err(ApiError::Conflict(_)) if attempt < 3 => continue,
                Err(error) => return Err(error),
            }
        }
        // Conditional: a completion may have claimed it since it was read.
        let store = services.evidence_store()?;
        let audit = change_record(ctx, record.id.to_hex(), Some("DELETED".to_owned()));
        if store.delete_unless_verifying(record.id, &audit).await? {
            change_stored(ctx);
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
    async fn review_evidence(
        &self,
        ctx: &Context<'_>,
        evidence_id: ID,
        verified: bool,
        note: Option<String>,
    ) -> ApiResult<EvidenceObject> {
        let viewer = require_role(ctx, EVIDENCE_REVIEWERS)?;
        let services = services(ctx);
        let id = parse_id("evidenceId", &evidence_id)?;
        set_audit_target(ctx, id.to_hex());
        let record = services.evidence_store()?.get(id).await?.ok_or_else(|| ApiError::NotFound("Evidence".into()))?;
        let visible = services
            .portfolios()?
            .find(record.portfolio_id, &Visibility::for_viewer(viewer), &Projection::only([]))
            .await?
            .is_some();
        if !visible {
            return Err(ApiError::NotFound("Evidence".into()));
        }
        may_judge(viewer, &record.owner_id, EVIDENCE_REVIEWERS)?;
        if record.uploaded_at.is_none() {
            return Err(ApiError::Conflict("Only evidence that finished uploading can be reviewed.".into()));
        }
        if let Some(note) = &note {
            crate::domain::validate::optional_text("note", Some(note), MAX_NOTE)
                .map_err(|e| ApiError::bad_input("note", e.message))?;
        }
        let status = if verified { EvidenceStatus::Verified } else { EvidenceStatus::Rejected };
        let set = doc! {
            "status": status.as_str(),
            "reviewedBy": &viewer.subject,
            "reviewedAt": DateTime::now(),
            "reviewNote": note,
        };
        let audit = change_record(ctx, id.to_hex(), Some(status.as_str().to_owned()));
        let reviewable = [EvidenceStatus::Uploaded, EvidenceStatus::Verified, EvidenceStatus::Rejected];
        let updated = services
            .evidence_store()?
            .transition(id, &reviewable, set, &[], &audit)
            .await?
            .ok_or_else(|| ApiError::Conflict("The evidence changed meanwhile; reload it.".into()))?;
        change_stored(ctx);
        Ok(EvidenceObject(updated))
    }
}

fn being_verified() -> ApiError {
    ApiError::Conflict("The upload is being verified by another request; try again shortly.".into())
}

/// What a completion that did not get the claim answers: the settled
/// outcome, or CONFLICT while another call is verifying.
fn settled(record: EvidenceRecord) -> ApiResult<EvidenceRecord> {
    match record.status {
        EvidenceStatus::Uploaded | EvidenceStatus::Verified => Ok(record),
        EvidenceStatus::Rejected => match record.reject_reason.as_deref().and_then(RejectReason::from_code) {
            Some(reason) => Err(reason.error()),
            // Rejected by a reviewer, not by verification.
            None => Ok(record),
        },
        EvidenceStatus::Verifying => Err(being_verified()),
        EvidenceStatus::PendingUpload => match record.expires_at {
            Some(at) if at <= DateTime::now() => Err(ApiError::Conflict(format!(
                "The upload window closed at {}; request a new upload.",
                at.try_to_rfc3339_string().unwrap_or_default()
            ))),
            // Claimed and released again between our two reads.
            _ => Err(ApiError::Conflict("The upload changed meanwhile; try again.".into())),
        },
    }
}

/// Removes an API upload that failed before a verdict: the record while
/// this request's claim holds (a REJECTED one stays, with its reason), then
/// its objects, best effort: the sweeper removes objects without a record.
async fn discard(services: &Services, record: &EvidenceRecord) -> ApiResult<()> {
    if services.evidence_store()?.delete_claimed(record).await? {
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
    record: EvidenceRecord,
    audit: &ChangeAudit<'_>,
) -> ApiResult<EvidenceRecord> {
    let staging = record.staging_key_name();
    match services.blob.copy(&staging, &record.object_key).await {
        Ok(()) => {}
        Err(BlobError::NotFound) => {
            return Err(ApiError::bad_input("evidenceId", "Nothing has been uploaded for this evidence yet."));
        }
        Err(error) => return Err(error.into()),
    }
    let stored = services.blob.fingerprint(&record.object_key).await?;
    let declared = Declared { size: record.byte_size.map(|s| s as u64), sha256: record.sha256.clone() };
    let accepted = verify::accept(services, record, stored, declared, None, audit).await?;
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
