//! S19, MongoDB restarted (or its primary stepping down) mid-request: reads
//! and writes are retried once by the driver, every failure is
//! SERVICE_UNAVAILABLE with Retry-After (never INTERNAL), and no write is
//! lost or applied twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use endorse::auth::Role;
use endorse::seed::synthetic;
use endorse::store::audit::{AuditLog, AuditRecord, Identified};
use endorse::store::evidence::EvidenceStore;
use endorse::store::portfolio::PortfolioStore;
use endorse::store::{Store, StoreError};
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_config, test_config};
use crate::private_mongo::PrivateMongo;

const CREATE: &str = "mutation($input: CreatePortfolioInput!) { createPortfolio(input: $input) { id } }";
const OWNER: &str = "writer";

/// One createPortfolio request of a write stream, named by its applicant.
enum Outcome {
    Acknowledged { name: String, id: String },
    Failed { name: String, body: Value, retry_after: bool },
}

/// createPortfolio mutations sent at a steady rate until `stop`, each on its
/// own task: like independent clients, new requests keep arriving while
/// earlier ones wait for the database.
struct WriteStream {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    sender: tokio::task::JoinHandle<Vec<Outcome>>,
}

/// Time between two requests, and the most a stream sends.
const PACE: Duration = Duration::from_millis(10);
const MAX_REQUESTS: usize = 6_000;

impl WriteStream {
    fn start(app: &Arc<TestApp>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let token = app.token(OWNER, &[Role::Applicant]);
        let (app, flag, acked, failures) = (app.clone(), stop.clone(), acknowledged.clone(), failed.clone());
        let sender = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(PACE);
            let mut requests = Vec::new();
            for n in 0..MAX_REQUESTS {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                ticker.tick().await;
                let (app, token, acked, failures) = (app.clone(), token.clone(), acked.clone(), failures.clone());
                requests.push(tokio::spawn(async move {
                    let name = format!("write-{n}");
                    let input = json!({ "input": { "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": name } } });
                    let response = app.graphql_response(Some(&token), CREATE, input).await;
                    match response.body["data"]["createPortfolio"]["id"].as_str() {
                        Some(id) => {
                            acked.fetch_add(1, Ordering::Relaxed);
                            Outcome::Acknowledged { name, id: id.to_owned() }
                        }
                        None => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            let retry_after = response.headers.contains_key(reqwest::header::RETRY_AFTER);
                            Outcome::Failed { name, body: response.body, retry_after }
                        }
                    }
                }));
            }
            let mut outcomes = Vec::new();
            for request in requests {
                outcomes.push(request.await.expect("request task"));
            }
            outcomes
        });
        WriteStream { stop, acknowledged, failed, sender }
    }

    fn acknowledged(&self) -> usize {
        self.acknowledged.load(Ordering::Relaxed)
    }

    /// Waits until `count` writes in all were acknowledged.
    async fn wait_for_acknowledged(&self, count: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.acknowledged() < count {
            assert!(
                Instant::now() < deadline,
                "only {} of {count} writes acknowledged ({} failed)",
                self.acknowledged(),
                self.failed.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops sending and waits for every request's outcome.
    async fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        self.sender.await.expect("sender task")
    }
}

/// Every failure was SERVICE_UNAVAILABLE with Retry-After; returns how many
/// failed.
fn assert_failures_are_unavailable(outcomes: &[Outcome]) -> usize {
    let mut failures = 0;
    for outcome in outcomes {
        if let Outcome::Failed { name, body, retry_after } = outcome {
            failures += 1;
            let code = &body["errors"][0]["extensions"]["code"];
            assert_eq!(code, "SERVICE_UNAVAILABLE", "{name} failed otherwise: {body}");
            assert!(retry_after, "{name}: SERVICE_UNAVAILABLE without Retry-After");
        }
    }
    failures
}

/// Acknowledged writes are stored exactly once, failed ones at most once, and
/// nothing else was stored, nor audited twice. Read straight from the
/// database and over the API.
async fn assert_stored_exactly_once(app: &TestApp, outcomes: &[Outcome]) {
    let store = Store::connect(&app.config.mongodb).await.unwrap();
    let portfolios = PortfolioStore::new(&store, &crate::helpers::nys_scope());
    let stored: Vec<Document> = portfolios
        .raw_collection()
        .clone_with_type::<Document>()
        .find(doc! { "ownerId": OWNER })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
    for document in &stored {
        let name = document.get_document("applicant").unwrap().get_str("name").unwrap().to_owned();
        by_name.entry(name).or_default().push(document.get_object_id("_id").unwrap().to_hex());
    }
    let mut attempted = 0;
    for outcome in outcomes {
        match outcome {
            Outcome::Acknowledged { name, id } => {
                assert_eq!(by_name.get(name), Some(&vec![id.clone()]), "acknowledged {name} not stored exactly once");
            }
            Outcome::Failed { name, .. } => {
                let copies = by_name.get(name).map_or(0, Vec::len);
                assert!(copies <= 1, "failed {name} stored {copies} times");
            }
        }
        attempted += 1;
    }
    assert!(stored.len() <= attempted, "{} documents for {attempted} requests", stored.len());

    // Nor was any audit record stored twice (the log's own retried writes).
    let audit: Vec<Document> = store
        .database()
        .collection::<Document>(endorse::store::audit::COLLECTION)
        .find(doc! { "action": "createPortfolio", "result": "ok" })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut records: HashMap<&str, usize> = HashMap::new();
    for record in &audit {
        *records.entry(record.get_str("target").unwrap()).or_default() += 1;
    }
    assert!(!records.is_empty(), "no audit records found");
    assert!(records.values().all(|&n| n == 1), "an audit record was stored twice");

    // And each acknowledged portfolio reads back through the API.
    let token = app.token(OWNER, &[Role::Applicant]);
    let query = "query($id: ID!) { portfolio(id: $id) { id applicant { name } } }";
    for outcome in outcomes {
        if let Outcome::Acknowledged { name, id } = outcome {
            let body = app.graphql(Some(&token), query, json!({ "id": id })).await;
            assert_eq!(body["data"]["portfolio"]["applicant"]["name"], name.as_str(), "{body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_writes_loses_and_duplicates_nothing() {
    let mut mongo = PrivateMongo::on_disk();
    let mut config = test_config(&["--rate-limit-per-minute", "0", "--max-portfolios-per-applicant", "100000"]);
    config.mongodb.uri = mongo.uri().parse().unwrap();
    let app = Arc::new(spawn_app_config(config).await);

    let stream = WriteStream::start(&app);
    stream.wait_for_acknowledged(20, Duration::from_secs(30)).await;
    // Kill with writes in flight, and start again on the same port and data.
    mongo.kill();
    let before_restart = stream.acknowledged();
    tokio::time::sleep(Duration::from_secs(1)).await;
    mongo.start();
    stream.wait_for_acknowledged(before_restart + 20, Duration::from_secs(30)).await;
    let outcomes = stream.finish().await;

    let failures = assert_failures_are_unavailable(&outcomes);
    assert!(failures > 0, "the outage went unnoticed: no request failed");
    assert_stored_exactly_once(&app, &outcomes).await;
}

/// A primary stepping down (writes answered "not primary", code 10107) is
/// SERVICE_UNAVAILABLE, and writes resume once it is primary again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_stepping_down_is_service_unavailable() {
    let mongo = PrivateMongo::in_memory();
    let mut config = test_config(&["--rate-limit-per-minute", "0", "--max-portfolios-per-applicant", "100000"]);
    config.mongodb.uri = mongo.uri().parse().unwrap();
    let app = Arc::new(spawn_app_config(config).await);

    let stream = WriteStream::start(&app);
    stream.wait_for_acknowledged(10, Duration::from_secs(30)).await;
    let store = Store::connect(&app.config.mongodb).await.unwrap();
    store
        .client()
        .database("admin")
        .run_command(doc! { "replSetStepDown": 2, "force": true })
        .await
        .expect("the server steps down");
    let stepped_down = stream.acknowledged();
    // Writes resume after the two seconds as secondary.
    stream.wait_for_acknowledged(stepped_down + 20, Duration::from_secs(30)).await;
    let outcomes = stream.finish().await;

    let failures = assert_failures_are_unavailable(&outcomes);
    assert!(failures > 0, "the step-down went unnoticed: no request failed");
    assert_stored_exactly_once(&app, &outcomes).await;
}

/// What the driver's retry looks like to a server that restarted after
/// applying the first attempt (and so forgot it): the same write again. It
/// must count as success, once; a different write must still be refused.
/// The same for the audit log, whose batch writer also retries by itself.
#[tokio::test]
async fn a_retried_write_that_was_applied_counts_once() {
    let app = spawn_app().await;
    let store = Store::connect(&app.config.mongodb).await.unwrap();
    let portfolios = PortfolioStore::new(&store, &crate::helpers::nys_scope());
    let evidence = EvidenceStore::new(&store, &endorse::domain::association::AssociationCode::nys_aimh());
    let (document, records) = synthetic::portfolio(&endorse::domain::association::AssociationCode::nys_aimh(), 19, 0);
    let count = |id| {
        let collection = portfolios.raw_collection().clone();
        async move { collection.count_documents(doc! { "_id": id }).await.unwrap() }
    };

    portfolios.insert(&document).await.unwrap();
    portfolios.insert(&document).await.expect("the retry of an applied insert succeeds");
    assert_eq!(count(document.id).await, 1);
    let mut other = document.clone();
    other.owner_id = "mallory".into();
    assert!(matches!(portfolios.insert(&other).await, Err(StoreError::Duplicate(_))));

    let mut changed = document.clone();
    changed.version = document.version + 1;
    changed.review_note = Some("first change".into());
    assert_eq!(portfolios.replace_if_version(&changed, document.version).await.unwrap(), Some(changed.clone()));
    assert_eq!(
        portfolios.replace_if_version(&changed, document.version).await.unwrap(),
        Some(changed.clone()),
        "the retry of an applied replace succeeds"
    );
    let mut stale = changed.clone();
    stale.review_note = Some("someone else's change".into());
    assert_eq!(portfolios.replace_if_version(&stale, document.version).await.unwrap(), None, "still a conflict");

    let record = records.first().expect("the synthetic portfolio has evidence");
    evidence.insert(record).await.unwrap();
    evidence.insert(record).await.expect("the retry of an applied evidence insert succeeds");
    assert_eq!(evidence.get(record.id).await.unwrap().as_ref(), Some(record));

    let log = AuditLog::new(&store);
    let entry = Identified::new(AuditRecord {
        association: Some(endorse::domain::association::AssociationCode::nys_aimh()),
        actor: "ada".into(),
        roles: vec!["APPLICANT".into()],
        action: "retriedAction".into(),
        target: None,
        result: "ok".into(),
        outcome: None,
        request_id: "r-19".into(),
        client_request_id: None,
        at: mongodb::bson::DateTime::now(),
        request_ids: Vec::new(),
        last_at: None,
        event: None,
        mail: Vec::new(),
    });
    log.append_all(std::slice::from_ref(&entry)).await.unwrap();
    log.append_all(std::slice::from_ref(&entry)).await.expect("the retry of an applied audit write succeeds");
    let stored = store.database().collection::<Document>(endorse::store::audit::COLLECTION);
    assert_eq!(stored.count_documents(doc! { "action": "retriedAction" }).await.unwrap(), 1);
}
