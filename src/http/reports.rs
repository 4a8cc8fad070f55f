//! `GET /reports/stats.csv`: the `stats` query for tools that cannot speak
//! GraphQL. It runs the same GraphQL query through the schema as the
//! caller, so access, filters, suppression and limits are those of `stats`
//! by construction, and the CSV always agrees with it.
//!
//! Query parameters: `from`, `to` (dates), `track`, `category` and `unmet`
//! (categories; repeat them or separate with commas), `region`. The answer
//! is long-format CSV with a fixed header:
//! `statistic,category,key,value,suppressed`.

use std::fmt::Write as _;

use async_graphql::{ServerError, Variables};
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::graphql::execute::{Caller, RETRY_AFTER_UNAVAILABLE, Transport, refusal_response, run_as_caller};
use super::graphql::response::{MediaType, error_body, respond, set_retry_after};
use super::request_id::RequestId;
use crate::app::error::code;
use crate::domain::model::{Category, Term};
use crate::graphql::execution::error_code;

pub const HEADER_ROW: &str = "statistic,category,key,value,suppressed";

/// Count tables of `Stats`, in the order the CSV lists them.
const TABLES: &[&str] = &["byStatus", "byCategory", "byTrack", "submittedByMonth", "endorsedByYear", "evidenceBacklog"];
const DISTRIBUTIONS: &[&str] = &["daysToDecision", "trainingHours"];

pub async fn stats_csv(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Response {
    let parameters = match Parameters::parse(raw.as_deref().unwrap_or("")) {
        Ok(parameters) => parameters,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, &message, code::BAD_USER_INPUT),
    };
    let request = async_graphql::Request::new(parameters.query())
        .variables(Variables::from_json(Value::Object(parameters.variables())));
    let outcome = match run_as_caller(
        &state,
        caller,
        &request_id,
        request,
        Transport { queries_only: true, ..Default::default() },
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(refusal) => return refusal_response(MediaType::Json, refusal, StatusCode::BAD_REQUEST),
    };
    if let Some(first) = outcome.errors.first() {
        let mut response = errors_response(status_for(first), &json!({ "errors": outcome.errors }));
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            set_retry_after(&mut response, RETRY_AFTER_UNAVAILABLE);
        }
        return response;
    }
    let csv = match serde_json::to_value(&outcome.data) {
        Ok(Value::Object(mut data)) => to_csv(&data.remove("stats").unwrap_or(Value::Null), &parameters.unmet),
        _ => String::new(),
    };
    let mut response = (StatusCode::OK, csv).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8; header=present"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"endorse-stats.csv\""));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Debug, Default, PartialEq)]
struct Parameters {
    filter: Map<String, Value>,
    unmet: Vec<Category>,
}

impl Parameters {
    /// Unknown parameters are refused: a misspelt filter silently ignored
    /// would give wrong numbers.
    fn parse(raw: &str) -> Result<Parameters, String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw).map_err(|_| "The query string is not valid URL encoding.".to_owned())?;
        let mut parameters = Parameters::default();
        let mut categories: Vec<Value> = Vec::new();
        for (name, value) in pairs {
            match name.as_str() {
                "from" | "to" | "track" | "region" => {
                    if parameters.filter.insert(name.clone(), Value::String(value)).is_some() {
                        return Err(format!("`{name}` is given more than once."));
                    }
                }
                "category" => categories.extend(list(&value).map(|c| Value::String(c.to_owned()))),
                "unmet" => {
                    for text in list(&value) {
                        let category =
                            Category::parse(text).ok_or_else(|| format!("`unmet`: `{text}` is not a category."))?;
                        if !parameters.unmet.contains(&category) {
                            parameters.unmet.push(category);
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "Unknown parameter `{other}`; use from, to, track, category, region and unmet."
                    ));
                }
            }
        }
        if !categories.is_empty() {
            parameters.filter.insert("category".into(), Value::Array(categories));
        }
        Ok(parameters)
    }

    fn query(&self) -> String {
        let mut query = String::from("query StatsCsv($filter: StatsFilter) { stats(filter: $filter) { portfolios");
        for table in TABLES {
            let _ = write!(query, " {table} {{ key count suppressed }}");
        }
        for distribution in DISTRIBUTIONS {
            let _ = write!(query, " {distribution} {{ p50 p90 max n }}");
        }
        for (i, category) in self.unmet.iter().enumerate() {
            // Categories were parsed against the enum, so the name is safe to inline.
            let _ = write!(
                query,
                " unmet{i}: unmetRequirements(category: {}) {{ key count suppressed }}",
                category.as_str()
            );
        }
        query.push_str(" } }");
        query
    }

    fn variables(&self) -> Map<String, Value> {
        let mut variables = Map::new();
        variables.insert("filter".into(), Value::Object(self.filter.clone()));
        variables
    }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn to_csv(stats: &Value, unmet: &[Category]) -> String {
    let mut out = String::from(HEADER_ROW);
    out.push_str("\r\n");
    let mut row = |statistic: &str, category: &str, key: &str, value: &Value, suppressed: bool| {
        let value = match value {
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let _ =
            write!(out, "{},{},{},{},{}\r\n", field(statistic), field(category), field(key), field(&value), suppressed);
    };
    row("portfolios", "", "", &stats["portfolios"], false);
    let cells = |value: &Value| value.as_array().cloned().unwrap_or_default();
    for table in TABLES {
        for cell in cells(&stats[*table]) {
            let key = cell["key"].as_str().unwrap_or_default();
            row(table, "", key, &cell["count"], cell["suppressed"].as_bool().unwrap_or(true));
        }
    }
    for distribution in DISTRIBUTIONS {
        let figures = &stats[*distribution];
        for figure in ["p50", "p90", "max", "n"] {
            // A null distribution is suppressed as a whole; a null figure
            // of a published one means there were no values.
            row(distribution, "", figure, &figures[figure], figures.is_null());
        }
    }
    for (i, category) in unmet.iter().enumerate() {
        for cell in cells(&stats[format!("unmet{i}").as_str()]) {
            let key = cell["key"].as_str().unwrap_or_default();
            row(
                "unmetRequirements",
                category.as_str(),
                key,
                &cell["count"],
                cell["suppressed"].as_bool().unwrap_or(true),
            );
        }
    }
    out
}

/// RFC 4180 quoting, and a leading quote for text a spreadsheet would run
/// as a formula (values here come from the server, but rulebook keys are
/// configuration).
fn field(text: &str) -> String {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err();
    let text = if formula { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\r', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

fn status_for(error: &ServerError) -> StatusCode {
    match error_code(error) {
        code::UNAUTHENTICATED => StatusCode::UNAUTHORIZED,
        code::FORBIDDEN => StatusCode::FORBIDDEN,
        code::BAD_USER_INPUT | code::QUERY_TOO_COMPLEX => StatusCode::BAD_REQUEST,
        code::SERVICE_UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Errors keep the GraphQL shape (`errors[].extensions.code`), as JSON.
fn errors_response(status: StatusCode, body: &Value) -> Response {
    let mut response = respond(status, MediaType::Json, body);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn error_response(status: StatusCode, message: &str, code: &str) -> Response {
    errors_response(status, &error_body(message, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_accept_lists_and_refuse_unknown_names() {
        let parsed =
            Parameters::parse("from=2024-01-01&category=FAMILY_ASSOCIATE,MENTOR_POLICY&unmet=MENTOR_POLICY").unwrap();
        assert_eq!(parsed.filter["from"], json!("2024-01-01"));
        assert_eq!(parsed.filter["category"], json!(["FAMILY_ASSOCIATE", "MENTOR_POLICY"]));
        assert_eq!(parsed.unmet, vec![Category::MentorPolicy]);
        assert!(Parameters::parse("form=2024-01-01").unwrap_err().contains("Unknown parameter `form`"));
        assert!(Parameters::parse("unmet=NOPE").is_err());
        assert!(Parameters::parse("region=a&region=b").is_err());
    }

    #[test]
    fn fields_are_quoted_and_defused() {
        assert_eq!(field("training.hours"), "training.hours");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-1.5"), "-1.5");
        assert_eq!(field("\t=1+1"), "'\t=1+1");
    }

    #[test]
    fn the_query_asks_for_each_unmet_category_once() {
        let parameters = Parameters { unmet: vec![Category::FamilyAssociate], ..Default::default() };
        assert!(parameters.query().contains("unmet0: unmetRequirements(category: FAMILY_ASSOCIATE)"));
    }
}
