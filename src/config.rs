//! Configuration: every setting is an `ENDORSE_*` environment variable and the
//! matching `--flag`. Parsing checks types; [`Config::validate`] checks the
//! combinations, so that a bad setting stops start-up with one line naming the
//! variable instead of failing later inside a request.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    /// Local work: GraphiQL and introspection on by default, the S3 bucket is
    /// created at start-up, a built-in JWT secret may be used.
    Development,
    /// Everything off unless asked for; secrets must be given.
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum JwtAlgorithm {
    /// Shared secret (development, or a trusted gateway that re-signs).
    HS256,
    /// RSA public key (PEM or JWKS).
    RS256,
    /// ECDSA P-256 public key (PEM or JWKS).
    ES256,
}

/// A secret that never appears in `Debug` output or logs.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "<unset>" } else { "<redacted>" })
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// The secret `endorse token` and the development server share when none is
/// configured. Refused in production.
pub const DEV_JWT_SECRET: &str = "endorse-development-secret-do-not-use-in-production";

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// development or production.
    #[arg(long = "env", env = "ENDORSE_ENV", value_name = "ENDORSE_ENV", default_value = "production")]
    pub environment: Environment,

    /// Address the HTTP server listens on (port 0 picks a free port).
    #[arg(long, env = "ENDORSE_LISTEN", value_name = "ENDORSE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub mongodb: MongoConfig,

    #[command(flatten)]
    pub s3: S3Config,

    #[command(flatten)]
    pub jwt: JwtConfig,

    #[command(flatten)]
    pub limits: LimitsConfig,

    /// Serve GraphiQL on `GET /` [default: on in development, off in production].
    #[arg(long, env = "ENDORSE_GRAPHIQL", value_name = "ENDORSE_GRAPHIQL")]
    pub graphiql: Option<bool>,

    /// Answer introspection queries [default: on in development, off in production].
    #[arg(long, env = "ENDORSE_INTROSPECTION", value_name = "ENDORSE_INTROSPECTION")]
    pub introspection: Option<bool>,

    /// Origins allowed by CORS, comma-separated; empty allows none (same-origin only).
    #[arg(
        long,
        env = "ENDORSE_CORS_ORIGINS",
        value_name = "ENDORSE_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,

    #[command(flatten)]
    pub evidence: EvidenceConfig,

    #[command(flatten)]
    pub reports: ReportsConfig,

    /// The association of data written before associations existed, and of
    /// public queries that name none; created at start-up if missing.
    #[arg(
        long,
        env = "ENDORSE_DEFAULT_ASSOCIATION",
        value_name = "ENDORSE_DEFAULT_ASSOCIATION",
        default_value = "nys-aimh"
    )]
    pub default_association: crate::domain::association::AssociationCode,

    /// Rulebook file (JSON) of the default association, instead of its
    /// built-in one; the file must name that association.
    #[arg(long, env = "ENDORSE_RULEBOOK_FILE", value_name = "ENDORSE_RULEBOOK_FILE")]
    pub rulebook_file: Option<PathBuf>,

    /// Log format: text or json.
    #[arg(long, env = "ENDORSE_LOG_FORMAT", value_name = "ENDORSE_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "ENDORSE_LOG", value_name = "ENDORSE_LOG", default_value = "info")]
    pub log: String,
}

#[derive(Debug, Clone, Args)]
pub struct MongoConfig {
    /// MongoDB connection string.
    #[arg(
        long = "mongodb-uri",
        env = "ENDORSE_MONGODB_URI",
        value_name = "ENDORSE_MONGODB_URI",
        default_value = "mongodb://127.0.0.1:27017/?directConnection=true",
        hide_env_values = true
    )]
    pub uri: Secret,

    /// Database name.
    #[arg(
        long = "mongodb-database",
        env = "ENDORSE_MONGODB_DATABASE",
        value_name = "ENDORSE_MONGODB_DATABASE",
        default_value = "endorse"
    )]
    pub database: String,

    /// Connection pool size per server.
    #[arg(
        long = "mongodb-max-pool-size",
        env = "ENDORSE_MONGODB_MAX_POOL_SIZE",
        value_name = "ENDORSE_MONGODB_MAX_POOL_SIZE",
        default_value_t = 64
    )]
    pub max_pool_size: u32,

    /// How long an operation waits for a reachable server before failing
    /// with SERVICE_UNAVAILABLE (the driver's 30 s default hangs requests).
    #[arg(
        id = "mongodb_timeout_ms",
        long = "mongodb-timeout-ms",
        env = "ENDORSE_MONGODB_TIMEOUT_MS",
        value_name = "ENDORSE_MONGODB_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct S3Config {
    /// S3 endpoint the server uses (empty: AWS for the region).
    #[arg(
        long = "s3-endpoint",
        env = "ENDORSE_S3_ENDPOINT",
        value_name = "ENDORSE_S3_ENDPOINT",
        default_value = "http://127.0.0.1:9000"
    )]
    pub endpoint: String,

    /// Endpoint written into presigned URLs, as phones and browsers reach it
    /// [default: ENDORSE_S3_ENDPOINT].
    #[arg(long = "s3-public-endpoint", env = "ENDORSE_S3_PUBLIC_ENDPOINT", value_name = "ENDORSE_S3_PUBLIC_ENDPOINT")]
    pub public_endpoint: Option<String>,

    /// Bucket for evidence files.
    #[arg(
        long = "s3-bucket",
        env = "ENDORSE_S3_BUCKET",
        value_name = "ENDORSE_S3_BUCKET",
        default_value = "endorse-evidence"
    )]
    pub bucket: String,

    #[arg(
        long = "s3-region",
        env = "ENDORSE_S3_REGION",
        value_name = "ENDORSE_S3_REGION",
        default_value = "us-east-1"
    )]
    pub region: String,

    #[arg(
        long = "s3-access-key-id",
        env = "ENDORSE_S3_ACCESS_KEY_ID",
        value_name = "ENDORSE_S3_ACCESS_KEY_ID",
        default_value = "",
        hide_env_values = true
    )]
    pub access_key_id: Secret,

    #[arg(
        long = "s3-secret-access-key",
        env = "ENDORSE_S3_SECRET_ACCESS_KEY",
        value_name = "ENDORSE_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub secret_access_key: Secret,

    /// Path-style URLs (`endpoint/bucket/key`), needed by most self-hosted servers.
    #[arg(long = "s3-force-path-style", env = "ENDORSE_S3_FORCE_PATH_STYLE", value_name = "ENDORSE_S3_FORCE_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub force_path_style: bool,

    /// Per-operation timeout for S3 calls.
    #[arg(
        id = "s3_timeout_ms",
        long = "s3-timeout-ms",
        env = "ENDORSE_S3_TIMEOUT_MS",
        value_name = "ENDORSE_S3_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct JwtConfig {
    /// Accepted signature algorithm (exactly one: no algorithm confusion).
    #[arg(
        long = "jwt-algorithm",
        env = "ENDORSE_JWT_ALGORITHM",
        value_name = "ENDORSE_JWT_ALGORITHM",
        default_value = "HS256"
    )]
    pub algorithm: JwtAlgorithm,

    /// HS256 shared secret, at least 32 bytes [development default: a built-in dev secret].
    #[arg(
        long = "jwt-secret",
        env = "ENDORSE_JWT_SECRET",
        value_name = "ENDORSE_JWT_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub secret: Secret,

    /// RS256/ES256 public key file (PEM): one key, tokens need no `kid`.
    #[arg(
        long = "jwt-public-key-file",
        env = "ENDORSE_JWT_PUBLIC_KEY_FILE",
        value_name = "ENDORSE_JWT_PUBLIC_KEY_FILE"
    )]
    pub public_key_file: Option<PathBuf>,

    /// RS256/ES256 JSON Web Key Set file: several keys, the token's `kid` picks one (key rotation).
    #[arg(long = "jwt-jwks-file", env = "ENDORSE_JWT_JWKS_FILE", value_name = "ENDORSE_JWT_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// Required `iss` claim.
    #[arg(
        long = "jwt-issuer",
        env = "ENDORSE_JWT_ISSUER",
        value_name = "ENDORSE_JWT_ISSUER",
        default_value = "endorse"
    )]
    pub issuer: String,

    /// Required `aud` claim.
    #[arg(
        long = "jwt-audience",
        env = "ENDORSE_JWT_AUDIENCE",
        value_name = "ENDORSE_JWT_AUDIENCE",
        default_value = "endorse-api"
    )]
    pub audience: String,

    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    #[arg(
        long = "jwt-leeway-seconds",
        env = "ENDORSE_JWT_LEEWAY_SECONDS",
        value_name = "ENDORSE_JWT_LEEWAY_SECONDS",
        default_value_t = 30
    )]
    pub leeway_seconds: u64,

    /// Longest token lifetime (`exp - iat`) accepted, in seconds; tokens must then carry `iat` [default: no cap].
    #[arg(
        long = "jwt-max-lifetime-seconds",
        env = "ENDORSE_JWT_MAX_LIFETIME_SECONDS",
        value_name = "ENDORSE_JWT_MAX_LIFETIME_SECONDS"
    )]
    pub max_lifetime_seconds: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct ReportsConfig {
    /// Smallest count `stats` publishes: smaller non-zero counts are suppressed (1 turns suppression off).
    #[arg(
        long = "stats-min-cell",
        env = "ENDORSE_STATS_MIN_CELL",
        value_name = "ENDORSE_STATS_MIN_CELL",
        default_value_t = 5
    )]
    pub stats_min_cell: u64,
}

#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Largest JSON request body, in bytes.
    #[arg(long = "max-body-bytes", env = "ENDORSE_MAX_BODY_BYTES", value_name = "ENDORSE_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// Time limit for one HTTP request, in milliseconds.
    #[arg(
        long = "request-timeout-ms",
        env = "ENDORSE_REQUEST_TIMEOUT_MS",
        value_name = "ENDORSE_REQUEST_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub request_timeout_ms: u64,

    /// Deepest field nesting a query may have (GraphiQL's introspection query needs 14).
    #[arg(
        long = "max-query-depth",
        env = "ENDORSE_MAX_QUERY_DEPTH",
        value_name = "ENDORSE_MAX_QUERY_DEPTH",
        default_value_t = 15
    )]
    pub max_query_depth: usize,

    /// Highest query cost: fields, lists weighted by their size, the requirement engine by the categories it evaluates.
    #[arg(
        long = "max-query-complexity",
        env = "ENDORSE_MAX_QUERY_COMPLEXITY",
        value_name = "ENDORSE_MAX_QUERY_COMPLEXITY",
        default_value_t = 100_000
    )]
    pub max_query_complexity: u64,

    /// Most fields a document may select once its fragments are expanded.
    #[arg(
        long = "max-query-selections",
        env = "ENDORSE_MAX_QUERY_SELECTIONS",
        value_name = "ENDORSE_MAX_QUERY_SELECTIONS",
        value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..),
        default_value_t = 1000
    )]
    pub max_query_selections: u64,

    /// Most entries one portfolio section may hold.
    #[arg(
        long = "max-section-entries",
        env = "ENDORSE_MAX_SECTION_ENTRIES",
        value_name = "ENDORSE_MAX_SECTION_ENTRIES",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
        default_value_t = 100
    )]
    pub max_section_entries: usize,

    /// Portfolios one applicant may hold (any status).
    #[arg(
        long = "max-portfolios-per-applicant",
        env = "ENDORSE_MAX_PORTFOLIOS_PER_APPLICANT",
        value_name = "ENDORSE_MAX_PORTFOLIOS_PER_APPLICANT",
        value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..),
        default_value_t = 10
    )]
    pub max_portfolios_per_applicant: u64,

    /// Largest GraphQL response body, in bytes; a larger answer is refused with PAYLOAD_TOO_LARGE.
    #[arg(
        long = "max-response-bytes",
        env = "ENDORSE_MAX_RESPONSE_BYTES",
        value_name = "ENDORSE_MAX_RESPONSE_BYTES",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..),
        default_value_t = 8 * 1024 * 1024
    )]
    pub max_response_bytes: usize,

    /// Rate limit per caller (subject, or client IP when anonymous), in points a minute: a request costs one point plus one per 1,000 of its query cost (0: no limit).
    #[arg(
        long = "rate-limit-per-minute",
        env = "ENDORSE_RATE_LIMIT_PER_MINUTE",
        value_name = "ENDORSE_RATE_LIMIT_PER_MINUTE",
        default_value_t = 1200
    )]
    pub rate_limit_per_minute: u32,

    /// Points a caller may spend at once before the per-minute rate applies.
    #[arg(
        long = "rate-limit-burst",
        env = "ENDORSE_RATE_LIMIT_BURST",
        value_name = "ENDORSE_RATE_LIMIT_BURST",
        default_value_t = 200
    )]
    pub rate_limit_burst: u32,

    /// Uploads (multipart requests) being received at once; more get RATE_LIMITED.
    #[arg(
        long = "max-uploads-in-flight",
        env = "ENDORSE_MAX_UPLOADS_IN_FLIGHT",
        value_name = "ENDORSE_MAX_UPLOADS_IN_FLIGHT",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
        default_value_t = 8
    )]
    pub max_uploads_in_flight: usize,

    /// A connection must send a request's headers within this many milliseconds.
    #[arg(
        long = "header-read-timeout-ms",
        env = "ENDORSE_HEADER_READ_TIMEOUT_MS",
        value_name = "ENDORSE_HEADER_READ_TIMEOUT_MS",
        value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..),
        default_value_t = 10_000
    )]
    pub header_read_timeout_ms: u64,

    /// An idle keep-alive connection is closed after this many milliseconds.
    #[arg(
        long = "keep-alive-timeout-ms",
        env = "ENDORSE_KEEP_ALIVE_TIMEOUT_MS",
        value_name = "ENDORSE_KEEP_ALIVE_TIMEOUT_MS",
        value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..),
        default_value_t = 60_000
    )]
    pub keep_alive_timeout_ms: u64,

    /// Open connections served at once; more are answered 503 and closed.
    #[arg(
        long = "max-connections",
        env = "ENDORSE_MAX_CONNECTIONS",
        value_name = "ENDORSE_MAX_CONNECTIONS",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
        default_value_t = 1024
    )]
    pub max_connections: usize,

    /// Largest page a connection returns (`first` is clamped to it).
    #[arg(
        long = "max-page-size",
        env = "ENDORSE_MAX_PAGE_SIZE",
        value_name = "ENDORSE_MAX_PAGE_SIZE",
        default_value_t = 100
    )]
    pub max_page_size: usize,
}

#[derive(Debug, Clone, Args)]
pub struct EvidenceConfig {
    /// Largest evidence file, in bytes (both upload flows).
    #[arg(long = "max-upload-bytes", env = "ENDORSE_MAX_UPLOAD_BYTES", value_name = "ENDORSE_MAX_UPLOAD_BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_upload_bytes: u64,

    /// File types accepted as evidence (sniffed from the bytes), comma-separated MIME types.
    #[arg(
        long = "allowed-upload-types",
        env = "ENDORSE_ALLOWED_UPLOAD_TYPES",
        value_name = "ENDORSE_ALLOWED_UPLOAD_TYPES",
        value_delimiter = ',',
        default_value = "application/pdf,image/jpeg,image/png,image/webp,image/heic"
    )]
    pub allowed_types: Vec<String>,

    /// Lifetime of a presigned upload URL (and of a PENDING_UPLOAD record), in seconds.
    #[arg(
        long = "upload-url-ttl-seconds",
        env = "ENDORSE_UPLOAD_URL_TTL_SECONDS",
        value_name = "ENDORSE_UPLOAD_URL_TTL_SECONDS",
        default_value_t = 900
    )]
    pub upload_url_ttl_seconds: u64,

    /// Longest lifetime a client may ask for a download URL, in seconds.
    #[arg(
        long = "max-download-url-ttl-seconds",
        env = "ENDORSE_MAX_DOWNLOAD_URL_TTL_SECONDS",
        value_name = "ENDORSE_MAX_DOWNLOAD_URL_TTL_SECONDS",
        default_value_t = 3600
    )]
    pub max_download_url_ttl_seconds: u64,

    /// Image previews made at the same time (each decodes in a blocking thread).
    #[arg(
        long = "image-concurrency",
        env = "ENDORSE_IMAGE_CONCURRENCY",
        value_name = "ENDORSE_IMAGE_CONCURRENCY",
        default_value_t = 2
    )]
    pub image_concurrency: usize,

    /// Run the evidence sweeper every this many seconds inside `serve` (0: only `endorse sweep`).
    #[arg(
        long = "sweep-interval-seconds",
        env = "ENDORSE_SWEEP_INTERVAL_SECONDS",
        value_name = "ENDORSE_SWEEP_INTERVAL_SECONDS",
        default_value_t = 0
    )]
    pub sweep_interval_seconds: u64,

    /// Objects without a record are removed only when older than this (uploads in flight are younger).
    #[arg(
        long = "sweep-grace-seconds",
        env = "ENDORSE_SWEEP_GRACE_SECONDS",
        value_name = "ENDORSE_SWEEP_GRACE_SECONDS",
        default_value_t = 3600
    )]
    pub sweep_grace_seconds: u64,
}

/// A configuration problem, reported as one line naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { variable, problem: problem.into() }
}

impl Config {
    pub fn is_development(&self) -> bool {
        self.environment == Environment::Development
    }

    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql.unwrap_or(self.is_development())
    }

    pub fn introspection_enabled(&self) -> bool {
        self.introspection.unwrap_or(self.is_development())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.request_timeout_ms)
    }

    /// The HS256 secret in force: the configured one, or in development the
    /// built-in one.
    pub fn jwt_secret(&self) -> &str {
        if self.jwt.secret.is_empty() && self.is_development() { DEV_JWT_SECRET } else { self.jwt.secret.expose() }
    }

    /// Checks the combinations clap cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.jwt.algorithm {
            JwtAlgorithm::HS256 => {
                let secret = self.jwt_secret();
                if secret.is_empty() {
                    return Err(problem("ENDORSE_JWT_SECRET", "must be set when ENDORSE_JWT_ALGORITHM is HS256"));
                }
                if secret.len() < 32 {
                    return Err(problem("ENDORSE_JWT_SECRET", "must be at least 32 bytes long"));
                }
                if !self.is_development() && secret == DEV_JWT_SECRET {
                    return Err(problem(
                        "ENDORSE_JWT_SECRET",
                        "the built-in development secret is refused in production",
                    ));
                }
                // A key file next to HS256 means the operator expects public-key
                // verification while the server would accept shared-secret tokens.
                if self.jwt.jwks_file.is_some() {
                    return Err(problem(
                        "ENDORSE_JWT_JWKS_FILE",
                        "cannot be used with HS256: a shared secret does not belong in a public key set",
                    ));
                }
                if self.jwt.public_key_file.is_some() {
                    return Err(problem(
                        "ENDORSE_JWT_PUBLIC_KEY_FILE",
                        "is only used with RS256 or ES256; set ENDORSE_JWT_ALGORITHM or remove it",
                    ));
                }
            }
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => match (&self.jwt.public_key_file, &self.jwt.jwks_file) {
                (Some(_), Some(_)) => {
                    return Err(problem(
                        "ENDORSE_JWT_JWKS_FILE",
                        "set either ENDORSE_JWT_PUBLIC_KEY_FILE or ENDORSE_JWT_JWKS_FILE, not both",
                    ));
                }
                (None, None) => {
                    return Err(problem(
                        "ENDORSE_JWT_PUBLIC_KEY_FILE",
                        "ENDORSE_JWT_PUBLIC_KEY_FILE or ENDORSE_JWT_JWKS_FILE must be set when ENDORSE_JWT_ALGORITHM is RS256 or ES256",
                    ));
                }
                _ => {}
            },
        }
        if self.jwt.max_lifetime_seconds == Some(0) {
            return Err(problem("ENDORSE_JWT_MAX_LIFETIME_SECONDS", "must be at least 1 (unset it for no cap)"));
        }
        if self.jwt.issuer.trim().is_empty() {
            return Err(problem("ENDORSE_JWT_ISSUER", "must not be empty"));
        }
        if self.jwt.audience.trim().is_empty() {
            return Err(problem("ENDORSE_JWT_AUDIENCE", "must not be empty"));
        }
        if !self.mongodb.uri.expose().starts_with("mongodb://")
            && !self.mongodb.uri.expose().starts_with("mongodb+srv://")
        {
            return Err(problem("ENDORSE_MONGODB_URI", "must start with mongodb:// or mongodb+srv://"));
        }
        if self.mongodb.database.is_empty() || self.mongodb.database.contains(['/', '\\', '.', ' ', '"', '$']) {
            return Err(problem("ENDORSE_MONGODB_DATABASE", "must be a plain database name"));
        }
        if self.mongodb.max_pool_size == 0 {
            return Err(problem("ENDORSE_MONGODB_MAX_POOL_SIZE", "must be at least 1"));
        }
        if self.mongodb.timeout_ms == 0 {
            return Err(problem("ENDORSE_MONGODB_TIMEOUT_MS", "must be at least 1"));
        }
        check_url("ENDORSE_S3_ENDPOINT", &self.s3.endpoint)?;
        if let Some(public) = &self.s3.public_endpoint {
            check_url("ENDORSE_S3_PUBLIC_ENDPOINT", public)?;
        }
        if !valid_bucket_name(&self.s3.bucket) {
            return Err(problem("ENDORSE_S3_BUCKET", "must be 3-63 lowercase letters, digits, dots or hyphens"));
        }
        if self.s3.access_key_id.is_empty() != self.s3.secret_access_key.is_empty() {
            return Err(problem(
                "ENDORSE_S3_SECRET_ACCESS_KEY",
                "ENDORSE_S3_ACCESS_KEY_ID and ENDORSE_S3_SECRET_ACCESS_KEY must be set together",
            ));
        }
        if self.s3.timeout_ms == 0 {
            return Err(problem("ENDORSE_S3_TIMEOUT_MS", "must be at least 1"));
        }
        if self.limits.max_body_bytes < 1024 {
            return Err(problem("ENDORSE_MAX_BODY_BYTES", "must be at least 1024"));
        }
        if self.limits.request_timeout_ms == 0 {
            return Err(problem("ENDORSE_REQUEST_TIMEOUT_MS", "must be at least 1"));
        }
        if self.limits.max_query_depth < 3 {
            return Err(problem("ENDORSE_MAX_QUERY_DEPTH", "must be at least 3"));
        }
        if self.limits.max_query_complexity < 10 {
            return Err(problem("ENDORSE_MAX_QUERY_COMPLEXITY", "must be at least 10"));
        }
        if self.reports.stats_min_cell == 0 {
            return Err(problem("ENDORSE_STATS_MIN_CELL", "must be at least 1 (1 turns suppression off)"));
        }
        if self.limits.max_page_size == 0 {
            return Err(problem("ENDORSE_MAX_PAGE_SIZE", "must be at least 1"));
        }
        if self.evidence.max_upload_bytes == 0 {
            return Err(problem("ENDORSE_MAX_UPLOAD_BYTES", "must be at least 1"));
        }
        const KNOWN_TYPES: [&str; 5] = ["application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic"];
        if let Some(unknown) = self.evidence.allowed_types.iter().find(|t| !KNOWN_TYPES.contains(&t.as_str())) {
            return Err(problem(
                "ENDORSE_ALLOWED_UPLOAD_TYPES",
                format!("`{unknown}` is not one of {}", KNOWN_TYPES.join(", ")),
            ));
        }
        if !(60..=7 * 24 * 3600).contains(&self.evidence.upload_url_ttl_seconds) {
            return Err(problem("ENDORSE_UPLOAD_URL_TTL_SECONDS", "must be between 60 and 604800"));
        }
        if !(1..=7 * 24 * 3600).contains(&self.evidence.max_download_url_ttl_seconds) {
            return Err(problem("ENDORSE_MAX_DOWNLOAD_URL_TTL_SECONDS", "must be between 1 and 604800"));
        }
        if self.evidence.image_concurrency == 0 {
            return Err(problem("ENDORSE_IMAGE_CONCURRENCY", "must be at least 1"));
        }
        for origin in self.cors_origins.iter().filter(|o| !o.is_empty()) {
            if origin != "*" {
                check_url("ENDORSE_CORS_ORIGINS", origin)?;
            }
            http::HeaderValue::from_str(origin)
                .map_err(|_| problem("ENDORSE_CORS_ORIGINS", format!("`{origin}` is not a valid origin")))?;
        }
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .map_err(|e| problem("ENDORSE_LOG", format!("not a valid filter: {e}")))?;
        Ok(())
    }
}

fn check_url(variable: &'static str, value: &str) -> Result<(), ConfigError> {
    let ok = (value.starts_with("http://") || value.starts_with("https://"))
        && value.parse::<http::Uri>().is_ok_and(|uri| uri.host().is_some());
    if ok { Ok(()) } else { Err(problem(variable, format!("`{value}` is not an http(s) URL"))) }
}

fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        config: Config,
    }

    fn parse(args: &[&str]) -> Config {
        let mut all = vec!["endorse"];
        all.extend_from_slice(args);
        Wrapper::try_parse_from(all).expect("parses").config
    }

    #[test]
    fn development_defaults_are_valid_and_open_tools() {
        let config = parse(&["--env", "development"]);
        config.validate().expect("valid");
        assert!(config.graphiql_enabled());
        assert!(config.introspection_enabled());
        assert_eq!(config.jwt_secret(), DEV_JWT_SECRET);
    }

    #[test]
    fn production_requires_a_secret_and_closes_tools() {
        let config = parse(&[]);
        let err = config.validate().unwrap_err();
        assert_eq!(err.variable, "ENDORSE_JWT_SECRET");
        assert!(!config.graphiql_enabled());
        assert!(!config.introspection_enabled());
        let dev_secret = parse(&["--jwt-secret", DEV_JWT_SECRET]);
        assert_eq!(dev_secret.validate().unwrap_err().variable, "ENDORSE_JWT_SECRET");
    }

    #[test]
    fn short_secret_is_refused() {
        let config = parse(&["--jwt-secret", "short"]);
        assert_eq!(config.validate().unwrap_err().variable, "ENDORSE_JWT_SECRET");
    }

    #[test]
    fn asymmetric_algorithms_need_a_key_file() {
        let config = parse(&["--jwt-algorithm", "RS256"]);
        assert_eq!(config.validate().unwrap_err().variable, "ENDORSE_JWT_PUBLIC_KEY_FILE");
    }

    #[test]
    fn key_files_must_fit_the_algorithm() {
        let both = parse(&["--jwt-algorithm", "RS256", "--jwt-public-key-file", "k.pem", "--jwt-jwks-file", "k.json"]);
        assert_eq!(both.validate().unwrap_err().variable, "ENDORSE_JWT_JWKS_FILE");
        let jwks_only = parse(&["--env", "development", "--jwt-algorithm", "ES256", "--jwt-jwks-file", "k.json"]);
        jwks_only.validate().expect("a key set alone is enough");
        let hs_with_jwks = parse(&["--env", "development", "--jwt-jwks-file", "k.json"]);
        assert_eq!(hs_with_jwks.validate().unwrap_err().variable, "ENDORSE_JWT_JWKS_FILE");
        let hs_with_pem = parse(&["--env", "development", "--jwt-public-key-file", "k.pem"]);
        assert_eq!(hs_with_pem.validate().unwrap_err().variable, "ENDORSE_JWT_PUBLIC_KEY_FILE");
    }

    #[test]
    fn a_zero_lifetime_cap_is_refused() {
        let config = parse(&["--env", "development", "--jwt-max-lifetime-seconds", "0"]);
        assert_eq!(config.validate().unwrap_err().variable, "ENDORSE_JWT_MAX_LIFETIME_SECONDS");
        parse(&["--env", "development", "--jwt-max-lifetime-seconds", "3600"]).validate().expect("valid");
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(valid_bucket_name("endorse-evidence"));
        assert!(!valid_bucket_name("Endorse"));
        assert!(!valid_bucket_name("ab"));
        assert!(!valid_bucket_name("-abc"));
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let config = parse(&["--env", "development", "--jwt-secret", "a-very-long-secret-value-that-must-not-leak"]);
        let shown = format!("{config:?}");
        assert!(!shown.contains("a-very-long-secret"));
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn bad_endpoint_names_the_variable() {
        let config = parse(&["--env", "development", "--s3-endpoint", "not a url"]);
        assert_eq!(config.validate().unwrap_err().variable, "ENDORSE_S3_ENDPOINT");
    }
}
