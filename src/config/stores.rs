//! Where the data lives: MongoDB for records, S3 for evidence files.

use clap::Args;

use super::Secret;
use super::parse::{Redacted, at_least, bucket_name, database_name, http_url, mongodb_uri, non_blank};

#[derive(Debug, Clone, Args)]
pub struct MongoConfig {
    /// MongoDB connection string (`mongodb://` or `mongodb+srv://`).
    #[arg(
        long = "mongodb-uri",
        env = "ENDORSE_MONGODB_URI",
        value_name = "ENDORSE_MONGODB_URI",
        value_parser = Redacted(mongodb_uri),
        default_value = "mongodb://127.0.0.1:27017/?directConnection=true",
        hide_env_values = true
    )]
    pub uri: Secret,

    /// Database name.
    #[arg(
        long = "mongodb-database",
        env = "ENDORSE_MONGODB_DATABASE",
        value_name = "ENDORSE_MONGODB_DATABASE",
        value_parser = database_name,
        default_value = "endorse"
    )]
    pub database: String,

    /// Connections per database server: how many operations it has in
    /// flight at once. Size it to what the server runs in parallel; beyond
    /// that, requests queue inside the database instead of here
    /// (`scripts/services.sh` sets 2 for the single-threaded Python server).
    #[arg(
        long = "mongodb-max-pool-size",
        env = "ENDORSE_MONGODB_MAX_POOL_SIZE",
        value_name = "ENDORSE_MONGODB_MAX_POOL_SIZE",
        value_parser = at_least(1u32),
        default_value_t = 64
    )]
    pub max_pool_size: u32,

    /// How long an operation waits for a reachable server before failing
    /// with SERVICE_UNAVAILABLE, in milliseconds (the driver's 30 s default
    /// hangs requests).
    #[arg(
        id = "mongodb_timeout_ms",
        long = "mongodb-timeout-ms",
        env = "ENDORSE_MONGODB_TIMEOUT_MS",
        value_name = "ENDORSE_MONGODB_TIMEOUT_MS",
        value_parser = at_least(1u64),
        default_value_t = 5000
    )]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct S3Config {
    /// S3 endpoint the server uses (an http(s) URL).
    #[arg(
        long = "s3-endpoint",
        env = "ENDORSE_S3_ENDPOINT",
        value_name = "ENDORSE_S3_ENDPOINT",
        value_parser = http_url,
        default_value = "http://127.0.0.1:9000"
    )]
    pub endpoint: String,

    /// Endpoint written into presigned URLs, as phones and browsers reach it
    /// [default: ENDORSE_S3_ENDPOINT].
    #[arg(
        long = "s3-public-endpoint",
        env = "ENDORSE_S3_PUBLIC_ENDPOINT",
        value_name = "ENDORSE_S3_PUBLIC_ENDPOINT",
        value_parser = http_url
    )]
    pub public_endpoint: Option<String>,

    /// Bucket for evidence files (created at start-up in development).
    #[arg(
        long = "s3-bucket",
        env = "ENDORSE_S3_BUCKET",
        value_name = "ENDORSE_S3_BUCKET",
        value_parser = bucket_name,
        default_value = "endorse-evidence"
    )]
    pub bucket: String,

    /// Region the requests are signed for.
    #[arg(
        long = "s3-region",
        env = "ENDORSE_S3_REGION",
        value_name = "ENDORSE_S3_REGION",
        value_parser = non_blank,
        default_value = "us-east-1"
    )]
    pub region: String,

    /// Access key id; set together with ENDORSE_S3_SECRET_ACCESS_KEY.
    #[arg(
        long = "s3-access-key-id",
        env = "ENDORSE_S3_ACCESS_KEY_ID",
        value_name = "ENDORSE_S3_ACCESS_KEY_ID",
        default_value = "",
        hide_env_values = true
    )]
    pub access_key_id: Secret,

    /// Secret access key; set together with ENDORSE_S3_ACCESS_KEY_ID.
    #[arg(
        long = "s3-secret-access-key",
        env = "ENDORSE_S3_SECRET_ACCESS_KEY",
        value_name = "ENDORSE_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub secret_access_key: Secret,

    /// Path-style URLs (`endpoint/bucket/key`), needed by most self-hosted servers.
    #[arg(
        long = "s3-force-path-style",
        env = "ENDORSE_S3_FORCE_PATH_STYLE",
        value_name = "ENDORSE_S3_FORCE_PATH_STYLE",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub force_path_style: bool,

    /// Timeout for connecting and for each attempt of an S3 call, in
    /// milliseconds (a whole call gets three times this).
    #[arg(
        id = "s3_timeout_ms",
        long = "s3-timeout-ms",
        env = "ENDORSE_S3_TIMEOUT_MS",
        value_name = "ENDORSE_S3_TIMEOUT_MS",
        value_parser = at_least(1u64),
        default_value_t = 5000
    )]
    pub timeout_ms: u64,
}
