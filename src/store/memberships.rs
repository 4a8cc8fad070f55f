//! The `memberships` collection: the association's own membership records,
//! imported from its member list or entered by staff. A person is known by
//! their email address (lowercased), as the member list knows them; one
//! record per person and first day, so importing the same list again
//! changes nothing.

use std::collections::HashMap;

use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, Identified};
use super::{Store, StoreError, in_transaction};
use crate::domain::association::AssociationCode;
use crate::domain::fees::Money;
use crate::domain::model::{MembershipRecordRef, MembershipType};

pub const COLLECTION: &str = "memberships";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipRecord {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    /// Lowercased.
    pub email: String,
    pub name: String,
    pub kind: MembershipType,
    pub valid_from: NaiveDate,
    /// Inclusive: valid through this day.
    pub valid_until: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_paid: Option<Money>,
    /// "IMPORTED" or "ENTERED".
    pub source: String,
    pub recorded_by: String,
    pub recorded_at: DateTime,
}

impl MembershipRecord {
    pub fn as_ref(&self) -> MembershipRecordRef {
        MembershipRecordRef { kind: self.kind, valid_from: self.valid_from, valid_until: self.valid_until }
    }
}

#[derive(Clone)]
pub struct MembershipStore {
    store: Store,
    association: AssociationCode,
    memberships: Collection<MembershipRecord>,
    audit: Collection<Identified>,
}

impl MembershipStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        let db = store.database();
        MembershipStore {
            store: store.clone(),
            association: association.clone(),
            memberships: db.collection(COLLECTION),
            audit: db.collection(super::audit::COLLECTION),
        }
    }

    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let memberships = store.database().collection::<Document>(COLLECTION);
        let one_per_start = IndexModel::builder()
            .keys(doc! { "association": 1, "email": 1, "validFrom": 1 })
            .options(IndexOptions::builder().name("membership_person_start".to_owned()).unique(true).build())
            .build();
        memberships.create_indexes([one_per_start]).await?;
        Ok(())
    }

    /// Every record of `email` (any case), latest first.
    pub async fn for_email(&self, email: &str) -> Result<Vec<MembershipRecord>, StoreError> {
        let filter = doc! { "association": self.association.as_str(), "email": email.to_lowercase() };
        Ok(self.memberships.find(filter).sort(doc! { "validUntil": -1 }).await?.try_collect().await?)
    }

    /// Every record of the association, by email (for reports that
    /// evaluate every portfolio).
    pub async fn all_by_email(&self) -> Result<HashMap<String, Vec<MembershipRecordRef>>, StoreError> {
        let mut by_email: HashMap<String, Vec<MembershipRecordRef>> = HashMap::new();
        // Latest first, as `for_email` reads them: the records are part of
        // a kept evaluation's key, so every reader orders them alike.
        let mut cursor = self
            .memberships
            .find(doc! { "association": self.association.as_str() })
            .sort(doc! { "validUntil": -1 })
            .await?;
        while let Some(record) = cursor.try_next().await? {
            by_email.entry(record.email.clone()).or_default().push(record.as_ref());
        }
        Ok(by_email)
    }

    /// The records of `emails` (lowercase), by email: one query for a
    /// page of applicants.
    pub async fn by_emails(&self, emails: &[String]) -> Result<HashMap<String, Vec<MembershipRecordRef>>, StoreError> {
        let mut by_email: HashMap<String, Vec<MembershipRecordRef>> = HashMap::new();
        if emails.is_empty() {
            return Ok(by_email);
        }
        let filter = doc! { "association": self.association.as_str(), "email": { "$in": emails } };
        let mut cursor = self.memberships.find(filter).sort(doc! { "validUntil": -1 }).await?;
        while let Some(record) = cursor.try_next().await? {
            by_email.entry(record.email.clone()).or_default().push(record.as_ref());
        }
        Ok(by_email)
    }

    /// Writes `records` (each replacing the one of the same person and
    /// first day) with one audit record, all or none.
    pub async fn put_all_audited(&self, records: &[MembershipRecord], record: &AuditRecord) -> Result<(), StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            for membership in records {
                let same = doc! {
                    "association": membership.association.as_str(),
                    "email": &membership.email,
                    "validFrom": membership.valid_from.to_string(),
                };
                let mut replacement = membership.clone();
                // An existing record keeps its id.
                let existing =
                    self.memberships.find_one(same.clone()).session(&mut *session).await?.map(|found| found.id);
                replacement.id = existing.unwrap_or(membership.id);
                self.memberships.replace_one(same, &replacement).upsert(true).session(&mut *session).await?;
            }
            Ok(((), true))
        }
        .await)
    }
}
