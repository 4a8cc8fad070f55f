//! The append-only audit log: who did what, when, to which target, with what
//! result, under which request id. Written by one mechanism (the GraphQL
//! audit extension) so that no mutation can forget it.

use mongodb::bson::{self, DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

pub const COLLECTION: &str = "audit_log";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The JWT subject, or "anonymous".
    pub actor: String,
    pub roles: Vec<String>,
    /// The mutation (or audited read), e.g. "changePortfolio".
    pub action: String,
    /// The main object acted on, when there is one.
    pub target: Option<String>,
    /// "ok", or the error code the caller received.
    pub result: String,
    pub request_id: String,
    pub at: DateTime,
}

#[derive(Clone)]
pub struct AuditLog {
    collection: Collection<AuditRecord>,
}

impl AuditLog {
    pub fn new(store: &Store) -> Self {
        AuditLog { collection: store.database().collection(COLLECTION) }
    }

    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_target = IndexModel::builder()
            .keys(doc! { "target": 1, "at": -1 })
            .options(IndexOptions::builder().name("target_at".to_owned()).build())
            .build();
        let by_actor = IndexModel::builder()
            .keys(doc! { "actor": 1, "at": -1 })
            .options(IndexOptions::builder().name("actor_at".to_owned()).build())
            .build();
        self.collection.create_indexes([by_target, by_actor]).await?;
        Ok(())
    }

    pub async fn append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.collection.insert_one(record).await?;
        Ok(())
    }

    pub async fn append_all(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        if !records.is_empty() {
            self.collection.insert_many(records).await?;
        }
        Ok(())
    }

    /// Newest first, optionally for one target or one actor.
    pub async fn recent(
        &self,
        target: Option<&str>,
        actor: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut filter = bson::Document::new();
        if let Some(target) = target {
            filter.insert("target", target);
        }
        if let Some(actor) = actor {
            filter.insert("actor", actor);
        }
        let mut cursor = self.collection.find(filter).sort(doc! { "at": -1, "_id": -1 }).limit(limit).await?;
        let mut records = Vec::new();
        while cursor.advance().await? {
            records.push(cursor.deserialize_current()?);
        }
        Ok(records)
    }
}
