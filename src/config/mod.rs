//! Configuration: every setting is an `ENDORSE_*` environment variable and the
//! matching `--flag`. Value parsers (`parse.rs`) check each value as clap
//! reads it; [`Config::validate`] checks the combinations; [`env`] refuses
//! `ENDORSE_*` variables that name no setting. Either way a bad setting stops
//! start-up with one line naming the variable instead of failing later inside
//! a request. [`table`] renders the settings for the README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

mod credentials;
pub mod env;
mod evidence;
mod jwt;
mod limits;
pub mod mail;
pub mod parse;
mod stores;
pub mod table;
mod telemetry;
mod validate;

pub use credentials::CredentialConfig;
pub use evidence::{EvidenceConfig, ReportsConfig};
pub use jwt::{JwtAlgorithm, JwtConfig};
pub use limits::LimitsConfig;
pub use mail::MailConfig;
pub use stores::{MongoConfig, S3Config};
pub use telemetry::TelemetryConfig;
pub use validate::ConfigError;

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
    /// `development` turns on GraphiQL, introspection, the built-in JWT secret and bucket creation; `production` turns them off and needs real secrets.
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

    /// Origins allowed by CORS, comma-separated (`*` for any); empty allows none (same-origin only).
    #[arg(
        long,
        env = "ENDORSE_CORS_ORIGINS",
        value_name = "ENDORSE_CORS_ORIGINS",
        value_delimiter = ',',
        value_parser = parse::cors_origin,
        default_value = ""
    )]
    pub cors_origins: Vec<String>,

    /// Key the payment provider signs its webhook calls with (at least 32 bytes; the `whsec_...` of a Stripe-style endpoint). Unset, `/webhooks/payments/...` answers 404 [default: none].
    #[arg(
        long = "payment-webhook-secret",
        env = "ENDORSE_PAYMENT_WEBHOOK_SECRET",
        value_name = "ENDORSE_PAYMENT_WEBHOOK_SECRET",
        value_parser = parse::Redacted(parse::jwt_secret),
        default_value = "",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub payment_webhook_secret: Secret,

    #[command(flatten)]
    pub evidence: EvidenceConfig,

    #[command(flatten)]
    pub reports: ReportsConfig,

    #[command(flatten)]
    pub telemetry: TelemetryConfig,

    #[command(flatten)]
    pub mail: MailConfig,

    #[command(flatten)]
    pub credentials: CredentialConfig,

    /// The association of data written before associations existed, and of
    /// public queries that name none; created at start-up if missing.
    #[arg(
        long,
        env = "ENDORSE_DEFAULT_ASSOCIATION",
        value_name = "ENDORSE_DEFAULT_ASSOCIATION",
        default_value = "nys-aimh"
    )]
    pub default_association: crate::domain::association::AssociationCode,

    /// Rulebook file (JSON) of the default association; the file must name
    /// that association [default: its built-in rulebook].
    #[arg(long, env = "ENDORSE_RULEBOOK_FILE", value_name = "ENDORSE_RULEBOOK_FILE")]
    pub rulebook_file: Option<PathBuf>,

    /// Log format.
    #[arg(long, env = "ENDORSE_LOG_FORMAT", value_name = "ENDORSE_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter, in tracing `EnvFilter` syntax (`info,endorse=debug`, ...).
    #[arg(
        long,
        env = "ENDORSE_LOG",
        value_name = "ENDORSE_LOG",
        value_parser = parse::log_filter,
        default_value = "info"
    )]
    pub log: String,
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
    pub fn link_secret(&self) -> &str {
        if self.mail.link_secret.is_empty() && self.is_development() {
            mail::DEV_LINK_SECRET
        } else {
            self.mail.link_secret.expose()
        }
    }

    /// Where links in mail point: ENDORSE_PUBLIC_URL, else this listener.
    pub fn public_url(&self) -> String {
        match &self.mail.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The credential signing keys, from ENDORSE_CREDENTIAL_KEYS or its file.
    pub fn signing_keys(&self) -> Result<crate::signing::SigningKeys, ConfigError> {
        let problem = |variable, problem| ConfigError { variable, problem };
        let text = match &self.credentials.keys_file {
            Some(_) if !self.credentials.keys.is_empty() => {
                return Err(problem(
                    "ENDORSE_CREDENTIAL_KEYS_FILE",
                    "set ENDORSE_CREDENTIAL_KEYS or ENDORSE_CREDENTIAL_KEYS_FILE, not both".into(),
                ));
            }
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| problem("ENDORSE_CREDENTIAL_KEYS_FILE", format!("cannot read {}: {e}", path.display())))?,
            None => self.credentials.keys.expose().to_owned(),
        };
        let variable = if self.credentials.keys_file.is_some() {
            "ENDORSE_CREDENTIAL_KEYS_FILE"
        } else {
            "ENDORSE_CREDENTIAL_KEYS"
        };
        crate::signing::SigningKeys::parse(&text, self.is_development()).map_err(|e| problem(variable, e))
    }

    pub fn jwt_secret(&self) -> &str {
        if self.jwt.secret.is_empty() && self.is_development() { DEV_JWT_SECRET } else { self.jwt.secret.expose() }
    }
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

    fn try_parse(args: &[&str]) -> Result<Config, clap::Error> {
        let mut all = vec!["endorse"];
        all.extend_from_slice(args);
        Wrapper::try_parse_from(all).map(|wrapper| wrapper.config)
    }

    fn parse(args: &[&str]) -> Config {
        try_parse(args).expect("parses")
    }

    /// The first line of clap's error, as `main` prints it.
    fn parse_error(args: &[&str]) -> String {
        let error = try_parse(args).err().unwrap_or_else(|| panic!("{args:?} should not parse"));
        error.render().to_string().lines().next().unwrap_or_default().to_owned()
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
    fn short_secret_is_refused_without_showing_it() {
        let line = parse_error(&["--jwt-secret", "short-secret"]);
        assert!(line.contains("ENDORSE_JWT_SECRET") && line.contains("at least 32 bytes"), "{line}");
        assert!(!line.contains("short-secret"), "{line}");
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
    fn s3_credentials_come_in_pairs() {
        // An empty secret given on the command line, not one from the
        // environment `scripts/services.sh` exports.
        let half = parse(&["--env", "development", "--s3-access-key-id", "id", "--s3-secret-access-key="]);
        assert_eq!(half.validate().unwrap_err().variable, "ENDORSE_S3_SECRET_ACCESS_KEY");
        let pair = parse(&["--env", "development", "--s3-access-key-id", "id", "--s3-secret-access-key", "key"]);
        pair.validate().expect("valid");
    }

    #[test]
    fn a_zero_lifetime_cap_is_refused() {
        let line = parse_error(&["--env", "development", "--jwt-max-lifetime-seconds", "0"]);
        assert!(line.contains("ENDORSE_JWT_MAX_LIFETIME_SECONDS") && line.contains("at least 1"), "{line}");
        parse(&["--env", "development", "--jwt-max-lifetime-seconds", "3600"]).validate().expect("valid");
    }

    /// Every single-value check is clap's: the line names flag and variable.
    #[test]
    fn bad_single_values_are_refused_while_parsing() {
        let cases: &[(&[&str], &str, &str)] = &[
            (&["--s3-endpoint", "not a url"], "ENDORSE_S3_ENDPOINT", "http(s) URL"),
            (&["--s3-public-endpoint", "ftp://x"], "ENDORSE_S3_PUBLIC_ENDPOINT", "http(s) URL"),
            (&["--s3-bucket", "Bad_Bucket"], "ENDORSE_S3_BUCKET", "lowercase"),
            (&["--mongodb-database", "a.b"], "ENDORSE_MONGODB_DATABASE", "plain database name"),
            (&["--mongodb-max-pool-size", "0"], "ENDORSE_MONGODB_MAX_POOL_SIZE", "at least 1"),
            (&["--max-body-bytes", "10"], "ENDORSE_MAX_BODY_BYTES", "at least 1024"),
            (&["--max-query-depth", "2"], "ENDORSE_MAX_QUERY_DEPTH", "at least 3"),
            (&["--max-query-complexity", "9"], "ENDORSE_MAX_QUERY_COMPLEXITY", "at least 10"),
            (&["--stats-min-cell", "0"], "ENDORSE_STATS_MIN_CELL", "1 turns suppression off"),
            (&["--upload-url-ttl-seconds", "30"], "ENDORSE_UPLOAD_URL_TTL_SECONDS", "between 60 and 604800"),
            (&["--allowed-upload-types", "image/png,text/html"], "ENDORSE_ALLOWED_UPLOAD_TYPES", "not one of"),
            (&["--cors-origins", "https://ok.example,nope"], "ENDORSE_CORS_ORIGINS", "http(s) URL"),
            (&["--jwt-issuer", " "], "ENDORSE_JWT_ISSUER", "must not be empty"),
            (&["--log", "endorse=loud"], "ENDORSE_LOG", "not a valid log filter"),
            (&["--mongodb-uri", "postgres://u:pw@x"], "ENDORSE_MONGODB_URI", "mongodb://"),
            (&["--metrics-token", "short"], "ENDORSE_METRICS_TOKEN", "at least 16 bytes"),
            (&["--otlp-endpoint", "localhost:4318"], "ENDORSE_OTLP_ENDPOINT", "http(s) URL"),
            (&["--trace-sample-ratio", "1.5"], "ENDORSE_TRACE_SAMPLE_RATIO", "from 0 to 1"),
        ];
        for (args, variable, says) in cases {
            let line = parse_error(args);
            assert!(line.contains(variable) && line.contains(says), "{args:?}: {line}");
        }
        assert!(!parse_error(&["--mongodb-uri", "postgres://u:pw@x"]).contains("pw@"));
    }

    #[test]
    fn metrics_are_collected_only_when_something_serves_them() {
        assert!(!parse(&[]).telemetry.metrics_enabled());
        assert!(parse(&["--metrics-listen", "127.0.0.1:9464"]).telemetry.metrics_enabled());
        assert!(parse(&["--metrics-token", "0123456789abcdef"]).telemetry.metrics_enabled());
    }

    #[test]
    fn the_traces_path_is_appended_once() {
        let url = |endpoint: &str| parse(&["--otlp-endpoint", endpoint]).telemetry.traces_url();
        assert_eq!(url("http://collector:4318"), Some("http://collector:4318/v1/traces".into()));
        assert_eq!(url("http://collector:4318/"), Some("http://collector:4318/v1/traces".into()));
        assert_eq!(url("https://otel.example/v1/traces"), Some("https://otel.example/v1/traces".into()));
        assert_eq!(parse(&[]).telemetry.traces_url(), None);
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let config = parse(&["--env", "development", "--jwt-secret", "a-very-long-secret-value-that-must-not-leak"]);
        let shown = format!("{config:?}");
        assert!(!shown.contains("a-very-long-secret"));
        assert!(shown.contains("<redacted>"));
    }
}
