//! Evaluations kept across requests.
//!
//! An evaluation is a pure function of the portfolio's sections, the
//! association's records of its applicant, the evidence statuses (basis
//! VERIFIED only), the rulebook, and the question (category, date, basis).
//! [`EvaluationKey`] holds every one of these, the sections by the
//! portfolio's id and version (every write to a stored portfolio moves its
//! version on) and the rulebook by the association's published revision.
//! So a key names exactly one answer: a kept one is never stale, it only
//! ages out when the cache is full. A reviewer's queue asked again after a
//! change recomputes the changed portfolio only, and a page whose answers
//! are all kept need not fetch the sections at all (see
//! [`super::page_sections`]).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use mongodb::bson::oid::ObjectId;

use super::Tenant;
use super::evaluation::ApplicantRecords;
use crate::domain::Eligibility;
use crate::domain::association::AssociationCode;
use crate::domain::model::{Basis, Category, EvidenceRef};

/// Everything an evaluation depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EvaluationKey {
    association: AssociationCode,
    rulebook_revision: i32,
    portfolio: ObjectId,
    version: i32,
    category: Category,
    as_of: NaiveDate,
    basis: Basis,
    records: ApplicantRecords,
    /// Empty unless the basis is VERIFIED (CLAIMED does not read it).
    evidence: Vec<EvidenceRef>,
}

/// Which portfolio, as stored at which version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredVersion {
    pub id: ObjectId,
    pub version: i32,
}

/// What is asked of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    pub category: Category,
    pub as_of: NaiveDate,
    pub basis: Basis,
}

impl EvaluationKey {
    pub fn new(
        tenant: &Tenant,
        portfolio: StoredVersion,
        question: Question,
        records: &ApplicantRecords,
        evidence: &[EvidenceRef],
    ) -> Self {
        let evidence = if question.basis == Basis::Verified { evidence.to_vec() } else { Vec::new() };
        EvaluationKey {
            association: tenant.code().clone(),
            rulebook_revision: tenant.rulebook_revision,
            portfolio: portfolio.id,
            version: portfolio.version,
            category: question.category,
            as_of: question.as_of,
            basis: question.basis,
            records: records.clone(),
            evidence,
        }
    }

    /// The same question about another stored version of the portfolio.
    pub fn at_version(mut self, version: i32) -> Self {
        self.version = version;
        self
    }
}

/// The most recently used evaluations, at most `capacity` (0 keeps none).
pub struct EvaluationCache {
    entries: Option<Mutex<lru::LruCache<EvaluationKey, Arc<Eligibility>>>>,
}

impl EvaluationCache {
    pub fn new(capacity: usize) -> Self {
        EvaluationCache { entries: NonZeroUsize::new(capacity).map(|c| Mutex::new(lru::LruCache::new(c))) }
    }

    pub fn get(&self, key: &EvaluationKey) -> Option<Arc<Eligibility>> {
        self.entries.as_ref()?.lock().ok()?.get(key).cloned()
    }

    /// Whether an answer to `key` is kept (without making it recent).
    pub fn contains(&self, key: &EvaluationKey) -> bool {
        self.entries.as_ref().and_then(|entries| entries.lock().ok()).is_some_and(|entries| entries.contains(key))
    }

    pub fn keep(&self, key: EvaluationKey, evaluation: Arc<Eligibility>) {
        if let Some(mut entries) = self.entries.as_ref().and_then(|entries| entries.lock().ok()) {
            entries.put(key, evaluation);
        }
    }

    /// How many answers are kept now.
    pub fn len(&self) -> usize {
        self.entries.as_ref().and_then(|entries| entries.lock().ok()).map_or(0, |entries| entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::association::{Association, AssociationSettings};
    use crate::domain::model::{EvidenceKind, EvidenceStatus, MembershipRecordRef, MembershipType, Track};

    fn tenant(code: &str, rulebook_revision: i32) -> Tenant {
        Tenant {
            association: Association {
                code: AssociationCode::parse(code).unwrap(),
                name: code.to_owned(),
                time_zone: chrono_tz::UTC,
                settings: AssociationSettings::default(),
            },
            admins: Vec::new(),
            rulebook: None,
            rulebook_revision,
            mail_templates: Default::default(),
            fees: Default::default(),
            clock: crate::clock::Clock::new(false),
            is_default: false,
        }
    }

    fn question(basis: Basis) -> Question {
        Question { category: Category::FamilyAssociate, as_of: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), basis }
    }

    fn answer() -> Arc<Eligibility> {
        Arc::new(Eligibility {
            category: Category::FamilyAssociate,
            track: Track::Infant,
            code: "IFA",
            rulebook: "nys-aimh@2025-01-01".into(),
            as_of: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            basis: Basis::Claimed,
            met: true,
            requirements: Vec::new(),
            exam_required: false,
        })
    }

    #[test]
    fn every_input_of_an_evaluation_is_part_of_its_key() {
        let nys = tenant("nys-aimh", 0);
        let portfolio = StoredVersion { id: ObjectId::new(), version: 3 };
        let none = ApplicantRecords::default();
        let evidence =
            [EvidenceRef { id: "e1".into(), kind: EvidenceKind::Transcript, status: EvidenceStatus::Verified }];
        let key = |tenant: &Tenant, portfolio: StoredVersion, question: Question, records: &ApplicantRecords| {
            EvaluationKey::new(tenant, portfolio, question, records, &evidence)
        };
        let base = key(&nys, portfolio, question(Basis::Claimed), &none);
        let member = ApplicantRecords {
            memberships: vec![MembershipRecordRef {
                kind: MembershipType::Individual,
                valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                valid_until: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            }],
            endorsements: Vec::new(),
        };
        let others = [
            key(&tenant("mi-aimh", 0), portfolio, question(Basis::Claimed), &none),
            key(&tenant("nys-aimh", 1), portfolio, question(Basis::Claimed), &none),
            key(&nys, StoredVersion { version: 4, ..portfolio }, question(Basis::Claimed), &none),
            key(&nys, StoredVersion { id: ObjectId::new(), ..portfolio }, question(Basis::Claimed), &none),
            key(&nys, portfolio, Question { category: Category::FamilySpecialist, ..question(Basis::Claimed) }, &none),
            key(&nys, portfolio, Question { as_of: NaiveDate::MIN, ..question(Basis::Claimed) }, &none),
            key(&nys, portfolio, question(Basis::Verified), &none),
            key(&nys, portfolio, question(Basis::Claimed), &member),
            base.clone().at_version(4),
        ];
        for other in &others {
            assert_ne!(&base, other);
        }
        // Basis CLAIMED does not read the evidence: its statuses do not
        // split its answers.
        assert_eq!(base, EvaluationKey::new(&nys, portfolio, question(Basis::Claimed), &none, &[]));
        assert_ne!(
            key(&nys, portfolio, question(Basis::Verified), &none),
            EvaluationKey::new(&nys, portfolio, question(Basis::Verified), &none, &[])
        );
    }

    #[test]
    fn answers_are_kept_up_to_the_capacity_and_none_with_zero() {
        let nys = tenant("nys-aimh", 0);
        let key = |version| {
            EvaluationKey::new(
                &nys,
                StoredVersion { id: ObjectId::from_bytes([7; 12]), version },
                question(Basis::Claimed),
                &ApplicantRecords::default(),
                &[],
            )
        };
        let cache = EvaluationCache::new(2);
        for version in 1..=3 {
            cache.keep(key(version), answer());
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key(1)).is_none(), "the least recently used went first");
        assert!(cache.contains(&key(2)) && cache.get(&key(3)).is_some());
        let none = EvaluationCache::new(0);
        none.keep(key(1), answer());
        assert!(none.is_empty() && none.get(&key(1)).is_none());
    }
}
