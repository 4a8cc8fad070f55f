//! The rater's page at `/r/{token}`: a server-rendered form that works
//! without JavaScript, for raters who have no account. GET only reads (mail
//! scanners open links first); POST saves a draft or submits. Every answer
//! is `no-store` (the page holds personal data and the link is a
//! credential), sends no referrer, and loads nothing from elsewhere. A POST
//! must come from this page: same origin (Origin / Sec-Fetch-Site) and the
//! form's key, which only a page rendered for this link carries.

mod texts;

use std::sync::LazyLock;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Environment, context};
use serde::Deserialize;

use super::AppState;
use super::identity::Caller;
use crate::app::ChangeAudit;
use crate::app::error::AppError;
use crate::app::references::link;
use crate::app::references::rater::{self, Opened, RaterForm};
use crate::domain::model::{Category, Language, Term};
use crate::domain::names;
use crate::domain::reference::{Answer, LinkRefused, Rating, StatedEndorsement};
use crate::http::request_id::RequestId;

/// Largest form body: every item's answer and a long comment fit.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_template("form.html", include_str!("form.html")).expect("the rater form parses");
    env.add_template("message.html", include_str!("message.html")).expect("the rater message parses");
    env
});

const CSS: &str = include_str!("form.css");

#[derive(Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    saved: Option<String>,
}

fn language(text: Option<&str>) -> Option<Language> {
    match text? {
        "en" => Some(Language::En),
        "es" => Some(Language::Es),
        _ => None,
    }
}

/// The headers every rater page carries.
fn page(status: StatusCode, language: Language, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(language.tag()));
    response
}

fn message(status: StatusCode, language: Language, association: Option<&str>, heading: &str, text: &str) -> Response {
    let html = PAGES
        .get_template("message.html")
        .and_then(|t| t.render(context! { lang => language.tag(), association, heading, message => text }));
    match html {
        Ok(html) => page(status, language, html),
        Err(error) => internal(error),
    }
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error, "rater page failed");
    let text = "Something went wrong on our side. Please try again in a few minutes.";
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        Language::En,
        format!("<!doctype html><html lang=\"en\"><title>Error</title><p>{text}</p></html>"),
    )
}

fn refused(refused: LinkRefused, form_language: Language, association: Option<&str>) -> Response {
    let status = match refused {
        LinkRefused::Unknown => StatusCode::NOT_FOUND,
        LinkRefused::Submitted => StatusCode::OK,
        LinkRefused::Revoked | LinkRefused::Expired => StatusCode::GONE,
    };
    let words = texts::of(form_language);
    let heading = if refused == LinkRefused::Submitted { words.thanks_heading } else { words.refused_heading };
    message(status, form_language, association, heading, &texts::refusal(refused, form_language))
}

fn app_error(error: AppError, language: Language) -> Response {
    match error {
        AppError::ServiceUnavailable(_) => {
            let text = match language {
                Language::En => {
                    "The service is unavailable for a moment. Your answers were not lost: go back and send them again shortly."
                }
                Language::Es => {
                    "El servicio no está disponible por un momento. Sus respuestas no se perdieron: vuelva atrás y envíelas de nuevo en breve."
                }
            };
            message(StatusCode::SERVICE_UNAVAILABLE, language, None, "…", text)
        }
        AppError::NotFound(_) => refused(LinkRefused::Unknown, language, None),
        other => internal(format!("{other:?}")),
    }
}

/// What the form shows: the draft, or what was just posted.
struct Filled<'a> {
    rating: &'a Rating,
    notice: Option<&'a str>,
    error: Option<String>,
}

fn render_form(form: &RaterForm, token: &str, secret: &str, filled: Filled<'_>) -> Result<String, minijinja::Error> {
    let language = form.language;
    let words = texts::of(language);
    let answer_of = |id: &str| {
        filled
            .rating
            .answers
            .iter()
            .find(|a| a.item_id == id)
            .map(|a| a.value.map_or("nei".to_owned(), |v| v.to_string()))
    };
    let items: Vec<minijinja::Value> = form
        .form
        .items
        .iter()
        .map(|item| {
            context! {
                id => &item.id,
                domain => item.domain.get(language),
                text => item.text.get(language),
                answer => answer_of(&item.id),
            }
        })
        .collect();
    let scale: Vec<minijinja::Value> = form
        .form
        .scale
        .iter()
        .map(|point| context! { value => point.value.to_string(), label => point.label.get(language) })
        .collect();
    let categories: Vec<minijinja::Value> =
        Category::ALL.iter().map(|c| context! { value => c.as_str(), name => names::category(*c, language) }).collect();
    let association = &form.tenant.association.name;
    let intro = words
        .intro
        .replace("{applicant}", &form.request.applicant_name)
        .replace("{role}", names::role(form.request.role, language))
        .replace("{association}", association);
    let day = form.tenant.association.today(form.request.expires_at.to_chrono()).format("%Y-%m-%d").to_string();
    let endorsement = filled.rating.endorsement.map(|e| e.category.map_or("none", Category::as_str));
    let recommends = filled.rating.recommends.map(|yes| if yes { "yes" } else { "no" });
    let context = context! {
        lang => language.tag(),
        t => context! {
            title => words.title, heading => words.heading, language => words.language,
            scale_hint => words.scale_hint, nei => words.nei,
            recommend_question => words.recommend_question, recommend_yes => words.recommend_yes,
            recommend_no => words.recommend_no, comments => words.comments,
            endorsement_question => words.endorsement_question, choose => words.choose,
            not_endorsed => words.not_endorsed, save => words.save, submit => words.submit,
        },
        association,
        intro,
        notice => filled.notice,
        error => filled.error,
        csrf => link::form_key(secret, token),
        items,
        scale,
        categories,
        recommends,
        comments => filled.rating.comments.as_deref().unwrap_or(""),
        endorsement,
        waiver => if form.request.waived { words.waived } else { words.not_waived },
        expires => words.expires.replace("{day}", &day),
    };
    PAGES.get_template("form.html")?.render(context)
}

/// GET /r/{token}: the form, the draft filled in. Changes nothing.
pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let chosen = language(query.lang.as_deref());
    let services = &state.services;
    match rater::open(services, &token, chosen).await {
        Ok(Opened::Form(form)) => {
            let draft = form.request.draft.clone().unwrap_or_default();
            let words = texts::of(form.language);
            let notice = query.saved.is_some().then_some(words.saved);
            match render_form(
                &form,
                &token,
                services.config.link_secret(),
                Filled { rating: &draft, notice, error: None },
            ) {
                Ok(html) => page(StatusCode::OK, form.language, html),
                Err(error) => internal(error),
            }
        }
        Ok(Opened::Refused { refused: why, tenant, language }) => {
            refused(why, language, tenant.as_ref().map(|t| t.association.name.as_str()))
        }
        Err(error) => app_error(error, chosen.unwrap_or(Language::En)),
    }
}

/// Whether a POST comes from a page of this server. Browsers say so in
/// `Sec-Fetch-Site`; `Origin` is `null` from this page (it sends no
/// referrer), so it decides only when the browser sends no fetch metadata.
/// A request with neither (an old browser, a script holding the link) still
/// needs the form key.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => {
            let ours = public_url.trim_end_matches('/');
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            origin == ours || host.is_some_and(|host| origin.split_once("://").is_some_and(|(_, rest)| rest == host))
        }
    }
}

/// The posted answers as a rating (unknown fields are ignored; the
/// domain checks the rest against the form).
fn posted_rating(fields: &[(String, String)]) -> Rating {
    let mut rating = Rating::default();
    for (name, value) in fields {
        if let Some(item_id) = name.strip_prefix("answer.") {
            let value = if value == "nei" { None } else { Some(value.parse::<i32>().unwrap_or(i32::MIN)) };
            rating.answers.push(Answer { item_id: item_id.to_owned(), value });
        }
        match name.as_str() {
            "recommends" => rating.recommends = Some(value == "yes"),
            "comments" if !value.trim().is_empty() => rating.comments = Some(value.replace("\r\n", "\n")),
            "endorsement" if value == "none" => rating.endorsement = Some(StatedEndorsement { category: None }),
            "endorsement" => {
                rating.endorsement =
                    Category::parse(value).map(|category| StatedEndorsement { category: Some(category) })
            }
            _ => {}
        }
    }
    rating
}

/// POST /r/{token}: `action=save` keeps a draft (then back to the page),
/// `action=submit` submits; a problem shows the form again with it.
pub async fn post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    caller: Caller,
    request_id: Option<axum::Extension<RequestId>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let services = &state.services;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let chosen = language(field("lang"));
    let secret = services.config.link_secret();
    if let Err(wait) = state.rate_limiter.check(&caller.rate_key(), 1) {
        let mut response = message(
            StatusCode::TOO_MANY_REQUESTS,
            chosen.unwrap_or(Language::En),
            None,
            "…",
            "Too many requests; wait a moment and try again.",
        );
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let form_key_ok = field("csrf").is_some_and(|key| link::form_key_matches(secret, &token, key));
    if !same_origin(&headers, &services.config.public_url()) || !form_key_ok {
        return message(
            StatusCode::FORBIDDEN,
            chosen.unwrap_or(Language::En),
            None,
            "403",
            "This form was not sent from its page. Open the link again and resend it.",
        );
    }
    let form = match rater::open(services, &token, chosen).await {
        Ok(Opened::Form(form)) => form,
        Ok(Opened::Refused { refused: why, tenant, language }) => {
            return refused(why, language, tenant.as_ref().map(|t| t.association.name.as_str()));
        }
        Err(error) => return app_error(error, chosen.unwrap_or(Language::En)),
    };
    let rating = posted_rating(&fields);
    let words = texts::of(form.language);
    let outcome = if field("action") == Some("save") {
        rater::save_draft(services, &token, rating.clone()).await.map(|_| None)
    } else {
        let request_id = request_id.map(|id| id.0).unwrap_or_else(RequestId::generated);
        let template = rater::submission_record(&form, request_id.server, request_id.client);
        let target = std::sync::Mutex::new(None);
        let stored = std::sync::atomic::AtomicBool::new(false);
        let audit = ChangeAudit::new(template, &target, &stored);
        rater::submit(services, &token, rating.clone(), &audit).await.map(Some)
    };
    match outcome {
        Ok(None) => {
            let to = format!("/r/{token}?lang={}&saved=1", form.language.tag());
            let mut response = Redirect::to(&to).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(Some(_)) => message(
            StatusCode::OK,
            form.language,
            Some(&form.tenant.association.name),
            words.thanks_heading,
            words.thanks,
        ),
        Err(AppError::BadUserInput { message: problem, .. }) => {
            let error = Some(words.invalid.replace("{problem}", &problem));
            match render_form(&form, &token, secret, Filled { rating: &rating, notice: None, error }) {
                Ok(html) => page(StatusCode::UNPROCESSABLE_ENTITY, form.language, html),
                Err(error) => internal(error),
            }
        }
        Err(AppError::Conflict(_)) => {
            refused(LinkRefused::Submitted, form.language, Some(&form.tenant.association.name))
        }
        Err(error) => app_error(error, form.language),
    }
}

/// GET /r/assets/form.css: the page's only stylesheet, served from here.
pub async fn stylesheet() -> Response {
    let mut response = CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posted_fields_become_a_rating_and_unknown_ones_are_ignored() {
        let fields: Vec<(String, String)> = [
            ("answer.a", "3"),
            ("answer.b", "nei"),
            ("answer.c", "x"),
            ("recommends", "no"),
            ("comments", "Kind.\r\nCareful."),
            ("endorsement", "MENTOR_CLINICAL"),
            ("$where", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let rating = posted_rating(&fields);
        assert_eq!(rating.answers.len(), 3);
        assert_eq!(rating.answers[0].value, Some(3));
        assert_eq!(rating.answers[1].value, None);
        assert_eq!(rating.answers[2].value, Some(i32::MIN), "not on any scale: refused by the domain");
        assert_eq!(rating.recommends, Some(false));
        assert_eq!(rating.comments.as_deref(), Some("Kind.\nCareful."));
        assert_eq!(rating.endorsement.unwrap().category, Some(Category::MentorClinical));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers, "https://endorse.example.org"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://endorse.example.org"));
        assert!(same_origin(&headers, "https://endorse.example.org/"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers, "https://endorse.example.org"));
        let mut headers = HeaderMap::new();
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&headers, "https://endorse.example.org"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&headers, "https://endorse.example.org"), "this page's own POST: Origin null");
    }
}
