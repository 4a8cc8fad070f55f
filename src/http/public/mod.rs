//! The public pages: the registry (`/registry/{association}`), the
//! verification of an endorsement (`/verify/{number}`, HTML or JSON), and
//! what a credential verifier fetches: the issuer profile
//! (`/issuers/{association}`), the keys (`/keys/{association}[/{kid}]`)
//! and the status lists (`/status/{association}/{purpose}`). No login;
//! rate-limited per address; cacheable (ETag, a short `max-age`) because
//! they hold only what the registry publishes.

use std::sync::{Arc, LazyLock};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, context};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest;

use super::AppState;
use super::identity::Caller;
use crate::app::Tenant;
use crate::app::credentials;
use crate::app::error::AppError;
use crate::app::registry::{self, RegistrySearch};
use crate::domain::credential::StatusPurpose;
use crate::domain::model::{Category, Term, Track};
use crate::domain::names;

/// Entries on one registry page.
const PAGE_SIZE: usize = 50;
/// How long a cache may keep a public answer: short, so that a revocation
/// is seen within a minute.
const MAX_AGE: &str = "public, max-age=60";

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_template("registry.html", include_str!("registry.html")).expect("the registry page parses");
    env.add_template("verify.html", include_str!("verify.html")).expect("the verification page parses");
    env
});

/// `body` with its type, cache headers and ETag; 304 when the client has it.
fn cacheable(request: &HeaderMap, content_type: &'static str, body: String) -> Response {
    let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(body.as_bytes())[..16]));
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { body.into_response() };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(MAX_AGE));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    // Verifiers in browsers fetch keys and status lists from other origins.
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if content_type.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

fn problem(status: StatusCode, text: &str) -> Response {
    let mut response = (status, json!({ "error": text }).to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn refused(error: AppError) -> Response {
    match error {
        AppError::NotFound(what) => problem(StatusCode::NOT_FOUND, &format!("{what} not found")),
        AppError::BadUserInput { message, .. } => problem(StatusCode::BAD_REQUEST, &message),
        AppError::ServiceUnavailable(what) => {
            problem(StatusCode::SERVICE_UNAVAILABLE, &format!("{what} is unavailable; retry shortly"))
        }
        other => {
            tracing::error!(error = ?other, "public page failed");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side")
        }
    }
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error, "public page failed");
    problem(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side")
}

/// Charges the caller one request, or answers 429.
fn rate_limited(state: &AppState, caller: &Caller) -> Option<Response> {
    let wait = state.rate_limiter.check(&caller.rate_key(), 1).err()?;
    let mut response = problem(StatusCode::TOO_MANY_REQUESTS, "too many requests; wait a moment");
    if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// The association a public URL names, after charging the caller; the
/// answer to send instead when rate-limited or unknown.
async fn named_association(state: &AppState, caller: &Caller, code: &str) -> Result<Arc<Tenant>, Response> {
    if let Some(refusal) = rate_limited(state, caller) {
        return Err(refusal);
    }
    registry::association(&state.services, code).await.map_err(refused)
}

fn wants_json(headers: &HeaderMap, format: Option<&str>) -> bool {
    format == Some("json")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"))
}

#[derive(Deserialize)]
pub struct RegistryQuery {
    q: Option<String>,
    category: Option<String>,
    track: Option<String>,
    after: Option<String>,
}

/// GET /registry/{association}
pub async fn registry_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<RegistryQuery>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let tenant = match named_association(&state, &caller, &code).await {
        Ok(tenant) => tenant,
        Err(refusal) => return refusal,
    };
    let services = &state.services;
    let blank = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (category_text, track_text) = (blank(&query.category), blank(&query.track));
    let category = category_text.as_deref().and_then(Category::parse);
    let track = track_text.as_deref().and_then(Track::parse);
    let search =
        RegistrySearch { search: query.q.clone(), category, track, first: PAGE_SIZE, after: query.after.clone() };
    let page = match registry::registry(services, &tenant, search).await {
        Ok(page) => page,
        Err(error) => return refused(error),
    };
    let next = page.has_next_page.then(|| page.entries.last()).flatten().map(|(cursor, _)| {
        let mut pairs = vec![("after", cursor.as_str())];
        for (name, value) in [("q", &query.q), ("category", &category_text), ("track", &track_text)] {
            if let Some(value) = value {
                pairs.push((name, value.as_str()));
            }
        }
        format!("/registry/{}?{}", tenant.code(), serde_urlencoded::to_string(pairs).unwrap_or_default())
    });
    let option = |value: &str, label: String| json!({ "value": value, "label": label });
    let categories: Vec<Value> = Category::ALL
        .iter()
        .map(|c| option(c.as_str(), names::category(*c, crate::domain::model::Language::En).to_owned()))
        .collect();
    let tracks = [option("INFANT", "Infant".into()), option("EARLY_CHILDHOOD", "Early childhood".into())];
    let entries: Vec<_> = page.entries.into_iter().map(|(_, e)| e).collect();
    let html = PAGES.get_template("registry.html").and_then(|t| {
        t.render(context! {
            association => tenant.association.name.as_str(),
            code => tenant.code().as_str(),
            q => query.q.unwrap_or_default(),
            category => category_text,
            track => track_text,
            categories => minijinja::Value::from(minijinja::value::Serde(&categories)),
            tracks => minijinja::Value::from(minijinja::value::Serde(tracks)),
            entries => minijinja::Value::from(minijinja::value::Serde(&entries)),
            next,
        })
    });
    match html {
        Ok(html) => cacheable(&headers, "text/html; charset=utf-8", html),
        Err(error) => internal(error),
    }
}

#[derive(Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

/// GET /verify/{number}: HTML, or JSON for `Accept: application/json` or
/// `?format=json`.
pub async fn verify_page(
    State(state): State<AppState>,
    Path(number): Path<String>,
    Query(query): Query<FormatQuery>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = rate_limited(&state, &caller) {
        return refusal;
    }
    let (tenant, entry) = match registry::verify(&state.services, &number).await {
        Ok(found) => found,
        Err(error) => return refused(error),
    };
    let (current, verdict) = (entry.is_current(), entry.verdict());
    if wants_json(&headers, query.format.as_deref()) {
        let mut body = serde_json::to_value(&entry).unwrap_or_default();
        if let Value::Object(map) = &mut body {
            map.insert("association".into(), json!(tenant.code().as_str()));
            map.insert("current".into(), json!(current));
            map.insert("verdict".into(), json!(verdict));
            // Location and employer are for the registry's listing only.
            map.remove("location");
            map.remove("employer");
        }
        return cacheable(&headers, "application/json", body.to_string());
    }
    let html = PAGES.get_template("verify.html").and_then(|t| {
        t.render(context! {
            association => tenant.association.name.as_str(),
            code => tenant.code().as_str(),
            e => minijinja::Value::from(minijinja::value::Serde(&entry)),
            current,
            verdict,
        })
    });
    match html {
        Ok(html) => cacheable(&headers, "text/html; charset=utf-8", html),
        Err(error) => internal(error),
    }
}

/// GET /issuers/{association}: the Open Badges issuer profile.
pub async fn issuer(
    State(state): State<AppState>,
    Path(code): Path<String>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    match named_association(&state, &caller, &code).await {
        Ok(tenant) => {
            cacheable(&headers, "application/json", credentials::issuer_profile(&state.services, &tenant).to_string())
        }
        Err(refusal) => refusal,
    }
}

/// GET /keys/{association}: every published key, a JWK Set.
pub async fn keys(
    State(state): State<AppState>,
    Path(code): Path<String>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    match named_association(&state, &caller, &code).await {
        Ok(tenant) => {
            let set = state.services.signing.jwks(tenant.code().as_str());
            cacheable(&headers, "application/jwk-set+json", set.to_string())
        }
        Err(refusal) => refusal,
    }
}

/// GET /keys/{association}/{kid}: one key, the URL a credential's `kid` names.
pub async fn key(
    State(state): State<AppState>,
    Path((code, kid)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let tenant = match named_association(&state, &caller, &code).await {
        Ok(tenant) => tenant,
        Err(refusal) => return refusal,
    };
    match state.services.signing.public_jwk(tenant.code().as_str(), &kid) {
        Some(jwk) => cacheable(&headers, "application/jwk+json", jwk.to_string()),
        None => problem(StatusCode::NOT_FOUND, "Key not found"),
    }
}

/// GET /status/{association}/{revocation|suspension}: the signed status list.
pub async fn status_list(
    State(state): State<AppState>,
    Path((code, purpose)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let tenant = match named_association(&state, &caller, &code).await {
        Ok(tenant) => tenant,
        Err(refusal) => return refusal,
    };
    let Some(purpose) = StatusPurpose::parse(&purpose) else {
        return problem(StatusCode::NOT_FOUND, "Status list not found");
    };
    match credentials::status_list(&state.services, &tenant, purpose).await {
        Ok(jwt) => cacheable(&headers, "application/vc+jwt", jwt),
        Err(error) => refused(error),
    }
}
