//! S3-compatible object storage for evidence files. Two clients: one for the
//! server's own calls (in-cluster endpoint) and one that only presigns URLs
//! with the endpoint phones and browsers reach: a presigned URL signs the Host.

mod error;
pub mod keys;
pub mod objects;

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation, timeout::TimeoutConfig};

pub use error::BlobError;

use crate::config::S3Config;

#[derive(Clone)]
pub struct BlobStore {
    client: Client,
    presigner: Client,
    bucket: String,
}

impl BlobStore {
    pub fn new(config: &S3Config) -> Self {
        let mut server = client_config(config, &config.endpoint).to_builder();
        if crate::telemetry::observing() {
            server = server.interceptor(crate::telemetry::s3::Observer);
        }
        let client = Client::from_conf(server.build());
        let public = config.public_endpoint.as_deref().unwrap_or(&config.endpoint);
        // Presigning sends nothing, so there is nothing to observe.
        let presigner = Client::from_conf(client_config(config, public));
        BlobStore { client, presigner, bucket: config.bucket.clone() }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn presigner(&self) -> &Client {
        &self.presigner
    }

    /// Readiness: the bucket exists and answers.
    pub async fn check_bucket(&self) -> Result<(), BlobError> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map_err(BlobError::from_sdk)?;
        Ok(())
    }

    /// Creates the bucket if it is missing (development mode only: in
    /// production buckets are provisioned with their policies).
    pub async fn ensure_bucket(&self) -> Result<(), BlobError> {
        if self.check_bucket().await.is_ok() {
            return Ok(());
        }
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(error) => {
                let error = BlobError::from_sdk(error);
                // Another instance may have created it in between.
                if self.check_bucket().await.is_ok() { Ok(()) } else { Err(error) }
            }
        }
    }
}

fn client_config(config: &S3Config, endpoint: &str) -> aws_sdk_s3::Config {
    let timeout = Duration::from_millis(config.timeout_ms);
    let credentials = Credentials::new(
        config.access_key_id.expose(),
        config.secret_access_key.expose(),
        None,
        None,
        "endorse-config",
    );
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::v2026_01_12())
        .region(Region::new(config.region.clone()))
        .endpoint_url(endpoint)
        .force_path_style(config.force_path_style)
        .credentials_provider(credentials)
        // Self-hosted S3 servers differ in their support for the SDK's default
        // CRC32 trailers; we send SHA-256 checksums explicitly where we need them.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout)
                .operation_attempt_timeout(timeout)
                .operation_timeout(timeout * 3)
                .build(),
        )
        .build()
}
