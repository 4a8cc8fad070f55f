//! The association's own mail templates: admins publish them per kind and
//! language, they are checked before they are accepted, and the mail then
//! sent (through the real SMTP server) uses them, escaped where it is HTML.

use endorse::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app};
use crate::mail;
use crate::portfolios::{SUBMIT, create};

const TEMPLATES: &str =
    "{ mailTemplates { kind language revision custom subject variables preview { subject text } } }";
const PUBLISH: &str = "mutation($input: MailTemplateInput!) { publishMailTemplate(input: $input) {
  kind language revision custom subject publishedBy preview { subject text html } } }";
const RESTORE: &str =
    "mutation { restoreBuiltInMailTemplate(kind: DECISION, language: EN) { revision custom subject } }";

fn template(kind: &str, subject: &str, text: &str, html: &str) -> Value {
    json!({ "input": { "kind": kind, "language": "EN", "subject": subject, "text": text, "html": html } })
}

fn unique(who: &str) -> String {
    format!("{who}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

async fn decide(app: &TestApp, id: &str, version: i64, decision: &str, note: &str) {
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let body = app
        .graphql(
            Some(&reviewer),
            "mutation($id: ID!, $v: Int!, $d: Decision!, $note: String) { decidePortfolio(id: $id, expectedVersion: $v, decision: $d, note: $note) { status } }",
            json!({ "id": id, "v": version, "d": decision, "note": note }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn admins_publish_their_own_wording_and_mail_is_sent_with_it() {
    let app = spawn_app().await.accepting_any_submission().await;
    let admin = app.token("admin-al", &[Role::Admin]);
    let coordinator = app.token("cory", &[Role::Coordinator]);

    // Only admins see and change templates.
    assert_eq!(first_error_code(&app.graphql(Some(&coordinator), TEMPLATES, json!({})).await), "FORBIDDEN");
    let decision = template("DECISION", "{{ association_name }} decided: {{ status_name }}", "t", "h");
    assert_eq!(first_error_code(&app.graphql(Some(&coordinator), PUBLISH, decision).await), "FORBIDDEN");

    // Every kind in every language, built in until published.
    let body = app.graphql(Some(&admin), TEMPLATES, json!({})).await;
    let listed = body["data"]["mailTemplates"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(listed.len(), 16, "eight kinds, two languages: {body}");
    assert!(listed.iter().all(|t| t["custom"] == false && t["revision"] == 0), "{body}");
    let built_in = listed.iter().find(|t| t["kind"] == "DECISION" && t["language"] == "EN").unwrap();
    assert!(built_in["variables"].as_array().unwrap().contains(&json!("status_name")), "{built_in}");
    assert_eq!(built_in["preview"]["subject"], "Your Endorsement portfolio: returned for revision");

    // What would fail later is refused now, naming the part.
    let refused = |body: &Value, field: &str| {
        assert_eq!(first_error_code(body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    };
    let body = app.graphql(Some(&admin), PUBLISH, template("DECISION", "{{ rater_name }}", "t", "h")).await;
    refused(&body, "input.subject");
    let body = app.graphql(Some(&admin), PUBLISH, template("DECISION", "s", "{% for %}", "h")).await;
    refused(&body, "input.text");
    let no_link = template("REFERENCE_REQUEST", "s", "Dear {{ rater_name }}", "<a href=\"{{ link }}\">form</a>");
    refused(&app.graphql(Some(&admin), PUBLISH, no_link).await, "input.text");
    let body = app.graphql(Some(&admin), TEMPLATES, json!({})).await;
    assert!(body["data"]["mailTemplates"].as_array().unwrap().iter().all(|t| t["revision"] == 0), "nothing stored");

    // A good one is published and previewed.
    let html =
        "<p>{{ applicant_name }}: {{ status_name }}.</p>{% if note %}<blockquote>{{ note }}</blockquote>{% endif %}";
    let text = "Hello {{ applicant_name }},\n{{ status_name }}.\n{% if note %}Note: {{ note }}{% endif %}";
    let body = app
        .graphql(
            Some(&admin),
            PUBLISH,
            template("DECISION", "{{ association_name }} decided: {{ status_name }}", text, html),
        )
        .await;
    let published = &body["data"]["publishMailTemplate"];
    assert_eq!(published["revision"], 1, "{body}");
    assert_eq!(published["custom"], true);
    assert_eq!(published["publishedBy"], "admin-al");
    assert!(published["preview"]["subject"].as_str().unwrap().ends_with("decided: returned for revision"), "{body}");

    // A decision now mails the applicant in those words, the HTML escaped.
    let owner = unique("tess");
    let (id, applicant) = create(&app, &owner, "INFANT", "FAMILY_ASSOCIATE").await;
    let body = app.graphql(Some(&applicant), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert!(body["errors"].is_null(), "{body}");
    decide(&app, &id, 2, "RETURN", "Add the <b>2024</b> log.").await;
    let told = mail::wait_for(&mail::maildir(), &format!("{owner}@example.org"), 1, 30).await;
    assert!(told[0].subject.ends_with("decided: returned for revision"), "{:?}", told[0]);
    assert!(told[0].text.contains("Hello Name of") && told[0].text.contains("Note: Add the <b>2024</b> log."));
    assert!(
        told[0].html.contains("<blockquote>Add the &lt;b&gt;2024&lt;&#x2f;b&gt; log.</blockquote>"),
        "{}",
        told[0].html
    );

    // A rater mail in the association's words still carries a working link.
    let request = template(
        "REFERENCE_REQUEST",
        "Reference for {{ applicant_name }}",
        "{{ rater_name }}, please rate here: {{ link }} (until {{ expires_on }})",
        "<a href=\"{{ link }}\">Rate {{ applicant_name }}</a>",
    );
    let body = app.graphql(Some(&admin), PUBLISH, request).await;
    assert!(body["errors"].is_null(), "{body}");
    crate::references::publish_form(&app).await;
    let (other, other_token) = create(&app, &unique("uma"), "INFANT", "FAMILY_ASSOCIATE").await;
    let rater = mail::address("custom");
    let input =
        json!({ "raterName": "Dana Whitfield", "raterEmail": rater, "role": "PROGRAM_SUPERVISOR", "waived": false });
    let body = app
        .graphql(
            Some(&other_token),
            "mutation($id: ID!, $input: ReferenceRequestInput!) { requestReference(portfolioId: $id, input: $input) { id } }",
            json!({ "id": other, "input": input }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let sent = mail::wait_for(&mail::maildir(), &rater, 1, 30).await;
    assert!(sent[0].text.starts_with("Dana Whitfield, please rate here: "), "{}", sent[0].text);
    let link = sent[0].link();
    assert!(link.starts_with(&app.address), "{link}");
    assert!(sent[0].html.contains(&format!("href=\"{link}\"")), "{}", sent[0].html);
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "the link opens the form");

    // Back to the built-in wording: a new revision, nothing lost.
    let body = app.graphql(Some(&admin), RESTORE, json!({})).await;
    assert_eq!(
        body["data"]["restoreBuiltInMailTemplate"],
        json!({ "revision": 2, "custom": false, "subject": "Your Endorsement portfolio: {{ status_name }}" }),
        "{body}"
    );
}
