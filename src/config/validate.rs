//! The checks that need more than one setting. A check about a single value
//! belongs in a value parser (`parse.rs`) instead, where clap reports it.

use super::{Config, DEV_JWT_SECRET, JwtAlgorithm};

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
    /// Checks the combinations clap cannot: the key material must fit the one
    /// accepted algorithm and the environment, and credentials come in pairs.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_jwt()?;
        if self.link_secret().is_empty() {
            return Err(problem(
                "ENDORSE_LINK_SECRET",
                "must be set (32 bytes or more, e.g. `openssl rand -hex 32`): reference links are derived from it",
            ));
        }
        if !self.is_development() && self.link_secret() == super::mail::DEV_LINK_SECRET {
            return Err(problem("ENDORSE_LINK_SECRET", "the built-in development key is refused in production"));
        }
        if self.s3.access_key_id.is_empty() != self.s3.secret_access_key.is_empty() {
            return Err(problem(
                "ENDORSE_S3_SECRET_ACCESS_KEY",
                "ENDORSE_S3_ACCESS_KEY_ID and ENDORSE_S3_SECRET_ACCESS_KEY must be set together",
            ));
        }
        Ok(())
    }

    fn validate_jwt(&self) -> Result<(), ConfigError> {
        match self.jwt.algorithm {
            JwtAlgorithm::HS256 => {
                let secret = self.jwt_secret();
                if secret.is_empty() {
                    return Err(problem("ENDORSE_JWT_SECRET", "must be set when ENDORSE_JWT_ALGORITHM is HS256"));
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
                Ok(())
            }
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => match (&self.jwt.public_key_file, &self.jwt.jwks_file) {
                (Some(_), Some(_)) => Err(problem(
                    "ENDORSE_JWT_JWKS_FILE",
                    "set either ENDORSE_JWT_PUBLIC_KEY_FILE or ENDORSE_JWT_JWKS_FILE, not both",
                )),
                (None, None) => Err(problem(
                    "ENDORSE_JWT_PUBLIC_KEY_FILE",
                    "ENDORSE_JWT_PUBLIC_KEY_FILE or ENDORSE_JWT_JWKS_FILE must be set when ENDORSE_JWT_ALGORITHM is RS256 or ES256",
                )),
                _ => Ok(()),
            },
        }
    }
}
