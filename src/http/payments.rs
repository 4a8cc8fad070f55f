//! The payment provider's webhook: `POST /webhooks/payments/{association}`
//! in the shape of Stripe's. The provider signs `{t}.{body}` with the
//! endpoint's secret (HMAC-SHA256, hex) and sends
//! `Stripe-Signature: t=<unix seconds>,v1=<hex>`; a signature that does not
//! match, or one older than [`TOLERANCE_SECS`] (a replay), is refused with
//! 400 before the body is read as JSON. Events are idempotent by their id:
//! one delivered twice is recorded once. Only payments are acted on
//! (`payment_intent.succeeded`, `checkout.session.completed` when paid),
//! against the ledger charge named by `metadata.charge_id`; other events
//! are acknowledged and ignored. No call ever goes out to the provider.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use mongodb::bson::DateTime;
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::AppState;
use crate::app::fees::{self, ProviderOutcome, ProviderPayment};
use crate::app::portfolios::parse_id;
use crate::app::records::AuditRecord;
use crate::domain::association::AssociationCode;
use crate::domain::fees::Money;
use crate::domain::model::Currency;
use crate::http::request_id::RequestId;

/// Largest event body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How old a signature may be (Stripe's default tolerance).
pub const TOLERANCE_SECS: i64 = 300;
/// The header the signature arrives in.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// Why a signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header, or one without `t=` and `v1=`")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature is older than {TOLERANCE_SECS} seconds or from the future")]
    Stale,
}

/// `v1=` of a body signed with `secret` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `header` against `body` at `now` (unix seconds): one of its `v1`
/// signatures matches (compared in constant time) and its time is within
/// the tolerance.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let matches = signatures.iter().any(|signature| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(signature).is_ok()
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: PaymentObject,
}

#[derive(Deserialize)]
struct PaymentObject {
    id: String,
    #[serde(default)]
    amount_received: Option<i64>,
    #[serde(default)]
    amount_total: Option<i64>,
    #[serde(default)]
    payment_status: Option<String>,
    currency: Option<String>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

pub async fn receive(
    State(state): State<AppState>,
    Path(association): Path<String>,
    request_id: Option<axum::Extension<RequestId>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let services = &state.services;
    let secret = services.config.payment_webhook_secret.expose();
    let not_found = || answer(StatusCode::NOT_FOUND, json!({ "error": "no such webhook" }));
    if secret.is_empty() {
        return not_found();
    }
    let Ok(code) = AssociationCode::parse(&association) else { return not_found() };
    let tenant = match services.tenants.get(&code).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return not_found(),
        Err(_) => return answer(StatusCode::SERVICE_UNAVAILABLE, json!({ "error": "try again shortly" })),
    };
    let header = headers.get(SIGNATURE_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if let Err(refused) = verify(secret, header, &body, chrono::Utc::now().timestamp()) {
        tracing::warn!(association = %code, reason = %refused, "payment webhook refused");
        return answer(StatusCode::BAD_REQUEST, json!({ "error": refused.to_string() }));
    }
    let Ok(event) = serde_json::from_slice::<Event>(&body) else {
        return answer(StatusCode::BAD_REQUEST, json!({ "error": "not an event" }));
    };
    let object = &event.data.object;
    let amount = match event.kind.as_str() {
        "payment_intent.succeeded" => object.amount_received,
        "checkout.session.completed" if object.payment_status.as_deref() == Some("paid") => object.amount_total,
        _ => return answer(StatusCode::OK, json!({ "received": true, "ignored": event.kind })),
    };
    let currency = object.currency.as_deref().map(str::to_ascii_uppercase);
    let charge = object.metadata.get("charge_id").and_then(|id| parse_id("metadata.charge_id", id).ok());
    let (Some(cents), Some(Currency::Usd), Some(charge_id)) =
        (amount, currency.as_deref().and_then(<Currency as crate::domain::model::Term>::parse), charge)
    else {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "error": "a payment needs an amount, a known currency and metadata.charge_id" }),
        );
    };
    let request_id = request_id.map(|axum::Extension(id)| id).unwrap_or_else(RequestId::generated);
    let record = AuditRecord {
        association: Some(code.clone()),
        actor: "payment-provider".to_owned(),
        roles: Vec::new(),
        action: "paymentWebhook".to_owned(),
        target: None,
        result: "ok".to_owned(),
        outcome: None,
        request_id: request_id.server.clone(),
        client_request_id: Some(event.id.clone()),
        at: DateTime::now(),
        request_ids: Vec::new(),
        last_at: None,
        event: None,
        mail: Vec::new(),
    };
    let payment = ProviderPayment {
        event_id: event.id.clone(),
        charge_id,
        amount: Money { cents, currency: Currency::Usd },
        payment_id: object.id.clone(),
    };
    match fees::provider_payment(services, &tenant, payment, record).await {
        Ok(ProviderOutcome::Recorded) => answer(StatusCode::OK, json!({ "received": true })),
        Ok(ProviderOutcome::AlreadySeen) => answer(StatusCode::OK, json!({ "received": true, "duplicate": true })),
        Ok(ProviderOutcome::UnknownCharge) => {
            tracing::warn!(association = %code, event = %event.id, "payment for an unknown charge");
            answer(StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": "metadata.charge_id names no charge here" }))
        }
        Ok(ProviderOutcome::WrongCurrency) => answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "error": "the amount or currency does not fit the charge" }),
        ),
        Err(error) => {
            let status = if error.code() == crate::app::error::code::SERVICE_UNAVAILABLE {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                tracing::error!(error = ?error, request_id = %request_id.server, "payment webhook failed");
                StatusCode::INTERNAL_SERVER_ERROR
            };
            answer(status, json!({ "error": "not recorded; deliver the event again later" }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signed_body_is_accepted_once_in_time() {
        let body = br#"{"id":"evt_1"}"#;
        let header = format!("t=1000,v1={}", sign(SECRET, 1000, body));
        assert_eq!(verify(SECRET, &header, body, 1000 + TOLERANCE_SECS), Ok(()));
        assert_eq!(verify(SECRET, &header, body, 1001 + TOLERANCE_SECS), Err(SignatureError::Stale));
        assert_eq!(verify(SECRET, &header, br#"{"id":"evt_2"}"#, 1000), Err(SignatureError::Mismatch));
        assert_eq!(
            verify("another secret of the right length.....", &header, body, 1000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn headers_without_both_parts_are_malformed() {
        let body = b"{}";
        for header in ["", "t=1000", &format!("v1={}", sign(SECRET, 1000, body)), "t=x,v1=zz"] {
            assert_eq!(verify(SECRET, header, body, 1000), Err(SignatureError::Malformed), "{header}");
        }
        // Several v1 signatures (a secret being rolled): one matching is enough.
        let header = format!("t=1000,v1={},v1={}", "00".repeat(32), sign(SECRET, 1000, body));
        assert_eq!(verify(SECRET, &header, body, 1000), Ok(()));
    }
}
