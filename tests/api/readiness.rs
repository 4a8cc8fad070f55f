//! MongoDB going away and coming back: /readyz turns red, GraphQL answers
//! SERVICE_UNAVAILABLE fast, and both recover without a restart.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use endorse::auth::Role;
use serde_json::json;

use crate::helpers::{first_error_code, service_env, spawn_app_config, test_config};

/// A private MongoDB-protocol server this test may stop and restart.
struct PrivateMongo {
    port: u16,
    child: Option<Child>,
}

impl PrivateMongo {
    fn start(port: u16) -> Self {
        let binary = service_env("ENDORSE_TEST_MONGOD_BIN");
        let child = Command::new(binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--storage-path",
                ":memory:",
                "--log-level",
                "ERROR",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the MongoDB-protocol server starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "private MongoDB did not come up on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        PrivateMongo { port, child: Some(child) }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateMongo {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_outage_is_reported_fast_and_recovers() {
    let port = free_port();
    let mut mongo = PrivateMongo::start(port);
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", mongo.port);
    let mut config = test_config(&["--mongodb-timeout-ms", "1500"]);
    config.mongodb.uri = uri.parse().unwrap();
    let app = spawn_app_config(config).await;
    let token = app.token("root", &[Role::Admin]);
    let query = "{ auditLog(first: 1) { action } }";

    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    let body = app.graphql(Some(&token), query, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");

    mongo.stop();
    let started = Instant::now();
    let readyz = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 503);
    let body: serde_json::Value = readyz.json().await.unwrap();
    assert_eq!(body["mongodb"], "unavailable");
    assert_eq!(body["s3"], "ok");
    assert!(started.elapsed() < Duration::from_secs(3), "readyz took {:?}", started.elapsed());

    let started = Instant::now();
    let body = app.graphql(Some(&token), query, json!({})).await;
    assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
    assert!(started.elapsed() < Duration::from_millis(500), "not fast: {:?}", started.elapsed());

    let _mongo = PrivateMongo::start(port);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = app.client.get(app.url("/readyz")).send().await.unwrap().status();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body = app.graphql(Some(&token), query, json!({})).await;
    assert!(body["errors"].is_null(), "GraphQL did not recover: {body}");
}
