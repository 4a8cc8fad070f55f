//! Review rounds. A coordinator assigns one or two reviewers to a
//! submission, none of them conflicted (see `domain::review`) and each
//! endorsed here at the portfolio's level or higher. Each reviewer records
//! a verdict per section beside the computed eligibility, and a
//! recommendation: one reviewer's decides, two must agree, and a
//! disagreement waits for the coordinator's `decidePortfolio`. Every round
//! stays readable after the next submission opens another.

use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::portfolios::find;
use super::review::{MAX_NOTE_CHARS, apply};
use super::{Actor, ChangeAudit, advisers, policy};
use crate::domain::endorsement::may_review;
use crate::domain::model::{Decision, EndorsementStatus, PortfolioSection, PortfolioStatus};
use crate::domain::review::{self, Candidate, Named, Verdict};
use crate::services::Services;
use crate::store::portfolio::{PortfolioDocument, Projection};
use crate::store::rounds::{Review, ReviewRoundDocument, RoundOutcome, RoundReviewer, SectionVerdict};

/// A reviewer to assign.
#[derive(Debug, Clone)]
pub struct ReviewerChoice {
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
}

/// One reviewer's review.
#[derive(Debug, Clone)]
pub struct ReviewInput {
    pub sections: Vec<SectionVerdict>,
    pub recommendation: Decision,
    pub note: Option<String>,
}

/// The round of the portfolio's current submission that is still open,
/// with the version it was read at, else a new one (not stored yet).
async fn current(
    services: &Services,
    actor: &Actor,
    portfolio: &PortfolioDocument,
) -> AppResult<(ReviewRoundDocument, Option<i32>)> {
    let rounds = services.rounds(&actor.tenant)?.of_portfolio(portfolio.id).await?;
    let open = rounds.last().filter(|r| r.outcome.is_none() && r.submitted_at == portfolio.submitted_at);
    Ok(match open {
        Some(round) => (round.clone(), Some(round.version)),
        None => {
            let round = ReviewRoundDocument {
                id: ObjectId::new(),
                association: actor.tenant.code().clone(),
                portfolio_id: portfolio.id,
                number: rounds.last().map_or(1, |r| r.number + 1),
                submitted_at: portfolio.submitted_at,
                reviewers: Vec::new(),
                reviews: Vec::new(),
                outcome: None,
                version: 0,
            };
            (round, None)
        }
    })
}

/// The open round closed by `decision`, for the decision's transaction.
pub(crate) async fn closing(
    services: &Services,
    actor: &Actor,
    portfolio: &PortfolioDocument,
    decision: Decision,
    decided_by: &str,
    note: Option<String>,
) -> AppResult<(ReviewRoundDocument, Option<i32>)> {
    let (mut round, expected) = current(services, actor, portfolio).await?;
    // Emerging status runs two years from the decision day.
    let complete_by = (decision == Decision::Emerging)
        .then(|| actor.tenant.today().checked_add_months(chrono::Months::new(24)))
        .flatten();
    round.outcome = Some(RoundOutcome {
        decision,
        decided_by: decided_by.to_owned(),
        by: actor.subject().to_owned(),
        at: DateTime::now(),
        note,
        complete_by,
    });
    round.version += 1;
    Ok((round, expected))
}

fn under_review(portfolio: &PortfolioDocument) -> AppResult<()> {
    if matches!(portfolio.status, PortfolioStatus::Submitted | PortfolioStatus::InReview | PortfolioStatus::OnHold) {
        Ok(())
    } else {
        Err(AppError::Conflict(format!("A {} portfolio is not under review.", portfolio.status)))
    }
}

/// The people the portfolio names (raters, RS/C providers).
async fn named_people(
    services: &Services,
    actor: &Actor,
    portfolio: &PortfolioDocument,
) -> AppResult<Vec<(&'static str, String, Option<String>)>> {
    let content = &portfolio.content;
    let mut named: Vec<(&'static str, String, Option<String>)> = content
        .references
        .iter()
        .map(|r| ("a reference rater", r.rater_name.clone(), r.rater_email.clone()))
        .chain(content.reflective_supervision.iter().map(|s| ("an RS/C provider", s.provider_name.clone(), None)))
        .collect();
    let requests = services.references(&actor.tenant)?.for_portfolio(portfolio.id).await?;
    named.extend(requests.into_iter().map(|r| ("a reference rater", r.rater_name, Some(r.rater_email))));
    Ok(named)
}

/// Assigns the reviewers of the current submission's round (COORDINATOR,
/// ADMIN): one or two, replacing those assigned before.
pub async fn assign(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    choices: Vec<ReviewerChoice>,
    audit: &ChangeAudit<'_>,
) -> AppResult<ReviewRoundDocument> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target(portfolio_id.to_hex());
    if !(1..=2).contains(&choices.len()) {
        return Err(AppError::bad_input("reviewers", "assign one or two reviewers"));
    }
    if choices.len() == 2 && choices[0].subject.trim() == choices[1].subject.trim() {
        return Err(AppError::bad_input("reviewers[1].subject", "the two reviewers must be different people"));
    }
    let portfolio = find(services, actor, portfolio_id, &Projection::all())
        .await?
        .ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_judge(&actor.viewer, &portfolio.owner_id, policy::STAFF)?;
    under_review(&portfolio)?;
    let advisers: Vec<String> =
        advisers::of_portfolio(services, actor, portfolio_id).await?.into_iter().map(|a| a.subject).collect();
    let advisers: Vec<&str> = advisers.iter().map(String::as_str).collect();
    let named = named_people(services, actor, &portfolio).await?;
    let named: Vec<Named<'_>> =
        named.iter().map(|(role, name, email)| Named { role, name, email: email.as_deref() }).collect();
    let mut reviewers = Vec::new();
    for (index, choice) in choices.into_iter().enumerate() {
        let (subject, name) = (choice.subject.trim().to_owned(), choice.name.trim().to_owned());
        let email = choice.email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
        if subject.is_empty() || name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::bad_input(format!("reviewers[{index}]"), "each reviewer needs a subject and a name"));
        }
        let candidate = Candidate { subject: &subject, name: &name, email: email.as_deref() };
        if let Some(conflict) = review::conflict(&candidate, &portfolio.owner_id, &advisers, &named) {
            return Err(AppError::Conflict(format!("reviewers[{index}]: {conflict}; choose another reviewer.")));
        }
        let held: Vec<_> = services
            .endorsements(&actor.tenant)?
            .of_subject(&subject)
            .await?
            .into_iter()
            .filter(|e| e.status == EndorsementStatus::Current)
            .map(|e| e.category)
            .collect();
        let category = portfolio.content.target_category;
        if !may_review(&held, category) {
            return Err(AppError::FailedPrecondition {
                message: format!(
                    "reviewers[{index}]: {name} holds no current endorsement here at the level of {} or higher.",
                    crate::domain::names::Human::human(category)
                ),
                missing: vec![format!("reviewers[{index}].endorsement")],
            });
        }
        reviewers.push(RoundReviewer {
            subject,
            name,
            email,
            assigned_by: actor.subject().to_owned(),
            assigned_at: DateTime::now(),
        });
    }
    let (mut round, expected) = current(services, actor, &portfolio).await?;
    round.reviews.retain(|review| reviewers.iter().any(|r| r.subject == review.reviewer));
    round.reviewers = reviewers;
    round.version += 1;
    let names: Vec<&str> = round.reviewers.iter().map(|r| r.subject.as_str()).collect();
    let record = audit.record(portfolio_id.to_hex(), format!("REVIEWERS_ASSIGNED {}", names.join(",")));
    if !services.rounds(&actor.tenant)?.save_audited(&round, expected, &record).await? {
        return Err(AppError::Conflict("The round changed meanwhile; reload and assign again.".into()));
    }
    audit.stored();
    Ok(round)
}

/// Records the caller's review in the current round (an assigned
/// reviewer). When it completes the round's recommendations and they
/// agree, the portfolio is decided in the same transaction.
pub async fn record(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    input: ReviewInput,
    audit: &ChangeAudit<'_>,
) -> AppResult<ReviewRoundDocument> {
    policy::require_role(&actor.viewer, policy::JUDGES)?;
    audit.target(portfolio_id.to_hex());
    if !matches!(input.recommendation, Decision::Approve | Decision::Return) {
        return Err(AppError::bad_input("input.recommendation", "a reviewer recommends APPROVE or RETURN"));
    }
    let note = super::input::optional_text("input.note", input.note, MAX_NOTE_CHARS)?;
    let mut seen: Vec<PortfolioSection> = Vec::new();
    for (index, verdict) in input.sections.iter().enumerate() {
        if seen.contains(&verdict.section) {
            return Err(AppError::bad_input(format!("input.sections[{index}].section"), "a section is reviewed once"));
        }
        super::input::optional_text(
            &format!("input.sections[{index}].comment"),
            verdict.comment.clone(),
            MAX_NOTE_CHARS,
        )?;
        seen.push(verdict.section);
    }
    let portfolio = find(services, actor, portfolio_id, &Projection::all())
        .await?
        .ok_or_else(|| AppError::not_found("Portfolio"))?;
    policy::may_judge(&actor.viewer, &portfolio.owner_id, policy::JUDGES)?;
    under_review(&portfolio)?;
    let (mut round, expected) = current(services, actor, &portfolio).await?;
    if !round.reviewers.iter().any(|r| r.subject == actor.viewer.subject) {
        return Err(AppError::Forbidden);
    }
    round.reviews.retain(|review| review.reviewer != actor.viewer.subject);
    round.reviews.push(Review {
        reviewer: actor.subject().to_owned(),
        sections: input.sections,
        recommendation: input.recommendation,
        note: note.clone(),
        at: DateTime::now(),
    });
    round.version += 1;
    let recommendations: Vec<Decision> = round.reviews.iter().map(|review| review.recommendation).collect();
    if let Verdict::Decided(decision) = review::verdict(round.reviewers.len(), &recommendations) {
        let mut deciding = round.clone();
        deciding.outcome = Some(RoundOutcome {
            decision,
            decided_by: "REVIEWERS".into(),
            by: actor.subject().to_owned(),
            at: DateTime::now(),
            note: note.clone(),
            complete_by: None,
        });
        match apply(services, actor, portfolio, decision, note, audit, Some((deciding.clone(), expected))).await {
            Ok(_) => return Ok(deciding),
            // Approval waits for a fee: the review is kept, the decision
            // is the coordinator's once the fee is settled.
            Err(AppError::FailedPrecondition { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    let record = audit.record(portfolio_id.to_hex(), format!("REVIEWED {}", input.recommendation.as_str()));
    if !services.rounds(&actor.tenant)?.save_audited(&round, expected, &record).await? {
        return Err(AppError::Conflict("The round changed meanwhile; reload and record the review again.".into()));
    }
    audit.stored();
    Ok(round)
}

/// Every round of a portfolio the caller sees, first first.
pub async fn of_portfolio(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
) -> AppResult<Vec<ReviewRoundDocument>> {
    Ok(services.rounds(&actor.tenant)?.of_portfolio(portfolio_id).await?)
}
