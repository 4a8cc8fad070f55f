//! Evidence mutations: translate to the use cases in [`crate::app::evidence`].

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Upload};

use super::object::{EvidenceObject, Header, UploadTicket};
use crate::app::error::{AppError, AppResult};
use crate::app::evidence::{self, IncomingFile, UploadRequest};
use crate::app::portfolios::parse_id;
use crate::domain::model::EvidenceKind;
use crate::graphql::context::{actor, change_audit, services};

#[derive(Default)]
pub struct EvidenceMutation;

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
    ) -> AppResult<UploadTicket> {
        let actor = Arc::new(actor(ctx).await?);
        let portfolio_id = parse_id("portfolioId", &portfolio_id)?;
        let request = UploadRequest { portfolio_id, kind, file_name, content_type, byte_size, sha256 };
        let ticket = evidence::request_upload(services(ctx), &actor, request, &change_audit(ctx)).await?;
        Ok(UploadTicket {
            expires_at: ticket.record.expires_at.unwrap_or(ticket.record.created_at).into(),
            evidence: EvidenceObject::new(ticket.record, actor),
            url: ticket.url,
            method: ticket.method,
            headers: ticket.headers.into_iter().map(|(name, value)| Header { name, value }).collect(),
        })
    }

    /// Copies what landed in staging to the evidence's own key, checks that
    /// copy (size, SHA-256, type; previews for images) and marks the evidence
    /// UPLOADED, or deletes it and marks it REJECTED. One call at a time
    /// verifies (the record is VERIFYING meanwhile); a concurrent call gets
    /// CONFLICT, a later one the same answer as the first.
    async fn complete_evidence_upload(&self, ctx: &Context<'_>, evidence_id: ID) -> AppResult<EvidenceObject> {
        let actor = Arc::new(actor(ctx).await?);
        let id = parse_id("evidenceId", &evidence_id)?;
        let record = evidence::complete_upload(services(ctx), &actor, id, &change_audit(ctx)).await?;
        Ok(EvidenceObject::new(record, actor))
    }

    /// Uploads a file through the API (GraphQL multipart request; send the
    /// `apollo-require-preflight: true` header). Same checks as the direct flow.
    async fn upload_evidence(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        kind: EvidenceKind,
        file: Upload,
    ) -> AppResult<EvidenceObject> {
        let actor = Arc::new(actor(ctx).await?);
        let portfolio_id = parse_id("portfolioId", &portfolio_id)?;
        let upload = file.value(ctx).map_err(|e| AppError::bad_input("file", format!("unreadable upload: {e}")))?;
        let file = IncomingFile { file_name: upload.filename, content: upload.content };
        let record = evidence::upload(services(ctx), &actor, portfolio_id, kind, file, &change_audit(ctx)).await?;
        Ok(EvidenceObject::new(record, actor))
    }

    /// Removes evidence of a portfolio that is still being edited: the
    /// links from entries, the record and the stored files.
    async fn delete_evidence(&self, ctx: &Context<'_>, evidence_id: ID) -> AppResult<bool> {
        let actor = actor(ctx).await?;
        let id = parse_id("evidenceId", &evidence_id)?;
        evidence::delete(services(ctx), &actor, id, &change_audit(ctx)).await
    }

    /// A reviewer's decision: VERIFIED (counts for basis VERIFIED) or REJECTED.
    async fn review_evidence(
        &self,
        ctx: &Context<'_>,
        evidence_id: ID,
        verified: bool,
        note: Option<String>,
    ) -> AppResult<EvidenceObject> {
        let actor = Arc::new(actor(ctx).await?);
        let id = parse_id("evidenceId", &evidence_id)?;
        let record = evidence::review(services(ctx), &actor, id, verified, note, &change_audit(ctx)).await?;
        Ok(EvidenceObject::new(record, actor))
    }
}
