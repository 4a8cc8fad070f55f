//! workExperience: FTE-weighted, overlap-merged time in half-open periods.

use chrono::NaiveDate;

use super::super::model::{Track, WorkEntry};
use super::super::rulebook::{Compensation, WorkRule};
use super::super::words::{either, num};
use super::checks::{degrees, levels_phrase};
use super::{Assessment, Ctx, EntryId, Progress};

/// One full-time day in credit units (FTE is kept as exact millionths).
const DAY: i64 = 1_000_000;

pub fn work(ctx: &Ctx<'_>, rule: &WorkRule) -> Assessment {
    // why: "post-degree" starts on the conferral date itself (a degree conferred
    // 2020-05-15 makes work from that day on post-degree).
    let cut = match rule.post_degree {
        Some(level) => {
            let earliest = degrees(ctx)
                .filter(|e| e.level >= level)
                .min_by(|a, b| (a.conferred_on, &a.id).cmp(&(b.conferred_on, &b.id)));
            match earliest {
                Some(degree) => Some((degree.conferred_on, degree.level)),
                None => return no_degree(ctx, rule, level),
            }
        }
        None => None,
    };
    let mut events: Vec<(i32, i64)> = Vec::with_capacity(2 * ctx.portfolio.work.len());
    let mut counted: Vec<&WorkEntry> = Vec::new();
    for w in ctx.portfolio.work.iter().filter(|w| qualifies(ctx, rule, w)) {
        let start = cut.map_or(w.started_on, |(c, _)| c.max(w.started_on));
        // why: ongoing entries end at as_of, and the period is half-open, so
        // the as_of day itself is not yet counted.
        let end = w.ended_on.map_or(ctx.as_of, |e| e.min(ctx.as_of));
        let weight = fte_units(w.fte);
        if start >= end || weight == 0 {
            continue;
        }
        events.push((day_number(start), weight));
        events.push((day_number(end), -weight));
        counted.push(w);
    }
    let credit = sweep(&mut events);
    counted.sort_by(|a, b| (a.started_on, &a.id).cmp(&(b.started_on, &b.id)));
    let required = (rule.years * 365.0 * DAY as f64).round() as i64;
    let met = credit >= required;
    let after = match cut {
        Some((date, level)) => {
            format!(" after the {} degree conferred on {date}", crate::domain::names::Human::human(level))
        }
        None => String::new(),
    };
    let missing = if met {
        Vec::new()
    } else {
        let short = required - credit;
        vec![format!(
            "{} more days (about {:.2} years) of {}",
            days_text(short),
            short as f64 / (365.0 * DAY as f64),
            what(rule, ctx.track)
        )]
    };
    Assessment {
        met,
        progress: Some(Progress { current: credit as f64 / (365.0 * DAY as f64), required: rule.years, unit: "years" }),
        explanation: format!(
            "{} of {} years ({} of {} FTE-weighted days) of {}{after} by {}.",
            floor2(credit as f64 / (365.0 * DAY as f64)),
            num(rule.years),
            days_text(credit),
            days_text(required),
            what(rule, ctx.track),
            ctx.as_of
        ),
        counted: counted.iter().map(|w| EntryId::from(w.id.as_str())).collect(),
        missing,
    }
}

fn qualifies(ctx: &Ctx<'_>, rule: &WorkRule, w: &WorkEntry) -> bool {
    let paid_ok = match rule.compensation {
        Compensation::Paid => w.paid,
        // why: volunteer work counts only if supervised AND specially trained.
        Compensation::PaidOrTrainedVolunteer => w.paid || (w.supervised && w.specialized_training),
        Compensation::Any => true,
    };
    paid_ok
        && (rule.kinds.is_empty() || rule.kinds.contains(&w.kind))
        && (!rule.require_supervised || w.supervised)
        && w.age_band.matches(ctx.track)
        && w.started_on < ctx.as_of
        && ctx.backed(&w.evidence_ids, &ctx.policy.work)
}

/// Total credit: each day is worth min(1, sum of FTE of the entries active that day).
fn sweep(events: &mut [(i32, i64)]) -> i64 {
    events.sort_unstable();
    let (mut credit, mut active, mut previous) = (0i64, 0i64, None::<i32>);
    for &(day, delta) in events.iter() {
        if let Some(prev) = previous
            && day > prev
        {
            credit += active.min(DAY) * i64::from(day - prev);
        }
        active += delta;
        previous = Some(day);
    }
    credit
}

/// FTE in millionths, clamped to (0, 1]; 0 for unusable values.
fn fte_units(fte: f64) -> i64 {
    if fte.is_finite() && fte > 0.0 { ((fte.min(1.0) * DAY as f64).round() as i64).max(1) } else { 0 }
}

fn day_number(date: NaiveDate) -> i32 {
    use chrono::Datelike;
    date.num_days_from_ce()
}

fn higher(level: super::super::model::DegreeLevel) -> Vec<super::super::model::DegreeLevel> {
    super::super::model::DegreeLevel::ALL.iter().copied().filter(|l| *l >= level).collect()
}

/// "qualifying paid DIRECT_SERVICE work".
fn what(rule: &WorkRule, track: Track) -> String {
    let pay = match rule.compensation {
        Compensation::Paid => "paid ",
        Compensation::PaidOrTrainedVolunteer => "paid or supervised trained volunteer ",
        Compensation::Any => "",
    };
    let supervised = if rule.require_supervised { "supervised " } else { "" };
    let kinds = crate::domain::names::humans(&rule.kinds);
    let kind = if kinds.is_empty() { String::new() } else { format!("{} ", either(&kinds)) };
    let with = match track {
        Track::Infant => "with infants",
        Track::EarlyChildhood => "with young children",
    };
    format!("{pay}{supervised}{kind}work {with}")
}

fn no_degree(ctx: &Ctx<'_>, rule: &WorkRule, level: super::super::model::DegreeLevel) -> Assessment {
    let phrase = levels_phrase(&higher(level));
    Assessment {
        met: false,
        progress: Some(Progress { current: 0.0, required: rule.years, unit: "years" }),
        explanation: format!(
            "No {phrase} degree conferred by {}, so no post-degree {} counts yet.",
            ctx.as_of,
            what(rule, ctx.track)
        ),
        counted: Vec::new(),
        missing: vec![
            format!("a {phrase} degree"),
            format!("{} years of {} after it", num(rule.years), what(rule, ctx.track)),
        ],
    }
}

/// Whole days when exact, else one decimal rounded down (never shows a
/// shortfall as the full amount).
fn days_text(credit: i64) -> String {
    if credit % DAY == 0 { (credit / DAY).to_string() } else { format!("{:.1}", (credit * 10 / DAY) as f64 / 10.0) }
}

fn floor2(value: f64) -> String {
    format!("{:.2}", (value * 100.0).floor() / 100.0)
}
