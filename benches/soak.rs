//! Soak: mixed traffic (reads, changes, creations, uploads, reports) from
//! several clients for a few minutes against a private MongoDB-protocol
//! server and a private S3 server, with a MongoDB restart and an S3 outage
//! in the middle. Then the evidence sweeper runs and the invariants are
//! checked and printed: requests served, errors by code, acknowledged
//! writes lost or duplicated, evidence records without objects and objects
//! without records, audit records missing for acknowledged mutations, RSS.
//! Exits non-zero when an invariant is broken.
//!
//!   scripts/services.sh run -- cargo bench --bench soak
//!   SOAK_SECONDS=60 SOAK_CLIENTS=4 scripts/services.sh run -- cargo bench --bench soak
//!
//! Clients behave as good clients do: mutations carry an Idempotency-Key,
//! and a SERVICE_UNAVAILABLE is retried with the same key after `Retry-After`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use endorse::auth::Role;
use endorse::startup::Application;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};

mod support;

use support::{env_number, memory_kib};

const CREATE: &str = "mutation($input: CreatePortfolioInput!) { createPortfolio(input: $input) { id version } }";
const CHANGE: &str = "mutation($id: ID!, $v: Int!, $changes: PortfolioChanges!) {
  changePortfolio(id: $id, expectedVersion: $v, changes: $changes) { version } }";
const READ: &str = "query($id: ID!) { portfolio(id: $id) { id version training { title } eligibility { met } } }";
const LIST: &str = "{ portfolios(first: 20) { edges { node { id status } } } }";
const STATS: &str = "{ stats { portfolios byStatus { key count } } }";
const UPLOAD: &str = "mutation($p: ID!, $file: Upload!) { uploadEvidence(portfolioId: $p, kind: TRANSCRIPT, file: $file) { id status } }";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not come up on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn binary(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run `scripts/services.sh run -- cargo bench --bench soak`"))
}

/// A private server this benchmark may stop and start again on the same
/// port and data directory.
struct Private {
    name: &'static str,
    port: u16,
    args: Vec<String>,
    binary: String,
    child: Option<Child>,
}

impl Private {
    fn start(&mut self) {
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", self.name));
        self.child = Some(child);
        wait_for_port(self.port, self.name);
    }

    /// SIGTERM (a clean shutdown, as in a restart or a step-down), then wait.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the clients saw and what the server acknowledged.
#[derive(Default)]
struct Ledger {
    /// Responses by outcome: "ok", an error code, or "http-NNN"/"transport".
    outcomes: BTreeMap<String, u64>,
    /// Acknowledged creations: id -> unique applicant name.
    created: HashMap<String, String>,
    /// Acknowledged training entries: (portfolio id, title).
    changed: Vec<(String, String)>,
    /// Acknowledged uploads: evidence ids.
    uploaded: Vec<String>,
}

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
    ledger: Arc<Mutex<Ledger>>,
}

enum Answer {
    Ok(Value),
    Error,
    /// Worth retrying after the given wait.
    Retry(Duration),
}

impl Client {
    fn note(&self, outcome: &str) {
        *self.ledger.lock().unwrap().outcomes.entry(outcome.to_owned()).or_default() += 1;
    }

    async fn call(&self, query: &str, variables: Value, key: Option<&str>) -> Answer {
        let mut request =
            self.http.post(&self.url).bearer_auth(&self.token).json(&json!({ "query": query, "variables": variables }));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.answer(request).await
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = match request.timeout(Duration::from_secs(30)).send().await {
            Ok(response) => response,
            Err(_) => {
                self.note("transport");
                return Answer::Retry(Duration::from_millis(500));
            }
        };
        let wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs);
        let status = response.status().as_u16();
        let Ok(body) = response.json::<Value>().await else {
            self.note(&format!("http-{status}"));
            return Answer::Retry(Duration::from_millis(500));
        };
        match body["errors"][0]["extensions"]["code"].as_str() {
            None if body["data"].is_object() => {
                self.note("ok");
                Answer::Ok(body["data"].clone())
            }
            None => {
                self.note(&format!("http-{status}"));
                Answer::Error
            }
            Some(code) => {
                self.note(code);
                match code {
                    "SERVICE_UNAVAILABLE" | "RATE_LIMITED" => Answer::Retry(wait.unwrap_or(Duration::from_secs(1))),
                    _ => Answer::Error,
                }
            }
        }
    }

    /// A mutation retried with the same Idempotency-Key until it is
    /// answered (or the attempts run out).
    async fn mutate(&self, query: &str, variables: Value, key: &str) -> Option<Value> {
        for _ in 0..20 {
            match self.call(query, variables.clone(), Some(key)).await {
                Answer::Ok(data) => return Some(data),
                Answer::Error => return None,
                Answer::Retry(wait) => tokio::time::sleep(wait.min(Duration::from_secs(3))).await,
            }
        }
        None
    }

    async fn upload(&self, portfolio: &str, bytes: Vec<u8>) -> Option<String> {
        for _ in 0..5 {
            let form = reqwest::multipart::Form::new()
                .text(
                    "operations",
                    json!({ "query": UPLOAD, "variables": { "p": portfolio, "file": null } }).to_string(),
                )
                .text("map", json!({ "0": ["variables.file"] }).to_string())
                .part("0", reqwest::multipart::Part::bytes(bytes.clone()).file_name("t.pdf"));
            let request = self
                .http
                .post(&self.url)
                .bearer_auth(&self.token)
                .header("apollo-require-preflight", "true")
                .multipart(form);
            match self.answer(request).await {
                Answer::Ok(data) => return data["uploadEvidence"]["id"].as_str().map(str::to_owned),
                Answer::Error => return None,
                Answer::Retry(wait) => tokio::time::sleep(wait.min(Duration::from_secs(3))).await,
            }
        }
        None
    }
}

/// One client's loop: its own portfolios, a mix of operations.
async fn client_loop(client: Client, reporter: Client, number: usize, deadline: Instant, pdf: Vec<u8>) {
    let mut portfolios: Vec<(String, i64)> = Vec::new();
    let mut step = 0usize;
    while Instant::now() < deadline {
        step += 1;
        let choice = (step * 7 + number) % 20;
        if portfolios.is_empty() || (choice == 0 && portfolios.len() < 8) {
            let name = format!("soak-{number}-{step}");
            let input = json!({ "input": { "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": name } } });
            if let Some(data) = client.mutate(CREATE, input, &name).await {
                let id = data["createPortfolio"]["id"].as_str().unwrap().to_owned();
                client.ledger.lock().unwrap().created.insert(id.clone(), name);
                portfolios.push((id, 1));
            }
            continue;
        }
        let index = step % portfolios.len();
        let (id, version) = portfolios[index].clone();
        match choice {
            1..=8 => {
                let _ = client.call(READ, json!({ "id": id }), None).await;
            }
            9..=13 => {
                let title = format!("t-{number}-{step}");
                let changes = json!({ "upsert": [{ "entry": { "training": { "title": title, "hours": 1.0, "completedOn": "2024-02-01", "topics": [] } } }] });
                let variables = json!({ "id": id, "v": version, "changes": changes });
                match client.mutate(CHANGE, variables, &title).await {
                    Some(data) => {
                        portfolios[index].1 = data["changePortfolio"]["version"].as_i64().unwrap();
                        client.ledger.lock().unwrap().changed.push((id, title));
                    }
                    None => {
                        // A conflict: learn the current version.
                        if let Answer::Ok(data) = client.call(READ, json!({ "id": id }), None).await
                            && let Some(v) = data["portfolio"]["version"].as_i64()
                        {
                            portfolios[index].1 = v;
                        }
                    }
                }
            }
            14..=16 => {
                let _ = client.call(LIST, json!({}), None).await;
            }
            17 | 18 => {
                if let Some(evidence) = client.upload(&id, pdf.clone()).await {
                    client.ledger.lock().unwrap().uploaded.push(evidence);
                }
            }
            _ => {
                let _ = reporter.call(STATS, json!({}), None).await;
            }
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let broken = runtime.block_on(soak());
    if broken > 0 {
        eprintln!("soak: {broken} invariant(s) broken");
        std::process::exit(1);
    }
}

async fn soak() -> usize {
    let seconds: u64 = env_number("SOAK_SECONDS", 180);
    let clients: usize = env_number("SOAK_CLIENTS", 6);
    let state = tempfile::tempdir().unwrap();
    let mongo_port = free_port();
    let s3_port = free_port();
    let mongo_data = state.path().join("mongodb");
    let s3_data = state.path().join("s3");
    std::fs::create_dir_all(&mongo_data).unwrap();
    std::fs::create_dir_all(&s3_data).unwrap();
    let (access, secret) = ("soak-access", "soak-secret-key-for-the-benchmark");
    let mut mongo = Private {
        name: "MongoDB",
        port: mongo_port,
        binary: binary("ENDORSE_TEST_MONGOD_BIN"),
        args: [
            "--host",
            "127.0.0.1",
            "--port",
            &mongo_port.to_string(),
            "--storage-path",
            mongo_data.to_str().unwrap(),
            "--log-level",
            "ERROR",
        ]
        .map(String::from)
        .to_vec(),
        child: None,
    };
    let mut s3 = Private {
        name: "S3",
        port: s3_port,
        binary: binary("ENDORSE_TEST_S3_BIN"),
        args: [
            "--host",
            "127.0.0.1",
            "--port",
            &s3_port.to_string(),
            "--access-key",
            access,
            "--secret-key",
            secret,
            s3_data.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
        child: None,
    };
    mongo.start();
    s3.start();
    let mongo_uri = format!("mongodb://127.0.0.1:{mongo_port}/?directConnection=true");
    let s3_endpoint = format!("http://127.0.0.1:{s3_port}");
    let flags = [
        "--mongodb-uri",
        &mongo_uri,
        "--mongodb-database",
        "soak",
        "--mongodb-timeout-ms",
        "2000",
        "--s3-endpoint",
        &s3_endpoint,
        "--s3-public-endpoint",
        &s3_endpoint,
        "--s3-access-key-id",
        access,
        "--s3-secret-access-key",
        secret,
        "--s3-bucket",
        "soak-evidence",
        "--s3-timeout-ms",
        "2000",
        "--max-portfolios-per-applicant",
        "100",
    ];
    let config = support::config(&flags);
    let app = Application::build(config.clone()).await.expect("server starts");
    let url = format!("http://{}/graphql", app.address());
    tokio::spawn(app.run_until(std::future::pending()));
    let pid = std::process::id();
    let (rss_start, _) = memory_kib(pid);

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let token = |subject: &str, roles: &[Role]| {
        endorse::auth::jwt::mint_dev_token(&config, subject, roles, Some(&config.default_association), 24 * 3600)
            .unwrap()
    };
    let client =
        |token: String| Client { http: reqwest::Client::new(), url: url.clone(), token, ledger: ledger.clone() };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let pdf = endorse::media::testdata::pdf();
    let mut tasks = Vec::new();
    for number in 0..clients {
        let applicant = client(token(&format!("soak-applicant-{number}"), &[Role::Applicant]));
        let reporter = client(token("soak-reporter", &[Role::Reporter]));
        tasks.push(tokio::spawn(client_loop(applicant, reporter, number, deadline, pdf.clone())));
    }

    // The faults: MongoDB restarted at a third, S3 away for 5 s at two thirds.
    tokio::time::sleep(Duration::from_secs(seconds / 3)).await;
    println!("soak: restarting MongoDB at {:.0} s", started.elapsed().as_secs_f64());
    let mongo = tokio::task::spawn_blocking(move || {
        mongo.stop();
        std::thread::sleep(Duration::from_secs(2));
        mongo.start();
        mongo
    })
    .await
    .unwrap();
    tokio::time::sleep(deadline.saturating_duration_since(Instant::now()) / 2).await;
    println!("soak: S3 down for 5 s at {:.0} s", started.elapsed().as_secs_f64());
    let s3 = tokio::task::spawn_blocking(move || {
        s3.stop();
        std::thread::sleep(Duration::from_secs(5));
        s3.start();
        s3
    })
    .await
    .unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let (rss_end, rss_peak) = memory_kib(pid);

    // The sweeper, as `endorse sweep` runs it (no grace: nothing is in flight now).
    let services = endorse::startup::connect(&Arc::new(config.clone())).await.unwrap();
    let swept = endorse::sweeper::sweep(&services, Duration::ZERO).await;
    println!("soak: sweep {swept:?}");

    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    let db = mongodb::Client::with_uri_str(&mongo_uri).await.unwrap().database("soak");
    let portfolios: Vec<Document> =
        db.collection("portfolios").find(doc! {}).await.unwrap().try_collect().await.unwrap();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut titles: HashMap<String, Vec<String>> = HashMap::new();
    for portfolio in &portfolios {
        let id = portfolio.get_object_id("_id").unwrap().to_hex();
        if let Ok(name) = portfolio.get_document("applicant").and_then(|a| a.get_str("name")) {
            *by_name.entry(name.to_owned()).or_default() += 1;
        }
        let list = portfolio
            .get_array("training")
            .map(|a| a.iter().filter_map(|t| t.as_document()?.get_str("title").ok().map(str::to_owned)).collect())
            .unwrap_or_default();
        titles.insert(id, list);
    }
    let lost_creations = ledger.created.keys().filter(|id| !titles.contains_key(*id)).count();
    let duplicated_creations =
        ledger.created.values().filter(|name| by_name.get(*name).copied().unwrap_or(0) > 1).count();
    let lost_changes =
        ledger.changed.iter().filter(|(id, title)| !titles.get(id).is_some_and(|t| t.contains(title))).count();
    let duplicated_changes = ledger
        .changed
        .iter()
        .filter(|(id, title)| titles.get(id).is_some_and(|t| t.iter().filter(|x| *x == title).count() > 1))
        .count();

    let records: Vec<Document> = db.collection("evidence").find(doc! {}).await.unwrap().try_collect().await.unwrap();
    let objects = services.blob.list("").await.unwrap();
    let object_keys: HashSet<String> = objects.iter().map(|o| o.key.clone()).collect();
    let mut record_keys: HashSet<String> = HashSet::new();
    let mut records_without_objects = 0;
    for record in &records {
        for field in ["objectKey", "previewKey", "thumbnailKey"] {
            if let Ok(key) = record.get_str(field) {
                record_keys.insert(key.to_owned());
            }
        }
        let has_bytes = record.get_datetime("uploadedAt").is_ok();
        if has_bytes && !record.get_str("objectKey").is_ok_and(|key| object_keys.contains(key)) {
            records_without_objects += 1;
        }
    }
    let objects_without_records = object_keys.iter().filter(|key| !record_keys.contains(*key)).count();
    let lost_uploads = ledger
        .uploaded
        .iter()
        .filter(|id| !records.iter().any(|r| r.get_object_id("_id").is_ok_and(|o| o.to_hex() == **id)))
        .count();

    let audit: Vec<Document> =
        db.collection("audit_log").find(doc! { "result": "ok" }).await.unwrap().try_collect().await.unwrap();
    let mut audited: HashMap<(String, String), usize> = HashMap::new();
    for record in &audit {
        if let (Ok(action), Ok(target)) = (record.get_str("action"), record.get_str("target")) {
            *audited.entry((action.to_owned(), target.to_owned())).or_default() += 1;
        }
    }
    let missing_creations =
        ledger.created.keys().filter(|id| !audited.contains_key(&("createPortfolio".into(), (*id).clone()))).count();
    let mut changes_per: HashMap<&str, usize> = HashMap::new();
    for (id, _) in &ledger.changed {
        *changes_per.entry(id.as_str()).or_default() += 1;
    }
    let missing_changes: usize = changes_per
        .iter()
        .map(|(id, n)| {
            n.saturating_sub(audited.get(&("changePortfolio".into(), (*id).to_owned())).copied().unwrap_or(0))
        })
        .sum();
    let missing_uploads =
        ledger.uploaded.iter().filter(|id| !audited.contains_key(&("uploadEvidence".into(), (*id).clone()))).count();

    let served: u64 = ledger.outcomes.values().sum();
    println!();
    println!("soak: {clients} clients for {:.0} s, MongoDB restarted once, S3 down 5 s", elapsed.as_secs_f64());
    println!("| figure | value |");
    println!("|---|---|");
    println!("| responses | {served} ({:.0}/s) |", served as f64 / elapsed.as_secs_f64());
    for (outcome, count) in &ledger.outcomes {
        println!("| responses {outcome} | {count} |");
    }
    println!("| portfolios created (acknowledged) | {} |", ledger.created.len());
    println!("| training entries added (acknowledged) | {} |", ledger.changed.len());
    println!("| evidence uploaded (acknowledged) | {} |", ledger.uploaded.len());
    let invariants = [
        ("acknowledged writes lost", lost_creations + lost_changes + lost_uploads),
        ("acknowledged writes duplicated", duplicated_creations + duplicated_changes),
        ("evidence records without objects", records_without_objects),
        ("objects without records (after the sweep)", objects_without_records),
        ("audit records missing for acknowledged mutations", missing_creations + missing_changes + missing_uploads),
    ];
    for (name, value) in invariants {
        println!("| {name} | {value} |");
    }
    println!(
        "| process RSS start / end / peak | {:.1} / {:.1} / {:.1} MiB |",
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        rss_peak as f64 / 1024.0
    );
    drop((mongo, s3));
    invariants.iter().filter(|(_, value)| *value > 0).count()
}
