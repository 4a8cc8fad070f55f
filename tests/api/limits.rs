//! Query limits: depth, complexity (aliases), document size, body size.

use serde_json::{Value, json};

use crate::helpers::{first_error_code, spawn_app};

#[tokio::test]
async fn deep_queries_are_rejected_before_running() {
    let app = spawn_app().await;
    // __type -> ofType nesting is the deepest shape the schema allows.
    let mut query = String::from("{ __type(name: \"Query\") { name ");
    for _ in 0..30 {
        query.push_str("ofType { name ");
    }
    for _ in 0..31 {
        query.push('}');
    }
    query.push('}');
    let body = app.graphql(None, &query, json!({})).await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(body.get("data").is_none());
}

#[tokio::test]
async fn thousands_of_aliases_are_too_complex() {
    let app = spawn_app().await;
    let token = app.token("admin", &[endorse::auth::Role::Admin]);
    let aliases: String = (0..1000).map(|i| format!("a{i}: auditLog(first: 50) {{ action }} ")).collect();
    let body = app.graphql(Some(&token), &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
}

#[tokio::test]
async fn oversized_bodies_get_413_without_buffering_everything() {
    let app = spawn_app().await;
    let big = format!("{{ __typename }} #{}", "x".repeat(1024 * 1024));
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": big }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn many_directives_are_rejected() {
    let app = spawn_app().await;
    let directives = "@include(if: true) ".repeat(5000);
    let body = app.graphql(None, &format!("{{ __typename {directives} }}"), json!({})).await;
    assert!(body["errors"].is_array(), "{body}");
    assert!(body.get("data").is_none() || body["data"].is_null(), "{body}");
}

/// A slow-loris client (headers sent, body trickling) is cut off by the
/// timeout instead of holding a connection and a handler forever.
#[tokio::test]
async fn slow_clients_are_timed_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::helpers::spawn_app_with(&["--request-timeout-ms", "500"]).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let started = std::time::Instant::now();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\":")
        .await
        .unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the server never answered the slow client");
    let head = String::from_utf8_lossy(&response);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
}

/// A document that passed validation is not validated again on later
/// requests (`graphql::validated`), but bad variables are refused exactly
/// as the first time, and so are documents that never passed.
#[tokio::test]
async fn a_document_seen_before_refuses_bad_variables_as_the_first_time() {
    let app = spawn_app().await;
    let token = app.token("ada", &[endorse::auth::Role::Applicant]);
    let query = "query($first: Int, $status: [PortfolioStatus!]) { portfolios(first: $first, filter: { status: $status }) { totalCount } }";
    let bad_values =
        [json!({ "first": "ten" }), json!({ "first": 5, "status": ["NOT_A_STATUS"] }), json!({ "first": 1.5 })];
    let mut first_answers = Vec::new();
    for variables in &bad_values {
        first_answers.push(app.graphql(Some(&token), query, variables.clone()).await);
    }
    for (variables, answer) in bad_values.iter().zip(&first_answers) {
        assert_ne!(answer["errors"], Value::Null, "{variables}: {answer}");
    }
    let good = app.graphql(Some(&token), query, json!({ "first": 5, "status": ["DRAFT"] })).await;
    assert_eq!(good["data"]["portfolios"]["totalCount"], 0, "{good}");
    let again = app.graphql(Some(&token), query, json!({ "first": 7 })).await;
    assert_eq!(again["data"]["portfolios"]["totalCount"], 0, "validated once, runs again: {again}");
    for (variables, answer) in bad_values.iter().zip(&first_answers) {
        let later = app.graphql(Some(&token), query, variables.clone()).await;
        assert_eq!(&later, answer, "{variables}");
    }
    let unknown_field = "query($first: Int) { portfolios(first: $first) { nope } }";
    for _ in 0..2 {
        let body = app.graphql(Some(&token), unknown_field, json!({ "first": 1 })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    }
}
