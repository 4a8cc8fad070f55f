//! The review workflow after submission: which decision moves a portfolio
//! from which status to which. "Submits -> reviewers check it -> approved
//! (-> exam where required -> endorsed), or returned for revision."

pub use super::model::Decision;
use super::model::PortfolioStatus;

impl Decision {
    /// Whether this decision settles a submission (for "days to decision").
    pub fn is_verdict(self) -> bool {
        matches!(self, Decision::Return | Decision::Approve | Decision::Endorse)
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
#[error("A {status} portfolio cannot be changed; only DRAFT and RETURNED ones can.")]
pub struct NotEditable {
    pub status: PortfolioStatus,
}

/// Only DRAFT and RETURNED portfolios are the applicant's to edit (their
/// entries and their evidence); from submission on they are the reviewers'.
pub fn check_editable(status: PortfolioStatus) -> Result<(), NotEditable> {
    if matches!(status, PortfolioStatus::Draft | PortfolioStatus::Returned) {
        Ok(())
    } else {
        Err(NotEditable { status })
    }
}

/// The status after the applicant submits: SUBMITTED, from an editable one.
pub fn submitted(from: PortfolioStatus) -> Result<PortfolioStatus, NotEditable> {
    check_editable(from).map(|()| PortfolioStatus::Submitted)
}

/// The status after `decision`, or why it does not apply.
pub fn next_status(
    from: PortfolioStatus,
    decision: Decision,
    exam_required: bool,
) -> Result<PortfolioStatus, TransitionError> {
    use PortfolioStatus::*;
    let refuse = |hint| Err(TransitionError { from, decision, hint });
    match (decision, from) {
        (Decision::StartReview, Submitted) => Ok(InReview),
        (Decision::StartReview, _) => refuse("only SUBMITTED portfolios can be taken into review"),
        (Decision::Return | Decision::Approve, Submitted | InReview) => Ok(match decision {
            Decision::Return => Returned,
            _ if exam_required => ExamEligible,
            _ => Approved,
        }),
        (Decision::Return | Decision::Approve, _) => refuse("only SUBMITTED or IN_REVIEW portfolios can be decided"),
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

    #[test]
    fn the_happy_paths() {
        assert_eq!(next_status(Submitted, Decision::StartReview, false), Ok(InReview));
        assert_eq!(next_status(InReview, Decision::Approve, true), Ok(ExamEligible));
        assert_eq!(next_status(InReview, Decision::Approve, false), Ok(Approved));
        assert_eq!(next_status(ExamEligible, Decision::Endorse, true), Ok(Endorsed));
        assert_eq!(next_status(Submitted, Decision::Return, false), Ok(Returned));
    }

    #[test]
    fn drafts_cannot_be_decided_and_endorsements_are_final() {
        for decision in [Decision::StartReview, Decision::Return, Decision::Approve, Decision::Endorse] {
            assert!(next_status(Draft, decision, false).is_err(), "{decision:?}");
            assert!(next_status(Endorsed, decision, false).is_err(), "{decision:?}");
        }
        assert!(next_status(Endorsed, Decision::Withdraw, false).is_err());
        assert_eq!(next_status(Draft, Decision::Withdraw, false), Ok(Withdrawn));
    }

    #[test]
    fn only_drafts_and_returned_portfolios_are_edited_and_submitted() {
        for status in PortfolioStatus::ALL {
            let editable = matches!(status, Draft | Returned);
            assert_eq!(check_editable(*status).is_ok(), editable, "{status:?}");
            assert_eq!(submitted(*status).ok(), editable.then_some(Submitted), "{status:?}");
        }
    }

    #[test]
    fn every_transition_leaves_draft_behind() {
        for from in PortfolioStatus::ALL {
            for decision in Decision::ALL {
                for exam in [false, true] {
                    if let Ok(to) = next_status(*from, *decision, exam) {
                        assert_ne!(to, Draft);
                        assert_ne!(to, *from, "{from:?} {decision:?} must change the status");
                    }
                }
            }
        }
    }
}
