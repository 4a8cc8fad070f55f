//! Membership as the association records it: the member list imported as
//! CSV (all or nothing, again without duplicates), staff entries, and the
//! membership requirement counting those records, not the applicant's own
//! claim unless staff checked it where the association accepts that.

use endorse::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app};
use crate::portfolios::{change, create};

const IMPORT: &str = "mutation($csv: String!) { importMemberships(csv: $csv) }";
const OF_EMAIL: &str = "query($email: String!) { memberships(email: $email) { email name type validFrom validUntil feePaid { cents } source } }";
const MEMBERSHIP: &str = "query($id: ID!) { portfolio(id: $id) { version membership { association checked }
  membershipRecords { type validUntil } eligibility(asOf: \"2026-06-01\") { requirements { key met explanation } } } }";

async fn membership_requirement(app: &TestApp, token: &str, id: &str) -> (Value, Value) {
    let body = app.graphql(Some(token), MEMBERSHIP, json!({ "id": id })).await;
    let portfolio = body["data"]["portfolio"].clone();
    let requirement = portfolio["eligibility"]["requirements"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .find(|r| r["key"] == "membership")
        .cloned()
        .unwrap_or_else(|| panic!("no membership requirement in {body}"));
    (requirement, portfolio)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_member_list_counts_and_a_claim_does_not() {
    let app = spawn_app().await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let (id, token) = create(&app, "mem-ada", "INFANT", "FAMILY_ASSOCIATE").await;
    let claim = json!({ "membership": { "association": "NYS-AIMH", "validUntil": "2026-12-31" } });
    assert!(change(&app, &token, &id, 1, claim).await["errors"].is_null());
    let (requirement, _) = membership_requirement(&app, &token, &id).await;
    assert_eq!(requirement["met"], false, "{requirement}");
    assert!(requirement["explanation"].as_str().unwrap().contains("claimed"), "{requirement}");

    // Applicants do not write the association's records.
    let one = "email,name,type,valid_from,valid_until,fee_paid\nmem-ada@example.org,Ada,INDIVIDUAL,2026-01-01,2026-12-31,50\n";
    let body = app.graphql(Some(&token), IMPORT, json!({ "csv": one })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");

    // One bad row refuses the whole list, naming its line.
    let bad = "email,name,type,valid_from,valid_until,fee_paid\n\
        MEM-ADA@example.org,\"Alvarez, Ada\",INDIVIDUAL,2026-01-01,2026-12-31,50.00\n\
        ben@example.org,Ben,LIFETIME,2026-01-01,2026-12-31,\n\
        cy@example.org,Cy,STUDENT,2026-02-01,2026-01-01,30\n";
    let body = app.graphql(Some(&coordinator), IMPORT, json!({ "csv": bad })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("line 3") && message.contains("LIFETIME") && message.contains("line 4"), "{message}");
    let body = app.graphql(Some(&coordinator), OF_EMAIL, json!({ "email": "mem-ada@example.org" })).await;
    assert_eq!(body["data"]["memberships"], json!([]), "nothing of a refused list is kept: {body}");

    let good = "email,name,type,valid_from,valid_until,fee_paid\n\
        MEM-ADA@example.org,\"Alvarez, Ada\",INDIVIDUAL,2026-01-01,2026-12-31,50.00\n\
        ben@example.org,Ben,TWO_YEAR,2025-01-01,2026-12-31,\n";
    for _ in 0..2 {
        let body = app.graphql(Some(&coordinator), IMPORT, json!({ "csv": good })).await;
        assert_eq!(body["data"]["importMemberships"], 2, "{body}");
    }
    let body = app.graphql(Some(&coordinator), OF_EMAIL, json!({ "email": "mem-ada@example.org" })).await;
    assert_eq!(
        body["data"]["memberships"],
        json!([{ "email": "mem-ada@example.org", "name": "Alvarez, Ada", "type": "INDIVIDUAL", "validFrom": "2026-01-01",
            "validUntil": "2026-12-31", "feePaid": { "cents": 5000 }, "source": "IMPORTED" }]),
        "imported twice, kept once: {body}"
    );

    let (requirement, portfolio) = membership_requirement(&app, &token, &id).await;
    assert_eq!(requirement["met"], true, "{requirement}");
    assert_eq!(portfolio["membershipRecords"], json!([{ "type": "INDIVIDUAL", "validUntil": "2026-12-31" }]));

    // Staff enter one by hand too; a bad one names its field.
    let record = "mutation($input: MembershipRecordInput!) { recordMembership(input: $input) { source validUntil } }";
    let input = json!({ "email": "cy@example.org", "name": "Cy", "type": "STUDENT", "validFrom": "2026-02-01", "validUntil": "2026-01-01" });
    let body = app.graphql(Some(&coordinator), record, json!({ "input": input })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.validUntil", "{body}");
    let input = json!({ "email": "cy@example.org", "name": "Cy", "type": "STUDENT", "validFrom": "2026-02-01", "validUntil": "2027-01-31" });
    let body = app.graphql(Some(&coordinator), record, json!({ "input": input })).await;
    assert_eq!(body["data"]["recordMembership"], json!({ "source": "ENTERED", "validUntil": "2027-01-31" }), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_check_another_associations_membership_where_that_is_accepted() {
    let app = spawn_app().await;
    let coordinator = app.token("cora", &[Role::Coordinator]);
    let admin = app.token("ada-admin", &[Role::Admin]);
    let check = "mutation($id: ID!, $v: Int!) { checkMembershipClaim(portfolioId: $id, expectedVersion: $v) { version membership { checked } } }";
    let (id, token) = create(&app, "mem-moe", "INFANT", "FAMILY_ASSOCIATE").await;
    let claim = json!({ "membership": { "association": "MI-AIMH", "validUntil": "2026-12-31" } });
    assert!(change(&app, &token, &id, 1, claim.clone()).await["errors"].is_null());

    let body = app.graphql(Some(&coordinator), check, json!({ "id": id, "v": 2 })).await;
    assert_eq!(first_error_code(&body), "CONFLICT", "not accepted by default: {body}");
    let accept =
        "mutation { updateAssociationSettings(input: { acceptOtherMemberships: true }) { acceptOtherMemberships } }";
    let body = app.graphql(Some(&admin), accept, json!({})).await;
    assert_eq!(body["data"]["updateAssociationSettings"]["acceptOtherMemberships"], true, "{body}");
    let body = app.graphql(Some(&token), check, json!({ "id": id, "v": 2 })).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "nobody checks their own: {body}");
    let body = app.graphql(Some(&coordinator), check, json!({ "id": id, "v": 2 })).await;
    assert_eq!(
        body["data"]["checkMembershipClaim"],
        json!({ "version": 3, "membership": { "checked": true } }),
        "{body}"
    );
    let (requirement, _) = membership_requirement(&app, &token, &id).await;
    assert_eq!(requirement["met"], true, "{requirement}");

    // The applicant changing the claim makes it a claim again.
    let changed = json!({ "membership": { "association": "MI-AIMH", "validUntil": "2027-12-31" } });
    assert!(change(&app, &token, &id, 3, changed).await["errors"].is_null());
    let (requirement, portfolio) = membership_requirement(&app, &token, &id).await;
    assert_eq!(portfolio["membership"]["checked"], false);
    assert_eq!(requirement["met"], false, "{requirement}");
}
