//! Idempotency keys (S22): the first response to a mutation sent with an
//! `Idempotency-Key` is kept for 24 hours and replayed for the same key and
//! the same request; the same key with another request is refused. A key
//! is claimed by inserting its record (the unique `_id` makes concurrent
//! claims race safely: exactly one wins and runs the mutation, the others
//! wait for its response).

use mongodb::bson::{DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

pub const COLLECTION: &str = "idempotency_keys";

/// How long a response is kept (the TTL index removes it after that).
pub const RETENTION_SECONDS: u64 = 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct KeyRecord {
    /// Caller scope and key, separated by U+001F (which a key cannot contain).
    #[serde(rename = "_id")]
    id: String,
    /// SHA-256 of the request (operation name, query, variables).
    fingerprint: String,
    /// The response body (JSON), once the first request finished.
    #[serde(default)]
    response: Option<String>,
    created_at: DateTime,
}

/// What claiming a key found.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// The key is new: run the request, then [`IdempotencyStore::finish`].
    Fresh,
    /// The same request finished before: its response body.
    Replay(String),
    /// The same request is still running elsewhere.
    InProgress,
    /// The key was used for another request.
    Mismatch,
}

#[derive(Clone)]
pub struct IdempotencyStore {
    collection: Collection<KeyRecord>,
}

fn record_id(scope: &str, key: &str) -> String {
    format!("{scope}\u{1f}{key}")
}

impl IdempotencyStore {
    pub fn new(store: &Store) -> Self {
        IdempotencyStore { collection: store.database().collection(COLLECTION) }
    }

    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let expiry = IndexModel::builder()
            .keys(doc! { "createdAt": 1 })
            .options(
                IndexOptions::builder()
                    .name("expiry".to_owned())
                    .expire_after(std::time::Duration::from_secs(RETENTION_SECONDS))
                    .build(),
            )
            .build();
        self.collection.create_index(expiry).await?;
        Ok(())
    }

    /// Claims `key` for this request, or tells what an earlier one left.
    /// `stale_after_ms`: a claim older than this without a response belongs
    /// to a request that died (crash, lost connection) and is taken over.
    pub async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        stale_after_ms: i64,
    ) -> Result<Claim, StoreError> {
        let id = record_id(scope, key);
        let record = KeyRecord {
            id: id.clone(),
            fingerprint: fingerprint.to_owned(),
            response: None,
            created_at: DateTime::now(),
        };
        match self.collection.insert_one(&record).await {
            Ok(_) => return Ok(Claim::Fresh),
            Err(error) => match StoreError::from(error) {
                StoreError::Duplicate(_) => {}
                other => return Err(other),
            },
        }
        let Some(existing) = self.collection.find_one(doc! { "_id": &id }).await? else {
            // Expired between the insert and the read: claim it again.
            return Box::pin(self.claim(scope, key, fingerprint, stale_after_ms)).await;
        };
        if existing.fingerprint != fingerprint {
            return Ok(Claim::Mismatch);
        }
        if let Some(response) = existing.response {
            return Ok(Claim::Replay(response));
        }
        let stale = DateTime::from_millis(DateTime::now().timestamp_millis() - stale_after_ms);
        if existing.created_at < stale {
            let taken = self
                .collection
                .update_one(
                    doc! { "_id": &id, "response": null, "createdAt": existing.created_at },
                    doc! { "$set": { "createdAt": DateTime::now() } },
                )
                .await?;
            if taken.modified_count == 1 {
                return Ok(Claim::Fresh);
            }
        }
        Ok(Claim::InProgress)
    }

    /// Keeps the response of the request that claimed `key`.
    pub async fn finish(&self, scope: &str, key: &str, response: &str) -> Result<(), StoreError> {
        self.collection
            .update_one(doc! { "_id": record_id(scope, key) }, doc! { "$set": { "response": response } })
            .await?;
        Ok(())
    }

    /// Gives `key` up, so that a retry runs again (the request failed in a
    /// way that changed nothing worth replaying: unavailable, timed out).
    pub async fn release(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        self.collection.delete_one(doc! { "_id": record_id(scope, key), "response": null }).await?;
        Ok(())
    }
}
