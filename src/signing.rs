//! The associations' Ed25519 keys that sign verifiable credentials
//! (EdDSA VC-JWTs), from configuration: per association a JSON Web Key Set
//! whose private keys (`d`) sign, the first one listed signing new
//! credentials, and whose public-only keys are retired ones still published
//! so that credentials they signed stay verifiable. Keys never reach a log:
//! `Debug` shows key ids only.
//!
//! In development an association without configured keys signs with a key
//! derived from its code (so the demo works out of the box); production
//! refuses to issue without a configured key.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest;

/// PKCS #8 v1 wrapping of an Ed25519 seed (RFC 8410), as `jsonwebtoken`
/// takes a private key.
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SigningError {
    #[error("no signing key is configured for {0} (ENDORSE_CREDENTIAL_KEYS)")]
    NoKey(String),
    #[error("signing failed: {0}")]
    Failed(String),
}

pub struct SigningKey {
    pub kid: String,
    public: [u8; 32],
    private: Option<EncodingKey>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("signs", &self.private.is_some()).finish()
    }
}

impl SigningKey {
    fn from_seed(kid: String, seed: &[u8; 32]) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).expect("any 32 bytes are an Ed25519 seed");
        let mut public = [0u8; 32];
        public.copy_from_slice(pair.public_key().as_ref());
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(seed);
        SigningKey { kid, public, private: Some(EncodingKey::from_ed_der(&der)) }
    }

    /// The public JWK (RFC 8037).
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    /// The raw public key, base64url (`x`).
    pub fn public_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public)
    }
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    crv: String,
    kid: String,
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    x: Option<String>,
}

fn bytes32(what: &str, text: &str) -> Result<[u8; 32], String> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| format!("`{what}` is not base64url"))?;
    bytes.try_into().map_err(|_| format!("`{what}` must be 32 bytes"))
}

fn key_of(jwk: Jwk) -> Result<SigningKey, String> {
    if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
        return Err(format!("key `{}`: only Ed25519 keys (kty OKP, crv Ed25519) sign credentials", jwk.kid));
    }
    let kid_ok = !jwk.kid.is_empty()
        && jwk.kid.len() <= 64
        && jwk.kid.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !kid_ok {
        return Err("every key needs a `kid` of at most 64 letters, digits, `-`, `_` or `.`".into());
    }
    let at = |e: String| format!("key `{}`: {e}", jwk.kid);
    match (&jwk.d, &jwk.x) {
        (Some(d), x) => {
            let key = SigningKey::from_seed(jwk.kid.clone(), &bytes32("d", d).map_err(at)?);
            if let Some(x) = x
                && bytes32("x", x).map_err(at)? != key.public
            {
                return Err(at("`x` is not the public key of `d`".into()));
            }
            Ok(key)
        }
        (None, Some(x)) => Ok(SigningKey { public: bytes32("x", x).map_err(at)?, kid: jwk.kid, private: None }),
        (None, None) => Err(at("needs `d` (a key that signs) or `x` (a retired key)".into())),
    }
}

/// Every association's keys, parsed from the configured JSON.
#[derive(Debug, Default)]
pub struct SigningKeys {
    associations: HashMap<String, Vec<SigningKey>>,
    /// Whether associations without keys sign with a derived one.
    development: bool,
}

impl SigningKeys {
    /// `{"<association>": {"keys": [JWK, ...]}}`; an empty text is no keys.
    pub fn parse(text: &str, development: bool) -> Result<Self, String> {
        let mut associations = HashMap::new();
        if !text.trim().is_empty() {
            let sets: HashMap<String, KeySet> = serde_json::from_str(text)
                .map_err(|e| format!("expected {{\"<association>\": {{\"keys\": [JWK, ...]}}}}: {e}"))?;
            for (association, set) in sets {
                let keys = set.keys.into_iter().map(key_of).collect::<Result<Vec<_>, _>>()?;
                if !keys.iter().any(|k| k.private.is_some()) {
                    return Err(format!("{association}: no key with `d` to sign with"));
                }
                let mut kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
                kids.sort_unstable();
                if kids.windows(2).any(|pair| pair[0] == pair[1]) {
                    return Err(format!("{association}: two keys share a `kid`"));
                }
                associations.insert(association, keys);
            }
        }
        Ok(SigningKeys { associations, development })
    }

    /// The association's keys, the signing one first (a derived one in
    /// development when none is configured).
    pub fn keys(&self, association: &str) -> Vec<&SigningKey> {
        self.associations.get(association).map(|keys| keys.iter().collect()).unwrap_or_default()
    }

    fn development_key(association: &str) -> SigningKey {
        let seed: [u8; 32] = sha2::Sha256::digest(format!("endorse development credential key: {association}")).into();
        SigningKey::from_seed(format!("{association}-development"), &seed)
    }

    /// The public keys a verifier may meet, as a JWK Set.
    pub fn jwks(&self, association: &str) -> Value {
        let mut keys: Vec<Value> = self.keys(association).iter().map(|k| k.public_jwk()).collect();
        if keys.is_empty() && self.development {
            keys.push(Self::development_key(association).public_jwk());
        }
        json!({ "keys": keys })
    }

    /// The public key `kid` of the association, if published.
    pub fn public_jwk(&self, association: &str, kid: &str) -> Option<Value> {
        self.jwks(association)["keys"].as_array()?.iter().find(|k| k["kid"] == kid).cloned()
    }

    /// Signs `claims` as a compact JWS (`alg` EdDSA) with the association's
    /// signing key; `kid_url` turns the key's id into the header's `kid`
    /// (the URL its JWK is published at).
    pub fn sign(
        &self,
        association: &str,
        typ: &str,
        claims: &Value,
        kid_url: impl Fn(&str) -> String,
    ) -> Result<String, SigningError> {
        let configured = self.associations.get(association).and_then(|keys| keys.iter().find(|k| k.private.is_some()));
        let derived;
        let key = match configured {
            Some(key) => key,
            None if self.development => {
                derived = Self::development_key(association);
                &derived
            }
            None => return Err(SigningError::NoKey(association.to_owned())),
        };
        let private = key.private.as_ref().ok_or_else(|| SigningError::NoKey(association.to_owned()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid_url(&key.kid));
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, private).map_err(|e| SigningError::Failed(e.to_string()))
    }
}

/// A new private JWK for `kid` (the `endorse credential-key` command).
pub fn new_private_jwk(kid: &str) -> Value {
    let mut seed = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed).expect("the system's random source");
    let key = SigningKey::from_seed(kid.to_owned(), &seed);
    json!({ "kty": "OKP", "crv": "Ed25519", "kid": kid, "d": URL_SAFE_NO_PAD.encode(seed), "x": key.public_x() })
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    fn config(keys: &[Value]) -> String {
        json!({ "nys-aimh": { "keys": keys } }).to_string()
    }

    fn verify(jwt: &str, jwk: &Value) -> Result<Value, jsonwebtoken::errors::Error> {
        let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap())?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        Ok(jsonwebtoken::decode::<Value>(jwt, &key, &validation)?.claims)
    }

    #[test]
    fn the_first_private_key_signs_and_every_key_is_published() {
        let new = new_private_jwk("k2");
        let old = new_private_jwk("k1");
        let retired = json!({ "kty": "OKP", "crv": "Ed25519", "kid": "k0", "x": old["x"] });
        let keys = SigningKeys::parse(&config(&[new.clone(), retired]), false).unwrap();
        let jwt =
            keys.sign("nys-aimh", "JWT", &json!({ "a": 1 }), |kid| format!("https://e.example/keys/{kid}")).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.kid.as_deref(), Some("https://e.example/keys/k2"));
        assert_eq!(verify(&jwt, &new).unwrap()["a"], 1);
        assert!(verify(&jwt, &old).is_err(), "another key must not verify it");
        let published = keys.jwks("nys-aimh");
        assert_eq!(published["keys"].as_array().unwrap().len(), 2);
        assert!(!published.to_string().contains("\"d\""), "no private part is published");
        assert!(!format!("{keys:?}").contains(new["d"].as_str().unwrap()));
    }

    #[test]
    fn bad_key_sets_are_refused_with_a_reason() {
        let good = new_private_jwk("k1");
        let mut wrong_x = good.clone();
        wrong_x["x"] = new_private_jwk("k9")["x"].clone();
        let public_only = json!({ "kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": good["x"] });
        for (keys, problem) in [
            (config(&[wrong_x]), "not the public key"),
            (config(&[public_only]), "no key with `d`"),
            (config(&[good.clone(), good.clone()]), "share a `kid`"),
            (config(&[json!({ "kty": "RSA", "crv": "x", "kid": "r" })]), "only Ed25519"),
            ("not json".to_owned(), "expected"),
        ] {
            let error = SigningKeys::parse(&keys, false).unwrap_err();
            assert!(error.contains(problem), "{error}");
        }
    }

    #[test]
    fn production_without_keys_refuses_and_development_derives_a_stable_key() {
        let none = SigningKeys::parse("", false).unwrap();
        assert_eq!(
            none.sign("nys-aimh", "JWT", &json!({}), str::to_owned),
            Err(SigningError::NoKey("nys-aimh".into()))
        );
        let development = SigningKeys::parse("", true).unwrap();
        let jwt = development.sign("nys-aimh", "JWT", &json!({ "b": 2 }), str::to_owned).unwrap();
        let jwk = development.public_jwk("nys-aimh", "nys-aimh-development").unwrap();
        assert_eq!(verify(&jwt, &jwk).unwrap()["b"], 2);
        assert_eq!(SigningKeys::parse("", true).unwrap().jwks("nys-aimh"), development.jwks("nys-aimh"));
    }
}
