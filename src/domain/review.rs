//! Review rounds: who may review a portfolio, and when reviewers' verdicts
//! decide it. Pure.
//!
//! A reviewer is never the applicant, the applicant's adviser, or a rater
//! or RS/C provider named in the portfolio (matched by email, and by name
//! where no email is given), and holds a current endorsement at the
//! portfolio's level or higher (see [`super::endorsement::may_review`]).
//! One reviewer's recommendation decides; two must agree, else the
//! coordinator decides.

use super::model::Decision;

/// Someone proposed as a reviewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub subject: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
}

/// A person the portfolio names: a rater or RS/C provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named<'a> {
    pub role: &'static str,
    pub name: &'a str,
    pub email: Option<&'a str>,
}

/// Why a candidate may not review this portfolio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("{0} is the applicant")]
    Applicant(String),
    #[error("{0} advises the applicant")]
    Adviser(String),
    #[error("{name} is named in the portfolio as {role}")]
    Named { name: String, role: &'static str },
}

fn same_name(a: &str, b: &str) -> bool {
    let words = |s: &str| s.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>();
    words(a) == words(b)
}

/// The first conflict of `candidate` with a portfolio owned by `owner`,
/// advised by `advisers` (subjects), naming `named`.
pub fn conflict(candidate: &Candidate<'_>, owner: &str, advisers: &[&str], named: &[Named<'_>]) -> Option<Conflict> {
    if candidate.subject == owner {
        return Some(Conflict::Applicant(candidate.name.to_owned()));
    }
    if advisers.contains(&candidate.subject) {
        return Some(Conflict::Adviser(candidate.name.to_owned()));
    }
    named
        .iter()
        .find(|person| match (candidate.email, person.email) {
            (Some(mine), Some(theirs)) => mine.eq_ignore_ascii_case(theirs),
            _ => same_name(candidate.name, person.name),
        })
        .map(|person| Conflict::Named { name: candidate.name.to_owned(), role: person.role })
}

/// What the reviewers' recommendations come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not every assigned reviewer has recommended yet.
    Waiting,
    /// They agree (or there is one): this decides.
    Decided(Decision),
    /// Two disagree: the coordinator decides.
    Disagreement,
}

/// The verdict of `recommendations` from `assigned` reviewers.
pub fn verdict(assigned: usize, recommendations: &[Decision]) -> Verdict {
    if assigned == 0 || recommendations.len() < assigned {
        return Verdict::Waiting;
    }
    match recommendations {
        [first, rest @ ..] if rest.iter().all(|r| r == first) => Verdict::Decided(*first),
        _ => Verdict::Disagreement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate<'a>(subject: &'a str, name: &'a str, email: Option<&'a str>) -> Candidate<'a> {
        Candidate { subject, name, email }
    }

    #[test]
    fn nobody_reviews_whom_they_are_connected_to() {
        let named = [
            Named { role: "a reference rater", name: "Dana Whitfield", email: Some("dana@example.org") },
            Named { role: "an RS/C provider", name: "Pat Lee", email: None },
        ];
        let check = |c: Candidate<'_>| conflict(&c, "ada", &["adviser-ana"], &named);
        assert_eq!(check(candidate("ada", "Ada", None)), Some(Conflict::Applicant("Ada".into())));
        assert_eq!(check(candidate("adviser-ana", "Ana", None)), Some(Conflict::Adviser("Ana".into())));
        let rater = check(candidate("rev-dana", "D. Whitfield", Some("DANA@example.org")));
        assert_eq!(rater, Some(Conflict::Named { name: "D. Whitfield".into(), role: "a reference rater" }));
        let provider = check(candidate("rev-pat", "pat  LEE", Some("pat@example.org")));
        assert!(matches!(provider, Some(Conflict::Named { role: "an RS/C provider", .. })), "by name without an email");
        assert_eq!(check(candidate("rev-sam", "Dana Whitfield", Some("sam@example.org"))), None, "emails differ");
        assert_eq!(check(candidate("rev-rae", "Rae Ortiz", None)), None);
    }

    #[test]
    fn one_reviewer_decides_two_must_agree() {
        use Decision::*;
        assert_eq!(verdict(1, &[]), Verdict::Waiting);
        assert_eq!(verdict(1, &[Approve]), Verdict::Decided(Approve));
        assert_eq!(verdict(2, &[Approve]), Verdict::Waiting);
        assert_eq!(verdict(2, &[Return, Return]), Verdict::Decided(Return));
        assert_eq!(verdict(2, &[Approve, Return]), Verdict::Disagreement);
        assert_eq!(verdict(0, &[]), Verdict::Waiting);
    }
}
