//! The contract's `Date` and `DateTime` scalars.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

/// ISO 8601 calendar date, "2024-05-31".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) if text.len() == 10 => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("`{text}` is not a calendar date (YYYY-MM-DD)"))),
            Value::String(text) => {
                Err(InputValueError::custom(format!("`{text}` is not a calendar date (YYYY-MM-DD)")))
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// RFC 3339 instant in UTC, "2024-05-31T12:00:00Z".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub chrono::DateTime<Utc>);

impl From<mongodb::bson::DateTime> for DateTime {
    fn from(value: mongodb::bson::DateTime) -> Self {
        DateTime(value.to_chrono())
    }
}

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom(format!("`{text}` is not an RFC 3339 instant"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_garbage() {
        let date = <Date as ScalarType>::parse(Value::String("2024-02-29".into())).unwrap();
        assert_eq!(date.to_value(), Value::String("2024-02-29".into()));
        for bad in ["2023-02-29", "2024-2-1", "yesterday", "2024-02-29T00:00:00Z"] {
            assert!(<Date as ScalarType>::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(<Date as ScalarType>::parse(Value::Number(3.into())).is_err());
    }

    #[test]
    fn datetimes_are_utc() {
        let t = <DateTime as ScalarType>::parse(Value::String("2024-05-31T14:00:00+02:00".into())).unwrap();
        assert_eq!(t.to_value(), Value::String("2024-05-31T12:00:00.000Z".into()));
    }
}
