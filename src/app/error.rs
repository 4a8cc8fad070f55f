//! The application's error: what a use case tells its caller went wrong, in
//! the terms of the API contract. Each lower layer has its own error type;
//! the `From` impls below decide what of it the client may learn. The one
//! place that turns these into GraphQL errors (message, `extensions.code`)
//! is [`crate::graphql::error`]; the HTTP status of a refusal made before
//! GraphQL runs is in [`crate::http::graphql::response`].

use crate::auth::jwt::TokenError;
use crate::blob::BlobError;
use crate::store::StoreError;

/// Error codes of the API contract (`extensions.code`).
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    /// A step refused because something it needs is missing (a fee unpaid,
    /// requirements unmet); `extensions.missing` lists what.
    pub const FAILED_PRECONDITION: &str = "FAILED_PRECONDITION";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// A persisted-query hash the server does not know (send the text).
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    pub const INTERNAL: &str = "INTERNAL";
}

/// A failure as the client sees it. Deliberately not `Display`: async-graphql
/// turns any `Display` error into a message verbatim, which would leak driver
/// text; this type converts only through `From<AppError> for async_graphql::Error`.
#[derive(Debug, Clone)]
pub enum AppError {
    /// UNAUTHENTICATED: no token, or a token that was refused (says why).
    Unauthenticated(String),
    /// FORBIDDEN: the caller is known but lacks the right.
    Forbidden,
    /// NOT_FOUND: absent, or not visible to the caller (never told apart).
    NotFound(String),
    /// BAD_USER_INPUT: malformed input, naming the field when there is one.
    BadUserInput { message: String, field: Option<String> },
    /// CONFLICT: the current state does not allow the step (wrong status,
    /// a stale version, a duplicate).
    Conflict(String),
    /// FAILED_PRECONDITION: something the step needs is missing; `missing`
    /// names each thing (requirement keys, "processingFee").
    FailedPrecondition { message: String, missing: Vec<String> },
    /// PAYLOAD_TOO_LARGE: a body, file or document over its limit.
    PayloadTooLarge(String),
    /// PAYLOAD_TOO_LARGE, naming the input field (or section) that is.
    FieldTooLarge { message: String, field: String },
    /// UNSUPPORTED_MEDIA_TYPE: a file or request body of a refused type.
    UnsupportedMediaType(String),
    /// QUERY_TOO_COMPLEX: over the depth, size or cost limits (transport).
    QueryTooComplex(String),
    /// RATE_LIMITED: too many requests from this caller (transport).
    RateLimited,
    /// SERVICE_UNAVAILABLE: a dependency is down; retry shortly.
    ServiceUnavailable(&'static str),
    /// INTERNAL: logged with its cause; the client sees only a request id.
    Internal(std::sync::Arc<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput { message: message.into(), field: Some(field.into()) }
    }

    /// A domain validation error at `prefix` becomes BAD_USER_INPUT naming the
    /// full input path, e.g. "changes.upsert[2].entry.training.hours".
    pub fn invalid_at(prefix: &str) -> impl Fn(crate::domain::validate::ValidationError) -> AppError + '_ {
        move |error| {
            AppError::bad_input(format!("{prefix}.{}", error.field), format!("{}: {}", error.field, error.message))
        }
    }

    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AppError::Internal(std::sync::Arc::from(error.into()))
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(what.to_owned())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => code::UNAUTHENTICATED,
            AppError::Forbidden => code::FORBIDDEN,
            AppError::NotFound(_) => code::NOT_FOUND,
            AppError::BadUserInput { .. } => code::BAD_USER_INPUT,
            AppError::Conflict(_) => code::CONFLICT,
            AppError::FailedPrecondition { .. } => code::FAILED_PRECONDITION,
            AppError::PayloadTooLarge(_) | AppError::FieldTooLarge { .. } => code::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => code::UNSUPPORTED_MEDIA_TYPE,
            AppError::QueryTooComplex(_) => code::QUERY_TOO_COMPLEX,
            AppError::RateLimited => code::RATE_LIMITED,
            AppError::ServiceUnavailable(_) => code::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => code::INTERNAL,
        }
    }
}

/// The message of every masked error.
pub const INTERNAL_MESSAGE: &str = "Internal error. Quote the request id when reporting it.";

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "MongoDB unavailable");
                AppError::ServiceUnavailable("The database")
            }
            StoreError::Unconfirmed => {
                tracing::warn!("MongoDB did not confirm a commit");
                AppError::ServiceUnavailable("The database")
            }
            // Only ids the client chose can collide (generated ones never
            // do): the thing exists already.
            StoreError::Duplicate(index) => {
                tracing::info!(index, "duplicate key");
                AppError::Conflict("That already exists.".to_owned())
            }
            other => AppError::internal(other),
        }
    }
}

impl From<BlobError> for AppError {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "object storage unavailable");
                AppError::ServiceUnavailable("File storage")
            }
            BlobError::TooLarge { limit } => AppError::PayloadTooLarge(format!("The file exceeds {limit} bytes.")),
            other => AppError::internal(other),
        }
    }
}

impl From<TokenError> for AppError {
    fn from(error: TokenError) -> Self {
        AppError::Unauthenticated(error.to_string())
    }
}

/// A use case's result.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_services_map_to_service_unavailable() {
        assert_eq!(AppError::from(BlobError::Unavailable("timeout".into())).code(), code::SERVICE_UNAVAILABLE);
        assert_eq!(AppError::from(BlobError::Service("x".into())).code(), code::INTERNAL);
        let refused = mongodb::error::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(AppError::from(StoreError::from(refused)).code(), code::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn duplicates_are_conflicts_not_internal_errors() {
        assert_eq!(AppError::from(StoreError::Duplicate("code".into())).code(), code::CONFLICT);
    }
}
