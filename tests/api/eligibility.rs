//! Requirement satisfaction through GraphQL: the realistic portfolio from
//! the domain samples, entered with `changePortfolio`, evaluated for every
//! category of both tracks under both NYS-AIMH rulebook versions and under
//! the CT-AIMH rulebook loaded from its file. The GraphQL answers must be
//! exactly the engine's, and the rules domain.md fixes must show.

use chrono::NaiveDate;
use endorse::domain::model::{Basis, Portfolio, Track};
use endorse::domain::{Rulebook, recommend};
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app, spawn_app_with};
use crate::portfolios::{change, create};

/// `changePortfolio` changes that enter every entry of `portfolio` but its
/// reference ratings (raters submit those; see [`import_references`]).
pub fn as_changes(portfolio: &Portfolio) -> Value {
    let stored = serde_json::to_value(portfolio).unwrap();
    let sections = [
        ("education", "education"),
        ("training", "training"),
        ("work", "work"),
        ("reflectiveSupervision", "reflectiveSupervision"),
        ("leadership", "leadership"),
        ("exams", "exam"),
        ("priorEndorsements", "priorEndorsement"),
    ];
    let mut upserts = Vec::new();
    for (section, input) in sections {
        for entry in stored[section].as_array().unwrap() {
            let mut entry: Map<String, Value> = entry.as_object().unwrap().clone();
            entry.remove("id");
            entry.remove("evidenceIds");
            upserts.push(json!({ "entry": { input: entry } }));
        }
    }
    let mut agreement = stored["agreement"].clone();
    agreement.as_object_mut().unwrap().remove("evidenceIds");
    json!({ "upsert": upserts, "agreement": agreement, "membership": stored["membership"] })
}

const RECOMMENDATIONS: &str = "query($id: ID!, $asOf: Date) { portfolio(id: $id) { recommendations(asOf: $asOf) {
  category track code rulebook asOf basis met examRequired
  requirements { key title met optional progress { current required unit } explanation missing parentKey }
} } }";

/// Creates the sample portfolio on `track` through the API; returns its id and owner token.
async fn sample_portfolio(app: &TestApp, owner: &str, track: Track) -> (String, String) {
    let mut sample = endorse::domain::sample::realistic_portfolio();
    sample.track = track;
    let (id, token) = create(app, owner, track.as_str(), sample.target_category.as_str()).await;
    let body = change(app, &token, &id, 1, as_changes(&sample)).await;
    assert!(body["errors"].is_null(), "{body}");
    import_references(app, &id, &sample).await;
    record_memberships(app, &format!("{owner}@example.org"), &sample).await;
    (id, token)
}

/// Records the sample's memberships on the association's records, as staff
/// would, for the applicant's email (the claim alone does not count).
pub async fn record_memberships(app: &TestApp, email: &str, portfolio: &Portfolio) {
    let coordinator = app.token("coordinator-cy", &[endorse::auth::Role::Coordinator]);
    let record = "mutation($input: MembershipRecordInput!) { recordMembership(input: $input) { validUntil } }";
    for m in &portfolio.membership_records {
        let input = json!({ "email": email, "name": "Member", "type": m.kind, "validFrom": m.valid_from, "validUntil": m.valid_until });
        let body = app.graphql(Some(&coordinator), record, json!({ "input": input })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

/// Enters the sample's ratings as a coordinator moving them from an
/// earlier system would (the sample's are marked imported).
pub async fn import_references(app: &TestApp, id: &str, portfolio: &Portfolio) {
    let coordinator = app.token("coordinator-cy", &[endorse::auth::Role::Coordinator]);
    let import = "mutation($id: ID!, $input: ImportedReferenceInput!) { importReferenceRating(portfolioId: $id, input: $input) { version } }";
    for r in &portfolio.references {
        let input = json!({
            "raterName": r.rater_name, "raterEmail": r.rater_email, "role": r.role, "raterCredential": r.rater_credential,
            "completedOn": r.completed_on, "notEnoughInfoCount": r.not_enough_info_count, "waived": r.waived,
        });
        let body = app.graphql(Some(&coordinator), import, json!({ "id": id, "input": input })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

/// The engine's answer for what the API stored (ids differ: compare the rest).
fn expected(rulebook: &Rulebook, track: Track, as_of: NaiveDate) -> Value {
    let mut sample = endorse::domain::sample::realistic_portfolio();
    sample.track = track;
    sample.evidence.clear();
    let results = recommend(&sample, track, as_of, Basis::Claimed, rulebook).unwrap();
    let value = Value::Array(
        results
            .iter()
            .map(|e| {
                json!({
                    "category": e.category.as_str(), "track": e.track.as_str(), "code": e.code, "rulebook": e.rulebook,
                    "asOf": e.as_of.to_string(), "basis": "CLAIMED", "met": e.met, "examRequired": e.exam_required,
                    "requirements": e.requirements.iter().map(|r| json!({
                        "key": &*r.key, "title": &*r.title, "met": r.met, "optional": r.optional,
                        "progress": r.progress.as_ref().map(|p| json!({ "current": p.current, "required": p.required, "unit": p.unit })),
                        "explanation": r.explanation, "missing": r.missing, "parentKey": r.parent.as_deref(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    );
    // Through text and back, as the API's answer travels: serde_json's float
    // parsing may differ from the in-memory value in the last place.
    serde_json::from_str(&value.to_string()).unwrap()
}

async fn recommendations(app: &TestApp, token: &str, id: &str, as_of: &str) -> Value {
    let body = app.graphql(Some(token), RECOMMENDATIONS, json!({ "id": id, "asOf": as_of })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["portfolio"]["recommendations"].clone()
}

fn find<'a>(list: &'a Value, code: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|e| e["code"] == code).unwrap_or_else(|| panic!("no {code} in {list}"))
}

#[tokio::test]
async fn every_category_of_both_tracks_matches_the_engine_under_both_versions() {
    let app = spawn_app().await;
    let nys = Rulebook::nys_aimh();
    for track in [Track::Infant, Track::EarlyChildhood] {
        let (id, token) = sample_portfolio(&app, &format!("owner-{}", track.as_str()), track).await;
        for as_of in ["2024-12-31", "2025-06-01"] {
            let date: NaiveDate = as_of.parse().unwrap();
            let got = recommendations(&app, &token, &id, as_of).await;
            assert_eq!(got, expected(&nys, track, date), "{track:?} as of {as_of}");
        }
    }
}

#[tokio::test]
async fn outcomes_follow_the_rules_in_force() {
    let app = spawn_app().await;
    let (id, token) = sample_portfolio(&app, "clinician", Track::Infant).await;

    // 2024-12-31: the 2017 rules, IMHS needs the exam; 2025-01-01: no exam.
    let before = recommendations(&app, &token, &id, "2024-12-31").await;
    let imhs = find(&before, "IMHS");
    assert_eq!(imhs["rulebook"], "nys-aimh@2017-01-01");
    assert_eq!(imhs["examRequired"], true);
    assert!(imhs["requirements"].as_array().unwrap().iter().any(|r| r["key"] == "exam"));
    assert!(before.as_array().unwrap().iter().all(|e| e["code"] != "ERS"), "no ERS add-on before 2025");
    let after = recommendations(&app, &token, &id, "2025-01-01").await;
    let imhs = find(&after, "IMHS");
    assert_eq!(imhs["rulebook"], "nys-aimh@2025-01-01");
    assert_eq!(imhs["examRequired"], false);
    assert!(imhs["requirements"].as_array().unwrap().iter().all(|r| r["key"] != "exam"));
    let mentor = find(&after, "IMHM-C");
    assert_eq!(mentor["examRequired"], true, "mentors keep their exam");
    assert_eq!(after.as_array().unwrap().len(), 7, "every category of the track, ERS included");

    // Explanations are sentences with numbers.
    let training = imhs["requirements"].as_array().unwrap().iter().find(|r| r["key"] == "training.hours").unwrap();
    assert!(training["explanation"].as_str().unwrap().contains(" of 30 training hours"), "{training}");
    let rsc = imhs["requirements"].as_array().unwrap().iter().find(|r| r["key"] == "rsc.hours").unwrap();
    assert!(rsc["explanation"].as_str().unwrap().contains("RS/C hours between"), "{rsc}");

    // Default category and asOf: the target category, today (a draft).
    let body = app
        .graphql(
            Some(&token),
            "query($id: ID!) { portfolio(id: $id) { eligibility { category code asOf basis } } }",
            json!({ "id": id }),
        )
        .await;
    let eligibility = &body["data"]["portfolio"]["eligibility"];
    assert_eq!(eligibility["category"], "MENTAL_HEALTH_SPECIALIST");
    // Today is the association's calendar day (NYS-AIMH keeps New York time),
    // which differs from UTC's for several hours of every day.
    let new_york_today = chrono::Utc::now().with_timezone(&chrono_tz::America::New_York).date_naive();
    assert_eq!(eligibility["asOf"], new_york_today.to_string());
    assert_eq!(eligibility["basis"], "CLAIMED");

    // The early-childhood track did not exist under the 2017 rules.
    let body = app
        .graphql(
            Some(&token),
            "query($id: ID!) { portfolio(id: $id) { eligibility(asOf: \"2020-01-01\") { rulebook code } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        body["data"]["portfolio"]["eligibility"],
        json!({ "rulebook": "nys-aimh@2017-01-01", "code": "IMHS" }),
        "{body}"
    );
    let body = change(&app, &token, &id, 6, json!({ "track": "EARLY_CHILDHOOD" })).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .graphql(
            Some(&token),
            "query($id: ID!) { portfolio(id: $id) { eligibility(asOf: \"2020-01-01\") { met code requirements { key met explanation } } } }",
            json!({ "id": id }),
        )
        .await;
    let eligibility = &body["data"]["portfolio"]["eligibility"];
    assert_eq!(eligibility["met"], false);
    assert_eq!(eligibility["code"], "ECMHS");
    assert_eq!(eligibility["requirements"][0]["key"], "category.offered");

    // Before the first version: a clear input error on asOf.
    let body = app
        .graphql(
            Some(&token),
            "query($id: ID!) { portfolio(id: $id) { eligibility(asOf: \"2010-01-01\") { met } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "asOf");
}

#[tokio::test]
async fn verified_basis_counts_only_what_needs_no_evidence_until_evidence_is_verified() {
    let app = spawn_app().await;
    let (id, token) = sample_portfolio(&app, "verifier", Track::Infant).await;
    let body = app
        .graphql(
            Some(&token),
            "query($id: ID!) { portfolio(id: $id) { claimed: eligibility(asOf: \"2025-06-01\") { met requirements { key met } }
               verified: eligibility(asOf: \"2025-06-01\", basis: VERIFIED) { met basis requirements { key met } } } }",
            json!({ "id": id }),
        )
        .await;
    let portfolio = &body["data"]["portfolio"];
    assert_eq!(portfolio["claimed"]["met"], true, "{body}");
    assert_eq!(portfolio["verified"]["met"], false);
    assert_eq!(portfolio["verified"]["basis"], "VERIFIED");
    let met = |key: &str| {
        portfolio["verified"]["requirements"].as_array().unwrap().iter().find(|r| r["key"] == key).unwrap()["met"]
            .clone()
    };
    assert_eq!(met("training.hours"), false, "training needs certificates");
    assert_eq!(met("references"), true, "references need no evidence");
}

#[tokio::test]
async fn another_association_rulebook_loads_from_its_file_and_changes_outcomes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rulebooks/ct-aimh.json");
    let ct_app = spawn_app_with(&["--default-association", "ct-aimh", "--rulebook-file", path]).await;
    let ct = Rulebook::from_json("ct-aimh.json", &std::fs::read_to_string(path).unwrap()).unwrap();
    let (id, token) = sample_portfolio(&ct_app, "ct-applicant", Track::Infant).await;
    let got = recommendations(&ct_app, &token, &id, "2025-06-01").await;
    assert_eq!(got, expected(&ct, Track::Infant, "2025-06-01".parse().unwrap()));
    assert!(got.as_array().unwrap().iter().all(|e| e["rulebook"].as_str().unwrap().starts_with("ct-aimh@")));

    let nys_app = spawn_app().await;
    let (id, token) = sample_portfolio(&nys_app, "nys-applicant", Track::Infant).await;
    let nys = recommendations(&nys_app, &token, &id, "2025-06-01").await;
    let outcome = |list: &Value| {
        list.as_array().unwrap().iter().map(|e| (e["code"].clone(), e["met"].clone())).collect::<Vec<_>>()
    };
    let mut ct_outcomes = outcome(&got);
    let mut nys_outcomes = outcome(&nys);
    ct_outcomes.sort_by_key(|(code, _)| code.to_string());
    nys_outcomes.sort_by_key(|(code, _)| code.to_string());
    assert_ne!(ct_outcomes, nys_outcomes, "the CT rules change at least one outcome for the same portfolio");

    // The rulebook query shows the rules themselves.
    let body = ct_app
        .graphql(
            None,
            "{ rulebook(track: INFANT, asOf: \"2025-06-01\") { code title rulebook requirements { key optional } } }",
            json!({}),
        )
        .await;
    let rules = body["data"]["rulebook"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["code"] == "IMHS" && r["rulebook"] == "ct-aimh@2025-01-01"), "{body}");
}
