//! The `evidence` collection: one record per uploaded file.

use std::collections::HashSet;

use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Document, doc, oid::ObjectId};

use super::{Store, StoreError};

pub const COLLECTION: &str = "evidence";

#[derive(Clone)]
pub struct EvidenceStore {
    collection: Collection<Document>,
}

impl EvidenceStore {
    pub fn new(store: &Store) -> Self {
        EvidenceStore { collection: store.database().collection(COLLECTION) }
    }

    /// Ids of every evidence record of a portfolio.
    pub async fn ids_of(&self, portfolio_id: ObjectId) -> Result<HashSet<String>, StoreError> {
        let cursor = self.collection.find(doc! { "portfolioId": portfolio_id }).projection(doc! { "_id": 1 }).await?;
        let records: Vec<Document> = cursor.try_collect().await?;
        Ok(records.iter().filter_map(|r| r.get_object_id("_id").ok()).map(|id| id.to_hex()).collect())
    }
}
