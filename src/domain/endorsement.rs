//! Endorsements once granted: their numbers, the renewal cycle they are
//! current through, and who may review whom. Pure.
//!
//! Renewal cycles (process.md): annual until the end of 2026, each ending
//! on 31 December; from 2027, three-year cycles ending on 31 December of
//! 2027, 2030, 2033, ... An endorsement granted on a day is current through
//! the end of the cycle that day falls in.

use chrono::{Datelike, NaiveDate};

use super::association::AssociationCode;
use super::model::{Category, EndorsementStatus, Track};

/// The last year of annual cycles.
const LAST_ANNUAL_YEAR: i32 = 2026;
/// The first three-year cycle ends this year.
const FIRST_THREE_YEAR_END: i32 = 2027;

/// The last day of the renewal cycle `day` falls in.
pub fn cycle_end(day: NaiveDate) -> NaiveDate {
    let year = day.year();
    let end_year = if year <= LAST_ANNUAL_YEAR {
        year
    } else {
        // The first 2027 + 3k at or after `year`.
        FIRST_THREE_YEAR_END + (year - FIRST_THREE_YEAR_END + 2) / 3 * 3
    };
    NaiveDate::from_ymd_opt(end_year, 12, 31).expect("31 December exists")
}

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

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn cycles_are_annual_until_2026_then_three_years() {
        assert_eq!(cycle_end(day(2024, 3, 1)), day(2024, 12, 31));
        assert_eq!(cycle_end(day(2026, 12, 31)), day(2026, 12, 31));
        assert_eq!(cycle_end(day(2027, 1, 1)), day(2027, 12, 31));
        assert_eq!(cycle_end(day(2028, 6, 1)), day(2030, 12, 31));
        assert_eq!(cycle_end(day(2030, 12, 31)), day(2030, 12, 31));
        assert_eq!(cycle_end(day(2031, 1, 1)), day(2033, 12, 31));
    }

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

        /// Every day is inside its cycle, cycles end on 31 December, annual
        /// ones in their own year and three-year ones within three years,
        /// on 2027 + 3k.
        #[test]
        fn every_day_falls_in_one_cycle(offset in 0i64..40_000) {
            let on = day(2000, 1, 1) + chrono::Days::new(offset as u64);
            let end = cycle_end(on);
            prop_assert!(on <= end);
            prop_assert_eq!((end.month(), end.day()), (12, 31));
            if on.year() <= 2026 {
                prop_assert_eq!(end.year(), on.year());
            } else {
                prop_assert!(end.year() - on.year() < 3);
                prop_assert_eq!((end.year() - 2027) % 3, 0);
            }
            // The day after a cycle ends starts the next one.
            let next = end + chrono::Days::new(1);
            prop_assert!(cycle_end(next) > end);
        }
    }
}
