//! Hostile documents and callers (issue: survive hostile input): fragment
//! bombs and deep or costly documents refused before any work, self-dealing
//! refused whatever the roles, private drafts, uploads bounded before their
//! bodies are read, rate limits.

use std::time::{Duration, Instant};

use endorse::auth::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, first_error_code, spawn_app, spawn_app_with};
use crate::portfolios::{SUBMIT, create};

const DECIDE: &str = "mutation($id: ID!, $v: Int!, $d: Decision!) {
  decidePortfolio(id: $id, expectedVersion: $v, decision: $d) { status version }
}";
const STATUS: &str = "query($id: ID!) { portfolio(id: $id) { status version } }";

/// fragment F0 { ...F1 ...F1 } ... : 2^levels fields once expanded, in
/// about 2 KB of text.
fn fragment_bomb(levels: usize) -> String {
    let mut query = String::from("query Bomb { ...F0 }\n");
    for level in 0..levels {
        let next = level + 1;
        query.push_str(&format!("fragment F{level} on Query {{ ...F{next} ...F{next} }}\n"));
    }
    query.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    query
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_bomb_is_refused_while_others_are_served() {
    let app = spawn_app().await.accepting_any_submission().await;
    let token = app.token("ann", &[Role::Applicant]);
    let bomb = fragment_bomb(30);
    assert!(bomb.len() < 2_500, "{}", bomb.len());

    // Others keep asking while the bombs go off.
    let neighbour = {
        let (client, url, token) = (app.client.clone(), app.url("/graphql"), token.clone());
        tokio::spawn(async move {
            let mut served = 0;
            let mut slowest = Duration::ZERO;
            for _ in 0..40 {
                let started = Instant::now();
                let body: Value = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "query": "{ me { subject } }" }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                slowest = slowest.max(started.elapsed());
                assert_eq!(body["data"]["me"]["subject"], "ann", "{body}");
                served += 1;
            }
            (served, slowest)
        })
    };
    let mut bombs = Vec::new();
    for _ in 0..8 {
        let (client, url, bomb) = (app.client.clone(), app.url("/graphql"), bomb.clone());
        bombs.push(tokio::spawn(async move {
            let started = Instant::now();
            let body: Value =
                client.post(&url).json(&json!({ "query": bomb })).send().await.unwrap().json().await.unwrap();
            (body, started.elapsed())
        }));
    }
    for bomb in bombs {
        let (body, took) =
            tokio::time::timeout(Duration::from_secs(20), bomb).await.expect("refused promptly").unwrap();
        assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
        assert!(body.get("data").is_none(), "nothing ran: {body}");
        assert!(took < Duration::from_secs(5), "the refusal took {took:?}");
    }
    let (served, slowest) = tokio::time::timeout(Duration::from_secs(30), neighbour).await.unwrap().unwrap();
    assert_eq!(served, 40);
    // Generous: before the cost check one bomb held the workers for minutes.
    assert!(slowest < Duration::from_secs(5), "a neighbour waited {slowest:?}");
}

#[tokio::test]
async fn deep_wide_and_costly_documents_are_query_too_complex() {
    let app = spawn_app().await.accepting_any_submission().await;
    let token = app.token("rae", &[Role::Reviewer]);
    // Nested 70 deep: refused by type (a limit), not reported as bad input.
    let deep = format!("{{ {}__typename{} }}", "me { ".repeat(70), " }".repeat(70));
    let body = app.graphql(Some(&token), &deep, json!({})).await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // 400 aliased evaluations of the requirement engine.
    let aliases: String =
        (0..400).map(|i| format!("p{i}: portfolio(id: \"{i:024x}\") {{ eligibility {{ met }} }} ")).collect();
    let body = app.graphql(Some(&token), &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // 250 of them stay under the selection cap but not under the cost cap.
    let aliases: String =
        (0..250).map(|i| format!("p{i}: portfolio(id: \"{i:024x}\") {{ eligibility {{ met }} }} ")).collect();
    let body = app.graphql(Some(&token), &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("cost"), "{body}");
    // A list's page size counts: a huge page of full portfolios is refused.
    let body = app
        .graphql(
            Some(&token),
            "{ portfolios(first: 100) { edges { node { recommendations { met requirements { key met } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // What a reviewer's screen asks for still passes.
    let body = app
        .graphql(
            Some(&token),
            "{ portfolios(first: 50) { edges { node { id status eligibility { met } } } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

/// A submitted portfolio of `owner`; returns its id (version 2).
async fn submitted(app: &TestApp, owner: &str) -> String {
    let (id, token) = create(app, owner, "INFANT", "FAMILY_ASSOCIATE").await;
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    id
}

#[tokio::test]
async fn nobody_decides_their_own_portfolio_whatever_their_roles() {
    let app = spawn_app().await.accepting_any_submission().await;
    let id = submitted(&app, "mia").await;
    let staff = app.token("cora", &[Role::Coordinator]);
    for roles in [vec![Role::Reviewer], vec![Role::Coordinator], vec![Role::Admin], vec![Role::Reviewer, Role::Admin]] {
        // The same subject, without the applicant role.
        let own = app.token("mia", &roles);
        for decision in ["START_REVIEW", "APPROVE", "RETURN"] {
            let body = app.graphql(Some(&own), DECIDE, json!({ "id": id, "v": 2, "d": decision })).await;
            assert_eq!(first_error_code(&body), "FORBIDDEN", "{roles:?} {decision}: {body}");
        }
        let body = app.graphql(Some(&staff), STATUS, json!({ "id": id })).await;
        assert_eq!(body["data"]["portfolio"], json!({ "status": "SUBMITTED", "version": 2 }), "{roles:?}: {body}");
    }
    // Someone else may.
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let body = app.graphql(Some(&reviewer), DECIDE, json!({ "id": id, "v": 2, "d": "APPROVE" })).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "APPROVED", "{body}");
}

#[tokio::test]
async fn a_draft_withdrawn_before_submission_stays_private() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (draft, _) = create(&app, "wes", "INFANT", "FAMILY_ASSOCIATE").await;
    let staff = app.token("cora", &[Role::Coordinator]);
    let body = app.graphql(Some(&staff), DECIDE, json!({ "id": draft, "v": 1, "d": "WITHDRAW" })).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "WITHDRAWN", "{body}");
    let withdrawn_after_submission = submitted(&app, "val").await;
    let body =
        app.graphql(Some(&staff), DECIDE, json!({ "id": withdrawn_after_submission, "v": 2, "d": "WITHDRAW" })).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "WITHDRAWN", "{body}");

    let reviewer = app.token("rae", &[Role::Reviewer]);
    let body = app.graphql(Some(&reviewer), STATUS, json!({ "id": draft })).await;
    assert!(body["data"]["portfolio"].is_null(), "the draft was never submitted: {body}");
    let body = app.graphql(Some(&reviewer), STATUS, json!({ "id": withdrawn_after_submission })).await;
    assert_eq!(body["data"]["portfolio"]["status"], "WITHDRAWN", "{body}");
    let body = app.graphql(Some(&reviewer), "{ portfolios { edges { node { id } } } }", json!({})).await;
    let listed: Vec<&str> = body["data"]["portfolios"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![withdrawn_after_submission.as_str()], "{body}");
}

/// Sends `head` and `body` on a raw connection and returns what the server
/// answered within `wait` (it may answer before the body is complete).
async fn raw_exchange(app: &TestApp, head: &str, body: &[u8], wait: Duration) -> String {
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = vec![0u8; 16 * 1024];
    let read = tokio::time::timeout(wait, stream.read(&mut answer)).await;
    match read {
        Ok(Ok(n)) => String::from_utf8_lossy(&answer[..n]).into_owned(),
        _ => String::new(),
    }
}

/// A GraphQL multipart request with the preflight header.
async fn post_multipart(app: &TestApp, token: &str, form: reqwest::multipart::Form) -> reqwest::Response {
    let request = app.client.post(app.url("/graphql")).bearer_auth(token).header("apollo-require-preflight", "true");
    request.multipart(form).send().await.unwrap()
}

fn multipart_head(token: Option<&str>, content_length: u64) -> String {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\n{auth}apollo-require-preflight: true\r\n\
         Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: {content_length}\r\n\r\n"
    )
}

fn part(name: &str, value: &str) -> String {
    format!("--XX\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
}

#[tokio::test]
async fn uploads_are_refused_before_their_bodies_are_read() {
    let app = spawn_app_with(&["--max-uploads-in-flight", "1"]).await.accepting_any_submission().await;
    let token = app.token("ann", &[Role::Applicant]);
    // Anonymous: 10 MB announced, 100 bytes sent; the answer comes at once.
    let answer = raw_exchange(&app, &multipart_head(None, 10_000_000), &[b'x'; 100], Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("UNAUTHENTICATED"), "{answer}");

    // `operations` larger than the JSON body limit (256 KB): not executed.
    let (portfolio, _) = create(&app, "ann", "INFANT", "FAMILY_ASSOCIATE").await;
    let padding = " ".repeat(5 * 1024 * 1024);
    let operations = format!(
        "{{\"query\":\"mutation($p: ID!) {{ submitPortfolio(id: $p, expectedVersion: 1) {{ status }} }}{padding}\",\"variables\":{{\"p\":\"{portfolio}\"}}}}"
    );
    let form = reqwest::multipart::Form::new()
        .text("operations", operations)
        .text("map", "{}")
        .part("0", reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("a.pdf"));
    let response = post_multipart(&app, &token, form).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE", "{body}");

    // A batch in `operations` is refused.
    let batch = r#"[{"query":"{ me { subject } }"},{"query":"{ me { subject } }"}]"#;
    let form = reqwest::multipart::Form::new().text("operations", batch).text("map", "{}");
    let response = post_multipart(&app, &token, form).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("Batched"), "{body}");

    // One upload in flight (its body still arriving) takes the only slot.
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let opening = part("operations", r#"{"query":"{ me { subject } }"}"#);
    slow.write_all(multipart_head(Some(&token), 1_000_000).as_bytes()).await.unwrap();
    slow.write_all(opening.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let form =
        reqwest::multipart::Form::new().text("operations", r#"{"query":"{ me { subject } }"}"#).text("map", "{}");
    let response = post_multipart(&app, &token, form).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
    // The portfolio is still there: nothing above executed.
    let body = app.graphql(Some(&token), STATUS, json!({ "id": portfolio })).await;
    assert_eq!(body["data"]["portfolio"]["status"], "DRAFT", "{body}");
    drop(slow);
}

#[tokio::test]
async fn callers_are_rate_limited_by_what_they_ask() {
    let app = spawn_app_with(&["--rate-limit-per-minute", "60", "--rate-limit-burst", "4"])
        .await
        .accepting_any_submission()
        .await;
    let ann = app.token("ann", &[Role::Applicant]);
    for _ in 0..4 {
        let body = app.graphql(Some(&ann), "{ me { subject } }", json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&ann)
        .json(&json!({ "query": "{ me { subject } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");

    // Another caller has their own allowance; one costly request spends it.
    let bob = app.token("bob", &[Role::Reviewer]);
    let costly = "{ portfolios(first: 50) { edges { node { eligibility { met } } } } }";
    let body = app.graphql(Some(&bob), costly, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app.graphql(Some(&bob), "{ me { subject } }", json!({})).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "a 25,000-cost request is worth 26 points: {body}");
    // Anonymous callers are counted by address.
    for _ in 0..4 {
        app.graphql(None, "{ __typename }", json!({})).await;
    }
    let body = app.graphql(None, "{ __typename }", json!({})).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
}
