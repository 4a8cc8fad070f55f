//! Identity as an extractor: who is calling, from the `Authorization`
//! header (verified once per request), and where from (the rate limiter's
//! key for anonymous callers). A bad token does not refuse the request
//! here: fields that need no identity still answer, and fields that need
//! one say exactly why it was refused.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};

use super::AppState;
use super::serve::ClientAddress;
use crate::auth::Identity;
use crate::auth::jwt::TokenError;

#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
    pub address: Option<IpAddr>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let address = parts.extensions.get::<ClientAddress>().map(|client| client.0.ip());
        Ok(Caller { identity: identity(state, &parts.headers), address })
    }
}

impl Caller {
    /// The key of the caller's rate limit and Idempotency-Keys. One subject
    /// may act in two associations: separate limits, separate keys.
    pub fn rate_key(&self) -> String {
        match (&self.identity, self.address) {
            (Identity::Authenticated(viewer), _) => match &viewer.association {
                Some(association) => format!("sub:{association}/{}", viewer.subject),
                None => format!("sub:/{}", viewer.subject),
            },
            (_, Some(address)) => format!("ip:{address}"),
            (_, None) => "ip:unknown".to_owned(),
        }
    }
}

/// The caller as the `Authorization` header identifies them.
fn identity(state: &AppState, headers: &HeaderMap) -> Identity {
    match headers.get(header::AUTHORIZATION) {
        None => Identity::Anonymous,
        Some(value) => match value.to_str() {
            Ok(value) => match state.services.verifier.verify_header(value) {
                Ok(viewer) => Identity::Authenticated(viewer),
                Err(why) => Identity::Rejected(why),
            },
            Err(_) => Identity::Rejected(TokenError::Malformed),
        },
    }
}
