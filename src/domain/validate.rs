//! Input validation for mutations. Each function returns the leaf field name
//! at fault ("hours"); the caller prefixes the input path
//! ("changes.upsert[2].entry.training.hours").

use chrono::NaiveDate;

use super::model::{
    Agreement, EducationEntry, ExamResult, LeadershipEntry, LicenseEntry, Membership, PriorEndorsement, ReferenceEntry,
    RscEntry, TrainingEntry, WorkEntry,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The leaf input field, e.g. "hours".
    pub field: String,
    pub message: String,
}

pub type Validation = Result<(), ValidationError>;

/// Longest name, title, institution or similar short text.
pub const MAX_NAME: usize = 200;
/// Longest free-text description.
pub const MAX_DESCRIPTION: usize = 2000;
/// Most hours one training entry may claim.
pub const MAX_TRAINING_HOURS: f64 = 500.0;
/// Most hours one RS/C session may claim.
pub const MAX_RSC_HOURS: f64 = 12.0;
/// Largest "not enough information" count on a rating form.
pub const MAX_NOT_ENOUGH_INFO: i32 = 50;
/// Most evidence items one entry may link.
pub const MAX_EVIDENCE_LINKS: usize = 20;

/// The entry count of every section, by its name in the API.
pub fn section_sizes(p: &super::model::Portfolio) -> [(&'static str, usize); 9] {
    [
        ("education", p.education.len()),
        ("training", p.training.len()),
        ("work", p.work.len()),
        ("reflectiveSupervision", p.reflective_supervision.len()),
        ("leadership", p.leadership.len()),
        ("references", p.references.len()),
        ("exams", p.exams.len()),
        ("priorEndorsements", p.prior_endorsements.len()),
        ("licenses", p.licenses.len()),
    ]
}

/// The first section holding more than `max` entries, with its size.
pub fn oversized_section(p: &super::model::Portfolio, max: usize) -> Option<(&'static str, usize)> {
    section_sizes(p).into_iter().find(|(_, len)| *len > max)
}

fn fail(field: &str, message: impl Into<String>) -> Validation {
    Err(ValidationError { field: field.to_owned(), message: message.into() })
}

/// A required text: not blank, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Validation {
    if value.trim().is_empty() {
        return fail(field, "must not be empty");
    }
    optional_text(field, Some(value), max)
}

/// An optional text: at most `max` characters, no control characters.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Validation {
    let Some(value) = value else { return Ok(()) };
    if value.chars().count() > max {
        return fail(field, format!("must be at most {max} characters"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return fail(field, "must not contain control characters");
    }
    Ok(())
}

/// A date that has already happened.
pub fn not_future(field: &str, value: NaiveDate, today: NaiveDate) -> Validation {
    if value > today {
        return fail(field, format!("{value} is in the future (today is {today})"));
    }
    Ok(())
}

fn hours(field: &str, value: f64, max: f64) -> Validation {
    if !value.is_finite() || value <= 0.0 {
        return fail(field, "must be a number above 0");
    }
    if value > max {
        return fail(field, format!("{value} hours is implausible (at most {max})"));
    }
    Ok(())
}

fn period(start: Option<NaiveDate>, end: Option<NaiveDate>, today: NaiveDate) -> Validation {
    if let Some(start) = start {
        not_future("startedOn", start, today)?;
    }
    if let Some(end) = end {
        not_future("endedOn", end, today)?;
    }
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        return fail("endedOn", format!("{end} is before startedOn {start}"));
    }
    Ok(())
}

fn evidence_ids(ids: &[String]) -> Validation {
    if ids.len() > MAX_EVIDENCE_LINKS {
        return fail("evidenceIds", format!("at most {MAX_EVIDENCE_LINKS} evidence items per entry"));
    }
    if ids.iter().any(|id| id.trim().is_empty() || id.len() > 100) {
        return fail("evidenceIds", "every id must be 1-100 characters");
    }
    Ok(())
}

pub fn education(e: &EducationEntry, today: NaiveDate) -> Validation {
    optional_text("field", e.field.as_deref(), MAX_NAME)?;
    optional_text("institution", e.institution.as_deref(), MAX_NAME)?;
    not_future("conferredOn", e.conferred_on, today)?;
    evidence_ids(&e.evidence_ids)
}

pub fn training(t: &TrainingEntry, today: NaiveDate) -> Validation {
    required_text("title", &t.title, MAX_NAME)?;
    optional_text("provider", t.provider.as_deref(), MAX_NAME)?;
    hours("hours", t.hours, MAX_TRAINING_HOURS)?;
    not_future("completedOn", t.completed_on, today)?;
    evidence_ids(&t.evidence_ids)
}

pub fn work(w: &WorkEntry, today: NaiveDate) -> Validation {
    required_text("role", &w.role, MAX_NAME)?;
    optional_text("employer", w.employer.as_deref(), MAX_NAME)?;
    if !(w.fte.is_finite() && w.fte > 0.0 && w.fte <= 1.0) {
        return fail("fte", "must be above 0 and at most 1");
    }
    period(Some(w.started_on), w.ended_on, today)?;
    evidence_ids(&w.evidence_ids)
}

pub fn rsc(r: &RscEntry, today: NaiveDate) -> Validation {
    not_future("date", r.date, today)?;
    hours("hours", r.hours, MAX_RSC_HOURS)?;
    required_text("providerName", &r.provider_name, MAX_NAME)?;
    evidence_ids(&r.evidence_ids)
}

pub fn leadership(l: &LeadershipEntry, today: NaiveDate) -> Validation {
    required_text("description", &l.description, MAX_DESCRIPTION)?;
    period(l.started_on, l.ended_on, today)
}

/// A plausible email address: one `@`, a dotted host, no spaces, at most
/// 254 characters.
pub fn email(field: &str, address: &str) -> Validation {
    optional_text(field, Some(address), 254)?;
    let plausible = address
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.contains('@'))
        && !address.chars().any(char::is_whitespace);
    if !plausible {
        return fail(field, "must be an email address like name@example.org");
    }
    Ok(())
}

pub fn reference(r: &ReferenceEntry, today: NaiveDate) -> Validation {
    required_text("raterName", &r.rater_name, MAX_NAME)?;
    if let Some(address) = &r.rater_email {
        email("raterEmail", address)?;
    }
    if let Some(done) = r.completed_on {
        not_future("completedOn", done, today)?;
    }
    if !(0..=MAX_NOT_ENOUGH_INFO).contains(&r.not_enough_info_count) {
        return fail("notEnoughInfoCount", format!("must be between 0 and {MAX_NOT_ENOUGH_INFO}"));
    }
    Ok(())
}

pub fn exam(e: &ExamResult, today: NaiveDate) -> Validation {
    not_future("takenOn", e.taken_on, today)?;
    evidence_ids(&e.evidence_ids)
}

pub fn agreement(a: &Agreement, today: NaiveDate) -> Validation {
    not_future("signedOn", a.signed_on, today)?;
    evidence_ids(&a.evidence_ids)
}

/// `validUntil` may lie in the future: that is what makes a membership current.
pub fn membership(m: &Membership, _today: NaiveDate) -> Validation {
    required_text("association", &m.association, MAX_NAME)
}

pub fn prior_endorsement(p: &PriorEndorsement, today: NaiveDate) -> Validation {
    not_future("endorsedOn", p.endorsed_on, today)
}

/// `validUntil` may lie in the future.
pub fn license(l: &LicenseEntry, today: NaiveDate) -> Validation {
    required_text("kind", &l.kind, MAX_NAME)?;
    not_future("validFrom", l.valid_from, today)?;
    if let Some(until) = l.valid_until
        && until < l.valid_from
    {
        return fail("validUntil", format!("{until} is before validFrom {}", l.valid_from));
    }
    evidence_ids(&l.evidence_ids)
}

/// Checks one entry of any section.
pub fn entry(entry: &crate::domain::changes::Entry, today: NaiveDate) -> Validation {
    use crate::domain::changes::Entry;
    match entry {
        Entry::Education(e) => education(e, today),
        Entry::Training(e) => training(e, today),
        Entry::Work(e) => work(e, today),
        Entry::ReflectiveSupervision(e) => rsc(e, today),
        Entry::Leadership(e) => leadership(e, today),
        Entry::Reference(e) => reference(e, today),
        Entry::Exam(e) => exam(e, today),
        Entry::PriorEndorsement(e) => prior_endorsement(e, today),
        Entry::License(e) => license(e, today),
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample::{date, realistic_portfolio};
    use super::*;

    fn today() -> NaiveDate {
        date(2025, 6, 1)
    }

    fn field(v: Validation) -> String {
        v.expect_err("should fail").field
    }

    #[test]
    fn the_sample_portfolio_is_valid() {
        let p = realistic_portfolio();
        for e in &p.education {
            education(e, today()).unwrap();
        }
        for t in &p.training {
            training(t, today()).unwrap();
        }
        for w in &p.work {
            work(w, today()).unwrap();
        }
        for r in &p.reflective_supervision {
            rsc(r, today()).unwrap();
        }
        for r in &p.references {
            reference(r, today()).unwrap();
        }
        for l in &p.leadership {
            leadership(l, today()).unwrap();
        }
        for e in &p.exams {
            exam(e, today()).unwrap();
        }
        agreement(p.agreement.as_ref().unwrap(), today()).unwrap();
        membership(p.membership.as_ref().unwrap(), today()).unwrap();
        prior_endorsement(&p.prior_endorsements[0], today()).unwrap();
    }

    #[test]
    fn training_hours_bounds() {
        let mut t = realistic_portfolio().training[0].clone();
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 500.5] {
            t.hours = bad;
            assert_eq!(field(training(&t, today())), "hours", "{bad}");
        }
        t.hours = 500.0;
        training(&t, today()).unwrap();
        t.title = "  ".into();
        assert_eq!(field(training(&t, today())), "title");
        t.title = "x".repeat(201);
        assert_eq!(field(training(&t, today())), "title");
        t.title = "x".repeat(200);
        t.completed_on = date(2025, 6, 2);
        assert_eq!(field(training(&t, today())), "completedOn");
    }

    #[test]
    fn rsc_session_bounds() {
        let mut r = realistic_portfolio().reflective_supervision[0].clone();
        r.hours = 12.0;
        rsc(&r, today()).unwrap();
        r.hours = 12.5;
        assert_eq!(field(rsc(&r, today())), "hours");
        r.hours = 1.0;
        r.provider_name = String::new();
        assert_eq!(field(rsc(&r, today())), "providerName");
    }

    #[test]
    fn work_fte_and_period() {
        let mut w = realistic_portfolio().work[1].clone();
        for bad in [0.0, 1.01, f64::NAN, -0.5] {
            w.fte = bad;
            assert_eq!(field(work(&w, today())), "fte", "{bad}");
        }
        w.fte = 1.0;
        w.ended_on = Some(w.started_on.pred_opt().unwrap());
        assert_eq!(field(work(&w, today())), "endedOn");
        w.ended_on = Some(w.started_on);
        work(&w, today()).unwrap();
        w.ended_on = Some(date(2025, 7, 1));
        assert_eq!(field(work(&w, today())), "endedOn");
        w.ended_on = None;
        w.started_on = date(2025, 6, 2);
        assert_eq!(field(work(&w, today())), "startedOn");
    }

    #[test]
    fn reference_counts_and_email() {
        let mut r = realistic_portfolio().references[0].clone();
        r.not_enough_info_count = 50;
        reference(&r, today()).unwrap();
        for bad in [51, -1] {
            r.not_enough_info_count = bad;
            assert_eq!(field(reference(&r, today())), "notEnoughInfoCount");
        }
        r.not_enough_info_count = 0;
        r.rater_email = Some("not an email".into());
        assert_eq!(field(reference(&r, today())), "raterEmail");
    }

    #[test]
    fn membership_may_run_into_the_future_but_other_dates_may_not() {
        let m = Membership { association: "NYS-AIMH".into(), valid_until: date(2030, 1, 1), checked_by: None };
        membership(&m, today()).unwrap();
        let a = Agreement { signed_on: date(2025, 6, 2), evidence_ids: Vec::new() };
        assert_eq!(field(agreement(&a, today())), "signedOn");
    }

    #[test]
    fn descriptions_are_bounded() {
        let mut l = realistic_portfolio().leadership[0].clone();
        l.description = "x".repeat(2000);
        leadership(&l, today()).unwrap();
        l.description.push('x');
        assert_eq!(field(leadership(&l, today())), "description");
    }
}
