//! A reviewer asking for names and statuses must not pull whole documents:
//! the bytes MongoDB sends for such a page are counted at the socket, by a
//! proxy between the server and the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use endorse::auth::Role;
use endorse::store::portfolio::PortfolioStore;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{service_env, spawn_app_config, test_config};

/// Forwards TCP to `upstream`, counting bytes that flow back to the client.
async fn counting_proxy(upstream: String) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else { return };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = tokio::spawn(async move { tokio::io::copy(&mut client_read, &mut server_write).await });
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
    (address, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_names_and_statuses_fetches_only_those_fields() {
    let uri = service_env("ENDORSE_MONGODB_URI");
    let upstream = uri.trim_start_matches("mongodb://").split(['/', '?']).next().unwrap().to_owned();
    let (proxy, received) = counting_proxy(upstream).await;
    let mut config = test_config(&[]);
    config.mongodb.uri = format!("mongodb://{proxy}/?directConnection=true").parse().unwrap();
    let store = endorse::store::Store::connect(&config.mongodb).await.unwrap();
    let app = spawn_app_config(config).await;

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
