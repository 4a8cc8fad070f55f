//! The review workflow after submission: which decision moves a portfolio
//! from which status to which. "Submits -> reviewers check it -> approved
//! (-> exam where required -> endorsed), or returned for revision."

pub use super::model::Decision;
use super::model::PortfolioStatus;

impl Decision {
    /// Whether this decision settles a submission (for "days to decision").
    pub fn is_verdict(self) -> bool {
        matches!(self, Decision::Return | Decision::Approve | Decision::Endorse | Decision::Emerging)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{decision} does not apply to a {from} portfolio: {hint}")]
pub struct TransitionError {
    pub from: PortfolioStatus,
    pub decision: Decision,
    pub hint: &'static str,
}

/// Why an applicant's step does not apply to the current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("A {status} portfolio cannot be changed; only DRAFT, RETURNED and EMERGING ones can.")]
pub struct NotEditable {
    pub status: PortfolioStatus,
}

/// Only DRAFT, RETURNED and EMERGING portfolios are the applicant's to
/// edit (their entries and their evidence); from submission on they are
/// the reviewers'. An EMERGING portfolio is completed and resubmitted.
pub fn check_editable(status: PortfolioStatus) -> Result<(), NotEditable> {
    if matches!(status, PortfolioStatus::Draft | PortfolioStatus::Returned | PortfolioStatus::Emerging) {
        Ok(())
    } else {
        Err(NotEditable { status })
    }
}

/// The status after the applicant submits: SUBMITTED, from an editable one.
pub fn submitted(from: PortfolioStatus) -> Result<PortfolioStatus, NotEditable> {
    check_editable(from).map(|()| PortfolioStatus::Submitted)
}

/// What the rules in force say about the portfolio's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CategoryRules {
    /// Approval leads to the exam.
    pub exam_required: bool,
    /// EMERGING is an outcome (the ERS add-on).
    pub emerging_offered: bool,
}

/// The status after `decision`, or why it does not apply.
pub fn next_status(
    from: PortfolioStatus,
    decision: Decision,
    rules: CategoryRules,
) -> Result<PortfolioStatus, TransitionError> {
    use PortfolioStatus::*;
    let refuse = |hint| Err(TransitionError { from, decision, hint });
    let under_review = matches!(from, Submitted | InReview | OnHold);
    match (decision, from) {
        (Decision::StartReview, Submitted | OnHold) => Ok(InReview),
        (Decision::StartReview, _) => refuse("only SUBMITTED or ON_HOLD portfolios can be taken into review"),
        (Decision::Return | Decision::Approve, _) if under_review => Ok(match decision {
            Decision::Return => Returned,
            _ if rules.exam_required => ExamEligible,
            _ => Approved,
        }),
        (Decision::Return | Decision::Approve, _) => {
            refuse("only SUBMITTED, IN_REVIEW or ON_HOLD portfolios can be decided")
        }
        (Decision::Hold, Submitted | InReview) => Ok(OnHold),
        (Decision::Hold, _) => refuse("only SUBMITTED or IN_REVIEW portfolios can be put on hold"),
        (Decision::Emerging, _) if !rules.emerging_offered => refuse(
            "EMERGING is an outcome for the Endorsement for Culturally Sensitive, Relationship-Focused Reflective Supervision add-on only",
        ),
        (Decision::Emerging, _) if under_review => Ok(Emerging),
        (Decision::Emerging, _) => refuse("only SUBMITTED, IN_REVIEW or ON_HOLD portfolios can be decided"),
        (Decision::Endorse, Approved | ExamEligible) => Ok(Endorsed),
        (Decision::Endorse, _) => refuse("only APPROVED or EXAM_ELIGIBLE portfolios can be endorsed"),
        (Decision::Withdraw, Endorsed | Withdrawn) => refuse("endorsed and withdrawn portfolios stay as they are"),
        (Decision::Withdraw, _) => Ok(Withdrawn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PortfolioStatus::*;

    fn plain() -> CategoryRules {
        CategoryRules::default()
    }

    fn exam() -> CategoryRules {
        CategoryRules { exam_required: true, emerging_offered: false }
    }

    #[test]
    fn holds_resume_and_emerging_is_for_the_add_on_only() {
        let ers = CategoryRules { exam_required: false, emerging_offered: true };
        assert_eq!(next_status(InReview, Decision::Hold, plain()), Ok(OnHold));
        assert_eq!(next_status(OnHold, Decision::StartReview, plain()), Ok(InReview));
        assert_eq!(next_status(OnHold, Decision::Approve, plain()), Ok(Approved));
        assert!(next_status(OnHold, Decision::Hold, plain()).is_err());
        assert!(next_status(InReview, Decision::Emerging, plain()).is_err());
        assert_eq!(next_status(OnHold, Decision::Emerging, ers), Ok(Emerging));
        assert!(next_status(Emerging, Decision::Approve, ers).is_err(), "completed and resubmitted first");
        assert_eq!(submitted(Emerging), Ok(Submitted));
        assert!(Decision::Emerging.is_verdict() && !Decision::Hold.is_verdict());
    }

    #[test]
    fn the_happy_paths() {
        assert_eq!(next_status(Submitted, Decision::StartReview, plain()), Ok(InReview));
        assert_eq!(next_status(InReview, Decision::Approve, exam()), Ok(ExamEligible));
        assert_eq!(next_status(InReview, Decision::Approve, plain()), Ok(Approved));
        assert_eq!(next_status(ExamEligible, Decision::Endorse, exam()), Ok(Endorsed));
        assert_eq!(next_status(Submitted, Decision::Return, plain()), Ok(Returned));
    }

    #[test]
    fn drafts_cannot_be_decided_and_endorsements_are_final() {
        for decision in [Decision::StartReview, Decision::Return, Decision::Approve, Decision::Endorse] {
            assert!(next_status(Draft, decision, plain()).is_err(), "{decision:?}");
            assert!(next_status(Endorsed, decision, plain()).is_err(), "{decision:?}");
        }
        assert!(next_status(Endorsed, Decision::Withdraw, plain()).is_err());
        assert_eq!(next_status(Draft, Decision::Withdraw, plain()), Ok(Withdrawn));
    }

    #[test]
    fn only_drafts_and_returned_portfolios_are_edited_and_submitted() {
        for status in PortfolioStatus::ALL {
            let editable = matches!(status, Draft | Returned | Emerging);
            assert_eq!(check_editable(*status).is_ok(), editable, "{status:?}");
            assert_eq!(submitted(*status).ok(), editable.then_some(Submitted), "{status:?}");
        }
    }

    #[test]
    fn every_transition_leaves_draft_behind() {
        for from in PortfolioStatus::ALL {
            for decision in Decision::ALL {
                for (exam_required, emerging_offered) in [(false, false), (true, false), (false, true), (true, true)] {
                    let rules = CategoryRules { exam_required, emerging_offered };
                    if let Ok(to) = next_status(*from, *decision, rules) {
                        assert_ne!(to, Draft);
                        assert_ne!(to, *from, "{from:?} {decision:?} must change the status");
                    }
                }
            }
        }
    }
}
