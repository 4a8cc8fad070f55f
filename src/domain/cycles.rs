//! Review cycles: the association's submission deadlines for the
//! categories that have them (Mental Health Specialist and Mentor; Family
//! Associate and Family Specialist portfolios have none). A submission
//! joins the first cycle whose deadline is on or after its day, so one
//! made after a deadline joins the next cycle. Which cycle a portfolio is
//! in follows from its (latest) submission day, so nothing is stored per
//! portfolio, and a cycle published later takes the submissions waiting
//! for it. Pure.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::model::Category;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewCycle {
    /// Stable, e.g. "2027-spring".
    pub id: String,
    pub name: String,
    /// The last day (the association's) a submission joins this cycle.
    pub submission_deadline: NaiveDate,
}

/// Whether portfolios of `category` are reviewed in cycles.
pub fn has_deadlines(category: Category) -> bool {
    matches!(
        category,
        Category::MentalHealthSpecialist
            | Category::MentorClinical
            | Category::MentorPolicy
            | Category::MentorResearchFaculty
    )
}

/// The categories reviewed in cycles.
pub fn categories() -> Vec<Category> {
    Category::ALL.iter().copied().filter(|c| has_deadlines(*c)).collect()
}

/// The cycle a submission of `category` on `submitted_on` joins, if the
/// category has deadlines and a cycle is open for that day.
pub fn cycle_for(cycles: &[ReviewCycle], category: Category, submitted_on: NaiveDate) -> Option<&ReviewCycle> {
    if !has_deadlines(category) {
        return None;
    }
    cycles.iter().find(|cycle| cycle.submission_deadline >= submitted_on)
}

/// The submission days of cycle `id`: from the day after the previous
/// deadline (none for the first cycle) through its own.
pub fn window(cycles: &[ReviewCycle], id: &str) -> Option<(Option<NaiveDate>, NaiveDate)> {
    let index = cycles.iter().position(|cycle| cycle.id == id)?;
    let from = index.checked_sub(1).map(|previous| cycles[previous].submission_deadline + chrono::Days::new(1));
    Some((from, cycles[index].submission_deadline))
}

/// A list of cycles that can be read one way: ids plain and unique,
/// deadlines strictly ascending, and (compared with `before`) every cycle
/// whose deadline has passed by `today` kept exactly as it was.
pub fn check(cycles: &[ReviewCycle], before: &[ReviewCycle], today: NaiveDate) -> Result<(), String> {
    for (index, cycle) in cycles.iter().enumerate() {
        let plain = !cycle.id.is_empty()
            && cycle.id.len() <= 40
            && cycle.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plain {
            return Err(format!(
                "cycles[{index}].id `{}` must be 1 to 40 lowercase letters, digits and hyphens",
                cycle.id
            ));
        }
        if cycle.name.trim().is_empty() || cycle.name.chars().count() > 100 {
            return Err(format!("cycles[{index}].name must be 1 to 100 characters"));
        }
        if index > 0 && cycles[index - 1].submission_deadline >= cycle.submission_deadline {
            return Err(format!("cycles[{index}]: deadlines must be strictly ascending"));
        }
        if cycles[..index].iter().any(|earlier| earlier.id == cycle.id) {
            return Err(format!("cycles[{index}].id `{}` is listed twice", cycle.id));
        }
    }
    for past in before.iter().filter(|cycle| cycle.submission_deadline < today) {
        if !cycles.contains(past) {
            return Err(format!(
                "cycle `{}` closed on {}; a closed cycle stays as it was",
                past.id, past.submission_deadline
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cycles() -> Vec<ReviewCycle> {
        vec![
            ReviewCycle { id: "2026-fall".into(), name: "Fall 2026".into(), submission_deadline: day(2026, 10, 1) },
            ReviewCycle { id: "2027-spring".into(), name: "Spring 2027".into(), submission_deadline: day(2027, 3, 1) },
        ]
    }

    #[test]
    fn a_late_submission_joins_the_next_cycle() {
        let all = cycles();
        let id = |on| cycle_for(&all, Category::MentalHealthSpecialist, on).map(|c| c.id.as_str());
        assert_eq!(id(day(2026, 10, 1)), Some("2026-fall"), "on the deadline day");
        assert_eq!(id(day(2026, 10, 2)), Some("2027-spring"));
        assert_eq!(id(day(2027, 3, 2)), None, "waits for a cycle to be published");
        assert_eq!(cycle_for(&all, Category::FamilySpecialist, day(2026, 9, 1)), None, "no deadlines");
        assert_eq!(cycle_for(&all, Category::MentorPolicy, day(2026, 9, 1)).map(|c| c.id.as_str()), Some("2026-fall"));
        assert_eq!(window(&all, "2027-spring"), Some((Some(day(2026, 10, 2)), day(2027, 3, 1))));
        assert_eq!(window(&all, "2026-fall"), Some((None, day(2026, 10, 1))));
        assert_eq!(window(&all, "nope"), None);
    }

    #[test]
    fn closed_cycles_stay_and_deadlines_ascend() {
        let all = cycles();
        assert_eq!(check(&all, &[], day(2026, 1, 1)), Ok(()));
        let mut swapped = all.clone();
        swapped.swap(0, 1);
        assert!(check(&swapped, &[], day(2026, 1, 1)).unwrap_err().contains("ascending"));
        let mut moved = all.clone();
        moved[0].submission_deadline = day(2026, 10, 15);
        assert!(check(&moved, &all, day(2026, 11, 1)).unwrap_err().contains("closed"));
        assert_eq!(check(&moved, &all, day(2026, 9, 1)), Ok(()), "an open cycle may move");
        let mut bad = all.clone();
        bad[1].id = "Spring 2027".into();
        assert!(check(&bad, &[], day(2026, 1, 1)).is_err());
    }
}
