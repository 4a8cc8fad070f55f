//! Registry benchmark: the public registry's name search on 100,000 current
//! endorsements (REGISTRY_ENDORSEMENTS), over HTTP against the server in
//! this process, and the same filter through the raw driver on a copy of
//! the collection without the registry's indexes, so the index's effect is
//! visible. Each search runs REGISTRY_RUNS times (default 20), one at a
//! time; prints p50 and p95 per search and the indexed/unindexed ratio.
//!
//!   scripts/services.sh run -- cargo bench --bench registry
//!   ENDORSE_SERVICES_MONGO=rust scripts/services.sh run -- cargo bench --bench registry
//!
//! Exits non-zero when any reply has errors or a search finds nothing
//! where it must.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use endorse::domain::association::AssociationCode;
use endorse::domain::endorsement::{search_words, sort_name};
use endorse::domain::model::{Category, EndorsementStatus, Track};
use endorse::startup::{Application, connect};
use endorse::store::endorsements::{EndorsementDocument, StatusChange};
use futures::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use serde_json::{Value, json};

mod support;

use support::{env_number, require_services};

const FIRST: [&str; 40] = [
    "Ada", "Ben", "Carmen", "Dana", "Eli", "Fatima", "Grace", "Hiro", "Ines", "Jamal", "Keisha", "Liam", "Maya",
    "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe",
    "Alma", "Bruno", "Chloe", "Diego", "Esther", "Felix", "Gloria", "Hassan", "Ivy", "Jonah", "Kira", "Lucia", "Marco",
    "Nora",
];
const LAST: [&str; 50] = [
    "Alvarez",
    "Brown",
    "Chen",
    "Davis",
    "Edwards",
    "Flores",
    "Garcia",
    "Harris",
    "Ito",
    "Johnson",
    "Kim",
    "Lopez",
    "Martin",
    "Nguyen",
    "O'Brien",
    "Patel",
    "Quispe",
    "Rodriguez",
    "Smith",
    "Taylor",
    "Umar",
    "Vargas",
    "Williams",
    "Xu",
    "Young",
    "Zhang",
    "Abbott",
    "Baker",
    "Carter",
    "Dunn",
    "Ellis",
    "Fischer",
    "Gomez",
    "Hughes",
    "Ibrahim",
    "Jensen",
    "Khan",
    "Lewis",
    "Moreno",
    "Novak",
    "Olsen",
    "Price",
    "Reyes",
    "Santos",
    "Turner",
    "Ueda",
    "Vega",
    "Walsh",
    "Yilmaz",
    "Zimmer",
];

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(bench());
}

/// The i-th synthetic endorsee: names repeat (as real ones do), with a
/// numbered middle name so that a full name is rare.
fn endorsement(i: usize, association: &AssociationCode) -> EndorsementDocument {
    let name = format!("{} M{} {}", FIRST[i % FIRST.len()], i / 2000, LAST[(i / FIRST.len()) % LAST.len()]);
    let endorsed_on = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new((i % 2000) as u64);
    let status = if i % 10 == 7 { EndorsementStatus::Lapsed } else { EndorsementStatus::Current };
    let category = Category::ALL[i % Category::ALL.len()];
    EndorsementDocument {
        id: ObjectId::new(),
        association: association.clone(),
        number: format!("BENCH-{i:07}"),
        subject: format!("bench-{i}"),
        name: name.clone(),
        email: Some(format!("bench-{i}@example.org")),
        category,
        track: if i.is_multiple_of(3) { Track::EarlyChildhood } else { Track::Infant },
        portfolio_id: ObjectId::new(),
        endorsed_on,
        current_through: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
        status,
        history: vec![StatusChange { status, on: endorsed_on, reason: None, by: "bench".into(), at: DateTime::now() }],
        status_index: None,
        listing: None,
        sort_name: sort_name(&name),
        search_words: search_words(&name),
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

async fn bench() {
    require_services("registry");
    let total = env_number("REGISTRY_ENDORSEMENTS", 100_000usize);
    let runs = env_number("REGISTRY_RUNS", 20usize).max(2);
    let database = format!("bench_registry_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let config = support::config(&["--mongodb-database", &database, "--mongodb-timeout-ms", "300000"]);
    let app = Application::build(config.clone()).await.expect("server starts");
    let url = format!("http://{}/graphql", app.address());
    tokio::spawn(app.run_until(std::future::pending()));
    let services = connect(&std::sync::Arc::new(config.clone())).await.expect("services");
    let db = services.store_unchecked().database().clone();
    let association = config.default_association.clone();

    // Seeded into the indexed collection and into a copy without indexes.
    let started = Instant::now();
    let indexed = db.collection::<EndorsementDocument>("endorsements");
    let bare = db.collection::<EndorsementDocument>("endorsements_unindexed");
    for chunk in (0..total).collect::<Vec<_>>().chunks(2_000) {
        let batch: Vec<EndorsementDocument> = chunk.iter().map(|i| endorsement(*i, &association)).collect();
        indexed.insert_many(&batch).await.expect("seed");
        bare.insert_many(&batch).await.expect("seed copy");
    }
    println!("seeded {total} endorsements (and an unindexed copy) in {:.1} s", started.elapsed().as_secs_f64());

    let http = reqwest::Client::new();
    let query = "query($q: String, $c: Category, $after: String) { registry(association: \"nys-aimh\", search: $q, category: $c, first: 20, after: $after) {
      edges { cursor node { number name } } pageInfo { hasNextPage endCursor } } }";
    // The cursor of the 50th page of the listing (1,000 names in).
    let mut deep: Option<String> = None;
    for _ in 0..50 {
        let body: Value = http
            .post(&url)
            .json(&json!({ "query": query, "variables": { "after": deep } }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON");
        deep = body["data"]["registry"]["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        assert!(deep.is_some(), "{body}");
    }
    let searches: Vec<(&str, Value)> = vec![
        ("first page, no search", json!({})),
        ("page 51, no search (cursor)", json!({ "after": deep })),
        ("category only", json!({ "c": "REFLECTIVE_SUPERVISOR" })),
        ("common first name \"ada\"", json!({ "q": "ada" })),
        ("surname prefix \"garc\"", json!({ "q": "garc" })),
        ("two words \"ada m1\"", json!({ "q": "ada m1" })),
        ("one person \"zoe m49 williams\"", json!({ "q": "zoe m49 williams" })),
        ("category filter + prefix \"ma\"", json!({ "q": "ma", "c": "MENTOR_CLINICAL" })),
        ("no match \"qqq\"", json!({ "q": "qqq" })),
    ];
    let unindexed_filter = |words: &[&str]| {
        let mut filter = doc! { "association": association.as_str(), "status": "CURRENT" };
        let all: Vec<Document> = words.iter().map(|w| doc! { "searchWords": { "$regex": format!("^{w}") } }).collect();
        if !all.is_empty() {
            filter.insert("$and", all);
        }
        filter
    };
    println!("\n| search | API p50 | API p95 | hits on page | unindexed raw p50 | raw/API |");
    println!("|---|---|---|---|---|---|");
    let mut failed = false;
    for (label, variables) in &searches {
        let mut samples = Vec::with_capacity(runs);
        let mut hits = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let body: Value = http
                .post(&url)
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("JSON");
            samples.push(t.elapsed());
            if body.get("errors").is_some() {
                eprintln!("{label}: {body}");
                failed = true;
                break;
            }
            hits = body["data"]["registry"]["edges"].as_array().map_or(0, Vec::len);
        }
        let must_find = !label.starts_with("no match");
        if must_find == (hits == 0) {
            eprintln!("{label}: {hits} hits");
            failed = true;
        }
        let words: Vec<&str> = variables["q"].as_str().map(|q| q.split(' ').collect()).unwrap_or_default();
        let (p50, p95) = (percentile(&mut samples, 0.5), percentile(&mut samples, 0.95));
        if variables.get("after").is_some() || variables.get("c").is_some() {
            // No single raw find to compare with.
            println!(
                "| {label} | {:.1} ms | {:.1} ms | {hits} | - | - |",
                p50.as_secs_f64() * 1e3,
                p95.as_secs_f64() * 1e3
            );
            continue;
        }
        let mut raw = Vec::with_capacity(runs.min(5));
        for _ in 0..runs.min(5) {
            let t = Instant::now();
            let found: Vec<EndorsementDocument> = bare
                .find(unindexed_filter(&words))
                .sort(doc! { "sortName": 1, "_id": 1 })
                .limit(21)
                .await
                .expect("raw find")
                .try_collect()
                .await
                .expect("raw page");
            raw.push(t.elapsed());
            assert_eq!(found.len().min(20), hits, "{label}: the raw filter finds what the API finds");
        }
        let raw50 = percentile(&mut raw, 0.5);
        println!(
            "| {label} | {:.1} ms | {:.1} ms | {hits} | {:.1} ms | {:.1}x |",
            p50.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3,
            raw50.as_secs_f64() * 1e3,
            raw50.as_secs_f64() / p50.as_secs_f64()
        );
    }
    db.drop().await.ok();
    if failed {
        std::process::exit(1);
    }
}
