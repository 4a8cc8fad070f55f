//! Evidence end to end against the real S3-protocol server: both upload
//! flows from a real HTTP client, tampering, disguised and hostile files,
//! previews without metadata, access to URLs, review, deletion, sweeping,
//! and S3 going away.

use std::time::Duration;

use endorse::auth::Role;
use endorse::media::testdata;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, first_error_code, spawn_app, spawn_app_with};
use crate::portfolios::{SUBMIT, change, create};

const REQUEST: &str = "mutation($p: ID!, $kind: EvidenceKind!, $name: String!, $type: String!, $size: Int!, $sha: String!) {
  requestEvidenceUpload(portfolioId: $p, kind: $kind, fileName: $name, contentType: $type, byteSize: $size, sha256: $sha) {
    url method headers { name value } expiresAt evidence { id status fileName }
  }
}";
const COMPLETE: &str = "mutation($id: ID!) { completeEvidenceUpload(evidenceId: $id) { id status contentType byteSize sha256 rejectReason downloadUrl thumbnailUrl } }";
const UPLOAD: &str = "mutation($p: ID!, $kind: EvidenceKind!, $file: Upload!) { uploadEvidence(portfolioId: $p, kind: $kind, file: $file) { id status contentType byteSize sha256 fileName downloadUrl thumbnailUrl } }";
const EVIDENCE: &str = "query($id: ID!) { portfolio(id: $id) { evidence { id status kind fileName rejectReason downloadUrl thumbnailUrl reviewNote } } }";

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Asks for a presigned PUT; returns the ticket.
pub async fn ticket(
    app: &TestApp,
    token: &str,
    portfolio: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Value {
    let body = app
        .graphql(
            Some(token),
            REQUEST,
            json!({ "p": portfolio, "kind": "TRANSCRIPT", "name": name, "type": content_type, "size": bytes.len(), "sha": sha256_hex(bytes) }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["requestEvidenceUpload"].clone()
}

/// PUTs `bytes` as the ticket says (headers exactly as given).
async fn put(ticket: &Value, bytes: Vec<u8>) -> reqwest::StatusCode {
    let client = reqwest::Client::new();
    let mut request = client.put(ticket["url"].as_str().unwrap());
    for header in ticket["headers"].as_array().unwrap() {
        let name = header["name"].as_str().unwrap();
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, header["value"].as_str().unwrap());
        }
    }
    request.body(bytes).send().await.unwrap().status()
}

/// Sends a GraphQL multipart request with one file.
pub async fn upload(
    app: &TestApp,
    token: &str,
    portfolio: &str,
    kind: &str,
    name: &str,
    bytes: Vec<u8>,
    preflight: bool,
) -> reqwest::Response {
    let operations = json!({ "query": UPLOAD, "variables": { "p": portfolio, "kind": kind, "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("application/pdf").unwrap(),
        );
    let mut request = app.client.post(app.url("/graphql")).bearer_auth(token).multipart(form);
    if preflight {
        request = request.header("apollo-require-preflight", "true");
    }
    request.send().await.unwrap()
}

async fn fetch(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

async fn evidence_of(app: &TestApp, token: &str, portfolio: &str) -> Vec<Value> {
    let body = app.graphql(Some(token), EVIDENCE, json!({ "id": portfolio })).await;
    body["data"]["portfolio"]["evidence"].as_array().cloned().unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test]
async fn direct_upload_end_to_end() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let ticket = ticket(&app, &token, &portfolio, "../../transcript.pdf", "application/pdf", &pdf).await;
    assert_eq!(ticket["method"], "PUT");
    assert_eq!(ticket["evidence"]["status"], "PENDING_UPLOAD");
    assert_eq!(ticket["evidence"]["fileName"], "transcript.pdf", "the name is sanitised");
    assert!(!ticket["url"].as_str().unwrap().contains("transcript"), "keys are server-generated");
    assert!(put(&ticket, pdf.clone()).await.is_success());

    let id = ticket["evidence"]["id"].as_str().unwrap();
    let body = app.graphql(Some(&token), COMPLETE, json!({ "id": id })).await;
    let evidence = &body["data"]["completeEvidenceUpload"];
    assert_eq!(evidence["status"], "UPLOADED", "{body}");
    assert_eq!(evidence["contentType"], "application/pdf");
    assert_eq!(evidence["byteSize"], pdf.len());
    assert!(evidence["thumbnailUrl"].is_null(), "PDFs have no thumbnail");
    // Twice is harmless.
    let again = app.graphql(Some(&token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(again["data"]["completeEvidenceUpload"]["status"], "UPLOADED");

    let download = fetch(evidence["downloadUrl"].as_str().unwrap()).await;
    assert!(download.status().is_success());
    let disposition =
        download.headers().get("content-disposition").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(disposition.starts_with("attachment;") && disposition.contains("transcript.pdf"), "{disposition}");
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf, "the original is byte-exact");
}

/// The stored record of evidence `id`, straight from MongoDB.
async fn stored_record(app: &TestApp, id: &str) -> Option<mongodb::bson::Document> {
    let store = endorse::store::Store::connect(&app.config.mongodb).await.unwrap();
    let id = mongodb::bson::oid::ObjectId::parse_str(id).unwrap();
    store
        .database()
        .collection::<mongodb::bson::Document>("evidence")
        .find_one(mongodb::bson::doc! { "_id": id })
        .await
        .unwrap()
}

/// Whether a stored document lacks `field` (missing or null).
fn absent(document: &mongodb::bson::Document, field: &str) -> bool {
    matches!(document.get(field), None | Some(mongodb::bson::Bson::Null))
}

/// Sets fields of evidence `id` directly in MongoDB (what time or another
/// server would have done).
async fn set_record(app: &TestApp, id: &str, set: mongodb::bson::Document) {
    let store = endorse::store::Store::connect(&app.config.mongodb).await.unwrap();
    let id = mongodb::bson::oid::ObjectId::parse_str(id).unwrap();
    store
        .database()
        .collection::<mongodb::bson::Document>("evidence")
        .update_one(mongodb::bson::doc! { "_id": id }, mongodb::bson::doc! { "$set": set })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_used_upload_url_cannot_replace_verified_bytes() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let ticket = ticket(&app, &token, &portfolio, "t.pdf", "application/pdf", &pdf).await;
    assert!(ticket["url"].as_str().unwrap().contains("/staging/"), "uploads land in staging: {ticket}");
    assert!(put(&ticket, pdf.clone()).await.is_success());
    let id = ticket["evidence"]["id"].as_str().unwrap();
    let body = app.graphql(Some(&token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(body["data"]["completeEvidenceUpload"]["status"], "UPLOADED", "{body}");
    let record = stored_record(&app, id).await.unwrap();
    let final_key = record.get_str("objectKey").unwrap().to_owned();
    assert!(final_key.starts_with("evidence/"), "{record}");
    let blob = endorse::blob::BlobStore::new(&app.config.s3);
    let staging: Vec<_> = blob.list("staging/").await.unwrap();
    assert!(staging.is_empty(), "the staging object is removed once copied: {staging:?}");

    // The still-valid URL again, with other bytes of the same size (this
    // S3 server writes them even though the signed checksum then fails).
    let mut other = pdf.clone();
    let last = other.len() - 2;
    other[last] ^= 0x55;
    let _ = put(&ticket, other).await;
    let again = app.graphql(Some(&token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(again["data"]["completeEvidenceUpload"]["sha256"], sha256_hex(&pdf), "{again}");

    let stored = blob.read_all(&final_key).await.unwrap();
    assert_eq!(sha256_hex(&stored), sha256_hex(&pdf), "the final object keeps the verified bytes");
    let download = fetch(again["data"]["completeEvidenceUpload"]["downloadUrl"].as_str().unwrap()).await;
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(stored_record(&app, id).await.unwrap().get_str("sha256").unwrap(), sha256_hex(&pdf));
}

#[tokio::test]
async fn only_one_completion_verifies() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let ticket = ticket(&app, &token, &portfolio, "t.pdf", "application/pdf", &pdf).await;
    assert!(put(&ticket, pdf.clone()).await.is_success());
    let id = ticket["evidence"]["id"].as_str().unwrap();
    let blob = endorse::blob::BlobStore::new(&app.config.s3);

    // Another server is verifying it: this completion must not read or copy anything.
    let claimed_at = mongodb::bson::DateTime::now();
    set_record(&app, id, mongodb::bson::doc! { "status": "VERIFYING", "verifyingSince": claimed_at }).await;
    let body = app.graphql(Some(&token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    let record = stored_record(&app, id).await.unwrap();
    assert_eq!(record.get_str("status").unwrap(), "VERIFYING", "{record}");
    assert_eq!(record.get_datetime("verifyingSince").unwrap(), &claimed_at);
    assert!(blob.list("evidence/").await.unwrap().is_empty(), "nothing copied to the final key");
    assert_eq!(blob.list("staging/").await.unwrap().len(), 1, "the upload is still in staging");
    let listed = evidence_of(&app, &token, &portfolio).await;
    assert_eq!(listed[0]["status"], "VERIFYING", "{listed:?}");

    // Back to pending; now many completions at once: one verifies, the
    // others see it being verified or its result.
    set_record(&app, id, mongodb::bson::doc! { "status": "PENDING_UPLOAD" }).await;
    let calls = (0..6).map(|_| app.graphql(Some(&token), COMPLETE, json!({ "id": id })));
    let answers = futures::future::join_all(calls).await;
    let mut uploaded = 0;
    for body in &answers {
        if body["errors"].is_null() {
            assert_eq!(body["data"]["completeEvidenceUpload"]["status"], "UPLOADED", "{body}");
            uploaded += 1;
        } else {
            assert_eq!(first_error_code(body), "CONFLICT", "{body}");
        }
    }
    assert!(uploaded >= 1, "{answers:?}");
    let record = stored_record(&app, id).await.unwrap();
    assert_eq!(record.get_str("status").unwrap(), "UPLOADED", "{record}");
    assert_eq!(record.get_str("sha256").unwrap(), sha256_hex(&pdf));
    assert!(absent(&record, "verifyingSince") && absent(&record, "expiresAt"), "{record}");
    assert!(blob.list("staging/").await.unwrap().is_empty());
}

#[tokio::test]
async fn completing_after_the_upload_window_closed_is_refused() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let ticket = ticket(&app, &token, &portfolio, "t.pdf", "application/pdf", &pdf).await;
    assert!(put(&ticket, pdf.clone()).await.is_success(), "the bytes landed in time");
    let id = ticket["evidence"]["id"].as_str().unwrap();
    set_record(&app, id, mongodb::bson::doc! { "expiresAt": mongodb::bson::DateTime::now() }).await;

    let body = app.graphql(Some(&token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("request a new upload"), "{body}");
    let record = stored_record(&app, id).await.unwrap();
    assert_eq!(record.get_str("status").unwrap(), "PENDING_UPLOAD", "{record}");
    assert!(absent(&record, "uploadedAt") && absent(&record, "verifyingSince"), "{record}");
    let blob = endorse::blob::BlobStore::new(&app.config.s3);
    assert!(blob.list("evidence/").await.unwrap().is_empty(), "nothing reached the final key");
    let listed = evidence_of(&app, &token, &portfolio).await;
    assert!(listed[0]["downloadUrl"].is_null(), "{listed:?}");
}

#[tokio::test]
async fn tampered_direct_uploads_never_count() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();

    // Other bytes of the same size: S3 refuses them (signed checksum), or
    // completion catches the hash.
    let ticket_a = ticket(&app, &token, &portfolio, "a.pdf", "application/pdf", &pdf).await;
    let mut other = pdf.clone();
    let last = other.len() - 2;
    other[last] ^= 0x55;
    let status = put(&ticket_a, other).await;
    let body = app.graphql(Some(&token), COMPLETE, json!({ "id": ticket_a["evidence"]["id"] })).await;
    if status.is_success() {
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    } else {
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "nothing landed: {body}");
    }

    // A bigger body than declared, and another content type: refused by S3.
    let ticket_b = ticket(&app, &token, &portfolio, "b.pdf", "application/pdf", &pdf).await;
    let mut bigger = pdf.clone();
    bigger.extend_from_slice(b"% trailing bytes");
    assert!(!put(&ticket_b, bigger).await.is_success());
    let client = reqwest::Client::new();
    let wrong_type = client
        .put(ticket_b["url"].as_str().unwrap())
        .header("content-type", "text/html")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert!(!wrong_type.status().is_success());

    // The URL used for another key: the signature covers the path.
    let url = ticket_b["url"].as_str().unwrap().replace("/original", "/elsewhere");
    let mut request = client.put(url);
    for header in ticket_b["headers"].as_array().unwrap() {
        request = request.header(header["name"].as_str().unwrap(), header["value"].as_str().unwrap());
    }
    assert!(!request.body(pdf.clone()).send().await.unwrap().status().is_success());

    // An expired URL.
    let config = &app.config;
    let blob = endorse::blob::BlobStore::new(&config.s3);
    let presigned = blob
        .presign_put(
            "evidence/x/y/original",
            "application/pdf",
            pdf.len() as u64,
            &sha256_hex(&pdf),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut request = client.put(&presigned.url);
    for (name, value) in &presigned.headers {
        request = request.header(name, value);
    }
    assert!(!request.body(pdf.clone()).send().await.unwrap().status().is_success(), "expired URLs are refused");

    // Declared as PDF, but the bytes are HTML.
    let html = testdata::html_as_pdf();
    let ticket_c = ticket(&app, &token, &portfolio, "c.pdf", "application/pdf", &html).await;
    assert!(put(&ticket_c, html).await.is_success());
    let body = app.graphql(Some(&token), COMPLETE, json!({ "id": ticket_c["evidence"]["id"] })).await;
    assert_eq!(first_error_code(&body), "UNSUPPORTED_MEDIA_TYPE", "{body}");

    // Nothing counted, nothing left in S3 for the refused ones.
    for evidence in evidence_of(&app, &token, &portfolio).await {
        assert_ne!(evidence["status"], "UPLOADED", "{evidence}");
        assert!(evidence["downloadUrl"].is_null());
    }
    let objects = blob.list("evidence/").await.unwrap();
    assert!(objects.iter().all(|o| !o.key.contains(ticket_c["evidence"]["id"].as_str().unwrap())), "{objects:?}");
}

#[tokio::test]
async fn api_uploads_check_types_and_make_clean_upright_previews() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;

    // Without the preflight header: refused before anything runs.
    let response = upload(&app, &token, &portfolio, "TRANSCRIPT", "t.pdf", testdata::pdf(), false).await;
    assert_eq!(response.status(), 400);
    assert!(evidence_of(&app, &token, &portfolio).await.is_empty());

    let response = upload(&app, &token, &portfolio, "TRANSCRIPT", "t.pdf", testdata::pdf(), true).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["uploadEvidence"]["status"], "UPLOADED", "{body}");
    assert_eq!(body["data"]["uploadEvidence"]["sha256"], sha256_hex(&testdata::pdf()));

    let response =
        upload(&app, &token, &portfolio, "TRANSCRIPT", "../../evil.pdf", testdata::html_as_pdf(), true).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "UNSUPPORTED_MEDIA_TYPE", "{body}");

    let response =
        upload(&app, &token, &portfolio, "OTHER", "huge.jpg", testdata::jpeg_header_claiming(60000, 60000), true).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE", "{body}");

    let response = upload(&app, &token, &portfolio, "OTHER", "bomb.png", testdata::png_bomb(), true).await;
    let body: Value = response.json().await.unwrap();
    assert!(matches!(first_error_code(&body), "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE"), "{body}");

    // A phone photo taken sideways, with GPS in its EXIF.
    let photo = testdata::jpeg_with_exif(640, 480, 6, true);
    let response = upload(&app, &token, &portfolio, "CDA_CERTIFICATE", "IMG_0001.jpg", photo.clone(), true).await;
    let body: Value = response.json().await.unwrap();
    let evidence = &body["data"]["uploadEvidence"];
    assert_eq!(evidence["status"], "UPLOADED", "{body}");
    assert_eq!(evidence["contentType"], "image/jpeg");
    let original = fetch(evidence["downloadUrl"].as_str().unwrap()).await.bytes().await.unwrap();
    assert_eq!(original.to_vec(), photo, "the original stays byte-exact");
    let thumbnail = fetch(evidence["thumbnailUrl"].as_str().unwrap()).await.bytes().await.unwrap().to_vec();
    let image = image::load_from_memory(&thumbnail).unwrap();
    assert!(image.height() > image.width(), "upright: orientation 6 turns 640x480 into portrait");
    assert!(image.width().max(image.height()) <= 256);
    assert!(!thumbnail.windows(6).any(|w| w == b"Exif\0\0"), "no EXIF (and so no GPS) in derived images");

    // The server is still serving after all that.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    let statuses: Vec<String> =
        evidence_of(&app, &token, &portfolio).await.iter().map(|e| e["status"].as_str().unwrap().to_owned()).collect();
    assert_eq!(statuses.iter().filter(|s| *s == "UPLOADED").count(), 2, "{statuses:?}");
}

#[tokio::test]
async fn oversize_uploads_are_refused_before_buffering() {
    let app = spawn_app_with(&["--max-upload-bytes", "1048576"]).await.accepting_any_submission().await;
    let (portfolio, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let mut big = testdata::pdf();
    big.resize(3 * 1024 * 1024, b' ');
    let response = upload(&app, &token, &portfolio, "TRANSCRIPT", "big.pdf", big.clone(), true).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE");
    let body = app
        .graphql(
            Some(&token),
            REQUEST,
            json!({ "p": portfolio, "kind": "TRANSCRIPT", "name": "big.pdf", "type": "application/pdf", "size": big.len(), "sha": sha256_hex(&big) }),
        )
        .await;
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE");
    assert!(evidence_of(&app, &token, &portfolio).await.is_empty(), "no record left behind");
    let blob = endorse::blob::BlobStore::new(&app.config.s3);
    assert!(blob.list("evidence/").await.unwrap().is_empty(), "no object left behind");
}

#[tokio::test]
async fn access_review_and_verified_eligibility() {
    let app = spawn_app().await.accepting_any_submission().await;
    let owner = format!("ada-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let owner_address = format!("{owner}@example.org");
    let (portfolio, ada) = create(&app, &owner, "INFANT", "FAMILY_ASSOCIATE").await;
    let response = upload(&app, &ada, &portfolio, "TRAINING_CERTIFICATE", "cert.pdf", testdata::pdf(), true).await;
    let body: Value = response.json().await.unwrap();
    let evidence_id = body["data"]["uploadEvidence"]["id"].as_str().unwrap().to_owned();

    // Link it to a 30-hour training entry; a second entry links nothing.
    let training = |hours: f64, evidence: Option<&str>| json!({ "entry": { "training": { "title": "IMH", "hours": hours, "completedOn": "2024-05-01", "evidenceIds": evidence.map(|e| vec![e]).unwrap_or_default() } } });
    let body = change(
        &app,
        &ada,
        &portfolio,
        1,
        json!({ "upsert": [training(30.0, Some(&evidence_id)), training(5.0, None)] }),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    // Someone else's evidence id cannot be linked.
    let (other, ben) = create(&app, "ben", "INFANT", "FAMILY_ASSOCIATE").await;
    let body = change(&app, &ben, &other, 1, json!({ "upsert": [training(1.0, Some(&evidence_id))] })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    // ... nor seen, downloaded or reviewed by another applicant.
    let body = app.graphql(Some(&ben), EVIDENCE, json!({ "id": portfolio })).await;
    assert!(body["data"]["portfolio"].is_null());
    let review = "mutation($id: ID!, $ok: Boolean!, $note: String) { reviewEvidence(evidenceId: $id, verified: $ok, note: $note) { status reviewNote } }";
    let body = app.graphql(Some(&ada), review, json!({ "id": evidence_id, "ok": true })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "applicants cannot review");

    let hours = "query($id: ID!) { portfolio(id: $id) { eligibility(basis: VERIFIED) { requirements { key progress { current } } } } }";
    let training_hours = |body: &Value| {
        body["data"]["portfolio"]["eligibility"]["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == "training.hours")
            .unwrap()["progress"]["current"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(training_hours(&app.graphql(Some(&ada), hours, json!({ "id": portfolio })).await), 0.0);

    app.graphql(Some(&ada), SUBMIT, json!({ "id": portfolio, "v": 2 })).await;
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let listed = evidence_of(&app, &reviewer, &portfolio).await;
    assert!(listed[0]["downloadUrl"].is_string(), "reviewers may download");
    let reporter = app.token("rio", &[Role::Reporter]);
    assert!(app.graphql(Some(&reporter), EVIDENCE, json!({ "id": portfolio })).await["data"]["portfolio"].is_null());

    let body = app
        .graphql(Some(&reviewer), review, json!({ "id": evidence_id, "ok": true, "note": "Certificate matches." }))
        .await;
    assert_eq!(
        body["data"]["reviewEvidence"],
        json!({ "status": "VERIFIED", "reviewNote": "Certificate matches." }),
        "{body}"
    );
    assert_eq!(training_hours(&app.graphql(Some(&reviewer), hours, json!({ "id": portfolio })).await), 30.0);

    let body =
        app.graphql(Some(&reviewer), review, json!({ "id": evidence_id, "ok": false, "note": "Wrong name" })).await;
    assert_eq!(body["data"]["reviewEvidence"]["status"], "REJECTED");
    assert_eq!(training_hours(&app.graphql(Some(&reviewer), hours, json!({ "id": portfolio })).await), 0.0);

    // The applicant is told which file and why; verifying told nobody.
    let told = crate::mail::wait_for(&crate::mail::maildir(), &owner_address, 1, 30).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].subject.starts_with("Evidence not accepted: "), "{:?}", told[0]);
    assert!(told[0].text.contains("Wrong name"), "{}", told[0].text);
}

#[tokio::test]
async fn only_uploaded_or_verified_evidence_of_the_portfolio_can_be_linked() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let pending = ticket(&app, &ada, &portfolio, "p.pdf", "application/pdf", &pdf).await["evidence"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = upload(&app, &ada, &portfolio, "TRANSCRIPT", "fake.pdf", testdata::html_as_pdf(), true).await;
    assert_eq!(first_error_code(&response.json::<Value>().await.unwrap()), "UNSUPPORTED_MEDIA_TYPE");
    let listed = evidence_of(&app, &ada, &portfolio).await;
    let rejected = listed.iter().find(|e| e["status"] == "REJECTED").unwrap()["id"].as_str().unwrap().to_owned();
    let response = upload(&app, &ada, &portfolio, "TRANSCRIPT", "ok.pdf", pdf.clone(), true).await;
    let uploaded = response.json::<Value>().await.unwrap()["data"]["uploadEvidence"]["id"].as_str().unwrap().to_owned();
    let (other_portfolio, ben) = create(&app, "ben", "INFANT", "FAMILY_ASSOCIATE").await;
    let response = upload(&app, &ben, &other_portfolio, "TRANSCRIPT", "ben.pdf", pdf.clone(), true).await;
    let bens = response.json::<Value>().await.unwrap()["data"]["uploadEvidence"]["id"].as_str().unwrap().to_owned();

    let store = endorse::store::Store::connect(&app.config.mongodb).await.unwrap();
    let portfolios = store.database().collection::<mongodb::bson::Document>("portfolios");
    let portfolio_oid = mongodb::bson::oid::ObjectId::parse_str(&portfolio).unwrap();
    let stored = || async { portfolios.find_one(mongodb::bson::doc! { "_id": portfolio_oid }).await.unwrap().unwrap() };
    let before = stored().await;
    let training = |id: &str| json!({ "entry": { "training": { "title": "IMH", "hours": 3.0, "completedOn": "2024-05-01", "evidenceIds": [id] } } });
    for bad in [&pending, &rejected, &bens, &"not-an-id".to_owned()] {
        // The bad link second, after a valid entry: all or nothing.
        let body = change(&app, &ada, &portfolio, 1, json!({ "upsert": [training(&uploaded), training(bad)] })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{bad}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "changes.upsert[1].entry.training.evidenceIds", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(bad.as_str()), "{body}");
        let body = change(
            &app,
            &ada,
            &portfolio,
            1,
            json!({ "agreement": { "signedOn": "2024-05-01", "evidenceIds": [bad] } }),
        )
        .await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "changes.agreement.evidenceIds", "{body}");
    }
    assert_eq!(stored().await, before, "nothing was written");

    let body = change(&app, &ada, &portfolio, 1, json!({ "upsert": [training(&uploaded)] })).await;
    assert!(body["errors"].is_null(), "{body}");
    // A link made while the evidence counted stays when the entry is edited
    // after a reviewer rejected it (the engine ignores it anyway).
    set_record(&app, &uploaded, mongodb::bson::doc! { "status": "REJECTED" }).await;
    let entry = body["data"]["changePortfolio"]["training"][0]["id"].clone();
    let mut edit = training(&uploaded);
    edit["id"] = entry;
    let body = change(&app, &ada, &portfolio, 2, json!({ "upsert": [edit] })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(stored().await.get_i32("version").unwrap(), 3);
}

#[tokio::test]
async fn deleting_evidence_unlinks_it_and_removes_the_files() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let response = upload(&app, &ada, &portfolio, "CDA_CERTIFICATE", "photo.jpg", testdata::jpeg(800, 600), true).await;
    let body: Value = response.json().await.unwrap();
    let evidence_id = body["data"]["uploadEvidence"]["id"].as_str().unwrap().to_owned();
    let body = change(&app, &ada, &portfolio, 1, json!({ "upsert": [{ "entry": { "education": { "level": "CDA", "relatedField": true, "conferredOn": "2020-01-01", "evidenceIds": [evidence_id] } } }] })).await;
    assert!(body["errors"].is_null(), "{body}");
    let blob = endorse::blob::BlobStore::new(&app.config.s3);
    assert_eq!(blob.list("evidence/").await.unwrap().len(), 3, "original, preview, thumbnail");

    let body = app
        .graphql(Some(&ada), "mutation($id: ID!) { deleteEvidence(evidenceId: $id) }", json!({ "id": evidence_id }))
        .await;
    assert_eq!(body["data"]["deleteEvidence"], true, "{body}");
    assert!(blob.list("evidence/").await.unwrap().is_empty());
    assert!(evidence_of(&app, &ada, &portfolio).await.is_empty());
    let body = app
        .graphql(
            Some(&ada),
            "query($id: ID!) { portfolio(id: $id) { version education { evidenceIds } } }",
            json!({ "id": portfolio }),
        )
        .await;
    assert_eq!(body["data"]["portfolio"]["education"][0]["evidenceIds"], json!([]));
    assert_eq!(body["data"]["portfolio"]["version"], 3);
}

#[tokio::test]
async fn the_sweeper_removes_expired_uploads_and_orphans() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    // A direct upload that was never completed, its window long closed.
    let late = ticket(&app, &ada, &portfolio, "late.pdf", "application/pdf", &pdf).await;
    assert!(put(&late, pdf.clone()).await.is_success());
    let services = endorse::startup::connect(&app.config).await.unwrap();
    let store = endorse::store::Store::connect(&app.config.mongodb).await.unwrap();
    store
        .database()
        .collection::<mongodb::bson::Document>("evidence")
        .update_many(
            mongodb::bson::doc! {},
            mongodb::bson::doc! { "$set": { "expiresAt": mongodb::bson::DateTime::from_millis(0) } },
        )
        .await
        .unwrap();
    // An object whose record never got written (crash between S3 and MongoDB).
    let orphan = format!("evidence/{portfolio}/{}/original", mongodb::bson::oid::ObjectId::new().to_hex());
    services.blob.put_bytes(&orphan, pdf.clone(), "application/pdf").await.unwrap();
    // A fresh upload in flight is not touched.
    let fresh = ticket(&app, &ada, &portfolio, "fresh.pdf", "application/pdf", &pdf).await;

    let report = endorse::sweeper::sweep(&services, Duration::ZERO).await.unwrap();
    assert_eq!((report.expired_records, report.orphan_objects), (1, 1), "{report}");
    let left = evidence_of(&app, &ada, &portfolio).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], fresh["evidence"]["id"]);
    assert!(services.blob.list("evidence/").await.unwrap().is_empty());
}

fn oid(id: &str) -> mongodb::bson::oid::ObjectId {
    mongodb::bson::oid::ObjectId::parse_str(id).unwrap()
}

/// Keys under `prefix`, sorted.
async fn keys(blob: &endorse::blob::BlobStore, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = blob.list(prefix).await.unwrap().into_iter().map(|o| o.key).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn the_sweeper_never_removes_a_record_completed_after_it_was_listed() {
    use endorse::store::evidence::Abandoned;
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let services = endorse::startup::connect(&app.config).await.unwrap();
    let evidence = endorse::store::evidence::EvidenceStore::new(
        services.store().unwrap(),
        &endorse::domain::association::AssociationCode::nys_aimh(),
    );
    // A sweeper whose clock runs a day ahead: to it every window has closed.
    let ahead = mongodb::bson::DateTime::from_millis(mongodb::bson::DateTime::now().timestamp_millis() + 86_400_000);
    let when = Abandoned::at(ahead, Duration::ZERO);

    let done = ticket(&app, &ada, &portfolio, "done.pdf", "application/pdf", &pdf).await;
    assert!(put(&done, pdf.clone()).await.is_success());
    let done_id = done["evidence"]["id"].as_str().unwrap();
    let listed = evidence.get(oid(done_id)).await.unwrap().unwrap();
    assert_eq!(listed.status, endorse::domain::model::EvidenceStatus::PendingUpload);
    // Completed between the sweeper's listing and its delete.
    let body = app.graphql(Some(&ada), COMPLETE, json!({ "id": done_id })).await;
    assert_eq!(body["data"]["completeEvidenceUpload"]["status"], "UPLOADED", "{body}");
    assert!(!endorse::sweeper::remove_if_abandoned(&services, &listed, &when).await.unwrap());
    let record = stored_record(&app, done_id).await.expect("the record stays");
    assert_eq!(record.get_str("status").unwrap(), "UPLOADED");
    let stored = services.blob.read_all(record.get_str("objectKey").unwrap()).await.expect("the bytes stay");
    assert_eq!(sha256_hex(&stored), sha256_hex(&pdf));

    // One that really is abandoned goes, with its staged bytes.
    let late = ticket(&app, &ada, &portfolio, "late.pdf", "application/pdf", &pdf).await;
    assert!(put(&late, pdf.clone()).await.is_success());
    let late_id = late["evidence"]["id"].as_str().unwrap();
    let listed = evidence.get(oid(late_id)).await.unwrap().unwrap();
    assert!(endorse::sweeper::remove_if_abandoned(&services, &listed, &when).await.unwrap());
    assert!(stored_record(&app, late_id).await.is_none());
    assert!(keys(&services.blob, "staging/").await.is_empty());
}

#[tokio::test]
async fn the_sweeper_pages_through_the_bucket_and_keeps_what_records_need() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let services = endorse::startup::connect(&app.config).await.unwrap();
    let blob = &services.blob;
    for n in 0..3 {
        let response = upload(&app, &ada, &portfolio, "TRANSCRIPT", &format!("{n}.pdf"), pdf.clone(), true).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["uploadEvidence"]["status"], "UPLOADED", "{body}");
    }
    // Completed, then the used URL PUT again: a staging leftover.
    let done = ticket(&app, &ada, &portfolio, "done.pdf", "application/pdf", &pdf).await;
    assert!(put(&done, pdf.clone()).await.is_success());
    let body = app.graphql(Some(&ada), COMPLETE, json!({ "id": done["evidence"]["id"] })).await;
    assert_eq!(body["data"]["completeEvidenceUpload"]["status"], "UPLOADED", "{body}");
    assert!(put(&done, pdf.clone()).await.is_success());
    let leftover = format!("staging/nys-aimh/{portfolio}/{}/original", done["evidence"]["id"].as_str().unwrap());
    // Uploaded, not completed yet, window open: its staged bytes are needed.
    let waiting = ticket(&app, &ada, &portfolio, "waiting.pdf", "application/pdf", &pdf).await;
    assert!(put(&waiting, pdf.clone()).await.is_success());
    let needed: Vec<String> = keys(blob, "").await.into_iter().filter(|k| *k != leftover).collect();
    assert_eq!(needed.len(), 5, "4 originals and a staged upload: {needed:?}");
    // Expired and never completed.
    let late = ticket(&app, &ada, &portfolio, "late.pdf", "application/pdf", &pdf).await;
    assert!(put(&late, pdf.clone()).await.is_success());
    let expired = mongodb::bson::doc! { "expiresAt": mongodb::bson::DateTime::from_millis(0) };
    set_record(&app, late["evidence"]["id"].as_str().unwrap(), expired).await;
    // Objects without a record, and one whose key names none.
    let mut orphans = vec![format!("evidence/{portfolio}/nothing-here")];
    for _ in 0..3 {
        orphans.push(format!("evidence/{portfolio}/{}/original", mongodb::bson::oid::ObjectId::new().to_hex()));
    }
    for key in &orphans {
        blob.put_bytes(key, pdf.clone(), "application/pdf").await.unwrap();
    }

    // Within the grace period only the expired record goes (with its objects).
    let report = endorse::sweeper::sweep_paged(&services, Duration::from_secs(3600), 2).await.unwrap();
    assert_eq!((report.expired_records, report.orphan_objects, report.staging_objects), (1, 0, 0), "{report}");
    let mut young: Vec<String> = needed.iter().chain(&orphans).chain([&leftover]).cloned().collect();
    young.sort();
    assert_eq!(keys(blob, "").await, young);

    // Past it, in pages of two: the orphans and the leftover go, nothing needed does.
    let report = endorse::sweeper::sweep_paged(&services, Duration::ZERO, 2).await.unwrap();
    assert_eq!((report.expired_records, report.orphan_objects, report.staging_objects), (0, 4, 1), "{report}");
    assert_eq!(keys(blob, "").await, needed);
    assert_eq!(evidence_of(&app, &ada, &portfolio).await.len(), 5, "3 API uploads, the completed and the waiting one");
}

#[tokio::test]
async fn the_sweeper_removes_verifications_that_died_only_when_stale_and_expired() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (portfolio, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let mut ids = Vec::new();
    for name in ["dead.pdf", "slow.pdf", "open.pdf"] {
        let ticket = ticket(&app, &ada, &portfolio, name, "application/pdf", &pdf).await;
        assert!(put(&ticket, pdf.clone()).await.is_success());
        ids.push(ticket["evidence"]["id"].as_str().unwrap().to_owned());
    }
    let long_ago = mongodb::bson::DateTime::from_millis(0);
    let now = mongodb::bson::DateTime::now();
    let later = mongodb::bson::DateTime::from_millis(now.timestamp_millis() + 600_000);
    use mongodb::bson::doc;
    // Claimed long ago, window closed: its verifier died.
    set_record(&app, &ids[0], doc! { "status": "VERIFYING", "verifyingSince": long_ago, "expiresAt": long_ago }).await;
    // Window closed, but claimed just now: a slow verifier still at work.
    set_record(&app, &ids[1], doc! { "status": "VERIFYING", "verifyingSince": now, "expiresAt": long_ago }).await;
    // Claimed long ago, but its window is still open.
    set_record(&app, &ids[2], doc! { "status": "VERIFYING", "verifyingSince": long_ago, "expiresAt": later }).await;

    let services = endorse::startup::connect(&app.config).await.unwrap();
    let report = endorse::sweeper::sweep(&services, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(report.expired_records, 1, "{report}");
    assert!(stored_record(&app, &ids[0]).await.is_none());
    for id in &ids[1..] {
        assert_eq!(stored_record(&app, id).await.unwrap().get_str("status").unwrap(), "VERIFYING");
    }
    let staged = keys(&services.blob, "staging/").await;
    assert_eq!(staged.len(), 2, "{staged:?}");
    assert!(staged.iter().all(|k| !k.contains(&ids[0])), "{staged:?}");
}

#[tokio::test]
async fn stale_multipart_uploads_can_be_aborted_where_the_server_lists_them() {
    use aws_sdk_s3::primitives::ByteStream;
    let app = spawn_app().await.accepting_any_submission().await;
    let services = endorse::startup::connect(&app.config).await.unwrap();
    let blob = &services.blob;
    let key =
        format!("evidence/{}/{}/original", mongodb::bson::oid::ObjectId::new(), mongodb::bson::oid::ObjectId::new());
    // What a crash in the middle of an API upload leaves.
    let started = blob.client().create_multipart_upload().bucket(blob.bucket()).key(&key).send().await.unwrap();
    let upload_id = started.upload_id().unwrap().to_owned();
    let part = |number: i32| {
        blob.client()
            .upload_part()
            .bucket(blob.bucket())
            .key(&key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(vec![7u8; 1024]))
            .send()
    };
    part(1).await.unwrap();

    // s3s-fs does not implement ListMultipartUploads: the sweep says so and
    // does the rest of its work.
    assert!(matches!(blob.list_open_uploads("evidence/", None).await, Err(endorse::blob::BlobError::Unsupported(_))));
    let report = endorse::sweeper::sweep(&services, Duration::ZERO).await.unwrap();
    assert_eq!(report.aborted_uploads, None, "{report}");
    part(2).await.expect("the upload is still open");

    // What the sweeper does with a stale one it lists: abort it.
    blob.abort_upload(&key, &upload_id).await.unwrap();
    assert!(part(3).await.is_err(), "the upload is gone");
    assert!(keys(blob, "").await.is_empty(), "nothing was completed");
}

/// A private S3-protocol server this test may stop and start again (same
/// port, same data).
struct PrivateS3 {
    child: Option<std::process::Child>,
    port: u16,
    data: std::path::PathBuf,
}

impl PrivateS3 {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let data = std::env::temp_dir().join(format!("endorse-s3-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data).unwrap();
        let mut s3 = PrivateS3 { child: None, port, data };
        s3.resume();
        s3
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn resume(&mut self) {
        use crate::helpers::service_env;
        let child = std::process::Command::new(service_env("ENDORSE_TEST_S3_BIN"))
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--access-key",
                &service_env("ENDORSE_S3_ACCESS_KEY_ID"),
                "--secret-key",
                &service_env("ENDORSE_S3_SECRET_ACCESS_KEY"),
            ])
            .arg(&self.data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the S3-protocol server starts");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "private S3 did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// An app whose S3 is this server.
    async fn app(&self) -> TestApp {
        use crate::helpers::{spawn_app_config, test_config};
        let mut config = test_config(&["--s3-timeout-ms", "1000"]);
        config.s3.endpoint = self.endpoint();
        config.s3.public_endpoint = Some(self.endpoint());
        spawn_app_config(config).await.accepting_any_submission().await
    }
}

impl Drop for PrivateS3 {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_down_during_an_upload_is_service_unavailable_and_leaves_no_record() {
    let mut s3 = PrivateS3::start();
    let app = s3.app().await;
    let (portfolio, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;

    s3.stop();
    let started = std::time::Instant::now();
    let response = upload(&app, &ada, &portfolio, "TRANSCRIPT", "t.pdf", testdata::pdf(), true).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(evidence_of(&app, &ada, &portfolio).await.is_empty(), "no record left behind");
    let readyz = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_that_fails_midway_is_released_for_a_retry() {
    let mut s3 = PrivateS3::start();
    let app = s3.app().await;
    let (portfolio, ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let pdf = testdata::pdf();
    let ticket = ticket(&app, &ada, &portfolio, "t.pdf", "application/pdf", &pdf).await;
    assert!(put(&ticket, pdf.clone()).await.is_success());
    let id = ticket["evidence"]["id"].as_str().unwrap();

    s3.stop();
    let body = app.graphql(Some(&ada), COMPLETE, json!({ "id": id })).await;
    assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
    let record = stored_record(&app, id).await.unwrap();
    assert_eq!(record.get_str("status").unwrap(), "PENDING_UPLOAD", "not stuck in VERIFYING: {record}");
    assert!(absent(&record, "verifyingSince") && absent(&record, "uploadedAt"), "{record}");

    s3.resume();
    let body = app.graphql(Some(&ada), COMPLETE, json!({ "id": id })).await;
    assert_eq!(body["data"]["completeEvidenceUpload"]["status"], "UPLOADED", "{body}");
    assert_eq!(stored_record(&app, id).await.unwrap().get_str("status").unwrap(), "UPLOADED");
}
