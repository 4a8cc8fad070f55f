//! Advisers: a coordinator connects one to a portfolio; the adviser reads
//! it and comments per section (the applicant reads the comments), never
//! decides, and sees nothing they are not connected to.

use endorse::auth::Role;
use serde_json::json;

use crate::helpers::{first_error_code, spawn_app};
use crate::portfolios::{SUBMIT, create};

const ASSIGN: &str =
    "mutation($id: ID!, $input: AdviserInput!) { assignAdviser(portfolioId: $id, input: $input) { id subject name } }";
const COMMENT: &str = "mutation($id: ID!, $section: PortfolioSection!, $text: String!) {
  commentOnPortfolio(portfolioId: $id, section: $section, text: $text) { section authorRole author text } }";
const READ: &str = "query($id: ID!) { portfolio(id: $id) { id advisers { subject name } comments(section: TRAINING) { authorRole text } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisers_read_and_comment_but_never_decide() {
    let app = spawn_app().await.accepting_any_submission().await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let adviser = app.token("adv-ann", &[Role::Adviser]);
    let stranger = app.token("adv-bob", &[Role::Adviser]);
    let (id, owner) = create(&app, "adv-applicant", "INFANT", "FAMILY_SPECIALIST").await;
    let (other, _) = create(&app, "adv-other", "INFANT", "FAMILY_SPECIALIST").await;

    let body = app.graphql(Some(&adviser), READ, json!({ "id": id })).await;
    assert!(body["data"]["portfolio"].is_null(), "not connected yet: {body}");

    let input = json!({ "subject": "adv-ann", "name": "Ann Adviser", "email": "ann@example.org" });
    let body = app.graphql(Some(&owner), ASSIGN, json!({ "id": id, "input": input })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let own = json!({ "subject": "adv-applicant", "name": "Self" });
    let body = app.graphql(Some(&coordinator), ASSIGN, json!({ "id": id, "input": own })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    let body = app.graphql(Some(&coordinator), ASSIGN, json!({ "id": id, "input": input })).await;
    assert_eq!(body["data"]["assignAdviser"]["subject"], "adv-ann", "{body}");
    let assignment = body["data"]["assignAdviser"]["id"].as_str().unwrap().to_owned();
    let body = app.graphql(Some(&coordinator), ASSIGN, json!({ "id": id, "input": input })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "the same adviser twice: {body}");

    // The adviser sees this portfolio, and only this one.
    let body = app.graphql(Some(&adviser), READ, json!({ "id": id })).await;
    assert_eq!(
        body["data"]["portfolio"]["advisers"],
        json!([{ "subject": "adv-ann", "name": "Ann Adviser" }]),
        "{body}"
    );
    let body = app.graphql(Some(&adviser), READ, json!({ "id": other })).await;
    assert!(body["data"]["portfolio"].is_null(), "{body}");
    let body =
        app.graphql(Some(&adviser), "{ portfolios(first: 10) { totalCount edges { node { id } } } }", json!({})).await;
    assert_eq!(body["data"]["portfolios"]["totalCount"], 1, "{body}");
    assert_eq!(body["data"]["portfolios"]["edges"][0]["node"]["id"], id.as_str());
    let body = app.graphql(Some(&stranger), READ, json!({ "id": id })).await;
    assert!(body["data"]["portfolio"].is_null(), "another adviser: {body}");

    // Comments, per section; the applicant reads them but does not write them.
    let say = |text: &str, section: &str| json!({ "id": id, "section": section, "text": text });
    let body = app.graphql(Some(&adviser), COMMENT, say("  ", "TRAINING")).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app.graphql(Some(&adviser), COMMENT, say("Add the RS/C provision course.", "TRAINING")).await;
    assert_eq!(body["data"]["commentOnPortfolio"]["authorRole"], "ADVISER", "{body}");
    let body = app.graphql(Some(&coordinator), COMMENT, say("Transcript received.", "EDUCATION")).await;
    assert_eq!(body["data"]["commentOnPortfolio"]["authorRole"], "COORDINATOR", "{body}");
    let body = app.graphql(Some(&owner), COMMENT, say("Thanks", "TRAINING")).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let body = app.graphql(Some(&owner), READ, json!({ "id": id })).await;
    assert_eq!(
        body["data"]["portfolio"]["comments"],
        json!([{ "authorRole": "ADVISER", "text": "Add the RS/C provision course." }]),
        "only the TRAINING section: {body}"
    );

    // An adviser never decides.
    let body = app.graphql(Some(&owner), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    let decide = "mutation($id: ID!) { decidePortfolio(id: $id, expectedVersion: 2, decision: APPROVE) { status } }";
    let body = app.graphql(Some(&adviser), decide, json!({ "id": id })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");

    // The connection is audited; once ended, the portfolio is out of sight.
    let body = app.graphql(Some(&coordinator), "{ auditLog(first: 50) { outcome } }", json!({})).await;
    let outcomes = body["data"]["auditLog"].to_string();
    assert!(outcomes.contains("ADVISER_ASSIGNED adv-ann"), "{body}");
    let end = "mutation($id: ID!) { endAssignment(id: $id) }";
    let body = app.graphql(Some(&coordinator), end, json!({ "id": assignment })).await;
    assert_eq!(body["data"]["endAssignment"], true, "{body}");
    let body = app.graphql(Some(&adviser), READ, json!({ "id": id })).await;
    assert!(body["data"]["portfolio"].is_null(), "{body}");
    let body = app.graphql(Some(&owner), READ, json!({ "id": id })).await;
    assert_eq!(body["data"]["portfolio"]["comments"].as_array().unwrap().len(), 1, "comments stay: {body}");
}
