//! The sections of a page's portfolios, fetched on first need.
//!
//! A page that shows computed fields (eligibility, recommendations) is
//! fetched without the sections the engine reads, which are nearly all of
//! a stored portfolio. The first computed field that needs them fetches, in
//! one query, those of every portfolio of the page that will need them too:
//! for an evaluation on basis CLAIMED, the ones whose answer to the same
//! question is not kept (see [`super::evaluation_cache`]); otherwise all.
//! So a reviewer's queue asked again moves no sections at all, one with a
//! changed portfolio moves that one's, and a new one moves each once.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use mongodb::bson::oid::ObjectId;

use super::Actor;
use super::error::{AppError, AppResult};
use super::evaluation::ApplicantRecords;
use super::evaluation_cache::{EvaluationKey, Question, StoredVersion};
use crate::domain::access::PortfolioAccess;
use crate::domain::model::{Basis, Category, Portfolio};
use crate::services::Services;
use crate::store::portfolio::{PortfolioDocument, Projection};

/// One portfolio of the page, as much as deciding whether it needs its
/// sections takes.
#[derive(Debug, Clone)]
pub struct Member {
    pub portfolio: StoredVersion,
    pub target_category: Category,
    /// The date an evaluation is made on when none is asked for.
    pub default_as_of: NaiveDate,
    pub records: ApplicantRecords,
}

impl Member {
    /// `document` (fetched without its sections) with its applicant's `records`.
    pub fn of(document: &PortfolioDocument, actor: &Actor, records: ApplicantRecords) -> Self {
        Member {
            portfolio: StoredVersion { id: document.id, version: document.version },
            target_category: document.content.target_category,
            default_as_of: document.default_as_of(actor.tenant.today()),
            records,
        }
    }
}

/// A portfolio's sections as stored at `version` (which is newer than the
/// page's when it changed in between: the answer is then about the newer).
#[derive(Debug)]
pub struct Sections {
    pub version: i32,
    pub content: Portfolio,
}

/// What the field asking for sections will do with them, which tells
/// which other portfolios of the page will need theirs.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Evaluate on basis CLAIMED `category` (default: each portfolio's
    /// target) on `as_of` (default: each one's date).
    ClaimedEvaluation { category: Option<Category>, as_of: Option<NaiveDate> },
    /// Anything else: every portfolio of the page will need them.
    Everything,
}

pub struct PageSections {
    actor: Arc<Actor>,
    members: Vec<Member>,
    /// Held while fetching, so the page's other fields wait for that one
    /// query instead of sending their own.
    fetched: tokio::sync::Mutex<HashMap<ObjectId, Arc<Sections>>>,
}

impl PageSections {
    pub fn new(actor: Arc<Actor>, members: Vec<Member>) -> Self {
        PageSections { actor, members, fetched: tokio::sync::Mutex::new(HashMap::new()) }
    }

    /// The sections of `id`, fetched with those of the page's other
    /// portfolios that `need` says will be asked for.
    pub async fn of(&self, services: &Services, id: ObjectId, need: Need) -> AppResult<Arc<Sections>> {
        let mut fetched = self.fetched.lock().await;
        if let Some(found) = fetched.get(&id) {
            return Ok(found.clone());
        }
        let ids: Vec<ObjectId> = std::iter::once(id)
            .chain(
                self.members
                    .iter()
                    .filter(|member| member.portfolio.id != id && !fetched.contains_key(&member.portfolio.id))
                    .filter(|member| self.will_need(services, member, need))
                    .map(|member| member.portfolio.id),
            )
            .collect();
        // The caller's access chose these ids for this request's page; it
        // is not asked again, so that a portfolio that left the caller's
        // sight a moment later (an adviser unassigned) does not fail the
        // whole page: the page is one read.
        let store = services.portfolios(&self.actor.tenant)?;
        for document in store.by_ids(&ids, &PortfolioAccess::Everything, &Projection::all()).await? {
            fetched.insert(document.id, Arc::new(Sections { version: document.version, content: document.content }));
        }
        // Removed since the page was read.
        fetched.get(&id).cloned().ok_or_else(|| AppError::not_found("Portfolio"))
    }

    fn will_need(&self, services: &Services, member: &Member, need: Need) -> bool {
        match need {
            Need::Everything => true,
            Need::ClaimedEvaluation { category, as_of } => {
                let question = Question {
                    category: category.unwrap_or(member.target_category),
                    as_of: as_of.unwrap_or(member.default_as_of),
                    basis: Basis::Claimed,
                };
                let key = EvaluationKey::new(&self.actor.tenant, member.portfolio, question, &member.records, &[]);
                !services.evaluations.contains(&key)
            }
        }
    }
}
