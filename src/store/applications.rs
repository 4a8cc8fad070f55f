//! The `applications` collection: a registration for Endorsement, one per
//! portfolio that was registered. While an application is open it carries
//! `openFor` (its owner), and a unique partial index on it keeps a person
//! to one open application per association, however many registrations
//! race.

use chrono::NaiveDate;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, Identified};
use super::{Store, StoreError};
use crate::domain::association::AssociationCode;
use crate::domain::model::{Category, Track};

pub const COLLECTION: &str = "applications";

/// A coordinator let a portfolio be submitted that does not meet its
/// requirements yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allowance {
    pub reason: String,
    pub by: String,
    pub at: DateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDocument {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub owner_id: String,
    pub portfolio_id: ObjectId,
    pub category: Category,
    pub track: Track,
    /// The association's calendar day of the registration.
    pub registered_on: NaiveDate,
    pub registered_at: DateTime,
    /// The owner, while the application is open (see the module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_for: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_allowed: Option<Allowance>,
}

#[derive(Clone)]
pub struct ApplicationStore {
    store: Store,
    association: AssociationCode,
    applications: Collection<ApplicationDocument>,
    audit: Collection<Identified>,
}

impl ApplicationStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        let db = store.database();
        ApplicationStore {
            store: store.clone(),
            association: association.clone(),
            applications: db.collection(COLLECTION),
            audit: db.collection(super::audit::COLLECTION),
        }
    }

    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let applications = store.database().collection::<Document>(COLLECTION);
        let one_open = IndexModel::builder()
            .keys(doc! { "association": 1, "openFor": 1 })
            .options(
                IndexOptions::builder()
                    .name("one_open_application".to_owned())
                    .unique(true)
                    .partial_filter_expression(doc! { "openFor": { "$exists": true } })
                    .build(),
            )
            .build();
        let by_portfolio = IndexModel::builder()
            .keys(doc! { "association": 1, "portfolioId": 1 })
            .options(IndexOptions::builder().name("application_portfolio".to_owned()).unique(true).build())
            .build();
        applications.create_indexes([one_open, by_portfolio]).await?;
        Ok(())
    }

    fn tenant(&self, mut filter: Document) -> Document {
        filter.insert("association", self.association.as_str());
        filter
    }

    pub async fn of_portfolio(&self, portfolio_id: ObjectId) -> Result<Option<ApplicationDocument>, StoreError> {
        Ok(self.applications.find_one(self.tenant(doc! { "portfolioId": portfolio_id })).await?)
    }

    /// Every application of the association (reports).
    pub async fn all(&self) -> Result<Vec<ApplicationDocument>, StoreError> {
        use futures::TryStreamExt;
        Ok(self.applications.find(self.tenant(Document::new())).await?.try_collect().await?)
    }

    pub async fn open_of(&self, owner_id: &str) -> Result<Option<ApplicationDocument>, StoreError> {
        Ok(self.applications.find_one(self.tenant(doc! { "openFor": owner_id })).await?)
    }

    /// Marks an application closed (its portfolio was endorsed or
    /// withdrawn), so that its owner may register again.
    pub async fn close(&self, id: ObjectId) -> Result<(), StoreError> {
        self.applications.update_one(self.tenant(doc! { "_id": id }), doc! { "$unset": { "openFor": "" } }).await?;
        Ok(())
    }

    /// Records a coordinator's allowance with its audit record.
    pub async fn allow_incomplete_audited(
        &self,
        id: ObjectId,
        allowance: &Allowance,
        record: &AuditRecord,
    ) -> Result<Option<ApplicationDocument>, StoreError> {
        let allowance = mongodb::bson::to_bson(allowance).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (filter, update) = (self.tenant(doc! { "_id": id }), doc! { "$set": { "incompleteAllowed": allowance } });
        super::update_one_audited(&self.store, &self.audit, &self.applications, filter, update, record).await
    }
}
