use endorse::auth::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{first_error_code, spawn_app};

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
    let app =
        crate::helpers::spawn_app_with(&["--jwt-algorithm", "RS256", "--jwt-public-key-file", &public_flag]).await;

    let good = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims(&app, 3600),
        &EncodingKey::from_rsa_pem(fixtures::RSA_PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap();
    let body = app.graphql(Some(&good), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["subject"], "mallory", "{body}");

    // HS256 signed with the public key's bytes as the secret: the classic
    // algorithm-confusion attack.
    let confused = sign(claims(&app, 3600), Algorithm::HS256, fixtures::RSA_PUBLIC.as_bytes());
    let body = app.graphql(Some(&confused), ME, json!({})).await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{body}");
}

pub mod fixtures {
    //! A 2048-bit RSA key pair used only by these tests.
    pub const RSA_PRIVATE: &str = include_str!("fixtures/rsa_private.pem");
    pub const RSA_PUBLIC: &str = include_str!("fixtures/rsa_public.pem");
}
