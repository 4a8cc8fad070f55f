//! S24, the audit log: a change and its record are written in one
//! transaction (no change without its record, no record of a change that
//! did not happen), records carry what was decided and both request ids,
//! and reads queued at shutdown are written before the server stops.

use endorse::auth::Role;
use endorse::startup::Application;
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, test_config};
use crate::portfolios::{SUBMIT, create};

async fn database(app: &TestApp) -> mongodb::Database {
    let client = mongodb::Client::with_uri_str(app.config.mongodb.uri.expose()).await.unwrap();
    client.database(&app.config.mongodb.database)
}

async fn records(db: &mongodb::Database, filter: Document) -> Vec<Document> {
    use futures::TryStreamExt;
    db.collection::<Document>("audit_log").find(filter).await.unwrap().try_collect().await.unwrap()
}

#[tokio::test]
async fn a_change_and_its_record_are_written_together_or_not_at_all() {
    let app = spawn_app().await.accepting_any_submission().await;
    let db = database(&app).await;
    let (first, token) = create(&app, "ann", "INFANT", "FAMILY_ASSOCIATE").await;
    let (second, _) = create(&app, "ann", "INFANT", "MENTOR_CLINICAL").await;
    // One record per request id: the second change of a request can then
    // not get its record stored, so it must not be stored either.
    db.collection::<Document>("audit_log")
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! { "requestId": 1 })
                .options(
                    mongodb::options::IndexOptions::builder().unique(true).name("one_per_request".to_owned()).build(),
                )
                .build(),
        )
        .await
        .unwrap();
    let body = app
        .graphql(
            Some(&token),
            "mutation($a: ID!, $b: ID!) {
               a: submitPortfolio(id: $a, expectedVersion: 1) { status }
               b: submitPortfolio(id: $b, expectedVersion: 1) { status }
             }",
            json!({ "a": first, "b": second }),
        )
        .await;
    assert_eq!(body["data"]["a"]["status"], "SUBMITTED", "{body}");
    assert!(body["data"]["b"].is_null(), "{body}");
    let status = |id: String| {
        let (app, token) = (&app, &token);
        async move {
            let body = app
                .graphql(Some(token), "query($id: ID!) { portfolio(id: $id) { status } }", json!({ "id": id }))
                .await;
            body["data"]["portfolio"]["status"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(status(first.clone()).await, "SUBMITTED");
    assert_eq!(status(second.clone()).await, "DRAFT", "the change whose record failed was not stored");
    let first_records = records(&db, doc! { "target": &first, "action": "submitPortfolio" }).await;
    assert_eq!(first_records.len(), 1, "{first_records:?}");
    assert_eq!(first_records[0].get_str("result").unwrap(), "ok");
    assert_eq!(first_records[0].get_str("outcome").unwrap(), "SUBMITTED");
    let second_ok = records(&db, doc! { "target": &second, "action": "submitPortfolio", "result": "ok" }).await;
    assert!(second_ok.is_empty(), "no record of a change that did not happen: {second_ok:?}");
}

#[tokio::test]
async fn records_say_what_was_decided_and_carry_both_request_ids() {
    let app = spawn_app().await.accepting_any_submission().await;
    let db = database(&app).await;
    let (id, token) = create(&app, "ann", "INFANT", "FAMILY_ASSOCIATE").await;
    app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&reviewer)
        .header("x-request-id", "client-chosen-1")
        .json(&json!({
            "query": "mutation($id: ID!) { decidePortfolio(id: $id, expectedVersion: 2, decision: APPROVE) { status } }",
            "variables": { "id": id }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-1");
    let server_id = response.headers()["x-server-request-id"].to_str().unwrap().to_owned();
    assert_ne!(server_id, "client-chosen-1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["decidePortfolio"]["status"], "APPROVED", "{body}");
    let decided = records(&db, doc! { "target": &id, "action": "decidePortfolio" }).await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert_eq!(decided[0].get_str("outcome").unwrap(), "APPROVED");
    assert_eq!(decided[0].get_str("requestId").unwrap(), server_id);
    assert_eq!(decided[0].get_str("clientRequestId").unwrap(), "client-chosen-1");
    // A refused decision is recorded as refused, and changed nothing.
    let body = app
        .graphql(
            Some(&reviewer),
            "mutation($id: ID!) { decidePortfolio(id: $id, expectedVersion: 2, decision: APPROVE) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert!(body["errors"].is_array(), "{body}");
    let all = records(&db, doc! { "target": &id, "action": "decidePortfolio" }).await;
    assert_eq!(all.len(), 2);
    let refused: Vec<&Document> = all.iter().filter(|r| r.get_str("result") == Ok("CONFLICT")).collect();
    assert_eq!(refused.len(), 1, "{all:?}");
    assert!(refused[0].get("outcome").is_none());
}

#[tokio::test]
async fn reads_are_recorded_before_the_server_stops() {
    let config = test_config(&[]);
    let app = Application::build(config.clone()).await.unwrap();
    let address = format!("http://{}", app.address());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let test_app =
        TestApp { address, metrics_address: None, client: reqwest::Client::new(), config: std::sync::Arc::new(config) }
            .accepting_any_submission()
            .await;
    let (id, token) = create(&test_app, "ann", "INFANT", "FAMILY_ASSOCIATE").await;
    test_app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    let reviewer = test_app.token("rae", &[Role::Reviewer]);
    let body = test_app
        .graphql(Some(&reviewer), "query($id: ID!) { portfolio(id: $id) { applicant { name } } }", json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["portfolio"]["applicant"]["name"], "Name of ann", "{body}");
    // Stop at once: the read's record may still be in the writer's queue.
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let db = database(&test_app).await;
    let reads = records(&db, doc! { "target": &id, "action": "readPortfolio" }).await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].get_str("actor").unwrap(), "rae");
}
