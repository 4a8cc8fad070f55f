//! The `Evidence` type, with short-lived download URLs for those allowed.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use crate::app::error::AppResult;
use crate::app::records::EvidenceRecord;
use crate::app::{Actor, evidence};
use crate::domain::model::{EvidenceKind, EvidenceStatus};
use crate::graphql::context::services;
use crate::graphql::scalars::DateTime;

/// Evidence as one caller sees it (their right to download decides the URLs).
pub struct EvidenceObject(pub EvidenceRecord, Arc<Actor>);

/// Download URLs default to five minutes.
const DEFAULT_URL_SECONDS: i32 = 300;

impl EvidenceObject {
    pub fn new(record: EvidenceRecord, actor: Arc<Actor>) -> Self {
        EvidenceObject(record, actor)
    }

    async fn presign(&self, ctx: &Context<'_>, key: Option<&str>, seconds: Option<i32>) -> AppResult<Option<String>> {
        let seconds = seconds.unwrap_or(DEFAULT_URL_SECONDS).max(1) as u64;
        evidence::download_url(services(ctx), &self.1, &self.0, key, seconds).await
    }
}

#[Object(name = "Evidence")]
impl EvidenceObject {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_hex())
    }
    async fn portfolio_id(&self) -> ID {
        ID(self.0.portfolio_id.to_hex())
    }
    async fn kind(&self) -> EvidenceKind {
        self.0.kind
    }
    async fn status(&self) -> EvidenceStatus {
        self.0.status
    }
    /// The uploaded file's name, sanitised (never used as a storage key).
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// Sniffed from the bytes once uploaded; the declared type before.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn byte_size(&self) -> Option<i32> {
        self.0.byte_size.and_then(|size| i32::try_from(size).ok())
    }
    async fn sha256(&self) -> Option<&str> {
        self.0.sha256.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn uploaded_at(&self) -> Option<DateTime> {
        self.0.uploaded_at.map(DateTime::from)
    }
    /// Why an upload was refused: SIZE_MISMATCH, HASH_MISMATCH, TYPE_NOT_ALLOWED,
    /// IMAGE_TOO_LARGE, IMAGE_INVALID, EXPIRED.
    async fn reject_reason(&self) -> Option<&str> {
        self.0.reject_reason.as_deref()
    }
    async fn reviewed_at(&self) -> Option<DateTime> {
        self.0.reviewed_at.map(DateTime::from)
    }
    async fn review_note(&self) -> Option<&str> {
        self.0.review_note.as_deref()
    }
    /// Presigned, short-lived (default 300 s); downloads as an attachment.
    /// Null if not allowed or nothing was stored.
    async fn download_url(&self, ctx: &Context<'_>, expires_in_seconds: Option<i32>) -> AppResult<Option<String>> {
        self.presign(ctx, Some(&self.0.object_key), expires_in_seconds).await
    }
    /// A 256 px JPEG without metadata (images only).
    async fn thumbnail_url(&self, ctx: &Context<'_>, expires_in_seconds: Option<i32>) -> AppResult<Option<String>> {
        self.presign(ctx, self.0.thumbnail_key.as_deref(), expires_in_seconds).await
    }
    /// A 1600 px JPEG without metadata (images only).
    async fn preview_url(&self, ctx: &Context<'_>, expires_in_seconds: Option<i32>) -> AppResult<Option<String>> {
        self.presign(ctx, self.0.preview_key.as_deref(), expires_in_seconds).await
    }
}

#[derive(async_graphql::SimpleObject)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(async_graphql::SimpleObject)]
pub struct UploadTicket {
    pub evidence: EvidenceObject,
    /// Presigned PUT.
    pub url: String,
    /// "PUT".
    pub method: String,
    /// Headers the client must send with the PUT, exactly.
    pub headers: Vec<Header>,
    pub expires_at: DateTime,
}
