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

use super::audit::{AuditRecord, Identified};
use super::{Store, StoreError, in_transaction};
use crate::domain::association::AssociationCode;
use crate::domain::model::{Category, EndorsementStatus, Track};
use crate::domain::{credential, endorsement};

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
    /// Its place in the association's status lists, given when its first
    /// credential is issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_index: Option<u32>,
    /// What the endorsee chose to show on the registry besides their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<RegistryListing>,
    /// The name as the registry sorts it (see [`endorsement::sort_name`]).
    #[serde(default)]
    pub sort_name: String,
    /// The name's words as the registry searches them.
    #[serde(default)]
    pub search_words: Vec<String>,
}

/// Shown on the registry only because the endorsee opted in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryListing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
}

/// Which current endorsements a registry page lists.
#[derive(Debug, Clone, Default)]
pub struct RegistryFilter {
    /// Every word must begin one of the name's words (normalised).
    pub words: Vec<String>,
    pub category: Option<Category>,
    pub track: Option<Track>,
    /// After this (sort name, id): the cursor of the previous page.
    pub after: Option<(String, ObjectId)>,
}

/// The windows of sort names a registry listing reads, in order, from
/// `from` on: up to the next letter of the alphabet at a time, then
/// everything after `z` in one (names are lowercase), so that no server
/// sorts more than a letter's names for one page.
pub fn name_windows(from: &str) -> Vec<(String, Option<String>)> {
    let boundaries: Vec<String> = ('a'..='z').chain(['{']).map(String::from).collect();
    let mut windows = Vec::new();
    let mut low = from.to_owned();
    for boundary in boundaries {
        if boundary.as_str() > low.as_str() {
            windows.push((low, Some(boundary.clone())));
            low = boundary;
        }
    }
    windows.push((low, None));
    windows
}

impl RegistryFilter {
    /// Whether `record` (a current endorsement of the association) is on
    /// the page this filter asks for.
    pub fn admits(&self, record: &EndorsementDocument) -> bool {
        self.category.is_none_or(|category| record.category == category)
            && self.track.is_none_or(|track| record.track == track)
            && self.words.iter().all(|word| record.search_words.iter().any(|own| own.starts_with(word.as_str())))
            && self.after.as_ref().is_none_or(|(name, id)| (&record.sort_name, record.id) > (name, *id))
    }
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
    /// The end of the renewal cycle `endorsed_on` falls in.
    pub current_through: NaiveDate,
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
        current_through: grant.current_through,
        status: EndorsementStatus::Current,
        history: vec![StatusChange {
            status: EndorsementStatus::Current,
            on: grant.endorsed_on,
            reason: None,
            by: grant.by.clone(),
            at: DateTime::now(),
        }],
        status_index: None,
        listing: None,
        sort_name: endorsement::sort_name(&grant.name),
        search_words: endorsement::search_words(&grant.name),
    };
    store.database().collection::<EndorsementDocument>(COLLECTION).insert_one(&record).session(&mut *session).await?;
    Ok(record)
}

/// Endorsements by number, across associations: numbers are unique in a
/// deployment, and a verifier does not say whose it is.
pub async fn by_number(store: &Store, number: &str) -> Result<Option<EndorsementDocument>, StoreError> {
    let endorsements = store.database().collection::<EndorsementDocument>(COLLECTION);
    Ok(endorsements.find_one(doc! { "number": number }).await?)
}

#[derive(Clone)]
pub struct EndorsementStore {
    store: Store,
    association: AssociationCode,
    endorsements: Collection<EndorsementDocument>,
    audit: Collection<Identified>,
}

impl EndorsementStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        let db = store.database();
        EndorsementStore {
            store: store.clone(),
            association: association.clone(),
            endorsements: db.collection(COLLECTION),
            audit: db.collection(super::audit::COLLECTION),
        }
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
        // The registry: current endorsements of an association in name
        // order, and its name search (anchored prefixes use the index).
        let registry = IndexModel::builder()
            .keys(doc! { "association": 1, "status": 1, "sortName": 1, "_id": 1 })
            .options(IndexOptions::builder().name("endorsement_registry".to_owned()).build())
            .build();
        let by_word = IndexModel::builder()
            .keys(doc! { "association": 1, "status": 1, "searchWords": 1 })
            .options(IndexOptions::builder().name("endorsement_search".to_owned()).build())
            .build();
        endorsements.create_indexes([by_number, by_subject, registry, by_word]).await?;
        Ok(())
    }

    /// Every endorsement of `subject` here, oldest first.
    pub async fn of_subject(&self, subject: &str) -> Result<Vec<EndorsementDocument>, StoreError> {
        let filter = doc! { "association": self.association.as_str(), "subject": subject };
        Ok(self.endorsements.find(filter).sort(doc! { "endorsedOn": 1 }).await?.try_collect().await?)
    }

    /// Every endorsement here of any of `subjects` (a page of applicants).
    pub async fn of_subjects(&self, subjects: &[String]) -> Result<Vec<EndorsementDocument>, StoreError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let filter = doc! { "association": self.association.as_str(), "subject": { "$in": subjects } };
        // Oldest first, as `of_subject` reads them (they are part of a kept
        // evaluation's key).
        Ok(self.endorsements.find(filter).sort(doc! { "endorsedOn": 1 }).await?.try_collect().await?)
    }

    /// Every endorsement of the association (reports).
    pub async fn all(&self) -> Result<Vec<EndorsementDocument>, StoreError> {
        let all = self.endorsements.find(doc! { "association": self.association.as_str() });
        Ok(all.sort(doc! { "endorsedOn": 1 }).await?.try_collect().await?)
    }

    pub async fn get(&self, id: ObjectId) -> Result<Option<EndorsementDocument>, StoreError> {
        Ok(self.endorsements.find_one(doc! { "_id": id, "association": self.association.as_str() }).await?)
    }

    /// A page of the registry: current endorsements matching `filter`, in
    /// name order, at most `limit`.
    ///
    /// The server is sent only what the registry's indexes answer: the
    /// prefix range of the longest search word on `searchWords`, or, with
    /// no search, a window of names on `sortName` (see [`name_windows`]).
    /// The rest of the filter (other words, category, track, the cursor's
    /// tie on `_id`) is applied here while the sorted candidates stream
    /// in. Measured on the local MongoDB-protocol server, any predicate
    /// beside an index's keys (an `$and` of two prefixes, an `$or` for the
    /// cursor, the category) made it scan the whole collection, and it
    /// sorts whatever matches before returning the first row
    /// (`cargo bench --bench registry`).
    pub async fn registry(&self, filter: &RegistryFilter, limit: i64) -> Result<Vec<EndorsementDocument>, StoreError> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let base = doc! { "association": self.association.as_str(), "status": EndorsementStatus::Current.as_str() };
        let mut page: Vec<EndorsementDocument> = Vec::new();
        if let Some(word) = filter.words.iter().max_by_key(|word| word.chars().count()) {
            let mut query = base;
            // Words are normalised to letters and digits; every string
            // that begins with `word` sorts below `word` + U+10FFFF.
            query.insert("searchWords", doc! { "$gte": word, "$lt": format!("{word}\u{10FFFF}") });
            self.fill(query, filter, limit, &mut page).await?;
            return Ok(page);
        }
        let from = filter.after.as_ref().map_or("", |(name, _)| name.as_str());
        for (low, high) in name_windows(from) {
            let mut range = doc! { "$gte": low };
            if let Some(high) = high {
                range.insert("$lt", high);
            }
            let mut query = base.clone();
            query.insert("sortName", range);
            if self.fill(query, filter, limit, &mut page).await? {
                break;
            }
        }
        Ok(page)
    }

    /// Adds what `query` finds and `filter` admits to `page`, in name
    /// order, until it holds `limit`; whether it does.
    async fn fill(
        &self,
        query: Document,
        filter: &RegistryFilter,
        limit: usize,
        page: &mut Vec<EndorsementDocument>,
    ) -> Result<bool, StoreError> {
        let mut cursor = self.endorsements.find(query).sort(doc! { "sortName": 1, "_id": 1 }).await?;
        while page.len() < limit {
            let Some(record) = cursor.try_next().await? else { return Ok(false) };
            // A multikey range may meet one document through two words.
            if filter.admits(&record) && page.last().is_none_or(|last| last.id != record.id) {
                page.push(record);
            }
        }
        Ok(true)
    }

    /// Gives the endorsement its place in the status lists, once; the place
    /// it has either way.
    pub async fn status_index(&self, id: ObjectId) -> Result<u32, StoreError> {
        if let Some(index) = self.get(id).await?.and_then(|e| e.status_index) {
            return Ok(index);
        }
        let counters = self.store.database().collection::<Document>(COUNTERS);
        let key = format!("statuslist:{}", self.association.as_str());
        let counter = counters
            .find_one_and_update(doc! { "_id": &key }, doc! { "$inc": { "seq": 1_i64 } })
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await?;
        let next = counter.and_then(|c| c.get_i64("seq").ok()).unwrap_or(1) - 1;
        let index = u32::try_from(next)
            .ok()
            .filter(|i| (*i as usize) < credential::STATUS_LIST_SIZE)
            .ok_or_else(|| StoreError::Corrupt(format!("the status list of {} is full", self.association.as_str())))?;
        let filter = doc! { "_id": id, "association": self.association.as_str(), "statusIndex": { "$exists": false } };
        self.endorsements.update_one(filter, doc! { "$set": { "statusIndex": index as i64 } }).await?;
        // A concurrent first issue may have won: its place stands.
        self.get(id).await?.and_then(|e| e.status_index).ok_or(StoreError::Corrupt("an endorsement vanished".into()))
    }

    /// The places set in the association's list for `purpose`.
    pub async fn status_list(&self, purpose: credential::StatusPurpose) -> Result<Vec<u32>, StoreError> {
        let statuses: Vec<&str> = [
            EndorsementStatus::Lapsed,
            EndorsementStatus::Inactive,
            EndorsementStatus::Revoked,
            EndorsementStatus::Withdrawn,
        ]
        .into_iter()
        .filter(|status| purpose.is_set_for(*status))
        .map(EndorsementStatus::as_str)
        .collect();
        let filter = doc! {
            "association": self.association.as_str(),
            "statusIndex": { "$exists": true },
            "status": { "$in": statuses },
        };
        let found: Vec<EndorsementDocument> = self.endorsements.find(filter).await?.try_collect().await?;
        Ok(found.into_iter().filter_map(|e| e.status_index).collect())
    }

    /// Moves the endorsement from `from` to `change.status`, with its audit
    /// record; `None` when it is no longer in `from` (a concurrent change).
    pub async fn change_status_audited(
        &self,
        id: ObjectId,
        from: EndorsementStatus,
        change: &StatusChange,
        record: &AuditRecord,
    ) -> Result<Option<EndorsementDocument>, StoreError> {
        let filter = doc! { "_id": id, "association": self.association.as_str(), "status": from.as_str() };
        let change_bson = mongodb::bson::to_bson(change).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let update = doc! { "$set": { "status": change.status.as_str() }, "$push": { "history": change_bson } };
        let changed = in_transaction!(&self.store, &self.audit, record, |session| async {
            let result = self.endorsements.update_one(filter.clone(), update.clone()).session(&mut *session).await?;
            Ok(((), result.modified_count == 1))
        }
        .await);
        changed?;
        let now = self.get(id).await?;
        Ok(now.filter(|e| e.status == change.status && e.history.last() == Some(change)))
    }

    /// Sets what the registry shows besides the name.
    pub async fn set_listing(
        &self,
        id: ObjectId,
        listing: &RegistryListing,
    ) -> Result<Option<EndorsementDocument>, StoreError> {
        let filter = doc! { "_id": id, "association": self.association.as_str() };
        let update = if *listing == RegistryListing::default() {
            doc! { "$unset": { "listing": "" } }
        } else {
            let value = mongodb::bson::to_bson(listing).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            doc! { "$set": { "listing": value } }
        };
        Ok(self.endorsements.find_one_and_update(filter, update).return_document(ReturnDocument::After).await?)
    }

    pub async fn of_portfolio(&self, portfolio_id: ObjectId) -> Result<Option<EndorsementDocument>, StoreError> {
        let filter = doc! { "association": self.association.as_str(), "portfolioId": portfolio_id };
        Ok(self.endorsements.find_one(filter).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::name_windows;

    #[test]
    fn name_windows_cover_every_name_from_the_cursor_on_once() {
        let windows = name_windows("");
        assert_eq!(windows.len(), 28);
        assert_eq!(windows[0], (String::new(), Some("a".to_owned())));
        assert_eq!(windows[1], ("a".to_owned(), Some("b".to_owned())));
        assert_eq!(windows.last(), Some(&("{".to_owned(), None)));
        let from_mid = name_windows("maya m3 kim");
        assert_eq!(from_mid[0], ("maya m3 kim".to_owned(), Some("n".to_owned())));
        assert_eq!(from_mid.len(), 15);
        assert_eq!(name_windows("zoë"), [("zoë".to_owned(), Some("{".to_owned())), ("{".to_owned(), None)]);
        assert_eq!(name_windows("émile"), [("émile".to_owned(), None)]);
        // Each window starts where the one before ends: nothing is skipped.
        for pair in windows.windows(2) {
            assert_eq!(pair[0].1.as_deref(), Some(pair[1].0.as_str()));
        }
    }
}
