//! Load benchmark: N concurrent clients ask for one portfolio with its
//! eligibility over HTTP from the release build, and, side by side against
//! the same database, the same documents are read with a raw driver
//! `find_one` by `_id` at the same concurrency. Prints rps and p50/p99 for
//! both and the ratio of the medians; any response with `errors` counts as a
//! failure.
//!
//!   scripts/services.sh run -- cargo bench --bench load
//!   LOAD_CONCURRENCY=32 LOAD_SECONDS=20 scripts/services.sh run -- cargo bench --bench load

use std::sync::Arc;
use std::time::{Duration, Instant};

use endorse::auth::Role;
use endorse::startup::Application;
use endorse::store::portfolio::PortfolioStore;
use mongodb::bson::{Document, doc, oid::ObjectId};
use serde_json::{Value, json};

const QUERY: &str = "query($id: ID!) { portfolio(id: $id) {
  id status track targetCategory version applicant { name }
  eligibility(asOf: \"2025-06-01\") { met requirements { key met } }
} }";

mod support;

use support::{env_number, require_services};

struct Outcome {
    latencies: Vec<Duration>,
    failures: usize,
    elapsed: Duration,
}

impl Outcome {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
    fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `concurrency` loops of `call` for `duration`; each call returns
/// whether it succeeded.
async fn run<F, Fut>(concurrency: usize, duration: Duration, ids: Arc<Vec<ObjectId>>, call: F) -> Outcome
where
    F: Fn(ObjectId) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let call = call.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            let mut next = worker;
            while Instant::now() < deadline {
                let id = ids[next % ids.len()];
                next += concurrency;
                let t = Instant::now();
                if !call(id).await {
                    failures += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (l, f) = task.await.expect("worker");
        latencies.extend(l);
        failures += f;
    }
    latencies.sort();
    Outcome { latencies, failures, elapsed: started.elapsed() }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    require_services("load");
    let concurrency: usize = env_number("LOAD_CONCURRENCY", 16);
    let seconds: usize = env_number("LOAD_SECONDS", 10);
    let database = format!("bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let config = support::config(&["--mongodb-database", &database]);
    let app = Application::build(config.clone()).await.expect("server starts");
    let url = format!("http://{}/graphql", app.address());
    tokio::spawn(app.run_until(std::future::pending()));

    // Realistic portfolios (5 education, 60 training, 8 work, 60 RS/C, 4 references).
    let store = endorse::store::Store::connect(&config.mongodb).await.expect("MongoDB");
    let portfolios = PortfolioStore::new(
        &store,
        &endorse::store::TenantScope::new(
            &endorse::domain::association::AssociationCode::nys_aimh(),
            chrono_tz::America::New_York,
        ),
    );
    let mut ids = Vec::new();
    for n in 0..50 {
        let document =
            endorse::seed::realistic_submitted(&endorse::domain::association::AssociationCode::nys_aimh(), n);
        portfolios.upsert(&document).await.expect("seed");
        ids.push(document.id);
    }
    let ids = Arc::new(ids);
    let token = endorse::auth::jwt::mint_dev_token(
        &config,
        "bench-reviewer",
        &[Role::Reviewer],
        Some(&config.default_association),
        3600,
    )
    .expect("token");
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
    let raw = store.database().collection::<Document>("portfolios");

    let graphql = {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        move |id: ObjectId| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "query": QUERY, "variables": { "id": id.to_hex() } }))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                        Ok(body) => {
                            body.get("errors").is_none() && body["data"]["portfolio"]["eligibility"]["met"].is_boolean()
                        }
                        Err(_) => false,
                    },
                    _ => false,
                }
            }
        }
    };
    let driver = {
        let raw = raw.clone();
        move |id: ObjectId| {
            let raw = raw.clone();
            async move { matches!(raw.find_one(doc! { "_id": id }).await, Ok(Some(_))) }
        }
    };

    // The same read the API makes for this query: _id plus the reviewer's visibility filter.
    let projected = {
        let raw = raw.clone();
        move |id: ObjectId| {
            let raw = raw.clone();
            async move { matches!(raw.find_one(doc! { "_id": id, "status": { "$ne": "DRAFT" } }).await, Ok(Some(_))) }
        }
    };

    // Warm up connection pools and caches.
    run(concurrency, Duration::from_secs(2), ids.clone(), graphql.clone()).await;
    run(concurrency, Duration::from_secs(2), ids.clone(), driver.clone()).await;

    let duration = Duration::from_secs(seconds as u64);
    let api = run(concurrency, duration, ids.clone(), graphql).await;
    let direct = run(concurrency, duration, ids.clone(), driver).await;
    let same_read = run(concurrency, duration, ids.clone(), projected).await;

    println!("load: {concurrency} concurrent clients, {seconds} s each, 50 realistic portfolios");
    println!("{:<34} {:>10} {:>10} {:>10} {:>9}", "", "rps", "p50 ms", "p99 ms", "failures");
    for (name, outcome) in [
        ("GraphQL portfolio + eligibility", &api),
        ("raw driver find_one by _id", &direct),
        ("raw, API's visibility filter", &same_read),
    ] {
        println!(
            "{:<34} {:>10.0} {:>10.3} {:>10.3} {:>9}",
            name,
            outcome.rps(),
            outcome.percentile(0.50).as_secs_f64() * 1000.0,
            outcome.percentile(0.99).as_secs_f64() * 1000.0,
            outcome.failures
        );
    }
    let ratio = api.percentile(0.50).as_secs_f64() / direct.percentile(0.50).as_secs_f64();
    println!("p50 ratio GraphQL / raw: {ratio:.2} (aim: at most 1.30)");
    let _ = store.database().drop().await;
}
