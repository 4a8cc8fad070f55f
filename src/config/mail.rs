//! Mail and the links it carries: where mail goes, whom it is from, how
//! links are made, and how the outbox retries.

use clap::Args;

use super::Secret;
use super::parse::{Redacted, at_least, between, http_url, jwt_secret, mail_from, smtp_url};

#[derive(Debug, Clone, Args)]
pub struct MailConfig {
    /// The address people reach this server at, for the links in mail (`https://endorse.example.org`) [default: `http://` and ENDORSE_LISTEN].
    #[arg(long = "public-url", env = "ENDORSE_PUBLIC_URL", value_name = "ENDORSE_PUBLIC_URL", value_parser = http_url)]
    pub public_url: Option<String>,

    /// SMTP server the outbox sends through: `smtps://user:pass@host` (TLS), `smtp://user:pass@host:587?tls=required` (STARTTLS), or `smtp://host:port` (unencrypted: a local relay only). Unset, mail waits in the outbox [default: none].
    #[arg(
        long = "smtp-url",
        env = "ENDORSE_SMTP_URL",
        value_name = "ENDORSE_SMTP_URL",
        value_parser = Redacted(smtp_url),
        default_value = "",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub smtp_url: Secret,

    /// The sender of every mail, `Name <address>`; the association's name is put in front of it.
    #[arg(
        long = "mail-from",
        env = "ENDORSE_MAIL_FROM",
        value_name = "ENDORSE_MAIL_FROM",
        value_parser = mail_from,
        default_value = "Endorse <no-reply@endorse.invalid>"
    )]
    pub mail_from: String,

    /// Key that reference links are derived from (at least 32 bytes; the database holds only their hashes). Changing it kills every open link. In development a built-in key is used when unset.
    #[arg(
        long = "link-secret",
        env = "ENDORSE_LINK_SECRET",
        value_name = "ENDORSE_LINK_SECRET",
        value_parser = Redacted(jwt_secret),
        default_value = "",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub link_secret: Secret,

    /// Days a reference link stays valid.
    #[arg(
        long = "reference-link-days",
        env = "ENDORSE_REFERENCE_LINK_DAYS",
        value_name = "ENDORSE_REFERENCE_LINK_DAYS",
        value_parser = between(1i64, 365),
        default_value_t = 30
    )]
    pub reference_link_days: i64,

    /// Attempts at sending one mail before it is given up as undeliverable.
    #[arg(
        long = "outbox-max-attempts",
        env = "ENDORSE_OUTBOX_MAX_ATTEMPTS",
        value_name = "ENDORSE_OUTBOX_MAX_ATTEMPTS",
        value_parser = between(1i32, 100),
        default_value_t = 10
    )]
    pub outbox_max_attempts: i32,

    /// Wait before the first retry of a mail, in milliseconds; it doubles with each attempt, up to an hour.
    #[arg(
        long = "outbox-retry-ms",
        env = "ENDORSE_OUTBOX_RETRY_MS",
        value_name = "ENDORSE_OUTBOX_RETRY_MS",
        value_parser = at_least(10u64),
        default_value_t = 30_000
    )]
    pub outbox_retry_ms: u64,

    /// How often the outbox worker looks for mail and due reminders when nothing woke it, in milliseconds.
    #[arg(
        long = "outbox-poll-ms",
        env = "ENDORSE_OUTBOX_POLL_MS",
        value_name = "ENDORSE_OUTBOX_POLL_MS",
        value_parser = at_least(10u64),
        default_value_t = 2_000
    )]
    pub outbox_poll_ms: u64,
}

/// The key development servers derive links from when none is set.
/// Refused in production.
pub const DEV_LINK_SECRET: &str = "endorse-development-link-key-do-not-use-in-production";
