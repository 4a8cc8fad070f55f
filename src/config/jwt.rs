//! How bearer tokens are verified.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Secret;
use super::parse::{Redacted, at_least_or, jwt_secret, non_blank};

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

    /// HS256 shared secret, at least 32 bytes; required in production [default: a built-in secret in development, none in production].
    #[arg(
        long = "jwt-secret",
        env = "ENDORSE_JWT_SECRET",
        value_name = "ENDORSE_JWT_SECRET",
        value_parser = Redacted(jwt_secret),
        default_value = "",
        hide_default_value = true,
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

    /// RS256/ES256 JSON Web Key Set file: several keys, the token's `kid` picks one (key rotation); not together with ENDORSE_JWT_PUBLIC_KEY_FILE.
    #[arg(long = "jwt-jwks-file", env = "ENDORSE_JWT_JWKS_FILE", value_name = "ENDORSE_JWT_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// Required `iss` claim.
    #[arg(
        long = "jwt-issuer",
        env = "ENDORSE_JWT_ISSUER",
        value_name = "ENDORSE_JWT_ISSUER",
        value_parser = non_blank,
        default_value = "endorse"
    )]
    pub issuer: String,

    /// Required in the `aud` claim (a string, or one of an array).
    #[arg(
        long = "jwt-audience",
        env = "ENDORSE_JWT_AUDIENCE",
        value_name = "ENDORSE_JWT_AUDIENCE",
        value_parser = non_blank,
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
        value_name = "ENDORSE_JWT_MAX_LIFETIME_SECONDS",
        value_parser = at_least_or(1u64, "unset it for no cap")
    )]
    pub max_lifetime_seconds: Option<u64>,
}
