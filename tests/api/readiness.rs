//! S20, MongoDB going away and coming back: /readyz turns red, GraphQL answers
//! SERVICE_UNAVAILABLE (with Retry-After) fast, and both recover without a
//! restart of Endorse.

use std::time::{Duration, Instant};

use endorse::auth::Role;
use serde_json::json;

use crate::helpers::{TestApp, first_error_code, spawn_app_config, test_config};
use crate::private_mongo::PrivateMongo;

const QUERY: &str = "{ auditLog(first: 1) { action } }";

async fn app_on(mongo: &PrivateMongo, extra: &[&str]) -> TestApp {
    let mut config = test_config(extra);
    config.mongodb.uri = mongo.uri().parse().unwrap();
    spawn_app_config(config).await
}

async fn readyz_status(app: &TestApp) -> u16 {
    app.client.get(app.url("/readyz")).send().await.unwrap().status().as_u16()
}

/// Polls until GraphQL answers without errors again.
async fn wait_for_recovery(app: &TestApp, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = app.graphql(Some(token), QUERY, json!({})).await;
        if body["errors"].is_null() {
            return;
        }
        assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
        assert!(Instant::now() < deadline, "GraphQL did not recover: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_outage_is_reported_fast_and_recovers() {
    let mut mongo = PrivateMongo::in_memory();
    let app = app_on(&mongo, &["--mongodb-timeout-ms", "1500"]).await;
    let token = app.token("root", &[Role::Admin]);

    assert_eq!(readyz_status(&app).await, 200);
    let body = app.graphql(Some(&token), QUERY, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");

    mongo.kill();
    // /readyz reports the health monitor's last result: it turns red as soon
    // as the driver or a probe notices, without a round trip of its own.
    let started = Instant::now();
    loop {
        let readyz = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert!(readyz.status() == 200 || readyz.status() == 503, "{}", readyz.status());
        if readyz.status() == 503 {
            let body: serde_json::Value = readyz.json().await.unwrap();
            assert_eq!(body["mongodb"], "unavailable");
            assert_eq!(body["s3"], "ok");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "/readyz still green after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    let response = app.graphql_response(Some(&token), QUERY, json!({})).await;
    assert!(response.is_unavailable_with_retry_after(), "{}", response.body);
    assert!(started.elapsed() < Duration::from_millis(500), "not fast: {:?}", started.elapsed());

    mongo.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    while readyz_status(&app).await != 200 {
        assert!(Instant::now() < deadline, "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body = app.graphql(Some(&token), QUERY, json!({})).await;
    assert!(body["errors"].is_null(), "GraphQL did not recover: {body}");
}

/// The breaker: once one operation has failed, the following ones do not each
/// wait for the server-selection timeout (the default 5 s here), and it closes
/// by itself when MongoDB is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_first_failure_requests_fail_fast_until_mongodb_is_back() {
    let mut mongo = PrivateMongo::on_disk();
    let app = app_on(&mongo, &[]).await;
    let selection_timeout = Duration::from_millis(app.config.mongodb.timeout_ms);
    assert!(selection_timeout >= Duration::from_secs(5), "the default timeout is the point of this test");
    let admin = app.token("root", &[Role::Admin]);
    let applicant = app.token("ada", &[Role::Applicant]);
    let create = "mutation($input: CreatePortfolioInput!) { createPortfolio(input: $input) { id } }";
    let input =
        json!({ "input": { "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": "Ada" } } });
    let body = app.graphql(Some(&admin), QUERY, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");

    mongo.kill();
    // The first failure may take up to the selection timeout (an operation
    // already waiting for a server), plus the driver's one retry.
    let started = Instant::now();
    let first = app.graphql_response(Some(&admin), QUERY, json!({})).await;
    assert!(first.is_unavailable_with_retry_after(), "{}", first.body);
    assert!(started.elapsed() < selection_timeout * 3, "first failure took {:?}", started.elapsed());

    // From then on, reads and writes fail at once, one by one and all at once.
    for round in 0..10 {
        let started = Instant::now();
        let response = if round % 2 == 0 {
            app.graphql_response(Some(&admin), QUERY, json!({})).await
        } else {
            app.graphql_response(Some(&applicant), create, input.clone()).await
        };
        assert!(response.is_unavailable_with_retry_after(), "{}", response.body);
        let elapsed = started.elapsed();
        assert!(elapsed < selection_timeout / 5, "request {round} took {elapsed:?}");
    }
    let started = Instant::now();
    let burst = futures::future::join_all((0..20).map(|_| app.graphql_response(Some(&admin), QUERY, json!({})))).await;
    assert!(burst.iter().all(|r| r.is_unavailable_with_retry_after()));
    assert!(started.elapsed() < selection_timeout / 2, "20 concurrent requests took {:?}", started.elapsed());

    // Back on the same port and data: Endorse recovers by itself.
    mongo.start();
    wait_for_recovery(&app, &admin).await;
    let body = app.graphql(Some(&applicant), create, input).await;
    assert!(body["errors"].is_null(), "writes did not recover: {body}");
    assert_eq!(readyz_status(&app).await, 200);
}

/// S25: a request stuck on a database that stopped answering is cut off by
/// the request time limit (SERVICE_UNAVAILABLE with Retry-After), and the
/// server serves normally again once the database does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_request_is_stopped_by_the_time_limit_and_resources_come_back() {
    let mongo = PrivateMongo::in_memory();
    // Selection waits up to 20 s: only the 1 s time limit (or the breaker,
    // if the monitor notices first) can answer within the bound below.
    let app = app_on(&mongo, &["--request-timeout-ms", "1000", "--mongodb-timeout-ms", "20000"]).await;
    let token = app.token("root", &[Role::Admin]);
    let body = app.graphql(Some(&token), QUERY, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");

    mongo.pause();
    let started = Instant::now();
    let stuck = futures::future::join_all((0..5).map(|_| app.graphql_response(Some(&token), QUERY, json!({})))).await;
    let elapsed = started.elapsed();
    mongo.resume();
    for response in &stuck {
        assert!(response.is_unavailable_with_retry_after(), "{}", response.body);
    }
    assert!(elapsed < Duration::from_secs(8), "nothing stopped the stuck requests: {elapsed:?}");
    // Nothing is held: the same requests succeed once the database answers.
    wait_for_recovery(&app, &token).await;
    let again = futures::future::join_all((0..5).map(|_| app.graphql(Some(&token), QUERY, json!({})))).await;
    assert!(again.iter().all(|body| body["errors"].is_null()), "{again:?}");
}
