//! The one place where failures become GraphQL errors with `extensions.code`.
//! Each layer has its own error type; `From` impls below decide what the
//! client may learn. Internal details are logged here (inside the request's
//! span, which carries the request id) and never sent.

use async_graphql::ErrorExtensions;

use crate::auth::jwt::TokenError;
use crate::blob::BlobError;
use crate::store::StoreError;

/// Error codes of the API contract.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    pub const INTERNAL: &str = "INTERNAL";
}

/// A failure as the client sees it. Deliberately not `Display`: async-graphql
/// turns any `Display` error into a message verbatim, which would leak driver
/// text; this type converts only through [`From<ApiError> for async_graphql::Error`].
#[derive(Debug, Clone)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden,
    NotFound(String),
    BadUserInput {
        message: String,
        field: Option<String>,
    },
    Conflict(String),
    PayloadTooLarge(String),
    /// Too large, naming the input field (or section) that is.
    FieldTooLarge {
        message: String,
        field: String,
    },
    UnsupportedMediaType(String),
    QueryTooComplex(String),
    RateLimited,
    ServiceUnavailable(&'static str),
    /// Logged with its cause; the client sees only a request id.
    Internal(std::sync::Arc<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadUserInput { message: message.into(), field: Some(field.into()) }
    }

    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(std::sync::Arc::from(error.into()))
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => code::UNAUTHENTICATED,
            ApiError::Forbidden => code::FORBIDDEN,
            ApiError::NotFound(_) => code::NOT_FOUND,
            ApiError::BadUserInput { .. } => code::BAD_USER_INPUT,
            ApiError::Conflict(_) => code::CONFLICT,
            ApiError::PayloadTooLarge(_) | ApiError::FieldTooLarge { .. } => code::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => code::UNSUPPORTED_MEDIA_TYPE,
            ApiError::QueryTooComplex(_) => code::QUERY_TOO_COMPLEX,
            ApiError::RateLimited => code::RATE_LIMITED,
            ApiError::ServiceUnavailable(_) => code::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => code::INTERNAL,
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        let (message, field) = match error {
            ApiError::Unauthenticated(why) => (format!("Authentication required: {why}."), None),
            ApiError::Forbidden => ("You are not allowed to do this.".to_owned(), None),
            ApiError::NotFound(what) => (format!("{what} was not found."), None),
            ApiError::BadUserInput { message, field } => (message, field),
            ApiError::FieldTooLarge { message, field } => (message, Some(field)),
            ApiError::Conflict(message)
            | ApiError::PayloadTooLarge(message)
            | ApiError::UnsupportedMediaType(message)
            | ApiError::QueryTooComplex(message) => (message, None),
            ApiError::RateLimited => ("Too many requests; try again later.".to_owned(), None),
            ApiError::ServiceUnavailable(what) => {
                (format!("{what} is temporarily unavailable; try again shortly."), None)
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, source = ?cause.source(), "internal error");
                (INTERNAL_MESSAGE.to_owned(), None)
            }
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = field {
                ext.set("field", field);
            }
        })
    }
}

/// The message of every masked error.
pub const INTERNAL_MESSAGE: &str = "Internal error. Quote the request id when reporting it.";

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "MongoDB unavailable");
                ApiError::ServiceUnavailable("The database")
            }
            StoreError::Unconfirmed => {
                tracing::warn!("MongoDB did not confirm a commit");
                ApiError::ServiceUnavailable("The database")
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<BlobError> for ApiError {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "object storage unavailable");
                ApiError::ServiceUnavailable("File storage")
            }
            BlobError::TooLarge { limit } => ApiError::PayloadTooLarge(format!("The file exceeds {limit} bytes.")),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::auth::policy::JudgeRefusal> for ApiError {
    fn from(_: crate::auth::policy::JudgeRefusal) -> Self {
        ApiError::Forbidden
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        ApiError::Unauthenticated(error.to_string())
    }
}

/// A resolver result.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn code_and_message(error: ApiError) -> (String, String) {
        let error: async_graphql::Error = error.into();
        let code = error.extensions.as_ref().and_then(|e| e.get("code")).map(|v| v.to_string()).unwrap_or_default();
        (code, error.message)
    }

    #[test]
    fn internal_errors_never_carry_their_cause() {
        let (code, message) = code_and_message(ApiError::internal("E11000 driver text with a@b.org"));
        assert_eq!(code, "\"INTERNAL\"");
        assert_eq!(message, INTERNAL_MESSAGE);
        let (code, message) = code_and_message(StoreError::Corrupt("field ssn".into()).into());
        assert_eq!(code, "\"INTERNAL\"");
        assert!(!message.contains("ssn"));
    }

    #[test]
    fn bad_input_names_its_field() {
        let error: async_graphql::Error =
            ApiError::bad_input("changes.upsert[0].entry.training.hours", "must be > 0").into();
        let ext = error.extensions.unwrap();
        assert_eq!(ext.get("code").unwrap().to_string(), "\"BAD_USER_INPUT\"");
        assert_eq!(ext.get("field").unwrap().to_string(), "\"changes.upsert[0].entry.training.hours\"");
    }

    #[test]
    fn unavailable_services_map_to_service_unavailable() {
        assert_eq!(ApiError::from(BlobError::Unavailable("timeout".into())).code(), code::SERVICE_UNAVAILABLE);
        assert_eq!(ApiError::from(BlobError::Service("x".into())).code(), code::INTERNAL);
        let refused = mongodb::error::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(ApiError::from(StoreError::from(refused)).code(), code::SERVICE_UNAVAILABLE);
    }
}
