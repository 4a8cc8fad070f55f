//! The connection layer: a client trickling its headers is dropped, an idle
//! keep-alive connection is closed, connections past the cap get a 503, and
//! the server keeps answering others throughout.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app_with};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (or `limit` passes);
/// returns what it sent and when it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (String::from_utf8_lossy(&received).into_owned(), Some(started.elapsed()));
            }
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), None),
        }
    }
}

async fn answers(app: &TestApp) -> bool {
    app.graphql(None, "{ __typename }", json!({})).await["data"]["__typename"] == "Query"
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_dropped() {
    let app = spawn_app_with(&["--header-read-timeout-ms", "600", "--keep-alive-timeout-ms", "30000"]).await;
    let mut trickler = connect(&app).await;
    let head = b"POST /graphql HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_vec();
    let started = Instant::now();
    let mut dropped_after = None;
    for byte in head.iter().chain(std::iter::repeat(&b'a')).take(200) {
        if trickler.write_all(&[*byte]).await.is_err() {
            dropped_after = Some(started.elapsed());
            break;
        }
        // The server keeps serving others meanwhile.
        if started.elapsed() < Duration::from_millis(300) {
            assert!(answers(&app).await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut probe = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), trickler.read(&mut probe)).await {
            dropped_after = Some(started.elapsed());
            break;
        }
    }
    let dropped_after = dropped_after.expect("the trickling client was never dropped");
    assert!(dropped_after < Duration::from_secs(5), "{dropped_after:?}");
    assert!(answers(&app).await);
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let app = spawn_app_with(&["--keep-alive-timeout-ms", "500"]).await;
    // A connection that never sends anything.
    let mut silent = connect(&app).await;
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    let closed = closed.expect("a silent connection stays open");
    assert!(closed >= Duration::from_millis(400), "closed too early: {closed:?}");
    // A connection idle after one request.
    let mut used = connect(&app).await;
    let body = r#"{"query":"{ __typename }"}"#;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    used.write_all(request.as_bytes()).await.unwrap();
    let (answer, closed) = read_until_closed(&mut used, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed.is_some(), "the idle keep-alive connection stayed open");
}

#[tokio::test]
async fn connections_past_the_cap_get_503() {
    let app = spawn_app_with(&["--max-connections", "2", "--keep-alive-timeout-ms", "3000"]).await;
    let _first = connect(&app).await;
    let _second = connect(&app).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(&app).await;
    let (answer, closed) = read_until_closed(&mut third, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("SERVICE_UNAVAILABLE"), "{answer}");
    assert!(closed.is_some());
    // Once the idle ones are gone, the server answers again.
    drop(_first);
    drop(_second);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = reqwest::Client::new();
    let body: Value = fresh
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
}
