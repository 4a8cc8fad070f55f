//! Review rounds through GraphQL. See [`crate::app::rounds`].

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::context::{actor, change_audit, services};
use super::portfolio::PortfolioObject;
use super::scalars::{Date, DateTime};
use crate::app::error::AppResult;
use crate::app::policy;
use crate::app::portfolios::parse_id;
use crate::app::records::{Review, ReviewRoundDocument, RoundOutcome, RoundReviewer, SectionVerdict};
use crate::app::rounds::{self, ReviewInput, ReviewerChoice};
use crate::domain::cycles;
use crate::domain::model::{Decision, PortfolioSection};

#[derive(SimpleObject)]
pub struct ReviewRoundReviewer {
    pub subject: String,
    pub name: String,
    pub assigned_at: DateTime,
}

impl From<RoundReviewer> for ReviewRoundReviewer {
    fn from(reviewer: RoundReviewer) -> Self {
        ReviewRoundReviewer { subject: reviewer.subject, name: reviewer.name, assigned_at: reviewer.assigned_at.into() }
    }
}

/// A reviewer's verdict on one section; it stands beside the computed
/// eligibility and overrides nothing.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "SectionVerdictInput")]
pub struct SectionReview {
    pub section: PortfolioSection,
    pub satisfied: bool,
    pub comment: Option<String>,
}

impl From<SectionVerdict> for SectionReview {
    fn from(verdict: SectionVerdict) -> Self {
        SectionReview { section: verdict.section, satisfied: verdict.satisfied, comment: verdict.comment }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Review")]
pub struct ReviewObject {
    pub reviewer: String,
    pub sections: Vec<SectionReview>,
    /// APPROVE or RETURN.
    pub recommendation: Decision,
    pub note: Option<String>,
    pub at: DateTime,
}

impl From<Review> for ReviewObject {
    fn from(review: Review) -> Self {
        ReviewObject {
            reviewer: review.reviewer,
            sections: review.sections.into_iter().map(Into::into).collect(),
            recommendation: review.recommendation,
            note: review.note,
            at: review.at.into(),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "RoundOutcome")]
pub struct RoundOutcomeObject {
    pub decision: Decision,
    /// REVIEWERS (they agreed, or the only one recommended) or COORDINATOR
    /// (`decidePortfolio`; REVIEWER when a reviewer decided that way).
    pub decided_by: String,
    pub at: DateTime,
    pub note: Option<String>,
    /// EMERGING: the day by which the rest must be completed (two years).
    pub complete_by: Option<Date>,
}

impl From<RoundOutcome> for RoundOutcomeObject {
    fn from(outcome: RoundOutcome) -> Self {
        RoundOutcomeObject {
            decision: outcome.decision,
            decided_by: outcome.decided_by,
            at: outcome.at.into(),
            note: outcome.note,
            complete_by: outcome.complete_by.map(Date),
        }
    }
}

#[derive(SimpleObject)]
pub struct ReviewRound {
    /// 1 for the first submission, one more for each resubmission.
    pub number: i32,
    pub submitted_at: Option<DateTime>,
    pub reviewers: Vec<ReviewRoundReviewer>,
    /// The reviews (REVIEWER, COORDINATOR, ADMIN; empty for others).
    pub reviews: Vec<ReviewObject>,
    pub outcome: Option<RoundOutcomeObject>,
    /// Two reviewers disagree: the coordinator decides with `decidePortfolio`.
    pub awaiting_coordinator: bool,
}

fn round_object(round: ReviewRoundDocument, judge: bool) -> ReviewRound {
    let recommendations: Vec<Decision> = round.reviews.iter().map(|r| r.recommendation).collect();
    let disagreement = matches!(
        crate::domain::review::verdict(round.reviewers.len(), &recommendations),
        crate::domain::review::Verdict::Disagreement
    );
    ReviewRound {
        number: round.number,
        submitted_at: round.submitted_at.map(Into::into),
        reviewers: round.reviewers.into_iter().map(Into::into).collect(),
        reviews: if judge { round.reviews.into_iter().map(Into::into).collect() } else { Vec::new() },
        awaiting_coordinator: round.outcome.is_none() && disagreement,
        outcome: round.outcome.map(Into::into),
    }
}

/// The portfolio's `reviewRounds` field.
pub async fn of_portfolio(ctx: &Context<'_>, portfolio: &PortfolioObject) -> AppResult<Vec<ReviewRound>> {
    let judge = portfolio.1.viewer.has_any_role(policy::JUDGES);
    let rounds = rounds::of_portfolio(services(ctx), &portfolio.1, portfolio.0.id).await?;
    Ok(rounds.into_iter().map(|round| round_object(round, judge)).collect())
}

#[derive(InputObject)]
pub struct ReviewerInput {
    /// The reviewer's token subject.
    pub subject: String,
    pub name: String,
    /// Matched against the raters the portfolio names.
    pub email: Option<String>,
}

#[derive(InputObject)]
pub struct RecordReviewInput {
    pub sections: Vec<SectionReview>,
    /// APPROVE or RETURN.
    pub recommendation: Decision,
    pub note: Option<String>,
}

/// A review cycle: the submissions of Mental Health Specialist and Mentor
/// portfolios up to its deadline are reviewed together.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "ReviewCycleInput")]
pub struct ReviewCycle {
    /// Stable, e.g. "2027-spring".
    pub id: String,
    pub name: String,
    /// The last day a submission joins it (a later one joins the next).
    pub submission_deadline: Date,
}

impl From<&cycles::ReviewCycle> for ReviewCycle {
    fn from(cycle: &cycles::ReviewCycle) -> Self {
        ReviewCycle {
            id: cycle.id.clone(),
            name: cycle.name.clone(),
            submission_deadline: Date(cycle.submission_deadline),
        }
    }
}

/// The portfolio's `reviewCycle` field.
pub fn cycle_of(portfolio: &PortfolioObject) -> Option<ReviewCycle> {
    crate::app::cycles::of_portfolio(&portfolio.1, &portfolio.0).map(Into::into)
}

#[derive(Default)]
pub struct CycleQuery;

#[Object]
impl CycleQuery {
    /// The association's review cycles, by deadline.
    async fn review_cycles(&self, ctx: &Context<'_>) -> AppResult<Vec<ReviewCycle>> {
        let actor = actor(ctx).await?;
        Ok(crate::app::cycles::list(&actor).iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct RoundMutation;

#[Object]
impl RoundMutation {
    /// Assigns one or two reviewers to the current submission (COORDINATOR,
    /// ADMIN). A conflicted reviewer (the applicant, their adviser, a rater
    /// or RS/C provider the portfolio names) is CONFLICT; one without a
    /// current endorsement here at the portfolio's level is
    /// FAILED_PRECONDITION.
    async fn assign_reviewers(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        reviewers: Vec<ReviewerInput>,
    ) -> AppResult<ReviewRound> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        let choices = reviewers
            .into_iter()
            .map(|r| ReviewerChoice { subject: r.subject, name: r.name, email: r.email })
            .collect();
        let round = rounds::assign(services(ctx), &actor, id, choices, &change_audit(ctx)).await?;
        Ok(round_object(round, true))
    }

    /// Records the caller's review (an assigned reviewer): a verdict per
    /// section and a recommendation. One reviewer's decides; two must agree.
    async fn record_review(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        input: RecordReviewInput,
    ) -> AppResult<ReviewRound> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        let input = ReviewInput {
            sections: input
                .sections
                .into_iter()
                .map(|s| SectionVerdict { section: s.section, satisfied: s.satisfied, comment: s.comment })
                .collect(),
            recommendation: input.recommendation,
            note: input.note,
        };
        let round = rounds::record(services(ctx), &actor, id, input, &change_audit(ctx)).await?;
        Ok(round_object(round, true))
    }

    /// Publishes the association's review cycles (ADMIN), by deadline. A
    /// cycle whose deadline has passed stays exactly as it was.
    async fn publish_review_cycles(&self, ctx: &Context<'_>, cycles: Vec<ReviewCycle>) -> AppResult<Vec<ReviewCycle>> {
        let actor = actor(ctx).await?;
        let cycles = cycles
            .into_iter()
            .map(|c| cycles::ReviewCycle { id: c.id, name: c.name, submission_deadline: c.submission_deadline.0 })
            .collect();
        let published = crate::app::cycles::publish(services(ctx), &actor, cycles, &change_audit(ctx)).await?;
        Ok(published.iter().map(Into::into).collect())
    }

    /// Records the exam result of an EXAM_ELIGIBLE portfolio (COORDINATOR,
    /// ADMIN): a pass endorses it, a fail leaves it eligible for a retake.
    async fn record_exam_result(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        expected_version: i32,
        taken_on: Date,
        passed: bool,
    ) -> AppResult<PortfolioObject> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        let audit = change_audit(ctx);
        let document = crate::app::review::record_exam_result(
            services(ctx),
            &actor,
            id,
            expected_version,
            taken_on.0,
            passed,
            &audit,
        )
        .await?;
        Ok(PortfolioObject::new(document, actor))
    }
}
