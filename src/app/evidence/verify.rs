//! What makes an upload count, for both flows: the stored bytes have the
//! declared size and SHA-256, their first bytes are an allowed type, and an
//! image decodes within limits (its previews are then stored without
//! metadata). Anything else deletes the objects and marks the record
//! REJECTED with a reason code. The record is VERIFYING throughout, claimed
//! by the caller; only the claim's holder settles it.

use mongodb::bson::DateTime;

use crate::app::error::{AppError, AppResult};
use crate::app::{Actor, ChangeAudit};
use crate::blob::objects::Stored;
use crate::domain::model::EvidenceStatus;
use crate::media::{self, FileType, MediaError};
use crate::services::Services;
use crate::store::evidence::{EvidenceRecord, Verified};

/// Why an upload was refused, stored on the record and sent to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    SizeMismatch,
    HashMismatch,
    TypeNotAllowed,
    ImageTooLarge,
    ImageInvalid,
}

impl RejectReason {
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::SizeMismatch => "SIZE_MISMATCH",
            RejectReason::HashMismatch => "HASH_MISMATCH",
            RejectReason::TypeNotAllowed => "TYPE_NOT_ALLOWED",
            RejectReason::ImageTooLarge => "IMAGE_TOO_LARGE",
            RejectReason::ImageInvalid => "IMAGE_INVALID",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::SizeMismatch, Self::HashMismatch, Self::TypeNotAllowed, Self::ImageTooLarge, Self::ImageInvalid]
            .into_iter()
            .find(|r| r.code() == code)
    }

    /// The error the client receives for this reason.
    pub fn error(self) -> AppError {
        match self {
            RejectReason::SizeMismatch => {
                AppError::bad_input("byteSize", "SIZE_MISMATCH: the stored file does not have the declared size")
            }
            RejectReason::HashMismatch => {
                AppError::bad_input("sha256", "HASH_MISMATCH: the stored file does not have the declared SHA-256")
            }
            RejectReason::TypeNotAllowed => AppError::UnsupportedMediaType(
                "TYPE_NOT_ALLOWED: the file is not an accepted type (PDF, JPEG, PNG, WebP, HEIC)".into(),
            ),
            RejectReason::ImageTooLarge => {
                AppError::PayloadTooLarge("IMAGE_TOO_LARGE: the image's dimensions exceed the limit".into())
            }
            RejectReason::ImageInvalid => {
                AppError::UnsupportedMediaType("IMAGE_INVALID: the image cannot be decoded".into())
            }
        }
    }
}

/// What the client declared (direct uploads) to compare with what landed.
pub struct Declared {
    pub size: Option<u64>,
    pub sha256: Option<String>,
}

/// Checks `stored` (the bytes at `record.object_key`) and moves the claimed
/// record from VERIFYING to UPLOADED, or to REJECTED. `bytes` are the file's
/// contents when the caller still has them (API uploads of images).
pub async fn accept(
    services: &Services,
    actor: &Actor,
    record: EvidenceRecord,
    stored: Stored,
    declared: Declared,
    bytes: Option<Vec<u8>>,
    audit: &ChangeAudit<'_>,
) -> AppResult<EvidenceRecord> {
    if declared.size.is_some_and(|size| size != stored.size) {
        return reject(services, actor, &record, RejectReason::SizeMismatch, audit).await;
    }
    if declared.sha256.as_ref().is_some_and(|sha| !sha.eq_ignore_ascii_case(&stored.sha256)) {
        return reject(services, actor, &record, RejectReason::HashMismatch, audit).await;
    }
    let Some(file_type) = media::sniff(&stored.head) else {
        return reject(services, actor, &record, RejectReason::TypeNotAllowed, audit).await;
    };
    if !services.config.evidence.allowed_types.iter().any(|t| t == file_type.mime()) {
        return reject(services, actor, &record, RejectReason::TypeNotAllowed, audit).await;
    }
    let (preview_key, thumbnail_key) = match previews(services, &record, file_type, bytes).await {
        Ok(keys) => keys,
        Err(Rejected(reason)) => return reject(services, actor, &record, reason, audit).await,
        Err(Failed(error)) => return Err(error),
    };
    let verified = Verified {
        content_type: file_type.mime().to_owned(),
        byte_size: stored.size as i64,
        sha256: stored.sha256,
        previews: preview_key.zip(thumbnail_key),
    };
    let record_of_change = audit.record(record.id.to_hex(), EvidenceStatus::Uploaded.as_str());
    let uploaded = services
        .evidence(&actor.tenant)?
        .mark_uploaded(&record, &verified, DateTime::now(), &record_of_change)
        .await?
        // The claim was lost: only the sweeper removes a VERIFYING record, once it is long stale.
        .ok_or_else(|| AppError::Conflict("The evidence changed while it was being verified; reload it.".into()))?;
    audit.stored();
    Ok(uploaded)
}

enum PreviewFailure {
    Rejected(RejectReason),
    Failed(AppError),
}
use PreviewFailure::{Failed, Rejected};

/// Makes and stores the preview and thumbnail of an image; other types have none.
async fn previews(
    services: &Services,
    record: &EvidenceRecord,
    file_type: FileType,
    bytes: Option<Vec<u8>>,
) -> Result<(Option<String>, Option<String>), PreviewFailure> {
    if !matches!(file_type, FileType::Jpeg | FileType::Png | FileType::Webp) {
        return Ok((None, None));
    }
    let bytes = match bytes {
        Some(bytes) => bytes,
        None => services.blob.read_all(&record.object_key).await.map_err(|e| Failed(e.into()))?,
    };
    // Decoding is CPU-bound and may meet hostile input: a blocking thread,
    // a bounded number at a time, and a panic is contained to this upload.
    let waited = std::time::Instant::now();
    let permit = services.image_permits.clone().acquire_owned().await.map_err(|e| Failed(AppError::internal(e)))?;
    metrics::histogram!(crate::telemetry::metrics::IMAGE_POOL_WAIT).record(waited.elapsed().as_secs_f64());
    let limits = media::ImageLimits::default();
    let made = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        media::derive_previews(&bytes, file_type, &limits)
    })
    .await;
    let previews = match made {
        Ok(Ok(previews)) => previews,
        Ok(Err(MediaError::TooLarge { .. } | MediaError::LimitExceeded)) => {
            return Err(Rejected(RejectReason::ImageTooLarge));
        }
        Ok(Err(error)) => {
            tracing::info!(error = %error, evidence = %record.id, "image refused");
            return Err(Rejected(RejectReason::ImageInvalid));
        }
        Err(join) => {
            tracing::warn!(error = %join, evidence = %record.id, "image decoder panicked");
            return Err(Rejected(RejectReason::ImageInvalid));
        }
    };
    let preview_key = record.preview_key_name();
    let thumbnail_key = record.thumbnail_key_name();
    services.blob.put_bytes(&preview_key, previews.preview, "image/jpeg").await.map_err(|e| Failed(e.into()))?;
    services.blob.put_bytes(&thumbnail_key, previews.thumbnail, "image/jpeg").await.map_err(|e| Failed(e.into()))?;
    Ok((Some(preview_key), Some(thumbnail_key)))
}

/// Deletes whatever was stored and marks the record REJECTED with `reason`;
/// returns the matching error.
pub async fn reject(
    services: &Services,
    actor: &Actor,
    record: &EvidenceRecord,
    reason: RejectReason,
    audit: &ChangeAudit<'_>,
) -> AppResult<EvidenceRecord> {
    for key in record.keys() {
        services.blob.delete(&key).await?;
    }
    let error = reason.error();
    let outcome = format!("{} {}", EvidenceStatus::Rejected.as_str(), reason.code());
    let record_of_change = audit.record_with_result(record.id.to_hex(), outcome, error.code());
    if services.evidence(&actor.tenant)?.mark_rejected(record, reason.code(), &record_of_change).await? {
        audit.stored();
    }
    Err(error)
}
