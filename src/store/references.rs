//! The `reference_requests` collection: one document per rating asked of
//! a rater, with the hash of its current link, the rater's draft and, once
//! submitted, the rating itself. Every change is conditional on the state
//! it starts from (the link's hash, the status), so a link is used up by
//! exactly one submission however many arrive at once, and every change
//! that sends mail queues it in the same transaction.

use futures::TryStreamExt;
use mongodb::bson::{self, DateTime, Document, doc, oid::ObjectId};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, Identified};
use super::outbox::{Outbox, OutboxMessage};
use super::{Store, StoreError, in_transaction, unaudited_transaction};
use crate::domain::association::AssociationCode;
use crate::domain::model::{
    Credential, CredentialBasis, Language, ReferenceEntry, ReferenceRequestStatus, ReferenceRole,
};
use crate::domain::reference::Rating;

pub const COLLECTION: &str = "reference_requests";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceRequestDocument {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub portfolio_id: ObjectId,
    /// The portfolio owner's subject.
    pub owner_id: String,
    /// As the rater is told who asked.
    pub applicant_name: String,
    pub rater_name: String,
    pub rater_email: String,
    pub role: ReferenceRole,
    /// Chosen before sending: the applicant never sees a waived rating.
    pub waived: bool,
    pub language: Language,
    /// As stored; an open request past `expires_at` is shown EXPIRED.
    pub status: ReferenceRequestStatus,
    /// SHA-256 of the current link's token, hex; gone once used or revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    /// The hash of the link that was used or revoked last, so that opening
    /// it again says why it no longer works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent_token_hash: Option<String>,
    /// What the current link's token is derived from; a new link, a new nonce.
    pub nonce: String,
    /// The form revision the rater answers.
    pub form_revision: i32,
    pub created_at: DateTime,
    pub created_by: String,
    /// When the current link was made.
    pub sent_at: DateTime,
    pub expires_at: DateTime,
    #[serde(default)]
    pub reminders_sent: i32,
    /// When the next reminder is due, on the association's schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_reminder_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounced_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<Rating>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rater_credential: Option<Credential>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_basis: Option<CredentialBasis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetted_note: Option<String>,
}

/// A new link for a request: replaces the old one.
#[derive(Debug, Clone)]
pub struct Relink {
    pub nonce: String,
    pub token_hash: String,
    pub sent_at: DateTime,
    pub expires_at: DateTime,
    /// Whether the rater had started (the request stays OPENED).
    pub opened: bool,
    pub next_reminder_at: Option<DateTime>,
}

/// What a submission stores, on the request and in the portfolio.
#[derive(Debug, Clone)]
pub struct Submission {
    pub rating: Rating,
    pub rater_credential: Credential,
    pub credential_basis: CredentialBasis,
    pub entry: ReferenceEntry,
}

const OPEN: [&str; 3] = ["SENT", "OPENED", "BOUNCED"];

#[derive(Clone)]
pub struct ReferenceStore {
    store: Store,
    association: AssociationCode,
    requests: Collection<ReferenceRequestDocument>,
    portfolios: Collection<Document>,
    outbox: Outbox,
    audit: Collection<Identified>,
}

impl ReferenceStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        let db = store.database();
        ReferenceStore {
            store: store.clone(),
            association: association.clone(),
            requests: db.collection(COLLECTION),
            portfolios: db.collection(super::portfolio::COLLECTION),
            outbox: Outbox::new(store),
            audit: db.collection(super::audit::COLLECTION),
        }
    }

    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let requests = store.database().collection::<Document>(COLLECTION);
        // Only open requests have a token hash; the partial index keeps
        // used links out of it and makes every live hash unique.
        let by_token = IndexModel::builder()
            .keys(doc! { "tokenHash": 1 })
            .options(
                IndexOptions::builder()
                    .name("token_hash".to_owned())
                    .unique(true)
                    .partial_filter_expression(doc! { "tokenHash": { "$exists": true } })
                    .build(),
            )
            .build();
        let by_portfolio = IndexModel::builder()
            .keys(doc! { "association": 1, "portfolioId": 1, "createdAt": 1 })
            .options(IndexOptions::builder().name("association_portfolio".to_owned()).build())
            .build();
        let by_spent = IndexModel::builder()
            .keys(doc! { "spentTokenHash": 1 })
            .options(IndexOptions::builder().name("spent_token_hash".to_owned()).sparse(true).build())
            .build();
        let due = IndexModel::builder()
            .keys(doc! { "nextReminderAt": 1 })
            .options(IndexOptions::builder().name("next_reminder".to_owned()).sparse(true).build())
            .build();
        requests.create_indexes([by_token, by_portfolio, by_spent, due]).await?;
        Ok(())
    }

    fn tenant(&self, mut filter: Document) -> Document {
        filter.insert("association", self.association.as_str());
        filter
    }

    /// `filter` for a request whose link is live at `now`.
    fn live(&self, token_hash: &str, now: DateTime) -> Document {
        self.tenant(doc! { "tokenHash": token_hash, "status": { "$in": OPEN.to_vec() }, "expiresAt": { "$gt": now } })
    }

    pub async fn get(&self, id: ObjectId) -> Result<Option<ReferenceRequestDocument>, StoreError> {
        Ok(self.requests.find_one(self.tenant(doc! { "_id": id })).await?)
    }

    /// The request a link's hash names, whatever its state (the page says
    /// why a used or expired link no longer opens the form).
    pub async fn by_token_hash(&self, token_hash: &str) -> Result<Option<ReferenceRequestDocument>, StoreError> {
        let filter = doc! { "$or": [{ "tokenHash": token_hash }, { "spentTokenHash": token_hash }] };
        Ok(self.requests.find_one(self.tenant(filter)).await?)
    }

    /// The portfolio's requests, oldest first.
    pub async fn for_portfolio(&self, portfolio_id: ObjectId) -> Result<Vec<ReferenceRequestDocument>, StoreError> {
        let filter = self.tenant(doc! { "portfolioId": portfolio_id });
        Ok(self.requests.find(filter).sort(doc! { "createdAt": 1, "_id": 1 }).await?.try_collect().await?)
    }

    /// How many of the portfolio's requests are not revoked.
    pub async fn count_active(&self, portfolio_id: ObjectId) -> Result<u64, StoreError> {
        let filter = self.tenant(doc! { "portfolioId": portfolio_id, "status": { "$ne": "REVOKED" } });
        Ok(self.requests.count_documents(filter).await?)
    }

    /// A new request, its mail and its audit record: all or nothing.
    pub async fn insert_audited(
        &self,
        request: &ReferenceRequestDocument,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            self.requests.insert_one(request).session(&mut *session).await?;
            Ok(((), true))
        }
        .await)
    }

    /// Replaces the link made from `old_nonce` by `relink` (the old link
    /// dies), with its mail; `None` when the request changed meanwhile.
    pub async fn relink_audited(
        &self,
        id: ObjectId,
        old_nonce: &str,
        relink: &Relink,
        record: &AuditRecord,
    ) -> Result<Option<ReferenceRequestDocument>, StoreError> {
        // A rater who had started keeps their draft, and the request stays
        // OPENED; the filter holds that state to what it was when read.
        let opened = relink.opened;
        let filter = self.tenant(doc! {
            "_id": id,
            "nonce": old_nonce,
            "status": { "$nin": ["SUBMITTED", "REVOKED"] },
            "openedAt": { "$exists": opened },
        });
        let update = doc! { "$set": {
            "nonce": &relink.nonce,
            "tokenHash": &relink.token_hash,
            "sentAt": relink.sent_at,
            "expiresAt": relink.expires_at,
            "remindersSent": 0,
            "nextReminderAt": relink.next_reminder_at,
            "status": if opened { "OPENED" } else { "SENT" },
        } };
        self.update_audited(filter, update, record).await
    }

    /// `update` on the request matching `filter`, with its audit record
    /// (and the record's mail) in the same transaction when it matched;
    /// the request after.
    async fn update_audited(
        &self,
        filter: Document,
        update: Document,
        record: &AuditRecord,
    ) -> Result<Option<ReferenceRequestDocument>, StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            let updated = self
                .requests
                .find_one_and_update(filter.clone(), update.clone())
                .return_document(ReturnDocument::After)
                .session(&mut *session)
                .await?;
            let changed = updated.is_some();
            Ok((updated, changed))
        }
        .await)
    }

    /// Withdraws a request not yet submitted: its link dies at once.
    pub async fn revoke_audited(
        &self,
        request: &ReferenceRequestDocument,
        by: &str,
        record: &AuditRecord,
    ) -> Result<Option<ReferenceRequestDocument>, StoreError> {
        let filter = self.tenant(
            doc! { "_id": request.id, "nonce": &request.nonce, "status": { "$nin": ["SUBMITTED", "REVOKED"] } },
        );
        let update = doc! {
            "$set": {
                "status": "REVOKED",
                "revokedAt": DateTime::now(),
                "revokedBy": by,
                "spentTokenHash": request.token_hash.as_deref(),
            },
            "$unset": { "tokenHash": "", "nextReminderAt": "" },
        };
        self.update_audited(filter, update, record).await
    }

    /// Counts reminder `sent` as sent and queues its mail, unless another
    /// instance did so first (then nothing is queued).
    pub async fn remind(
        &self,
        request: &ReferenceRequestDocument,
        next: Option<DateTime>,
        mail: &OutboxMessage,
    ) -> Result<bool, StoreError> {
        let filter = self.tenant(doc! {
            "_id": request.id,
            "nonce": &request.nonce,
            "remindersSent": request.reminders_sent,
            "status": { "$in": ["SENT", "OPENED"] },
        });
        let update = doc! { "$inc": { "remindersSent": 1 }, "$set": { "nextReminderAt": next } };
        unaudited_transaction!(&self.store, |session| async {
            let counted = self.requests.update_one(filter.clone(), update.clone()).session(&mut *session).await?;
            if counted.matched_count == 1 {
                self.outbox.queue_in(session, std::slice::from_ref(mail)).await?;
            }
            Ok(counted.matched_count == 1)
        }
        .await)
    }

    /// Keeps the rater's draft while the link is live; the request is
    /// OPENED from the first save. `None` when the link is not live.
    pub async fn save_draft(
        &self,
        token_hash: &str,
        draft: &Rating,
    ) -> Result<Option<ReferenceRequestDocument>, StoreError> {
        let now = DateTime::now();
        let draft = to_bson(draft)?;
        let update = doc! { "$set": { "draft": draft, "status": "OPENED" }, "$min": { "openedAt": now } };
        Ok(self
            .requests
            .find_one_and_update(self.live(token_hash, now), update)
            .return_document(ReturnDocument::After)
            .await?)
    }

    /// Uses the link up: the request becomes SUBMITTED and the rating
    /// enters the portfolio (its version moves on), with the mail it
    /// causes and the audit record, in one transaction. `None` when the
    /// link was not live (used a moment ago, revoked, expired).
    pub async fn submit_audited(
        &self,
        token_hash: &str,
        request: &ReferenceRequestDocument,
        submission: &Submission,
        record: &AuditRecord,
    ) -> Result<Option<DateTime>, StoreError> {
        let now = DateTime::now();
        let filter = self.live(token_hash, now);
        let update = doc! {
            "$set": {
                "status": "SUBMITTED",
                "submittedAt": now,
                "rating": to_bson(&submission.rating)?,
                "raterCredential": submission.rater_credential.as_str(),
                "credentialBasis": submission.credential_basis.as_str(),
                "spentTokenHash": token_hash,
            },
            "$min": { "openedAt": now },
            "$unset": { "tokenHash": "", "draft": "", "nextReminderAt": "" },
        };
        let portfolio = self.tenant(doc! { "_id": request.portfolio_id });
        let entry = to_bson(&submission.entry)?;
        let add = doc! {
            "$push": { "references": entry },
            "$inc": { "version": 1 },
            "$set": { "updatedAt": now },
        };
        in_transaction!(&self.store, &self.audit, record, |session| async {
            let used = self.requests.update_one(filter.clone(), update.clone()).session(&mut *session).await?;
            if used.matched_count == 0 {
                return Ok((None, false));
            }
            self.portfolios.update_one(portfolio.clone(), add.clone()).session(&mut *session).await?;
            Ok((Some(now), true))
        }
        .await)
    }

    /// A coordinator checked the rater's endorsement: the request and the
    /// portfolio's rating say VETTED.
    pub async fn vet_audited(
        &self,
        request: &ReferenceRequestDocument,
        by: &str,
        note: &str,
        record: &AuditRecord,
    ) -> Result<Option<ReferenceRequestDocument>, StoreError> {
        let filter = self.tenant(doc! { "_id": request.id, "status": "SUBMITTED" });
        let update = doc! { "$set": { "credentialBasis": "VETTED", "vettedBy": by, "vettedNote": note } };
        let portfolio = self.tenant(doc! { "_id": request.portfolio_id, "references.id": request.id.to_hex() });
        let vetted = doc! {
            "$set": { "references.$.credentialBasis": "VETTED", "updatedAt": DateTime::now() },
            "$inc": { "version": 1 },
        };
        in_transaction!(&self.store, &self.audit, record, |session| async {
            let updated = self
                .requests
                .find_one_and_update(filter.clone(), update.clone())
                .return_document(ReturnDocument::After)
                .session(&mut *session)
                .await?;
            if updated.is_some() {
                self.portfolios.update_one(portfolio.clone(), vetted.clone()).session(&mut *session).await?;
            }
            let changed = updated.is_some();
            Ok((updated, changed))
        }
        .await)
    }
}

/// Which association a link's hash belongs to, live or spent: the one
/// lookup that crosses associations, since a link names none.
pub async fn locate(store: &Store, token_hash: &str) -> Result<Option<AssociationCode>, StoreError> {
    let requests = store.database().collection::<Document>(COLLECTION);
    let filter = doc! { "$or": [{ "tokenHash": token_hash }, { "spentTokenHash": token_hash }] };
    let found = requests.find_one(filter).projection(doc! { "_id": 0, "association": 1 }).await?;
    Ok(found.and_then(|row| row.get_str("association").ok().and_then(|code| AssociationCode::parse(code).ok())))
}

/// Requests whose next reminder is due, across associations, oldest due
/// first.
pub async fn due_reminders(store: &Store, limit: i64) -> Result<Vec<ReferenceRequestDocument>, StoreError> {
    let requests = store.database().collection::<ReferenceRequestDocument>(COLLECTION);
    let now = DateTime::now();
    let filter = doc! {
        "nextReminderAt": { "$lte": now },
        "status": { "$in": ["SENT", "OPENED"] },
        "expiresAt": { "$gt": now },
    };
    Ok(requests.find(filter).sort(doc! { "nextReminderAt": 1 }).limit(limit).await?.try_collect().await?)
}

/// Serialising these types cannot fail; a failure would be a bug,
/// reported as a malformed document.
fn to_bson<T: Serialize>(value: &T) -> Result<mongodb::bson::Bson, StoreError> {
    bson::to_bson(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}
