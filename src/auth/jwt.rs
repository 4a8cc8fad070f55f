//! Bearer tokens: verification with one pinned algorithm, and minting of
//! development tokens (`endorse token`).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Role, Viewer};
use crate::config::{Config, ConfigError, JwtAlgorithm};
use crate::domain::association::AssociationCode;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    /// Signature, algorithm, key id, issuer, audience, time or shape is wrong.
    /// One variant on purpose: telling an attacker which check failed helps them.
    #[error("the token is not valid")]
    Invalid,
    /// Only a platform admin acts outside every association.
    #[error("the token names no association (claim `association`)")]
    NoAssociation,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub exp: u64,
    /// Typed here although jsonwebtoken checks it: the library skips a
    /// malformed `nbf` (e.g. a string), so the claims must fail to parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    pub iss: String,
    pub aud: Audience,
    /// The association the roles hold in (`tid` accepted as well).
    #[serde(default, alias = "tid", skip_serializing_if = "Option::is_none")]
    pub association: Option<String>,
}

/// RFC 7519 allows `aud` as one string or an array of them; jsonwebtoken
/// checks that the configured audience is among them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The keys a token is checked against.
enum Keys {
    /// The HS256 secret or one PEM key: a `kid` in the token is not needed.
    Single(DecodingKey),
    /// A JWKS: the token's `kid` picks the key, so a token without one, or
    /// with one not in the set, has no key and is invalid.
    ByKid(HashMap<String, DecodingKey>),
}

/// Verifies tokens with exactly one algorithm.
pub struct TokenVerifier {
    keys: Keys,
    validation: Validation,
    max_lifetime_seconds: Option<u64>,
}

impl TokenVerifier {
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let jwt = &config.jwt;
        let algorithm = match jwt.algorithm {
            JwtAlgorithm::HS256 => Algorithm::HS256,
            JwtAlgorithm::RS256 => Algorithm::RS256,
            JwtAlgorithm::ES256 => Algorithm::ES256,
        };
        let keys = match (algorithm, &jwt.public_key_file, &jwt.jwks_file) {
            (Algorithm::HS256, None, None) => Keys::Single(DecodingKey::from_secret(config.jwt_secret().as_bytes())),
            (Algorithm::RS256 | Algorithm::ES256, Some(pem), None) => Keys::Single(load_pem(pem, algorithm)?),
            (Algorithm::RS256 | Algorithm::ES256, None, Some(jwks)) => {
                let problem = |problem: String| ConfigError { variable: "ENDORSE_JWT_JWKS_FILE", problem };
                let text = std::fs::read_to_string(jwks)
                    .map_err(|e| problem(format!("cannot read {}: {e}", jwks.display())))?;
                Keys::ByKid(parse_jwks(&text, algorithm).map_err(|e| problem(format!("{}: {e}", jwks.display())))?)
            }
            // `Config::validate` names the setting at fault; this only keeps
            // an unvalidated config from picking a key source silently.
            _ => {
                return Err(ConfigError {
                    variable: "ENDORSE_JWT_ALGORITHM",
                    problem: "the key settings do not fit the algorithm".into(),
                });
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.leeway = jwt.leeway_seconds;
        validation.validate_nbf = true;
        validation.set_issuer(&[&jwt.issuer]);
        validation.set_audience(&[&jwt.audience]);
        validation.required_spec_claims = HashSet::from(["exp", "iss", "aud", "sub"].map(String::from));
        Ok(TokenVerifier { keys, validation, max_lifetime_seconds: jwt.max_lifetime_seconds })
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
        let key = match &self.keys {
            Keys::Single(key) => key,
            Keys::ByKid(keys) => {
                // The header is read before the signature is checked; it only
                // chooses among trusted keys, and `decode` still pins the algorithm.
                let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
                header.kid.and_then(|kid| keys.get(&kid)).ok_or(TokenError::Invalid)?
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        let claims = data.claims;
        if claims.sub.is_empty() || claims.sub.len() > 256 {
            return Err(TokenError::Invalid);
        }
        if let Some(max) = self.max_lifetime_seconds {
            let now = jsonwebtoken::get_current_timestamp();
            if !within_lifetime(claims.iat, claims.exp, max, self.validation.leeway, now) {
                return Err(TokenError::Invalid);
            }
        }
        let mut roles: Vec<Role> = claims.roles.iter().filter_map(|r| Role::parse(r)).collect();
        roles.sort();
        roles.dedup();
        let association =
            claims.association.as_deref().map(AssociationCode::parse).transpose().map_err(|_| TokenError::Invalid)?;
        if association.is_none() && !roles.contains(&Role::PlatformAdmin) {
            return Err(TokenError::NoAssociation);
        }
        Ok(Viewer { subject: claims.sub, roles, association })
    }
}

/// With a lifetime cap, a token must say when it was issued, not claim to be
/// issued in the future (beyond clock skew), and live at most `max` seconds:
/// a stolen long-lived token is otherwise good until its far-off `exp`.
fn within_lifetime(iat: Option<u64>, exp: u64, max: u64, leeway: u64, now: u64) -> bool {
    let Some(iat) = iat else { return false };
    iat <= now.saturating_add(leeway) && exp.checked_sub(iat).is_some_and(|lifetime| lifetime <= max)
}

fn load_pem(path: &Path, algorithm: Algorithm) -> Result<DecodingKey, ConfigError> {
    let variable = "ENDORSE_JWT_PUBLIC_KEY_FILE";
    let pem = std::fs::read(path)
        .map_err(|e| ConfigError { variable, problem: format!("cannot read {}: {e}", path.display()) })?;
    let parsed =
        if algorithm == Algorithm::RS256 { DecodingKey::from_rsa_pem(&pem) } else { DecodingKey::from_ec_pem(&pem) };
    parsed.map_err(|e| ConfigError {
        variable,
        problem: format!("{} is not a PEM public key for {algorithm:?}: {e}", path.display()),
    })
}

/// Reads a JSON Web Key Set (RFC 7517) for one algorithm. Every key must be a
/// public signing key of that algorithm with a unique `kid`: one key of
/// another kind would quietly widen what the server accepts.
fn parse_jwks(text: &str, algorithm: Algorithm) -> Result<HashMap<String, DecodingKey>, String> {
    let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    // jsonwebtoken ignores private members; a set that carries them has
    // leaked its private keys, which should not go unnoticed.
    if let Some(keys) = raw["keys"].as_array()
        && let Some(position) = keys.iter().position(|key| key.get("d").is_some())
    {
        return Err(format!("key {} holds private key material (`d`); publish public keys only", position + 1));
    }
    let set: JwkSet = serde_json::from_value(raw).map_err(|e| format!("not a JSON Web Key Set: {e}"))?;
    if set.keys.is_empty() {
        return Err("the key set is empty".into());
    }
    let mut keys = HashMap::new();
    for (position, jwk) in set.keys.iter().enumerate() {
        let kid = jwk.common.key_id.clone().filter(|kid| !kid.is_empty());
        let name = kid.as_deref().map_or_else(|| format!("key {}", position + 1), |kid| format!("key `{kid}`"));
        let key = jwk_key(jwk, algorithm).map_err(|problem| format!("{name} {problem}"))?;
        let kid = kid.ok_or_else(|| format!("{name} has no `kid`; tokens choose their key by it"))?;
        if keys.insert(kid, key).is_some() {
            return Err(format!("{name} appears twice"));
        }
    }
    Ok(keys)
}

/// The decoding key of one JWK, if it fits `algorithm` (RS256 or ES256).
fn jwk_key(jwk: &Jwk, algorithm: Algorithm) -> Result<DecodingKey, String> {
    let fits = match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => ec.curve == EllipticCurve::P256,
        _ => false,
    };
    if !fits {
        return Err(format!("is {}, not a key for {algorithm:?}", key_type(jwk)));
    }
    let expected = if algorithm == Algorithm::ES256 { KeyAlgorithm::ES256 } else { KeyAlgorithm::RS256 };
    if let Some(named) = jwk.common.key_algorithm
        && named != expected
    {
        return Err(format!("names `alg` {named}, not {algorithm:?}"));
    }
    if let Some(key_use) = &jwk.common.public_key_use
        && *key_use != PublicKeyUse::Signature
    {
        return Err("is not a signing key (`use` is not `sig`)".into());
    }
    if let Some(operations) = &jwk.common.key_operations
        && !operations.contains(&KeyOperations::Verify)
    {
        return Err("does not allow `verify` in `key_ops`".into());
    }
    DecodingKey::from_jwk(jwk).map_err(|e| format!("cannot be read: {e}"))
}

fn key_type(jwk: &Jwk) -> &'static str {
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => "an RSA key",
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => "an EC P-256 key",
            EllipticCurve::P384 => "an EC P-384 key",
            EllipticCurve::P521 => "an EC P-521 key",
            EllipticCurve::Ed25519 => "an EC Ed25519 key",
        },
        AlgorithmParameters::OctetKey(_) => "a shared secret (`oct`)",
        AlgorithmParameters::OctetKeyPair(_) => "an OKP key",
    }
}

/// Mints an HS256 token with the configured secret, issuer and audience.
pub fn mint_dev_token(
    config: &Config,
    subject: &str,
    roles: &[Role],
    association: Option<&AssociationCode>,
    ttl_seconds: u64,
) -> Result<String, ConfigError> {
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
        nbf: None,
        iat: Some(now),
        iss: config.jwt.issuer.clone(),
        aud: Audience::One(config.jwt.audience.clone()),
        association: association.map(ToString::to_string),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(config.jwt_secret().as_bytes()),
    )
    .map_err(|e| ConfigError { variable: "ENDORSE_JWT_SECRET", problem: format!("cannot sign: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Key material is only base64-decoded when a set is read, so short
    // stand-ins are enough to test which keys a set may hold.
    fn rsa(kid: &str) -> serde_json::Value {
        json!({ "kty": "RSA", "kid": kid, "n": "sXch", "e": "AQAB" })
    }
    fn ec(kid: &str, curve: &str) -> serde_json::Value {
        json!({ "kty": "EC", "kid": kid, "crv": curve, "x": "AQID", "y": "BAUG" })
    }
    fn read(keys: Vec<serde_json::Value>, algorithm: Algorithm) -> Result<Vec<String>, String> {
        let mut kids: Vec<String> = parse_jwks(&json!({ "keys": keys }).to_string(), algorithm)?.into_keys().collect();
        kids.sort();
        Ok(kids)
    }

    #[test]
    fn a_set_of_one_family_is_read_by_kid() {
        assert_eq!(read(vec![rsa("a"), rsa("b")], Algorithm::RS256).unwrap(), ["a", "b"]);
        let mut signing = ec("e", "P-256");
        signing["alg"] = json!("ES256");
        signing["use"] = json!("sig");
        signing["key_ops"] = json!(["verify"]);
        assert_eq!(read(vec![signing], Algorithm::ES256).unwrap(), ["e"]);
    }

    #[test]
    fn keys_outside_the_algorithm_are_refused() {
        let refused = |keys: Vec<serde_json::Value>, algorithm, says: &str| {
            let problem = read(keys, algorithm).unwrap_err();
            assert!(problem.contains(says), "`{problem}` does not say `{says}`");
        };
        refused(vec![rsa("a"), ec("b", "P-256")], Algorithm::RS256, "key `b` is an EC P-256 key, not a key for RS256");
        refused(vec![rsa("a")], Algorithm::ES256, "key `a` is an RSA key");
        refused(vec![ec("p384", "P-384")], Algorithm::ES256, "P-384");
        refused(vec![json!({ "kty": "oct", "kid": "s", "k": "c2VjcmV0" })], Algorithm::RS256, "shared secret");
        let mut other_alg = rsa("ps");
        other_alg["alg"] = json!("PS256");
        refused(vec![other_alg], Algorithm::RS256, "names `alg` PS256");
        let mut encryption = rsa("enc");
        encryption["use"] = json!("enc");
        refused(vec![encryption], Algorithm::RS256, "not a signing key");
        let mut sign_only = rsa("ops");
        sign_only["key_ops"] = json!(["sign"]);
        refused(vec![sign_only], Algorithm::RS256, "verify");
    }

    #[test]
    fn a_set_must_name_each_key_once_and_hold_no_private_keys() {
        let mut anonymous = rsa("");
        anonymous.as_object_mut().unwrap().remove("kid");
        assert!(read(vec![anonymous], Algorithm::RS256).unwrap_err().contains("key 1 has no `kid`"));
        assert!(read(vec![rsa("a"), rsa("a")], Algorithm::RS256).unwrap_err().contains("key `a` appears twice"));
        assert!(read(vec![], Algorithm::RS256).unwrap_err().contains("empty"));
        let mut private = rsa("a");
        private["d"] = json!("AQAB");
        assert!(read(vec![private], Algorithm::RS256).unwrap_err().contains("private key material"));
        assert!(parse_jwks("[]", Algorithm::RS256).is_err_and(|e| e.contains("not a JSON Web Key Set")));
    }

    #[test]
    fn the_lifetime_cap_needs_iat_and_a_short_life() {
        let now = 1_000_000;
        assert!(within_lifetime(Some(now), now + 3600, 3600, 30, now));
        assert!(!within_lifetime(Some(now), now + 3601, 3600, 30, now));
        assert!(!within_lifetime(None, now + 60, 3600, 30, now));
        // Issued slightly ahead (clock skew) is fine; further ahead is not.
        assert!(within_lifetime(Some(now + 30), now + 600, 3600, 30, now));
        assert!(!within_lifetime(Some(now + 31), now + 600, 3600, 30, now));
        // `iat` after `exp` is nonsense, not a negative lifetime.
        assert!(!within_lifetime(Some(now), now - 1, 3600, 30, now));
    }
}
