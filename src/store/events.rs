//! The portfolio events feed: a change stream on the audit log, whose
//! records carry the event of the change they were committed with. One
//! stream per instance; every instance sees every commit, whichever
//! instance made it.

use futures::StreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::change_stream::event::{ChangeStreamEvent, OperationType, ResumeToken};
use serde::Deserialize;

use super::audit::PortfolioEvent;
use super::{Store, StoreError};
use crate::domain::association::AssociationCode;

/// One committed event.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    pub association: AssociationCode,
    pub at: DateTime,
    pub event: PortfolioEvent,
}

#[derive(Deserialize)]
struct Row {
    #[serde(default)]
    association: Option<AssociationCode>,
    at: DateTime,
    #[serde(default)]
    event: Option<PortfolioEvent>,
}

/// The audit log's inserts from now on (or after `resume`), as events.
pub struct Feed {
    stream: mongodb::change_stream::ChangeStream<ChangeStreamEvent<Row>>,
}

impl Feed {
    pub async fn open(store: &Store, resume: Option<ResumeToken>) -> Result<Feed, StoreError> {
        let audit = store.database().collection::<Row>(super::audit::COLLECTION);
        // Only inserts carry new events (a record is later marked committed,
        // an update); the rest is filtered here, not by the server.
        let stream =
            audit.watch().pipeline([doc! { "$match": { "operationType": "insert" } }]).resume_after(resume).await?;
        Ok(Feed { stream })
    }

    /// The next event; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Result<Committed, StoreError>> {
        loop {
            let change = match self.stream.next().await? {
                Ok(change) => change,
                Err(error) => return Some(Err(error.into())),
            };
            if change.operation_type != OperationType::Insert {
                continue;
            }
            let Some(Row { association: Some(association), at, event: Some(event) }) = change.full_document else {
                continue;
            };
            return Some(Ok(Committed { association, at, event }));
        }
    }

    /// Where to resume after what was read.
    pub fn resume_token(&self) -> Option<ResumeToken> {
        self.stream.resume_token()
    }
}
