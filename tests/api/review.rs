//! The review workflow: `decidePortfolio` moves submitted portfolios through
//! review, sets the decision times `stats` reports on, and refuses what the
//! workflow does not allow.

use endorse::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app_with};
use crate::mail;
use crate::portfolios::{SUBMIT, create};

const DECIDE: &str = "mutation($id: ID!, $v: Int!, $d: Decision!, $note: String) {
  decidePortfolio(id: $id, expectedVersion: $v, decision: $d, note: $note) {
    status version submittedAt decidedAt endorsedAt reviewNote
  }
}";

async fn decide(app: &TestApp, token: &str, id: &str, version: i64, decision: &str) -> Value {
    app.graphql(Some(token), DECIDE, json!({ "id": id, "v": version, "d": decision })).await
}

/// A submitted portfolio of `category`; returns (id, applicant token, version).
async fn submitted(app: &TestApp, owner: &str, category: &str) -> (String, String, i64) {
    let (id, token) = create(app, owner, "INFANT", category).await;
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    (id, token, 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_take_portfolios_through_review_to_endorsement() {
    let app = spawn_app_with(&["--stats-min-cell", "1"]).await.accepting_any_submission().await;
    let reviewer = app.token("rae", &[Role::Reviewer]);

    // A category with an exam: approval makes it EXAM_ELIGIBLE.
    let (id, _, v) = submitted(&app, "mia", "MENTOR_CLINICAL").await;
    let body = decide(&app, &reviewer, &id, v, "START_REVIEW").await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "IN_REVIEW", "{body}");
    assert!(body["data"]["decidePortfolio"]["decidedAt"].is_null(), "taking a portfolio is not a verdict");
    let body = decide(&app, &reviewer, &id, v + 1, "APPROVE").await;
    let approved = &body["data"]["decidePortfolio"];
    assert_eq!(approved["status"], "EXAM_ELIGIBLE", "{body}");
    let decided_at = approved["decidedAt"].as_str().expect("decidedAt").to_owned();
    let body = decide(&app, &reviewer, &id, v + 2, "ENDORSE").await;
    let endorsed = &body["data"]["decidePortfolio"];
    assert_eq!(endorsed["status"], "ENDORSED", "{body}");
    assert_eq!(endorsed["decidedAt"], decided_at.as_str(), "the first verdict's time is kept");
    assert!(endorsed["endorsedAt"].is_string());

    // Without an exam: straight to APPROVED.
    let (other, _, v) = submitted(&app, "fay", "FAMILY_ASSOCIATE").await;
    let body = decide(&app, &reviewer, &other, v, "APPROVE").await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "APPROVED", "{body}");

    // The decisions show up in the statistics.
    let reporter = app.token("rita", &[Role::Reporter]);
    let body = app
        .graphql(Some(&reporter), "{ stats { endorsedByYear { key count } daysToDecision { n } } }", json!({}))
        .await;
    let stats = &body["data"]["stats"];
    let year = &endorsed["endorsedAt"].as_str().unwrap()[..4];
    assert_eq!(stats["endorsedByYear"], json!([{ "key": year, "count": 1 }]), "{body}");
    assert_eq!(stats["daysToDecision"]["n"], 2, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returned_portfolios_carry_the_note_and_start_a_new_round_when_resubmitted() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let owner = format!("ned-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let (id, applicant, v) = submitted(&app, &owner, "FAMILY_SPECIALIST").await;
    let body = app
        .graphql(
            Some(&reviewer),
            DECIDE,
            json!({ "id": id, "v": v, "d": "RETURN", "note": "  Please add your RS/C log for 2024.  " }),
        )
        .await;
    let returned = &body["data"]["decidePortfolio"];
    assert_eq!(returned["status"], "RETURNED", "{body}");
    assert_eq!(returned["reviewNote"], "Please add your RS/C log for 2024.");
    assert!(returned["decidedAt"].is_string());

    // The applicant is told, with the note, by mail.
    let address = format!("{owner}@example.org");
    let told = mail::wait_for(&mail::maildir(), &address, 1, 30).await;
    assert_eq!(told[0].subject, "Your Endorsement portfolio: returned for revision", "{:?}", told[0]);
    assert!(told[0].text.contains("Please add your RS/C log for 2024."), "{}", told[0].text);
    assert!(told[0].text.contains("Family Specialist"), "{}", told[0].text);

    let body = app.graphql(Some(&applicant), SUBMIT, json!({ "id": id, "v": 3 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    let body = app
        .graphql(Some(&reviewer), "query($id: ID!) { portfolio(id: $id) { decidedAt version } }", json!({ "id": id }))
        .await;
    assert!(body["data"]["portfolio"]["decidedAt"].is_null(), "a resubmission is a new round: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_follow_roles_the_workflow_and_versions() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let (id, applicant, v) = submitted(&app, "ola", "FAMILY_ASSOCIATE").await;

    // Applicants and reporters may not decide; nobody decides on their own portfolio.
    assert_eq!(first_error_code(&decide(&app, &applicant, &id, v, "APPROVE").await), "FORBIDDEN");
    let reporter = app.token("rita", &[Role::Reporter]);
    assert_eq!(first_error_code(&decide(&app, &reporter, &id, v, "APPROVE").await), "FORBIDDEN");
    let (own, _, own_v) = submitted(&app, "rev-self", "FAMILY_ASSOCIATE").await;
    let self_reviewer = app.token("rev-self", &[Role::Applicant, Role::Reviewer]);
    assert_eq!(first_error_code(&decide(&app, &self_reviewer, &own, own_v, "APPROVE").await), "FORBIDDEN");

    // A decision the status does not allow, and a stale version, are CONFLICTs; nothing changes.
    let body = decide(&app, &reviewer, &id, v, "ENDORSE").await;
    assert_eq!(first_error_code(&body), "CONFLICT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("ENDORSE does not apply to a SUBMITTED portfolio"));
    assert_eq!(first_error_code(&decide(&app, &reviewer, &id, v + 5, "APPROVE").await), "CONFLICT");
    let (draft, _) = create(&app, "dee", "INFANT", "FAMILY_ASSOCIATE").await;
    assert_eq!(
        first_error_code(&decide(&app, &reviewer, &draft, 1, "APPROVE").await),
        "NOT_FOUND",
        "drafts are invisible to reviewers"
    );
    let coordinator = app.token("cora", &[Role::Coordinator]);
    assert_eq!(first_error_code(&decide(&app, &coordinator, &draft, 1, "APPROVE").await), "CONFLICT");

    let body = app
        .graphql(Some(&reviewer), "query($id: ID!) { portfolio(id: $id) { status version } }", json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["portfolio"], json!({ "status": "SUBMITTED", "version": v }));
    // Applicants can no longer change a portfolio once it is approved.
    assert_eq!(decide(&app, &reviewer, &id, v, "APPROVE").await["data"]["decidePortfolio"]["status"], "APPROVED");
    let body = app.graphql(Some(&applicant), SUBMIT, json!({ "id": id, "v": 3 })).await;
    assert_eq!(first_error_code(&body), "CONFLICT");
}

/// S24: every read of a portfolio by someone other than its owner is in the
/// audit log, once per portfolio and request; the owner's own reads are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_personal_data_by_others_are_audited() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let (id, applicant, _) = submitted(&app, "pia", "FAMILY_ASSOCIATE").await;
    let (other, _, _) = submitted(&app, "quin", "FAMILY_ASSOCIATE").await;
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let coordinator = app.token("cora", &[Role::Coordinator]);

    let owner_read = app
        .graphql(Some(&applicant), "query($id: ID!) { portfolio(id: $id) { applicant { name } } }", json!({ "id": id }))
        .await;
    assert_eq!(owner_read["data"]["portfolio"]["applicant"]["name"], "Name of pia");
    let one = app
        .graphql(
            Some(&reviewer),
            "query($id: ID!) { a: portfolio(id: $id) { applicant { email } } b: portfolio(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert!(one["errors"].is_null(), "{one}");
    let page = app
        .graphql(Some(&reviewer), "{ portfolios(first: 10) { edges { node { applicant { name } } } } }", json!({}))
        .await;
    assert_eq!(page["data"]["portfolios"]["edges"].as_array().unwrap().len(), 2, "{page}");

    let reads_of = async |target: &str| -> Vec<Value> {
        let body = app
            .graphql(
                Some(&coordinator),
                "query($t: String) { auditLog(target: $t) { actor action result requestId count requestIds } }",
                json!({ "t": target }),
            )
            .await;
        body["data"]["auditLog"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .filter(|r| r["action"] == "readPortfolio")
            .cloned()
            .collect()
    };
    // Reads close together may be folded into one record; every request
    // that read is counted once, with its own request id.
    let reads = reads_of(&id).await;
    assert!(reads.iter().all(|r| r["actor"] == "rae" && r["result"] == "ok"), "{reads:?}");
    let counted: i64 = reads.iter().map(|r| r["count"].as_i64().unwrap()).sum();
    let mut ids: Vec<&str> =
        reads.iter().flat_map(|r| r["requestIds"].as_array().unwrap()).map(|id| id.as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((counted, ids.len()), (2, 2), "one count and one request id per request that read it: {reads:?}");
    assert_eq!(reads_of(&other).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_wait_for_something_named_and_emerging_is_for_the_add_on() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let decide_with = |id: &str, v: i64, d: &str, note: Option<&str>| json!({ "id": id, "v": v, "d": d, "note": note });

    let (fa, _, v) = submitted(&app, "hold-fay", "FAMILY_ASSOCIATE").await;
    let body = app.graphql(Some(&coordinator), DECIDE, decide_with(&fa, v, "HOLD", None)).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "a hold names what it waits for: {body}");
    let body =
        app.graphql(Some(&coordinator), DECIDE, decide_with(&fa, v, "HOLD", Some("The second transcript"))).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "ON_HOLD", "{body}");
    assert_eq!(body["data"]["decidePortfolio"]["reviewNote"], "The second transcript");
    let body = app.graphql(Some(&coordinator), DECIDE, decide_with(&fa, v + 1, "EMERGING", None)).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "EMERGING is for the ERS add-on: {body}");
    let body = app.graphql(Some(&coordinator), DECIDE, decide_with(&fa, v + 1, "START_REVIEW", None)).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "IN_REVIEW", "{body}");
    let rounds_of = "query($id: ID!) { portfolio(id: $id) { reviewRounds { number } } }";
    let body = app.graphql(Some(&coordinator), rounds_of, json!({ "id": fa })).await;
    assert_eq!(body["data"]["portfolio"]["reviewRounds"], json!([]), "a hold closes no round: {body}");

    let (ers, token, v) = submitted(&app, "hold-eve", "REFLECTIVE_SUPERVISOR").await;
    let body = app.graphql(Some(&coordinator), DECIDE, decide_with(&ers, v, "EMERGING", None)).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "EMERGING", "{body}");
    let rounds = "query($id: ID!) { portfolio(id: $id) { reviewRounds { number outcome { decision completeBy } } } }";
    let body = app.graphql(Some(&token), rounds, json!({ "id": ers })).await;
    let today = chrono::Utc::now().with_timezone(&chrono_tz::America::New_York).date_naive();
    let two_years = today.checked_add_months(chrono::Months::new(24)).unwrap().to_string();
    assert_eq!(
        body["data"]["portfolio"]["reviewRounds"],
        json!([{ "number": 1, "outcome": { "decision": "EMERGING", "completeBy": two_years } }]),
        "{body}"
    );
    // The applicant completes the rest and resubmits into a new round.
    let changes = json!({ "upsert": [{ "entry": { "training": { "title": "RS/C", "hours": 3.0, "completedOn": "2026-01-05", "topics": ["RSC_PROVISION"] } } }] });
    let body = crate::portfolios::change(&app, &token, &ers, v + 1, changes).await;
    assert!(body["errors"].is_null(), "an EMERGING portfolio is the applicant's to complete: {body}");
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": ers, "v": v + 2 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    let body = app.graphql(Some(&coordinator), DECIDE, decide_with(&ers, v + 3, "APPROVE", None)).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "APPROVED", "{body}");
    let body = app.graphql(Some(&token), rounds, json!({ "id": ers })).await;
    let numbers: Vec<i64> = body["data"]["portfolio"]["reviewRounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2], "the earlier round is kept: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_after_a_deadline_join_the_next_cycle() {
    let app = spawn_app_with(&[]).await.accepting_any_submission().await;
    let admin = app.token("ada-admin", &[Role::Admin]);
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let today = chrono::Utc::now().with_timezone(&chrono_tz::America::New_York).date_naive();
    let day = |offset: i64| (today + chrono::Duration::days(offset)).to_string();
    let publish =
        "mutation($cycles: [ReviewCycleInput!]!) { publishReviewCycles(cycles: $cycles) { id submissionDeadline } }";
    let cycles = json!([
        { "id": "closed", "name": "Closed", "submissionDeadline": day(-10) },
        { "id": "next", "name": "Next", "submissionDeadline": day(30) },
    ]);
    let body = app.graphql(Some(&reviewer), publish, json!({ "cycles": cycles })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let body = app.graphql(Some(&admin), publish, json!({ "cycles": cycles })).await;
    assert_eq!(body["data"]["publishReviewCycles"].as_array().map(Vec::len), Some(2), "{body}");

    let (mhs, _, _) = submitted(&app, "cyc-mia", "MENTAL_HEALTH_SPECIALIST").await;
    let (fs, _, _) = submitted(&app, "cyc-fay", "FAMILY_SPECIALIST").await;
    let cycle_of = "query($id: ID!) { portfolio(id: $id) { reviewCycle { id } } }";
    let body = app.graphql(Some(&reviewer), cycle_of, json!({ "id": mhs })).await;
    assert_eq!(body["data"]["portfolio"]["reviewCycle"]["id"], "next", "after the closed deadline: {body}");
    let body = app.graphql(Some(&reviewer), cycle_of, json!({ "id": fs })).await;
    assert!(body["data"]["portfolio"]["reviewCycle"].is_null(), "no deadlines for Family Specialist: {body}");

    let queue =
        "query($cycle: String!) { portfolios(filter: { reviewCycle: $cycle }) { totalCount edges { node { id } } } }";
    let body = app.graphql(Some(&reviewer), queue, json!({ "cycle": "next" })).await;
    assert_eq!(body["data"]["portfolios"]["edges"], json!([{ "node": { "id": mhs } }]), "{body}");
    let body = app.graphql(Some(&reviewer), queue, json!({ "cycle": "closed" })).await;
    assert_eq!(body["data"]["portfolios"]["totalCount"], 0, "{body}");
    let body = app.graphql(Some(&reviewer), queue, json!({ "cycle": "nope" })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");

    // A closed cycle stays as it was; an open one may move.
    let moved = json!([
        { "id": "closed", "name": "Closed", "submissionDeadline": day(-5) },
        { "id": "next", "name": "Next", "submissionDeadline": day(30) },
    ]);
    let body = app.graphql(Some(&admin), publish, json!({ "cycles": moved })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let moved = json!([
        { "id": "closed", "name": "Closed", "submissionDeadline": day(-10) },
        { "id": "next", "name": "Next", "submissionDeadline": day(45) },
    ]);
    let body = app.graphql(Some(&admin), publish, json!({ "cycles": moved })).await;
    assert!(body["errors"].is_null(), "{body}");
}
