//! Load benchmark: N concurrent clients read over HTTP from the server (in
//! this process, release build) and, side by side against the same
//! database, the same documents are read with the raw driver at the same
//! concurrency. Three pairs, each read as a reviewer (so every read is
//! audited):
//!
//! - the full portfolio (every stored field, 21 top-level fields, as the
//!   peer comparison asks) against `find_one` by `_id`;
//! - `portfolios(first: 50)` with five fields against a raw `find` of the
//!   same page with the same projection;
//! - the same page with `eligibility { met }` against the page without it
//!   (the engine's own cost is `cargo bench --bench evaluate`): asked
//!   again, as a reviewer's queue is, its answers are kept; and with a new
//!   `asOf` every time, so that nothing is kept and every portfolio's
//!   sections are fetched and evaluated (not guarded).
//!
//! Prints rps and p50/p99 for each and the ratios of the medians; exits
//! non-zero when a GraphQL read's p50 exceeds 1.5x its raw read's (the
//! regression guard), or when any response has `errors`.
//!
//!   scripts/services.sh run -- cargo bench --bench load
//!   LOAD_CONCURRENCY=32 LOAD_SECONDS=20 scripts/services.sh run -- cargo bench --bench load
//!   LOAD_MEMORY_REQUESTS=10000 ... (fewer reads in the memory phase; default 100,000)
//!   LOAD_ROUNDS=4 (each read's LOAD_SECONDS split over this many interleaved rounds)

use std::sync::Arc;
use std::time::{Duration, Instant};

use endorse::auth::Role;
use endorse::startup::Application;
use endorse::store::portfolio::PortfolioStore;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc, oid::ObjectId};
use serde_json::{Value, json};

/// Every field of the contract's `Portfolio` that is stored.
const FULL: &str = "query Full($id: ID!) { portfolio(id: $id) {
  id ownerId applicant { name email region } track targetCategory status version
  createdAt updatedAt submittedAt
  education { id level field institution relatedField conferredOn evidenceIds }
  training { id title provider hours completedOn topics evidenceIds }
  work { id role employer kind paid supervised specializedTraining ageBand startedOn endedOn fte evidenceIds }
  reflectiveSupervision { id date hours format ageBand providerName providerCredential aboutProvidingRsc evidenceIds }
  leadership { id description startedOn endedOn }
  references { id raterName raterEmail role raterCredential completedOn notEnoughInfoCount waived }
  exams { id category takenOn passed evidenceIds }
  agreement { signedOn evidenceIds }
  membership { association validUntil }
  priorEndorsements { category track endorsedOn }
  extra
} }";

const PAGE: &str = "{ portfolios(first: 50) { edges { node { id status track targetCategory applicant { name } } } } }";
const PAGE_EVALUATED: &str = "{ portfolios(first: 50) { edges { node { id status track targetCategory applicant { name } eligibility { met } } } } }";
const PAGE_EVALUATED_ON: &str = "query($on: Date!) { portfolios(first: 50) { edges { node { id status track targetCategory applicant { name } eligibility(asOf: $on) { met } } } } }";

/// The regression guard: a GraphQL read slower than this many times its
/// raw read (p50) fails the benchmark.
const GUARD: f64 = 1.5;

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

/// A read of any kind, so that the reads can take turns.
type Call = Arc<dyn Fn(ObjectId) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send + Sync>;

fn boxed<F, Fut>(call: F) -> Call
where
    F: Fn(ObjectId) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    Arc::new(move |id| Box::pin(call(id)))
}

/// Makes `total` calls from `concurrency` loops; returns the failures.
async fn count<F, Fut>(concurrency: usize, total: usize, ids: Arc<Vec<ObjectId>>, call: F) -> usize
where
    F: Fn(ObjectId) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (call, ids, next) = (call.clone(), ids.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut failures = 0;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    return failures;
                }
                if !call(ids[n % ids.len()]).await {
                    failures += 1;
                }
            }
        }));
    }
    let mut failures = 0;
    for task in tasks {
        failures += task.await.expect("worker");
    }
    failures
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
    let nys = endorse::domain::association::AssociationCode::nys_aimh();
    let portfolios = PortfolioStore::new(&store, &endorse::store::TenantScope::new(&nys, chrono_tz::America::New_York));
    let mut ids = Vec::new();
    for n in 0..100 {
        let document = endorse::seed::realistic_submitted(&nys, n);
        portfolios.upsert(&document).await.expect("seed");
        ids.push(document.id);
    }
    let ids = Arc::new(ids);
    let token = endorse::auth::jwt::mint_dev_token(&config, "bench-reviewer", &[Role::Reviewer], Some(&nys), 3600)
        .expect("token");
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
    let raw = store.database().collection::<Document>("portfolios");

    // A GraphQL call succeeds when the reply has no errors and `check` holds.
    let graphql = |query: &'static str, check: fn(&Value) -> bool| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        move |id: ObjectId| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                let body = json!({ "query": query, "variables": { "id": id.to_hex() } });
                match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                        Ok(body) => body.get("errors").is_none() && check(&body["data"]),
                        Err(_) => false,
                    },
                    _ => false,
                }
            }
        }
    };
    let memory_probe = graphql(FULL, |data| data["portfolio"]["id"].is_string());
    let full = graphql(FULL, |data| data["portfolio"]["training"].as_array().is_some_and(|t| t.len() == 60));
    let page = graphql(PAGE, |data| data["portfolios"]["edges"].as_array().is_some_and(|e| e.len() == 50));
    let evaluated = graphql(PAGE_EVALUATED, |data| {
        data["portfolios"]["edges"]
            .as_array()
            .is_some_and(|e| e.len() == 50 && e[0]["node"]["eligibility"]["met"].is_boolean())
    });
    // Each call asks about another day, so no answer is kept.
    let evaluated_anew = {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        let days = Arc::new(std::sync::atomic::AtomicU64::new(0));
        move |_: ObjectId| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            let day = days.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move {
                let on = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(day % 20_000);
                let body = json!({ "query": PAGE_EVALUATED_ON, "variables": { "on": on.to_string() } });
                match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().is_success() => r.json::<Value>().await.is_ok_and(|body| {
                        body.get("errors").is_none()
                            && body["data"]["portfolios"]["edges"].as_array().is_some_and(|e| e.len() == 50)
                    }),
                    _ => false,
                }
            }
        }
    };
    let find_one = {
        let raw = raw.clone();
        move |id: ObjectId| {
            let raw = raw.clone();
            async move { matches!(raw.find_one(doc! { "_id": id }).await, Ok(Some(_))) }
        }
    };
    // The page as the API asks for it: newest first, the reviewer's scope,
    // the fields the five selected ones need.
    let find_page = {
        let raw = raw.clone();
        move |_: ObjectId| {
            let raw = raw.clone();
            async move {
                let projection = doc! { "_id": 1, "association": 1, "ownerId": 1, "submittedAt": 1, "status": 1,
                "track": 1, "targetCategory": 1, "schemaVersion": 1, "version": 1, "applicant": 1 };
                let filter = doc! { "association": "nys-aimh", "submittedAt": { "$ne": null } };
                match raw.find(filter).sort(doc! { "_id": -1 }).limit(51).projection(projection).await {
                    Ok(cursor) => cursor.try_collect::<Vec<Document>>().await.is_ok_and(|docs| docs.len() == 51),
                    Err(_) => false,
                }
            }
        }
    };

    // Warm up connection pools, caches and the document cache.
    run(concurrency, Duration::from_secs(2), ids.clone(), full.clone()).await;
    run(concurrency, Duration::from_secs(1), ids.clone(), page.clone()).await;
    run(concurrency, Duration::from_secs(1), ids.clone(), evaluated.clone()).await;
    run(concurrency, Duration::from_secs(2), ids.clone(), find_one.clone()).await;

    // Interleaved rounds: the machine and the database drift over a run
    // (other tenants of the host, the database's own caches), so each read
    // runs for a share of LOAD_SECONDS in every round, and the pairs that
    // are compared are measured at the same times.
    let rounds: usize = env_number("LOAD_ROUNDS", 4).max(1);
    let share = Duration::from_secs_f64(seconds as f64 / rounds as f64);
    let reads: [(&str, Call); 6] = [
        ("GraphQL full portfolio", boxed(full)),
        ("raw find_one by _id", boxed(find_one)),
        ("GraphQL page of 50, 5 fields", boxed(page)),
        ("raw find of that page", boxed(find_page)),
        ("GraphQL page of 50 + eligibility", boxed(evaluated)),
        ("  the same, nothing kept", boxed(evaluated_anew)),
    ];
    let mut outcomes: Vec<(&str, Outcome)> = reads
        .iter()
        .map(|(name, _)| (*name, Outcome { latencies: Vec::new(), failures: 0, elapsed: Duration::ZERO }))
        .collect();
    for _ in 0..rounds {
        for ((_, call), (_, total)) in reads.iter().zip(outcomes.iter_mut()) {
            let call = call.clone();
            let outcome = run(concurrency, share, ids.clone(), move |id| call(id)).await;
            total.latencies.extend(outcome.latencies);
            total.failures += outcome.failures;
            total.elapsed += outcome.elapsed;
        }
    }
    for (_, outcome) in &mut outcomes {
        outcome.latencies.sort();
    }

    println!(
        "load: {concurrency} concurrent clients, {seconds} s each in {rounds} interleaved rounds, 100 realistic portfolios, reviewer (audited)"
    );
    println!("{:<34} {:>10} {:>10} {:>10} {:>9}", "", "rps", "p50 ms", "p99 ms", "failures");
    for (name, outcome) in &outcomes {
        println!(
            "{:<34} {:>10.0} {:>10.3} {:>10.3} {:>9}",
            name,
            outcome.rps(),
            outcome.percentile(0.50).as_secs_f64() * 1000.0,
            outcome.percentile(0.99).as_secs_f64() * 1000.0,
            outcome.failures
        );
    }
    let p50 = |index: usize| outcomes[index].1.percentile(0.50).as_secs_f64();
    let ratios = [
        ("full portfolio: GraphQL / raw find_one", p50(0) / p50(1), Some(GUARD)),
        ("page of 50: GraphQL / raw find", p50(2) / p50(3), Some(GUARD)),
        ("page of 50: with eligibility / without", p50(4) / p50(2), None),
        ("page of 50: with eligibility, nothing kept / without", p50(5) / p50(2), None),
    ];
    let mut failed = outcomes.iter().any(|(_, outcome)| outcome.failures > 0);
    for (name, ratio, guard) in ratios {
        let verdict = match guard {
            Some(limit) if ratio > limit => {
                failed = true;
                format!("  FAIL: over {limit:.1}x")
            }
            Some(limit) => format!("  (guard {limit:.1}x)"),
            None => String::new(),
        };
        println!("p50 ratio {name}: {ratio:.2}{verdict}");
    }
    // Memory: the process (server and clients) after 1,000 full reads and
    // after LOAD_MEMORY_REQUESTS of them; growth beyond 10% fails.
    let total: usize = env_number("LOAD_MEMORY_REQUESTS", 100_000);
    let pid = std::process::id();
    count(concurrency, 1_000, ids.clone(), memory_probe.clone()).await;
    let (after_1k, _) = support::memory_kib(pid);
    let started = Instant::now();
    let failures = count(concurrency, total.saturating_sub(1_000), ids.clone(), memory_probe).await;
    let (after_all, peak) = support::memory_kib(pid);
    let growth = (after_all as f64 - after_1k as f64) / after_1k as f64 * 100.0;
    println!(
        "memory: RSS {:.1} MiB after 1,000 reads, {:.1} MiB after {total} ({growth:+.1}%, peak {:.1} MiB, {:.0} s, {failures} failures)",
        after_1k as f64 / 1024.0,
        after_all as f64 / 1024.0,
        peak as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
    failed |= growth > 10.0 || failures > 0;
    let _ = store.database().drop().await;
    if failed {
        eprintln!("load: a read failed or a GraphQL read exceeded {GUARD}x its raw read (p50)");
        std::process::exit(1);
    }
}
