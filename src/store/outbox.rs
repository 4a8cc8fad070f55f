//! The `outbox` collection: every mail the system sends, written in the
//! same transaction as the change that causes it, then delivered by the
//! outbox worker. A worker claims a message with a lease (a conditional
//! update, so two instances never hold one at once); a lease that runs out
//! (a worker that died mid-send) makes the message claimable again. The
//! message's `_id` is its Message-ID, so a second delivery after a lost
//! acknowledgement is recognisably the same mail.

use mongodb::bson::{DateTime, doc, oid::ObjectId};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{ClientSession, Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, unaudited_transaction};
use crate::domain::association::AssociationCode;
use crate::domain::model::{Language, ReferenceRequestStatus};

pub const COLLECTION: &str = "outbox";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    Pending,
    Sending,
    Sent,
    /// Given up: refused by the server, or out of attempts.
    Dead,
}

/// The reference link a message carries: derived again at send time from
/// the link key, so the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarriedLink {
    pub request_id: ObjectId,
    pub nonce: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    /// What it is about ("reference-request"), for logs and metrics.
    pub kind: String,
    pub language: Language,
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    /// Rendered when the change was made: a retry sends the same words.
    /// Where a link goes, the bodies hold [`crate::mail::templates::LINK_PLACEHOLDER`].
    pub text: String,
    pub html: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<CarriedLink>,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime>,
}

impl OutboxMessage {
    /// A message ready to send now.
    pub fn new(association: &AssociationCode, kind: &str, language: Language, to: (&str, &str)) -> Self {
        let now = DateTime::now();
        OutboxMessage {
            id: ObjectId::new(),
            association: association.clone(),
            kind: kind.to_owned(),
            language,
            to_name: to.0.to_owned(),
            to_address: to.1.to_owned(),
            subject: String::new(),
            text: String::new(),
            html: String::new(),
            link: None,
            status: MessageStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease_owner: None,
            lease_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }
}

/// How many messages are in each state (the gauge and the tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub pending: u64,
    pub dead: u64,
}

#[derive(Clone)]
pub struct Outbox {
    store: Store,
    messages: Collection<OutboxMessage>,
}

impl Outbox {
    pub fn new(store: &Store) -> Self {
        Outbox { store: store.clone(), messages: store.database().collection(COLLECTION) }
    }

    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let due = IndexModel::builder()
            .keys(doc! { "status": 1, "nextAttemptAt": 1 })
            .options(IndexOptions::builder().name("status_due".to_owned()).build())
            .build();
        self.messages.create_indexes([due]).await?;
        Ok(())
    }

    /// Queues `messages` inside the caller's transaction.
    pub async fn queue_in(
        &self,
        session: &mut ClientSession,
        messages: &[OutboxMessage],
    ) -> Result<(), mongodb::error::Error> {
        if !messages.is_empty() {
            self.messages.insert_many(messages).session(session).await?;
        }
        Ok(())
    }

    /// Claims the message most overdue, if any: a pending one whose time
    /// has come, or one whose sender's lease ran out.
    pub async fn claim(&self, owner: &str, lease: std::time::Duration) -> Result<Option<OutboxMessage>, StoreError> {
        let now = DateTime::now();
        let until = DateTime::from_millis(now.timestamp_millis() + lease.as_millis() as i64);
        let filter = doc! { "$or": [
            { "status": "PENDING", "nextAttemptAt": { "$lte": now } },
            { "status": "SENDING", "leaseUntil": { "$lte": now } },
        ] };
        let claim = doc! {
            "$set": { "status": "SENDING", "leaseOwner": owner, "leaseUntil": until },
            "$inc": { "attempts": 1 },
        };
        Ok(self
            .messages
            .find_one_and_update(filter, claim)
            .sort(doc! { "nextAttemptAt": 1 })
            .return_document(ReturnDocument::After)
            .await?)
    }

    fn held(id: ObjectId, owner: &str) -> mongodb::bson::Document {
        doc! { "_id": id, "status": "SENDING", "leaseOwner": owner }
    }

    /// Delivered. False when the lease was lost meanwhile.
    pub async fn mark_sent(&self, id: ObjectId, owner: &str) -> Result<bool, StoreError> {
        let update = doc! {
            "$set": { "status": "SENT", "sentAt": DateTime::now() },
            "$unset": { "leaseOwner": "", "leaseUntil": "", "lastError": "" },
        };
        Ok(self.messages.update_one(Self::held(id, owner), update).await?.matched_count == 1)
    }

    /// Not delivered this time: try again at `next`.
    pub async fn retry_at(&self, id: ObjectId, owner: &str, next: DateTime, error: &str) -> Result<(), StoreError> {
        let update = doc! {
            "$set": { "status": "PENDING", "nextAttemptAt": next, "lastError": error },
            "$unset": { "leaseOwner": "", "leaseUntil": "" },
        };
        self.messages.update_one(Self::held(id, owner), update).await?;
        Ok(())
    }

    /// Given up. A reference request whose current link this mail carried
    /// becomes BOUNCED in the same transaction, so the applicant sees it.
    pub async fn mark_dead(&self, message: &OutboxMessage, owner: &str, error: &str) -> Result<(), StoreError> {
        let requests = self.store.database().collection::<mongodb::bson::Document>(super::references::COLLECTION);
        let update = doc! {
            "$set": { "status": "DEAD", "lastError": error },
            "$unset": { "leaseOwner": "", "leaseUntil": "" },
        };
        unaudited_transaction!(&self.store, |session| async {
            let held =
                self.messages.update_one(Self::held(message.id, owner), update.clone()).session(&mut *session).await?;
            if let (1, Some(link)) = (held.matched_count, &message.link) {
                let bounced = doc! { "$set": {
                    "status": ReferenceRequestStatus::Bounced.as_str(),
                    "bouncedAt": DateTime::now(),
                } };
                let current = doc! {
                    "_id": link.request_id,
                    "association": message.association.as_str(),
                    "nonce": &link.nonce,
                    "status": ReferenceRequestStatus::Sent.as_str(),
                };
                requests.update_one(current, bounced).session(&mut *session).await?;
            }
            Ok(())
        }
        .await)
    }

    /// Messages waiting to go and messages given up.
    pub async fn backlog(&self) -> Result<Backlog, StoreError> {
        let pending = self.messages.count_documents(doc! { "status": { "$in": ["PENDING", "SENDING"] } }).await?;
        let dead = self.messages.count_documents(doc! { "status": "DEAD" }).await?;
        Ok(Backlog { pending, dead })
    }
}
