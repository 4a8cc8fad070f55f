//! The append-only audit log: who did what, when, to which target, with what
//! result, under which request id. Written by one mechanism (the GraphQL
//! audit extension) so that no mutation can forget it.

use mongodb::bson::{self, DateTime, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

pub const COLLECTION: &str = "audit_log";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The JWT subject, or "anonymous".
    pub actor: String,
    pub roles: Vec<String>,
    /// The mutation (or audited read), e.g. "changePortfolio".
    pub action: String,
    /// The main object acted on, when there is one.
    pub target: Option<String>,
    /// "ok", or the error code the caller received.
    pub result: String,
    pub request_id: String,
    pub at: DateTime,
}

/// An audit record under an `_id` chosen before the first attempt to store
/// it (not by the driver at each insert), so that every attempt names the
/// same document.
#[derive(Debug, Serialize)]
pub struct Identified {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(flatten)]
    record: AuditRecord,
}

impl Identified {
    pub fn new(record: AuditRecord) -> Self {
        Identified { id: ObjectId::new(), record }
    }
}

#[derive(Clone)]
pub struct AuditLog {
    collection: Collection<AuditRecord>,
}

impl AuditLog {
    pub fn new(store: &Store) -> Self {
        AuditLog { collection: store.database().collection(COLLECTION) }
    }

    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_target = IndexModel::builder()
            .keys(doc! { "target": 1, "at": -1 })
            .options(IndexOptions::builder().name("target_at".to_owned()).build())
            .build();
        let by_actor = IndexModel::builder()
            .keys(doc! { "actor": 1, "at": -1 })
            .options(IndexOptions::builder().name("actor_at".to_owned()).build())
            .build();
        self.collection.create_indexes([by_target, by_actor]).await?;
        Ok(())
    }

    pub async fn append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.append_all(&[Identified::new(record.clone())]).await
    }

    /// Stores records not stored yet; one whose `_id` exists is this very
    /// record, from an attempt whose reply was lost (a driver retry across a
    /// restart, or the batch writer's own retry).
    pub async fn append_all(&self, records: &[Identified]) -> Result<(), StoreError> {
        super::insert_new(&self.collection.clone_with_type::<Identified>(), records).await?;
        Ok(())
    }

    /// Newest first, optionally for one target or one actor.
    pub async fn recent(
        &self,
        target: Option<&str>,
        actor: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut filter = bson::Document::new();
        if let Some(target) = target {
            filter.insert("target", target);
        }
        if let Some(actor) = actor {
            filter.insert("actor", actor);
        }
        let mut cursor = self.collection.find(filter).sort(doc! { "at": -1, "_id": -1 }).limit(limit).await?;
        let mut records = Vec::new();
        while cursor.advance().await? {
            records.push(cursor.deserialize_current()?);
        }
        Ok(records)
    }
}

/// Records of personal-data reads, written off the request path: a request
/// hands its records to a bounded queue (waiting when it is full), and one
/// task writes them in batches. One insert per batch instead of one per
/// read keeps reviewer reads fast; `flush` waits until everything queued
/// before it is stored.
#[derive(Clone)]
pub struct ReadAudit {
    sender: tokio::sync::mpsc::Sender<Queued>,
}

enum Queued {
    Record(AuditRecord),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Records waiting at most; beyond this, reads wait for the writer.
const QUEUE: usize = 10_000;
/// Records per insert.
const BATCH: usize = 500;
/// How long the writer waits to fill a batch.
const LINGER: std::time::Duration = std::time::Duration::from_millis(50);
/// Attempts per batch before its records go to the error log instead.
const ATTEMPTS: u32 = 5;

impl ReadAudit {
    /// Starts the writer task (needs a Tokio runtime).
    pub fn spawn(log: AuditLog) -> Self {
        let (sender, receiver) = tokio::sync::mpsc::channel(QUEUE);
        tokio::spawn(write_batches(log, receiver));
        ReadAudit { sender }
    }

    /// Queues `records`; an error means the writer has stopped.
    pub async fn record(&self, records: Vec<AuditRecord>) -> Result<(), StoreError> {
        for record in records {
            self.sender.send(Queued::Record(record)).await.map_err(|_| writer_stopped())?;
        }
        Ok(())
    }

    /// Waits until every record queued before this call has been written
    /// (or given up on).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, written) = tokio::sync::oneshot::channel();
        self.sender.send(Queued::Flush(done)).await.map_err(|_| writer_stopped())?;
        written.await.map_err(|_| writer_stopped())
    }
}

fn writer_stopped() -> StoreError {
    StoreError::Corrupt("the audit writer has stopped".into())
}

async fn write_batches(log: AuditLog, mut receiver: tokio::sync::mpsc::Receiver<Queued>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        // Gather for up to LINGER so that busy periods make few, large
        // inserts; a flush request ends the wait at once.
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut next = Some(first);
        while let Some(queued) = next.take() {
            match queued {
                Queued::Record(record) => batch.push(Identified::new(record)),
                Queued::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH && flushes.is_empty() {
                next = tokio::time::timeout_at(deadline, receiver.recv()).await.ok().flatten();
            } else if batch.len() < BATCH {
                next = receiver.try_recv().ok();
            }
        }
        let mut attempt = 0;
        while let Err(error) = log.append_all(&batch).await {
            attempt += 1;
            if attempt >= ATTEMPTS {
                // Keep the records in the log stream rather than lose them.
                tracing::error!(error = %error, records = ?batch, "could not write read-audit records");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
