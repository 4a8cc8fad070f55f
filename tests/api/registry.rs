//! After endorsement, in public: the registry (GraphQL and HTML), the
//! verification page, and the Open Badges credential, verified by an
//! independent JOSE library (joserfc, PyPI) with the key the server
//! publishes; revocation seen through the status list; key rotation.

use endorse::auth::Role;
use endorse::domain::credential::decode_status_list;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app_config, spawn_app_with, test_config};
use crate::process::endorse_person;

const MINE: &str = "query { endorsements { id number status } }";
const CHANGE: &str = "mutation($id: ID!, $s: EndorsementStatus!, $r: String) {
  changeEndorsementStatus(endorsementId: $id, status: $s, reason: $r) { status history { status reason } } }";
const REGISTRY: &str = "query($q: String, $c: Category, $after: String, $first: Int) {
  registry(association: \"nys-aimh\", search: $q, category: $c, first: $first, after: $after) {
    edges { cursor node { number name code title endorsedSince currentThrough verificationUrl location employer } }
    pageInfo { hasNextPage endCursor } } }";
const ISSUE: &str = "mutation($id: ID!) { issueCredential(endorsementId: $id) { jwt credential statusListIndex } }";

/// The endorsement of `subject` (id, number), as they read it.
async fn endorsement_of(app: &TestApp, subject: &str) -> (String, String) {
    let token = app.token(subject, &[Role::Applicant]);
    let body = app.graphql(Some(&token), MINE, json!({})).await;
    let first = &body["data"]["endorsements"][0];
    let id = first["id"].as_str().unwrap_or_else(|| panic!("{subject} has no endorsement: {body}"));
    (id.to_owned(), first["number"].as_str().unwrap().to_owned())
}

async fn get(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.client.get(app.url(path)).header("accept", accept).send().await.expect("the server answers")
}

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    after_scheme.find('/').map(|i| after_scheme[i..].to_owned()).unwrap_or_default()
}

/// Verifies `jwt` with `jwk` in Python's joserfc: the claims, or why not.
fn verify_independently(jwt: &str, jwk: &Value) -> Result<Value, String> {
    let python = std::env::var("ENDORSE_TEST_JOSE_PYTHON").ok().filter(|p| std::path::Path::new(p).exists());
    let python = python.unwrap_or_else(|| {
        panic!(
            "ENDORSE_TEST_JOSE_PYTHON does not name a Python with joserfc: run the suite with `scripts/test.sh`, \
             or wrap cargo: `scripts/services.sh run -- cargo test` (it installs joserfc from PyPI)"
        )
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vc/verify.py");
    let output =
        std::process::Command::new(python).args([script, jwt, &jwk.to_string()]).output().expect("the verifier runs");
    if output.status.success() {
        Ok(serde_json::from_slice::<Value>(&output.stdout).expect("the verifier prints JSON"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The JWK the header's `kid` names, fetched from where it points.
async fn key_named_by(app: &TestApp, jwt: &str) -> Value {
    let header = jsonwebtoken::decode_header(jwt).expect("a JWT");
    let kid = header.kid.expect("the header names its key");
    let response = get(app, &path_of(&kid), "application/json").await;
    assert_eq!(response.status(), 200, "{kid}");
    response.json().await.unwrap()
}

fn payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The set bits of the association's status list for `purpose`, read the
/// way a verifier does (signature checked with the published key).
async fn status_bits(app: &TestApp, purpose: &str) -> Vec<u32> {
    let response = get(app, &format!("/status/nys-aimh/{purpose}"), "application/vc+jwt").await;
    assert_eq!(response.status(), 200);
    let jwt = response.text().await.unwrap();
    let jwk = key_named_by(app, &jwt).await;
    let verified = verify_independently(&jwt, &jwk).expect("the status list verifies");
    let subject = &verified["claims"]["credentialSubject"];
    assert_eq!(subject["statusPurpose"], purpose);
    decode_status_list(subject["encodedList"].as_str().unwrap()).expect("an encoded list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_lists_only_current_endorsements_and_verification_says_why_not() {
    let app = spawn_app_with(&[]).await;
    for subject in ["reg-ada", "reg-bob", "reg-cy"] {
        endorse_person(&app, subject, "FAMILY_SPECIALIST").await;
    }
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let (ada, ada_number) = endorsement_of(&app, "reg-ada").await;
    let (bob, bob_number) = endorsement_of(&app, "reg-bob").await;
    let (cy, cy_number) = endorsement_of(&app, "reg-cy").await;

    // Ada shows where she works; only she may choose that.
    let listing = "mutation($id: ID!) { setRegistryListing(endorsementId: $id, input: { location: \" Albany, NY \", employer: \"Hudson Early Start\" }) { location employer } }";
    let body = app.graphql(Some(&coordinator), listing, json!({ "id": ada })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let ada_token = app.token("reg-ada", &[Role::Applicant]);
    let body = app.graphql(Some(&ada_token), listing, json!({ "id": ada })).await;
    assert_eq!(body["data"]["setRegistryListing"]["location"], "Albany, NY", "{body}");

    // Bob is revoked (a reason is required; revocation is final), Cy lapses.
    let body = app.graphql(Some(&coordinator), CHANGE, json!({ "id": bob, "s": "REVOKED" })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app.graphql(Some(&ada_token), CHANGE, json!({ "id": bob, "s": "REVOKED", "r": "x" })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let body =
        app.graphql(Some(&coordinator), CHANGE, json!({ "id": bob, "s": "REVOKED", "r": "Ethics finding" })).await;
    assert_eq!(body["data"]["changeEndorsementStatus"]["status"], "REVOKED", "{body}");
    let body = app.graphql(Some(&coordinator), CHANGE, json!({ "id": bob, "s": "CURRENT" })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    let body = app.graphql(Some(&coordinator), CHANGE, json!({ "id": cy, "s": "LAPSED", "r": "Not renewed" })).await;
    assert_eq!(body["data"]["changeEndorsementStatus"]["status"], "LAPSED", "{body}");

    // The registry, without a token: Ada only, with her opted-in details.
    let body = app.graphql(None, REGISTRY, json!({})).await;
    let edges = body["data"]["registry"]["edges"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(edges.len(), 1, "{body}");
    let entry = &edges[0]["node"];
    assert_eq!(entry["number"], ada_number.as_str());
    assert_eq!(entry["name"], "Name of reg-ada");
    assert_eq!(entry["code"], "IFS");
    assert_eq!(entry["title"], "Infant Family Specialist");
    assert_eq!(entry["employer"], "Hudson Early Start");
    assert!(entry["verificationUrl"].as_str().unwrap().ends_with(&format!("/verify/{ada_number}")));
    assert!(!body.to_string().contains("@example.org"), "no email is ever published: {body}");
    // Search by the beginnings of words; another category finds nobody.
    let found = |body: &Value| body["data"]["registry"]["edges"].as_array().map(Vec::len).unwrap_or(usize::MAX);
    assert_eq!(found(&app.graphql(None, REGISTRY, json!({ "q": "reg-ad" })).await), 1);
    assert_eq!(found(&app.graphql(None, REGISTRY, json!({ "q": "NAME of ADA" })).await), 1);
    assert_eq!(found(&app.graphql(None, REGISTRY, json!({ "q": "bob" })).await), 0, "revoked: not listed");
    assert_eq!(found(&app.graphql(None, REGISTRY, json!({ "q": "cy" })).await), 0, "lapsed: not listed");
    assert_eq!(found(&app.graphql(None, REGISTRY, json!({ "c": "MENTOR_CLINICAL" })).await), 0);
    let body = app.graphql(None, REGISTRY, json!({ "first": 1000 })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app.graphql(None, REGISTRY, json!({ "after": "not-a-cursor" })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");

    // The HTML registry: the same people, cacheable.
    let response = get(&app, "/registry/nys-aimh", "text/html").await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(response.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Name of reg-ada") && html.contains("Albany, NY"), "{html}");
    assert!(!html.contains("reg-bob") && !html.contains("reg-cy") && !html.contains("@example.org"), "{html}");
    let again = app.client.get(app.url("/registry/nys-aimh")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let searched = get(&app, "/registry/nys-aimh?q=nobody-here", "text/html").await.text().await.unwrap();
    assert!(searched.contains("No current endorsement matches"), "{searched}");
    assert_eq!(get(&app, "/registry/no-such-association", "text/html").await.status(), 404);

    // Verification says whether, and if not since when and why.
    let html = get(&app, &format!("/verify/{bob_number}"), "text/html").await.text().await.unwrap();
    assert!(html.contains("Not current: revoked on"), "{html}");
    assert!(!html.contains("Ethics finding"), "the reason stays internal: {html}");
    let json: Value = get(&app, &format!("/verify/{cy_number}"), "application/json").await.json().await.unwrap();
    assert_eq!(json["current"], false, "{json}");
    assert_eq!(json["status"], "LAPSED");
    assert!(json["verdict"].as_str().unwrap().contains("lapsed on"), "{json}");
    let json: Value = get(&app, &format!("/verify/{ada_number}?format=json"), "*/*").await.json().await.unwrap();
    assert_eq!(json["current"], true, "{json}");
    assert!(json.get("employer").is_none() && !json.to_string().contains('@'), "no more than the registry: {json}");
    assert_eq!(get(&app, "/verify/NYS-AIMH-IFS-999999", "text/html").await.status(), 404);
    let query = "query($n: String!) { verifyEndorsement(number: $n) { current status verdict association } }";
    let body = app.graphql(None, query, json!({ "n": bob_number })).await;
    assert_eq!(body["data"]["verifyEndorsement"]["status"], "REVOKED", "{body}");
    assert_eq!(body["data"]["verifyEndorsement"]["association"], "nys-aimh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_pages_follow_name_order_and_cursors() {
    let app = spawn_app_with(&[]).await;
    for subject in ["page-c", "page-a", "page-b"] {
        endorse_person(&app, subject, "FAMILY_ASSOCIATE").await;
    }
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = app.graphql(None, REGISTRY, json!({ "first": 2, "after": after })).await;
        let page = &body["data"]["registry"];
        for edge in page["edges"].as_array().unwrap_or_else(|| panic!("{body}")) {
            names.push(edge["node"]["name"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(names, ["Name of page-a", "Name of page-b", "Name of page-c"]);
}

fn keys_config(keys: &[Value]) -> endorse::config::Config {
    let mut config = test_config(&[]);
    config.credentials.keys = json!({ "nys-aimh": { "keys": keys } }).to_string().parse().unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_verifies_independently_revocation_shows_in_the_status_list_and_keys_rotate() {
    let old_key = endorse::signing::new_private_jwk("nys-2026");
    let app = spawn_app_config(keys_config(std::slice::from_ref(&old_key))).await;
    endorse_person(&app, "vc-ada", "MENTAL_HEALTH_SPECIALIST").await;
    endorse_person(&app, "vc-bob", "FAMILY_SPECIALIST").await;
    let (ada, ada_number) = endorsement_of(&app, "vc-ada").await;
    let (bob, _) = endorsement_of(&app, "vc-bob").await;
    let ada_token = app.token("vc-ada", &[Role::Applicant]);

    // Nobody else's: another applicant may not have Ada's credential.
    let body = app.graphql(Some(&app.token("vc-bob", &[Role::Applicant])), ISSUE, json!({ "id": ada })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");

    let body = app.graphql(Some(&ada_token), ISSUE, json!({ "id": ada })).await;
    let issued = &body["data"]["issueCredential"];
    let jwt = issued["jwt"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(format!("{:?}", header.alg), "EdDSA");
    assert!(header.kid.as_deref().unwrap().ends_with("/keys/nys-aimh/nys-2026"), "{header:?}");

    // An independent verifier, with the key fetched from the URL `kid` names.
    let jwk = key_named_by(&app, &jwt).await;
    assert!(jwk.get("d").is_none(), "only the public key is published: {jwk}");
    let verified = verify_independently(&jwt, &jwk).expect("the credential verifies");
    let claims = &verified["claims"];
    assert_eq!(claims["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
    assert_eq!(claims["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(claims["iss"], claims["issuer"]["id"]);
    assert_eq!(claims["jti"], claims["id"]);
    assert_eq!(claims["credentialSubject"]["identifier"][0]["identityHash"], "Name of vc-ada");
    assert_eq!(claims["credentialSubject"]["achievement"]["humanCode"], "IMHS");
    assert!(claims["evidence"][0]["id"].as_str().unwrap().ends_with(&format!("/verify/{ada_number}")));
    assert!(!claims.to_string().contains("@example.org"), "{claims}");
    // A tampered credential does not verify.
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut forged = payload(&jwt);
    forged["credentialSubject"]["achievement"]["humanCode"] = json!("IMHM-C");
    use base64::Engine;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
    assert!(verify_independently(&parts.join("."), &jwk).is_err(), "a changed payload must not verify");
    // The issuer profile is where `iss` points.
    let profile: Value =
        get(&app, &path_of(claims["iss"].as_str().unwrap()), "application/json").await.json().await.unwrap();
    assert_eq!(profile["type"], json!(["Profile"]), "{profile}");

    // Revocation: the credential's bit is set in the revocation list.
    let entry = claims["credentialStatus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["statusPurpose"] == "revocation")
        .unwrap()
        .clone();
    let index: u32 = entry["statusListIndex"].as_str().unwrap().parse().unwrap();
    assert_eq!(path_of(entry["statusListCredential"].as_str().unwrap()), "/status/nys-aimh/revocation");
    assert!(!status_bits(&app, "revocation").await.contains(&index));
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let body =
        app.graphql(Some(&coordinator), CHANGE, json!({ "id": ada, "s": "REVOKED", "r": "Ethics finding" })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(status_bits(&app, "revocation").await, vec![index]);
    assert!(!status_bits(&app, "suspension").await.contains(&index), "revoked, not suspended");
    let body = app.graphql(Some(&ada_token), ISSUE, json!({ "id": ada })).await;
    assert_eq!(first_error_code(&body), "FAILED_PRECONDITION", "no new credential once revoked: {body}");

    // Suspension: Bob goes inactive, then back.
    let bob_token = app.token("vc-bob", &[Role::Applicant]);
    let body = app.graphql(Some(&bob_token), ISSUE, json!({ "id": bob })).await;
    let bob_index =
        body["data"]["issueCredential"]["statusListIndex"].as_u64().unwrap_or_else(|| panic!("{body}")) as u32;
    assert_ne!(bob_index, index, "every credential has its own place");
    app.graphql(Some(&coordinator), CHANGE, json!({ "id": bob, "s": "INACTIVE", "r": "On leave" })).await;
    assert_eq!(status_bits(&app, "suspension").await, vec![bob_index]);
    app.graphql(Some(&coordinator), CHANGE, json!({ "id": bob, "s": "CURRENT" })).await;
    assert!(status_bits(&app, "suspension").await.is_empty());

    // Rotation: a new key signs, the old one stays published (public only).
    let new_key = endorse::signing::new_private_jwk("nys-2027");
    let retired = json!({ "kty": "OKP", "crv": "Ed25519", "kid": "nys-2026", "x": old_key["x"] });
    let mut config = (*app.config).clone();
    config.credentials.keys = json!({ "nys-aimh": { "keys": [new_key, retired] } }).to_string().parse().unwrap();
    let rotated = spawn_app_config(config).await;
    let body = rotated.graphql(Some(&bob_token), ISSUE, json!({ "id": bob })).await;
    let new_jwt = body["data"]["issueCredential"]["jwt"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    assert!(jsonwebtoken::decode_header(&new_jwt).unwrap().kid.unwrap().ends_with("/nys-2027"));
    assert_eq!(body["data"]["issueCredential"]["statusListIndex"].as_u64(), Some(bob_index as u64), "the same place");
    let set: Value = get(&rotated, "/keys/nys-aimh", "application/json").await.json().await.unwrap();
    let kids: Vec<&str> = set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["nys-2027", "nys-2026"]);
    // The credential signed before the rotation still verifies, with the key
    // its `kid` names, now served by the rotated server.
    let old_jwk = key_named_by(&rotated, &jwt).await;
    assert!(verify_independently(&jwt, &old_jwk).is_ok());
    assert!(verify_independently(&new_jwt, &key_named_by(&rotated, &new_jwt).await).is_ok());
    assert!(verify_independently(&new_jwt, &old_jwk).is_err(), "the old key does not verify the new credential");
}
