//! Reference ratings requested from the raters themselves: the life of a
//! request and its link, the association's rating form, and what a
//! submitted rating says. Pure: the store keeps requests, the application
//! layer sends the links and writes the submitted rating into the portfolio.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Category, Credential, Language, ReferenceRequestStatus};
use super::validate::ValidationError;

/// At most one new link per request in this time.
pub const RESEND_INTERVAL: Duration = Duration::hours(12);
/// Longest comment a rater may give.
pub const MAX_COMMENTS: usize = 5000;
/// Most items a form may hold.
pub const MAX_ITEMS: usize = 80;

/// Why a rater's link does not open the form (said on the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    #[error("This rating has been submitted. Thank you; nothing more is needed.")]
    Submitted,
    #[error("The applicant or the association withdrew this request.")]
    Revoked,
    #[error("This link has expired. The applicant can send you a new one.")]
    Expired,
    /// Unknown, or replaced by a newer link (never told apart).
    #[error("This link is not valid. If you were sent a newer one, use that.")]
    Unknown,
}

/// Why a request cannot be resent or revoked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefused {
    #[error("The rater has already submitted this rating.")]
    Submitted,
    #[error("This request was revoked.")]
    Revoked,
    #[error("A new link can be sent once every 12 hours; the next one after {0}.")]
    TooSoon(DateTime<Utc>),
}

/// The status the applicant sees: a stored open request whose time ran
/// out is EXPIRED (nothing needs to run for that to be true).
pub fn shown_status(
    stored: ReferenceRequestStatus,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ReferenceRequestStatus {
    use ReferenceRequestStatus::*;
    match stored {
        Sent | Opened | Bounced if now >= expires_at => Expired,
        other => other,
    }
}

/// Whether the link may still be used to fill the form. A bounced mail
/// does not stop a rater who got the link another way.
pub fn check_usable(
    stored: ReferenceRequestStatus,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), LinkRefused> {
    match shown_status(stored, expires_at, now) {
        ReferenceRequestStatus::Submitted => Err(LinkRefused::Submitted),
        ReferenceRequestStatus::Revoked => Err(LinkRefused::Revoked),
        ReferenceRequestStatus::Expired => Err(LinkRefused::Expired),
        _ => Ok(()),
    }
}

/// Whether a new link may be sent now (the old one dies with it).
pub fn check_resend(
    stored: ReferenceRequestStatus,
    last_sent_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), RequestRefused> {
    check_revocable(stored)?;
    let next = last_sent_at + RESEND_INTERVAL;
    if now < next { Err(RequestRefused::TooSoon(next)) } else { Ok(()) }
}

/// Whether the request may be withdrawn: anything not yet submitted.
pub fn check_revocable(stored: ReferenceRequestStatus) -> Result<(), RequestRefused> {
    match stored {
        ReferenceRequestStatus::Submitted => Err(RequestRefused::Submitted),
        ReferenceRequestStatus::Revoked => Err(RequestRefused::Revoked),
        _ => Ok(()),
    }
}

/// A text in every language the association offers; English is required,
/// the others fall back to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub en: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub es: Option<String>,
}

impl Localized {
    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::En => &self.en,
            Language::Es => self.es.as_deref().filter(|text| !text.trim().is_empty()).unwrap_or(&self.en),
        }
    }

    fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.en.as_str()).chain(self.es.as_deref())
    }
}

/// One point of the rating scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalePoint {
    pub value: i32,
    pub label: Localized,
}

/// One item the rater answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormItem {
    /// Stable within the form: answers refer to it.
    pub id: String,
    /// The competency domain it belongs to ("Reflection").
    pub domain: Localized,
    pub text: Localized,
}

/// The association's rating form: its items and scale. Association data
/// (the wording is licensed to each association), published in versions;
/// a request is answered on the version it was sent with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceForm {
    pub scale: Vec<ScalePoint>,
    pub items: Vec<FormItem>,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError { field: field.into(), message: message.into() }
}

impl ReferenceForm {
    /// A publishable form: 1 to [`MAX_ITEMS`] items with distinct plain ids,
    /// 2 to 10 scale points with distinct values, no blank or oversized text.
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            return Err(invalid("items", format!("a form has 1 to {MAX_ITEMS} items")));
        }
        if !(2..=10).contains(&self.scale.len()) {
            return Err(invalid("scale", "a scale has 2 to 10 points"));
        }
        let texts_ok = |text: &Localized| text.texts().all(|t| !t.trim().is_empty() && t.chars().count() <= 1000);
        for (i, point) in self.scale.iter().enumerate() {
            if self.scale[..i].iter().any(|p| p.value == point.value) {
                return Err(invalid(format!("scale[{i}].value"), format!("value {} appears twice", point.value)));
            }
            if !texts_ok(&point.label) {
                return Err(invalid(format!("scale[{i}].label"), "labels are 1 to 1000 characters"));
            }
        }
        for (i, item) in self.items.iter().enumerate() {
            let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            if item.id.is_empty() || item.id.len() > 40 || !item.id.chars().all(plain) {
                return Err(invalid(format!("items[{i}].id"), "ids are 1 to 40 letters, digits, `-` or `_`"));
            }
            if self.items[..i].iter().any(|other| other.id == item.id) {
                return Err(invalid(format!("items[{i}].id"), format!("id `{}` appears twice", item.id)));
            }
            if !texts_ok(&item.text) || !texts_ok(&item.domain) {
                return Err(invalid(format!("items[{i}]"), "texts are 1 to 1000 characters"));
            }
        }
        Ok(())
    }

    fn on_scale(&self, value: i32) -> bool {
        self.scale.iter().any(|point| point.value == value)
    }

    /// Neutral placeholder items for demo data and tests: never an
    /// association's licensed wording.
    pub fn placeholder() -> ReferenceForm {
        let text = |en: &str, es: &str| Localized { en: en.to_owned(), es: Some(es.to_owned()) };
        let scale = [
            (1, "Rarely", "Rara vez"),
            (2, "Sometimes", "A veces"),
            (3, "Often", "A menudo"),
            (4, "Consistently", "Siempre"),
        ]
        .into_iter()
        .map(|(value, en, es)| ScalePoint { value, label: text(en, es) })
        .collect();
        let items = [
            ("domain-a-1", "Domain A", "Dominio A", "Placeholder item A1.", "Elemento de ejemplo A1."),
            ("domain-a-2", "Domain A", "Dominio A", "Placeholder item A2.", "Elemento de ejemplo A2."),
            ("domain-b-1", "Domain B", "Dominio B", "Placeholder item B1.", "Elemento de ejemplo B1."),
            ("domain-b-2", "Domain B", "Dominio B", "Placeholder item B2.", "Elemento de ejemplo B2."),
            ("domain-c-1", "Domain C", "Dominio C", "Placeholder item C1.", "Elemento de ejemplo C1."),
            ("domain-c-2", "Domain C", "Dominio C", "Placeholder item C2.", "Elemento de ejemplo C2."),
            ("domain-d-1", "Domain D", "Dominio D", "Placeholder item D1.", "Elemento de ejemplo D1."),
            ("domain-d-2", "Domain D", "Dominio D", "Placeholder item D2.", "Elemento de ejemplo D2."),
        ]
        .into_iter()
        .map(|(id, domain_en, domain_es, en, es)| FormItem {
            id: id.to_owned(),
            domain: text(domain_en, domain_es),
            text: text(en, es),
        })
        .collect();
        ReferenceForm { scale, items }
    }
}

/// One answer: a point of the scale, or "I do not have enough information".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub item_id: String,
    /// `None`: not enough information.
    #[serde(default)]
    pub value: Option<i32>,
}

/// The rater's own endorsement, as they state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatedEndorsement {
    /// `None`: not endorsed.
    #[serde(default)]
    pub category: Option<Category>,
}

impl StatedEndorsement {
    pub fn credential(self) -> Credential {
        self.category.map_or(Credential::None, Credential::of_category)
    }
}

/// What the rater has filled in: a draft may be partial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    #[serde(default)]
    pub answers: Vec<Answer>,
    #[serde(default)]
    pub recommends: Option<bool>,
    #[serde(default)]
    pub comments: Option<String>,
    #[serde(default)]
    pub endorsement: Option<StatedEndorsement>,
}

/// What a complete rating contributes to eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    pub not_enough_info_count: i32,
    pub recommends: bool,
    pub stated: StatedEndorsement,
}

impl Rating {
    /// A draft the form accepts: answers to its own items, each once, on
    /// its scale; comments within bounds.
    pub fn check_draft(&self, form: &ReferenceForm) -> Result<(), ValidationError> {
        for (i, answer) in self.answers.iter().enumerate() {
            if !form.items.iter().any(|item| item.id == answer.item_id) {
                return Err(invalid(
                    format!("answers[{i}].itemId"),
                    format!("`{}` is not an item of this form", answer.item_id),
                ));
            }
            if self.answers[..i].iter().any(|other| other.item_id == answer.item_id) {
                return Err(invalid(format!("answers[{i}].itemId"), format!("`{}` is answered twice", answer.item_id)));
            }
            if let Some(value) = answer.value
                && !form.on_scale(value)
            {
                return Err(invalid(format!("answers[{i}].value"), format!("{value} is not a point of the scale")));
            }
        }
        if self.comments.as_deref().is_some_and(|c| c.chars().count() > MAX_COMMENTS) {
            return Err(invalid("comments", format!("at most {MAX_COMMENTS} characters")));
        }
        Ok(())
    }

    /// A rating that can be submitted: a valid draft that answers every
    /// item, recommends or not, and states the rater's endorsement.
    pub fn check_complete(&self, form: &ReferenceForm) -> Result<Scored, ValidationError> {
        self.check_draft(form)?;
        if let Some(item) = form.items.iter().find(|item| !self.answers.iter().any(|a| a.item_id == item.id)) {
            return Err(invalid(
                "answers",
                format!("item `{}` is not answered (choose \"not enough information\" if you cannot say)", item.id),
            ));
        }
        let recommends =
            self.recommends.ok_or_else(|| invalid("recommends", "say whether you recommend the applicant"))?;
        let stated = self
            .endorsement
            .ok_or_else(|| invalid("endorsement", "state your own endorsement, or that you are not endorsed"))?;
        let not_enough_info_count = self.answers.iter().filter(|a| a.value.is_none()).count() as i32;
        Ok(Scored { not_enough_info_count, recommends, stated })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap()
    }

    #[test]
    fn open_requests_expire_by_time_alone() {
        use ReferenceRequestStatus::*;
        for open in [Sent, Opened, Bounced] {
            assert_eq!(shown_status(open, at(10), at(9)), open);
            assert_eq!(shown_status(open, at(10), at(10)), Expired);
            assert_eq!(check_usable(open, at(10), at(10)), Err(LinkRefused::Expired));
        }
        assert_eq!(shown_status(Submitted, at(10), at(11)), Submitted);
        assert_eq!(check_usable(Submitted, at(10), at(9)), Err(LinkRefused::Submitted));
        assert_eq!(check_usable(Revoked, at(10), at(9)), Err(LinkRefused::Revoked));
        assert_eq!(check_usable(Bounced, at(10), at(9)), Ok(()));
    }

    #[test]
    fn a_new_link_at_most_every_12_hours_and_never_after_submission() {
        use ReferenceRequestStatus::*;
        let sent = at(0);
        assert_eq!(check_resend(Sent, sent, at(11)), Err(RequestRefused::TooSoon(at(12))));
        assert_eq!(check_resend(Sent, sent, at(12)), Ok(()));
        assert_eq!(check_resend(Expired, sent, at(13)), Ok(()));
        assert_eq!(check_resend(Submitted, sent, at(13)), Err(RequestRefused::Submitted));
        assert_eq!(check_resend(Revoked, sent, at(13)), Err(RequestRefused::Revoked));
        assert!(check_revocable(Bounced).is_ok());
    }

    fn answers(values: &[Option<i32>]) -> Vec<Answer> {
        let form = ReferenceForm::placeholder();
        form.items.iter().zip(values).map(|(item, value)| Answer { item_id: item.id.clone(), value: *value }).collect()
    }

    #[test]
    fn a_complete_rating_counts_not_enough_information_answers() {
        let form = ReferenceForm::placeholder();
        form.check().unwrap();
        let values = [Some(4), None, Some(3), None, None, Some(1), Some(2), None];
        let rating = Rating {
            answers: answers(&values),
            recommends: Some(true),
            comments: Some("Thoughtful.".into()),
            endorsement: Some(StatedEndorsement { category: Some(Category::MentorClinical) }),
        };
        let scored = rating.check_complete(&form).unwrap();
        assert_eq!(scored.not_enough_info_count, 4);
        assert_eq!(scored.stated.credential(), Credential::MentorClinical);
        assert_eq!(StatedEndorsement { category: None }.credential(), Credential::None);
    }

    #[test]
    fn incomplete_or_foreign_answers_are_refused_with_the_field() {
        let form = ReferenceForm::placeholder();
        let mut rating = Rating { answers: answers(&[Some(4); 7]), ..Rating::default() };
        assert!(rating.check_draft(&form).is_ok(), "a draft may be partial");
        assert_eq!(rating.check_complete(&form).unwrap_err().field, "answers");
        rating.answers = answers(&[Some(4); 8]);
        assert_eq!(rating.check_complete(&form).unwrap_err().field, "recommends");
        rating.recommends = Some(false);
        assert_eq!(rating.check_complete(&form).unwrap_err().field, "endorsement");
        rating.answers[2].value = Some(9);
        assert_eq!(rating.check_draft(&form).unwrap_err().field, "answers[2].value");
        rating.answers[2] = rating.answers[1].clone();
        assert_eq!(rating.check_draft(&form).unwrap_err().field, "answers[2].itemId");
        rating.answers[2].item_id = "$where".into();
        assert_eq!(rating.check_draft(&form).unwrap_err().field, "answers[2].itemId");
    }

    #[test]
    fn forms_are_checked_before_they_are_published() {
        let mut form = ReferenceForm::placeholder();
        form.items[1].id = form.items[0].id.clone();
        assert_eq!(form.check().unwrap_err().field, "items[1].id");
        let mut form = ReferenceForm::placeholder();
        form.scale.truncate(1);
        assert_eq!(form.check().unwrap_err().field, "scale");
        let mut form = ReferenceForm::placeholder();
        form.items[0].text.es = Some(" ".into());
        assert!(form.check().is_err());
        assert_eq!(ReferenceForm::placeholder().items[0].text.get(Language::Es), "Elemento de ejemplo A1.");
    }
}
