//! The `evidence` collection: one record per uploaded file. The bytes live
//! in S3 under server-generated keys; the record says what was declared, what
//! was verified and what a reviewer decided. Status changes are
//! compare-and-set on the current status, so concurrent calls cannot undo
//! each other.

use std::collections::HashMap;

use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::AuditRecord;
use super::{Store, StoreError, in_transaction};
use crate::blob::keys;
use crate::domain::association::AssociationCode;
use crate::domain::model::{EvidenceKind, EvidenceRef, EvidenceStatus};

pub const COLLECTION: &str = "evidence";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceRecord {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The tenant: the portfolio's association.
    pub association: AssociationCode,
    pub portfolio_id: ObjectId,
    /// The portfolio owner's subject (uploads are the owner's).
    pub owner_id: String,
    pub kind: EvidenceKind,
    pub status: EvidenceStatus,
    /// The client's file name, sanitised; metadata only, never a key.
    pub file_name: String,
    /// Declared while pending; the sniffed type once uploaded.
    pub content_type: String,
    /// Declared size (direct uploads) or stored size.
    pub byte_size: Option<i64>,
    /// Declared SHA-256 (direct uploads) or the computed one, hex.
    pub sha256: Option<String>,
    pub object_key: String,
    #[serde(default)]
    pub preview_key: Option<String>,
    #[serde(default)]
    pub thumbnail_key: Option<String>,
    pub created_at: DateTime,
    pub created_by: String,
    /// When a PENDING_UPLOAD record (and its object) may be swept.
    #[serde(default)]
    pub expires_at: Option<DateTime>,
    /// When the current verification claimed the record (VERIFYING only);
    /// also the claim's token: only its holder may settle or release it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifying_since: Option<DateTime>,
    #[serde(default)]
    pub uploaded_at: Option<DateTime>,
    /// Why the upload was refused (SIZE_MISMATCH, HASH_MISMATCH, ...).
    #[serde(default)]
    pub reject_reason: Option<String>,
    #[serde(default)]
    pub reviewed_by: Option<String>,
    #[serde(default)]
    pub reviewed_at: Option<DateTime>,
    #[serde(default)]
    pub review_note: Option<String>,
}

impl EvidenceRecord {
    pub fn preview_key_name(&self) -> String {
        keys::beside(&self.object_key, "preview.jpg")
    }

    pub fn thumbnail_key_name(&self) -> String {
        keys::beside(&self.object_key, "thumbnail.jpg")
    }

    pub fn staging_key_name(&self) -> String {
        keys::staging_of(&self.object_key)
    }

    /// Every S3 key this record may own, whether or not it was written yet
    /// (deleting a missing object is harmless).
    pub fn keys(&self) -> [String; 4] {
        [self.object_key.clone(), self.preview_key_name(), self.thumbnail_key_name(), self.staging_key_name()]
    }
}

/// What verification established about stored bytes.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The sniffed type.
    pub content_type: String,
    pub byte_size: i64,
    pub sha256: String,
    /// (preview, thumbnail) keys, for images.
    pub previews: Option<(String, String)>,
}

/// Which records nobody will complete, judged at one instant: the upload
/// window closed before `now`, and the record is PENDING_UPLOAD, or
/// VERIFYING with a claim older than `claimed_before` (its verifier died:
/// a live one releases or settles its claim within a request's time).
#[derive(Debug, Clone, Copy)]
pub struct Abandoned {
    pub now: DateTime,
    pub claimed_before: DateTime,
}

impl Abandoned {
    /// Now, with claims older than `grace` counting as stale.
    pub fn at(now: DateTime, grace: std::time::Duration) -> Self {
        let grace = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        Abandoned { now, claimed_before: DateTime::from_millis(now.timestamp_millis().saturating_sub(grace)) }
    }

    fn filter(&self) -> Document {
        doc! {
            "expiresAt": { "$lt": self.now },
            "$or": [
                { "status": EvidenceStatus::PendingUpload.as_str() },
                { "status": EvidenceStatus::Verifying.as_str(), "verifyingSince": { "$lt": self.claimed_before } },
            ],
        }
    }
}

/// A record's id and status only.
#[derive(Deserialize)]
struct IdStatus {
    #[serde(rename = "_id")]
    id: ObjectId,
    status: EvidenceStatus,
}

/// The evidence of one association: every filter names it, and only its
/// own records are written. Every method that changes a record on a
/// caller's behalf takes the change's audit record and writes both in one
/// transaction.
#[derive(Clone)]
pub struct EvidenceStore {
    store: Store,
    association: AssociationCode,
    collection: Collection<EvidenceRecord>,
    audit: Collection<super::audit::Identified>,
}

impl EvidenceStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        EvidenceStore {
            store: store.clone(),
            association: association.clone(),
            collection: store.database().collection(COLLECTION),
            audit: store.database().collection(super::audit::COLLECTION),
        }
    }

    /// `filter` within this association.
    fn tenant(&self, mut filter: Document) -> Document {
        filter.insert("association", self.association.as_str());
        filter
    }

    fn own<'r>(&self, record: &'r EvidenceRecord) -> Result<&'r EvidenceRecord, StoreError> {
        if record.association == self.association {
            Ok(record)
        } else {
            Err(StoreError::Corrupt(format!(
                "evidence of {} was written through the store of {}",
                record.association, self.association
            )))
        }
    }

    /// A new record and the audit record of the request that made it.
    pub async fn insert_audited(&self, record: &EvidenceRecord, audit: &AuditRecord) -> Result<(), StoreError> {
        let record = self.own(record)?;
        in_transaction!(&self.store, &self.audit, audit, |session| async {
            self.collection.insert_one(record).session(&mut *session).await?;
            Ok(((), true))
        }
        .await)
    }

    /// `update` on the record matching `filter`, with `audit` written in
    /// the same transaction when it matched; the record after the update.
    async fn update_audited(
        &self,
        filter: Document,
        update: Document,
        audit: &AuditRecord,
    ) -> Result<Option<EvidenceRecord>, StoreError> {
        let filter = self.tenant(filter);
        in_transaction!(&self.store, &self.audit, audit, |session| async {
            let updated = self
                .collection
                .find_one_and_update(filter.clone(), update.clone())
                .return_document(ReturnDocument::After)
                .session(&mut *session)
                .await?;
            let changed = updated.is_some();
            Ok((updated, changed))
        }
        .await)
    }

    /// Every index leads with the association (see the portfolios').
    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let index = |name: &str, keys: Document| {
            IndexModel::builder().keys(keys).options(IndexOptions::builder().name(name.to_owned()).build()).build()
        };
        let collection = store.database().collection::<Document>(COLLECTION);
        super::drop_indexes(&collection, &["portfolio", "status_kind"]).await;
        collection
            .create_indexes([
                index("a_portfolio", doc! { "association": 1, "portfolioId": 1, "_id": 1 }),
                index("a_status_kind", doc! { "association": 1, "status": 1, "kind": 1 }),
                // The sweeper's scan runs over the whole deployment.
                index("status_expires", doc! { "status": 1, "expiresAt": 1 }),
            ])
            .await?;
        Ok(())
    }

    /// Like [`super::portfolio::PortfolioStore::insert_new`].
    pub async fn insert_new(&self, records: &[EvidenceRecord]) -> Result<u64, StoreError> {
        for record in records {
            self.own(record)?;
        }
        super::insert_new(&self.collection, records).await
    }

    /// Safe to retry: see [`super::insert_once`].
    pub async fn insert(&self, record: &EvidenceRecord) -> Result<(), StoreError> {
        super::insert_once(&self.collection, self.own(record)?, record.id).await
    }

    pub async fn get(&self, id: ObjectId) -> Result<Option<EvidenceRecord>, StoreError> {
        Ok(self.collection.find_one(self.tenant(doc! { "_id": id })).await?)
    }

    /// A portfolio's evidence, oldest first.
    pub async fn for_portfolio(&self, portfolio_id: ObjectId) -> Result<Vec<EvidenceRecord>, StoreError> {
        let cursor =
            self.collection.find(self.tenant(doc! { "portfolioId": portfolio_id })).sort(doc! { "_id": 1 }).await?;
        Ok(cursor.try_collect().await?)
    }

    /// One page of a portfolio's evidence, oldest first, after `after`.
    pub async fn page_for_portfolio(
        &self,
        portfolio_id: ObjectId,
        after: Option<ObjectId>,
        limit: i64,
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut filter = doc! { "portfolioId": portfolio_id };
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after });
        }
        let cursor = self.collection.find(self.tenant(filter)).sort(doc! { "_id": 1 }).limit(limit).await?;
        Ok(cursor.try_collect().await?)
    }

    /// What the requirement engine needs for basis VERIFIED.
    pub async fn refs_for_portfolio(&self, portfolio_id: ObjectId) -> Result<Vec<EvidenceRef>, StoreError> {
        Ok(self
            .for_portfolio(portfolio_id)
            .await?
            .into_iter()
            .map(|r| EvidenceRef { id: r.id.to_hex(), kind: r.kind, status: r.status })
            .collect())
    }

    /// The status of every evidence record of a portfolio, by id (hex).
    pub async fn statuses_of(&self, portfolio_id: ObjectId) -> Result<HashMap<String, EvidenceStatus>, StoreError> {
        let cursor = self
            .collection
            .clone_with_type::<IdStatus>()
            .find(self.tenant(doc! { "portfolioId": portfolio_id }))
            .projection(doc! { "_id": 1, "status": 1 })
            .await?;
        let rows: Vec<IdStatus> = cursor.try_collect().await?;
        Ok(rows.into_iter().map(|row| (row.id.to_hex(), row.status)).collect())
    }

    /// Applies `set` if the record is in one of `from`; returns the new record,
    /// or None if it is missing or in another status.
    async fn transition(
        &self,
        id: ObjectId,
        from: &[EvidenceStatus],
        set: Document,
        unset: &[&str],
        audit: &AuditRecord,
    ) -> Result<Option<EvidenceRecord>, StoreError> {
        let statuses: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let mut update = doc! { "$set": set };
        if !unset.is_empty() {
            let fields: Document =
                unset.iter().map(|f| (f.to_string(), mongodb::bson::Bson::String(String::new()))).collect();
            update.insert("$unset", fields);
        }
        self.update_audited(doc! { "_id": id, "status": { "$in": statuses } }, update, audit).await
    }

    /// PENDING_UPLOAD -> VERIFYING while the upload window is open at `now`:
    /// the one caller that gets the record back holds the claim and alone
    /// reads the bytes. An expired record cannot be claimed, so it can never
    /// race the sweeper, which removes only expired unclaimed ones.
    pub async fn claim(&self, id: ObjectId, now: DateTime) -> Result<Option<EvidenceRecord>, StoreError> {
        let filter = self.tenant(doc! {
            "_id": id,
            "status": EvidenceStatus::PendingUpload.as_str(),
            "expiresAt": { "$gt": now },
        });
        let update = doc! { "$set": { "status": EvidenceStatus::Verifying.as_str(), "verifyingSince": now } };
        Ok(self.collection.find_one_and_update(filter, update).return_document(ReturnDocument::After).await?)
    }

    /// Matches `claimed` only while its claim still holds.
    fn claim_filter(claimed: &EvidenceRecord) -> Document {
        doc! {
            "_id": claimed.id,
            "status": EvidenceStatus::Verifying.as_str(),
            "verifyingSince": claimed.verifying_since,
        }
    }

    /// VERIFYING -> PENDING_UPLOAD: the check failed before a verdict (S3 or
    /// MongoDB trouble), so the client may complete again. False if the
    /// claim no longer holds.
    pub async fn release(&self, claimed: &EvidenceRecord) -> Result<bool, StoreError> {
        let update = doc! {
            "$set": { "status": EvidenceStatus::PendingUpload.as_str() },
            "$unset": { "verifyingSince": "" },
        };
        Ok(self.collection.update_one(self.tenant(Self::claim_filter(claimed)), update).await?.modified_count == 1)
    }

    /// VERIFYING -> UPLOADED with what was verified; None if the claim no
    /// longer holds.
    pub async fn mark_uploaded(
        &self,
        claimed: &EvidenceRecord,
        verified: &Verified,
        now: DateTime,
        audit: &AuditRecord,
    ) -> Result<Option<EvidenceRecord>, StoreError> {
        let mut set = doc! {
            "status": EvidenceStatus::Uploaded.as_str(),
            "contentType": &verified.content_type,
            "byteSize": verified.byte_size,
            "sha256": &verified.sha256,
            "uploadedAt": now,
        };
        if let Some((preview, thumbnail)) = &verified.previews {
            set.insert("previewKey", preview);
            set.insert("thumbnailKey", thumbnail);
        }
        let update = doc! { "$set": set, "$unset": { "expiresAt": "", "verifyingSince": "" } };
        self.update_audited(Self::claim_filter(claimed), update, audit).await
    }

    /// VERIFYING -> REJECTED with a reason code; false if the claim no longer holds.
    pub async fn mark_rejected(
        &self,
        claimed: &EvidenceRecord,
        reason: &str,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let update = doc! {
            "$set": { "status": EvidenceStatus::Rejected.as_str(), "rejectReason": reason },
            "$unset": { "expiresAt": "", "verifyingSince": "" },
        };
        Ok(self.update_audited(Self::claim_filter(claimed), update, audit).await?.is_some())
    }

    /// Deletes a record while its claim holds (an API upload that failed).
    pub async fn delete_claimed(&self, claimed: &EvidenceRecord) -> Result<bool, StoreError> {
        Ok(self.collection.delete_one(self.tenant(Self::claim_filter(claimed))).await?.deleted_count == 1)
    }

    /// Deletes the record unless a verification holds it; false if it is
    /// VERIFYING (or already gone).
    pub async fn delete_unless_verifying(&self, id: ObjectId, audit: &AuditRecord) -> Result<bool, StoreError> {
        let filter = self.tenant(doc! { "_id": id, "status": { "$ne": EvidenceStatus::Verifying.as_str() } });
        in_transaction!(&self.store, &self.audit, audit, |session| async {
            let deleted = self.collection.delete_one(filter.clone()).session(&mut *session).await?.deleted_count == 1;
            Ok((deleted, deleted))
        }
        .await)
    }

    /// Records a reviewer may verify or reject: REVIEWED with who and when.
    pub async fn record_review(
        &self,
        id: ObjectId,
        review: &Review,
        audit: &AuditRecord,
    ) -> Result<Option<EvidenceRecord>, StoreError> {
        let status = if review.verified { EvidenceStatus::Verified } else { EvidenceStatus::Rejected };
        let set = doc! {
            "status": status.as_str(),
            "reviewedBy": &review.reviewer,
            "reviewedAt": review.at,
            "reviewNote": &review.note,
        };
        let reviewable = [EvidenceStatus::Uploaded, EvidenceStatus::Verified, EvidenceStatus::Rejected];
        self.transition(id, &reviewable, set, &[], audit).await
    }
}

/// A reviewer's verdict on evidence.
#[derive(Debug, Clone)]
pub struct Review {
    pub verified: bool,
    pub reviewer: String,
    pub at: DateTime,
    pub note: Option<String>,
}

/// The sweeper's view of the evidence collection: deployment-wide, because
/// abandoned uploads and objects without a record are found by time and key,
/// not by tenant. Nothing here is ever shown to a caller.
#[derive(Clone)]
pub struct EvidenceSweep {
    collection: Collection<EvidenceRecord>,
}

impl EvidenceSweep {
    pub fn new(store: &Store) -> Self {
        EvidenceSweep { collection: store.database().collection(COLLECTION) }
    }

    /// Up to `limit` abandoned records, those whose window closed first first.
    pub async fn abandoned(&self, when: &Abandoned, limit: i64) -> Result<Vec<EvidenceRecord>, StoreError> {
        let cursor = self.collection.find(when.filter()).sort(doc! { "expiresAt": 1 }).limit(limit).await?;
        Ok(cursor.try_collect().await?)
    }

    /// Deletes the record only if it is still abandoned: one that a
    /// completion claimed or settled since it was listed stays.
    pub async fn delete_if_abandoned(&self, id: ObjectId, when: &Abandoned) -> Result<bool, StoreError> {
        let mut filter = when.filter();
        filter.insert("_id", id);
        Ok(self.collection.delete_one(filter).await?.deleted_count == 1)
    }

    /// The status of those of `ids` that have a record. One `$in` query:
    /// callers pass a bounded batch (a page of an S3 listing).
    pub async fn statuses(&self, ids: &[ObjectId]) -> Result<HashMap<ObjectId, EvidenceStatus>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let cursor = self
            .collection
            .clone_with_type::<IdStatus>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "_id": 1, "status": 1 })
            .await?;
        let rows: Vec<IdStatus> = cursor.try_collect().await?;
        Ok(rows.into_iter().map(|row| (row.id, row.status)).collect())
    }
}
