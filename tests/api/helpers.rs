//! Test harness: every test gets its own server on a free port, its own
//! MongoDB database and its own S3 bucket, on the real services started by
//! `scripts/test.sh`.

use std::sync::Arc;

use clap::Parser;
use endorse::auth::Role;
use endorse::config::Config;
use endorse::startup::Application;
use serde_json::{Value, json};

/// The default association as the stores see it (New York's calendar).
pub fn nys_scope() -> endorse::store::TenantScope {
    endorse::store::TenantScope::new(
        &endorse::domain::association::AssociationCode::nys_aimh(),
        chrono_tz::America::New_York,
    )
}

/// Reads a setting exported by `scripts/services.sh`; a missing service is a
/// failure with instructions, never a skip.
pub fn service_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: these tests need real MongoDB and S3 servers. \
             Run the suite with `scripts/test.sh` (it installs and starts them), \
             or wrap cargo: `scripts/services.sh run -- cargo test`."
        ),
    }
}

#[derive(Parser)]
struct ConfigArgs {
    #[command(flatten)]
    config: Config,
}

/// A configuration for one test: development mode, port 0, a fresh
/// database and bucket, plus `extra` flags.
pub fn test_config(extra: &[&str]) -> Config {
    ConfigArgs::try_parse_from(test_args(extra)).expect("test configuration parses").config
}

/// [`test_config`] as command-line arguments (the first is the program
/// name), for a test that runs the binary itself.
pub fn test_args(extra: &[&str]) -> Vec<String> {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let database = format!("test_{}", &unique[..16]);
    let bucket = format!("test-{}", &unique[..16]);
    let mongo_uri = service_env("ENDORSE_MONGODB_URI");
    let s3_endpoint = service_env("ENDORSE_S3_ENDPOINT");
    let mut args: Vec<String> = [
        "endorse",
        "--env",
        "development",
        "--listen",
        "127.0.0.1:0",
        "--mongodb-uri",
        &mongo_uri,
        "--mongodb-database",
        &database,
        "--s3-endpoint",
        &s3_endpoint,
        "--s3-bucket",
        &bucket,
        "--log",
        "warn",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

pub struct TestApp {
    pub address: String,
    /// `http://host:port` of the metrics listener, when configured.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub config: Arc<Config>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    spawn_app_config(test_config(extra)).await
}

pub async fn spawn_app_config(config: Config) -> TestApp {
    let config = Arc::new(config);
    let app = Application::build((*config).clone()).await.expect("application starts against the test services");
    let address = format!("http://{}", app.address());
    let metrics_address = app.metrics_address().map(|bound| format!("http://{bound}"));
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp { address, metrics_address, client: reqwest::Client::new(), config }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A valid token for `subject` with `roles`.
    pub fn token(&self, subject: &str, roles: &[Role]) -> String {
        endorse::auth::jwt::mint_dev_token(&self.config, subject, roles, Some(&self.config.default_association), 3600)
            .expect("token")
    }

    /// Sets the default association to take any portfolio at submission,
    /// registered or not, complete or not (`updateAssociationSettings`),
    /// for tests of what happens after submission; `tests/api/fees.rs`
    /// tests the gates themselves under the defaults.
    pub async fn accepting_any_submission(self) -> Self {
        let admin = self.token("settings-admin", &[Role::Admin]);
        let body = self
            .graphql(
                Some(&admin),
                "mutation { updateAssociationSettings(input: { requireRegistration: false, allowIncompleteSubmissions: true }) { code } }",
                json!({}),
            )
            .await;
        assert!(body["errors"].is_null(), "settings not changed: {body}");
        self
    }

    /// POSTs a GraphQL request and returns the JSON body (any status).
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.graphql_response(token, query, variables).await.body
    }

    /// POSTs a GraphQL request and returns headers and JSON body.
    pub async fn graphql_response(&self, token: Option<&str>, query: &str, variables: Value) -> GraphqlResponse {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request reaches the server");
        let headers = response.headers().clone();
        let body = response.json().await.expect("JSON body");
        GraphqlResponse { headers, body }
    }
}

pub struct GraphqlResponse {
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl GraphqlResponse {
    /// Whether the request failed with SERVICE_UNAVAILABLE and says when to
    /// come back.
    pub fn is_unavailable_with_retry_after(&self) -> bool {
        self.body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            && self.headers.contains_key(reqwest::header::RETRY_AFTER)
    }
}

/// The `extensions.code` of the first error.
pub fn first_error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"))
}
