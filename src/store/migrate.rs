//! Migrations of stored data. Documents written before associations
//! existed carry none: they belong to the deployment's default association.
//! Idempotent and safe to run from several instances at once (each update
//! only touches documents still without an association). Start-up runs it
//! once per database (a marker in `migrations` says it ran: the search for
//! documents without the field reads whole collections); `endorse migrate`
//! runs it again, e.g. after instances of an older build wrote more.

use mongodb::bson::{Document, doc};

use super::{Store, StoreError, audit, evidence, portfolio};

/// Markers of migrations that ran, by name.
pub const COLLECTION: &str = "migrations";
const ASSIGN_ASSOCIATION: &str = "assign-association";
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

/// [`assign_association`] unless it ran on this database before; `None`
/// when it had.
pub async fn assign_association_once(store: &Store, default: &AssociationCode) -> Result<Option<Migrated>, StoreError> {
    let markers = store.database().collection::<Document>(COLLECTION);
    if markers.find_one(doc! { "_id": ASSIGN_ASSOCIATION }).await?.is_some() {
        return Ok(None);
    }
    let migrated = assign_association(store, default).await?;
    let marker = doc! { "$set": { "to": default.as_str(), "at": mongodb::bson::DateTime::now() } };
    markers.update_one(doc! { "_id": ASSIGN_ASSOCIATION }, marker).upsert(true).await?;
    Ok(Some(migrated))
}
