//! Associations: the tenants of a deployment. Every stored record belongs to
//! exactly one; nothing of one is visible to another. Pure: the store keeps
//! them, the application layer resolves the caller's.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// An association's stable code, e.g. "nys-aimh": lowercase letters and
/// digits in hyphen-separated words, 2 to 40 characters. It appears in
/// tokens, stored documents, rulebook ids and endorsement numbers, so it
/// never changes once created.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssociationCode(String);

/// Why a text is not an association code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an association code (2 to 40 lowercase letters, digits and single hyphens, e.g. `nys-aimh`)")]
pub struct InvalidCode(pub String);

impl AssociationCode {
    /// NYS-AIMH: the default association of a deployment, and of data
    /// written before associations existed.
    pub fn nys_aimh() -> Self {
        AssociationCode("nys-aimh".to_owned())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidCode> {
        let words_ok = text
            .split('-')
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        let starts_with_letter = text.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        if (2..=40).contains(&text.len()) && words_ok && starts_with_letter {
            Ok(AssociationCode(text.to_owned()))
        } else {
            Err(InvalidCode(text.chars().take(60).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AssociationCode {
    type Error = InvalidCode;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        AssociationCode::parse(&text)
    }
}

impl From<AssociationCode> for String {
    fn from(code: AssociationCode) -> Self {
        code.0
    }
}

impl std::str::FromStr for AssociationCode {
    type Err = InvalidCode;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AssociationCode::parse(text)
    }
}

impl fmt::Display for AssociationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Settings an association may set; `None` takes the deployment's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationSettings {
    /// Smallest count `stats` publishes (ENDORSE_STATS_MIN_CELL otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_min_cell: Option<u32>,
    /// Largest evidence file (ENDORSE_MAX_UPLOAD_BYTES otherwise); never
    /// above the deployment's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_upload_bytes: Option<u64>,
    /// The language of the rater page and of mail unless a person chooses
    /// another (English otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<crate::domain::model::Language>,
    /// Days after a reference link is sent on which the rater is reminded,
    /// ascending ([3, 7, 14] otherwise; empty: no reminders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_reminder_days: Option<Vec<u32>>,
    /// Whether a portfolio that does not meet its requirements yet may be
    /// submitted (no otherwise; a coordinator may let one through).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_incomplete_submissions: Option<bool>,
    /// When the processing fee must be settled (AT_SUBMISSION otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_fee_due: Option<crate::domain::model::ProcessingFeeDue>,
    /// Whether only registered portfolios may be submitted (yes otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_registration: Option<bool>,
    /// Whether staff may accept another infant mental health association's
    /// membership (a checked claim) for the membership requirement (no
    /// otherwise: only the association's own records count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_other_memberships: Option<bool>,
    /// Review cycles with their submission deadlines, ascending (see
    /// `domain::cycles`); published with `publishReviewCycles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_cycles: Option<Vec<crate::domain::cycles::ReviewCycle>>,
    /// How many times an applicant may retake a failed exam (unlimited
    /// otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exam_retakes: Option<u32>,
    /// Share of the renewals filed in a window that is audited, in percent
    /// ([`crate::domain::renewal::DEFAULT_AUDIT_PERCENT`] otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_audit_percent: Option<u32>,
    /// Days before a renewal window opens on which endorsees are reminded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_reminder_days_before_window: Option<Vec<u32>>,
    /// Days before the renewal deadline on which endorsees are reminded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_reminder_days_before_deadline: Option<Vec<u32>>,
}

/// Reminder days when the association sets none.
pub const DEFAULT_REMINDER_DAYS: [u32; 3] = [3, 7, 14];

impl AssociationSettings {
    pub fn language(&self) -> crate::domain::model::Language {
        self.language.unwrap_or(crate::domain::model::Language::En)
    }

    pub fn allows_incomplete_submissions(&self) -> bool {
        self.allow_incomplete_submissions.unwrap_or(false)
    }

    pub fn processing_fee_due(&self) -> crate::domain::model::ProcessingFeeDue {
        self.processing_fee_due.unwrap_or(crate::domain::model::ProcessingFeeDue::AtSubmission)
    }

    pub fn review_cycles(&self) -> &[crate::domain::cycles::ReviewCycle] {
        self.review_cycles.as_deref().unwrap_or(&[])
    }

    pub fn accepts_other_memberships(&self) -> bool {
        self.accept_other_memberships.unwrap_or(false)
    }

    pub fn requires_registration(&self) -> bool {
        self.require_registration.unwrap_or(true)
    }

    pub fn reminder_days(&self) -> &[u32] {
        self.reference_reminder_days.as_deref().unwrap_or(&DEFAULT_REMINDER_DAYS)
    }

    pub fn renewal_audit_percent(&self) -> u32 {
        self.renewal_audit_percent.unwrap_or(crate::domain::renewal::DEFAULT_AUDIT_PERCENT)
    }

    pub fn renewal_days_before_window(&self) -> &[u32] {
        self.renewal_reminder_days_before_window
            .as_deref()
            .unwrap_or(&crate::domain::renewal::DEFAULT_DAYS_BEFORE_WINDOW)
    }

    pub fn renewal_days_before_deadline(&self) -> &[u32] {
        self.renewal_reminder_days_before_deadline
            .as_deref()
            .unwrap_or(&crate::domain::renewal::DEFAULT_DAYS_BEFORE_DEADLINE)
    }
}

/// An association as the application sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub code: AssociationCode,
    pub name: String,
    /// Its calendar: "today", deadlines and report months are local days.
    pub time_zone: Tz,
    pub settings: AssociationSettings,
}

impl Association {
    /// The association's calendar day at `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.time_zone).date_naive()
    }
}

/// Parses an IANA time zone name ("America/New_York").
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| format!("`{name}` is not an IANA time zone name such as America/New_York"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn codes_are_plain_lowercase_words() {
        for good in ["nys-aimh", "ct-aimh", "mi-aimh2", "ab"] {
            assert!(AssociationCode::parse(good).is_ok(), "{good}");
        }
        for bad in
            ["", "a", "NYS-AIMH", "nys--aimh", "-nys", "nys-", "2nys", "nys aimh", "nys.aimh", "$ne", &"a".repeat(41)]
        {
            assert!(AssociationCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn today_is_the_associations_local_day() {
        let nys = Association {
            code: AssociationCode::parse("nys-aimh").unwrap(),
            name: "NYS-AIMH".into(),
            time_zone: parse_time_zone("America/New_York").unwrap(),
            settings: AssociationSettings::default(),
        };
        // 02:30 UTC on 1 January is still 31 December in New York.
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 2, 30, 0).unwrap();
        assert_eq!(nys.today(now), NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
        assert_eq!(now.date_naive(), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
