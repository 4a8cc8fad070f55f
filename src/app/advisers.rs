//! Advisers and comments. A coordinator connects an adviser to an
//! applicant's portfolio: the adviser (role ADVISER) reads it and comments,
//! section by section, and never decides (deciding takes a judge's role).
//! Reviewers and staff comment the same way; the applicant reads every
//! comment on their portfolio. Assignments are audited.

use mongodb::bson::{DateTime, oid::ObjectId};

use super::error::{AppError, AppResult};
use super::portfolios::find;
use super::{Actor, ChangeAudit, input, policy};
use crate::auth::Role;
use crate::domain::model::{AssignmentKind, PortfolioSection};
use crate::domain::validate;
use crate::services::Services;
use crate::store::assignments::{AssignmentDocument, CommentDocument};
use crate::store::portfolio::{PortfolioDocument, Projection};

/// Longest comment.
pub const MAX_COMMENT_CHARS: usize = 4000;
/// Most comments one portfolio holds (what `comments` may return).
pub const MAX_COMMENTS: usize = 200;

/// The person to connect.
#[derive(Debug, Clone)]
pub struct Person {
    /// Their token subject.
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
}

async fn visible(services: &Services, actor: &Actor, portfolio_id: ObjectId) -> AppResult<PortfolioDocument> {
    find(services, actor, portfolio_id, &Projection::only(["applicant"]))
        .await?
        .ok_or_else(|| AppError::not_found("Portfolio"))
}

/// Connects an adviser to a portfolio (COORDINATOR, ADMIN). Never its
/// applicant; the same adviser twice is a CONFLICT.
pub async fn assign(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    person: Person,
    audit: &ChangeAudit<'_>,
) -> AppResult<AssignmentDocument> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    audit.target(portfolio_id.to_hex());
    let subject = person.subject.trim().to_owned();
    let name = person.name.trim().to_owned();
    if subject.is_empty() || subject.len() > 256 {
        return Err(AppError::bad_input("input.subject", "`subject` must be the adviser's token subject"));
    }
    validate::required_text("name", &name, validate::MAX_NAME).map_err(AppError::invalid_at("input"))?;
    let email = person.email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
    if let Some(email) = &email {
        validate::email("email", email).map_err(AppError::invalid_at("input"))?;
    }
    let portfolio = visible(services, actor, portfolio_id).await?;
    if portfolio.owner_id == subject {
        return Err(AppError::Conflict("An applicant cannot be their own adviser.".into()));
    }
    let assignment = AssignmentDocument {
        id: ObjectId::new(),
        association: actor.tenant.code().clone(),
        portfolio_id,
        kind: AssignmentKind::Adviser,
        subject,
        name,
        email,
        assigned_by: actor.subject().to_owned(),
        assigned_at: DateTime::now(),
        active: true,
    };
    let record = audit.record(portfolio_id.to_hex(), format!("ADVISER_ASSIGNED {}", assignment.subject));
    services.assignments(&actor.tenant)?.assign_audited(&assignment, &record).await.map_err(|error| {
        match AppError::from(error) {
            AppError::Conflict(_) => AppError::Conflict("That adviser is connected to this portfolio already.".into()),
            other => other,
        }
    })?;
    audit.stored();
    Ok(assignment)
}

/// Ends an assignment (COORDINATOR, ADMIN): the adviser no longer sees the
/// portfolio; what they wrote stays.
pub async fn end(services: &Services, actor: &Actor, id: ObjectId, audit: &ChangeAudit<'_>) -> AppResult<bool> {
    policy::require_role(&actor.viewer, policy::STAFF)?;
    let store = services.assignments(&actor.tenant)?;
    let assignment = store.get(id).await?.ok_or_else(|| AppError::not_found("Assignment"))?;
    let record = audit.record(assignment.portfolio_id.to_hex(), format!("ADVISER_ENDED {}", assignment.subject));
    let ended = store.end_audited(id, &record).await?;
    if ended {
        audit.stored();
    }
    Ok(ended)
}

/// The advisers connected to a portfolio the caller sees.
pub async fn of_portfolio(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
) -> AppResult<Vec<AssignmentDocument>> {
    Ok(services.assignments(&actor.tenant)?.of_portfolio(portfolio_id).await?)
}

/// Comments on a section (an adviser connected to the portfolio, a
/// reviewer, COORDINATOR, ADMIN; never the applicant on their own).
pub async fn comment(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    section: PortfolioSection,
    text: String,
    audit: &ChangeAudit<'_>,
) -> AppResult<CommentDocument> {
    audit.target(portfolio_id.to_hex());
    let text = input::required_text("text", &text, MAX_COMMENT_CHARS)?;
    let portfolio = visible(services, actor, portfolio_id).await?;
    if policy::is_subject_of(&actor.viewer, &portfolio.owner_id) {
        return Err(AppError::Forbidden);
    }
    let advises = actor.viewer.has_role(Role::Adviser)
        && of_portfolio(services, actor, portfolio_id).await?.iter().any(|a| a.subject == actor.viewer.subject);
    let author_role = if advises {
        "ADVISER"
    } else if actor.viewer.has_any_role(policy::STAFF) {
        "COORDINATOR"
    } else if actor.viewer.has_role(Role::Reviewer) {
        "REVIEWER"
    } else {
        return Err(AppError::Forbidden);
    };
    let comment = CommentDocument {
        id: ObjectId::new(),
        association: actor.tenant.code().clone(),
        portfolio_id,
        section,
        author: actor.subject().to_owned(),
        author_role: author_role.to_owned(),
        text,
        at: DateTime::now(),
    };
    let store = services.assignments(&actor.tenant)?;
    if store.comments_of(portfolio_id).await?.len() >= MAX_COMMENTS {
        return Err(AppError::Conflict(format!("The portfolio holds {MAX_COMMENTS} comments, the most it may hold.")));
    }
    let record = audit.record(portfolio_id.to_hex(), format!("COMMENTED {}", section.as_str()));
    store.comment_audited(&comment, &record).await?;
    audit.stored();
    Ok(comment)
}

/// A portfolio's comments, oldest first, of one section or all.
pub async fn comments(
    services: &Services,
    actor: &Actor,
    portfolio_id: ObjectId,
    section: Option<PortfolioSection>,
) -> AppResult<Vec<CommentDocument>> {
    let all = services.assignments(&actor.tenant)?.comments_of(portfolio_id).await?;
    Ok(all.into_iter().filter(|comment| section.is_none_or(|s| comment.section == s)).collect())
}
