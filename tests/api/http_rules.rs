//! HTTP behaviour outside the audit: GET mutations, CSRF-prone bodies,
//! request ids, probes, GraphiQL.

use serde_json::{Value, json};

use crate::helpers::{first_error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn mutations_over_get_are_refused_with_405() {
    let app = spawn_app().await;
    let response =
        app.client.get(app.url("/graphql")).query(&[("query", "mutation { __typename }")]).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "query A { __typename } mutation B { __typename }"), ("operationName", "B")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    // A document's only operation runs without being named: still a mutation.
    let response =
        app.client.get(app.url("/graphql")).query(&[("query", "mutation Only { __typename }")]).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn queries_over_get_work() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/graphql")).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn text_plain_and_form_posts_are_refused() {
    let app = spawn_app().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body(json!({ "query": "{ __typename }" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error_code(&body), "UNSUPPORTED_MEDIA_TYPE");
    }
}

#[tokio::test]
async fn batches_are_refused_and_nothing_runs() {
    let app = spawn_app().await;
    let batch: Vec<Value> = (0..100).map(|_| json!({ "query": "{ __typename }" })).collect();
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(Value::Array(batch).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("Batched"));
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let response = app.client.get(app.url("/healthz")).header("x-request-id", "bad id\twith tab").send().await.unwrap();
    let generated = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID replaces an unsafe id: {generated}");
}

#[tokio::test]
async fn probes_answer() {
    let app = spawn_app().await;
    let healthz = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    let readyz = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 200);
    let body: Value = readyz.json().await.unwrap();
    assert_eq!(body, json!({ "status": "ok", "mongodb": "ok", "s3": "ok" }));
}

#[tokio::test]
async fn graphiql_and_introspection_follow_the_switches() {
    let dev = spawn_app().await;
    let page = dev.client.get(dev.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("graphiql"));

    let prod = spawn_app_with(&["--graphiql", "false", "--introspection", "false"]).await;
    assert_eq!(prod.client.get(prod.url("/")).send().await.unwrap().status(), 404);
    let body = prod.graphql(None, "{ __schema { types { name } } }", json!({})).await;
    assert!(body["data"]["__schema"].is_null(), "introspection must be off: {body}");
    let body = prod.graphql(None, "{ __type(name: \"Query\") { fields { name } } }", json!({})).await;
    assert!(body["data"]["__type"].is_null(), "introspection must be off: {body}");
    let body = prod.graphql(None, "{ mee { subject } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "suggestions must be off: {message}");
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = spawn_app_with(&["--cors-origins", "https://app.example.org"]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization")
            .send()
    };
    let allowed = preflight("https://app.example.org").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.org");
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

/// Apollo's automatic persisted queries: a hash alone is unknown at first,
/// the text with its hash registers it, then the hash alone runs it (over
/// POST and GET); a text that does not match its hash is refused.
#[tokio::test]
async fn persisted_queries_run_by_hash_once_the_server_has_seen_the_text() {
    use sha2::Digest;
    let app = spawn_app().await;
    let query = "query Typename { __typename }";
    let hash = hex::encode(sha2::Sha256::digest(query.as_bytes()));
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = async |body: Value| -> (u16, Value) {
        let response = app.client.post(app.url("/graphql")).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    };

    let (status, body) = post(json!({ "extensions": persisted })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(first_error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");

    let (_, body) = post(json!({ "query": query, "extensions": persisted })).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let (_, body) = post(json!({ "extensions": persisted })).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let response =
        app.client.get(app.url("/graphql")).query(&[("extensions", persisted.to_string())]).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    let (status, body) = post(json!({ "query": "{ __typename }", "extensions": persisted })).await;
    assert_eq!((status, first_error_code(&body)), (200, "BAD_USER_INPUT"), "{body}");
    let (_, body) = post(json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "nothex" } } })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
}
