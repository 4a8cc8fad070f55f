//! Reporting: every statistic against a brute-force computation over the
//! same fixture, suppression (including recovery by subtraction), access,
//! the CSV report, index use, and the synthetic seed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use endorse::auth::Role;
use endorse::domain::model::{Category, EvidenceStatus, PortfolioStatus, Track};
use endorse::seed::synthetic;
use endorse::store::Store;
use endorse::store::evidence::{EvidenceRecord, EvidenceStore};
use endorse::store::portfolio::{PortfolioDocument, PortfolioStore};
use endorse::store::stats::{Facet, StatsFilter, portfolio_pipeline};
use mongodb::bson::{Bson, Document, doc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app_with};

const FULL_STATS: &str = "query($filter: StatsFilter) { stats(filter: $filter) {
    portfolios
    byStatus { key count suppressed } byCategory { key count suppressed } byTrack { key count suppressed }
    submittedByMonth { key count suppressed } endorsedByYear { key count suppressed }
    daysToDecision { p50 p90 max n } trainingHours { p50 p90 max n }
    evidenceBacklog { key count suppressed }
} }";

/// Writes `documents` and `evidence` straight to MongoDB (fixtures).
async fn store_fixture(app: &TestApp, documents: &[PortfolioDocument], evidence: &[EvidenceRecord]) {
    let store = Store::connect(&app.config.mongodb).await.unwrap();
    assert_eq!(
        PortfolioStore::new(&store, &crate::helpers::nys_scope()).insert_new(documents).await.unwrap(),
        documents.len() as u64
    );
    assert_eq!(
        EvidenceStore::new(&store, &endorse::domain::association::AssociationCode::nys_aimh())
            .insert_new(evidence)
            .await
            .unwrap(),
        evidence.len() as u64
    );
}

fn synthetic_fixture(seed: u64, count: u64) -> (Vec<PortfolioDocument>, Vec<EvidenceRecord>) {
    let mut documents = Vec::new();
    let mut evidence = Vec::new();
    for index in 0..count {
        let (document, mut records) =
            synthetic::portfolio(&endorse::domain::association::AssociationCode::nys_aimh(), seed, index);
        documents.push(document);
        evidence.append(&mut records);
    }
    (documents, evidence)
}

async fn stats(app: &TestApp, filter: Value) -> Value {
    let reporter = app.token("rita", &[Role::Reporter]);
    let body = app.graphql(Some(&reporter), FULL_STATS, json!({ "filter": filter })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["stats"].clone()
}

/// The non-zero cells of a published table, as a map.
fn nonzero(table: &Value) -> BTreeMap<String, u64> {
    table
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| (cell["key"].as_str().unwrap().to_owned(), cell["count"].as_u64().expect("published count")))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn tally<'a>(keys: impl Iterator<Item = String> + 'a) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// Nearest rank, computed here independently: the value at 1-based rank
/// ceil(p/100 * n) of the sorted values.
fn nearest_rank(sorted: &[f64], p: usize) -> f64 {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn expected_percentiles(mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return json!({ "p50": null, "p90": null, "max": null, "n": 0 });
    }
    json!({
        "p50": nearest_rank(&values, 50),
        "p90": nearest_rank(&values, 90),
        "max": values.last(),
        "n": values.len(),
    })
}

/// What `stats` should answer for the documents `keep` selects, counted
/// by brute force over the in-memory fixture.
fn brute_force(documents: &[&PortfolioDocument], evidence: &[EvidenceRecord]) -> Value {
    // Days, months and years are the association's (NYS-AIMH: New York).
    let utc = |at: mongodb::bson::DateTime| at.to_chrono().with_timezone(&chrono_tz::America::New_York);
    let ids: std::collections::HashSet<_> = documents.iter().map(|d| d.id).collect();
    let days: Vec<f64> = documents
        .iter()
        .filter_map(|d| {
            Some((d.decided_at?.timestamp_millis() - d.submitted_at?.timestamp_millis()) as f64 / 86_400_000.0)
        })
        .collect();
    let hours: Vec<f64> = documents.iter().map(|d| d.content.training.iter().map(|t| t.hours).sum()).collect();
    json!({
        "portfolios": documents.len(),
        "byStatus": tally(documents.iter().map(|d| d.status.as_str().to_owned())),
        "byCategory": tally(documents.iter().map(|d| d.content.target_category.as_str().to_owned())),
        "byTrack": tally(documents.iter().map(|d| d.content.track.as_str().to_owned())),
        "submittedByMonth": tally(documents.iter().filter_map(|d| Some(utc(d.submitted_at?).format("%Y-%m").to_string()))),
        "endorsedByYear": tally(documents.iter().filter_map(|d| Some(utc(d.endorsed_at?).format("%Y").to_string()))),
        "daysToDecision": expected_percentiles(days),
        "trainingHours": expected_percentiles(hours),
        "evidenceBacklog": tally(
            evidence
                .iter()
                .filter(|e| e.status == EvidenceStatus::Uploaded && ids.contains(&e.portfolio_id))
                .map(|e| e.kind.as_str().to_owned())
        ),
    })
}

fn assert_matches(answer: &Value, expected: &Value) {
    assert_eq!(answer["portfolios"], expected["portfolios"]);
    for table in ["byStatus", "byCategory", "byTrack", "submittedByMonth", "endorsedByYear", "evidenceBacklog"] {
        let published = nonzero(&answer[table]);
        let counted: BTreeMap<String, u64> = serde_json::from_value(expected[table].clone()).unwrap();
        assert_eq!(published, counted, "{table}");
    }
    for distribution in ["daysToDecision", "trainingHours"] {
        assert_eq!(answer[distribution], expected[distribution], "{distribution}");
    }
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statistic_equals_a_brute_force_count() {
    // Threshold 1: nothing is suppressed, so every figure can be compared.
    let app = spawn_app_with(&["--stats-min-cell", "1"]).await.accepting_any_submission().await;
    let (documents, evidence) = synthetic_fixture(11, 400);
    store_fixture(&app, &documents, &evidence).await;

    let all: Vec<&PortfolioDocument> = documents.iter().collect();
    assert_matches(&stats(&app, json!(null)).await, &brute_force(&all, &evidence));

    // Every filter at once, checked by hand against each document.
    let (from, to) = (day("2021-03-01"), day("2025-08-31"));
    let categories = [Category::FamilySpecialist, Category::MentalHealthSpecialist];
    let region = "Hudson Valley";
    let selected: Vec<&PortfolioDocument> = documents
        .iter()
        .filter(|d| {
            let submitted =
                d.submitted_at.map(|at| at.to_chrono().with_timezone(&chrono_tz::America::New_York).date_naive());
            d.content.track == Track::Infant
                && categories.contains(&d.content.target_category)
                && d.applicant.as_ref().and_then(|a| a.region.as_deref()) == Some(region)
                && submitted.is_some_and(|s| s >= from && s <= to)
        })
        .collect();
    assert!(selected.len() >= 5, "the fixture covers the filter ({} portfolios)", selected.len());
    let filter = json!({
        "from": "2021-03-01", "to": "2025-08-31", "track": "INFANT",
        "category": ["MENTAL_HEALTH_SPECIALIST", "FAMILY_SPECIALIST"], "region": region,
    });
    let answer = stats(&app, filter).await;
    assert_matches(&answer, &brute_force(&selected, &evidence));
    // Filtered tables list just the filter's keys, in a stable order.
    let keys = |table: &str| -> Vec<String> {
        answer[table].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(keys("byTrack"), ["INFANT"]);
    assert_eq!(keys("byCategory"), ["FAMILY_SPECIALIST", "MENTAL_HEALTH_SPECIALIST"]);
    assert_eq!(keys("byStatus").len(), PortfolioStatus::ALL.len());
    let months = keys("submittedByMonth");
    let next_month = |m: &str| {
        let (y, mo) = m.split_once('-').unwrap();
        let (y, mo): (i32, u32) = (y.parse().unwrap(), mo.parse().unwrap());
        if mo == 12 { format!("{:04}-01", y + 1) } else { format!("{y:04}-{:02}", mo + 1) }
    };
    assert_eq!(months.first().map(String::as_str), Some("2021-03"), "months start at `from`");
    assert_eq!(months.last().map(String::as_str), Some("2025-08"), "months end at `to`");
    assert!(months.windows(2).all(|w| next_month(&w[0]) == w[1]), "months are consecutive: {months:?}");
}

/// `unmetRequirements` agrees with `eligibility`, read portfolio by
/// portfolio through the public API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmet_requirements_agree_with_eligibility() {
    let app = spawn_app_with(&["--stats-min-cell", "1"]).await.accepting_any_submission().await;
    let (documents, evidence) = synthetic_fixture(12, 300);
    store_fixture(&app, &documents, &evidence).await;
    let coordinator = app.token("cora", &[Role::Coordinator]);

    for category in ["MENTAL_HEALTH_SPECIALIST", "FAMILY_ASSOCIATE"] {
        let mut failures: BTreeMap<String, u64> = BTreeMap::new();
        let mut keys_seen: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        let mut evaluated = 0;
        loop {
            let body = app
                .graphql(
                    Some(&coordinator),
                    "query($c: [Category!], $after: String) {
                        portfolios(filter: { category: $c }, first: 100, after: $after) {
                            pageInfo { hasNextPage endCursor }
                            edges { node { eligibility { requirements { key met } } } }
                        } }",
                    json!({ "c": [category], "after": after }),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
            let page = &body["data"]["portfolios"];
            for edge in page["edges"].as_array().unwrap() {
                evaluated += 1;
                for requirement in edge["node"]["eligibility"]["requirements"].as_array().unwrap() {
                    let key = requirement["key"].as_str().unwrap().to_owned();
                    if !keys_seen.contains(&key) {
                        keys_seen.push(key.clone());
                    }
                    *failures.entry(key).or_default() += u64::from(!requirement["met"].as_bool().unwrap());
                }
            }
            if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        assert!(evaluated > 10, "{category}: {evaluated} portfolios");

        let reporter = app.token("rita", &[Role::Reporter]);
        let body = app
            .graphql(
                Some(&reporter),
                "query($c: Category!) { stats { unmetRequirements(category: $c) { key count suppressed } } }",
                json!({ "c": category }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let cells = body["data"]["stats"]["unmetRequirements"].as_array().unwrap();
        let all: Vec<(String, u64)> =
            cells.iter().map(|c| (c["key"].as_str().unwrap().to_owned(), c["count"].as_u64().unwrap())).collect();
        let published: BTreeMap<String, u64> = all.iter().filter(|(key, _)| keys_seen.contains(key)).cloned().collect();
        assert_eq!(published, failures, "{category}");
        // Keys no portfolio was evaluated with (an older version's) fail nobody.
        assert!(all.iter().filter(|(key, _)| !keys_seen.contains(key)).all(|(_, n)| *n == 0), "{all:?}");
        assert_eq!(
            all.len(),
            all.iter().map(|(k, _)| k).collect::<std::collections::HashSet<_>>().len(),
            "unique keys"
        );
        assert!(failures.values().any(|n| *n > 0), "{category}: the fixture fails something");
    }
}

fn fixture_with(n: u64, shape: impl Fn(u64, &mut PortfolioDocument)) -> Vec<PortfolioDocument> {
    (0..n)
        .map(|i| {
            let (mut document, _) =
                synthetic::portfolio(&endorse::domain::association::AssociationCode::nys_aimh(), 99, i);
            shape(i, &mut document);
            document
        })
        .collect()
}

fn table(stats: &Value, name: &str) -> Vec<(String, Option<u64>, bool)> {
    stats[name]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap().to_owned(), c["count"].as_u64(), c["suppressed"].as_bool().unwrap()))
        .collect()
}

/// No suppressed cell can be had back as "total minus the published cells":
/// either none is suppressed, or at least two are.
fn assert_not_recoverable(cells: &[(String, Option<u64>, bool)], total: u64, k: u64) {
    let hidden: Vec<_> = cells.iter().filter(|c| c.2).collect();
    let published: u64 = cells.iter().filter_map(|c| c.1).sum();
    assert!(hidden.len() != 1, "one suppressed cell is total minus the rest: {cells:?}");
    if !hidden.is_empty() {
        let pooled = total - published;
        assert!(pooled == 0 || pooled >= k || hidden.len() == cells.len(), "the suppressed cells pool to {pooled}");
    }
    for (key, count, suppressed) in cells {
        assert_eq!(count.is_none(), *suppressed, "{key}");
        if let Some(n) = count {
            assert!(*n == 0 || *n >= k, "{key} = {n} is a small cell");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_cells_are_suppressed_and_cannot_be_recovered_by_subtraction() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await; // the default threshold, 5
    let statuses = [PortfolioStatus::Draft; 9]
        .into_iter()
        .chain([PortfolioStatus::Submitted; 3])
        .chain([PortfolioStatus::Endorsed; 2])
        .collect::<Vec<_>>();
    let documents = fixture_with(statuses.len() as u64, |i, d| {
        d.status = statuses[i as usize];
        d.content.track = if i < 12 { Track::Infant } else { Track::EarlyChildhood };
        d.content.target_category = Category::FamilySpecialist;
        d.applicant.as_mut().unwrap().region = Some(if i < 11 { "Capital Region" } else { "North Country" }.into());
        // `agreement` passes for the even ones; `membership` fails for all.
        d.content.agreement = (i % 2 == 0)
            .then(|| endorse::domain::model::Agreement { signed_on: day("2015-01-01"), evidence_ids: Vec::new() });
        d.content.membership = None;
        // Three decided portfolios: too few for percentiles.
        d.decided_at = None;
        if i >= 11 {
            d.submitted_at = Some(mongodb::bson::DateTime::from_millis(1_700_000_000_000));
            d.decided_at = Some(mongodb::bson::DateTime::from_millis(1_700_000_000_000 + i as i64 * 86_400_000));
        }
    });
    // Seven files waiting for review, all from one applicant: many files,
    // but a cell about one person.
    let (_, mut files) = synthetic::portfolio(&endorse::domain::association::AssociationCode::nys_aimh(), 99, 0);
    files.truncate(1);
    let template = files.pop().expect("portfolio 0 of seed 99 links evidence");
    let files: Vec<EvidenceRecord> = (0..7u8)
        .map(|n| {
            let mut bytes = template.id.bytes();
            bytes[11] = n;
            EvidenceRecord {
                id: mongodb::bson::oid::ObjectId::from_bytes(bytes),
                kind: endorse::domain::model::EvidenceKind::Transcript,
                status: EvidenceStatus::Uploaded,
                portfolio_id: documents[0].id,
                ..template.clone()
            }
        })
        .collect();
    store_fixture(&app, &documents, &files).await;

    let answer = stats(&app, json!(null)).await;
    assert_eq!(answer["portfolios"], 14);
    let backlog = table(&answer, "evidenceBacklog");
    assert_eq!(backlog[0], ("TRANSCRIPT".into(), None, true), "7 files of one person are a small cell: {backlog:?}");
    let by_status = table(&answer, "byStatus");
    // DRAFT 9 stays; SUBMITTED 3 and ENDORSED 2 are hidden together (5).
    assert_eq!(by_status[0], ("DRAFT".into(), Some(9), false));
    assert!(by_status.iter().filter(|c| c.2).map(|c| c.0.as_str()).eq(["SUBMITTED", "ENDORSED"]));
    assert!(by_status.iter().filter(|c| !c.2 && c.0 != "DRAFT").all(|c| c.1 == Some(0)), "zeros are published");
    // EARLY_CHILDHOOD 2 is small; hiding it alone would leave 14 - 12.
    let by_track = table(&answer, "byTrack");
    assert!(by_track.iter().all(|c| c.2), "{by_track:?}");
    for name in ["byStatus", "byCategory", "byTrack"] {
        assert_not_recoverable(&table(&answer, name), 14, 5);
    }
    assert!(answer["daysToDecision"].is_null(), "3 decisions are too few: {}", answer["daysToDecision"]);
    assert!(table(&answer, "endorsedByYear").iter().all(|c| c.2), "the years would sum to the hidden ENDORSED");
    assert_eq!(answer["trainingHours"]["n"], 14);

    // A filter that selects 1 to 4 portfolios is refused as a whole (the
    // total itself would be a small cell); one that selects none is fine.
    let reporter = app.token("rita", &[Role::Reporter]);
    let body = app
        .graphql(Some(&reporter), "{ stats(filter: { region: \"North Country\" }) { portfolios } }", json!({}))
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "filter");
    assert!(body["data"].is_null(), "{body}");
    // Requirement failures alone are suppressed cell by cell instead.
    let body = app
        .graphql(
            Some(&reporter),
            "{ stats(filter: { region: \"North Country\" }) { unmetRequirements(category: FAMILY_SPECIALIST) { count suppressed } } }",
            json!({}),
        )
        .await;
    let cells = body["data"]["stats"]["unmetRequirements"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert!(!cells.is_empty() && cells.iter().all(|c| c["suppressed"] == true && c["count"].is_null()), "{body}");
    let empty = stats(&app, json!({ "region": "Nowhere" })).await;
    assert_eq!(empty["portfolios"], 0);

    // Requirement failures: a cell is hidden when the failing or the
    // passing count is small. Here 14 portfolios target the category.
    let body = app
        .graphql(
            Some(&reporter),
            "{ stats { unmetRequirements(category: FAMILY_SPECIALIST) { key count suppressed } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let cells = body["data"]["stats"]["unmetRequirements"].as_array().unwrap();
    let cell = |key: &str| cells.iter().find(|c| c["key"] == key).unwrap_or_else(|| panic!("{key} in {cells:?}"));
    // The two EARLY_CHILDHOOD portfolios were submitted under the 2017 rules,
    // which do not offer that track: only `category.offered` is evaluated
    // for them. Of the other 12, the even ones have an agreement.
    assert_eq!(cell("agreement")["count"], 6, "6 fail and 6 pass: published");
    assert_eq!(cell("membership")["suppressed"], true, "all 12 fail: publishing 12 would give the total away");
    assert_eq!(cell("category.offered")["suppressed"], true, "2 fail: small");
    for cell in cells {
        if let Some(failed) = cell["count"].as_u64() {
            assert!(failed == 0 || (5..14).contains(&failed), "{cell}");
            assert!(14 - failed >= 5, "{cell}: the passing count is small or the total is given away");
        }
    }
}

/// Tables that sum to a status count do not give a hidden status back:
/// submissions by month (portfolios minus never-submitted), endorsements by
/// year (= ENDORSED), decision times (`n` = decided statuses).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_tables_do_not_give_hidden_statuses_back() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let at = |text: &str| mongodb::bson::DateTime::parse_rfc3339_str(text).unwrap();
    // Region A: DRAFT 3, SUBMITTED 8, ENDORSED 9. byStatus hides DRAFT (small)
    // and SUBMITTED (its complement); ENDORSED 9 stays.
    let documents = fixture_with(20, |i, d| {
        d.applicant.as_mut().unwrap().region = Some("A".into());
        (d.submitted_at, d.decided_at, d.endorsed_at) = (None, None, None);
        d.status = match i {
            0..3 => PortfolioStatus::Draft,
            3..11 => PortfolioStatus::Submitted,
            _ => PortfolioStatus::Endorsed,
        };
        if i >= 3 {
            d.submitted_at = Some(at(if i < 13 { "2024-01-10T10:00:00Z" } else { "2024-02-10T10:00:00Z" }));
        }
        if i >= 11 {
            d.decided_at = Some(at("2024-04-01T10:00:00Z"));
            d.endorsed_at = Some(at("2024-05-01T10:00:00Z"));
        }
    });
    store_fixture(&app, &documents, &[]).await;

    let answer = stats(&app, json!({ "region": "A" })).await;
    let by_status = table(&answer, "byStatus");
    let hidden: Vec<&str> = by_status.iter().filter(|c| c.2).map(|c| c.0.as_str()).collect();
    assert_eq!(hidden, ["DRAFT", "SUBMITTED"], "{by_status:?}");
    // portfolios - sum(months) would be DRAFT exactly: at least two months are hidden.
    let months = table(&answer, "submittedByMonth");
    assert!(months.iter().filter(|c| c.2).count() >= 2, "{months:?}");
    let published_months: u64 = months.iter().filter_map(|c| c.1).sum();
    assert_ne!(20 - published_months, 3, "the months give DRAFT back: {months:?}");
    // ENDORSED is published, so the years and the decision times may be.
    let years: u64 = table(&answer, "endorsedByYear").iter().filter_map(|c| c.1).sum();
    assert_eq!(years, 9);
    assert_eq!(answer["daysToDecision"]["n"], 9);

    // Two `stats` in one request could be subtracted: refused, also through fragments.
    let reporter = app.token("rita", &[Role::Reporter]);
    for query in [
        "{ a: stats { portfolios } b: stats(filter: { track: INFANT }) { portfolios } }",
        "query { stats { portfolios } ...More } fragment More on Query { other: stats(filter: { region: \"A\" }) { portfolios } }",
    ] {
        let body = app.graphql(Some(&reporter), query, json!({})).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        assert!(body["data"].is_null() || body["data"].as_object().unwrap().values().all(Value::is_null), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_reporting_roles_may_read_statistics() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let query = "{ stats { portfolios } }";
    let body = app.graphql(None, query, json!({})).await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
    for role in [Role::Applicant, Role::Reviewer] {
        let body = app.graphql(Some(&app.token("someone", &[role])), query, json!({})).await;
        assert_eq!(first_error_code(&body), "FORBIDDEN", "{role:?}: {body}");
    }
    for role in [Role::Reporter, Role::Coordinator, Role::Admin] {
        let body = app.graphql(Some(&app.token("someone", &[role])), query, json!({})).await;
        assert_eq!(body["data"]["stats"]["portfolios"], 0, "{role:?}: {body}");
    }
    // Reporters get aggregates only: no portfolio is visible to them.
    let reporter = app.token("rita", &[Role::Reporter]);
    let body = app.graphql(Some(&reporter), "{ portfolios(first: 5) { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["portfolios"]["totalCount"], 0, "{body}");

    // Bad filters name the field.
    let body = app
        .graphql(
            Some(&reporter),
            "{ stats(filter: { from: \"2025-02-01\", to: \"2025-01-01\" }) { portfolios } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "filter.to");
}

/// No path from `Stats` leads to anything but counts: the types reachable
/// from it are Stats, Count, Percentiles, the money and workload tables
/// (amounts and counts) and scalars.
#[test]
fn no_personal_field_is_reachable_from_stats() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(endorse::graphql::sdl()).unwrap();
    let mut objects = std::collections::HashMap::new();
    for definition in &document.definitions {
        if let TypeSystemDefinition::Type(ty) = definition
            && let TypeKind::Object(object) = &ty.node.kind
        {
            let fields: Vec<String> = object
                .fields
                .iter()
                .map(|f| f.node.ty.node.to_string().trim_matches(|c| matches!(c, '[' | ']' | '!')).to_owned())
                .collect();
            objects.insert(ty.node.name.node.to_string(), fields);
        }
    }
    let mut reachable = vec!["Stats".to_owned()];
    let mut i = 0;
    while i < reachable.len() {
        for field_type in objects.get(&reachable[i]).cloned().unwrap_or_default() {
            if objects.contains_key(&field_type) && !reachable.contains(&field_type) {
                reachable.push(field_type);
            }
        }
        i += 1;
    }
    reachable.sort();
    assert_eq!(reachable, ["Count", "CycleWorkload", "FeeMonth", "Money", "Percentiles", "Stats"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_report_matches_the_graphql_answer() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let (documents, evidence) = synthetic_fixture(13, 200);
    store_fixture(&app, &documents, &evidence).await;
    let reporter = app.token("rita", &[Role::Reporter]);

    let url = app.url(
        "/reports/stats.csv?track=INFANT&category=MENTAL_HEALTH_SPECIALIST,FAMILY_SPECIALIST&unmet=FAMILY_SPECIALIST",
    );
    let response = app.client.get(&url).bearer_auth(&reporter).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(lines.next(), Some("statistic,category,key,value,suppressed"));
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();

    let body = app
        .graphql(
            Some(&reporter),
            &FULL_STATS.replace(
                "evidenceBacklog { key count suppressed }",
                "evidenceBacklog { key count suppressed } unmetRequirements(category: FAMILY_SPECIALIST) { key count suppressed }",
            ),
            json!({ "filter": { "track": "INFANT", "category": ["MENTAL_HEALTH_SPECIALIST", "FAMILY_SPECIALIST"] } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let answer = &body["data"]["stats"];
    let mut expected: Vec<Vec<String>> =
        vec![vec!["portfolios".into(), "".into(), "".into(), answer["portfolios"].to_string(), "false".into()]];
    let text = |v: &Value| if v.is_null() { String::new() } else { v.to_string() };
    for name in ["byStatus", "byCategory", "byTrack", "submittedByMonth", "endorsedByYear", "evidenceBacklog"] {
        for cell in answer[name].as_array().unwrap() {
            expected.push(vec![
                name.into(),
                "".into(),
                cell["key"].as_str().unwrap().into(),
                text(&cell["count"]),
                cell["suppressed"].to_string(),
            ]);
        }
    }
    for name in ["daysToDecision", "trainingHours"] {
        for figure in ["p50", "p90", "max", "n"] {
            let value = &answer[name][figure];
            expected.push(vec![name.into(), "".into(), figure.into(), text(value), answer[name].is_null().to_string()]);
        }
    }
    for cell in answer["unmetRequirements"].as_array().unwrap() {
        expected.push(vec![
            "unmetRequirements".into(),
            "FAMILY_SPECIALIST".into(),
            cell["key"].as_str().unwrap().into(),
            text(&cell["count"]),
            cell["suppressed"].to_string(),
        ]);
    }
    assert_eq!(rows, expected);

    // Same access rules and input checks as `stats`.
    let status = async |token: Option<&str>, query: &str| {
        let mut request = app.client.get(app.url(&format!("/reports/stats.csv{query}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(status(None, "").await, (401, "UNAUTHENTICATED".into()));
    let applicant = app.token("ada", &[Role::Applicant]);
    assert_eq!(status(Some(&applicant), "").await, (403, "FORBIDDEN".into()));
    assert_eq!(status(Some(&reporter), "?form=2024-01-01").await, (400, "BAD_USER_INPUT".into()));
    assert_eq!(status(Some(&reporter), "?from=yesterday").await, (400, "BAD_USER_INPUT".into()));
    assert_eq!(status(Some(&reporter), "?track=MARS").await, (400, "BAD_USER_INPUT".into()));
}

fn plan_stages(explain: &Document, found: &mut Vec<String>) {
    for (key, value) in explain {
        match value {
            Bson::String(stage) if key == "stage" => found.push(stage.clone()),
            Bson::Document(inner) => plan_stages(inner, found),
            Bson::Array(items) => {
                for item in items {
                    if let Bson::Document(inner) = item {
                        plan_stages(inner, found);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The filtered pipelines the API runs are served by an index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_pipelines_use_an_index() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let (documents, _) = synthetic_fixture(14, 200);
    store_fixture(&app, &documents, &[]).await;
    let store = Store::connect(&app.config.mongodb).await.unwrap();
    let from = Some(day("2022-01-01"));
    let to = Some(day("2024-12-31"));
    let filters = [
        StatsFilter { track: Some(Track::Infant), from, to, ..Default::default() },
        StatsFilter { categories: vec![Category::MentorClinical], from, ..Default::default() },
        StatsFilter { region: Some("Long Island".into()), to, ..Default::default() },
        StatsFilter { from, to, ..Default::default() },
    ];
    for filter in filters {
        let explain = store
            .database()
            .run_command(doc! {
                "explain": { "aggregate": "portfolios", "pipeline": portfolio_pipeline(&endorse::store::TenantScope::new(&endorse::domain::association::AssociationCode::nys_aimh(), chrono_tz::America::New_York), &filter, &Facet::ALL), "cursor": {} },
                "verbosity": "queryPlanner",
            })
            .await
            .unwrap();
        let mut stages = Vec::new();
        plan_stages(&explain, &mut stages);
        assert!(stages.iter().any(|s| s == "IXSCAN"), "{filter:?}: {stages:?}");
        assert!(!stages.iter().any(|s| s == "COLLSCAN"), "{filter:?}: {stages:?}");
    }
}

/// `endorse seed --synthetic` writes N portfolios, and the same seed again
/// writes nothing new (same ids, same documents).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_synthetic_seed_is_reproducible() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_endorse"))
            .args(["seed", "--synthetic", "120", "--seed", "5", "--batch-size", "50"])
            .env("ENDORSE_ENV", "development")
            .env("ENDORSE_MONGODB_URI", app.config.mongodb.uri.expose())
            .env("ENDORSE_MONGODB_DATABASE", &app.config.mongodb.database)
            .env("ENDORSE_S3_BUCKET", &app.config.s3.bucket)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains("120 new portfolios"), "{first:?}");
    let again = run();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 new portfolios"), "{again:?}");

    let store = Store::connect(&app.config.mongodb).await.unwrap();
    let stored: Vec<PortfolioDocument> = {
        use futures::TryStreamExt;
        let collection = store.database().collection::<PortfolioDocument>("portfolios");
        collection.find(doc! {}).sort(doc! { "ownerId": 1 }).await.unwrap().try_collect().await.unwrap()
    };
    assert_eq!(stored.len(), 120);
    let (expected, _) = synthetic::portfolio(&endorse::domain::association::AssociationCode::nys_aimh(), 5, 7);
    assert!(stored.contains(&expected), "portfolio 7 of seed 5 is stored as generated");
}
