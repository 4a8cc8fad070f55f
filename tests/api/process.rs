//! The association's process end to end, over HTTP, under the default
//! settings: membership imported, registration with its fee, an adviser's
//! comment, submission gated on requirements and the fee, two reviewers
//! (never conflicted, always endorsed at the level), a disagreement the
//! coordinator resolves, the fees settled, the endorsement record; and an
//! exam for a category that needs one. Each refusal along the way too.

use endorse::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app};
use crate::portfolios::SUBMIT;
use crate::tenancy::{create_association, token_in};

const REGISTER: &str =
    "mutation($input: CreatePortfolioInput!) { registerForEndorsement(input: $input) { id version fees { id kind } } }";
const DECIDE: &str = "mutation($id: ID!, $v: Int!, $d: Decision!) { decidePortfolio(id: $id, expectedVersion: $v, decision: $d) { status version } }";
const ASSIGN: &str = "mutation($id: ID!, $reviewers: [ReviewerInput!]!) {
  assignReviewers(portfolioId: $id, reviewers: $reviewers) { number reviewers { subject } } }";
const REVIEW: &str = "mutation($id: ID!, $input: RecordReviewInput!) {
  recordReview(portfolioId: $id, input: $input) { number awaitingCoordinator outcome { decision decidedBy } reviews { reviewer recommendation } } }";
const STATE: &str = "query($id: ID!) { portfolio(id: $id) { status version fees { id kind settled }
  reviewRounds { number awaitingCoordinator reviewers { subject } reviews { reviewer recommendation sections { section satisfied } } outcome { decision decidedBy } }
  endorsement { number code status } } }";

async fn state(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app.graphql(Some(token), STATE, json!({ "id": id })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["portfolio"].clone()
}

fn charge_id(state: &Value, kind: &str) -> String {
    state["fees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {state}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn waive(app: &TestApp, coordinator: &str, charge: &str) {
    let waive = "mutation($input: WaiveFeeInput!) { waiveFee(input: $input) { settled } }";
    let body = app
        .graphql(Some(coordinator), waive, json!({ "input": { "chargeId": charge, "reason": "Staff member" } }))
        .await;
    assert_eq!(body["data"]["waiveFee"]["settled"], true, "{body}");
}

async fn register(app: &TestApp, token: &str, owner: &str, category: &str) -> Value {
    let input = json!({ "track": "INFANT", "targetCategory": category,
        "applicant": { "name": format!("Name of {owner}"), "email": format!("{owner}@example.org") } });
    app.graphql(Some(token), REGISTER, json!({ "input": input })).await
}

/// `subject` endorsed as `category` the way the association does it (a
/// coordinator letting the portfolio through and waiving the fees).
pub(crate) async fn endorse_person(app: &TestApp, subject: &str, category: &str) {
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let token = app.token(subject, &[Role::Applicant]);
    let body = register(app, &token, subject, category).await;
    let id = body["data"]["registerForEndorsement"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let allow = "mutation($id: ID!) { allowIncompleteSubmission(portfolioId: $id, reason: \"Endorsed before Endorse\") { open } }";
    assert!(app.graphql(Some(&coordinator), allow, json!({ "id": id })).await["errors"].is_null());
    app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    for charge in ["REGISTRATION", "PROCESSING"] {
        waive(app, &coordinator, &charge_id(&state(app, &token, &id).await, charge)).await;
    }
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    let body = app.graphql(Some(&coordinator), DECIDE, json!({ "id": id, "v": 2, "d": "APPROVE" })).await;
    let status = body["data"]["decidePortfolio"]["status"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    assert!(status == "APPROVED" || status == "EXAM_ELIGIBLE", "{body}");
    let body = app.graphql(Some(&coordinator), DECIDE, json!({ "id": id, "v": 3, "d": "ENDORSE" })).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "ENDORSED", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_applicant_through_every_step() {
    let app = spawn_app().await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let adviser = app.token("adv-ana", &[Role::Adviser]);
    let ana = app.token("walk-ana", &[Role::Applicant]);

    // Membership, from the association's list.
    let csv = "email,name,type,valid_from,valid_until,fee_paid\nwalk-ana@example.org,Ana Walker,INDIVIDUAL,2026-01-01,2027-12-31,50\n";
    let body = app
        .graphql(Some(&coordinator), "mutation($csv: String!) { importMemberships(csv: $csv) }", json!({ "csv": csv }))
        .await;
    assert_eq!(body["data"]["importMemberships"], 1, "{body}");

    // Registration, with its fee; one category at a time.
    let body = register(&app, &ana, "walk-ana", "FAMILY_SPECIALIST").await;
    let id = body["data"]["registerForEndorsement"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    assert_eq!(
        register(&app, &ana, "walk-ana", "MENTAL_HEALTH_SPECIALIST").await["errors"][0]["extensions"]["code"],
        "CONFLICT"
    );

    // The adviser comments and cannot decide.
    let input = json!({ "subject": "adv-ana", "name": "Ana Adviser" });
    let assign = "mutation($id: ID!, $input: AdviserInput!) { assignAdviser(portfolioId: $id, input: $input) { id } }";
    assert!(app.graphql(Some(&coordinator), assign, json!({ "id": id, "input": input })).await["errors"].is_null());
    let comment = "mutation($id: ID!) { commentOnPortfolio(portfolioId: $id, section: REFERENCES, text: \"Ask your supervisor.\") { authorRole } }";
    let body = app.graphql(Some(&adviser), comment, json!({ "id": id })).await;
    assert_eq!(body["data"]["commentOnPortfolio"]["authorRole"], "ADVISER", "{body}");

    // A rater the portfolio names (moved from the old system).
    let import = "mutation($id: ID!, $input: ImportedReferenceInput!) { importReferenceRating(portfolioId: $id, input: $input) { version } }";
    let rating = json!({ "raterName": "Rita Rater", "raterEmail": "rita@example.org", "role": "PROGRAM_SUPERVISOR",
        "raterCredential": "MENTAL_HEALTH_SPECIALIST", "completedOn": "2026-06-01", "notEnoughInfoCount": 0 });
    let body = app.graphql(Some(&coordinator), import, json!({ "id": id, "input": rating })).await;
    let version = body["data"]["importReferenceRating"]["version"].as_i64().unwrap_or_else(|| panic!("{body}"));

    // Submission: the requirements first (a coordinator lets it through),
    // then the processing fee.
    let body = app.graphql(Some(&ana), SUBMIT, json!({ "id": id, "v": version })).await;
    assert_eq!(first_error_code(&body), "FAILED_PRECONDITION", "{body}");
    let allow = "mutation($id: ID!) { allowIncompleteSubmission(portfolioId: $id, reason: \"Paper records checked\") { open } }";
    assert!(app.graphql(Some(&coordinator), allow, json!({ "id": id })).await["errors"].is_null());
    let body = app.graphql(Some(&ana), SUBMIT, json!({ "id": id, "v": version })).await;
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["processingFee"]), "unpaid fee: {body}");
    let processing = charge_id(&state(&app, &ana, &id).await, "PROCESSING");
    let pay = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { settled } }";
    let body = app
        .graphql(Some(&coordinator), pay, json!({ "input": { "chargeId": processing, "amountCents": 10000 } }))
        .await;
    assert_eq!(body["data"]["recordPayment"]["settled"], true, "{body}");
    let body = app.graphql(Some(&ana), SUBMIT, json!({ "id": id, "v": version })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    let version = version + 1;

    // Reviewers: never conflicted, always endorsed at the level.
    endorse_person(&app, "rev-one", "MENTAL_HEALTH_SPECIALIST").await;
    endorse_person(&app, "rev-two", "FAMILY_SPECIALIST").await;
    endorse_person(&app, "rev-low", "FAMILY_ASSOCIATE").await;
    let reviewer = |subject: &str, email: Option<&str>| json!({ "subject": subject, "name": format!("Name of {subject}"), "email": email });
    for (reviewers, code) in [
        (json!([reviewer("adv-ana", None)]), "CONFLICT"),
        (json!([reviewer("walk-ana", None)]), "CONFLICT"),
        (json!([reviewer("rev-rita", Some("RITA@example.org"))]), "CONFLICT"),
        (json!([reviewer("rev-low", None)]), "FAILED_PRECONDITION"),
        (json!([reviewer("rev-one", None), reviewer("rev-one", None)]), "BAD_USER_INPUT"),
    ] {
        let body = app.graphql(Some(&coordinator), ASSIGN, json!({ "id": id, "reviewers": reviewers })).await;
        assert_eq!(first_error_code(&body), code, "{reviewers}: {body}");
    }
    let reviewers = json!([reviewer("rev-one", None), reviewer("rev-two", None)]);
    let body = app.graphql(Some(&coordinator), ASSIGN, json!({ "id": id, "reviewers": reviewers })).await;
    assert_eq!(body["data"]["assignReviewers"]["number"], 1, "{body}");

    // They disagree: the coordinator decides.
    let review = |recommendation: &str, satisfied: bool| {
        json!({ "recommendation": recommendation,
        "sections": [{ "section": "REFERENCES", "satisfied": satisfied, "comment": "One rating" }, { "section": "TRAINING", "satisfied": true }] })
    };
    let body = app
        .graphql(
            Some(&app.token("rev-three", &[Role::Reviewer])),
            REVIEW,
            json!({ "id": id, "input": review("APPROVE", true) }),
        )
        .await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "not assigned: {body}");
    let one = app.token("rev-one", &[Role::Reviewer]);
    let two = app.token("rev-two", &[Role::Reviewer]);
    let body = app.graphql(Some(&one), REVIEW, json!({ "id": id, "input": review("APPROVE", true) })).await;
    assert_eq!(body["data"]["recordReview"]["awaitingCoordinator"], false, "{body}");
    let body = app.graphql(Some(&two), REVIEW, json!({ "id": id, "input": review("RETURN", false) })).await;
    assert_eq!(body["data"]["recordReview"]["awaitingCoordinator"], true, "{body}");
    assert!(body["data"]["recordReview"]["outcome"].is_null());
    let now = state(&app, &ana, &id).await;
    assert_eq!(now["status"], "SUBMITTED");
    assert_eq!(now["reviewRounds"][0]["reviews"], json!([]), "the applicant does not read reviews: {now}");
    let body = app.graphql(Some(&adviser), DECIDE, json!({ "id": id, "v": version, "d": "APPROVE" })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "an adviser never decides: {body}");
    let body = app.graphql(Some(&coordinator), DECIDE, json!({ "id": id, "v": version, "d": "APPROVE" })).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "APPROVED", "{body}");
    let now = state(&app, &coordinator, &id).await;
    let round = &now["reviewRounds"][0];
    assert_eq!(round["outcome"], json!({ "decision": "APPROVE", "decidedBy": "COORDINATOR" }), "{now}");
    assert_eq!(round["reviews"][1]["sections"][0], json!({ "section": "REFERENCES", "satisfied": false }));

    // Endorsed once every fee is settled.
    let body = app.graphql(Some(&coordinator), DECIDE, json!({ "id": id, "v": version + 1, "d": "ENDORSE" })).await;
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["registrationFee"]), "{body}");
    waive(&app, &coordinator, &charge_id(&now, "REGISTRATION")).await;
    let body = app.graphql(Some(&coordinator), DECIDE, json!({ "id": id, "v": version + 1, "d": "ENDORSE" })).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "ENDORSED", "{body}");
    let endorsement = &state(&app, &ana, &id).await["endorsement"];
    assert_eq!(
        (endorsement["code"].clone(), endorsement["status"].clone()),
        (json!("IFS"), json!("CURRENT")),
        "{endorsement}"
    );
    assert!(endorsement["number"].as_str().unwrap().starts_with("NYS-AIMH-IFS-"));

    // Another association's staff reach none of it.
    assert!(create_association(&app, "walk-other", "America/Chicago", "other-admin").await["errors"].is_null());
    let outsider = token_in(&app, "cora", &[Role::Coordinator], "walk-other");
    let body = app.graphql(Some(&outsider), STATE, json!({ "id": id })).await;
    assert!(body["data"]["portfolio"].is_null(), "{body}");
    let body =
        app.graphql(Some(&outsider), ASSIGN, json!({ "id": id, "reviewers": [reviewer("rev-one", None)] })).await;
    assert_eq!(first_error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_is_endorsed_when_the_exam_is_passed() {
    let app = spawn_app().await.accepting_any_submission().await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let (id, token) = crate::portfolios::create(&app, "exam-eli", "INFANT", "MENTOR_CLINICAL").await;
    app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    endorse_person(&app, "rev-mentor", "MENTOR_POLICY").await;
    let reviewers = json!([{ "subject": "rev-mentor", "name": "Mo Mentor" }]);
    let body = app.graphql(Some(&coordinator), ASSIGN, json!({ "id": id, "reviewers": reviewers })).await;
    assert!(body["errors"].is_null(), "{body}");
    let review = json!({ "recommendation": "APPROVE", "sections": [] });
    let body = app
        .graphql(Some(&app.token("rev-mentor", &[Role::Reviewer])), REVIEW, json!({ "id": id, "input": review }))
        .await;
    assert_eq!(
        body["data"]["recordReview"]["outcome"],
        json!({ "decision": "APPROVE", "decidedBy": "REVIEWERS" }),
        "one reviewer decides: {body}"
    );
    let now = state(&app, &token, &id).await;
    assert_eq!(now["status"], "EXAM_ELIGIBLE", "{now}");
    let version = now["version"].as_i64().unwrap();

    let exam = "mutation($id: ID!, $v: Int!, $on: Date!, $passed: Boolean!) {
      recordExamResult(portfolioId: $id, expectedVersion: $v, takenOn: $on, passed: $passed) { status version exams { passed } } }";
    let body =
        app.graphql(Some(&token), exam, json!({ "id": id, "v": version, "on": "2026-11-02", "passed": true })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .graphql(Some(&coordinator), exam, json!({ "id": id, "v": version, "on": "2026-11-02", "passed": false }))
        .await;
    assert_eq!(body["data"]["recordExamResult"]["status"], "EXAM_ELIGIBLE", "a fail keeps the retake open: {body}");
    let body = app
        .graphql(Some(&coordinator), exam, json!({ "id": id, "v": version + 1, "on": "2026-11-30", "passed": true }))
        .await;
    let passed = &body["data"]["recordExamResult"];
    assert_eq!(passed["status"], "ENDORSED", "{body}");
    assert_eq!(passed["exams"], json!([{ "passed": false }, { "passed": true }]));
    assert_eq!(state(&app, &token, &id).await["endorsement"]["code"], "IMHM-C");
    let body = app
        .graphql(Some(&coordinator), exam, json!({ "id": id, "v": version + 2, "on": "2026-11-30", "passed": true }))
        .await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_in_figures() {
    let app = crate::helpers::spawn_app_with(&["--stats-min-cell", "1"]).await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let reporter = app.token("rio", &[Role::Reporter]);
    // One person endorsed (their fees waived), then reviewing another.
    endorse_person(&app, "rep-rev", "MENTAL_HEALTH_SPECIALIST").await;
    let fay = app.token("rep-fay", &[Role::Applicant]);
    let body = register(&app, &fay, "rep-fay", "FAMILY_SPECIALIST").await;
    let id = body["data"]["registerForEndorsement"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let allow =
        "mutation($id: ID!) { allowIncompleteSubmission(portfolioId: $id, reason: \"Checked on paper\") { open } }";
    assert!(app.graphql(Some(&coordinator), allow, json!({ "id": id })).await["errors"].is_null());
    app.graphql(Some(&fay), SUBMIT, json!({ "id": id, "v": 1 })).await;
    waive(&app, &coordinator, &charge_id(&state(&app, &fay, &id).await, "PROCESSING")).await;
    let body = app.graphql(Some(&fay), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    let reviewers = json!([{ "subject": "rep-rev", "name": "Rae Reviewer" }]);
    assert!(
        app.graphql(Some(&coordinator), ASSIGN, json!({ "id": id, "reviewers": reviewers })).await["errors"].is_null()
    );

    let query = "{ stats { daysRegistrationToSubmission { n p50 } daysSubmissionToEndorsement { n p50 }
      feesByMonth { month kind amount { cents } applicants suppressed } reviewerWorkload { cycle reviewers assigned reviewed mostPerReviewer } } }";
    let body = app.graphql(Some(&reporter), query, json!({})).await;
    let stats = &body["data"]["stats"];
    assert_eq!(stats["daysRegistrationToSubmission"], json!({ "n": 2, "p50": 0.0 }), "{body}");
    assert_eq!(stats["daysSubmissionToEndorsement"], json!({ "n": 1, "p50": 0.0 }), "{body}");
    let month = chrono::Utc::now().with_timezone(&chrono_tz::America::New_York).format("%Y-%m").to_string();
    // MHS: $25 + $300 charged and waived; FS: $15 + $100 charged, $100 waived.
    assert_eq!(
        stats["feesByMonth"],
        json!([
            { "month": month, "kind": "CHARGE", "amount": { "cents": 44000 }, "applicants": 2, "suppressed": false },
            { "month": month, "kind": "WAIVER", "amount": { "cents": 42500 }, "applicants": 2, "suppressed": false },
        ]),
        "{body}"
    );
    assert_eq!(
        stats["reviewerWorkload"],
        json!([{ "cycle": null, "reviewers": 1, "assigned": 1, "reviewed": 0, "mostPerReviewer": 1 }]),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retakes_are_the_associations_rule() {
    let app = spawn_app().await.accepting_any_submission().await;
    let admin = app.token("ada-admin", &[Role::Admin]);
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let body = app
        .graphql(
            Some(&admin),
            "mutation { updateAssociationSettings(input: { examRetakes: -1 }) { examRetakes } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app
        .graphql(
            Some(&admin),
            "mutation { updateAssociationSettings(input: { examRetakes: 0 }) { examRetakes } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["updateAssociationSettings"]["examRetakes"], 0, "{body}");
    let (id, token) = crate::portfolios::create(&app, "retake-rob", "INFANT", "MENTOR_POLICY").await;
    app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    let body = app.graphql(Some(&coordinator), DECIDE, json!({ "id": id, "v": 2, "d": "APPROVE" })).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "EXAM_ELIGIBLE", "{body}");
    let exam = "mutation($id: ID!, $v: Int!, $passed: Boolean!) {
      recordExamResult(portfolioId: $id, expectedVersion: $v, takenOn: \"2026-11-02\", passed: $passed) { status } }";
    let body = app.graphql(Some(&coordinator), exam, json!({ "id": id, "v": 3, "passed": false })).await;
    assert_eq!(body["data"]["recordExamResult"]["status"], "EXAM_ELIGIBLE", "{body}");
    let body = app.graphql(Some(&coordinator), exam, json!({ "id": id, "v": 4, "passed": true })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "no retakes allowed: {body}");
}
