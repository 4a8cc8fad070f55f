//! Value parsers: every check that needs only the one value lives here, so
//! that clap refuses a bad setting while parsing and its error names the flag
//! and the variable (`--max-page-size <ENDORSE_MAX_PAGE_SIZE>`: the value name
//! of every setting is its variable). Checks that need several settings stay
//! in [`super::Config::validate`].

use std::ffi::OsStr;
use std::fmt::Display;
use std::str::FromStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

use super::Secret;

/// A whole number of at least `min`.
pub fn at_least<T: Whole>(min: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    bounded(min, None, "")
}

/// [`at_least`], with a note after the message that says what to do instead
/// (e.g. how to turn the feature off).
pub fn at_least_or<T: Whole>(
    min: T,
    note: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    bounded(min, None, note)
}

/// A whole number from `min` to `max`, both included.
pub fn between<T: Whole>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    bounded(min, Some(max), "")
}

/// The integer types settings use.
pub trait Whole: FromStr<Err: Display> + PartialOrd + Display + Copy + Send + Sync + 'static {}
impl<T: FromStr<Err: Display> + PartialOrd + Display + Copy + Send + Sync + 'static> Whole for T {}

fn bounded<T: Whole>(
    min: T,
    max: Option<T>,
    note: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text| {
        let value: T = text.parse().map_err(|e| format!("expected a whole number ({e})"))?;
        let in_range = value >= min && max.is_none_or(|max| value <= max);
        if in_range {
            return Ok(value);
        }
        let rule = match max {
            Some(max) => format!("must be between {min} and {max}"),
            None => format!("must be at least {min}"),
        };
        Err(if note.is_empty() { rule } else { format!("{rule} ({note})") })
    }
}

/// Text that is not empty or only spaces (a required JWT claim).
pub fn non_blank(text: &str) -> Result<String, String> {
    if text.trim().is_empty() { Err("must not be empty".into()) } else { Ok(text.to_owned()) }
}

/// An `http://` or `https://` URL with a host.
pub fn http_url(text: &str) -> Result<String, String> {
    let ok = (text.starts_with("http://") || text.starts_with("https://"))
        && text.parse::<http::Uri>().is_ok_and(|uri| uri.host().is_some());
    if ok { Ok(text.to_owned()) } else { Err("expected an http(s) URL with a host".into()) }
}

/// An S3 bucket name as AWS and self-hosted servers accept it.
pub fn bucket_name(name: &str) -> Result<String, String> {
    let bytes = name.as_bytes();
    let ok = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(name.to_owned())
    } else {
        Err("must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"
            .into())
    }
}

/// A MongoDB database name: the characters MongoDB refuses (or that would
/// change the meaning of a namespace) are refused here.
pub fn database_name(name: &str) -> Result<String, String> {
    if name.is_empty() || name.contains(['/', '\\', '.', ' ', '"', '$']) {
        Err(r#"must be a plain database name (none of / \ . " $ or spaces)"#.into())
    } else {
        Ok(name.to_owned())
    }
}

/// The evidence types the server can sniff from a file's bytes.
pub const KNOWN_UPLOAD_TYPES: [&str; 5] = ["application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic"];

/// One entry of the comma-separated upload types.
pub fn upload_type(text: &str) -> Result<String, String> {
    if KNOWN_UPLOAD_TYPES.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(format!("not one of {}", KNOWN_UPLOAD_TYPES.join(", ")))
    }
}

/// One entry of the comma-separated CORS origins: `*`, an http(s) URL, or
/// empty (the default, allowing none). It must also fit in a header.
pub fn cors_origin(text: &str) -> Result<String, String> {
    if !text.is_empty() && text != "*" {
        http_url(text)?;
    }
    http::HeaderValue::from_str(text).map_err(|_| "not a valid origin".to_owned())?;
    Ok(text.to_owned())
}

/// A tracing `EnvFilter` directive list, checked now rather than when the
/// logger starts.
pub fn log_filter(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(text).map_err(|e| format!("not a valid log filter: {e}"))?;
    Ok(text.to_owned())
}

/// The HS256 secret: empty (not set) or at least 32 bytes. Whether it must
/// be set depends on the algorithm and environment: see `validate`.
pub fn jwt_secret(text: &str) -> Result<Secret, String> {
    if !text.is_empty() && text.len() < 32 {
        return Err("must be at least 32 bytes long".into());
    }
    Ok(Secret(text.to_owned()))
}

/// Credential signing keys: checked whole here so that a bad key stops
/// start-up naming the variable (and never showing the value).
pub fn credential_keys(text: &str) -> Result<Secret, String> {
    crate::signing::SigningKeys::parse(text, false)?;
    Ok(Secret(text.to_owned()))
}

/// The `/metrics` bearer token: empty (no `/metrics` on the main
/// listener) or long enough not to be guessed.
pub fn metrics_token(text: &str) -> Result<Secret, String> {
    if !text.is_empty() && text.len() < 16 {
        return Err("must be at least 16 bytes long".into());
    }
    Ok(Secret(text.to_owned()))
}

/// An SMTP URL as lettre reads it: `smtp://` or `smtps://` with a host.
pub fn smtp_url(text: &str) -> Result<Secret, String> {
    if text.is_empty() {
        return Ok(Secret(String::new()));
    }
    let ok = (text.starts_with("smtp://") || text.starts_with("smtps://"))
        && lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(text).is_ok();
    if ok { Ok(Secret(text.to_owned())) } else { Err("expected smtp://host:port or smtps://host".into()) }
}

/// A sender mailbox, `Name <address>` or a bare address.
pub fn mail_from(text: &str) -> Result<String, String> {
    text.parse::<lettre::message::Mailbox>()
        .map(|_| text.to_owned())
        .map_err(|e| format!("expected `Name <address>`: {e}"))
}

/// A share between 0 and 1.
pub fn sample_ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err("expected a number from 0 to 1".into()),
    }
}

/// A MongoDB connection string (it may carry a password).
pub fn mongodb_uri(text: &str) -> Result<Secret, String> {
    if text.starts_with("mongodb://") || text.starts_with("mongodb+srv://") {
        Ok(Secret(text.to_owned()))
    } else {
        Err("must start with mongodb:// or mongodb+srv://".into())
    }
}

/// Runs a parser whose value may be a secret. Its error leaves the value
/// out, unlike clap's own `invalid value '...'`, so that a password in a
/// connection string or a short JWT secret never reaches the logs.
#[derive(Clone, Copy)]
pub struct Redacted<T>(pub fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Redacted<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let setting = arg.map(describe).unwrap_or_else(|| "a setting".to_owned());
        let refuse = |problem: &str| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("invalid value (not shown) for {setting}: {problem}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| refuse("not valid UTF-8"))?;
        (self.0)(text).map_err(|problem| refuse(&problem))
    }
}

/// `'--flag <ENDORSE_VARIABLE>'`, as clap names a setting in its own errors.
fn describe(arg: &clap::Arg) -> String {
    let flag = arg.get_long().map(|long| format!("--{long}")).unwrap_or_else(|| arg.get_id().to_string());
    match arg.get_env() {
        Some(variable) => format!("'{flag} <{}>'", variable.to_string_lossy()),
        None => format!("'{flag}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_name_their_bounds() {
        assert_eq!(at_least(3usize)("2").unwrap_err(), "must be at least 3");
        assert_eq!(at_least(3usize)("3"), Ok(3));
        assert_eq!(
            at_least_or(1u64, "unset it for no cap")("0").unwrap_err(),
            "must be at least 1 (unset it for no cap)"
        );
        assert_eq!(between(60u64, 604_800)("604801").unwrap_err(), "must be between 60 and 604800");
        assert!(at_least(1u64)("deep").unwrap_err().starts_with("expected a whole number"));
        assert!(at_least(1u64)("-1").is_err());
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(bucket_name("endorse-evidence").is_ok());
        assert!(bucket_name("Endorse").is_err());
        assert!(bucket_name("ab").is_err());
        assert!(bucket_name("-abc").is_err());
        assert!(bucket_name("abc-").is_err());
    }

    #[test]
    fn urls_need_a_scheme_and_host() {
        assert!(http_url("http://127.0.0.1:9000").is_ok());
        assert!(http_url("https://s3.example.org").is_ok());
        assert!(http_url("not a url").is_err());
        assert!(http_url("ftp://host").is_err());
        assert!(cors_origin("").is_ok());
        assert!(cors_origin("*").is_ok());
        assert!(cors_origin("example.org").is_err());
    }

    #[test]
    fn secret_values_stay_out_of_errors() {
        let arg = clap::Arg::new("uri").long("mongodb-uri").env("ENDORSE_MONGODB_URI");
        let cmd = clap::Command::new("endorse");
        let error = Redacted(mongodb_uri)
            .parse_ref(&cmd, Some(&arg), OsStr::new("postgres://user:hunter2@db"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("'--mongodb-uri <ENDORSE_MONGODB_URI>'"), "{error}");
        assert!(error.contains("mongodb://"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        assert!(jwt_secret("").is_ok_and(|s| s.is_empty()));
        assert!(jwt_secret("short").is_err());
    }
}
