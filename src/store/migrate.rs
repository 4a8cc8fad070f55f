//! Migrations of stored data. Documents written before associations
//! existed carry none: they belong to the deployment's default association.
//! Idempotent and safe to run from several instances at once (each update
//! only touches documents still without an association).

use mongodb::bson::{Document, doc};

use super::{Store, StoreError, audit, evidence, portfolio};
use crate::domain::association::AssociationCode;

/// How many documents of each collection a migration changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub portfolios: u64,
    pub evidence: u64,
    pub audit_records: u64,
}

impl Migrated {
    pub fn total(&self) -> u64 {
        self.portfolios + self.evidence + self.audit_records
    }
}

/// Gives every document without an association to `default`.
pub async fn assign_association(store: &Store, default: &AssociationCode) -> Result<Migrated, StoreError> {
    let assign = |name: &'static str| async move {
        let collection = store.database().collection::<Document>(name);
        let filter = doc! { "association": { "$exists": false } };
        let update = doc! { "$set": { "association": default.as_str() } };
        Ok::<u64, StoreError>(collection.update_many(filter, update).await?.modified_count)
    };
    Ok(Migrated {
        portfolios: assign(portfolio::COLLECTION).await?,
        evidence: assign(evidence::COLLECTION).await?,
        audit_records: assign(audit::COLLECTION).await?,
    })
}
