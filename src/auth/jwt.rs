//! Bearer tokens: verification with one pinned algorithm, and minting of
//! development tokens (`endorse token`).

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Role, Viewer};
use crate::config::{Config, ConfigError, JwtAlgorithm};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    /// Signature, algorithm, issuer, audience or shape is wrong. One variant on
    /// purpose: telling an attacker which check failed helps them.
    #[error("the token is not valid")]
    Invalid,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    pub iss: String,
    pub aud: String,
}

/// Verifies tokens with exactly one algorithm and key.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let (algorithm, key) = match config.jwt.algorithm {
            JwtAlgorithm::HS256 => (Algorithm::HS256, DecodingKey::from_secret(config.jwt_secret().as_bytes())),
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => {
                let variable = "ENDORSE_JWT_PUBLIC_KEY_FILE";
                let path = config
                    .jwt
                    .public_key_file
                    .as_ref()
                    .ok_or_else(|| ConfigError { variable, problem: "must be set".into() })?;
                let pem = std::fs::read(path)
                    .map_err(|e| ConfigError { variable, problem: format!("cannot read {}: {e}", path.display()) })?;
                let parsed = if config.jwt.algorithm == JwtAlgorithm::RS256 {
                    DecodingKey::from_rsa_pem(&pem).map(|k| (Algorithm::RS256, k))
                } else {
                    DecodingKey::from_ec_pem(&pem).map(|k| (Algorithm::ES256, k))
                };
                parsed.map_err(|e| ConfigError {
                    variable,
                    problem: format!("{} is not a PEM public key for {:?}: {e}", path.display(), config.jwt.algorithm),
                })?
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.leeway = config.jwt.leeway_seconds;
        validation.set_issuer(&[&config.jwt.issuer]);
        validation.set_audience(&[&config.jwt.audience]);
        validation.required_spec_claims = HashSet::from(["exp", "iss", "aud", "sub"].map(String::from));
        Ok(TokenVerifier { key, validation })
    }

    /// Verifies an `Authorization` header value.
    pub fn verify_header(&self, header: &str) -> Result<Viewer, TokenError> {
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::Malformed)?;
        self.verify(token)
    }

    pub fn verify(&self, token: &str) -> Result<Viewer, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        let claims = data.claims;
        if claims.sub.is_empty() || claims.sub.len() > 256 {
            return Err(TokenError::Invalid);
        }
        let mut roles: Vec<Role> = claims.roles.iter().filter_map(|r| Role::parse(r)).collect();
        roles.sort();
        roles.dedup();
        Ok(Viewer { subject: claims.sub, roles })
    }
}

/// Mints an HS256 token with the configured secret, issuer and audience.
pub fn mint_dev_token(config: &Config, subject: &str, roles: &[Role], ttl_seconds: u64) -> Result<String, ConfigError> {
    if config.jwt.algorithm != JwtAlgorithm::HS256 {
        return Err(ConfigError {
            variable: "ENDORSE_JWT_ALGORITHM",
            problem: "tokens can only be minted with HS256; use your identity provider for RS256/ES256".into(),
        });
    }
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: subject.to_owned(),
        roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
        exp: now + ttl_seconds,
        iat: Some(now),
        iss: config.jwt.issuer.clone(),
        aud: config.jwt.audience.clone(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(config.jwt_secret().as_bytes()),
    )
    .map_err(|e| ConfigError { variable: "ENDORSE_JWT_SECRET", problem: format!("cannot sign: {e}") })
}
