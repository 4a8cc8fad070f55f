//! The submission gate: as in the associations' own systems, where Submit
//! appears only once the application is complete, a portfolio is submitted
//! only when it meets its category's requirements (CLAIMED basis, the rules
//! in force that day), leaving aside what can only be met after approval:
//! the exam.

use super::engine::Eligibility;
use super::rulebook::{CategoryDefinition, Rule};

/// A requirement the applicant must still meet before submitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// The rulebook key ("training.hours"): what `extensions.missing` lists.
    pub key: String,
    pub title: String,
    /// Concrete gaps ("4.0 more training hours").
    pub missing: Vec<String>,
}

/// The unmet, non-optional top-level requirements of `eligibility` (an
/// evaluation of `definition`), except the exam.
pub fn unmet_before_submission(eligibility: &Eligibility, definition: &CategoryDefinition) -> Vec<Unmet> {
    let after_approval: Vec<&str> = definition
        .requirements
        .iter()
        .filter(|requirement| matches!(requirement.rule, Rule::Exam))
        .map(|requirement| &*requirement.key)
        .collect();
    eligibility
        .requirements
        .iter()
        .filter(|result| result.parent.is_none() && !result.optional && !result.met)
        .filter(|result| !after_approval.contains(&&*result.key))
        .map(|result| Unmet {
            key: result.key.to_string(),
            title: result.title.to_string(),
            missing: result.missing.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::model::{Basis, Category, Portfolio, Track};
    use crate::domain::{Rulebook, evaluate};

    fn nys() -> Rulebook {
        Rulebook::nys_aimh()
    }

    #[test]
    fn an_empty_portfolio_misses_everything_but_the_exam() {
        let rulebook = nys();
        let on = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let portfolio = Portfolio::new(Track::Infant, Category::MentorClinical);
        let eligibility =
            evaluate(&portfolio, Category::MentorClinical, Track::Infant, on, Basis::Claimed, &rulebook).unwrap();
        let definition = rulebook.in_force(on).unwrap().category(Category::MentorClinical).unwrap();
        assert!(definition.exam_required());
        let unmet = unmet_before_submission(&eligibility, definition);
        assert!(!unmet.is_empty());
        let exam_keys: Vec<&str> =
            definition.requirements.iter().filter(|r| matches!(r.rule, Rule::Exam)).map(|r| &*r.key).collect();
        assert!(!exam_keys.is_empty());
        assert!(unmet.iter().all(|u| !exam_keys.contains(&u.key.as_str())), "{unmet:?}");
        let failing_top_level = eligibility.requirements.iter().filter(|r| r.parent.is_none() && !r.met && !r.optional);
        assert_eq!(unmet.len() + exam_keys.len(), failing_top_level.count());
    }
}
