//! S22: a mutation sent with an `Idempotency-Key` takes effect once; the
//! same request again (also at the same moment) gets the first response
//! replayed; the same key with another request is a CONFLICT.

use endorse::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app};
use crate::portfolios::CREATE;

fn input(name: &str) -> Value {
    json!({ "input": { "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": name } } })
}

async fn send(app: &TestApp, token: &str, key: Option<&str>, variables: Value) -> (u16, Option<String>, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": CREATE, "variables": variables }));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, response.json().await.unwrap())
}

async fn portfolio_count(app: &TestApp, token: &str) -> usize {
    let body = app.graphql(Some(token), "{ portfolios(first: 100) { edges { node { id } } } }", json!({})).await;
    body["data"]["portfolios"]["edges"].as_array().unwrap_or_else(|| panic!("{body}")).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_twice_has_one_effect() {
    let app = spawn_app().await;
    let token = app.token("ida", &[Role::Applicant]);

    // Six at once with one key: one runs, five get its response.
    let sends = (0..6).map(|_| send(&app, &token, Some("create-ida-1"), input("Ida")));
    let answers = futures::future::join_all(sends).await;
    let first = &answers[0].2;
    let id = first["data"]["createPortfolio"]["id"].as_str().unwrap_or_else(|| panic!("{first}")).to_owned();
    for (status, _, body) in &answers {
        assert_eq!(*status, 200);
        assert_eq!(body, first, "every answer is the first one");
    }
    let replays = answers.iter().filter(|(_, replayed, _)| replayed.as_deref() == Some("true")).count();
    assert_eq!(replays, 5, "exactly one request ran");
    assert_eq!(portfolio_count(&app, &token).await, 1);

    // Later, the same again: replayed, nothing new.
    let (status, replayed, body) = send(&app, &token, Some("create-ida-1"), input("Ida")).await;
    assert_eq!((status, replayed.as_deref()), (200, Some("true")));
    assert_eq!(body["data"]["createPortfolio"]["id"], id.as_str());
    assert_eq!(portfolio_count(&app, &token).await, 1);

    // The same key with other input: refused, nothing written.
    let (status, _, body) = send(&app, &token, Some("create-ida-1"), input("Someone else")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(first_error_code(&body), "CONFLICT");
    assert_eq!(portfolio_count(&app, &token).await, 1);

    // Another key, or no key, is another request.
    let (_, replayed, body) = send(&app, &token, Some("create-ida-2"), input("Ida")).await;
    assert!(replayed.is_none());
    assert_ne!(body["data"]["createPortfolio"]["id"], id.as_str());
    send(&app, &token, None, input("Ida")).await;
    assert_eq!(portfolio_count(&app, &token).await, 3);

    // Keys belong to their caller: another subject's same key is theirs.
    let other = app.token("joe", &[Role::Applicant]);
    let (_, replayed, body) = send(&app, &other, Some("create-ida-1"), input("Ida")).await;
    assert!(replayed.is_none(), "{body}");
    assert_eq!(portfolio_count(&app, &other).await, 1);
}

#[tokio::test]
async fn malformed_keys_are_refused_and_queries_ignore_keys() {
    let app = spawn_app().await;
    let token = app.token("ida", &[Role::Applicant]);
    let (status, _, body) = send(&app, &token, Some(&"k".repeat(256)), input("Ida")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    assert_eq!(portfolio_count(&app, &token).await, 0);
    // A query with a key runs every time (nothing to protect).
    for _ in 0..2 {
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .header("idempotency-key", "q")
            .json(&json!({ "query": "{ me { subject } }" }))
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("idempotent-replayed").is_none());
    }
}
