//! The one place where application errors become GraphQL errors with
//! `extensions.code` (and `extensions.field` where an input is to blame).
//! Internal details are logged here, inside the request's span (which
//! carries the request id), and never sent.

use async_graphql::ErrorExtensions;

use crate::app::error::{AppError, INTERNAL_MESSAGE};

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        let code = error.code();
        let mut missing = Vec::new();
        let (message, field) = match error {
            AppError::Unauthenticated(why) => (format!("Authentication required: {why}."), None),
            AppError::Forbidden => ("You are not allowed to do this.".to_owned(), None),
            AppError::NotFound(what) => (format!("{what} was not found."), None),
            AppError::BadUserInput { message, field } => (message, field),
            AppError::FieldTooLarge { message, field } => (message, Some(field)),
            AppError::FailedPrecondition { message, missing: what } => {
                missing = what;
                (message, None)
            }
            AppError::Conflict(message)
            | AppError::PayloadTooLarge(message)
            | AppError::UnsupportedMediaType(message)
            | AppError::QueryTooComplex(message) => (message, None),
            AppError::RateLimited => ("Too many requests; try again later.".to_owned(), None),
            AppError::ServiceUnavailable(what) => {
                (format!("{what} is temporarily unavailable; try again shortly."), None)
            }
            AppError::Internal(cause) => {
                tracing::error!(error = %cause, source = ?cause.source(), "internal error");
                (INTERNAL_MESSAGE.to_owned(), None)
            }
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = field {
                ext.set("field", field);
            }
            if !missing.is_empty() {
                ext.set("missing", missing.clone());
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_and_message(error: AppError) -> (String, String) {
        let error: async_graphql::Error = error.into();
        let code = error.extensions.as_ref().and_then(|e| e.get("code")).map(|v| v.to_string()).unwrap_or_default();
        (code, error.message)
    }

    #[test]
    fn internal_errors_never_carry_their_cause() {
        let (code, message) = code_and_message(AppError::internal("E11000 driver text with a@b.org"));
        assert_eq!(code, "\"INTERNAL\"");
        assert_eq!(message, INTERNAL_MESSAGE);
        let (code, message) = code_and_message(AppError::internal("stored document is malformed: field ssn"));
        assert_eq!(code, "\"INTERNAL\"");
        assert!(!message.contains("ssn"));
    }

    #[test]
    fn bad_input_names_its_field() {
        let error: async_graphql::Error =
            AppError::bad_input("changes.upsert[0].entry.training.hours", "must be > 0").into();
        let ext = error.extensions.unwrap();
        assert_eq!(ext.get("code").unwrap().to_string(), "\"BAD_USER_INPUT\"");
        assert_eq!(ext.get("field").unwrap().to_string(), "\"changes.upsert[0].entry.training.hours\"");
    }
}
