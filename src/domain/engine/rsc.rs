//! reflectiveSupervision: the best window of sessions from qualified providers.

use super::super::model::{Credential, RscEntry};
use super::super::rulebook::RscRule;
use super::super::words::{either, num, one_decimal};
use super::checks::hours;
use super::context::Session;
use super::{Assessment, Ctx, Progress};

/// Sessions `first..=last` (indices into the date-sorted sessions).
#[derive(Clone, Copy)]
struct Window {
    first: usize,
    last: usize,
    milli: i64,
    about: i64,
    span: u32,
}

pub fn rsc(ctx: &Ctx<'_>, rule: &RscRule) -> Assessment {
    let sessions: Vec<&Session<'_>> = ctx.prep.sessions.iter().filter(|s| counts(ctx, rule, s.entry)).collect();
    let required = (rule.min_hours * 1000.0).round() as i64;
    let about_required = (rule.about_providing_min_hours * 1000.0).round() as i64;
    let Some(best) = best_window(&sessions, rule, required, about_required) else {
        return nothing(ctx, rule);
    };
    let span_ok = best.span >= rule.min_months;
    let hours_ok = best.milli >= required;
    let about_ok = best.about >= about_required;
    let met = span_ok && hours_ok && about_ok;
    let from = sessions[best.first].entry.date;
    let to = sessions[best.last].entry.date;
    let what = if rule.about_providing_only { "RS/C hours about providing RS/C" } else { "RS/C hours" };
    let mut explanation = format!(
        "{} of {} {what} between {from} and {to} ({} months) from qualified providers",
        one_decimal(hours(best.milli)),
        num(rule.min_hours),
        best.span
    );
    if about_required > 0 {
        explanation.push_str(&format!(
            ", {} of {} of them about providing RS/C",
            one_decimal(hours(best.about)),
            num(rule.about_providing_min_hours)
        ));
    }
    if !span_ok {
        explanation.push_str(&format!(", but the sessions must span at least {} months", rule.min_months));
    }
    explanation.push('.');
    let mut missing = Vec::new();
    if !hours_ok {
        missing.push(format!("{} more {what} within {}", one_decimal(hours(required - best.milli)), span_phrase(rule)));
    }
    if !about_ok {
        missing
            .push(format!("{} more RS/C hours about providing RS/C", one_decimal(hours(about_required - best.about))));
    }
    if !span_ok {
        missing.push(format!(
            "RS/C sessions spanning at least {} months (the best window spans {})",
            rule.min_months, best.span
        ));
    }
    Assessment {
        met,
        progress: Some(Progress { current: hours(best.milli), required: rule.min_hours, unit: "hours" }),
        explanation,
        counted: sessions[best.first..=best.last].iter().map(|s| s.id()).collect(),
        missing,
    }
}

fn counts(ctx: &Ctx<'_>, rule: &RscRule, s: &RscEntry) -> bool {
    s.date <= ctx.as_of
        && s.provider_credential != Credential::Peer
        && rule.providers.contains(&s.provider_credential)
        && s.age_band.matches(ctx.track)
        && (!rule.about_providing_only || s.about_providing_rsc)
}

/// Two pointers over date-sorted sessions, O(n): for each last session (the
/// last of its date), the longest window within `max_months` holds the most
/// hours, so it is the only candidate ending there.
fn best_window(sessions: &[&Session<'_>], rule: &RscRule, required: i64, about_required: i64) -> Option<Window> {
    let mut best: Option<(Window, (bool, bool, i64, i64))> = None;
    let (mut first, mut milli, mut about) = (0usize, 0i64, 0i64);
    for (last, s) in sessions.iter().enumerate() {
        milli += s.milli;
        about += s.about;
        while span(sessions, first, last) > rule.max_months {
            milli -= sessions[first].milli;
            about -= sessions[first].about;
            first += 1;
        }
        if sessions.get(last + 1).is_some_and(|next| next.entry.date == s.entry.date) {
            continue;
        }
        let window = Window { first, last, milli, about, span: span(sessions, first, last) };
        let span_ok = window.span >= rule.min_months;
        let met = span_ok && milli >= required && about >= about_required;
        // why: progress shows the most useful window: a met one, else one with an
        // acceptable span, else the most hours; the earliest wins ties.
        let key = (met, span_ok, milli.min(required) + about.min(about_required), milli);
        if best.as_ref().is_none_or(|(_, k)| key > *k) {
            best = Some((window, key));
        }
    }
    best.map(|(w, _)| w)
}

/// Calendar months from first to last session, inclusive: Jan..Dec = 12.
fn span(sessions: &[&Session<'_>], first: usize, last: usize) -> u32 {
    (sessions[last].month - sessions[first].month + 1) as u32
}

fn span_phrase(rule: &RscRule) -> String {
    if rule.min_months > 0 {
        format!("a {}-{} month window", rule.min_months, rule.max_months)
    } else {
        format!("a window of at most {} months", rule.max_months)
    }
}

fn nothing(ctx: &Ctx<'_>, rule: &RscRule) -> Assessment {
    let providers = crate::domain::names::humans(&rule.providers);
    let about = if rule.about_providing_only { " about providing RS/C" } else { "" };
    Assessment {
        met: false,
        progress: Some(Progress { current: 0.0, required: rule.min_hours, unit: "hours" }),
        explanation: format!(
            "No RS/C sessions{about} from a qualified provider ({}) on or before {}.",
            either(&providers),
            ctx.as_of
        ),
        counted: Vec::new(),
        missing: vec![format!(
            "{} RS/C hours{about} from a {} within {}",
            num(rule.min_hours),
            either(&providers),
            span_phrase(rule)
        )],
    }
}
