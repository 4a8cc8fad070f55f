//! The mail the tests' SMTP server (aiosmtpd, started by
//! `scripts/services.sh`) received: one file per message in a maildir.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::helpers::service_env;

/// The maildir of the suite's SMTP server.
pub fn maildir() -> PathBuf {
    PathBuf::from(service_env("ENDORSE_TEST_MAILDIR"))
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The rater link in the text part.
    pub fn link(&self) -> String {
        let start = self.text.find("http").unwrap_or_else(|| panic!("no link in {:?}", self.text));
        let link: String = self.text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
        assert!(link.contains("/r/"), "{link}");
        link
    }

    /// The token at the end of the link.
    pub fn token(&self) -> String {
        self.link().rsplit('/').next().unwrap().to_owned()
    }
}

fn parse(bytes: &[u8]) -> Mail {
    let parsed = mailparse::parse_mail(bytes).expect("a mail message");
    let header = |name: &str| {
        use mailparse::MailHeaderMap;
        parsed.headers.get_first_value(name).unwrap_or_default()
    };
    let mut text = String::new();
    let mut html = String::new();
    for part in parsed.parts() {
        match part.ctype.mimetype.as_str() {
            "text/plain" => text = part.get_body().unwrap(),
            "text/html" => html = part.get_body().unwrap(),
            _ => {}
        }
    }
    Mail {
        to: header("To"),
        from: header("From"),
        subject: header("Subject"),
        message_id: header("Message-ID"),
        text,
        html,
    }
}

/// Every message in `dir`, in no particular order.
pub fn read_all(dir: &Path) -> Vec<Mail> {
    let mut mails = Vec::new();
    for folder in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else { continue };
        for entry in entries.flatten() {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                mails.push(parse(&bytes));
            }
        }
    }
    mails
}

/// The messages to `address` in `dir`.
pub fn to(dir: &Path, address: &str) -> Vec<Mail> {
    read_all(dir).into_iter().filter(|mail| mail.to.contains(address)).collect()
}

/// Waits (at most `seconds`) until `dir` holds `count` messages to `address`.
pub async fn wait_for(dir: &Path, address: &str, count: usize, seconds: u64) -> Vec<Mail> {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let mails = to(dir, address);
        if mails.len() >= count {
            return mails;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} mail(s) to {address} expected in {}, found {}",
            dir.display(),
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A unique address for one test's rater.
pub fn address(who: &str) -> String {
    format!("{who}-{}@raters.example.org", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
