//! Parsed documents, kept by the SHA-256 of their text: a client sends the
//! same few queries over and over, and parsing was a tenth of the server's
//! CPU on the full portfolio query. The same key serves automatic persisted
//! queries (Apollo's protocol, used by mobile clients to send a hash instead
//! of the text): a hash the cache knows stands for its query.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use sha2::{Digest, Sha256};

use super::cost::{self, CostError, CostLimits};

/// A query text and its parsed document.
#[derive(Debug)]
pub struct Parsed {
    pub query: Arc<str>,
    pub document: ExecutableDocument,
    /// It passed async-graphql's full validation once (see `validated`).
    validated: AtomicBool,
}

impl Parsed {
    pub fn new(query: &str, document: ExecutableDocument) -> Self {
        Parsed { query: Arc::from(query), document, validated: AtomicBool::new(false) }
    }

    pub fn is_validated(&self) -> bool {
        self.validated.load(Ordering::Relaxed)
    }

    pub fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }
}

pub type Hash = [u8; 32];

pub fn hash(query: &str) -> Hash {
    Sha256::digest(query.as_bytes()).into()
}

/// Parses a hex SHA-256 as sent in `extensions.persistedQuery.sha256Hash`.
pub fn parse_hash(hex_text: &str) -> Option<Hash> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut hash).ok()?;
    Some(hash)
}

/// The most recently used documents, at most `capacity` of them. Only
/// documents that parsed are kept (a flood of distinct bad queries cannot
/// push good ones out faster than distinct good ones could).
pub struct DocumentCache {
    entries: Mutex<lru::LruCache<Hash, Arc<Parsed>>>,
}

impl DocumentCache {
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        DocumentCache { entries: Mutex::new(lru::LruCache::new(capacity)) }
    }

    /// How many documents are kept now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|entries| entries.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parsed document of `query`, parsing it the first time.
    pub fn parse(&self, query: &str, limits: &CostLimits) -> Result<Arc<Parsed>, CostError> {
        self.parse_keyed(hash(query), query, limits)
    }

    /// [`Self::parse`] for a caller that has hashed `query` already.
    pub fn parse_keyed(&self, key: Hash, query: &str, limits: &CostLimits) -> Result<Arc<Parsed>, CostError> {
        if let Some(found) = self.get(&key) {
            return Ok(found);
        }
        let parsed = Arc::new(Parsed::new(query, cost::parse(query, limits)?));
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(key, parsed.clone());
        }
        Ok(parsed)
    }

    /// The document whose text has this hash, if it was seen lately.
    pub fn get(&self, key: &Hash) -> Option<Arc<Parsed>> {
        self.entries.lock().ok()?.get(key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> CostLimits {
        CostLimits {
            max_depth: 10,
            max_selections: 1_000,
            max_cost: 100_000,
            max_directives: 16,
            max_page_size: 100,
            max_section_entries: 100,
        }
    }

    #[test]
    fn a_document_is_parsed_once_and_found_by_its_hash() {
        let cache = DocumentCache::new(2);
        let first = cache.parse("{ viewer { subject } }", &limits()).unwrap();
        let again = cache.parse("{ viewer { subject } }", &limits()).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let key = parse_hash(&hex::encode(hash("{ viewer { subject } }"))).unwrap();
        assert!(Arc::ptr_eq(&cache.get(&key).unwrap(), &first));
        assert!(parse_hash("not hex").is_none() && parse_hash("abcd").is_none());
    }

    #[test]
    fn bad_documents_are_not_kept_and_old_ones_make_room() {
        let cache = DocumentCache::new(2);
        assert!(cache.parse("{ unclosed", &limits()).is_err());
        assert!(cache.get(&hash("{ unclosed")).is_none());
        for query in ["{ a }", "{ b }", "{ c }"] {
            cache.parse(query, &limits()).unwrap();
        }
        assert!(cache.get(&hash("{ a }")).is_none());
        assert!(cache.get(&hash("{ c }")).is_some());
    }
}
