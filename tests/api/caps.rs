//! Resource caps: a portfolio document stays far below MongoDB's 16 MB
//! limit (entries per section, total size), applicants hold a bounded
//! number of portfolios, and responses are bounded.

use endorse::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{first_error_code, spawn_app_with};
use crate::portfolios::{change, create};

fn training(n: usize) -> Value {
    let upserts: Vec<Value> = (0..n)
        .map(|i| json!({ "entry": { "training": { "title": format!("Course {i}"), "hours": 2.0, "completedOn": "2024-01-10", "topics": [] } } }))
        .collect();
    json!({ "upsert": upserts })
}

const CHANGE_VERSION: &str = "mutation($id: ID!, $v: Int!, $changes: PortfolioChanges!) {
  changePortfolio(id: $id, expectedVersion: $v, changes: $changes) { version }
}";
const SIZES: &str = "query($id: ID!) { portfolio(id: $id) { version training { id } leadership { id } } }";

#[tokio::test]
async fn sections_and_documents_have_a_size_limit() {
    let app = spawn_app_with(&["--max-section-entries", "3", "--max-body-bytes", "4000000"]).await;
    let (id, token) = create(&app, "ann", "INFANT", "FAMILY_ASSOCIATE").await;
    let body = change(&app, &token, &id, 1, training(3)).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = change(&app, &token, &id, 2, training(1)).await;
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "training", "{body}");
    let body = app.graphql(Some(&token), SIZES, json!({ "id": id })).await;
    assert_eq!(body["data"]["portfolio"]["version"], 2, "nothing written: {body}");
    assert_eq!(body["data"]["portfolio"]["training"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_portfolio_document_stays_far_below_the_database_limit() {
    let app = spawn_app_with(&["--max-section-entries", "5000", "--max-body-bytes", "4000000"]).await;
    let (id, token) = create(&app, "ann", "INFANT", "FAMILY_ASSOCIATE").await;
    let description = "d".repeat(2000);
    let batch: Vec<Value> = (0..500)
        .map(|_| json!({ "entry": { "leadership": { "description": description, "startedOn": "2023-01-01" } } }))
        .collect();
    let mut version = 1;
    let refused = loop {
        let body = app
            .graphql(Some(&token), CHANGE_VERSION, json!({ "id": id, "v": version, "changes": { "upsert": batch } }))
            .await;
        if body["errors"].is_array() {
            break body;
        }
        version += 1;
        assert!(version < 10, "5 MB were accepted");
    };
    assert_eq!(first_error_code(&refused), "PAYLOAD_TOO_LARGE", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "changes", "{refused}");
    let body = app.graphql(Some(&token), SIZES, json!({ "id": id })).await;
    assert_eq!(body["data"]["portfolio"]["version"], version, "the refused change wrote nothing: {body}");
    assert_eq!(body["data"]["portfolio"]["leadership"].as_array().unwrap().len(), 500 * (version as usize - 1));
}

#[tokio::test]
async fn applicants_hold_a_bounded_number_of_portfolios() {
    let app = spawn_app_with(&["--max-portfolios-per-applicant", "2"]).await;
    create(&app, "ann", "INFANT", "FAMILY_ASSOCIATE").await;
    let (_, token) = create(&app, "ann", "INFANT", "MENTOR_CLINICAL").await;
    let body = app
        .graphql(
            Some(&token),
            crate::portfolios::CREATE,
            json!({ "input": { "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": "Ann" } } }),
        )
        .await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    let body = app.graphql(Some(&token), "{ portfolios { edges { node { id } } } }", json!({})).await;
    assert_eq!(body["data"]["portfolios"]["edges"].as_array().unwrap().len(), 2);
    // Somebody else is not affected.
    create(&app, "bob", "INFANT", "FAMILY_ASSOCIATE").await;
}

#[tokio::test]
async fn responses_are_bounded() {
    let app = spawn_app_with(&["--max-response-bytes", "2048"]).await;
    let (id, token) = create(&app, "ann", "INFANT", "FAMILY_ASSOCIATE").await;
    let body = change(&app, &token, &id, 1, training(40)).await;
    assert!(body["errors"].is_array() || body["data"].is_object());
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "query($id: ID!) { portfolio(id: $id) { training { id title hours completedOn } } }", "variables": { "id": id } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    let small = app.graphql(Some(&token), "{ me { subject } }", json!({})).await;
    assert_eq!(small["data"]["me"]["subject"], "ann");
    let _ = Role::Applicant;
}
