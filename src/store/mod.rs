//! MongoDB: one client for the process, the collections Endorse owns, and the
//! indexes they need. Everything that talks to MongoDB lives under this module.

pub mod applications;
pub mod assignments;
pub mod associations;
pub mod audit;
pub mod decoded;
pub mod endorsements;
mod error;
pub mod events;
pub mod evidence;
pub mod idempotency;
pub mod ledger;
pub mod memberships;
pub mod migrate;
pub mod outbox;
pub mod portfolio;
pub mod references;
pub mod renewals;
pub mod rounds;
pub mod stats;

use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use mongodb::error::ErrorKind;
use mongodb::event::EventHandler;
use mongodb::event::sdam::SdamEvent;
use mongodb::options::{Acknowledgment, ClientOptions, WriteConcern};
use mongodb::{Client, Collection, Database};

pub use error::StoreError;

use crate::domain::association::AssociationCode;

/// Whose data a store handle reaches, and the calendar its day filters and
/// report months are in: the association's.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantScope {
    pub association: AssociationCode,
    pub time_zone: chrono_tz::Tz,
    /// Whether documents without an association are this association's:
    /// those of builds before tenancy belong to the deployment's default
    /// association (see `migrate`), also when an instance of such a build
    /// wrote them after the start-up migration ran.
    pub holds_legacy: bool,
}

impl TenantScope {
    pub fn new(association: &AssociationCode, time_zone: chrono_tz::Tz) -> Self {
        TenantScope { association: association.clone(), time_zone, holds_legacy: false }
    }

    /// The scope of the deployment's default association.
    pub fn holding_legacy(mut self, holds: bool) -> Self {
        self.holds_legacy = holds;
        self
    }
}

use crate::config::MongoConfig;
use crate::health::Health;

#[derive(Clone)]
pub struct Store {
    client: Client,
    db: Database,
    /// Shared by every clone (see [`decoded`]); keeps nothing unless
    /// [`Store::keeping_decoded`] gave it a budget.
    decoded: Arc<decoded::DecodedPortfolios>,
}

impl Store {
    /// Builds the client. The driver connects lazily, so this succeeds while
    /// MongoDB is down; [`Store::ensure_indexes`] is the first real contact.
    pub async fn connect(config: &MongoConfig) -> Result<Self, StoreError> {
        Self::build(config, None).await
    }

    /// Like [`Store::connect`], and trips `health`'s breaker whenever the
    /// driver loses its writable server. The driver decides that from its
    /// own errors (a network error or a "not primary" / "shutting down"
    /// reply on any operation marks the server unknown) and from its
    /// heartbeats, so the breaker opens with the first failed operation
    /// rather than after a probe. A secondary going away does not trip it.
    pub async fn connect_watched(config: &MongoConfig, health: &Health) -> Result<Self, StoreError> {
        Self::build(config, Some(health.clone())).await
    }

    async fn build(config: &MongoConfig, health: Option<Health>) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(config.uri.expose()).await.map_err(StoreError::Config)?;
        let timeout = Duration::from_millis(config.timeout_ms);
        options.app_name = Some("endorse".into());
        options.max_pool_size = Some(config.max_pool_size);
        options.min_pool_size = Some(2);
        // Without these a request waits 30 s for a server that is down.
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        options.max_idle_time = Some(Duration::from_secs(300));
        // On by default, set here so that no connection string turns them
        // off: a read or a single-document write that meets a restarting or
        // stepping-down primary is retried once on the next one. The retry
        // reuses the write's session transaction number, so the server does
        // not apply it twice; where a restarted server forgot the first
        // attempt, the stores recognise their own write (see `insert_once`).
        options.retry_reads = Some(true);
        options.retry_writes = Some(true);
        // An acknowledged write must survive a crash of the database, so
        // wait for the journal (and a majority: what MongoDB 5+ does by
        // default on a replica set). Said here because a server may default
        // to unjournaled w:1, which loses the writes acknowledged just
        // before a crash. A connection string that sets one wins.
        if options.write_concern.is_none() {
            options.write_concern = Some(WriteConcern::builder().w(Acknowledgment::Majority).journal(true).build());
        }
        if let Some(health) = health {
            options.sdam_event_handler = Some(trip_on_lost_primary(health));
        }
        options.command_event_handler = crate::telemetry::mongo::command_handler();
        let client = Client::with_options(options).map_err(StoreError::Config)?;
        let db = client.database(&config.database);
        Ok(Store { client, db, decoded: Arc::new(decoded::DecodedPortfolios::new(0)) })
    }

    /// Keeps decoded portfolios up to `budget` stored bytes (see [`decoded`]).
    pub fn keeping_decoded(mut self, budget: usize) -> Self {
        self.decoded = Arc::new(decoded::DecodedPortfolios::new(budget));
        self
    }

    pub(crate) fn decoded(&self) -> &decoded::DecodedPortfolios {
        &self.decoded
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Round trip to the server: whether it accepts writes (a primary that
    /// stepped down still answers a ping, but refuses every write).
    pub async fn is_writable_primary(&self) -> Result<bool, StoreError> {
        let hello = self.db.run_command(doc! { "hello": 1 }).await?;
        Ok(hello.get_bool("isWritablePrimary").unwrap_or(false))
    }

    /// Creates every index the queries rely on. Idempotent; run at start-up.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        audit::AuditLog::ensure_indexes(self).await?;
        portfolio::PortfolioStore::ensure_indexes(self).await?;
        evidence::EvidenceStore::ensure_indexes(self).await?;
        idempotency::IdempotencyStore::new(self).ensure_indexes().await?;
        associations::AssociationStore::new(self).ensure_indexes().await?;
        references::ReferenceStore::ensure_indexes(self).await?;
        outbox::Outbox::new(self).ensure_indexes().await?;
        applications::ApplicationStore::ensure_indexes(self).await?;
        ledger::LedgerStore::ensure_indexes(self).await?;
        memberships::MembershipStore::ensure_indexes(self).await?;
        assignments::AssignmentStore::ensure_indexes(self).await?;
        endorsements::EndorsementStore::ensure_indexes(self).await?;
        renewals::RenewalStore::ensure_indexes(self).await?;
        rounds::RoundStore::ensure_indexes(self).await?;
        Ok(())
    }
}

/// Applies `update` to the one document `filter` finds in `collection`,
/// with the change's audit record, both or neither; the document after
/// it, or `None` (and no record) when nothing matched.
pub(crate) async fn update_one_audited<T>(
    store: &Store,
    audit: &mongodb::Collection<audit::Identified>,
    collection: &mongodb::Collection<T>,
    filter: mongodb::bson::Document,
    update: mongodb::bson::Document,
    record: &audit::AuditRecord,
) -> Result<Option<T>, StoreError>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    in_transaction!(store, audit, record, |session| async {
        let updated = collection
            .find_one_and_update(filter.clone(), update.clone())
            .return_document(mongodb::options::ReturnDocument::After)
            .session(&mut *session)
            .await?;
        let changed = updated.is_some();
        Ok((updated, changed))
    }
    .await)
}

/// Transaction attempts before a transient failure is given up on.
pub(crate) const TRANSACTION_ATTEMPTS: u32 = 3;

/// Runs `$body` in a transaction on `$store` together with the audit
/// record of the change (and the mail it carries, into the outbox),
/// committed as a whole or not at all; evaluates to
/// `Result<T, StoreError>`. `$body` may use `$session` and evaluates to
/// `Result<(T, bool), mongodb::error::Error>`: the value, and whether it
/// changed anything (only then is `$record` written into `$audit`).
///
/// Transient failures (a primary stepping down, a write conflict) run the
/// body again from the start, as the drivers' specification asks; an
/// unknown commit result is committed again. After the commit the record
/// is read back: a server that restarted between the writes and the commit
/// may acknowledge the commit of a transaction it no longer knows, and an
/// acknowledged change must be a stored, durable change. The record keeps one `_id`
/// over the attempts, so it is never stored twice.
///
/// A macro rather than a function taking an async closure: the closure's
/// future could not be proven `Send` for async-graphql's resolvers.
macro_rules! in_transaction {
    ($store:expr, $audit:expr, $record:expr, |$session:ident| $body:expr) => {{
        use mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT;
        let store: &$crate::store::Store = $store;
        let audit: &mongodb::Collection<$crate::store::audit::Identified> = $audit;
        let identified = $crate::store::audit::Identified::new($record.clone());
        let outcome: Result<_, $crate::store::StoreError> = async {
            let mut session = store.client().start_session().await?;
            let mut attempt = 0;
            'attempts: loop {
                attempt += 1;
                if attempt > $crate::store::TRANSACTION_ATTEMPTS {
                    return Err($crate::store::StoreError::Unconfirmed);
                }
                // Durable commits, as for every other write (see `connect`).
                session
                    .start_transaction()
                    .write_concern(
                        mongodb::options::WriteConcern::builder()
                            .w(mongodb::options::Acknowledgment::Majority)
                            .journal(true)
                            .build(),
                    )
                    .await?;
                let written = {
                    let $session = &mut session;
                    let result: Result<_, mongodb::error::Error> = async {
                        let body: Result<(_, bool), mongodb::error::Error> = $body;
                        let (value, changed) = body?;
                        if changed {
                            audit.insert_one(&identified).session(&mut *$session).await?;
                            // The mail the change sends commits with it, or not at all.
                            if !identified.mail().is_empty() {
                                $crate::store::outbox::Outbox::new(store)
                                    .queue_in(&mut *$session, identified.mail())
                                    .await?;
                            }
                        }
                        Ok((value, changed))
                    }
                    .await;
                    match result {
                        Ok(written) => written,
                        Err(error) => {
                            let _ = session.abort_transaction().await;
                            if $crate::store::worth_another_transaction(&error)
                                && attempt < $crate::store::TRANSACTION_ATTEMPTS
                            {
                                continue 'attempts;
                            }
                            return Err(error.into());
                        }
                    }
                };
                let mut commits = 0;
                loop {
                    commits += 1;
                    let error = match session.commit_transaction().await {
                        Ok(()) => break,
                        Err(error) => error,
                    };
                    if error.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && commits < 3 {
                        continue;
                    }
                    // The reply was lost but the commit may have happened (the
                    // server then restarted and forgot the transaction): the
                    // record says which, and a committed change is not redone.
                    let record = mongodb::bson::doc! { "_id": identified.id() };
                    if written.1 && audit.count_documents(record).await.unwrap_or(0) > 0 {
                        break;
                    }
                    if $crate::store::worth_another_transaction(&error) && attempt < $crate::store::TRANSACTION_ATTEMPTS
                    {
                        continue 'attempts;
                    }
                    return Err(error.into());
                }
                let (value, changed) = written;
                // The confirmation is itself a journaled write (the client's
                // write concern): SecantusDB does not journal a commit before
                // acknowledging it, and syncing the journal for this write
                // makes the commit before it durable too.
                let confirmed = mongodb::bson::doc! { "$set": { "committed": true } };
                if changed
                    && audit.update_one(mongodb::bson::doc! { "_id": identified.id() }, confirmed).await?.matched_count
                        == 0
                {
                    tracing::warn!(attempt, "a commit was acknowledged but did not take effect; running it again");
                    continue 'attempts;
                }
                return Ok(value);
            }
        }
        .await;
        outcome
    }};
}
pub(crate) use in_transaction;

/// Runs `$body` (which may use `$session` and evaluates to
/// `Result<T, mongodb::error::Error>`) in a transaction with no audit
/// record: for the system's own bookkeeping (a mail given up, a reminder
/// counted), where a change is conditional and running it twice is
/// harmless. Transient failures run it again; evaluates to
/// `Result<T, StoreError>`.
macro_rules! unaudited_transaction {
    ($store:expr, |$session:ident| $body:expr) => {{
        let store: &$crate::store::Store = $store;
        async {
            let mut session = store.client().start_session().await?;
            let mut attempt = 0;
            loop {
                attempt += 1;
                session.start_transaction().await?;
                let result: Result<_, mongodb::error::Error> = {
                    let $session = &mut session;
                    $body
                };
                let result = match result {
                    Ok(value) => session.commit_transaction().await.map(|()| value),
                    Err(error) => {
                        let _ = session.abort_transaction().await;
                        Err(error)
                    }
                };
                match result {
                    Ok(value) => break Ok(value),
                    Err(error)
                        if $crate::store::worth_another_transaction(&error)
                            && attempt < $crate::store::TRANSACTION_ATTEMPTS => {}
                    Err(error) => break Err($crate::store::StoreError::from(error)),
                }
            }
        }
        .await
    }};
}
pub(crate) use unaudited_transaction;

/// Whether a transaction that failed with `error` should run again from
/// the start: transient by label, the server unreachable or restarting
/// (a restart forgets open transactions: NoSuchTransaction, 251).
pub(crate) fn worth_another_transaction(error: &mongodb::error::Error) -> bool {
    const NO_SUCH_TRANSACTION: i32 = 251;
    error.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR)
        || error::is_unavailable(error)
        || matches!(&*error.kind, mongodb::error::ErrorKind::Command(command) if command.code == NO_SUCH_TRANSACTION)
}

/// The breaker trip: on the driver's topology changes, from "has a writable
/// server" to "has none". Runs inside the driver's topology worker, so it only
/// flips an atomic and logs.
fn trip_on_lost_primary(health: Health) -> EventHandler<SdamEvent> {
    EventHandler::callback(move |event| {
        let SdamEvent::TopologyDescriptionChanged(change) = event else {
            return;
        };
        if change.previous_description.has_writable_server() && !change.new_description.has_writable_server() {
            let servers = change.new_description.servers();
            let cause = servers.values().find_map(|server| server.error().map(ToString::to_string));
            health.trip_mongo(&cause.as_deref().unwrap_or("the driver lost its writable server"));
        }
    })
}

/// Inserts a document whose `_id` was generated here, once. If the driver
/// retried the insert after its first attempt had been applied and the server
/// restarted in between (a restarted server forgets which writes it already
/// applied), the retry meets its own `_id` as a duplicate key. Finding exactly
/// this document under that `_id` means the insert took effect: success.
async fn insert_once<T>(collection: &Collection<T>, document: &T, id: ObjectId) -> Result<(), StoreError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Send + Sync,
{
    match collection.insert_one(document).await {
        Ok(_) => Ok(()),
        Err(error) if error::is_duplicate_key(&error) => match collection.find_one(doc! { "_id": id }).await? {
            Some(stored) if stored == *document => Ok(()),
            _ => Err(error.into()),
        },
        Err(error) => Err(error.into()),
    }
}

/// Unordered bulk insert that skips documents whose `_id` (or another
/// unique key) already exists; returns how many were inserted.
async fn insert_new<T: serde::Serialize + Send + Sync>(
    collection: &Collection<T>,
    documents: &[T],
) -> Result<u64, StoreError> {
    if documents.is_empty() {
        return Ok(0);
    }
    match collection.insert_many(documents).ordered(false).await {
        Ok(result) => Ok(result.inserted_ids.len() as u64),
        Err(error) => match &*error.kind {
            ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
                let errors = failure.write_errors.as_deref().unwrap_or_default();
                if errors.iter().all(|e| e.code == 11000) {
                    Ok((documents.len() - errors.len()) as u64)
                } else {
                    Err(error.into())
                }
            }
            _ => Err(error.into()),
        },
    }
}

/// Drops those of `names` (indexes an older build created) that the
/// collection has: one listing per start-up, a drop only while one is left.
/// Another instance may drop one first; that is not an error.
async fn drop_indexes<T: Send + Sync>(collection: &Collection<T>, names: &[&str]) {
    let present = match collection.list_index_names().await {
        Ok(present) => present,
        // A collection that does not exist yet has no indexes to drop.
        Err(_) => return,
    };
    for name in names.iter().filter(|name| present.iter().any(|p| p == *name)) {
        if let Err(error) = collection.drop_index(*name).await {
            tracing::debug!(index = name, error = %error, "legacy index not dropped");
        }
    }
}
