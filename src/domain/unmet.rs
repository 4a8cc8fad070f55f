//! Where applicants get stuck: how many evaluated portfolios fail each
//! requirement of a category. Tallies are built per batch (in parallel) and
//! merged; the order of the keys comes from the rulebook, not from timing.

use std::collections::HashMap;
use std::sync::Arc;

use super::engine::Eligibility;
use super::model::Category;
use super::rulebook::Rulebook;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnmetTally {
    /// Portfolios evaluated.
    pub evaluated: u64,
    /// Requirement key -> (portfolios that did not meet it, portfolios
    /// evaluated with it). Keys of an older rulebook version are evaluated
    /// for fewer portfolios than the whole population.
    failures: HashMap<Arc<str>, (u64, u64)>,
}

/// One requirement's row: how many failed it out of how many were evaluated with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmetRow {
    pub key: String,
    pub failed: u64,
    pub evaluated: u64,
}

impl UnmetTally {
    /// Counts one evaluation: every requirement it reports (groups and
    /// optional ones included) is a key, failed or not.
    pub fn add(&mut self, eligibility: &Eligibility) {
        self.evaluated += 1;
        for requirement in &eligibility.requirements {
            let (failed, evaluated) = self.failures.entry(requirement.key.clone()).or_default();
            *failed += u64::from(!requirement.met);
            *evaluated += 1;
        }
    }

    pub fn merge(&mut self, other: UnmetTally) {
        self.evaluated += other.evaluated;
        for (key, (failed, evaluated)) in other.failures {
            let (mine, seen) = self.failures.entry(key).or_default();
            *mine += failed;
            *seen += evaluated;
        }
    }

    /// A row for every key seen and every key of `current` (the
    /// rulebook version the report is about, so an empty population still
    /// lists its requirements). Keys are in rulebook order, newest version
    /// first; keys no version lists (e.g. `category.offered`) come last, by name.
    pub fn ordered(mut self, rulebook: &Rulebook, category: Category, current: Option<&str>) -> Vec<UnmetRow> {
        let mut order: Vec<Arc<str>> = Vec::new();
        for version in rulebook.versions.iter().rev() {
            let Some(definition) = version.category(category) else { continue };
            for rule in definition.rules() {
                let key: Arc<str> = Arc::from(rule.key.as_str());
                let listed = current == Some(version.id.as_str()) || self.failures.contains_key(&key);
                if listed && !order.contains(&key) {
                    order.push(key);
                }
            }
        }
        let mut rest: Vec<Arc<str>> = self.failures.keys().filter(|key| !order.contains(key)).cloned().collect();
        rest.sort();
        order.extend(rest);
        order
            .into_iter()
            .map(|key| {
                let (failed, evaluated) = self.failures.remove(&key).unwrap_or((0, 0));
                UnmetRow { key: key.to_string(), failed, evaluated }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::engine::evaluate;
    use crate::domain::model::{Basis, Portfolio, Track};
    use crate::domain::sample::{date, realistic_portfolio};

    #[test]
    fn tallies_merge_and_follow_rulebook_order() {
        let rulebook = Rulebook::nys_aimh();
        let category = Category::MentalHealthSpecialist;
        let as_of = date(2025, 6, 1);
        let full = evaluate(&realistic_portfolio(), category, Track::Infant, as_of, Basis::Claimed, &rulebook).unwrap();
        let empty = evaluate(
            &Portfolio::new(Track::Infant, category),
            category,
            Track::Infant,
            as_of,
            Basis::Claimed,
            &rulebook,
        )
        .unwrap();
        let mut left = UnmetTally::default();
        left.add(&full);
        let mut right = UnmetTally::default();
        right.add(&empty);
        right.add(&empty);
        left.merge(right);
        assert_eq!(left.evaluated, 3);

        let version = rulebook.version_at(as_of).unwrap();
        let rows = left.ordered(&rulebook, category, Some(&version.id));
        let expected_keys: Vec<String> =
            version.category(category).unwrap().rules().into_iter().map(|r| r.key).collect();
        let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
        assert_eq!(keys, expected_keys);
        for UnmetRow { key, failed, evaluated } in rows {
            assert_eq!(evaluated, 3, "{key}");
            let by_hand = [&full, &empty, &empty]
                .iter()
                .filter(|e| e.requirements.iter().any(|r| *r.key == *key && !r.met))
                .count() as u64;
            assert_eq!(failed, by_hand, "{key}");
        }
    }

    #[test]
    fn an_empty_tally_lists_the_current_requirements_with_zeros() {
        let rulebook = Rulebook::nys_aimh();
        let version = rulebook.version_at(date(2025, 6, 1)).unwrap();
        let rows = UnmetTally::default().ordered(&rulebook, Category::FamilyAssociate, Some(&version.id));
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.failed == 0 && r.evaluated == 0));
    }
}
