//! The `endorsements` collection: one record per endorsement granted, with
//! its number (unique across the deployment), the cycle it is current
//! through and every status it has had. A record is written in the same
//! transaction as the portfolio change that grants it (see
//! [`super::portfolio::PortfolioStore::replace_if_version_audited`]); its
//! sequence number comes from the `counters` collection in that
//! transaction.

use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{ClientSession, Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::domain::association::AssociationCode;
use crate::domain::endorsement;
use crate::domain::model::{Category, EndorsementStatus, Track};

pub const COLLECTION: &str = "endorsements";
const COUNTERS: &str = "counters";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub status: EndorsementStatus,
    pub on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub by: String,
    pub at: DateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndorsementDocument {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub number: String,
    /// The endorsee's token subject.
    pub subject: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub category: Category,
    pub track: Track,
    pub portfolio_id: ObjectId,
    pub endorsed_on: NaiveDate,
    pub current_through: NaiveDate,
    pub status: EndorsementStatus,
    /// Oldest first; the last is `status`.
    pub history: Vec<StatusChange>,
}

/// An endorsement to grant: everything but its number.
#[derive(Debug, Clone)]
pub struct Grant {
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub category: Category,
    pub track: Track,
    pub portfolio_id: ObjectId,
    pub endorsed_on: NaiveDate,
    pub by: String,
}

/// Numbers and writes `grant` within `session`'s transaction.
pub(crate) async fn grant_in(
    store: &Store,
    association: &AssociationCode,
    grant: &Grant,
    session: &mut ClientSession,
) -> Result<EndorsementDocument, mongodb::error::Error> {
    let counters = store.database().collection::<Document>(COUNTERS);
    let key = format!("endorsement:{}", association.as_str());
    let counter = counters
        .find_one_and_update(doc! { "_id": &key }, doc! { "$inc": { "seq": 1_i64 } })
        .upsert(true)
        .return_document(ReturnDocument::After)
        .session(&mut *session)
        .await?;
    let sequence = counter.and_then(|c| c.get_i64("seq").ok()).unwrap_or(1);
    let record = EndorsementDocument {
        id: ObjectId::new(),
        association: association.clone(),
        number: endorsement::number(association, grant.category, grant.track, sequence),
        subject: grant.subject.clone(),
        name: grant.name.clone(),
        email: grant.email.clone(),
        category: grant.category,
        track: grant.track,
        portfolio_id: grant.portfolio_id,
        endorsed_on: grant.endorsed_on,
        current_through: endorsement::cycle_end(grant.endorsed_on),
        status: EndorsementStatus::Current,
        history: vec![StatusChange {
            status: EndorsementStatus::Current,
            on: grant.endorsed_on,
            reason: None,
            by: grant.by.clone(),
            at: DateTime::now(),
        }],
    };
    store.database().collection::<EndorsementDocument>(COLLECTION).insert_one(&record).session(&mut *session).await?;
    Ok(record)
}

#[derive(Clone)]
pub struct EndorsementStore {
    association: AssociationCode,
    endorsements: Collection<EndorsementDocument>,
}

impl EndorsementStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        EndorsementStore { association: association.clone(), endorsements: store.database().collection(COLLECTION) }
    }

    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let endorsements = store.database().collection::<Document>(COLLECTION);
        let by_number = IndexModel::builder()
            .keys(doc! { "number": 1 })
            .options(IndexOptions::builder().name("endorsement_number".to_owned()).unique(true).build())
            .build();
        let by_subject = IndexModel::builder()
            .keys(doc! { "association": 1, "subject": 1 })
            .options(IndexOptions::builder().name("endorsement_subject".to_owned()).build())
            .build();
        endorsements.create_indexes([by_number, by_subject]).await?;
        Ok(())
    }

    /// Every endorsement of `subject` here, oldest first.
    pub async fn of_subject(&self, subject: &str) -> Result<Vec<EndorsementDocument>, StoreError> {
        let filter = doc! { "association": self.association.as_str(), "subject": subject };
        Ok(self.endorsements.find(filter).sort(doc! { "endorsedOn": 1 }).await?.try_collect().await?)
    }

    /// Every endorsement of the association (reports).
    pub async fn all(&self) -> Result<Vec<EndorsementDocument>, StoreError> {
        Ok(self.endorsements.find(doc! { "association": self.association.as_str() }).await?.try_collect().await?)
    }

    pub async fn of_portfolio(&self, portfolio_id: ObjectId) -> Result<Option<EndorsementDocument>, StoreError> {
        let filter = doc! { "association": self.association.as_str(), "portfolioId": portfolio_id };
        Ok(self.endorsements.find_one(filter).await?)
    }
}
