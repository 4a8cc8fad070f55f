//! The review workflow after submission: which decision moves a portfolio
//! from which status to which. "Submits -> reviewers check it -> approved
//! (-> exam where required -> endorsed), or returned for revision."

use super::model::PortfolioStatus;

/// What a reviewer or coordinator decides about a submitted portfolio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum Decision {
    /// SUBMITTED -> IN_REVIEW: a reviewer has taken it.
    StartReview,
    /// SUBMITTED or IN_REVIEW -> RETURNED: the applicant must revise it.
    Return,
    /// SUBMITTED or IN_REVIEW -> EXAM_ELIGIBLE where the category requires an
    /// exam, APPROVED otherwise.
    Approve,
    /// APPROVED or EXAM_ELIGIBLE -> ENDORSED: the endorsement is granted.
    Endorse,
    /// Any status but ENDORSED and WITHDRAWN -> WITHDRAWN (e.g. at the
    /// applicant's request).
    Withdraw,
}

impl Decision {
    /// The API name ("START_REVIEW").
    pub fn name(self) -> &'static str {
        match self {
            Decision::StartReview => "START_REVIEW",
            Decision::Return => "RETURN",
            Decision::Approve => "APPROVE",
            Decision::Endorse => "ENDORSE",
            Decision::Withdraw => "WITHDRAW",
        }
    }

    /// Whether this decision settles a submission (for "days to decision").
    pub fn is_verdict(self) -> bool {
        matches!(self, Decision::Return | Decision::Approve | Decision::Endorse)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} does not apply to a {from} portfolio: {hint}", decision.name())]
pub struct TransitionError {
    pub from: PortfolioStatus,
    pub decision: Decision,
    pub hint: &'static str,
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
    fn every_transition_leaves_draft_behind() {
        for from in PortfolioStatus::ALL {
            for decision in
                [Decision::StartReview, Decision::Return, Decision::Approve, Decision::Endorse, Decision::Withdraw]
            {
                for exam in [false, true] {
                    if let Ok(to) = next_status(*from, decision, exam) {
                        assert_ne!(to, Draft);
                        assert_ne!(to, *from, "{from:?} {decision:?} must change the status");
                    }
                }
            }
        }
    }
}
