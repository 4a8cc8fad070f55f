//! Portfolios decoded, kept while their stored bytes stay the same.
//!
//! Decoding a whole stored portfolio (BSON into the model: every string
//! checked as UTF-8 and copied, every date parsed) was a fifth of the
//! server's CPU for a full read (`perf`, 67 entries, about 17 KB). A
//! portfolio is read far more often than it changes: the applicant's app
//! opening it again, reviewers going back to it, every subscriber reading
//! it after each change. So the decoded form of a whole document is kept
//! together with the bytes it was decoded from, and a read that fetches
//! exactly those bytes again shares it.
//!
//! The database is still asked on every read, and access and the
//! association are still checked on what it returns; only the decoding is
//! saved. Same bytes, same document: a kept one is never stale, whatever
//! wrote to the database in between, and the bytes name the association
//! (documents from before associations, which do not, are never kept).
//! Documents are kept up to a budget of stored bytes, least recently read
//! out first.

use std::sync::{Arc, Mutex};

use mongodb::bson::RawDocument;
use mongodb::bson::RawDocumentBuf;
use mongodb::bson::oid::ObjectId;

use super::portfolio::PortfolioDocument;

/// No single document takes more than this share of the budget, so that a
/// few very large portfolios do not push out all the others.
const LARGEST_SHARE: usize = 8;

pub struct DecodedPortfolios {
    /// Stored bytes kept at most (0 keeps none). The decoded copies take
    /// about twice as much again.
    budget: usize,
    kept: Mutex<Kept>,
}

struct Kept {
    entries: lru::LruCache<ObjectId, Entry>,
    bytes: usize,
}

struct Entry {
    raw: RawDocumentBuf,
    document: Arc<PortfolioDocument>,
}

impl DecodedPortfolios {
    pub fn new(budget: usize) -> Self {
        DecodedPortfolios { budget, kept: Mutex::new(Kept { entries: lru::LruCache::unbounded(), bytes: 0 }) }
    }

    /// The document decoded from exactly `raw`, when it is kept.
    pub fn get(&self, id: ObjectId, raw: &RawDocument) -> Option<Arc<PortfolioDocument>> {
        if self.budget == 0 {
            return None;
        }
        let mut kept = self.lock();
        let entry = kept.entries.get(&id)?;
        (entry.raw.as_bytes() == raw.as_bytes()).then(|| entry.document.clone())
    }

    /// Keeps `document`, decoded from `raw`, in place of the one kept for
    /// `id`, evicting the least recently read ones beyond the budget.
    pub fn keep(&self, id: ObjectId, raw: RawDocumentBuf, document: Arc<PortfolioDocument>) {
        if self.budget == 0 {
            return;
        }
        let size = raw.as_bytes().len();
        // Dropped after the lock is released: one may be the last
        // reference to a large document.
        let mut gone = Vec::new();
        let mut kept = self.lock();
        if size > self.budget / LARGEST_SHARE {
            // Too large to keep; neither is its older version of any use.
            if let Some(older) = kept.entries.pop(&id) {
                kept.bytes -= older.raw.as_bytes().len();
                gone.push(older);
            }
            return;
        }
        let entry = Entry { raw, document };
        if let Some(replaced) = kept.entries.put(id, entry) {
            kept.bytes -= replaced.raw.as_bytes().len();
            gone.push(replaced);
        }
        kept.bytes += size;
        while kept.bytes > self.budget {
            let Some((_, evicted)) = kept.entries.pop_lru() else { break };
            kept.bytes -= evicted.raw.as_bytes().len();
            gone.push(evicted);
        }
        drop(kept);
        drop(gone);
    }

    /// The kept documents. Every change under the lock leaves them
    /// consistent, so a panic elsewhere while it was held does not turn
    /// the cache off.
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stored bytes kept now.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::rawdoc;

    use super::*;
    use crate::domain::association::AssociationCode;
    use crate::domain::model::{Category, Portfolio, PortfolioStatus, Track};

    fn document(id: ObjectId, version: i32) -> Arc<PortfolioDocument> {
        Arc::new(PortfolioDocument {
            id,
            association: AssociationCode::nys_aimh(),
            owner_id: "owner".into(),
            status: PortfolioStatus::Draft,
            schema_version: 1,
            version,
            applicant: None,
            created_at: None,
            updated_at: None,
            submitted_at: None,
            decided_at: None,
            endorsed_at: None,
            review_note: None,
            extra: None,
            content: Portfolio::new(Track::Infant, Category::FamilyAssociate),
        })
    }

    fn raw(id: ObjectId, version: i32) -> RawDocumentBuf {
        raw_of(&AssociationCode::nys_aimh(), id, version)
    }

    fn raw_of(association: &AssociationCode, id: ObjectId, version: i32) -> RawDocumentBuf {
        rawdoc! { "_id": id, "association": association.as_str(), "version": version, "padding": "x".repeat(100) }
    }

    #[test]
    fn only_the_same_bytes_of_the_same_association_share_a_kept_document() {
        let kept = DecodedPortfolios::new(10_000);
        let id = ObjectId::new();
        kept.keep(id, raw(id, 1), document(id, 1));
        assert_eq!(kept.get(id, &raw(id, 1)).map(|d| d.version), Some(1));
        assert!(kept.get(id, &raw(id, 2)).is_none(), "changed bytes");
        let other = AssociationCode::parse("mi-aimh").unwrap();
        assert!(kept.get(id, &raw_of(&other, id, 1)).is_none(), "another association");
        assert!(kept.get(ObjectId::new(), &raw(id, 1)).is_none(), "another id");
    }

    #[test]
    fn keeps_within_the_budget_least_recently_read_out_first() {
        let size = raw(ObjectId::new(), 1).as_bytes().len();
        // Room for exactly LARGEST_SHARE documents of this size.
        let kept = DecodedPortfolios::new(size * LARGEST_SHARE);
        let ids: Vec<ObjectId> = (0..=LARGEST_SHARE).map(|_| ObjectId::new()).collect();
        let is_kept = |id: &ObjectId| kept.get(*id, &raw(*id, 1)).is_some();
        for id in &ids[..LARGEST_SHARE] {
            kept.keep(*id, raw(*id, 1), document(*id, 1));
        }
        assert!(ids[..LARGEST_SHARE].iter().all(is_kept));
        // Read in order: the first is the least recently read. Read again,
        // it is the most recent, and one more document pushes out the second.
        assert!(is_kept(&ids[0]));
        kept.keep(ids[LARGEST_SHARE], raw(ids[LARGEST_SHARE], 1), document(ids[LARGEST_SHARE], 1));
        let still: Vec<bool> = ids.iter().map(is_kept).collect();
        assert!(!still[1], "{still:?}");
        assert_eq!(still.iter().filter(|kept| **kept).count(), LARGEST_SHARE, "{still:?}");
    }

    #[test]
    fn keeps_nothing_without_a_budget_nor_a_document_over_its_share() {
        let id = ObjectId::new();
        let none = DecodedPortfolios::new(0);
        none.keep(id, raw(id, 1), document(id, 1));
        assert!(none.get(id, &raw(id, 1)).is_none());
        let size = raw(id, 1).as_bytes().len();
        let tight = DecodedPortfolios::new(size * LARGEST_SHARE - 1);
        tight.keep(id, raw(id, 1), document(id, 1));
        assert!(tight.get(id, &raw(id, 1)).is_none());
    }

    #[test]
    fn a_new_version_takes_the_place_of_the_old_and_an_outgrown_one_is_let_go() {
        let id = ObjectId::new();
        let size = raw(id, 1).as_bytes().len();
        let kept = DecodedPortfolios::new(size * LARGEST_SHARE);
        kept.keep(id, raw(id, 1), document(id, 1));
        kept.keep(id, raw(id, 2), document(id, 2));
        assert_eq!(kept.bytes(), size, "the older version is no longer counted");
        assert!(kept.get(id, &raw(id, 1)).is_none());
        assert_eq!(kept.get(id, &raw(id, 2)).map(|d| d.version), Some(2));

        let grown = rawdoc! { "_id": id, "version": 3, "padding": "x".repeat(size * 2) };
        kept.keep(id, grown.clone(), document(id, 3));
        assert!(kept.get(id, &grown).is_none());
        assert!(kept.get(id, &raw(id, 2)).is_none(), "the outgrown document's older version is let go");
        assert_eq!(kept.bytes(), 0);
    }
}
