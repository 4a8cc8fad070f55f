//! Free text from clients, checked the one way: trimmed, bounded in
//! characters, no control characters (the domain's rules), errors naming the
//! input path.

use super::error::{AppError, AppResult};
use crate::domain::validate;

fn at(field: &str) -> impl Fn(validate::ValidationError) -> AppError + '_ {
    move |error| AppError::bad_input(field, format!("`{field}` {}", error.message))
}

/// A text the client must give: trimmed, not blank, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    validate::required_text(field, value, max).map_err(at(field))?;
    Ok(value.to_owned())
}

/// A text the client may give: trimmed, blank is absent, at most `max`
/// characters.
pub fn optional_text(field: &str, value: Option<String>, max: usize) -> AppResult<Option<String>> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    validate::optional_text(field, value.as_deref(), max).map_err(at(field))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(required_text("note", "  why  ", 5).unwrap(), "why");
        assert!(required_text("note", "   ", 5).is_err());
        assert!(required_text("note", "toolong", 5).is_err());
        assert!(required_text("note", "a\u{7}b", 5).is_err());
        assert_eq!(optional_text("note", Some("  ".into()), 5).unwrap(), None);
        assert_eq!(optional_text("note", Some(" ok ".into()), 5).unwrap().as_deref(), Some("ok"));
        let AppError::BadUserInput { field, message } = optional_text("x.note", Some("123456".into()), 5).unwrap_err()
        else {
            panic!("not bad input")
        };
        assert_eq!(field.as_deref(), Some("x.note"));
        assert!(message.contains("at most 5"), "{message}");
    }
}
