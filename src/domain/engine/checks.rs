//! The primitives that count entries: degree, training hours, references,
//! leadership, prior endorsement, agreement, membership, exam.

use chrono::{Months, NaiveDate};

use super::super::model::{
    Basis, CredentialBasis, DegreeLevel, EducationEntry, ReferenceEntry, ReferenceRole, ReferenceSource, TrainingTopic,
};
use super::super::names::{Human, humans};
use super::super::rulebook::{DegreeRule, LeadershipRule, PriorEndorsementRule, ReferencesRule, TrainingRule};
use super::super::words::{both, count, either, num, one_decimal};
use super::{Assessment, Ctx, EntryId, Progress};

/// Hours as exact thousandths, so sums do not depend on entry order.
/// None for hours that are not a positive finite number.
pub fn milli_hours(hours: f64) -> Option<i64> {
    (hours.is_finite() && hours > 0.0).then(|| (hours * 1000.0).round() as i64)
}

pub fn hours(milli: i64) -> f64 {
    milli as f64 / 1000.0
}

/// `as_of` minus N calendar months (end-of-month clamped: 2025-02-28 - 12 = 2024-02-28).
pub fn months_before(as_of: NaiveDate, months: u32) -> NaiveDate {
    as_of.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN)
}

/// "MASTER or higher" for a tail of the ladder, else "CDA or BACHELOR".
pub fn levels_phrase(levels: &[DegreeLevel]) -> String {
    let all = DegreeLevel::ALL;
    if levels.len() > 1 && all.ends_with(levels) {
        format!("{} or higher", levels[0].human())
    } else {
        either(&humans(levels))
    }
}

/// ", 2 entries without verified evidence not counted" or "".
fn unverified_note(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => " (1 entry without verified evidence not counted)".into(),
        n => format!(" ({n} entries without verified evidence not counted)"),
    }
}

/// Education entries that count under the basis: conferred on or before `as_of`.
/// Sorted by (conferral date, id).
pub fn degrees<'a>(ctx: &Ctx<'a>) -> impl Iterator<Item = &'a EducationEntry> + use<'a> {
    let as_of = ctx.as_of;
    ctx.prep.education.iter().copied().filter(move |e| e.conferred_on <= as_of)
}

pub fn degree(ctx: &Ctx<'_>, rule: &DegreeRule) -> Assessment {
    let related = if rule.related_field { " in a related field" } else { "" };
    let wanted = format!("a {} degree{related}", levels_phrase(&rule.levels));
    let fits = |e: &&EducationEntry| rule.levels.contains(&e.level) && (!rule.related_field || e.related_field);
    let matching: Vec<&EducationEntry> = degrees(ctx).filter(fits).collect();
    let unverified = ctx.prep.education_unbacked.iter().filter(|e| e.conferred_on <= ctx.as_of && fits(e)).count();
    let mut counted: Vec<EntryId> = matching.iter().map(|e| EntryId::from(e.id.as_str())).collect();
    if let Some(first) = matching.first() {
        return Assessment {
            met: true,
            progress: None,
            explanation: format!("{} degree{related} conferred on {}.", first.level, first.conferred_on),
            counted,
            missing: Vec::new(),
        };
    }
    if rule.or_license {
        let mut licences: Vec<_> = ctx
            .portfolio
            .licenses
            .iter()
            .filter(|l| l.valid_from <= ctx.as_of && l.valid_until.is_none_or(|u| u >= ctx.as_of))
            .filter(|l| ctx.backed(&l.evidence_ids, &ctx.policy.licenses))
            .collect();
        licences.sort_by(|a, b| (a.valid_from, &a.id).cmp(&(b.valid_from, &b.id)));
        if let Some(first) = licences.first() {
            counted.extend(licences.iter().map(|l| EntryId::from(l.id.as_str())));
            return Assessment {
                met: true,
                progress: None,
                explanation: format!("{} licence valid on {}, in place of a degree.", first.kind, ctx.as_of),
                counted,
                missing: Vec::new(),
            };
        }
    }
    let or_license = if rule.or_license { " or professional licence" } else { "" };
    Assessment {
        met: false,
        progress: None,
        explanation: format!(
            "No {}{related} degree{or_license} on file as of {}{}.",
            levels_phrase(&rule.levels),
            ctx.as_of,
            unverified_note(unverified)
        ),
        counted,
        missing: vec![if rule.or_license {
            format!("{wanted}, or a professional mental-health licence")
        } else {
            wanted
        }],
    }
}

pub fn training(ctx: &Ctx<'_>, rule: &TrainingRule) -> Assessment {
    let from = rule.look_back_months.map(|m| months_before(ctx.as_of, m));
    let mut total = 0i64;
    let mut topic_totals = vec![0i64; rule.topic_minimums.len()];
    let in_window = |on: NaiveDate| on <= ctx.as_of && from.is_none_or(|f| on >= f);
    let mut counted = Vec::new();
    for (t, milli, id) in &ctx.prep.training {
        if !in_window(t.completed_on) {
            continue;
        }
        total += milli;
        for ((topic, _), sum) in rule.topic_minimums.iter().zip(topic_totals.iter_mut()) {
            if t.topics.contains(topic) {
                *sum += *milli;
            }
        }
        counted.push(id.get(&t.id));
    }
    let unverified = ctx.prep.training_unbacked.iter().filter(|t| in_window(t.completed_on)).count();
    let required = (rule.min_hours * 1000.0).round() as i64;
    let mut met = total >= required;
    let mut missing = Vec::new();
    if !met {
        missing.push(format!("{} more training hours", one_decimal(hours(required - total))));
    }
    let mut parts = Vec::new();
    for ((topic, min), sum) in rule.topic_minimums.iter().zip(&topic_totals) {
        let need = (min * 1000.0).round() as i64;
        parts.push(format!("{} of {} {topic} hours", one_decimal(hours(*sum)), num(*min)));
        if *sum < need {
            met = false;
            missing.push(format!("{} more {} training hours", one_decimal(hours(need - sum)), topic_name(*topic)));
        }
    }
    let including = if parts.is_empty() { String::new() } else { format!(", including {}", both(&parts)) };
    let window = match from {
        Some(f) => format!("between {f} and {}", ctx.as_of),
        None => format!("by {}", ctx.as_of),
    };
    Assessment {
        met,
        progress: Some(Progress { current: hours(total), required: rule.min_hours, unit: "hours" }),
        explanation: format!(
            "{} of {} training hours completed {window}{including}{}.",
            one_decimal(hours(total)),
            num(rule.min_hours),
            unverified_note(unverified)
        ),
        counted,
        missing,
    }
}

fn topic_name(topic: TrainingTopic) -> &'static str {
    topic.human()
}

/// Why a reference rating does not count, if it does not.
fn reference_problem(r: &ReferenceEntry, as_of: NaiveDate, rule: &ReferencesRule) -> Option<&'static str> {
    if r.source == ReferenceSource::Typed {
        // why: an applicant never types a rating; only what the rater
        // submitted (or a coordinator imported) is evidence of one.
        return Some("typed by the applicant, not submitted by the rater");
    }
    match r.completed_on {
        None => Some("not completed"),
        Some(d) if d > as_of => Some("completed after the evaluation date"),
        Some(d) if d < months_before(as_of, 12) => Some("older than 12 months"),
        Some(_) if r.not_enough_info_count >= 6 => Some("with 6 or more \"not enough information\" answers"),
        Some(_) if r.recommends == Some(false) && !rule.count_not_recommending => {
            Some("that do not recommend the applicant")
        }
        Some(_) => None,
    }
}

/// Whether the rater's own endorsement counts as Level II or above: as
/// stated under CLAIMED; confirmed in the association's records or vetted
/// by a coordinator under VERIFIED.
fn rater_level_two(r: &ReferenceEntry, basis: Basis) -> bool {
    r.rater_credential.is_level_two_or_above()
        && (basis == Basis::Claimed
            || matches!(r.credential_basis, Some(CredentialBasis::Confirmed | CredentialBasis::Vetted)))
}

pub fn references(ctx: &Ctx<'_>, rule: &ReferencesRule) -> Assessment {
    let mut valid: Vec<&ReferenceEntry> = Vec::new();
    let mut problems: Vec<&'static str> = Vec::new();
    for r in &ctx.portfolio.references {
        match reference_problem(r, ctx.as_of, rule) {
            None => valid.push(r),
            Some(problem) => problems.push(problem),
        }
    }
    valid.sort_by(|a, b| (a.completed_on, &a.id).cmp(&(b.completed_on, &b.id)));
    let level_two = valid.iter().filter(|r| rater_level_two(r, ctx.basis)).count();
    let mut missing = Vec::new();
    let n = rule.count as usize;
    if valid.len() < n {
        missing.push(count(n - valid.len(), "more valid reference rating", "more valid reference ratings"));
    }
    let m = rule.min_level_two as usize;
    if level_two < m {
        missing.push(count(
            m - level_two,
            "more rating from a rater endorsed at Level II or above",
            "more ratings from raters endorsed at Level II or above",
        ));
    }
    let mut uncovered: Vec<ReferenceRole> = Vec::new();
    for (i, role) in rule.roles.iter().enumerate() {
        let needed = rule.roles[..=i].iter().filter(|r| *r == role).count();
        if valid.iter().filter(|r| r.role == *role).count() < needed {
            uncovered.push(*role);
            missing.push(format!("a reference from a {}", role.human()));
        }
    }
    let met = missing.is_empty();
    let mut explanation = format!("{} of {} valid reference ratings", valid.len(), rule.count);
    if m > 0 {
        explanation.push_str(&format!(", {level_two} of {m} from raters endorsed at Level II or above"));
    }
    if !rule.roles.is_empty() {
        if uncovered.is_empty() {
            let roles = humans(&rule.roles);
            explanation.push_str(&format!(", with {} covered", both(&roles)));
        } else {
            let roles = humans(&uncovered);
            explanation.push_str(&format!(", no valid rating yet from a {}", both(&roles)));
        }
    }
    if !problems.is_empty() {
        problems.sort_unstable();
        let mut reasons: Vec<String> = Vec::new();
        for p in &problems {
            if !reasons.iter().any(|r| r.ends_with(p)) {
                let k = problems.iter().filter(|q| *q == p).count();
                reasons.push(format!("{k} {p}"));
            }
        }
        explanation.push_str(&format!(" (not counted: {})", both(&reasons)));
    }
    explanation.push('.');
    Assessment {
        met,
        progress: Some(Progress { current: valid.len() as f64, required: rule.count as f64, unit: "references" }),
        explanation,
        counted: valid.iter().map(|r| EntryId::from(r.id.as_str())).collect(),
        missing,
    }
}

pub fn leadership(ctx: &Ctx<'_>, rule: &LeadershipRule) -> Assessment {
    // why: an activity that has not started by `as_of` does not count (nothing
    // after as_of counts); one without dates is taken as already under way.
    let mut counted: Vec<_> =
        ctx.portfolio.leadership.iter().filter(|l| l.started_on.is_none_or(|d| d <= ctx.as_of)).collect();
    counted.sort_by(|a, b| (a.started_on, &a.id).cmp(&(b.started_on, &b.id)));
    let n = rule.count as usize;
    let met = counted.len() >= n;
    Assessment {
        met,
        progress: Some(Progress { current: counted.len() as f64, required: n as f64, unit: "activities" }),
        explanation: format!("{} of {n} leadership activities on file as of {}.", counted.len(), ctx.as_of),
        counted: counted.iter().map(|l| EntryId::from(l.id.as_str())).collect(),
        missing: if met {
            Vec::new()
        } else {
            vec![count(n - counted.len(), "more leadership activity", "more leadership activities")]
        },
    }
}

pub fn prior(ctx: &Ctx<'_>, rule: &PriorEndorsementRule) -> Assessment {
    // why: the endorsement may be on either track; the add-on is track-neutral (ERS).
    let mut found: Vec<_> = ctx
        .portfolio
        .prior_endorsements
        .iter()
        .filter(|p| rule.categories.contains(&p.category) && p.endorsed_on <= ctx.as_of)
        .collect();
    found.sort_by(|a, b| (a.endorsed_on, &a.id).cmp(&(b.endorsed_on, &b.id)));
    let names = humans(&rule.categories);
    match found.first() {
        Some(first) => Assessment {
            met: true,
            progress: None,
            explanation: format!(
                "Endorsed as {} ({}) on {}.",
                first.category.code(first.track),
                first.category,
                first.endorsed_on
            ),
            counted: found.iter().filter(|p| !p.id.is_empty()).map(|p| EntryId::from(p.id.as_str())).collect(),
            missing: Vec::new(),
        },
        None => Assessment {
            met: false,
            progress: None,
            explanation: format!("No endorsement as {} on or before {}.", either(&names), ctx.as_of),
            counted: Vec::new(),
            missing: vec![format!("an endorsement as {}", either(&names))],
        },
    }
}

fn binary(met: bool, explanation: String, missing: Option<String>, counted: Vec<EntryId>) -> Assessment {
    Assessment { met, progress: None, explanation, counted, missing: missing.into_iter().collect() }
}

pub fn agreement(ctx: &Ctx<'_>) -> Assessment {
    const WHAT: &str = "Code of Ethics and Endorsement Agreement";
    let Some(a) = &ctx.portfolio.agreement else {
        return binary(false, format!("The {WHAT} has not been signed."), Some(format!("a signed {WHAT}")), Vec::new());
    };
    if a.signed_on > ctx.as_of {
        return binary(
            false,
            format!("The {WHAT} is dated {}, after {}.", a.signed_on, ctx.as_of),
            Some(format!("a {WHAT} signed on or before {}", ctx.as_of)),
            Vec::new(),
        );
    }
    if !ctx.backed(&a.evidence_ids, &ctx.policy.agreement) {
        return binary(
            false,
            format!("The {WHAT} signed on {} has no verified evidence yet.", a.signed_on),
            Some(format!("verified evidence of the signed {WHAT}")),
            Vec::new(),
        );
    }
    binary(true, format!("{WHAT} signed on {}.", a.signed_on), None, Vec::new())
}

/// Membership counts from the association's own records (imported or
/// entered by staff, valid through `valid_until` inclusive). An applicant's
/// own claim is shown as a claim and counts only once staff checked it
/// (another infant mental health association's membership, where the
/// association accepts those).
pub fn membership(ctx: &Ctx<'_>) -> Assessment {
    let wanted = format!("a membership valid on {}", ctx.as_of);
    let records = &ctx.portfolio.membership_records;
    let current = records
        .iter()
        .filter(|r| r.valid_from <= ctx.as_of && ctx.as_of <= r.valid_until)
        .max_by_key(|r| r.valid_until);
    if let Some(record) = current {
        let kind = super::super::names::Human::human(record.kind);
        return binary(
            true,
            format!("A {kind} membership is on the association's records through {}.", record.valid_until),
            None,
            Vec::new(),
        );
    }
    let claim = ctx.portfolio.membership.as_ref();
    match claim {
        Some(m) if m.checked_by.is_some() && ctx.as_of <= m.valid_until => binary(
            true,
            format!("Membership in {} valid until {}, checked by the association.", m.association, m.valid_until),
            None,
            Vec::new(),
        ),
        Some(m) if m.valid_until < ctx.as_of => binary(
            false,
            format!("Membership in {} expired on {}, before {}.", m.association, m.valid_until, ctx.as_of),
            Some(wanted),
            Vec::new(),
        ),
        Some(m) => binary(
            false,
            format!(
                "Membership in {} (until {}) is claimed but not on the association's records; it counts once the association records or checks it.",
                m.association, m.valid_until
            ),
            Some(wanted),
            Vec::new(),
        ),
        None => {
            let explanation = match records.iter().filter(|r| r.valid_until < ctx.as_of).map(|r| r.valid_until).max() {
                Some(ended) => {
                    format!("The association's records show membership ended on {ended}, before {}.", ctx.as_of)
                }
                None => "No membership is on the association's records.".to_owned(),
            };
            binary(false, explanation, Some(wanted), Vec::new())
        }
    }
}

pub fn exam(ctx: &Ctx<'_>) -> Assessment {
    let code = ctx.category.code(ctx.track);
    let passed =
        |e: &&super::super::model::ExamResult| e.category == ctx.category && e.passed && e.taken_on <= ctx.as_of;
    let mut found: Vec<_> =
        ctx.portfolio.exams.iter().filter(passed).filter(|e| ctx.backed(&e.evidence_ids, &ctx.policy.exams)).collect();
    found.sort_by(|a, b| (a.taken_on, &a.id).cmp(&(b.taken_on, &b.id)));
    match found.first() {
        Some(first) => binary(
            true,
            format!("Passed the {code} exam on {}.", first.taken_on),
            None,
            found.iter().map(|e| EntryId::from(e.id.as_str())).collect(),
        ),
        None => {
            let unverified = ctx.portfolio.exams.iter().filter(passed).count();
            binary(
                false,
                format!("No passed {code} exam on or before {}{}.", ctx.as_of, unverified_note(unverified)),
                Some(format!("a passed {code} exam")),
                Vec::new(),
            )
        }
    }
}
