//! The `review_rounds` collection: one document per round of review of a
//! submission, with its reviewers, their section-by-section reviews and
//! recommendations, and its outcome. Each write is guarded by the round's
//! version, so two reviewers recording at once never lose a review; the
//! write that decides a round goes in the portfolio's transaction.

use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{ClientSession, Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, Identified};
use super::{Store, StoreError, in_transaction};
use crate::domain::association::AssociationCode;
use crate::domain::model::{Decision, PortfolioSection};

pub const COLLECTION: &str = "review_rounds";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoundReviewer {
    pub subject: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub assigned_by: String,
    pub assigned_at: DateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionVerdict {
    pub section: PortfolioSection,
    pub satisfied: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub reviewer: String,
    pub sections: Vec<SectionVerdict>,
    /// APPROVE or RETURN.
    pub recommendation: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub at: DateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoundOutcome {
    pub decision: Decision,
    /// REVIEWERS (their recommendations agreed, or the only one's) or
    /// COORDINATOR (a decision through `decidePortfolio`).
    pub decided_by: String,
    pub by: String,
    pub at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// EMERGING: the day by which the rest must be completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_by: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRoundDocument {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub portfolio_id: ObjectId,
    /// 1 for the first submission, one more for each resubmission.
    pub number: i32,
    /// The submission the round reviews.
    pub submitted_at: Option<DateTime>,
    pub reviewers: Vec<RoundReviewer>,
    pub reviews: Vec<Review>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RoundOutcome>,
    pub version: i32,
}

/// Writes `round` as the version after `expected` (`None`: a new round)
/// within `session`'s transaction; whether the guard held.
pub(crate) async fn save_in(
    store: &Store,
    round: &ReviewRoundDocument,
    expected: Option<i32>,
    session: &mut ClientSession,
) -> Result<bool, mongodb::error::Error> {
    let rounds = store.database().collection::<ReviewRoundDocument>(COLLECTION);
    match expected {
        None => {
            rounds.insert_one(round).session(&mut *session).await?;
            Ok(true)
        }
        Some(version) => {
            let guard = doc! { "_id": round.id, "association": round.association.as_str(), "version": version };
            Ok(rounds.replace_one(guard, round).session(&mut *session).await?.matched_count == 1)
        }
    }
}

#[derive(Clone)]
pub struct RoundStore {
    store: Store,
    association: AssociationCode,
    rounds: Collection<ReviewRoundDocument>,
    audit: Collection<Identified>,
}

impl RoundStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        let db = store.database();
        RoundStore {
            store: store.clone(),
            association: association.clone(),
            rounds: db.collection(COLLECTION),
            audit: db.collection(super::audit::COLLECTION),
        }
    }

    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let rounds = store.database().collection::<Document>(COLLECTION);
        let one_per_number = IndexModel::builder()
            .keys(doc! { "association": 1, "portfolioId": 1, "number": 1 })
            .options(IndexOptions::builder().name("round_number".to_owned()).unique(true).build())
            .build();
        rounds.create_indexes([one_per_number]).await?;
        Ok(())
    }

    /// Every round of the association (reports).
    pub async fn all(&self) -> Result<Vec<ReviewRoundDocument>, StoreError> {
        Ok(self.rounds.find(doc! { "association": self.association.as_str() }).await?.try_collect().await?)
    }

    /// Every round of a portfolio, first first.
    pub async fn of_portfolio(&self, portfolio_id: ObjectId) -> Result<Vec<ReviewRoundDocument>, StoreError> {
        let filter = doc! { "association": self.association.as_str(), "portfolioId": portfolio_id };
        Ok(self.rounds.find(filter).sort(doc! { "number": 1 }).await?.try_collect().await?)
    }

    /// Writes `round` with its audit record (see [`save_in`]); false when
    /// another write got there first.
    pub async fn save_audited(
        &self,
        round: &ReviewRoundDocument,
        expected: Option<i32>,
        record: &AuditRecord,
    ) -> Result<bool, StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            let saved = save_in(&self.store, round, expected, &mut *session).await?;
            Ok((saved, saved))
        }
        .await)
    }
}
