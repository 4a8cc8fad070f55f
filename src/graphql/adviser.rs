//! Advisers and comments through GraphQL. See [`crate::app::advisers`].

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::context::{actor, change_audit, services};
use super::portfolio::PortfolioObject;
use super::scalars::DateTime;
use crate::app::advisers::{self, Person};
use crate::app::error::AppResult;
use crate::app::portfolios::parse_id;
use crate::app::records::{AssignmentDocument, CommentDocument};
use crate::domain::model::PortfolioSection;

/// A person connected to a portfolio.
#[derive(SimpleObject)]
pub struct Assignment {
    pub id: ID,
    /// Their token subject.
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub assigned_at: DateTime,
}

impl From<AssignmentDocument> for Assignment {
    fn from(assignment: AssignmentDocument) -> Self {
        Assignment {
            id: ID(assignment.id.to_hex()),
            subject: assignment.subject,
            name: assignment.name,
            email: assignment.email,
            assigned_at: assignment.assigned_at.into(),
        }
    }
}

/// What an adviser, reviewer or coordinator said about a section.
#[derive(SimpleObject)]
pub struct Comment {
    pub id: ID,
    pub section: PortfolioSection,
    /// ADVISER, REVIEWER or COORDINATOR.
    pub author_role: String,
    pub author: String,
    pub text: String,
    pub at: DateTime,
}

impl From<CommentDocument> for Comment {
    fn from(comment: CommentDocument) -> Self {
        Comment {
            id: ID(comment.id.to_hex()),
            section: comment.section,
            author_role: comment.author_role,
            author: comment.author,
            text: comment.text,
            at: comment.at.into(),
        }
    }
}

/// The portfolio's `advisers` field.
pub async fn of_portfolio(ctx: &Context<'_>, portfolio: &PortfolioObject) -> AppResult<Vec<Assignment>> {
    Ok(advisers::of_portfolio(services(ctx), &portfolio.1, portfolio.0.id).await?.into_iter().map(Into::into).collect())
}

/// The portfolio's `comments` field.
pub async fn comments(
    ctx: &Context<'_>,
    portfolio: &PortfolioObject,
    section: Option<PortfolioSection>,
) -> AppResult<Vec<Comment>> {
    let found = advisers::comments(services(ctx), &portfolio.1, portfolio.0.id, section).await?;
    Ok(found.into_iter().map(Into::into).collect())
}

#[derive(InputObject)]
pub struct AdviserInput {
    /// The adviser's token subject (their tokens carry the ADVISER role).
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
}

#[derive(Default)]
pub struct AdviserMutation;

#[Object]
impl AdviserMutation {
    /// Connects an adviser to a portfolio (COORDINATOR, ADMIN): they read
    /// it and comment, never decide.
    async fn assign_adviser(&self, ctx: &Context<'_>, portfolio_id: ID, input: AdviserInput) -> AppResult<Assignment> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        let person = Person { subject: input.subject, name: input.name, email: input.email };
        Ok(advisers::assign(services(ctx), &actor, id, person, &change_audit(ctx)).await?.into())
    }

    /// Ends an adviser's assignment (COORDINATOR, ADMIN); their comments stay.
    async fn end_assignment(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        let actor = actor(ctx).await?;
        let id = parse_id("id", &id)?;
        advisers::end(services(ctx), &actor, id, &change_audit(ctx)).await
    }

    /// Comments on a section of a portfolio (its adviser, a reviewer,
    /// COORDINATOR, ADMIN); the applicant reads it.
    async fn comment_on_portfolio(
        &self,
        ctx: &Context<'_>,
        portfolio_id: ID,
        section: PortfolioSection,
        text: String,
    ) -> AppResult<Comment> {
        let actor = actor(ctx).await?;
        let id = parse_id("portfolioId", &portfolio_id)?;
        Ok(advisers::comment(services(ctx), &actor, id, section, text, &change_audit(ctx)).await?.into())
    }
}
