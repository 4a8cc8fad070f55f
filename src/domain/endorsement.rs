//! Endorsements once granted: their numbers, the statuses they move
//! between, the registry's name search and who may review whom. Pure.
//! (The renewal cycle an endorsement is current through is
//! [`super::renewal`]'s.)

use super::association::AssociationCode;
use super::model::{Category, EndorsementStatus, Track};

/// An endorsement number, unique across a deployment: the association's
/// code, the published category code and a sequence number of the
/// association ("NYS-AIMH-IMHS-000042").
pub fn number(association: &AssociationCode, category: Category, track: Track, sequence: i64) -> String {
    format!("{}-{}-{sequence:06}", association.as_str().to_uppercase(), category.code(track))
}

/// The level of a category (I to IV in domain.md); the ERS add-on sits
/// beside them, earned on top of a Level II or III endorsement.
pub fn level(category: Category) -> u8 {
    match category {
        Category::FamilyAssociate => 1,
        Category::FamilySpecialist => 2,
        Category::MentalHealthSpecialist | Category::ReflectiveSupervisor => 3,
        Category::MentorClinical | Category::MentorPolicy | Category::MentorResearchFaculty => 4,
    }
}

/// Whether someone holding `held` (current endorsements, either track) may
/// review a portfolio for `category`: endorsed at the same level or higher;
/// an ERS portfolio by an ERS or Mentor-Clinical reviewer.
pub fn may_review(held: &[Category], category: Category) -> bool {
    match category {
        Category::ReflectiveSupervisor => {
            held.iter().any(|c| matches!(c, Category::ReflectiveSupervisor | Category::MentorClinical))
        }
        _ => held.iter().any(|c| level(*c) >= level(category)),
    }
}

/// The words of a name as the registry searches them: lowercase letters
/// and digits, split at anything else ("O'Brien-Núñez" gives "o", "brien",
/// "núñez"; searching "obrien" finds the joined form too).
pub fn search_words(name: &str) -> Vec<String> {
    let lower = name.to_lowercase();
    let mut words: Vec<String> =
        lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect();
    let joined: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    if words.len() > 1 && !joined.is_empty() {
        words.push(joined);
    }
    words.sort_unstable();
    words.dedup();
    words
}

/// How the registry orders names: case-insensitively, by the whole name
/// as written (family-name order is not known).
pub fn sort_name(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The words of a registry search, normalised like [`search_words`]
/// (at most five: a name has no more worth matching).
pub fn query_words(search: &str) -> Vec<String> {
    let lower = search.to_lowercase();
    lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(5).map(str::to_owned).collect()
}

/// Whether staff may move an endorsement from `from` to `to`. REVOKED and
/// WITHDRAWN are final; INACTIVE (on request) and LAPSED (not renewed) end
/// with a return to CURRENT (reactivation, reinstatement).
pub fn may_change(from: EndorsementStatus, to: EndorsementStatus) -> bool {
    use EndorsementStatus::*;
    match from {
        Current => matches!(to, Lapsed | Inactive | Revoked | Withdrawn),
        Inactive => matches!(to, Current | Lapsed | Revoked | Withdrawn),
        Lapsed => matches!(to, Current | Revoked | Withdrawn),
        Revoked | Withdrawn => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn numbers_carry_the_association_and_category() {
        let nys = AssociationCode::nys_aimh();
        assert_eq!(number(&nys, Category::MentalHealthSpecialist, Track::Infant, 42), "NYS-AIMH-IMHS-000042");
        assert_eq!(number(&nys, Category::ReflectiveSupervisor, Track::EarlyChildhood, 7), "NYS-AIMH-ERS-000007");
    }

    #[test]
    fn reviewers_are_endorsed_at_the_level_or_higher() {
        use Category::*;
        assert!(may_review(&[MentalHealthSpecialist], FamilySpecialist));
        assert!(may_review(&[FamilySpecialist], FamilySpecialist));
        assert!(!may_review(&[FamilySpecialist], MentalHealthSpecialist));
        assert!(may_review(&[MentorPolicy], MentorClinical));
        assert!(!may_review(&[], FamilyAssociate));
        assert!(may_review(&[MentorClinical], ReflectiveSupervisor));
        assert!(may_review(&[ReflectiveSupervisor], ReflectiveSupervisor));
        assert!(!may_review(&[MentorPolicy, MentalHealthSpecialist], ReflectiveSupervisor));
    }

    #[test]
    fn names_are_searched_by_word_prefixes() {
        assert_eq!(search_words("Ada  Lovelace"), ["ada", "adalovelace", "lovelace"]);
        assert_eq!(search_words("O'Brien-Núñez"), ["brien", "núñez", "o", "obriennúñez"]);
        assert_eq!(search_words("Zoë"), ["zoë"]);
        assert_eq!(query_words(" LOVE, a "), ["love", "a"]);
        assert!(query_words("!!").is_empty());
    }

    #[test]
    fn revoked_and_withdrawn_are_final() {
        use EndorsementStatus::*;
        let all = [Current, Lapsed, Inactive, Revoked, Withdrawn];
        for to in all {
            assert!(!may_change(Revoked, to));
            assert!(!may_change(Withdrawn, to));
            assert!(!may_change(to, to), "{to:?} to itself is no change");
        }
        assert!(may_change(Lapsed, Current));
        assert!(may_change(Current, Revoked));
        assert!(!may_change(Lapsed, Inactive));
    }

    proptest! {
        /// Every word of a search taken from a name finds that name.
        #[test]
        fn a_name_is_found_by_any_prefix_of_its_words(name in "[A-Za-zé' -]{1,30}", cut in 1usize..4) {
            let words = search_words(&name);
            for word in query_words(&name) {
                let prefix: String = word.chars().take(cut).collect();
                prop_assert!(words.iter().any(|w| w.starts_with(&prefix)), "{prefix} in {words:?}");
            }
        }
    }
}
