use endorse::auth::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{first_error_code, spawn_app, spawn_app_with};

const ME: &str = "{ me { subject roles } }";

#[tokio::test]
async fn a_valid_token_identifies_the_caller() {
    let app = spawn_app().await;
    let token = app.token("alice", &[Role::Applicant, Role::Reviewer]);
    let body = app.graphql(Some(&token), ME, json!({})).await;
    assert_eq!(body["data"]["me"], json!({ "subject": "alice", "roles": ["APPLICANT", "REVIEWER"] }), "{body}");
}

#[tokio::test]
async fn no_token_is_unauthenticated_but_public_fields_answer() {
    let app = spawn_app().await;
    let body = app.graphql(None, ME, json!({})).await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
    let body = app.graphql(None, "{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

fn sign(claims: serde_json::Value, algorithm: Algorithm, key: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), &claims, &EncodingKey::from_secret(key)).unwrap()
}

fn claims(app: &crate::helpers::TestApp, exp_offset: i64) -> serde_json::Value {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    json!({
        "sub": "mallory", "roles": ["ADMIN"], "exp": now + exp_offset,
        "iss": app.config.jwt.issuer, "aud": app.config.jwt.audience,
        "association": app.config.default_association.as_str(),
    })
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let app = spawn_app().await;
    let secret = app.config.jwt_secret().as_bytes().to_vec();

    let expired = sign(claims(&app, -3600), Algorithm::HS256, &secret);
    let mut wrong_audience = claims(&app, 3600);
    wrong_audience["aud"] = json!("someone-else");
    let wrong_audience = sign(wrong_audience, Algorithm::HS256, &secret);
    let mut wrong_issuer = claims(&app, 3600);
    wrong_issuer["iss"] = json!("evil");
    let wrong_issuer = sign(wrong_issuer, Algorithm::HS256, &secret);
    let wrong_key = sign(claims(&app, 3600), Algorithm::HS256, b"another-secret-that-is-long-enough-32");
    let other_algorithm = sign(claims(&app, 3600), Algorithm::HS512, &secret);
    // alg "none": header and claims, no signature.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none =
        format!("{}.{}.", b64.encode(br#"{"alg":"none","typ":"JWT"}"#), b64.encode(claims(&app, 3600).to_string()));
    let mut no_sub = claims(&app, 3600);
    no_sub.as_object_mut().unwrap().remove("sub");
    let no_sub = sign(no_sub, Algorithm::HS256, &secret);

    for (name, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("wrong issuer", wrong_issuer),
        ("wrong key", wrong_key),
        ("HS512 instead of HS256", other_algorithm),
        ("alg none", none),
        ("no subject", no_sub),
        ("garbage", "not-a-jwt".to_owned()),
    ] {
        let body = app.graphql(Some(&token), ME, json!({})).await;
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{name}: {body}");
        assert!(body["data"].is_null(), "{name}: {body}");
    }
    let body = app.graphql(Some(&sign(claims(&app, -3600), Algorithm::HS256, &secret)), ME, json!({})).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expired"), "{body}");
}

#[tokio::test]
async fn a_malformed_authorization_header_is_unauthenticated() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(json!({ "query": ME }).to_string())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn rs256_tokens_verify_with_a_public_key_and_hs_confusion_fails() {
    // A fixed, test-only RSA key pair (generated once with openssl).
    let dir = std::env::temp_dir().join(format!("endorse-rsa-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let public_path = dir.join("public.pem");
    std::fs::write(&public_path, crate::auth::fixtures::RSA_PUBLIC).unwrap();
    let public_flag = public_path.to_str().unwrap().to_owned();
    let app = spawn_app_with(&["--jwt-algorithm", "RS256", "--jwt-public-key-file", &public_flag]).await;

    let good = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims(&app, 3600),
        &EncodingKey::from_rsa_pem(fixtures::RSA_PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap();
    let body = app.graphql(Some(&good), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["subject"], "mallory", "{body}");
    // One PEM key needs no kid, and one in the token does not matter.
    assert_accepted(&app, "PEM key, token with a kid", &rs256(&claims(&app, 3600), fixtures::RSA_PRIVATE, Some("x")))
        .await;
    assert_invalid(&app, "PEM key, token from key 2", &rs256(&claims(&app, 3600), fixtures::RSA2_PRIVATE, None)).await;

    // HS256 signed with the public key's bytes as the secret: the classic
    // algorithm-confusion attack.
    let confused = sign(claims(&app, 3600), Algorithm::HS256, fixtures::RSA_PUBLIC.as_bytes());
    let body = app.graphql(Some(&confused), ME, json!({})).await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{body}");
}

pub mod fixtures {
    //! Key pairs used only by these tests (see fixtures/README.md). The JWK
    //! files hold the public halves without `kid` or `alg`.
    pub const RSA_PRIVATE: &str = include_str!("fixtures/rsa_private.pem");
    pub const RSA_PUBLIC: &str = include_str!("fixtures/rsa_public.pem");
    pub const RSA_JWK: &str = include_str!("fixtures/rsa_public.jwk.json");
    pub const RSA2_PRIVATE: &str = include_str!("fixtures/rsa2_private.pem");
    pub const RSA2_PUBLIC: &str = include_str!("fixtures/rsa2_public.pem");
    pub const RSA2_JWK: &str = include_str!("fixtures/rsa2_public.jwk.json");
    pub const EC_PRIVATE: &str = include_str!("fixtures/ec_private.pem");
    pub const EC_JWK: &str = include_str!("fixtures/ec_public.jwk.json");
}

/// A JWKS file holding `keys`: each a fixture JWK with the given `kid` and,
/// if given, `alg`. Kept until the handle is dropped; the server reads it at
/// start-up.
pub fn jwks_file(keys: &[(&str, &str, Option<&str>)]) -> tempfile::NamedTempFile {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|(jwk, kid, alg)| {
            let mut key: serde_json::Value = serde_json::from_str(jwk).unwrap();
            key["kid"] = json!(kid);
            if let Some(alg) = alg {
                key["alg"] = json!(alg);
            }
            key
        })
        .collect();
    let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(file.path(), json!({ "keys": keys }).to_string()).unwrap();
    file
}

fn header(algorithm: Algorithm, kid: Option<&str>) -> Header {
    Header { kid: kid.map(str::to_owned), ..Header::new(algorithm) }
}

fn rs256(claims: &serde_json::Value, private_pem: &str, kid: Option<&str>) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header(Algorithm::RS256, kid), claims, &key).unwrap()
}

async fn assert_accepted(app: &crate::helpers::TestApp, what: &str, token: &str) {
    let body = app.graphql(Some(token), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["subject"], "mallory", "{what} should be accepted: {body}");
}

/// Refused with the one generic message: which check failed is not told.
async fn assert_invalid(app: &crate::helpers::TestApp, what: &str, token: &str) {
    let body = app.graphql(Some(token), ME, json!({})).await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{what} should be refused: {body}");
    assert_eq!(body["errors"][0]["message"], "Authentication required: the token is not valid.", "{what}: {body}");
    assert!(body["data"].is_null(), "{what}: {body}");
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused_beyond_the_leeway() {
    let app = spawn_app_with(&["--jwt-leeway-seconds", "120"]).await;
    let secret = app.config.jwt_secret().as_bytes().to_vec();
    let with_nbf = |nbf: serde_json::Value| {
        let mut claims = claims(&app, 3600);
        claims["nbf"] = nbf;
        sign(claims, Algorithm::HS256, &secret)
    };
    assert_invalid(&app, "nbf in five minutes", &with_nbf(json!(now() + 300))).await;
    // A minute ahead is within the two minutes of leeway: the issuer's clock
    // may run ahead of ours.
    assert_accepted(&app, "nbf a minute ahead", &with_nbf(json!(now() + 60))).await;
    assert_accepted(&app, "nbf in the past", &with_nbf(json!(now() - 60))).await;
    // jsonwebtoken alone skips an `nbf` it cannot read.
    assert_invalid(&app, "nbf not a number", &with_nbf(json!("tomorrow"))).await;
}

#[tokio::test]
async fn the_lifetime_cap_refuses_long_lived_tokens_and_needs_iat() {
    let app = spawn_app_with(&["--jwt-max-lifetime-seconds", "3600"]).await;
    let secret = app.config.jwt_secret().as_bytes().to_vec();
    let token = |iat: Option<i64>, exp: i64| {
        let mut claims = claims(&app, 0);
        claims["exp"] = json!(exp);
        if let Some(iat) = iat {
            claims["iat"] = json!(iat);
        }
        sign(claims, Algorithm::HS256, &secret)
    };
    let now = now();
    assert_accepted(&app, "lifetime equal to the cap", &token(Some(now - 60), now - 60 + 3600)).await;
    assert_accepted(&app, "a dev token (iat set)", &app.token("mallory", &[])).await;
    assert_invalid(&app, "lifetime one second over the cap", &token(Some(now - 60), now - 60 + 3601)).await;
    assert_invalid(&app, "a day-long token", &token(Some(now), now + 86_400)).await;
    assert_invalid(&app, "no iat", &token(None, now + 600)).await;
    // Issued "in the future" would stretch the lifetime past the cap.
    assert_invalid(&app, "iat ten minutes ahead", &token(Some(now + 600), now + 1200)).await;
    assert_accepted(&app, "iat within the leeway", &token(Some(now + 10), now + 1200)).await;

    // Without the setting there is no cap and iat is optional.
    let uncapped = spawn_app().await;
    let secret = uncapped.config.jwt_secret().as_bytes().to_vec();
    let mut long = claims(&uncapped, 30 * 86_400);
    assert!(long.get("iat").is_none());
    assert_accepted(&uncapped, "uncapped, no iat", &sign(long.clone(), Algorithm::HS256, &secret)).await;
    long["iat"] = json!(now);
    assert_accepted(&uncapped, "uncapped, 30 days", &sign(long, Algorithm::HS256, &secret)).await;
}

#[tokio::test]
async fn aud_may_be_an_array_that_names_the_audience() {
    let app = spawn_app().await;
    let secret = app.config.jwt_secret().as_bytes().to_vec();
    let with_aud = |aud: serde_json::Value| {
        let mut claims = claims(&app, 3600);
        claims["aud"] = aud;
        sign(claims, Algorithm::HS256, &secret)
    };
    let audience = app.config.jwt.audience.clone();
    assert_accepted(&app, "aud array with ours", &with_aud(json!(["reports-ui", audience]))).await;
    assert_accepted(&app, "aud array of ours alone", &with_aud(json!([audience]))).await;
    assert_invalid(&app, "aud array without ours", &with_aud(json!(["reports-ui", "billing"]))).await;
    assert_invalid(&app, "empty aud array", &with_aud(json!([]))).await;
    assert_invalid(&app, "aud array of non-strings", &with_aud(json!([1, 2]))).await;
}

#[tokio::test]
async fn a_jwks_verifies_each_key_by_kid_for_rotation() {
    let jwks = jwks_file(&[(fixtures::RSA_JWK, "1", Some("RS256")), (fixtures::RSA2_JWK, "2", None)]);
    let path = jwks.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(&["--jwt-algorithm", "RS256", "--jwt-jwks-file", &path]).await;
    let claims = claims(&app, 3600);

    assert_accepted(&app, "key 1, kid 1", &rs256(&claims, fixtures::RSA_PRIVATE, Some("1"))).await;
    // The issuer rotated to key 2; tokens signed with key 1 stay good until they expire.
    assert_accepted(&app, "key 2, kid 2", &rs256(&claims, fixtures::RSA2_PRIVATE, Some("2"))).await;
    assert_invalid(&app, "key 2 under kid 1", &rs256(&claims, fixtures::RSA2_PRIVATE, Some("1"))).await;
    assert_invalid(&app, "key 1 under kid 2", &rs256(&claims, fixtures::RSA_PRIVATE, Some("2"))).await;
    assert_invalid(&app, "no kid", &rs256(&claims, fixtures::RSA_PRIVATE, None)).await;
    assert_invalid(&app, "unknown kid", &rs256(&claims, fixtures::RSA_PRIVATE, Some("3"))).await;

    // HS256 against an RS256 key set, keyed by a kid in the set: with the
    // development secret, and with the public key as the secret (algorithm confusion).
    let hs256 = |secret: &[u8]| {
        let key = EncodingKey::from_secret(secret);
        jsonwebtoken::encode(&header(Algorithm::HS256, Some("1")), &claims, &key).unwrap()
    };
    assert_invalid(&app, "HS256 with the dev secret", &hs256(app.config.jwt_secret().as_bytes())).await;
    assert_invalid(&app, "HS256 with the public key", &hs256(fixtures::RSA_PUBLIC.as_bytes())).await;
    assert_invalid(&app, "HS256 with the JWK", &hs256(fixtures::RSA_JWK.as_bytes())).await;
    // Another RSA algorithm with the right key and kid is still another algorithm.
    let key = EncodingKey::from_rsa_pem(fixtures::RSA_PRIVATE.as_bytes()).unwrap();
    let rs512 = jsonwebtoken::encode(&header(Algorithm::RS512, Some("1")), &claims, &key).unwrap();
    assert_invalid(&app, "RS512 with key 1", &rs512).await;
}

#[tokio::test]
async fn an_es256_jwks_verifies_ec_tokens() {
    let jwks = jwks_file(&[(fixtures::EC_JWK, "ec-2026", Some("ES256"))]);
    let path = jwks.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(&["--jwt-algorithm", "ES256", "--jwt-jwks-file", &path]).await;
    let key = EncodingKey::from_ec_pem(fixtures::EC_PRIVATE.as_bytes()).unwrap();
    let es256 = |kid| jsonwebtoken::encode(&header(Algorithm::ES256, kid), &claims(&app, 3600), &key).unwrap();
    assert_accepted(&app, "ES256 with its kid", &es256(Some("ec-2026"))).await;
    assert_invalid(&app, "ES256 without a kid", &es256(None)).await;
    assert_invalid(&app, "RS256 under the EC kid", &rs256(&claims(&app, 3600), fixtures::RSA_PRIVATE, Some("ec-2026")))
        .await;
}
