//! Portfolios through GraphQL: create, change, submit, access, conflicts,
//! validation, pagination, projection, audit.

use endorse::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app};

pub const CREATE: &str = "mutation($input: CreatePortfolioInput!) {
  createPortfolio(input: $input) { id ownerId version status track targetCategory applicant { name email region } createdAt updatedAt submittedAt }
}";

pub const CHANGE: &str = "mutation($id: ID!, $v: Int!, $changes: PortfolioChanges!) {
  changePortfolio(id: $id, expectedVersion: $v, changes: $changes) {
    id version training { id title hours completedOn topics } work { id kind fte startedOn endedOn }
    education { id level conferredOn } references { id role } extra
  }
}";

pub const SUBMIT: &str =
    "mutation($id: ID!, $v: Int!) { submitPortfolio(id: $id, expectedVersion: $v) { id status version submittedAt } }";

/// Creates a DRAFT portfolio for `owner`; returns (id, token).
pub async fn create(app: &TestApp, owner: &str, track: &str, category: &str) -> (String, String) {
    let token = app.token(owner, &[Role::Applicant]);
    let body = app
        .graphql(
            Some(&token),
            CREATE,
            json!({ "input": { "track": track, "targetCategory": category, "applicant": { "name": format!("Name of {owner}"), "email": format!("{owner}@example.org"), "region": "North" } } }),
        )
        .await;
    let id =
        body["data"]["createPortfolio"]["id"].as_str().unwrap_or_else(|| panic!("create failed: {body}")).to_owned();
    (id, token)
}

pub async fn change(app: &TestApp, token: &str, id: &str, version: i64, changes: Value) -> Value {
    app.graphql(Some(token), CHANGE, json!({ "id": id, "v": version, "changes": changes })).await
}

fn training(hours: f64) -> Value {
    json!({ "entry": { "training": { "title": "Attachment basics", "hours": hours, "completedOn": "2024-03-01", "topics": ["IECMH"] } } })
}

#[tokio::test]
async fn create_change_and_submit_a_portfolio() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (id, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;

    let body = app
        .graphql(
            Some(&token),
            "query($id: ID!) { portfolio(id: $id) { ownerId status version applicant { name } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        body["data"]["portfolio"],
        json!({ "ownerId": "ada", "status": "DRAFT", "version": 1, "applicant": { "name": "Name of ada" } })
    );

    let body = change(
        &app,
        &token,
        &id,
        1,
        json!({
            "upsert": [training(20.0), training(10.0),
                { "entry": { "work": { "role": "Home visitor", "kind": "DIRECT_SERVICE", "paid": true, "ageBand": "INFANT", "startedOn": "2021-01-04", "fte": 0.5 } } }],
            "extra": { "county": "Ulster", "languages": ["en", "es"] }
        }),
    )
    .await;
    let portfolio = &body["data"]["changePortfolio"];
    assert_eq!(portfolio["version"], 2, "{body}");
    assert_eq!(portfolio["training"].as_array().unwrap().len(), 2);
    assert_eq!(portfolio["work"][0]["fte"], 0.5);
    assert_eq!(portfolio["extra"], json!({ "county": "Ulster", "languages": ["en", "es"] }));
    let first_training = portfolio["training"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(first_training.len(), 24, "entry ids are server-generated");

    // Replace one entry by id and remove another.
    let second_training = portfolio["training"][1]["id"].as_str().unwrap().to_owned();
    let body = change(
        &app,
        &token,
        &id,
        2,
        json!({ "upsert": [{ "id": first_training, "entry": { "training": { "title": "Attachment, revised", "hours": 21.5, "completedOn": "2024-03-02" } } }], "remove": [second_training] }),
    )
    .await;
    let portfolio = &body["data"]["changePortfolio"];
    assert_eq!(
        portfolio["training"],
        json!([{ "id": first_training, "title": "Attachment, revised", "hours": 21.5, "completedOn": "2024-03-02", "topics": [] }]),
        "{body}"
    );

    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 3 })).await;
    let submitted = &body["data"]["submitPortfolio"];
    assert_eq!(submitted["status"], "SUBMITTED", "{body}");
    assert_eq!(submitted["version"], 4);
    assert!(submitted["submittedAt"].is_string());

    // Submitted: no more changes, no second submission.
    let body = change(&app, &token, &id, 4, json!({ "upsert": [training(1.0)] })).await;
    assert_eq!(first_error_code(&body), "CONFLICT");
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 4 })).await;
    assert_eq!(first_error_code(&body), "CONFLICT");

    // Every mutation left an audit record with its result.
    let admin = app.token("root", &[Role::Admin]);
    let body = app
        .graphql(
            Some(&admin),
            "query($t: String) { auditLog(target: $t) { actor action result requestId } }",
            json!({ "t": id }),
        )
        .await;
    let actions: Vec<(String, String)> = body["data"]["auditLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap().to_owned(), r["result"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        actions,
        [
            ("submitPortfolio", "CONFLICT"),
            ("changePortfolio", "CONFLICT"),
            ("submitPortfolio", "ok"),
            ("changePortfolio", "ok"),
            ("changePortfolio", "ok"),
            ("createPortfolio", "ok"),
        ]
        .map(|(a, r)| (a.to_owned(), r.to_owned()))
    );
    assert!(
        body["data"]["auditLog"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["actor"] == "ada" && r["requestId"].as_str().unwrap().len() > 8)
    );
}

#[tokio::test]
async fn access_follows_roles_and_ownership() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (draft, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let (submitted, ben) = create(&app, "ben", "INFANT", "FAMILY_SPECIALIST").await;
    app.graphql(Some(&ben), SUBMIT, json!({ "id": submitted, "v": 1 })).await;
    let query = "query($id: ID!) { portfolio(id: $id) { id ownerId } }";
    let sees = |token: String, id: String| {
        let app = &app;
        async move { !app.graphql(Some(&token), query, json!({ "id": id })).await["data"]["portfolio"].is_null() }
    };

    assert!(sees(ada.clone(), draft.clone()).await);
    assert!(!sees(ada.clone(), submitted.clone()).await, "another applicant's portfolio is null");
    let reviewer = app.token("rae", &[Role::Reviewer]);
    assert!(!sees(reviewer.clone(), draft.clone()).await, "reviewers do not see drafts");
    assert!(sees(reviewer.clone(), submitted.clone()).await);
    let coordinator = app.token("cy", &[Role::Coordinator]);
    assert!(sees(coordinator.clone(), draft.clone()).await && sees(coordinator.clone(), submitted.clone()).await);
    let reporter = app.token("rio", &[Role::Reporter]);
    assert!(!sees(reporter.clone(), submitted.clone()).await);

    // Changing someone else's portfolio: exactly as if it did not exist.
    let body = change(&app, &ben, &draft, 1, json!({ "upsert": [training(3.0)] })).await;
    assert_eq!(first_error_code(&body), "NOT_FOUND");
    let missing = change(&app, &ben, "0123456789abcdef01234567", 1, json!({ "upsert": [training(3.0)] })).await;
    assert_eq!(body["errors"][0]["message"], missing["errors"][0]["message"]);
    // Staff see it but only the owner changes it.
    let body = change(&app, &coordinator, &draft, 1, json!({ "upsert": [training(3.0)] })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN");
    // Only applicants create portfolios.
    let body = app
        .graphql(Some(&reviewer), CREATE, json!({ "input": { "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": "X" } } }))
        .await;
    assert_eq!(first_error_code(&body), "FORBIDDEN");
    // The list shows the same.
    let list = "{ portfolios { totalCount edges { node { ownerId } } } }";
    assert_eq!(app.graphql(Some(&ada), list, json!({})).await["data"]["portfolios"]["totalCount"], 1);
    assert_eq!(app.graphql(Some(&reviewer), list, json!({})).await["data"]["portfolios"]["totalCount"], 1);
    assert_eq!(app.graphql(Some(&coordinator), list, json!({})).await["data"]["portfolios"]["totalCount"], 2);
    assert_eq!(app.graphql(Some(&reporter), list, json!({})).await["data"]["portfolios"]["totalCount"], 0);
}

#[tokio::test]
async fn stale_versions_conflict_and_nothing_is_lost() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (id, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    // Two writers with the same version, at the same time: one wins.
    let (a, b) = tokio::join!(
        change(&app, &token, &id, 1, json!({ "upsert": [training(5.0)] })),
        change(&app, &token, &id, 1, json!({ "upsert": [training(7.0)] })),
    );
    let outcomes = [a["errors"].is_null(), b["errors"].is_null()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{a}\n{b}");
    let loser = if outcomes[0] { &b } else { &a };
    assert_eq!(first_error_code(loser), "CONFLICT");
    let body = app
        .graphql(
            Some(&token),
            "query($id: ID!) { portfolio(id: $id) { version training { hours } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["portfolio"]["version"], 2);
    assert_eq!(body["data"]["portfolio"]["training"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (id, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let cases = [
        (json!({ "upsert": [training(10.0), training(0.0)] }), "changes.upsert[1].entry.training.hours"),
        (json!({ "upsert": [training(f64::from(10_000))] }), "changes.upsert[0].entry.training.hours"),
        (
            json!({ "upsert": [{ "entry": { "work": { "role": "x", "kind": "OTHER", "paid": true, "ageBand": "INFANT", "startedOn": "2022-01-01", "fte": 1.5 } } }] }),
            "changes.upsert[0].entry.work.fte",
        ),
        (
            json!({ "upsert": [{ "entry": { "work": { "role": "x", "kind": "OTHER", "paid": true, "ageBand": "INFANT", "startedOn": "2022-01-01", "endedOn": "2021-01-01" } } }] }),
            "changes.upsert[0].entry.work.endedOn",
        ),
        (
            json!({ "upsert": [{ "entry": { "training": { "title": "t", "hours": 2, "completedOn": "2999-01-01" } } }] }),
            "changes.upsert[0].entry.training.completedOn",
        ),
        (
            json!({ "upsert": [{ "id": "0123456789abcdef01234567", "entry": { "leadership": { "description": "x" } } }] }),
            "changes.upsert[0].id",
        ),
        (json!({ "remove": ["nope"] }), "changes.remove[0]"),
        (json!({ "applicant": { "name": "  " } }), "changes.applicant.name"),
        (json!({ "extra": { "$where": "1" } }), "changes.extra"),
        (
            json!({ "upsert": [{ "entry": { "training": { "title": "t", "hours": 2, "completedOn": "2024-01-01", "evidenceIds": ["abc"] } } }] }),
            "evidenceIds",
        ),
    ];
    for (changes, field) in cases {
        let body = change(&app, &token, &id, 1, changes.clone()).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{changes}: {body}");
        assert!(body["errors"][0]["extensions"]["field"].as_str().unwrap_or("").ends_with(field), "{changes}: {body}");
    }
    let body = app
        .graphql(
            Some(&token),
            "query($id: ID!) { portfolio(id: $id) { version training { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["portfolio"], json!({ "version": 1, "training": [] }), "nothing was written");

    // Fields the schema does not have (status, ownerId, version) are refused.
    let body = app
        .graphql(
            Some(&token),
            CREATE,
            json!({ "input": { "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": "X" }, "status": "ENDORSED", "ownerId": "someone" } }),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    // Two entry kinds in one @oneOf input.
    let body = change(&app, &token, &id, 1, json!({ "upsert": [{ "entry": { "leadership": { "description": "x" }, "exam": { "category": "FAMILY_ASSOCIATE", "takenOn": "2024-01-01", "passed": true } } }] })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    // Operators smuggled into ids never reach the driver.
    let body = app
        .graphql(Some(&token), "query($id: ID!) { portfolio(id: $id) { id } }", json!({ "id": "{\"$ne\": null}" }))
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    let body = app
        .graphql(Some(&token), "query($id: ID!) { portfolio(id: $id) { id } }", json!({ "id": { "$ne": null } }))
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_connection_pages_with_keyset_cursors_and_filters() {
    let app = spawn_app().await.accepting_any_submission().await;
    let mut ids = Vec::new();
    for (i, owner) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let category = if i % 2 == 0 { "FAMILY_ASSOCIATE" } else { "MENTOR_POLICY" };
        ids.push(create(&app, owner, "INFANT", category).await.0);
    }
    let coordinator = app.token("cy", &[Role::Coordinator]);
    let page = "query($after: String, $filter: PortfolioFilter) { portfolios(first: 2, after: $after, filter: $filter) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app.graphql(Some(&coordinator), page, json!({ "after": after })).await;
        let connection = &body["data"]["portfolios"];
        assert_eq!(connection["totalCount"], 5, "{body}");
        seen.extend(
            connection["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each exactly once");

    let body = app
        .graphql(Some(&coordinator), page, json!({ "filter": { "category": ["MENTOR_POLICY"], "status": ["DRAFT"] } }))
        .await;
    assert_eq!(body["data"]["portfolios"]["totalCount"], 2);
    let body = app.graphql(Some(&coordinator), page, json!({ "filter": { "ownerId": "c" } })).await;
    assert_eq!(body["data"]["portfolios"]["totalCount"], 1);
    let body = app.graphql(Some(&coordinator), page, json!({ "after": "garbage" })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    let body = app.graphql(Some(&coordinator), "{ portfolios(first: 100000) { edges { cursor } } }", json!({})).await;
    assert!(body["errors"].is_null() || first_error_code(&body) == "QUERY_TOO_COMPLEX", "{body}");
}

#[tokio::test]
async fn licences_are_entries_like_any_other() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (id, token) = create(&app, "ada", "INFANT", "MENTAL_HEALTH_SPECIALIST").await;
    let query = "mutation($id: ID!, $v: Int!, $changes: PortfolioChanges!) {
      changePortfolio(id: $id, expectedVersion: $v, changes: $changes) { version licenses { id kind validFrom validUntil evidenceIds } }
    }";
    let licence = json!({ "license": { "kind": "LCSW", "validFrom": "2020-05-01", "validUntil": "2030-04-30" } });
    let body = app
        .graphql(Some(&token), query, json!({ "id": id, "v": 1, "changes": { "upsert": [{ "entry": licence }] } }))
        .await;
    let licenses = &body["data"]["changePortfolio"]["licenses"];
    assert_eq!(licenses[0]["kind"], "LCSW", "{body}");
    assert_eq!(licenses[0]["validUntil"], "2030-04-30");
    let entry = licenses[0]["id"].clone();

    let backwards = json!({ "license": { "kind": "LCSW", "validFrom": "2020-05-01", "validUntil": "2019-01-01" } });
    let body = app
        .graphql(Some(&token), query, json!({ "id": id, "v": 2, "changes": { "upsert": [{ "entry": backwards }] } }))
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "changes.upsert[0].entry.license.validUntil");

    let body = app.graphql(Some(&token), query, json!({ "id": id, "v": 2, "changes": { "remove": [entry] } })).await;
    assert_eq!(body["data"]["changePortfolio"]["licenses"], json!([]), "{body}");
    let read = app
        .graphql(Some(&token), "query($id: ID!) { portfolio(id: $id) { licenses { id } } }", json!({ "id": id }))
        .await;
    assert_eq!(read["data"]["portfolio"]["licenses"], json!([]), "{read}");
}
