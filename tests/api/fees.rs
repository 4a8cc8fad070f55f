//! Registration, the submission gate and fees, under the association's
//! default settings: registering charges the fee in force, one open
//! application per person, submission waits for the requirements and the
//! processing fee, staff record payments, waivers and refunds, and the
//! payment provider's signed webhook records a payment once.

use endorse::auth::Role;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, first_error_code, spawn_app_with};
use crate::portfolios::{SUBMIT, create};

const WEBHOOK_SECRET: &str = "whsec_endorse_tests_0123456789abcdef0123";

const REGISTER: &str = "mutation($input: CreatePortfolioInput!) {
  registerForEndorsement(input: $input) {
    id version status targetCategory
    registration { category track registeredOn open incompleteSubmissionAllowed }
    fees { id kind amount { cents currency formatted } outstanding { cents } refundable settled }
  }
}";

const FEES: &str = "query($id: ID!) { portfolio(id: $id) {
  status fees { id kind amount { cents } paid { cents } waived { cents } refunded { cents } outstanding { cents } settled
    movements { kind amount { cents } reason reference } }
} }";

const WAIVE: &str =
    "mutation($input: WaiveFeeInput!) { waiveFee(input: $input) { outstanding { cents } waived { cents } } }";
const PAY: &str =
    "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { outstanding { cents } paid { cents } } }";
const REFUND: &str = "mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { outstanding { cents } refunded { cents } } }";
const DECIDE: &str = "mutation($id: ID!, $v: Int!, $d: Decision!) {
  decidePortfolio(id: $id, expectedVersion: $v, decision: $d) { status version }
}";

async fn app() -> TestApp {
    spawn_app_with(&["--payment-webhook-secret", WEBHOOK_SECRET]).await
}

async fn register(app: &TestApp, owner: &str, category: &str) -> (Value, String) {
    let token = app.token(owner, &[Role::Applicant]);
    let input = json!({ "track": "INFANT", "targetCategory": category,
        "applicant": { "name": format!("Name of {owner}"), "email": format!("{owner}@example.org") } });
    let body = app.graphql(Some(&token), REGISTER, json!({ "input": input })).await;
    (body, token)
}

fn charge<'a>(fees: &'a Value, kind: &str) -> &'a Value {
    fees.as_array().and_then(|all| all.iter().find(|fee| fee["kind"] == kind)).unwrap_or(&Value::Null)
}

async fn fees_of(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app.graphql(Some(token), FEES, json!({ "id": id })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["portfolio"]["fees"].clone()
}

/// Posts a Stripe-shaped event to the webhook, signed at `timestamp` with
/// `secret` (HMAC-SHA256 of "{t}.{body}", computed here independently).
async fn deliver(app: &TestApp, secret: &str, timestamp: i64, event: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(event).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&body);
    let signature = hex::encode(mac.finalize().into_bytes());
    let response = app
        .client
        .post(app.url("/webhooks/payments/nys-aimh"))
        .header("content-type", "application/json")
        .header("stripe-signature", format!("t={timestamp},v1={signature}"))
        .body(body)
        .send()
        .await
        .expect("the webhook answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn payment_event(event_id: &str, charge_id: &str, cents: i64) -> Value {
    json!({ "id": event_id, "object": "event", "type": "payment_intent.succeeded",
        "data": { "object": { "id": format!("pi_{event_id}"), "object": "payment_intent",
            "amount_received": cents, "currency": "usd", "metadata": { "charge_id": charge_id } } } })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_charges_the_fee_in_force_and_one_application_stays_open() {
    let app = app().await;
    let (body, token) = register(&app, "reg-ada", "FAMILY_ASSOCIATE").await;
    let portfolio = &body["data"]["registerForEndorsement"];
    assert_eq!(portfolio["status"], "DRAFT", "{body}");
    assert_eq!(portfolio["registration"]["category"], "FAMILY_ASSOCIATE");
    assert_eq!(portfolio["registration"]["open"], true);
    let registration = charge(&portfolio["fees"], "REGISTRATION");
    assert_eq!(registration["amount"], json!({ "cents": 1500, "currency": "USD", "formatted": "$15.00" }), "{body}");
    assert_eq!(registration["refundable"], false);
    assert_eq!(registration["settled"], false);
    let id = portfolio["id"].as_str().unwrap().to_owned();

    // A second registration, in any category, while this one is open.
    let (body, _) = register(&app, "reg-ada", "MENTAL_HEALTH_SPECIALIST").await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");

    // A registered portfolio keeps its category.
    let body = crate::portfolios::change(&app, &token, &id, 1, json!({ "targetCategory": "FAMILY_SPECIALIST" })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");

    // A portfolio never registered cannot be submitted.
    let (draft, other) = create(&app, "reg-bea", "INFANT", "FAMILY_ASSOCIATE").await;
    let body = app.graphql(Some(&other), SUBMIT, json!({ "id": draft, "v": 1 })).await;
    assert_eq!(first_error_code(&body), "FAILED_PRECONDITION", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["registration"]));

    // Mental Health Specialist registration is $25; the schedule says so too.
    let (body, _) = register(&app, "reg-cal", "MENTAL_HEALTH_SPECIALIST").await;
    let fees = &body["data"]["registerForEndorsement"]["fees"];
    assert_eq!(charge(fees, "REGISTRATION")["amount"]["cents"], 2500, "{body}");
    let body = app
        .graphql(Some(&token), "{ feeSchedule { fees { kind categories amount { cents } payee } } }", json!({}))
        .await;
    let schedule = body["data"]["feeSchedule"]["fees"].as_array().expect("fees in force").clone();
    let processing_mhs = schedule
        .iter()
        .find(|fee| fee["kind"] == "PROCESSING" && fee["categories"] == json!(["MENTAL_HEALTH_SPECIALIST"]))
        .expect("a processing fee for MHS");
    assert_eq!(processing_mhs["amount"]["cents"], 30000);
    let exam = schedule.iter().find(|fee| fee["kind"] == "EXAM").expect("the exam fee");
    assert_eq!((exam["amount"]["cents"].clone(), exam["payee"].clone()), (json!(24000), json!("ALLIANCE")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submission_waits_for_the_requirements_then_for_the_processing_fee() {
    let app = app().await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let (body, token) = register(&app, "sub-dee", "FAMILY_ASSOCIATE").await;
    let id = body["data"]["registerForEndorsement"]["id"].as_str().unwrap().to_owned();

    // Nothing entered: refused with the unmet requirements, and nothing charged.
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(first_error_code(&body), "FAILED_PRECONDITION", "{body}");
    let missing = body["errors"][0]["extensions"]["missing"].as_array().expect("missing").clone();
    assert!(!missing.is_empty() && !missing.contains(&json!("processingFee")), "{body}");
    assert!(charge(&fees_of(&app, &token, &id).await, "PROCESSING").is_null());

    // Only staff let an incomplete portfolio through, and with a reason.
    let allow = "mutation($id: ID!, $reason: String!) { allowIncompleteSubmission(portfolioId: $id, reason: $reason) { incompleteSubmissionAllowed } }";
    let body = app.graphql(Some(&token), allow, json!({ "id": id, "reason": "mine" })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let body = app.graphql(Some(&coordinator), allow, json!({ "id": id, "reason": "  " })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app.graphql(Some(&coordinator), allow, json!({ "id": id, "reason": "Transcript by post" })).await;
    assert_eq!(body["data"]["allowIncompleteSubmission"]["incompleteSubmissionAllowed"], "Transcript by post");

    // Now the processing fee: charged once, however often submission is asked.
    for _ in 0..2 {
        let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
        assert_eq!(first_error_code(&body), "FAILED_PRECONDITION", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["processingFee"]), "{body}");
    }
    let fees = fees_of(&app, &token, &id).await;
    assert_eq!(fees.as_array().unwrap().iter().filter(|fee| fee["kind"] == "PROCESSING").count(), 1, "{fees}");
    let processing = charge(&fees, "PROCESSING").clone();
    assert_eq!(processing["amount"]["cents"], 2500);
    let charge_id = processing["id"].as_str().unwrap().to_owned();

    // Applicants do not record their own payments; staff reduce with a reason.
    let body = app.graphql(Some(&token), PAY, json!({ "input": { "chargeId": charge_id, "amountCents": 2500 } })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .graphql(
            Some(&coordinator),
            WAIVE,
            json!({ "input": { "chargeId": charge_id, "amountCents": 1000, "reason": "" } }),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app
        .graphql(
            Some(&coordinator),
            WAIVE,
            json!({ "input": { "chargeId": charge_id, "amountCents": 1000, "reason": "Cost is a barrier" } }),
        )
        .await;
    assert_eq!(body["data"]["waiveFee"], json!({ "outstanding": { "cents": 1500 }, "waived": { "cents": 1000 } }));
    let body =
        app.graphql(Some(&coordinator), PAY, json!({ "input": { "chargeId": charge_id, "amountCents": 2000 } })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "more than is owed: {body}");

    // The provider's webhook: a bad signature, a replay and an unknown
    // charge change nothing; the payment counts once however often it comes.
    let event = payment_event("evt_sub_1", &charge_id, 1500);
    let (status, _) = deliver(&app, "whsec_not_the_secret_0123456789abcdef01", now(), &event).await;
    assert_eq!(status, 400, "a bad signature");
    let (status, _) = deliver(&app, WEBHOOK_SECRET, now() - 3600, &event).await;
    assert_eq!(status, 400, "a replay of an old delivery");
    let unknown = payment_event("evt_sub_0", &mongodb::bson::oid::ObjectId::new().to_hex(), 1500);
    let (status, _) = deliver(&app, WEBHOOK_SECRET, now(), &unknown).await;
    assert_eq!(status, 422, "a charge that does not exist");
    assert_eq!(charge(&fees_of(&app, &token, &id).await, "PROCESSING")["paid"]["cents"], 0);
    let (status, answer) = deliver(&app, WEBHOOK_SECRET, now(), &event).await;
    assert_eq!((status, answer["received"].clone()), (200, json!(true)), "{answer}");
    let (status, answer) = deliver(&app, WEBHOOK_SECRET, now(), &event).await;
    assert_eq!((status, answer["duplicate"].clone()), (200, json!(true)), "{answer}");
    let ignored = json!({ "id": "evt_other", "type": "customer.created", "data": { "object": { "id": "cus_1" } } });
    assert_eq!(deliver(&app, WEBHOOK_SECRET, now(), &ignored).await.0, 200, "other events are acknowledged");
    let processing = charge(&fees_of(&app, &token, &id).await, "PROCESSING").clone();
    assert_eq!(processing["paid"]["cents"], 1500, "{processing}");
    assert_eq!(processing["settled"], true);
    let kinds: Vec<&str> =
        processing["movements"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["WAIVER", "PAYMENT"]);
    assert_eq!(processing["movements"][1]["reference"], "pi_evt_sub_1");

    // Settled: the portfolio goes in.
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");

    // Registration fees are never refunded; others within what was paid.
    let fees = fees_of(&app, &token, &id).await;
    let registration_id = charge(&fees, "REGISTRATION")["id"].as_str().unwrap().to_owned();
    let refund = |charge: &str, cents: i64| json!({ "input": { "chargeId": charge, "amountCents": cents, "reason": "Withdrawn in time" } });
    let body = app.graphql(Some(&coordinator), REFUND, refund(&registration_id, 100)).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    let body = app.graphql(Some(&coordinator), REFUND, refund(&charge_id, 1600)).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app.graphql(Some(&coordinator), REFUND, refund(&charge_id, 500)).await;
    assert_eq!(body["data"]["refundPayment"], json!({ "outstanding": { "cents": 500 }, "refunded": { "cents": 500 } }));

    // Every movement is in the audit log.
    let body = app.graphql(Some(&coordinator), "{ auditLog(first: 50) { action outcome } }", json!({})).await;
    let outcomes: Vec<String> = body["data"]["auditLog"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .filter_map(|record| record["outcome"].as_str().map(str::to_owned))
        .collect();
    for outcome in ["REGISTERED", "PROCESSING_CHARGED", "WAIVED", "PAYMENT_RECORDED", "REFUNDED"] {
        assert!(outcomes.iter().any(|o| o == outcome), "{outcome} missing from {outcomes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_association_may_take_the_fee_before_approval_instead() {
    let app = app().await;
    let admin = app.token("ada-admin", &[Role::Admin]);
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let body = app
        .graphql(
            Some(&admin),
            "mutation { updateAssociationSettings(input: { processingFeeDue: BEFORE_APPROVAL, allowIncompleteSubmissions: true }) { processingFeeDue allowIncompleteSubmissions requireRegistration } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["updateAssociationSettings"],
        json!({ "processingFeeDue": "BEFORE_APPROVAL", "allowIncompleteSubmissions": true, "requireRegistration": true }),
        "{body}"
    );
    let body = app
        .graphql(
            Some(&coordinator),
            "mutation { updateAssociationSettings(input: { requireRegistration: false }) { code } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");

    let (body, token) = register(&app, "apr-eve", "FAMILY_SPECIALIST").await;
    let id = body["data"]["registerForEndorsement"]["id"].as_str().unwrap().to_owned();
    let body = app.graphql(Some(&token), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");

    let decide = |v: i64, d: &str| json!({ "id": id, "v": v, "d": d });
    let body = app.graphql(Some(&coordinator), DECIDE, decide(2, "APPROVE")).await;
    assert_eq!(first_error_code(&body), "FAILED_PRECONDITION", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["processingFee"]));
    let fees = fees_of(&app, &token, &id).await;
    assert_eq!(charge(&fees, "PROCESSING")["amount"]["cents"], 10000, "{fees}");
    let waive = json!({ "input": { "chargeId": charge(&fees, "PROCESSING")["id"], "reason": "Scholarship" } });
    let body = app.graphql(Some(&coordinator), WAIVE, waive).await;
    assert_eq!(body["data"]["waiveFee"]["outstanding"]["cents"], 0, "waived in full: {body}");
    let body = app.graphql(Some(&coordinator), DECIDE, decide(2, "APPROVE")).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "APPROVED", "{body}");

    // Endorsement waits for every fee: the registration fee is still owed.
    let body = app.graphql(Some(&coordinator), DECIDE, decide(3, "ENDORSE")).await;
    assert_eq!(body["errors"][0]["extensions"]["missing"], json!(["registrationFee"]), "{body}");
    let pay = json!({ "input": { "chargeId": charge(&fees, "REGISTRATION")["id"], "amountCents": 1500, "reference": "cheque 1042" } });
    let body = app.graphql(Some(&coordinator), PAY, pay).await;
    assert_eq!(body["data"]["recordPayment"]["outstanding"]["cents"], 0, "{body}");
    let body = app.graphql(Some(&coordinator), DECIDE, decide(3, "ENDORSE")).await;
    assert_eq!(body["data"]["decidePortfolio"]["status"], "ENDORSED", "{body}");

    // The endorsement is a record: numbered, current through the end of its
    // renewal cycle, with its history; the endorsee lists their own.
    let today = chrono::Utc::now().with_timezone(&chrono_tz::America::New_York).date_naive();
    let through = endorse::domain::renewal::nys_aimh().cycle(today).ends.to_string();
    let read = "query($id: ID!) { portfolio(id: $id) { endorsement { number code endorsedOn currentThrough status history { status on } } } }";
    let body = app.graphql(Some(&token), read, json!({ "id": id })).await;
    assert_eq!(
        body["data"]["portfolio"]["endorsement"],
        json!({ "number": "NYS-AIMH-IFS-000001", "code": "IFS", "endorsedOn": today.to_string(), "currentThrough": through,
            "status": "CURRENT", "history": [{ "status": "CURRENT", "on": today.to_string() }] }),
        "{body}"
    );
    let body = app.graphql(Some(&token), "{ endorsements { number } }", json!({})).await;
    assert_eq!(body["data"]["endorsements"], json!([{ "number": "NYS-AIMH-IFS-000001" }]), "{body}");
    let body = app.graphql(Some(&token), "{ endorsements(subject: \"someone-else\") { number } }", json!({})).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");

    // Endorsed: the application is closed, and the next one may start.
    let (body, _) = register(&app, "apr-eve", "MENTAL_HEALTH_SPECIALIST").await;
    assert_eq!(body["data"]["registerForEndorsement"]["registration"]["open"], true, "{body}");
}
