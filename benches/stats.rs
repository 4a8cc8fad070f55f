//! Reporting benchmark: with N synthetic portfolios (default 100,000), the
//! time of the full `stats` query and of `unmetRequirements` over HTTP from
//! the release build, side by side in the same run with the same pipelines
//! (and, for `unmetRequirements`, the same projected cursor) run straight
//! through the driver. Runs alternate API / raw so drift hits both alike;
//! medians are reported with the API's overhead, and the server process's
//! RSS growth while `unmetRequirements` streams every portfolio.
//!
//!   scripts/services.sh run -- cargo bench --bench stats
//!   STATS_PORTFOLIOS=20000 STATS_RUNS=5 scripts/services.sh run -- cargo bench --bench stats
//!   STATS_DATABASE=bench ... (reuse a database already seeded with N portfolios)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use endorse::auth::Role;
use endorse::domain::model::{Category, Track};
use endorse::startup::{Application, connect};
use endorse::store::stats::{Facet, StatsFilter, backlog_pipeline, portfolio_pipeline};
use futures::TryStreamExt;
use mongodb::bson::Document;
use serde_json::{Value, json};

mod support;

use support::{env_number, memory_kib, require_services};

const FULL_STATS: &str = "query($filter: StatsFilter) { stats(filter: $filter) {
    portfolios
    byStatus { key count suppressed } byCategory { key count suppressed } byTrack { key count suppressed }
    submittedByMonth { key count suppressed } endorsedByYear { key count suppressed }
    daysToDecision { p50 p90 max n } trainingHours { p50 p90 max n }
    evidenceBacklog { key count suppressed }
} }";

const UNMET: &str = "query($filter: StatsFilter) { stats(filter: $filter) {
    unmetRequirements(category: MENTAL_HEALTH_SPECIALIST) { key count suppressed }
} }";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(bench());
}

/// This process's RSS (server and client share it), in KiB.
fn rss_kib() -> u64 {
    memory_kib(std::process::id()).0
}

/// Median, and the spread (min..max) so that noise is visible.
fn summary(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[0], samples[samples.len() - 1])
}

async fn bench() {
    require_services("stats");
    let portfolios = env_number("STATS_PORTFOLIOS", 100_000);
    let runs = env_number("STATS_RUNS", 5usize).max(1);
    // STATS_DATABASE reuses a database seeded before (e.g. with
    // `endorse seed --synthetic 100000`); by default a fresh one is seeded
    // and dropped at the end.
    let kept = std::env::var("STATS_DATABASE").ok();
    let database =
        kept.clone().unwrap_or_else(|| format!("bench_stats_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
    let config = support::config(&[
        "--mongodb-database",
        &database,
        "--request-timeout-ms",
        "900000",
        // The local Python server answers nothing else while it runs a long
        // aggregation; without this the health probe would call it down.
        "--mongodb-timeout-ms",
        "300000",
    ]);
    let app = Application::build(config.clone()).await.expect("server starts");
    let url = format!("http://{}/graphql", app.address());
    tokio::spawn(app.run_until(std::future::pending()));

    let services = connect(&Arc::new(config.clone())).await.expect("services");
    let store = services.store_unchecked().clone();
    let stored = store.database().collection::<Document>("portfolios").estimated_document_count().await.unwrap_or(0);
    if stored < portfolios {
        println!(
            "{}",
            endorse::seed::synthetic_batches(
                &services,
                &endorse::domain::association::AssociationCode::nys_aimh(),
                portfolios,
                1,
                1000
            )
            .await
            .expect("seed")
        );
    }
    let token = endorse::auth::jwt::mint_dev_token(
        &config,
        "bench-reporter",
        &[Role::Reporter],
        Some(&config.default_association),
        3600,
    )
    .expect("token");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(900)).build().expect("client");

    let graphql = async |query: &str, filter: &Value| -> Duration {
        let started = Instant::now();
        let response = http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "query": query, "variables": { "filter": filter } }))
            .send()
            .await
            .expect("request");
        let body: Value = response.json().await.expect("JSON");
        let elapsed = started.elapsed();
        assert!(body.get("errors").is_none(), "{body}");
        elapsed
    };
    let portfolios_raw = store.database().collection::<Document>("portfolios");
    let evidence_raw = store.database().collection::<Document>("evidence");
    // What the API runs for FULL_STATS: both pipelines at once.
    let raw_stats = async |filter: &StatsFilter| -> Duration {
        let started = Instant::now();
        let (facets, backlog) = tokio::join!(
            async {
                portfolios_raw
                    .aggregate(portfolio_pipeline(
                        &endorse::store::TenantScope::new(
                            &endorse::domain::association::AssociationCode::nys_aimh(),
                            chrono_tz::America::New_York,
                        ),
                        filter,
                        &Facet::ALL,
                    ))
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
            async {
                evidence_raw
                    .aggregate(backlog_pipeline(
                        &endorse::store::TenantScope::new(
                            &endorse::domain::association::AssociationCode::nys_aimh(),
                            chrono_tz::America::New_York,
                        ),
                        filter,
                    ))
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
        );
        let elapsed = started.elapsed();
        assert_eq!(facets.expect("facets").len(), 1);
        backlog.expect("backlog");
        elapsed
    };
    // What the API streams for UNMET: the same filter, projection and batch size.
    let raw_unmet = async |filter: &StatsFilter| -> (Duration, u64) {
        let filter = filter.only_category(Category::MentalHealthSpecialist).expect("category");
        let started = Instant::now();
        let tenant =
            services.tenants.get(&config.default_association).await.expect("store").expect("default association");
        let stream = services.stats(&tenant).expect("store").engine_inputs(&filter).await.expect("cursor");
        let count = stream.try_fold(0u64, |n, _| async move { Ok(n + 1) }).await.expect("stream");
        (started.elapsed(), count)
    };

    let scenarios: [(&str, Value, StatsFilter); 2] = [
        ("all portfolios", json!(null), StatsFilter::default()),
        (
            "INFANT, submitted 2023-2024",
            json!({ "track": "INFANT", "from": "2023-01-01", "to": "2024-12-31" }),
            StatsFilter {
                track: Some(Track::Infant),
                from: "2023-01-01".parse().ok(),
                to: "2024-12-31".parse().ok(),
                ..Default::default()
            },
        ),
    ];

    // Warm-up: one of each.
    for (_, filter_json, filter) in &scenarios {
        graphql(FULL_STATS, filter_json).await;
        raw_stats(filter).await;
    }

    println!("stats benchmark: {portfolios} synthetic portfolios, median of {runs} runs each (API and raw alternate)");
    println!("{:<44} {:>12} {:>12} {:>10}   spread (min-max, s)", "", "API ms", "raw ms", "overhead");
    for (name, filter_json, filter) in &scenarios {
        let (mut api, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            api.push(graphql(FULL_STATS, filter_json).await);
            raw.push(raw_stats(filter).await);
        }
        report(&format!("full stats, {name}"), summary(api), summary(raw));
    }

    // unmetRequirements: the engine over every MENTAL_HEALTH_SPECIALIST
    // portfolio, against streaming the same documents through the driver.
    let (filter_json, filter) = (&scenarios[0].1, &scenarios[0].2);
    let baseline_rss = rss_kib();
    let peak = Arc::new(AtomicU64::new(baseline_rss));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let (mut api, mut raw) = (Vec::new(), Vec::new());
    let mut streamed = 0;
    for _ in 0..runs {
        api.push(graphql(UNMET, filter_json).await);
        let (elapsed, count) = raw_unmet(filter).await;
        raw.push(elapsed);
        streamed = count;
    }
    sampler.abort();
    report(&format!("unmetRequirements, {streamed} portfolios"), summary(api), summary(raw));
    println!(
        "RSS while streaming: baseline {:.1} MiB, peak {:.1} MiB (+{:.1} MiB)",
        baseline_rss as f64 / 1024.0,
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        (peak.load(Ordering::Relaxed).saturating_sub(baseline_rss)) as f64 / 1024.0
    );
    if kept.is_none() {
        let _ = store.database().drop().await;
    }
}

fn report(name: &str, api: (Duration, Duration, Duration), raw: (Duration, Duration, Duration)) {
    let overhead = (api.0.as_secs_f64() / raw.0.as_secs_f64() - 1.0) * 100.0;
    println!(
        "{:<44} {:>12.1} {:>12.1} {:>9.1}%   API {:.1}-{:.1}, raw {:.1}-{:.1}",
        name,
        api.0.as_secs_f64() * 1000.0,
        raw.0.as_secs_f64() * 1000.0,
        overhead,
        api.1.as_secs_f64(),
        api.2.as_secs_f64(),
        raw.1.as_secs_f64(),
        raw.2.as_secs_f64()
    );
}
