//! Renewal over HTTP, on a development clock the tests move: the annual
//! 2026 cycle with its DEI sub-minimum, the 2025-2027 three-year cycle
//! prorated for someone endorsed in 2026, RS/C provision for mentors,
//! renewal by attestation with its fee, reminders and lapse mail through
//! the outbox, lapse (off the registry, the verification says so, the
//! status list follows), reinstatement, and the audit: drawn from a
//! recorded seed (reproduced here), reinstated people always in it,
//! evidence verified by a reviewer before it passes, a failure lapsing
//! the endorsement.

use std::time::Duration;

use endorse::auth::Role;
use endorse::media::testdata;
use serde_json::{Value, json};

use crate::evidence::upload;
use crate::helpers::{TestApp, first_error_code, spawn_app};
use crate::mail::{maildir, to};
use crate::portfolios::change;
use crate::process::endorse_person;

const SET_CLOCK: &str = "mutation($now: DateTime!) { setClock(now: $now) }";
const MINE: &str = "query { endorsements { id number status currentThrough endorsedOn history { status on reason } } }";
const STATUS: &str =
    "query($id: ID!, $asOf: Date, $basis: Basis) { renewalStatus(endorsementId: $id, asOf: $asOf, basis: $basis) {
  cycle { starts ends windowOpens years } windowOpen owedYears providesRsc renewal { id kind }
  requirements { met rulebook requirements { key met title missing progress { current required } } } } }";
const RENEW: &str =
    "mutation($id: ID!, $a: RenewalAttestationInput!) { renewEndorsement(endorsementId: $id, attestation: $a) {
  id kind cycleEnds currentThrough filedOn owedYears cycleYears rules portfolioId } }";
const REINSTATE: &str =
    "mutation($id: ID!, $a: RenewalAttestationInput!) { reinstateEndorsement(endorsementId: $id, attestation: $a) {
  id kind cycleEnds currentThrough } }";
const FEES: &str = "query($id: ID!) { portfolio(id: $id) { version fees { id kind settled } } }";
const DRAW: &str = "mutation($ends: Date!, $seed: String) { drawRenewalAudit(cycleEnds: $ends, seed: $seed) {
  seed sharePercent population drawn reinstated cycleEnds } }";
const AUDIT: &str = "mutation($id: ID!, $o: RenewalAuditOutcome!, $note: String) {
  recordRenewalAudit(renewalId: $id, outcome: $o, note: $note) { id audit { outcome note } } }";

fn attested() -> Value {
    json!({ "trainingEntered": true, "rscEntered": true, "agreementSigned": true, "membershipCurrent": true })
}

fn unique(who: &str) -> String {
    format!("{who}-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

async fn set_clock(app: &TestApp, day: &str) {
    let admin = app.token("clock-admin", &[Role::Admin]);
    // Noon in New York: the association's calendar day is `day`.
    let body = app.graphql(Some(&admin), SET_CLOCK, json!({ "now": format!("{day}T17:00:00Z") })).await;
    assert!(body["errors"].is_null(), "{body}");
}

/// The caller's one endorsement.
async fn endorsement(app: &TestApp, token: &str) -> Value {
    let body = app.graphql(Some(token), MINE, json!({})).await;
    body["data"]["endorsements"][0].clone()
}

/// Waits until the sweep has moved `token`'s endorsement to `status`.
async fn wait_for_status(app: &TestApp, token: &str, status: &str) -> Value {
    for _ in 0..100 {
        let found = endorsement(app, token).await;
        if found["status"] == status {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the endorsement never became {status}: {}", endorsement(app, token).await);
}

async fn portfolio_of(app: &TestApp, token: &str) -> String {
    let body = app.graphql(Some(token), "query { portfolios(first: 1) { edges { node { id } } } }", json!({})).await;
    body["data"]["portfolios"]["edges"][0]["node"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn version(app: &TestApp, token: &str, portfolio: &str) -> i64 {
    let body = app.graphql(Some(token), FEES, json!({ "id": portfolio })).await;
    body["data"]["portfolio"]["version"].as_i64().unwrap_or_else(|| panic!("{body}"))
}

/// Adds entries to an endorsed portfolio; the answer.
async fn add(app: &TestApp, token: &str, portfolio: &str, changes: Value) -> Value {
    let v = version(app, token, portfolio).await;
    change(app, token, portfolio, v, changes).await
}

fn training(hours: f64, on: &str, topics: &[&str]) -> Value {
    json!({ "entry": { "training": { "title": "Continuing education", "hours": hours, "completedOn": on, "topics": topics } } })
}

fn rsc(on: &str, hours: f64) -> Value {
    json!({ "entry": { "reflectiveSupervision": { "date": on, "hours": hours, "format": "INDIVIDUAL", "ageBand": "INFANT",
        "providerName": "Pat Provider", "providerCredential": "MENTOR_CLINICAL" } } })
}

/// A coordinator waives the outstanding fee of `kind` on `portfolio`.
async fn waive(app: &TestApp, owner: &str, portfolio: &str, kind: &str) {
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let body = app.graphql(Some(owner), FEES, json!({ "id": portfolio })).await;
    let charge = body["data"]["portfolio"]["fees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind && f["settled"] == false)
        .unwrap_or_else(|| panic!("no open {kind} charge: {body}"))["id"]
        .clone();
    let waive = "mutation($input: WaiveFeeInput!) { waiveFee(input: $input) { settled } }";
    let body =
        app.graphql(Some(&coordinator), waive, json!({ "input": { "chargeId": charge, "reason": "Hardship" } })).await;
    assert_eq!(body["data"]["waiveFee"]["settled"], true, "{body}");
}

async fn record_membership(app: &TestApp, email: &str) {
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let record = "mutation($input: MembershipRecordInput!) { recordMembership(input: $input) { email } }";
    let input = json!({ "email": email, "name": "Member", "type": "INDIVIDUAL", "validFrom": "2026-01-01", "validUntil": "2031-12-31" });
    let body = app.graphql(Some(&coordinator), record, json!({ "input": input })).await;
    assert!(body["errors"].is_null(), "{body}");
}

/// Waits until a mail to `address` whose subject contains `needle` arrives.
async fn wait_for_subject(address: &str, needle: &str) {
    for _ in 0..300 {
        if to(&maildir(), address).iter().any(|mail| mail.subject.contains(needle)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let subjects: Vec<String> = to(&maildir(), address).into_iter().map(|mail| mail.subject).collect();
    panic!("no mail to {address} about \"{needle}\": {subjects:?}");
}

fn requirement<'a>(status: &'a Value, key: &str) -> &'a Value {
    status["requirements"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_cycles_proration_lapse_reinstatement_and_audit() {
    let app = spawn_app().await;
    let (ada_sub, mo_sub) = (unique("renew-ada"), unique("renew-mo"));
    let (ada_mail, mo_mail) = (format!("{ada_sub}@example.org"), format!("{mo_sub}@example.org"));
    let ada = app.token(&ada_sub, &[Role::Applicant]);
    let mo = app.token(&mo_sub, &[Role::Applicant]);
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let reviewer = app.token("rae", &[Role::Reviewer]);

    // Both endorsed on 1 June 2026: current through the annual 2026 cycle.
    set_clock(&app, "2026-06-01").await;
    endorse_person(&app, &ada_sub, "FAMILY_SPECIALIST").await;
    endorse_person(&app, &mo_sub, "MENTOR_CLINICAL").await;
    record_membership(&app, &ada_mail).await;
    record_membership(&app, &mo_mail).await;
    let ada_endorsement = endorsement(&app, &ada).await;
    let (ada_id, mo_id) = (ada_endorsement["id"].clone(), endorsement(&app, &mo).await["id"].clone());
    assert_eq!(ada_endorsement["currentThrough"], "2026-12-31", "{ada_endorsement}");
    let (ada_portfolio, mo_portfolio) = (portfolio_of(&app, &ada).await, portfolio_of(&app, &mo).await);

    // The 2026 cycle is annual: 15 hours with 1 on DEI, 12 RS/C hours.
    let body = app.graphql(Some(&ada), STATUS, json!({ "id": ada_id })).await;
    let status = &body["data"]["renewalStatus"];
    assert_eq!(
        status["cycle"],
        json!({ "starts": "2026-01-01", "ends": "2026-12-31", "windowOpens": "2026-10-01", "years": 1 }),
        "{body}"
    );
    assert_eq!((status["windowOpen"].clone(), status["owedYears"].clone()), (json!(false), json!(1)), "{body}");
    assert_eq!(requirement(status, "renewal.rsc")["progress"]["required"], 12.0);
    // Outside the window: CONFLICT. Others cannot renew for her.
    assert_eq!(
        first_error_code(&app.graphql(Some(&ada), RENEW, json!({ "id": ada_id, "a": attested() })).await),
        "CONFLICT"
    );
    let body = app.graphql(Some(&coordinator), RENEW, json!({ "id": ada_id, "a": attested() })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");

    // In the window she enters continuing education in her endorsed
    // portfolio; what was reviewed stays as it was.
    set_clock(&app, "2026-10-15").await;
    let body = add(&app, &ada, &ada_portfolio, json!({ "upsert": [training(5.0, "2026-05-01", &[])] })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "before the endorsement: {body}");
    let degree = json!({ "entry": { "education": { "level": "BACHELOR", "field": "Psychology", "relatedField": true, "conferredOn": "2020-05-01", "institution": "U" } } });
    assert_eq!(first_error_code(&add(&app, &ada, &ada_portfolio, json!({ "upsert": [degree] })).await), "CONFLICT");
    let mut upsert = vec![training(16.0, "2026-09-01", &["IECMH"])];
    upsert.extend((7..=10).map(|month| rsc(&format!("2026-{month:02}-01"), 2.0)));
    let body =
        add(&app, &ada, &ada_portfolio, json!({ "upsert": upsert, "agreement": { "signedOn": "2026-10-01" } })).await;
    assert!(body["errors"].is_null(), "{body}");

    // Nothing is filed unattested, nor while a requirement is unmet.
    let mut partial = attested();
    partial["rscEntered"] = json!(false);
    let body = app.graphql(Some(&ada), RENEW, json!({ "id": ada_id, "a": partial })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "attestation.rscEntered", "{body}");
    let body = app.graphql(Some(&ada), RENEW, json!({ "id": ada_id, "a": attested() })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["missing"],
        json!(["renewal.training", "renewal.rsc"]),
        "no DEI hour, 8 of 12 RS/C: {body}"
    );
    let body = add(
        &app,
        &ada,
        &ada_portfolio,
        json!({ "upsert": [training(1.0, "2026-10-02", &["DEI"]), rsc("2026-10-05", 4.0)] }),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    // Then the renewal fee, charged at the first ask.
    let body = app.graphql(Some(&ada), RENEW, json!({ "id": ada_id, "a": attested() })).await;
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["renewalFee"]), "{body}");
    waive(&app, &ada, &ada_portfolio, "RENEWAL").await;
    let body = app.graphql(Some(&ada), RENEW, json!({ "id": ada_id, "a": attested() })).await;
    let renewed = &body["data"]["renewEndorsement"];
    assert_eq!(
        (renewed["kind"].clone(), renewed["cycleEnds"].clone(), renewed["currentThrough"].clone()),
        (json!("RENEWAL"), json!("2026-12-31"), json!("2027-12-31")),
        "{body}"
    );
    assert_eq!(
        first_error_code(&app.graphql(Some(&ada), RENEW, json!({ "id": ada_id, "a": attested() })).await),
        "CONFLICT"
    );

    // The 2027 cycle covers 2025-2027 and is prorated: endorsed 1 June
    // 2026, two whole years at the deadline, so 2/3 of 45 and of 36 hours.
    let body = app.graphql(Some(&ada), STATUS, json!({ "id": ada_id, "asOf": "2027-10-15" })).await;
    let status = &body["data"]["renewalStatus"];
    assert_eq!(
        status["cycle"],
        json!({ "starts": "2025-01-01", "ends": "2027-12-31", "windowOpens": "2027-10-01", "years": 3 })
    );
    assert_eq!(status["owedYears"], 2, "{body}");
    let training_req = requirement(status, "renewal.training");
    assert_eq!(training_req["progress"], json!({ "current": 17.0, "required": 30.0 }), "the 2026 hours count: {body}");
    assert!(training_req["title"].as_str().unwrap().contains("prorated: 2 of 3 years"));
    assert_eq!(requirement(status, "renewal.rsc")["progress"]["required"], 24.0);
    assert_eq!(status["providesRsc"], false);
    // A Mentor-Clinical provides RS/C: 9 hours on providing it, prorated to 6.
    let body = app.graphql(Some(&mo), STATUS, json!({ "id": mo_id, "asOf": "2027-10-15" })).await;
    let status = &body["data"]["renewalStatus"];
    assert_eq!(status["providesRsc"], true, "{body}");
    assert_eq!(requirement(status, "renewal.training.rsc-provision")["progress"]["required"], 6.0);

    // Mo does not renew 2026: lapsed from 1 January 2027, mailed, off the
    // registry, and the verification says since when and why.
    set_clock(&app, "2027-01-02").await;
    let lapsed = wait_for_status(&app, &mo, "LAPSED").await;
    let last = lapsed["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["on"].clone(), last["reason"].clone()), (json!("2027-01-01"), json!("Not renewed by 2026-12-31")));
    wait_for_subject(&mo_mail, "has lapsed").await;
    let number = lapsed["number"].as_str().unwrap();
    let verify: Value =
        app.client.get(app.url(&format!("/verify/{number}?format=json"))).send().await.unwrap().json().await.unwrap();
    assert_eq!((verify["status"].clone(), verify["current"].clone()), (json!("LAPSED"), json!(false)), "{verify}");
    let registry = "query { registry(association: \"nys-aimh\") { edges { node { number } } } }";
    let listed = app.graphql(None, registry, json!({})).await.to_string();
    assert!(!listed.contains(number) && listed.contains(ada_endorsement["number"].as_str().unwrap()), "{listed}");
    // Lapsed is not renewed; it is reinstated: 15 hours in the past 12
    // months, a current RS/C provider, the agreement, membership, the fee.
    assert_eq!(
        first_error_code(&app.graphql(Some(&mo), RENEW, json!({ "id": mo_id, "a": attested() })).await),
        "CONFLICT"
    );
    let body = app.graphql(Some(&mo), REINSTATE, json!({ "id": mo_id, "a": attested() })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["missing"],
        json!(["reinstatement.training", "reinstatement.agreement", "reinstatement.rsc"]),
        "{body}"
    );
    let entries = json!({ "upsert": [training(15.0, "2026-12-01", &[]), rsc("2026-11-01", 2.0)], "agreement": { "signedOn": "2027-01-02" } });
    assert!(add(&app, &mo, &mo_portfolio, entries).await["errors"].is_null());
    let body = app.graphql(Some(&mo), REINSTATE, json!({ "id": mo_id, "a": attested() })).await;
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["reinstatementFee"]), "{body}");
    waive(&app, &mo, &mo_portfolio, "REINSTATEMENT").await;
    let body = app.graphql(Some(&mo), REINSTATE, json!({ "id": mo_id, "a": attested() })).await;
    assert_eq!(body["data"]["reinstateEndorsement"]["currentThrough"], "2027-12-31", "{body}");
    let mo_reinstatement = body["data"]["reinstateEndorsement"]["id"].as_str().unwrap().to_owned();
    assert_eq!(endorsement(&app, &mo).await["status"], "CURRENT");

    // The 2027 window: a reminder reaches those not yet renewed; Ada
    // completes her prorated hours and renews through 2030.
    set_clock(&app, "2027-10-20").await;
    wait_for_subject(&mo_mail, "Renew your Endorsement by 2027-12-31").await;
    let upsert = json!({ "upsert": [training(13.0, "2027-03-01", &[]), rsc("2027-02-01", 6.0), rsc("2027-05-01", 6.0)],
        "agreement": { "signedOn": "2027-10-01" } });
    assert!(add(&app, &ada, &ada_portfolio, upsert).await["errors"].is_null());
    let body = app.graphql(Some(&ada), RENEW, json!({ "id": ada_id, "a": attested() })).await;
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["renewalFee"]), "{body}");
    waive(&app, &ada, &ada_portfolio, "RENEWAL").await;
    let body = app.graphql(Some(&ada), RENEW, json!({ "id": ada_id, "a": attested() })).await;
    let renewed = body["data"]["renewEndorsement"].clone();
    assert_eq!(
        (renewed["owedYears"].clone(), renewed["currentThrough"].clone()),
        (json!(2), json!("2030-12-31")),
        "{body}"
    );
    let ada_renewal = renewed["id"].as_str().unwrap().to_owned();
    // Mo renews too, as a provider of RS/C: 6 of his 30 hours on providing it.
    let upsert = json!({ "upsert": [training(24.0, "2027-02-01", &["IECMH"]), training(6.0, "2027-03-01", &["RSC_PROVISION"]),
        rsc("2027-02-01", 6.0), rsc("2027-04-01", 6.0), rsc("2027-06-01", 6.0), rsc("2027-08-01", 6.0)] });
    assert!(add(&app, &mo, &mo_portfolio, upsert).await["errors"].is_null());
    assert_eq!(
        app.graphql(Some(&mo), RENEW, json!({ "id": mo_id, "a": attested() })).await["errors"][0]["extensions"]["missing"],
        json!(["renewalFee"])
    );
    waive(&app, &mo, &mo_portfolio, "RENEWAL").await;
    let body = app.graphql(Some(&mo), RENEW, json!({ "id": mo_id, "a": attested() })).await;
    let mo_renewal = body["data"]["renewEndorsement"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();

    // After the window closes the audit is drawn from a recorded seed,
    // once: the association's share of the renewals filed (here all of
    // them), plus every reinstatement.
    let too_early = app.graphql(Some(&coordinator), DRAW, json!({ "ends": "2027-12-31", "seed": "board" })).await;
    assert_eq!(first_error_code(&too_early), "CONFLICT", "{too_early}");
    let admin = app.token("settings-admin", &[Role::Admin]);
    let share = "mutation { updateAssociationSettings(input: { renewalAuditPercent: 100 }) { renewalAuditPercent } }";
    let body = app.graphql(Some(&admin), share, json!({})).await;
    assert_eq!(body["data"]["updateAssociationSettings"]["renewalAuditPercent"], 100, "{body}");
    set_clock(&app, "2028-01-05").await;
    assert_eq!(first_error_code(&app.graphql(Some(&ada), DRAW, json!({ "ends": "2027-12-31" })).await), "FORBIDDEN");
    let body = app.graphql(Some(&coordinator), DRAW, json!({ "ends": "2027-12-31", "seed": "board-2028" })).await;
    let draw = &body["data"]["drawRenewalAudit"];
    let mut population = vec![ada_renewal.clone(), mo_renewal.clone()];
    population.sort();
    assert_eq!(draw["population"], json!(population), "{body}");
    let expected = endorse::domain::renewal::audit_sample("board-2028", &population, 100);
    assert_eq!(draw["drawn"], json!(expected), "the draw is reproducible from its seed");
    assert_eq!((draw["seed"].clone(), draw["sharePercent"].clone()), (json!("board-2028"), json!(100)));
    assert_eq!(draw["reinstated"], json!([mo_reinstatement]));
    assert_eq!(
        first_error_code(&app.graphql(Some(&coordinator), DRAW, json!({ "ends": "2027-12-31" })).await),
        "CONFLICT"
    );

    // Ada's audit passes only once verified evidence covers the cycle.
    let queue = app.graphql(Some(&reviewer), "query { renewalAuditQueue { id } }", json!({})).await;
    assert_eq!(queue["data"]["renewalAuditQueue"].as_array().map(Vec::len), Some(3), "{queue}");
    let body = app.graphql(Some(&reviewer), AUDIT, json!({ "id": ada_renewal, "o": "PASSED" })).await;
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["renewal.training", "renewal.agreement"]), "{body}");
    let mut linked = Vec::new();
    for kind in ["TRAINING_CERTIFICATE", "ETHICS_AGREEMENT"] {
        let response = upload(&app, &ada, &ada_portfolio, kind, "evidence.pdf", testdata::pdf(), true).await;
        let uploaded: Value = response.json().await.unwrap();
        let id = uploaded["data"]["uploadEvidence"]["id"].as_str().unwrap_or_else(|| panic!("{uploaded}")).to_owned();
        let review = "mutation($id: ID!) { reviewEvidence(evidenceId: $id, verified: true) { status } }";
        let body = app.graphql(Some(&reviewer), review, json!({ "id": id })).await;
        assert_eq!(body["data"]["reviewEvidence"]["status"], "VERIFIED", "{body}");
        linked.push(id);
    }
    // Evidence may be linked to entries already attested.
    let read = "query($id: ID!) { portfolio(id: $id) { training { id title hours completedOn topics } agreement { signedOn } } }";
    let body = app.graphql(Some(&ada), read, json!({ "id": ada_portfolio })).await;
    let trainings: Vec<Value> = body["data"]["portfolio"]["training"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            json!({ "id": t["id"], "entry": { "training": { "title": t["title"], "hours": t["hours"],
            "completedOn": t["completedOn"], "topics": t["topics"], "evidenceIds": [linked[0]] } } })
        })
        .collect();
    let links = json!({ "upsert": trainings, "agreement": { "signedOn": "2027-10-01", "evidenceIds": [linked[1]] } });
    let body = add(&app, &ada, &ada_portfolio, links).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app.graphql(Some(&reviewer), AUDIT, json!({ "id": ada_renewal, "o": "PASSED" })).await;
    assert_eq!(body["data"]["recordRenewalAudit"]["audit"]["outcome"], "PASSED", "{body}");

    // Mo's renewal audit fails: the endorsement lapses.
    let body = app.graphql(Some(&reviewer), AUDIT, json!({ "id": mo_renewal, "o": "FAILED" })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "note", "{body}");
    let body = app
        .graphql(Some(&reviewer), AUDIT, json!({ "id": mo_renewal, "o": "FAILED", "note": "No certificates." }))
        .await;
    assert_eq!(body["data"]["recordRenewalAudit"]["audit"]["outcome"], "FAILED", "{body}");
    let mo_now = endorsement(&app, &mo).await;
    assert_eq!(mo_now["status"], "LAPSED", "{mo_now}");
    let reason = mo_now["history"].as_array().unwrap().last().unwrap()["reason"].clone();
    assert!(reason.as_str().unwrap().contains("No certificates."), "{reason}");
    assert_eq!(endorsement(&app, &ada).await["status"], "CURRENT");
}

#[tokio::test]
async fn the_clock_cannot_be_set_by_anyone_but_an_admin() {
    let app = spawn_app().await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let body = app.graphql(Some(&coordinator), SET_CLOCK, json!({ "now": "2027-10-15T17:00:00Z" })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_status_lapses_after_two_years_without_reactivation() {
    let app = spawn_app().await;
    let subject = unique("inactive-ina");
    let ina = app.token(&subject, &[Role::Applicant]);
    let coordinator = app.token("cora", &[Role::Coordinator]);
    set_clock(&app, "2026-06-01").await;
    endorse_person(&app, &subject, "FAMILY_ASSOCIATE").await;
    let id = endorsement(&app, &ina).await["id"].clone();
    let change = "mutation($id: ID!) { changeEndorsementStatus(endorsementId: $id, status: INACTIVE, reason: \"On leave\") { status } }";
    let body = app.graphql(Some(&coordinator), change, json!({ "id": id })).await;
    assert_eq!(body["data"]["changeEndorsementStatus"]["status"], "INACTIVE", "{body}");
    // Past its deadline it stays inactive (not lapsed) until two years are up.
    set_clock(&app, "2028-05-31").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(endorsement(&app, &ina).await["status"], "INACTIVE");
    set_clock(&app, "2028-06-01").await;
    let lapsed = wait_for_status(&app, &ina, "LAPSED").await;
    let last = lapsed["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["on"], "2028-06-01", "{lapsed}");
    assert!(last["reason"].as_str().unwrap().contains("Inactive since 2026-06-01"), "{lapsed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_endorsements_portfolio_takes_no_more_entries() {
    let app = spawn_app().await;
    let subject = unique("revoked-rex");
    let rex = app.token(&subject, &[Role::Applicant]);
    let coordinator = app.token("cora", &[Role::Coordinator]);
    set_clock(&app, "2026-06-01").await;
    endorse_person(&app, &subject, "FAMILY_ASSOCIATE").await;
    let portfolio = portfolio_of(&app, &rex).await;
    let entry = json!({ "upsert": [training(2.0, "2026-06-01", &[])] });
    assert!(add(&app, &rex, &portfolio, entry.clone()).await["errors"].is_null(), "continuing education is taken");
    let id = endorsement(&app, &rex).await["id"].clone();
    let revoke = "mutation($id: ID!) { changeEndorsementStatus(endorsementId: $id, status: REVOKED, reason: \"Ethics finding\") { status } }";
    assert_eq!(
        app.graphql(Some(&coordinator), revoke, json!({ "id": id })).await["data"]["changeEndorsementStatus"]["status"],
        "REVOKED"
    );
    let body = add(&app, &rex, &portfolio, entry).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    let response = upload(&app, &rex, &portfolio, "TRAINING_CERTIFICATE", "late.pdf", testdata::pdf(), true).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
}
