//! Associations as tenants: a caller of one association gets nothing of
//! another (null, empty or NOT_FOUND exactly as for absent things), through
//! every query, mutation, cursor, id, stats filter, the CSV and the audit
//! log; associations are created by platform admins and run by their own
//! admins; rulebooks are published per association without changing the
//! past; calendars are the association's.

use endorse::auth::Role;
use endorse::domain::association::AssociationCode;
use serde_json::{Value, json};

use crate::evidence::upload;
use crate::helpers::{TestApp, first_error_code, spawn_app, spawn_app_with};
use crate::portfolios::{CHANGE, SUBMIT, create};

const CREATE_ASSOCIATION: &str = "mutation($input: CreateAssociationInput!) {
  createAssociation(input: $input) { code name timeZone }
}";

pub fn token_in(app: &TestApp, subject: &str, roles: &[Role], association: &str) -> String {
    let code = AssociationCode::parse(association).unwrap();
    endorse::auth::jwt::mint_dev_token(&app.config, subject, roles, Some(&code), 3600).expect("token")
}

fn platform_admin(app: &TestApp) -> String {
    endorse::auth::jwt::mint_dev_token(&app.config, "root", &[Role::PlatformAdmin], None, 3600).expect("token")
}

pub async fn create_association(app: &TestApp, code: &str, time_zone: &str, first_admin: &str) -> Value {
    let input = json!({ "code": code, "name": format!("Association {code}"), "timeZone": time_zone, "firstAdmin": first_admin });
    app.graphql(Some(&platform_admin(app)), CREATE_ASSOCIATION, json!({ "input": input })).await
}

/// A submitted NYS portfolio of "ada" with one uploaded file; (portfolio, evidence).
async fn nys_fixture(app: &TestApp) -> (String, String) {
    let (id, token) = create(app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let response = upload(app, &token, &id, "TRANSCRIPT", "t.pdf", endorse::media::testdata::pdf(), true).await;
    let body: Value = response.json().await.unwrap();
    let evidence = body["data"]["uploadEvidence"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    (id, evidence)
}

#[tokio::test]
async fn nothing_of_one_association_reaches_another() {
    let app = spawn_app_with(&["--stats-min-cell", "1"]).await.accepting_any_submission().await;
    assert_eq!(create_association(&app, "ct-aimh", "America/New_York", "ct-admin").await["errors"], Value::Null);
    let (portfolio, evidence) = nys_fixture(&app).await;
    let nys_staff = app.token("nys-coordinator", &[Role::Coordinator, Role::Reporter]);
    let page = app
        .graphql(Some(&nys_staff), "{ portfolios(first: 1) { totalCount pageInfo { endCursor } } }", json!({}))
        .await;
    assert_eq!(page["data"]["portfolios"]["totalCount"], 1, "{page}");
    let cursor = page["data"]["portfolios"]["pageInfo"]["endCursor"].clone();

    // Every role of CT, and the same subject "ada" holding a CT token.
    let everyone = [Role::Applicant, Role::Reviewer, Role::Coordinator, Role::Reporter, Role::Admin];
    let ct = token_in(&app, "ct-staff", &everyone, "ct-aimh");
    let ct_ada = token_in(&app, "ada", &[Role::Applicant], "ct-aimh");
    for token in [&ct, &ct_ada] {
        let body =
            app.graphql(Some(token), "query($id: ID!) { portfolio(id: $id) { id } }", json!({ "id": portfolio })).await;
        assert_eq!(body["data"]["portfolio"], Value::Null, "{body}");
        let body = app
            .graphql(
                Some(token),
                "query($after: String) { portfolios(after: $after) { totalCount edges { node { id } } } }",
                json!({ "after": cursor }),
            )
            .await;
        assert_eq!(body["data"]["portfolios"], json!({ "totalCount": 0, "edges": [] }), "{body}");
        let body = app.graphql(Some(token), "{ portfolios { totalCount } }", json!({})).await;
        assert_eq!(body["data"]["portfolios"]["totalCount"], 0, "{body}");
    }

    // Mutations on B's ids answer as for ids that do not exist.
    let absent = "0123456789abcdef01234567";
    let refused = |body: &Value| first_error_code(body).to_owned();
    for id in [portfolio.as_str(), absent] {
        let change =
            app.graphql(Some(&ct_ada), CHANGE, json!({ "id": id, "v": 2, "changes": { "track": "INFANT" } })).await;
        assert_eq!(refused(&change), "NOT_FOUND", "{change}");
        let submit = app.graphql(Some(&ct_ada), SUBMIT, json!({ "id": id, "v": 2 })).await;
        assert_eq!(refused(&submit), "NOT_FOUND", "{submit}");
        let decide = app
            .graphql(
                Some(&ct),
                "mutation($id: ID!) { decidePortfolio(id: $id, expectedVersion: 2, decision: START_REVIEW) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(refused(&decide), "NOT_FOUND", "{decide}");
        let request = app
            .graphql(
                Some(&ct_ada),
                "mutation($p: ID!) { requestEvidenceUpload(portfolioId: $p, kind: TRANSCRIPT, fileName: \"x.pdf\", contentType: \"application/pdf\", byteSize: 10, sha256: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\") { url } }",
                json!({ "p": id }),
            )
            .await;
        assert_eq!(refused(&request), "NOT_FOUND", "{request}");
    }
    // Evidence: B's ids get exactly what an absent id gets (an applicant
    // may not review at all: FORBIDDEN for both).
    for mutation in [
        "mutation($id: ID!) { reviewEvidence(evidenceId: $id, verified: true) { id } }",
        "mutation($id: ID!) { completeEvidenceUpload(evidenceId: $id) { id } }",
        "mutation($id: ID!) { deleteEvidence(evidenceId: $id) }",
    ] {
        for token in [&ct, &ct_ada] {
            let theirs = app.graphql(Some(token), mutation, json!({ "id": evidence })).await;
            let nobodys = app.graphql(Some(token), mutation, json!({ "id": absent })).await;
            assert_eq!(theirs["errors"][0]["extensions"], nobodys["errors"][0]["extensions"], "{mutation}: {theirs}");
            assert!(["NOT_FOUND", "FORBIDDEN"].contains(&refused(&theirs).as_str()), "{mutation}: {theirs}");
        }
        let staff = app.graphql(Some(&ct), mutation, json!({ "id": evidence })).await;
        assert_eq!(refused(&staff), "NOT_FOUND", "{mutation}: {staff}");
    }

    // Reports: B's counts never include A's portfolios, whatever the filter.
    for filter in [json!(null), json!({ "region": "North" }), json!({ "track": "INFANT", "from": "2000-01-01" })] {
        let body = app
            .graphql(
                Some(&ct),
                "query($f: StatsFilter) { stats(filter: $f) { portfolios evidenceBacklog { key count } } }",
                json!({ "f": filter }),
            )
            .await;
        assert_eq!(body["data"]["stats"]["portfolios"], 0, "{body}");
        let nys = app
            .graphql(
                Some(&nys_staff),
                "query($f: StatsFilter) { stats(filter: $f) { portfolios } }",
                json!({ "f": filter }),
            )
            .await;
        assert_eq!(nys["data"]["stats"]["portfolios"], 1, "{nys}");
    }
    let csv =
        |token: &str| app.client.get(app.url("/reports/stats.csv?track=INFANT")).bearer_auth(token.to_owned()).send();
    let ct_csv = csv(&ct).await.unwrap().text().await.unwrap();
    let nys_csv = csv(&nys_staff).await.unwrap().text().await.unwrap();
    assert!(nys_csv.contains("\r\nportfolios,,,1,false\r\n"), "{nys_csv}");
    assert!(ct_csv.contains("\r\nportfolios,,,0,false\r\n"), "the CSV is per association: {ct_csv}");

    // The audit log: A's records stay A's. B's log holds only B's own
    // attempts on A's ids, each refused (nothing happened).
    let query = "query($t: String) { auditLog(target: $t) { action actor result } }";
    let nys_log = app.graphql(Some(&nys_staff), query, json!({ "t": portfolio })).await;
    let nys_records = nys_log["data"]["auditLog"].as_array().unwrap().clone();
    assert!(nys_records.iter().any(|r| r["action"] == "submitPortfolio" && r["result"] == "ok"), "{nys_log}");
    assert!(nys_records.iter().all(|r| r["result"] == "ok"), "CT's attempts are not in NYS's log: {nys_log}");
    for target in [&portfolio, &evidence] {
        let ct_log = app.graphql(Some(&ct), query, json!({ "t": target })).await;
        let records = ct_log["data"]["auditLog"].as_array().unwrap();
        assert!(!records.is_empty(), "CT's refused attempts are recorded: {ct_log}");
        for record in records {
            assert!(["ct-staff", "ada"].contains(&record["actor"].as_str().unwrap()), "{ct_log}");
            assert_ne!(record["result"], "ok", "{ct_log}");
        }
    }
}

#[tokio::test]
async fn one_person_in_two_associations_has_two_separate_records() {
    let app = spawn_app().await.accepting_any_submission().await;
    create_association(&app, "ct-aimh", "America/New_York", "ct-admin").await;
    let (nys_id, nys_ada) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let ct_ada = token_in(&app, "ada", &[Role::Applicant], "ct-aimh");
    let input = json!({ "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": "Ada" } });
    let body = app.graphql(Some(&ct_ada), crate::portfolios::CREATE, json!({ "input": input })).await;
    let ct_id = body["data"]["createPortfolio"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let ids = |token: String| {
        let app = &app;
        async move {
            let body = app.graphql(Some(&token), "{ portfolios { edges { node { id } } } }", json!({})).await;
            body["data"]["portfolios"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(nys_ada).await, [json!(nys_id)]);
    assert_eq!(ids(ct_ada).await, [json!(ct_id)]);
}

#[tokio::test]
async fn platform_admins_create_associations_and_name_their_first_admin() {
    let app = spawn_app().await.accepting_any_submission().await;
    let applicant = app.token("ada", &[Role::Applicant]);
    let nys_admin = app.token("nys-admin", &[Role::Admin]);
    let input =
        json!({ "code": "ct-aimh", "name": "CT-AIMH", "timeZone": "America/New_York", "firstAdmin": "ct-admin" });
    for token in [&applicant, &nys_admin] {
        let body = app.graphql(Some(token), CREATE_ASSOCIATION, json!({ "input": input })).await;
        assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    }
    let body = create_association(&app, "ct-aimh", "America/New_York", "ct-admin").await;
    assert_eq!(body["data"]["createAssociation"]["code"], "ct-aimh", "{body}");
    assert_eq!(first_error_code(&create_association(&app, "ct-aimh", "America/New_York", "x").await), "CONFLICT");
    assert_eq!(first_error_code(&create_association(&app, "CT AIMH", "America/New_York", "x").await), "BAD_USER_INPUT");
    assert_eq!(first_error_code(&create_association(&app, "mi-aimh", "Mars/Olympus", "x").await), "BAD_USER_INPUT");

    // The first admin holds ADMIN in CT with a token that names no role.
    let first = token_in(&app, "ct-admin", &[], "ct-aimh");
    let body = app.graphql(Some(&first), "{ auditLog { action outcome } }", json!({})).await;
    assert_eq!(body["data"]["auditLog"], json!([{ "action": "createAssociation", "outcome": "CREATED" }]), "{body}");
    let elsewhere = app.token("ct-admin", &[]);
    assert_eq!(
        first_error_code(&app.graphql(Some(&elsewhere), "{ auditLog { action } }", json!({})).await),
        "FORBIDDEN"
    );

    // Who sees which associations.
    let listed = |token: String| {
        let app = &app;
        async move {
            let body = app.graphql(Some(&token), "{ associations { code } }", json!({})).await;
            body["data"]["associations"].clone()
        }
    };
    assert_eq!(listed(platform_admin(&app)).await, json!([{ "code": "ct-aimh" }, { "code": "nys-aimh" }]));
    assert_eq!(listed(first).await, json!([{ "code": "ct-aimh" }]));
}

#[tokio::test]
async fn tokens_must_name_an_association_that_exists() {
    let app = spawn_app().await.accepting_any_submission().await;
    let none = endorse::auth::jwt::mint_dev_token(&app.config, "ada", &[Role::Applicant], None, 3600).unwrap();
    let body = app.graphql(Some(&none), "{ me { subject } }", json!({})).await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{body}");
    let unknown = token_in(&app, "ada", &[Role::Applicant], "zz-aimh");
    let body = app.graphql(Some(&unknown), "{ portfolios { totalCount } }", json!({})).await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{body}");
    let body = app.graphql(Some(&platform_admin(&app)), "{ portfolios { totalCount } }", json!({})).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "a platform admin sees no association's data: {body}");
    let body = app.graphql(Some(&platform_admin(&app)), "{ me { subject association roles } }", json!({})).await;
    assert_eq!(body["data"]["me"], json!({ "subject": "root", "association": null, "roles": ["PLATFORM_ADMIN"] }));
}

/// CT's built-in rulebook with one more version from `effective_from`.
fn ct_rulebook_with(effective_from: &str) -> String {
    let mut rulebook: Value =
        serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rulebooks/ct-aimh.json"))).unwrap();
    let versions = rulebook["versions"].as_array_mut().unwrap();
    let last = versions.last().unwrap()["effectiveFrom"].clone();
    versions.push(json!({ "effectiveFrom": effective_from, "extends": last }));
    rulebook.to_string()
}

#[tokio::test]
async fn admins_publish_rulebooks_that_never_change_the_past() {
    let app = spawn_app().await.accepting_any_submission().await;
    create_association(&app, "ct-aimh", "America/New_York", "ct-admin").await;
    let admin = token_in(&app, "ct-admin", &[], "ct-aimh");
    let publish = "mutation($s: String!) { publishRulebook(source: $s) { association revision versions } }";
    let future = (chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string();

    let coordinator = token_in(&app, "ct-coordinator", &[Role::Coordinator], "ct-aimh");
    let body = app.graphql(Some(&coordinator), publish, json!({ "s": ct_rulebook_with(&future) })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");

    let body = app.graphql(Some(&admin), publish, json!({ "s": ct_rulebook_with(&future) })).await;
    let published = &body["data"]["publishRulebook"];
    assert_eq!(published["revision"], 1, "{body}");
    assert_eq!(published["versions"].as_array().unwrap().last().unwrap(), &json!(format!("ct-aimh@{future}")));
    let rules = app
        .graphql(
            None,
            "query($d: Date) { rulebook(track: INFANT, asOf: $d, association: \"ct-aimh\") { rulebook } }",
            json!({ "d": future }),
        )
        .await;
    assert_eq!(rules["data"]["rulebook"][0]["rulebook"], json!(format!("ct-aimh@{future}")), "{rules}");

    // The past is fixed: a version from yesterday, a changed version in
    // force, another association's rulebook, a malformed one.
    // Two days back in UTC is in the past in every time zone.
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(2)).to_string();
    let body = app.graphql(Some(&admin), publish, json!({ "s": ct_rulebook_with(&yesterday) })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let mut changed: Value = serde_json::from_str(&ct_rulebook_with(&future)).unwrap();
    changed["versions"][0]["examFee"] = json!(999);
    let body = app.graphql(Some(&admin), publish, json!({ "s": changed.to_string() })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    let body = app.graphql(Some(&admin), publish, json!({ "s": endorse::domain::rulebook::NYS_AIMH_JSON })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app.graphql(Some(&admin), publish, json!({ "s": "{\"association\": " })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    // NYS is untouched.
    let nys = app.graphql(None, "{ rulebook(track: INFANT) { rulebook } }", json!({})).await;
    assert!(nys["data"]["rulebook"][0]["rulebook"].as_str().unwrap().starts_with("nys-aimh@"), "{nys}");
}

#[tokio::test]
async fn today_is_the_associations_calendar_day() {
    // UTC+14 and UTC-11: their calendar days always differ.
    let app = spawn_app().await.accepting_any_submission().await;
    create_association(&app, "east-aimh", "Pacific/Kiritimati", "east-admin").await;
    create_association(&app, "west-aimh", "Pacific/Pago_Pago", "west-admin").await;
    let east_today = chrono::Utc::now().with_timezone(&chrono_tz::Pacific::Kiritimati).date_naive().to_string();
    let training = json!({ "upsert": [{ "entry": { "training": { "title": "Today's course", "hours": 3.0, "completedOn": east_today } } }] });
    let mut outcomes = Vec::new();
    for association in ["east-aimh", "west-aimh"] {
        let token = token_in(&app, "ada", &[Role::Applicant], association);
        let input = json!({ "track": "INFANT", "targetCategory": "FAMILY_ASSOCIATE", "applicant": { "name": "Ada" } });
        let body = app.graphql(Some(&token), crate::portfolios::CREATE, json!({ "input": input })).await;
        let id = body["data"]["createPortfolio"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
        let body = app.graphql(Some(&token), CHANGE, json!({ "id": id, "v": 1, "changes": training })).await;
        outcomes.push(body["errors"][0]["extensions"]["code"].clone());
    }
    // East's today is still the future in the west.
    assert_eq!(outcomes, [Value::Null, json!("BAD_USER_INPUT")], "{east_today}");
}

#[tokio::test]
async fn documents_from_before_associations_migrate_to_the_default_one() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (read_first, token) = create(&app, "ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let (migrated_first, ben) = create(&app, "ben", "INFANT", "FAMILY_ASSOCIATE").await;
    let services = endorse::startup::connect(&app.config).await.unwrap();
    let portfolios = services.store().unwrap().database().collection::<mongodb::bson::Document>("portfolios");
    let unset = |id: &str| {
        let oid = mongodb::bson::oid::ObjectId::parse_str(id).unwrap();
        portfolios
            .update_one(mongodb::bson::doc! { "_id": oid }, mongodb::bson::doc! { "$unset": { "association": "" } })
    };
    // As an instance of a build before tenancy writes them during a
    // rolling upgrade, after the new build's start-up migration ran.
    unset(&read_first).await.unwrap();
    unset(&migrated_first).await.unwrap();
    let listed = "{ portfolios { edges { node { id } } } }";
    let body = app.graphql(Some(&token), listed, json!({})).await;
    assert_eq!(body["data"]["portfolios"]["edges"], json!([]), "lists name the association: {body}");

    // Another association never sees them.
    create_association(&app, "ct-aimh", "America/New_York", "ct-admin").await;
    let other = token_in(&app, "ct-admin", &[Role::Admin], "ct-aimh");
    let query = "query($id: ID!) { portfolio(id: $id) { id } }";
    let body = app.graphql(Some(&other), query, json!({ "id": read_first })).await;
    assert_eq!(body["data"]["portfolio"], Value::Null, "{body}");

    // The default association reads one by id, and that read gives it its
    // association: it is listed and can be changed from then on.
    let body = app.graphql(Some(&token), query, json!({ "id": read_first })).await;
    assert_eq!(body["data"]["portfolio"]["id"], json!(read_first), "{body}");
    let body = app.graphql(Some(&token), listed, json!({})).await;
    assert_eq!(body["data"]["portfolios"]["edges"][0]["node"]["id"], json!(read_first), "{body}");
    let stored = portfolios
        .find_one(mongodb::bson::doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(&read_first).unwrap() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_str("association").unwrap(), "nys-aimh");

    // Start-up migrates once per database: a later start does not scan again.
    let once =
        endorse::store::migrate::assign_association_once(services.store().unwrap(), &AssociationCode::nys_aimh())
            .await
            .unwrap();
    assert_eq!(once, None, "start-up ran it already");
    let migrated = endorse::store::migrate::assign_association(services.store().unwrap(), &AssociationCode::nys_aimh())
        .await
        .unwrap();
    assert_eq!(migrated.portfolios, 1, "`endorse migrate` assigns those nobody read");
    let again = endorse::store::migrate::assign_association(services.store().unwrap(), &AssociationCode::nys_aimh())
        .await
        .unwrap();
    assert_eq!(again.total(), 0, "the migration is idempotent");
    let body = app.graphql(Some(&ben), listed, json!({})).await;
    assert_eq!(body["data"]["portfolios"]["edges"][0]["node"]["id"], json!(migrated_first), "{body}");
}

#[tokio::test]
async fn nodes_are_refetched_through_the_same_policy_and_association() {
    let app = spawn_app().await.accepting_any_submission().await;
    create_association(&app, "ct-aimh", "America/New_York", "ct-admin").await;
    let (portfolio, evidence) = nys_fixture(&app).await;
    let query = "query($id: ID!, $ids: [ID!]!) {
      node(id: $id) { __typename id ... on Portfolio { status } }
      nodes(ids: $ids) { __typename id ... on Evidence { kind } }
    }";
    let absent = "0123456789abcdef01234567";
    let variables = json!({ "id": portfolio, "ids": [evidence, portfolio, absent] });
    let owner = app.token("ada", &[Role::Applicant]);
    let body = app.graphql(Some(&owner), query, variables.clone()).await;
    assert_eq!(
        body["data"]["node"],
        json!({ "__typename": "Portfolio", "id": portfolio, "status": "SUBMITTED" }),
        "{body}"
    );
    assert_eq!(
        body["data"]["nodes"],
        json!([{ "__typename": "Evidence", "id": evidence, "kind": "TRANSCRIPT" }, { "__typename": "Portfolio", "id": portfolio }, null])
    );
    // Another applicant of NYS, and every role of CT: as if absent.
    for token in [
        app.token("ben", &[Role::Applicant]),
        token_in(&app, "ct-staff", &[Role::Coordinator, Role::Reviewer], "ct-aimh"),
    ] {
        let body = app.graphql(Some(&token), query, variables.clone()).await;
        assert_eq!(body["data"], json!({ "node": null, "nodes": [null, null, null] }), "{body}");
    }
    let sdl = endorse::graphql::sdl();
    assert!(
        sdl.contains("interface Node") && sdl.contains("type Portfolio implements Node"),
        "the schema declares Node"
    );
}
