//! A reviewer asking for names and statuses must not pull whole documents,
//! and computed fields asked for several times must not read again: the
//! bytes between the server and the database are counted at the socket, by
//! a proxy between them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use endorse::auth::Role;
use endorse::store::portfolio::PortfolioStore;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{service_env, spawn_app_config, test_config};

/// Forwards TCP to `upstream`, counting bytes that flow back to the client
/// (the first counter) and bytes the client sends (the second).
async fn counting_proxy(upstream: String) -> (String, Arc<AtomicU64>, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let received = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let (counter, sent_counter) = (received.clone(), sent.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let (counter, sent_counter) = (counter.clone(), sent_counter.clone());
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else { return };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = client_read.read(&mut buffer).await {
                        if n == 0 || server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                        sent_counter.fetch_add(n as u64, Ordering::SeqCst);
                    }
                });
                let mut buffer = vec![0u8; 64 * 1024];
                loop {
                    match server_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            counter.fetch_add(n as u64, Ordering::SeqCst);
                            if client_write.write_all(&buffer[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                up.abort();
            });
        }
    });
    (address, received, sent)
}

/// A proxy-counted server and store for one test.
async fn counted_app() -> (crate::helpers::TestApp, endorse::store::Store, Arc<AtomicU64>, Arc<AtomicU64>) {
    let uri = service_env("ENDORSE_MONGODB_URI");
    let upstream = uri.trim_start_matches("mongodb://").split(['/', '?']).next().unwrap().to_owned();
    let (proxy, received, sent) = counting_proxy(upstream).await;
    let mut config = test_config(&[]);
    config.mongodb.uri = format!("mongodb://{proxy}/?directConnection=true").parse().unwrap();
    let store = endorse::store::Store::connect(&config.mongodb).await.unwrap();
    (spawn_app_config(config).await, store, received, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_names_and_statuses_fetches_only_those_fields() {
    let (app, store, received, _) = counted_app().await;

    let portfolios = PortfolioStore::new(&store, &crate::helpers::nys_scope());
    for n in 0..30 {
        let document =
            endorse::seed::realistic_submitted(&endorse::domain::association::AssociationCode::nys_aimh(), n);
        portfolios.upsert(&document).await.unwrap();
    }
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let measure = async |query: &str| {
        let before = received.load(Ordering::SeqCst);
        let body = app.graphql(Some(&reviewer), query, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(body["data"]["portfolios"]["edges"].as_array().unwrap().len(), 30);
        received.load(Ordering::SeqCst) - before
    };
    let names = measure("{ portfolios(first: 30) { edges { node { applicant { name } status } } } }").await;
    let full = measure("{ portfolios(first: 30) { edges { node { applicant { name } status training { id } reflectiveSupervision { id } } } } }").await;
    let evaluated = measure("{ portfolios(first: 30) { edges { node { status eligibility { met } } } } }").await;
    println!("bytes from MongoDB: names {names}, with sections {full}, with eligibility {evaluated}");
    assert!(names * 10 < full, "names-only page read {names} bytes, with sections {full}");
    assert!(names * 10 < evaluated, "eligibility needs the sections: {evaluated} vs {names}");
}

/// Aliases of `eligibility` with basis VERIFIED, and `recommendations`
/// beside them, read the portfolio's evidence once: the request sends the
/// database no more than the same request with one `eligibility`, and
/// that one sends one evidence query more than basis CLAIMED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn computed_fields_asked_for_again_read_nothing_again() {
    let (app, store, _, sent) = counted_app().await;
    let portfolios = PortfolioStore::new(&store, &crate::helpers::nys_scope());
    let document = endorse::seed::realistic_submitted(&endorse::domain::association::AssociationCode::nys_aimh(), 0);
    portfolios.upsert(&document).await.unwrap();
    // The owner: owners' reads are not audited, so no audit write lands in
    // the window being counted.
    let owner = app.token(&document.owner_id, &[Role::Applicant]);
    let id = document.id.to_hex();
    let measure = async |selection: &str| {
        let query = format!("query($id: ID!) {{ portfolio(id: $id) {{ {selection} }} }}");
        let before = sent.load(Ordering::SeqCst);
        let body = app.graphql(Some(&owner), &query, json!({ "id": id })).await;
        assert!(body["errors"].is_null(), "{body}");
        sent.load(Ordering::SeqCst) - before
    };
    let once = "a: eligibility(basis: VERIFIED) { met }";
    let again = "a: eligibility(basis: VERIFIED) { met } b: eligibility(basis: VERIFIED) { met } \
                 c: eligibility(basis: VERIFIED, category: FAMILY_ASSOCIATE) { met } recommendations(basis: VERIFIED) { met }";
    let (mut plain, mut evaluated, mut repeated) = (u64::MAX, u64::MAX, u64::MAX);
    // The smallest of three, so that a driver heartbeat in a window does
    // not count.
    for _ in 0..3 {
        plain = plain.min(measure("a: eligibility { met }").await);
        evaluated = evaluated.min(measure(once).await);
        repeated = repeated.min(measure(again).await);
    }
    assert!(evaluated > plain, "VERIFIED reads the evidence, CLAIMED not: {evaluated} vs {plain} bytes sent");
    assert!(
        repeated <= evaluated + (evaluated - plain) / 2,
        "asked again, the evidence was read again: {repeated} bytes sent, once {evaluated}, without {plain}"
    );
}

/// A reviewer's queue asked again fetches no sections: every answer is
/// kept under a key that names the portfolio's version, so only a
/// portfolio that changed is fetched and evaluated again, and its new
/// answer is the one shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_evaluated_again_fetches_only_what_changed() {
    let (app, store, received, _) = counted_app().await;
    let portfolios = PortfolioStore::new(&store, &crate::helpers::nys_scope());
    let mut documents = Vec::new();
    for n in 0..30 {
        let document =
            endorse::seed::realistic_submitted(&endorse::domain::association::AssociationCode::nys_aimh(), n);
        portfolios.upsert(&document).await.unwrap();
        documents.push(document);
    }
    let reviewer = app.token("rae", &[Role::Reviewer]);
    let page = "{ portfolios(first: 30) { edges { node { id eligibility { met requirements { key met } } } } } }";
    let read = async || {
        let before = received.load(Ordering::SeqCst);
        let body = app.graphql(Some(&reviewer), page, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
        let answers: std::collections::HashMap<String, serde_json::Value> = body["data"]["portfolios"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| (edge["node"]["id"].as_str().unwrap().to_owned(), edge["node"]["eligibility"].clone()))
            .collect();
        assert_eq!(answers.len(), 30, "{body}");
        (received.load(Ordering::SeqCst) - before, answers)
    };
    let (first, answers) = read().await;
    let (again, answers_again) = read().await;
    println!("bytes from MongoDB: first {first}, again {again}");
    assert_eq!(answers_again, answers);
    assert!(again * 10 < first, "asked again, the page fetched {again} bytes (first time {first})");

    // One portfolio changes (its version moves on): only it is fetched.
    let mut changed = documents[7].clone();
    changed.content.training.clear();
    changed.content.reflective_supervision.clear();
    changed.version += 1;
    portfolios.upsert(&changed).await.unwrap();
    let (after_change, answers_after) = read().await;
    println!("bytes from MongoDB after one change: {after_change}");
    let id = changed.id.to_hex();
    assert_ne!(answers_after[&id], answers[&id], "the changed portfolio's answer was not recomputed");
    let single = app
        .graphql(
            Some(&reviewer),
            "query($id: ID!) { portfolio(id: $id) { eligibility { met requirements { key met } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(answers_after[&id], single["data"]["portfolio"]["eligibility"], "{single}");
    for (other, answer) in &answers_after {
        if *other != id {
            assert_eq!(answer, &answers[other]);
        }
    }
    let size = mongodb::bson::to_vec(&changed).unwrap().len() as u64;
    assert!(
        after_change > again + size / 2 && after_change < again + size * 2,
        "after one change the page fetched {after_change} bytes (the changed document {size}, none {again})"
    );

    // Recommendations and basis VERIFIED on a page need every portfolio's
    // sections: fetched once for the page, they answer as a single read does.
    let everything = "{ portfolios(first: 5) { edges { node { id recommendations { category met }
        verified: eligibility(basis: VERIFIED) { met } } } } }";
    let body = app.graphql(Some(&reviewer), everything, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let node = &body["data"]["portfolios"]["edges"][3]["node"];
    let single = app
        .graphql(
            Some(&reviewer),
            "query($id: ID!) { portfolio(id: $id) { recommendations { category met } verified: eligibility(basis: VERIFIED) { met } } }",
            json!({ "id": node["id"] }),
        )
        .await;
    assert_eq!(node["recommendations"], single["data"]["portfolio"]["recommendations"], "{single}");
    assert_eq!(node["verified"], single["data"]["portfolio"]["verified"], "{single}");
}

/// Reads that fetch exactly the same bytes share one decoded portfolio
/// (`store::decoded`). A document changed behind the server's back, here by
/// the raw driver without moving its version on, is still shown as it is
/// stored now; and a portfolio kept decoded for one caller is still hidden
/// from a caller who may not see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portfolio_read_again_is_shown_as_stored_now() {
    let config = test_config(&[]);
    let store = endorse::store::Store::connect(&config.mongodb).await.unwrap();
    let app = spawn_app_config(config).await;
    let nys = endorse::domain::association::AssociationCode::nys_aimh();
    let document = endorse::seed::realistic_submitted(&nys, 3);
    PortfolioStore::new(&store, &crate::helpers::nys_scope()).upsert(&document).await.unwrap();
    let reviewer = app.token("rae", &[Role::Reviewer]);
    // More than half the sections: the whole document is fetched, the
    // read that is kept decoded.
    let query = "query($id: ID!) { portfolio(id: $id) { version applicant { name } training { title }
        education { id } work { id } reflectiveSupervision { id } leadership { id } references { id } exams { id } } }";
    let variables = json!({ "id": document.id.to_hex() });

    let first = app.graphql(Some(&reviewer), query, variables.clone()).await;
    assert!(first["errors"].is_null(), "{first}");
    assert_eq!(app.graphql(Some(&reviewer), query, variables.clone()).await, first);

    store
        .database()
        .collection::<mongodb::bson::Document>("portfolios")
        .update_one(
            mongodb::bson::doc! { "_id": document.id },
            mongodb::bson::doc! { "$set": { "applicant.name": "Renamed Directly", "training.0.title": "Retitled" } },
        )
        .await
        .unwrap();
    let after = app.graphql(Some(&reviewer), query, variables.clone()).await;
    let shown = &after["data"]["portfolio"];
    assert_eq!(shown["version"], first["data"]["portfolio"]["version"], "{after}");
    assert_eq!(shown["applicant"]["name"], "Renamed Directly", "{after}");
    assert_eq!(shown["training"][0]["title"], "Retitled", "{after}");
    assert_eq!(shown["training"][1], first["data"]["portfolio"]["training"][1], "{after}");

    let stranger = app.token("someone-else", &[Role::Applicant]);
    let hidden = app.graphql(Some(&stranger), query, variables).await;
    assert!(hidden["errors"].is_null() && hidden["data"]["portfolio"].is_null(), "{hidden}");
}

/// The store's side of it: a whole portfolio read again with the same
/// bytes is the very copy decoded before; with changed bytes (the version
/// left as it was) it is decoded again; a caller who may not see it, or
/// another association, gets nothing, kept or not; and a copy to change is
/// the caller's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_shares_a_decoded_portfolio_only_while_its_bytes_stay_the_same() {
    use endorse::domain::access::PortfolioAccess;
    use endorse::store::portfolio::Projection;

    let config = test_config(&[]);
    let store = endorse::store::Store::connect(&config.mongodb).await.unwrap().keeping_decoded(1 << 20);
    let nys = endorse::domain::association::AssociationCode::nys_aimh();
    let portfolios = PortfolioStore::new(&store, &crate::helpers::nys_scope());
    let document = endorse::seed::realistic_submitted(&nys, 4);
    portfolios.upsert(&document).await.unwrap();
    let (everything, all) = (PortfolioAccess::Everything, Projection::all());
    let read = async || portfolios.read(document.id, &everything, &all).await.unwrap().expect("visible");

    let first = read().await;
    assert!(Arc::ptr_eq(&first, &read().await), "the same bytes are decoded once");
    let own = portfolios.find(document.id, &everything, &all).await.unwrap().unwrap();
    assert_eq!(own, *first);

    store
        .database()
        .collection::<mongodb::bson::Document>("portfolios")
        .update_one(
            mongodb::bson::doc! { "_id": document.id },
            mongodb::bson::doc! { "$set": { "applicant.name": "Renamed Directly" } },
        )
        .await
        .unwrap();
    let after = read().await;
    assert!(!Arc::ptr_eq(&first, &after));
    assert_eq!((after.version, after.applicant.as_ref().unwrap().name.as_str()), (first.version, "Renamed Directly"));
    assert!(Arc::ptr_eq(&after, &read().await));

    let stranger = PortfolioAccess::Some { owner: Some("someone-else".into()), submitted: false, assigned: Vec::new() };
    assert!(portfolios.read(document.id, &stranger, &all).await.unwrap().is_none());
    let other = endorse::domain::association::AssociationCode::parse("mi-aimh").unwrap();
    let theirs = PortfolioStore::new(&store, &endorse::store::TenantScope::new(&other, chrono_tz::America::Detroit));
    assert!(theirs.read(document.id, &everything, &all).await.unwrap().is_none());
}
