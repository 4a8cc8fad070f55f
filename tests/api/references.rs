//! Reference ratings filled by the raters themselves: requests mailed
//! through the outbox to the real SMTP server, the link's form over GraphQL
//! and as a page, eligibility from what raters submitted, resend, revoke,
//! expiry, waiver, and mail that survives an SMTP server that is down.

use endorse::auth::Role;
use endorse::domain::reference::ReferenceForm;
use mongodb::bson::{DateTime, doc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app, spawn_app_config, spawn_app_with, test_config};
use crate::mail;
use crate::portfolios::create;

const REQUEST: &str = "mutation($id: ID!, $input: ReferenceRequestInput!) { requestReference(portfolioId: $id, input: $input) {
  id status raterEmail waived sentAt expiresAt resendAvailateAt: resendAvailableAt openedAt submittedAt rating { recommends } } }";
const REQUESTS: &str = "query($id: ID!) { portfolio(id: $id) { version
  references { id source raterCredential credentialBasis completedOn notEnoughInfoCount recommends waived }
  referenceRequests { id status openedAt submittedAt remindersSent rating { notEnoughInfoCount recommends comments endorsed endorsedCategory answers { itemId value notEnoughInformation } } }
  eligibility(category: FAMILY_SPECIALIST) { requirements { key met explanation } } } }";
const FORM: &str = "query($token: String!, $language: Language) { referenceForm(token: $token, language: $language) {
  associationName applicantName raterName roleName language waived status items { id domain text } scale { value label } draft { answers { itemId value } comments } } }";
const SUBMIT: &str = "mutation($token: String!, $input: RatingInput!) { submitReferenceRating(token: $token, input: $input) { submittedAt } }";

pub async fn database(app: &TestApp) -> mongodb::Database {
    let client = mongodb::Client::with_uri_str(app.config.mongodb.uri.expose()).await.unwrap();
    client.database(&app.config.mongodb.database)
}

/// Publishes the neutral placeholder form as the association's admin.
pub async fn publish_form(app: &TestApp) {
    let admin = app.token("admin-al", &[Role::Admin]);
    let input = serde_json::to_value(ReferenceForm::placeholder()).unwrap();
    let body = app
        .graphql(
            Some(&admin),
            "mutation($input: ReferenceFormInput!) { publishReferenceForm(input: $input) { revision items { id } } }",
            json!({ "input": input }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

/// Asks `rater` for a rating of portfolio `id`; the request's id.
async fn request(app: &TestApp, token: &str, id: &str, rater: &str, role: &str, waived: bool) -> Value {
    let input = json!({ "raterName": "Dana Whitfield", "raterEmail": rater, "role": role, "waived": waived });
    let body = app.graphql(Some(token), REQUEST, json!({ "id": id, "input": input })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["requestReference"].clone()
}

/// A complete rating of the placeholder form: `nei` items "not enough
/// information", the rest 3; endorsed as Mentor-Clinical.
pub fn rating(nei: usize, recommends: bool) -> Value {
    let answers: Vec<Value> = ReferenceForm::placeholder()
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            if i < nei {
                json!({ "itemId": item.id, "notEnoughInformation": true })
            } else {
                json!({ "itemId": item.id, "value": 3 })
            }
        })
        .collect();
    json!({ "answers": answers, "recommends": recommends, "comments": "Reflective and steady with families.",
            "endorsed": true, "endorsedCategory": "MENTOR_CLINICAL" })
}

async fn portfolio(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app.graphql(Some(token), REQUESTS, json!({ "id": id })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["portfolio"].clone()
}

async fn get_page(app: &TestApp, link: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = app.client.get(link).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn a_rater_fills_the_form_from_the_mailed_link_and_eligibility_counts_it() {
    let app = spawn_app().await.accepting_any_submission().await;
    publish_form(&app).await;
    let maildir = mail::maildir();
    let (id, owner) = create(&app, "ref-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let rater = mail::address("dana");
    let sent = request(&app, &owner, &id, &rater, "PROGRAM_SUPERVISOR", false).await;
    assert_eq!(sent["status"], "SENT");

    // The mail arrives over SMTP with a working link to this server.
    let mails = mail::wait_for(&maildir, &rater, 1, 30).await;
    let invitation = &mails[0];
    assert!(invitation.subject.contains("Name of ref-owner"), "{invitation:?}");
    assert!(invitation.from.contains("Association for Infant Mental Health"), "{}", invitation.from);
    let link = invitation.link();
    assert!(link.starts_with(&app.address), "{link} is not on {}", app.address);
    assert!(invitation.html.contains(&link.replace('&', "&amp;")), "the HTML part carries the same link");

    // Opening the link (twice, as a mail scanner and then the rater) changes nothing.
    let before = portfolio(&app, &owner, &id).await;
    for _ in 0..2 {
        let (status, headers, html) = get_page(&app, &link).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            html.contains("Association for Infant Mental Health") && html.contains("Placeholder item A1."),
            "{html}"
        );
        assert!(html.contains("Name of ref-owner"));
        assert!(!html.contains("<script"), "works without JavaScript");
    }
    assert_eq!(portfolio(&app, &owner, &id).await, before, "GET changed something");
    assert_eq!(before["referenceRequests"][0]["status"], "SENT");
    assert!(before["referenceRequests"][0]["openedAt"].is_null());

    // The same form through GraphQL, without any account, in Spanish.
    let token = invitation.token();
    let form = app.graphql(None, FORM, json!({ "token": token, "language": "ES" })).await;
    let form = &form["data"]["referenceForm"];
    assert_eq!(form["associationName"], "New York State Association for Infant Mental Health");
    assert_eq!(form["roleName"], "supervisor/a del programa");
    assert_eq!(form["items"][0]["text"], "Elemento de ejemplo A1.");
    assert_eq!(form["items"].as_array().unwrap().len(), 8);

    // An incomplete rating is refused, naming what is missing; nothing is used up.
    let mut incomplete = rating(0, true);
    incomplete["answers"].as_array_mut().unwrap().pop();
    let body = app.graphql(None, SUBMIT, json!({ "token": token, "input": incomplete })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("domain-d-2"), "{body}");

    let body = app.graphql(None, SUBMIT, json!({ "token": token, "input": rating(2, true) })).await;
    assert!(body["errors"].is_null(), "{body}");

    // The link is used up: a second submission and the page both say so.
    let again = app.graphql(None, SUBMIT, json!({ "token": token, "input": rating(0, true) })).await;
    assert_eq!(first_error_code(&again), "CONFLICT", "{again}");
    let (status, _, html) = get_page(&app, &link).await;
    assert_eq!(status, 200);
    assert!(html.contains("has been submitted") && !html.contains("<form"), "{html}");

    // The rating is in the portfolio, counted, with what the server worked out.
    let after = portfolio(&app, &owner, &id).await;
    assert_eq!(after["version"].as_i64(), before["version"].as_i64().map(|v| v + 1));
    let entry = &after["references"][0];
    assert_eq!(entry["source"], "SUBMITTED");
    assert_eq!(entry["notEnoughInfoCount"], 2);
    assert_eq!(entry["recommends"], true);
    assert_eq!(entry["raterCredential"], "MENTOR_CLINICAL");
    assert_eq!(entry["credentialBasis"], "STATED", "the rater is not in the association's records");
    let today = chrono::Utc::now().with_timezone(&chrono_tz::America::New_York).date_naive().to_string();
    assert_eq!(entry["completedOn"], today.as_str(), "dated by its submission");
    let shown = &after["referenceRequests"][0];
    assert_eq!(shown["status"], "SUBMITTED");
    assert_eq!(shown["rating"]["notEnoughInfoCount"], 2);
    assert_eq!(shown["rating"]["comments"], "Reflective and steady with families.");
    let references = after["eligibility"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "references")
        .unwrap()
        .clone();
    assert!(references["explanation"].as_str().unwrap().starts_with("1 of 3 valid reference ratings"), "{references}");

    // The rater is thanked and the applicant told, without the content.
    let thanks = mail::wait_for(&maildir, &rater, 2, 30).await;
    assert!(thanks.iter().any(|m| m.subject.starts_with("Thank you")), "{thanks:?}");
    let told = mail::wait_for(&maildir, "ref-owner@example.org", 1, 30).await;
    assert!(told.iter().any(|m| m.subject.contains("submitted your reference rating")));
    assert!(told.iter().all(|m| !m.text.contains("Reflective and steady")));

    // One audit record of the submission, by the rater.
    let db = database(&app).await;
    let audited = db
        .collection::<mongodb::bson::Document>("audit_log")
        .count_documents(doc! { "action": "submitReferenceRating", "actor": format!("rater:{}", sent["id"].as_str().unwrap()), "result": "ok" })
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_waived_rating_is_hidden_from_the_applicant_and_shown_to_a_coordinator() {
    let app = spawn_app().await.accepting_any_submission().await;
    publish_form(&app).await;
    let (id, owner) = create(&app, "waiver-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let rater = mail::address("waived");
    request(&app, &owner, &id, &rater, "COLLEAGUE", true).await;
    let token = mail::wait_for(&mail::maildir(), &rater, 1, 30).await[0].token();
    let body = app.graphql(None, SUBMIT, json!({ "token": token, "input": rating(0, false) })).await;
    assert!(body["errors"].is_null(), "{body}");

    let mine = portfolio(&app, &owner, &id).await;
    assert_eq!(mine["referenceRequests"][0]["status"], "SUBMITTED", "the status is always shown");
    assert!(mine["referenceRequests"][0]["rating"].is_null(), "{mine}");
    assert!(mine["references"][0]["recommends"].is_null());
    let coordinator = app.token("coordinator-cy", &[Role::Coordinator]);
    let theirs = portfolio(&app, &coordinator, &id).await;
    assert_eq!(theirs["referenceRequests"][0]["rating"]["recommends"], false);
    assert_eq!(theirs["references"][0]["recommends"], false);
    let references = theirs["eligibility"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "references")
        .unwrap()
        .clone();
    assert!(references["explanation"].as_str().unwrap().contains("do not recommend"), "{references}");
}

const RESEND: &str = "mutation($id: ID!) { resendReferenceRequest(id: $id) { status sentAt } }";
const REVOKE: &str = "mutation($id: ID!) { revokeReferenceRequest(id: $id) { status revokedAt } }";

#[tokio::test]
async fn a_resend_kills_the_old_link_a_revoke_kills_the_new_one_and_links_expire() {
    let app = spawn_app().await.accepting_any_submission().await;
    publish_form(&app).await;
    let maildir = mail::maildir();
    let db = database(&app).await;
    let requests = db.collection::<mongodb::bson::Document>("reference_requests");
    let (id, owner) = create(&app, "resend-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let rater = mail::address("resend");
    let sent = request(&app, &owner, &id, &rater, "COLLEAGUE", false).await;
    let request_id = mongodb::bson::oid::ObjectId::parse_str(sent["id"].as_str().unwrap()).unwrap();
    let first = mail::wait_for(&maildir, &rater, 1, 30).await[0].clone();

    // At most one new link per 12 hours.
    let body = app.graphql(Some(&owner), RESEND, json!({ "id": sent["id"] })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    let thirteen_hours_ago = DateTime::from_millis(DateTime::now().timestamp_millis() - 13 * 3600 * 1000);
    requests.update_one(doc! { "_id": request_id }, doc! { "$set": { "sentAt": thirteen_hours_ago } }).await.unwrap();
    let body = app.graphql(Some(&owner), RESEND, json!({ "id": sent["id"] })).await;
    assert_eq!(body["data"]["resendReferenceRequest"]["status"], "SENT", "{body}");
    let second =
        mail::wait_for(&maildir, &rater, 2, 30).await.into_iter().find(|m| m.message_id != first.message_id).unwrap();
    assert_ne!(second.token(), first.token());
    let (status, _, html) = get_page(&app, &first.link()).await;
    assert_eq!(status, 404, "the old link is dead: {html}");
    assert_eq!(get_page(&app, &second.link()).await.0, 200);

    // Someone else cannot revoke it; the applicant can, and the link dies.
    let other = app.token("someone-else", &[Role::Applicant]);
    let body = app.graphql(Some(&other), REVOKE, json!({ "id": sent["id"] })).await;
    assert_eq!(first_error_code(&body), "NOT_FOUND", "{body}");
    let body = app.graphql(Some(&owner), REVOKE, json!({ "id": sent["id"] })).await;
    assert_eq!(body["data"]["revokeReferenceRequest"]["status"], "REVOKED", "{body}");
    let (status, _, html) = get_page(&app, &second.link()).await;
    assert_eq!(status, 410);
    assert!(html.contains("withdrew"), "{html}");
    let body = app.graphql(None, SUBMIT, json!({ "token": second.token(), "input": rating(0, true) })).await;
    assert_eq!(first_error_code(&body), "CONFLICT");

    // A link past its time shows EXPIRED and opens nothing.
    let rater = mail::address("expiry");
    let sent = request(&app, &owner, &id, &rater, "SUPERVISEE", false).await;
    let link = mail::wait_for(&maildir, &rater, 1, 30).await[0].link();
    let expired_id = mongodb::bson::oid::ObjectId::parse_str(sent["id"].as_str().unwrap()).unwrap();
    requests.update_one(doc! { "_id": expired_id }, doc! { "$set": { "expiresAt": DateTime::now() } }).await.unwrap();
    assert_eq!(get_page(&app, &link).await.0, 410);
    let shown = portfolio(&app, &owner, &id).await;
    let statuses: Vec<&str> =
        shown["referenceRequests"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["REVOKED", "EXPIRED"]);
}

#[tokio::test]
async fn the_page_saves_a_draft_and_submits_without_javascript_and_refuses_cross_site_posts() {
    let app = spawn_app().await.accepting_any_submission().await;
    publish_form(&app).await;
    let (id, owner) = create(&app, "page-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let rater = mail::address("page");
    request(&app, &owner, &id, &rater, "RSC_PROVIDER", false).await;
    let link = mail::wait_for(&mail::maildir(), &rater, 1, 30).await[0].link();
    let html = get_page(&app, &link).await.2;
    let key_at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf: String = html[key_at..].chars().take_while(|c| *c != '"').collect();
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let post = |fields: &[(String, String)], origin: Option<&str>| {
        let mut request = no_redirects.post(&link).form(fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let field = |name: &str, value: &str| (name.to_owned(), value.to_owned());
    let mut fields = vec![
        field("csrf", &csrf),
        field("lang", "en"),
        field("answer.domain-a-1", "4"),
        field("comments", "Draft <b>words</b>"),
        field("action", "save"),
    ];

    // From another site, or without the page's key: refused.
    assert_eq!(post(&fields, Some("https://evil.example")).await.unwrap().status(), 403);
    let mut keyless = fields.clone();
    keyless[0].1 = "forged".into();
    assert_eq!(post(&keyless, None).await.unwrap().status(), 403);

    // Saving keeps the draft and shows it again, escaped.
    let saved = post(&fields, Some(&app.address)).await.unwrap();
    assert_eq!(saved.status(), 303);
    let again = get_page(&app, &format!("{link}?saved=1")).await.2;
    assert!(again.contains("Your draft is saved"), "{again}");
    assert!(again.contains("value=\"4\" checked") && again.contains("Draft &lt;b&gt;words&lt;"), "{again}");
    assert_eq!(portfolio(&app, &owner, &id).await["referenceRequests"][0]["status"], "OPENED");

    // Submitting an incomplete form shows it again with the problem.
    fields.pop();
    fields.push(field("action", "submit"));
    let incomplete = post(&fields, None).await.unwrap();
    assert_eq!(incomplete.status(), 422);
    assert!(incomplete.text().await.unwrap().contains("role=\"alert\""));

    for item in ReferenceForm::placeholder().items.iter().skip(1) {
        fields.push(field(&format!("answer.{}", item.id), "nei"));
    }
    fields.push(field("recommends", "yes"));
    fields.push(field("endorsement", "none"));
    let done = post(&fields, None).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Thank you"));
    let after = portfolio(&app, &owner, &id).await;
    assert_eq!(after["references"][0]["notEnoughInfoCount"], 7);
    assert_eq!(after["references"][0]["raterCredential"], "NONE");
    let references = after["eligibility"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "references")
        .unwrap()
        .clone();
    assert!(references["explanation"].as_str().unwrap().contains("6 or more"), "{references}");
}

#[tokio::test]
async fn applicants_cannot_type_ratings_and_coordinators_import_them_audited() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (id, owner) = create(&app, "typed-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let typed = json!({ "upsert": [{ "entry": { "reference": { "raterName": "Me", "role": "COLLEAGUE", "raterCredential": "NONE", "completedOn": "2025-01-01" } } }] });
    let body = crate::portfolios::change(&app, &owner, &id, 1, typed).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("requestReference"));

    let import = "mutation($id: ID!, $input: ImportedReferenceInput!) { importReferenceRating(portfolioId: $id, input: $input) { version references { id source credentialBasis } } }";
    let input = json!({ "raterName": "Old System Rater", "role": "PROGRAM_SUPERVISOR", "raterCredential": "MENTOR_CLINICAL", "completedOn": "2025-01-01" });
    let body = app.graphql(Some(&owner), import, json!({ "id": id, "input": input })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let coordinator = app.token("coordinator-cy", &[Role::Coordinator]);
    let body = app.graphql(Some(&coordinator), import, json!({ "id": id, "input": input })).await;
    let imported = &body["data"]["importReferenceRating"];
    assert_eq!(imported["references"][0]["source"], "IMPORTED", "{body}");
    assert_eq!(imported["references"][0]["credentialBasis"], "VETTED");
    let entry = imported["references"][0]["id"].as_str().unwrap().to_owned();

    // The applicant cannot drop it either.
    let body = crate::portfolios::change(&app, &owner, &id, 2, json!({ "remove": [entry] })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let db = database(&app).await;
    let audited = db
        .collection::<mongodb::bson::Document>("audit_log")
        .count_documents(doc! { "action": "importReferenceRating", "actor": "coordinator-cy", "outcome": "IMPORTED" })
        .await
        .unwrap();
    assert_eq!(audited, 1);

    // Without a published form, a request says what is missing.
    let input =
        json!({ "raterName": "R", "raterEmail": mail::address("noform"), "role": "COLLEAGUE", "waived": false });
    let body = app.graphql(Some(&owner), REQUEST, json!({ "id": id, "input": input })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("publishReferenceForm"));
}

/// A free loopback port nobody listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_smtp(port: u16, maildir: &std::path::Path) -> std::process::Child {
    let python = crate::helpers::service_env("ENDORSE_TEST_SMTP_BIN");
    for folder in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(folder)).unwrap();
    }
    std::process::Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("aiosmtpd starts")
}

#[tokio::test]
async fn mail_waits_out_an_smtp_server_that_is_down_and_is_delivered_once() {
    let port = free_port();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&["--smtp-url", &smtp, "--outbox-retry-ms", "200", "--outbox-poll-ms", "100"])
        .await
        .accepting_any_submission()
        .await;
    publish_form(&app).await;
    let (id, owner) = create(&app, "down-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let rater = mail::address("down");
    let sent = request(&app, &owner, &id, &rater, "COLLEAGUE", false).await;

    // Nobody listens: the message is retried, and stays queued.
    let outbox = database(&app).await.collection::<mongodb::bson::Document>("outbox");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let message = outbox.find_one(doc! { "toAddress": &rater }).await.unwrap().expect("queued with the request");
        if message.get_i32("attempts").unwrap() >= 2 {
            assert_eq!(message.get_str("status").unwrap(), "PENDING", "{message}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no retry: {message}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The server comes up: the mail is delivered, once, with its link.
    let maildir = tempfile::tempdir().unwrap();
    let mut server = start_smtp(port, maildir.path());
    let mails = mail::wait_for(maildir.path(), &rater, 1, 30).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(mail::to(maildir.path(), &rater).len(), 1, "sent twice");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(get_page(&app, &mails[0].link()).await.0, 200);
    let message = outbox.find_one(doc! { "toAddress": &rater }).await.unwrap().unwrap();
    assert_eq!(message.get_str("status").unwrap(), "SENT");
    assert!(message.get_str("text").unwrap().contains("endorse.invalid"), "the stored body holds no token");
    assert_eq!(portfolio(&app, &owner, &id).await["referenceRequests"][0]["status"], "SENT", "{sent}");
}

#[tokio::test]
async fn a_request_mail_given_up_shows_as_bounced() {
    let smtp = format!("smtp://127.0.0.1:{}", free_port());
    let app = spawn_app_with(&[
        "--smtp-url",
        &smtp,
        "--outbox-max-attempts",
        "2",
        "--outbox-retry-ms",
        "50",
        "--outbox-poll-ms",
        "50",
    ])
    .await;
    publish_form(&app).await;
    let (id, owner) = create(&app, "bounce-owner", "INFANT", "FAMILY_SPECIALIST").await;
    request(&app, &owner, &id, &mail::address("bounce"), "COLLEAGUE", false).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status = portfolio(&app, &owner, &id).await["referenceRequests"][0]["status"].clone();
        if status == "BOUNCED" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_instances_on_one_database_send_each_mail_once() {
    let first = spawn_app().await.accepting_any_submission().await;
    let database_name = first.config.mongodb.database.clone();
    let mut config = test_config(&[]);
    config.mongodb.database = database_name;
    config.s3.bucket = first.config.s3.bucket.clone();
    let second = spawn_app_config(config).await.accepting_any_submission().await;
    publish_form(&first).await;
    let (id, owner) = create(&first, "twin-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let raters: Vec<String> = (0..4).map(|i| mail::address(&format!("twin{i}"))).collect();
    for (i, rater) in raters.iter().enumerate() {
        let app = if i % 2 == 0 { &first } else { &second };
        request(app, &owner, &id, rater, "COLLEAGUE", false).await;
    }
    let maildir = mail::maildir();
    for rater in &raters {
        mail::wait_for(&maildir, rater, 1, 30).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    for rater in &raters {
        assert_eq!(mail::to(&maildir, rater).len(), 1, "{rater} got more than one mail");
    }
}

#[tokio::test]
async fn a_rater_is_reminded_once_when_a_reminder_is_due_with_the_same_link() {
    let app = spawn_app_with(&["--outbox-poll-ms", "100"]).await.accepting_any_submission().await;
    publish_form(&app).await;
    let (id, owner) = create(&app, "remind-owner", "INFANT", "FAMILY_SPECIALIST").await;
    let rater = mail::address("remind");
    let sent = request(&app, &owner, &id, &rater, "COLLEAGUE", false).await;
    let maildir = mail::maildir();
    let first = mail::wait_for(&maildir, &rater, 1, 30).await[0].clone();
    let requests = database(&app).await.collection::<mongodb::bson::Document>("reference_requests");
    let request_id = mongodb::bson::oid::ObjectId::parse_str(sent["id"].as_str().unwrap()).unwrap();
    let stored = requests.find_one(doc! { "_id": request_id }).await.unwrap().unwrap();
    let due = stored.get_datetime("nextReminderAt").unwrap().timestamp_millis()
        - stored.get_datetime("sentAt").unwrap().timestamp_millis();
    assert_eq!(due, 3 * 24 * 3600 * 1000, "the first reminder is due after 3 days");

    // Three days pass (for this request).
    requests
        .update_one(doc! { "_id": request_id }, doc! { "$set": { "nextReminderAt": DateTime::now() } })
        .await
        .unwrap();
    let mails = mail::wait_for(&maildir, &rater, 2, 30).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(mail::to(&maildir, &rater).len(), 2, "reminded once");
    let reminder = mails.iter().find(|m| m.subject.starts_with("Reminder")).expect("a reminder");
    assert_eq!(reminder.link(), first.link(), "the same link: the database never held it");
    assert_eq!(portfolio(&app, &owner, &id).await["referenceRequests"][0]["remindersSent"], 1);
    let stored = requests.find_one(doc! { "_id": request_id }).await.unwrap().unwrap();
    let next = stored.get_datetime("nextReminderAt").unwrap().timestamp_millis()
        - stored.get_datetime("sentAt").unwrap().timestamp_millis();
    assert_eq!(next, 7 * 24 * 3600 * 1000, "the next one after 7 days");
}

#[tokio::test]
async fn a_rater_endorsed_here_is_confirmed_and_a_coordinator_vets_the_others() {
    let app = spawn_app().await.accepting_any_submission().await;
    publish_form(&app).await;
    let maildir = mail::maildir();
    // An endorsed Mentor-Clinical whose address the rater uses.
    let rater = mail::address("endorsed");
    let portfolios = database(&app).await.collection::<mongodb::bson::Document>("portfolios");
    portfolios
        .insert_one(doc! {
            "association": "nys-aimh", "ownerId": "endorsed-person", "status": "ENDORSED", "schemaVersion": 1, "version": 1,
            "applicant": { "name": "Endorsed Person", "email": &rater }, "track": "INFANT", "targetCategory": "MENTOR_CLINICAL",
        })
        .await
        .unwrap();
    let (id, owner) = create(&app, "confirm-owner", "INFANT", "FAMILY_SPECIALIST").await;
    request(&app, &owner, &id, &rater, "PROGRAM_SUPERVISOR", false).await;
    let other = mail::address("stated");
    let stated = request(&app, &owner, &id, &other, "COLLEAGUE", false).await;
    for address in [&rater, &other] {
        let token = mail::wait_for(&maildir, address, 1, 30).await[0].token();
        let mut input = rating(0, true);
        input["endorsedCategory"] = json!("FAMILY_SPECIALIST");
        let body = app.graphql(None, SUBMIT, json!({ "token": token, "input": input })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let shown = portfolio(&app, &owner, &id).await;
    assert_eq!(shown["references"][0]["raterCredential"], "MENTOR_CLINICAL", "the records win over the statement");
    assert_eq!(shown["references"][0]["credentialBasis"], "CONFIRMED");
    assert_eq!(shown["references"][1]["credentialBasis"], "STATED");

    let vet =
        "mutation($id: ID!, $note: String!) { markRaterVetted(id: $id, note: $note) { credentialBasis vettedNote } }";
    let note = json!({ "id": stated["id"], "note": "Called the rater on 2026-12-01; endorsement seen." });
    let body = app.graphql(Some(&owner), vet, note.clone()).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let coordinator = app.token("coordinator-cy", &[Role::Coordinator]);
    let body = app.graphql(Some(&coordinator), vet, note).await;
    assert_eq!(body["data"]["markRaterVetted"]["credentialBasis"], "VETTED", "{body}");
    let shown = portfolio(&app, &owner, &id).await;
    assert_eq!(shown["references"][1]["credentialBasis"], "VETTED");
}
