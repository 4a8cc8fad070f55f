//! Live updates over `graphql-transport-ws`: authentication in
//! `connection_init`, only what the subscriber may see, and an event made
//! through one instance reaching a subscriber connected to another (the
//! feed is the database's change stream).

use std::time::Duration;

use endorse::auth::Role;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestApp, spawn_app, spawn_app_config, test_config};
use crate::mail;
use crate::portfolios::create;
use crate::references::{publish_form, rating};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `path` speaking graphql-transport-ws and sends `connection_init`.
async fn connect(app: &TestApp, path: &str, payload: Value) -> Socket {
    let url = format!("{}{path}", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.expect("the upgrade succeeds");
    assert_eq!(response.headers()["sec-websocket-protocol"], "graphql-transport-ws");
    socket.send(Message::text(json!({ "type": "connection_init", "payload": payload }).to_string())).await.unwrap();
    socket
}

/// The next protocol message (pings answered), or the close frame as
/// `{"close": code}`.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a message within 20 s")
            .expect("the socket is open")
            .expect("a frame");
        match message {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "ping" {
                    socket.send(Message::text(json!({ "type": "pong" }).to_string())).await.unwrap();
                    continue;
                }
                return value;
            }
            Message::Close(frame) => {
                return json!({ "close": frame.as_ref().map(|f| u16::from(f.code)), "reason": frame.map(|f| f.reason.to_string()) });
            }
            _ => continue,
        }
    }
}

async fn subscribe(socket: &mut Socket, id: &str, portfolio_id: &str) {
    let query = "subscription($id: ID!) { portfolioEvents(portfolioId: $id) { kind portfolioId status subjectId at } }";
    let message =
        json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": { "id": portfolio_id } } });
    socket.send(Message::text(message.to_string())).await.unwrap();
}

#[tokio::test]
async fn an_event_made_through_one_instance_reaches_a_subscriber_on_another() {
    let first = spawn_app().await.accepting_any_submission().await;
    let mut config = test_config(&[]);
    config.mongodb.database = first.config.mongodb.database.clone();
    config.s3.bucket = first.config.s3.bucket.clone();
    let second = spawn_app_config(config).await.accepting_any_submission().await;
    publish_form(&first).await;
    let (id, owner) = create(&first, "live-owner", "INFANT", "FAMILY_SPECIALIST").await;

    // The owner subscribes on the second instance, through /graphql.
    let mut socket = connect(&second, "/graphql", json!({ "authorization": format!("Bearer {owner}") })).await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    subscribe(&mut socket, "1", &id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A rater submits through the first instance.
    let rater = mail::address("live");
    let input = json!({ "raterName": "Live Rater", "raterEmail": rater, "role": "COLLEAGUE", "waived": true });
    let body = first
        .graphql(
            Some(&owner),
            "mutation($id: ID!, $input: ReferenceRequestInput!) { requestReference(portfolioId: $id, input: $input) { id } }",
            json!({ "id": id, "input": input }),
        )
        .await;
    let request_id = body["data"]["requestReference"]["id"].as_str().unwrap().to_owned();
    let token = mail::wait_for(&mail::maildir(), &rater, 1, 30).await[0].token();
    let submit = "mutation($token: String!, $input: RatingInput!) { submitReferenceRating(token: $token, input: $input) { submittedAt } }";
    let body = first.graphql(None, submit, json!({ "token": token, "input": rating(0, true) })).await;
    assert!(body["errors"].is_null(), "{body}");
    let event = next(&mut socket).await;
    assert_eq!(event["type"], "next", "{event}");
    assert_eq!(event["id"], "1");
    let data = &event["payload"]["data"]["portfolioEvents"];
    assert_eq!(data["kind"], "REFERENCE_SUBMITTED", "{event}");
    assert_eq!(data["portfolioId"], id.as_str());
    assert_eq!(data["subjectId"], request_id.as_str());

    // The applicant submits through the first instance: STATUS_CHANGED.
    let body = first
        .graphql(
            Some(&owner),
            "mutation($id: ID!) { submitPortfolio(id: $id, expectedVersion: 2) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["submitPortfolio"]["status"], "SUBMITTED", "{body}");
    let event = next(&mut socket).await;
    assert_eq!(event["payload"]["data"]["portfolioEvents"]["kind"], "STATUS_CHANGED", "{event}");
    assert_eq!(event["payload"]["data"]["portfolioEvents"]["status"], "SUBMITTED");
    socket.send(Message::text(json!({ "id": "1", "type": "complete" }).to_string())).await.unwrap();
}

#[tokio::test]
async fn a_subscriber_needs_a_token_and_sees_only_what_they_could_query() {
    let app = spawn_app().await.accepting_any_submission().await;
    let (id, _owner) = create(&app, "private-owner", "INFANT", "FAMILY_SPECIALIST").await;

    // No token, or a bad one: the connection is closed saying why
    // (async-graphql closes a refused connection_init with 1002).
    let mut socket = connect(&app, "/ws", json!({})).await;
    let closed = next(&mut socket).await;
    assert_eq!(closed["close"], 1002, "{closed}");
    assert!(closed["reason"].as_str().unwrap().contains("authorization"), "{closed}");
    let mut socket = connect(&app, "/ws", json!({ "authorization": "Bearer not-a-token" })).await;
    assert_eq!(next(&mut socket).await["close"], 1002);

    // Another applicant, and a reviewer before submission: NOT_FOUND.
    for token in [app.token("someone-else", &[Role::Applicant]), app.token("reviewer-rae", &[Role::Reviewer])] {
        let mut socket = connect(&app, "/ws", json!({ "authorization": format!("Bearer {token}") })).await;
        assert_eq!(next(&mut socket).await["type"], "connection_ack");
        subscribe(&mut socket, "s", &id).await;
        let refused = next(&mut socket).await;
        assert_eq!(refused["type"], "next", "{refused}");
        assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{refused}");
        assert!(refused["payload"]["data"].is_null());
    }

    // Queries and mutations belong to POST /graphql.
    let token = app.token("private-owner", &[Role::Applicant]);
    let mut socket = connect(&app, "/ws", json!({ "authorization": format!("Bearer {token}") })).await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    let message = json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ me { subject } }" } });
    socket.send(Message::text(message.to_string())).await.unwrap();
    let answer = next(&mut socket).await;
    let errors = if answer["type"] == "next" { &answer["payload"]["errors"] } else { &answer["payload"] };
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
}
