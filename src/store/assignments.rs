//! The `assignments` and `comments` collections: who a coordinator
//! connected to a portfolio (an adviser), and what advisers and staff
//! said about it, section by section. An active assignment carries
//! `active: true`, and a unique partial index keeps one per person, kind
//! and portfolio.

use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, Identified};
use super::{Store, StoreError, in_transaction};
use crate::domain::association::AssociationCode;
use crate::domain::model::{AssignmentKind, PortfolioSection};

pub const ASSIGNMENTS: &str = "assignments";
pub const COMMENTS: &str = "comments";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentDocument {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub portfolio_id: ObjectId,
    pub kind: AssignmentKind,
    /// The assigned person's token subject.
    pub subject: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub assigned_by: String,
    pub assigned_at: DateTime,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentDocument {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub association: AssociationCode,
    pub portfolio_id: ObjectId,
    pub section: PortfolioSection,
    pub author: String,
    /// The capacity the author wrote in: "ADVISER", "REVIEWER", "COORDINATOR".
    pub author_role: String,
    pub text: String,
    pub at: DateTime,
}

#[derive(Clone)]
pub struct AssignmentStore {
    store: Store,
    association: AssociationCode,
    assignments: Collection<AssignmentDocument>,
    comments: Collection<CommentDocument>,
    audit: Collection<Identified>,
}

impl AssignmentStore {
    pub fn new(store: &Store, association: &AssociationCode) -> Self {
        let db = store.database();
        AssignmentStore {
            store: store.clone(),
            association: association.clone(),
            assignments: db.collection(ASSIGNMENTS),
            comments: db.collection(COMMENTS),
            audit: db.collection(super::audit::COLLECTION),
        }
    }

    pub async fn ensure_indexes(store: &Store) -> Result<(), StoreError> {
        let assignments = store.database().collection::<Document>(ASSIGNMENTS);
        let one_active = IndexModel::builder()
            .keys(doc! { "association": 1, "portfolioId": 1, "kind": 1, "subject": 1 })
            .options(
                IndexOptions::builder()
                    .name("one_active_assignment".to_owned())
                    .unique(true)
                    .partial_filter_expression(doc! { "active": true })
                    .build(),
            )
            .build();
        let by_subject = IndexModel::builder()
            .keys(doc! { "association": 1, "subject": 1, "kind": 1 })
            .options(IndexOptions::builder().name("assignment_subject".to_owned()).build())
            .build();
        assignments.create_indexes([one_active, by_subject]).await?;
        let comments = store.database().collection::<Document>(COMMENTS);
        let by_portfolio = IndexModel::builder()
            .keys(doc! { "association": 1, "portfolioId": 1, "at": 1 })
            .options(IndexOptions::builder().name("comment_portfolio".to_owned()).build())
            .build();
        comments.create_indexes([by_portfolio]).await?;
        Ok(())
    }

    fn tenant(&self, mut filter: Document) -> Document {
        filter.insert("association", self.association.as_str());
        filter
    }

    /// The portfolios `subject` is actively assigned to as `kind`.
    pub async fn portfolios_of(&self, subject: &str, kind: AssignmentKind) -> Result<Vec<ObjectId>, StoreError> {
        let filter = self.tenant(doc! { "subject": subject, "kind": kind.as_str(), "active": true });
        let found: Vec<AssignmentDocument> = self.assignments.find(filter).await?.try_collect().await?;
        Ok(found.into_iter().map(|assignment| assignment.portfolio_id).collect())
    }

    /// The active assignments of a portfolio, oldest first.
    pub async fn of_portfolio(&self, portfolio_id: ObjectId) -> Result<Vec<AssignmentDocument>, StoreError> {
        let filter = self.tenant(doc! { "portfolioId": portfolio_id, "active": true });
        Ok(self.assignments.find(filter).sort(doc! { "assignedAt": 1 }).await?.try_collect().await?)
    }

    pub async fn assign_audited(
        &self,
        assignment: &AssignmentDocument,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            self.assignments.insert_one(assignment).session(&mut *session).await?;
            Ok(((), true))
        }
        .await)
    }

    /// Ends an active assignment; whether there was one.
    pub async fn end_audited(&self, id: ObjectId, record: &AuditRecord) -> Result<bool, StoreError> {
        let (filter, update) = (self.tenant(doc! { "_id": id, "active": true }), doc! { "$set": { "active": false } });
        let ended =
            super::update_one_audited(&self.store, &self.audit, &self.assignments, filter, update, record).await?;
        Ok(ended.is_some())
    }

    pub async fn get(&self, id: ObjectId) -> Result<Option<AssignmentDocument>, StoreError> {
        Ok(self.assignments.find_one(self.tenant(doc! { "_id": id })).await?)
    }

    pub async fn comment_audited(&self, comment: &CommentDocument, record: &AuditRecord) -> Result<(), StoreError> {
        in_transaction!(&self.store, &self.audit, record, |session| async {
            self.comments.insert_one(comment).session(&mut *session).await?;
            Ok(((), true))
        }
        .await)
    }

    /// A portfolio's comments, oldest first.
    pub async fn comments_of(&self, portfolio_id: ObjectId) -> Result<Vec<CommentDocument>, StoreError> {
        let filter = self.tenant(doc! { "portfolioId": portfolio_id });
        Ok(self.comments.find(filter).sort(doc! { "at": 1, "_id": 1 }).await?.try_collect().await?)
    }
}
