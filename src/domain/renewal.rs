//! Renewal as data (process.md, "Renewal"; domain.md, "Renewal"): the
//! cycles an association's endorsements run in, the window in which they
//! are renewed, what a renewal (or a reinstatement) requires per category,
//! proration for those endorsed during a cycle, the audit sample and the
//! reminder schedule. Pure.
//!
//! A renewal is evaluated like a category: its requirements are rulebook
//! nodes, read by the same engine, over the portfolio's entries inside the
//! cycle only (see [`within`]).

mod raw;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use sha2::{Digest, Sha256};

use super::model::{Category, Portfolio, WorkKind};
use super::rulebook::{Requirement, Rule};

pub use raw::RawRenewal;

/// An association's renewal rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RenewalRules {
    /// The day of a cycle's final year its renewal window opens (month, day).
    pub window_opens: (u32, u32),
    /// Kinds of cycles, by the end of their first cycle, ascending.
    pub eras: Vec<Era>,
    /// What reinstatement after a lapse requires (counted back from the
    /// request day, [`REINSTATEMENT_LOOK_BACK_MONTHS`]).
    pub reinstatement: Requirements,
}

/// Reinstatement counts training and RS/C of the past 12 months.
pub const REINSTATEMENT_LOOK_BACK_MONTHS: u32 = 12;
/// Inactive status lasts at most two years; then the endorsement lapses.
pub const MAX_INACTIVE_YEARS: u32 = 2;

/// Cycles of one length, from the one ending on `first_ends` until the
/// next era's first cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Era {
    pub first_ends: NaiveDate,
    pub years: u32,
    pub requirements: Requirements,
}

/// Requirement nodes: for everyone, per endorsed category, and for those
/// who provide RS/C.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Requirements {
    pub all: Vec<Requirement>,
    pub categories: BTreeMap<Category, Vec<Requirement>>,
    pub providers: Vec<Requirement>,
}

impl Requirements {
    /// The nodes that apply to someone endorsed in `category`.
    pub fn for_category(&self, category: Category, provides_rsc: bool) -> Vec<Requirement> {
        let mut nodes = self.all.clone();
        nodes.extend(self.categories.get(&category).into_iter().flatten().cloned());
        if provides_rsc {
            nodes.extend(self.providers.iter().cloned());
        }
        nodes
    }
}

/// One renewal cycle: entries dated `starts..=ends` count, and it is
/// renewed in `window_opens..=ends`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    pub window_opens: NaiveDate,
    pub years: u32,
    era: usize,
}

impl Cycle {
    pub fn window_is_open(&self, day: NaiveDate) -> bool {
        self.window_opens <= day && day <= self.ends
    }
}

fn add_years(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_add_months(Months::new(12 * years)).unwrap_or(NaiveDate::MAX)
}

fn sub_years(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_sub_months(Months::new(12 * years)).unwrap_or(NaiveDate::MIN)
}

impl RenewalRules {
    /// The cycle `day` falls in: the first cycle ending on or after it.
    pub fn cycle(&self, day: NaiveDate) -> Cycle {
        for (index, era) in self.eras.iter().enumerate() {
            let next_era = self.eras.get(index + 1).map(|next| next.first_ends);
            let mut ends = era.first_ends;
            // Before the first era its cycles are taken to run backwards.
            while index == 0 && sub_years(ends, era.years) >= day {
                ends = sub_years(ends, era.years);
            }
            while ends < day {
                ends = add_years(ends, era.years);
            }
            if next_era.is_none_or(|next| ends < next) {
                return self.cycle_of(index, ends);
            }
        }
        unreachable!("a rulebook's renewal rules have at least one era, and the last has no end")
    }

    fn cycle_of(&self, era: usize, ends: NaiveDate) -> Cycle {
        let years = self.eras[era].years;
        let starts = sub_years(ends, years).succ_opt().unwrap_or(ends);
        let (month, day) = self.window_opens;
        let window_opens =
            NaiveDate::from_ymd_opt(ends.year(), month, day).filter(|opens| *opens <= ends).unwrap_or(ends);
        Cycle { starts, ends, window_opens, years, era }
    }

    /// The cycle after `cycle`.
    pub fn next(&self, cycle: &Cycle) -> Cycle {
        self.cycle(cycle.ends.succ_opt().unwrap_or(cycle.ends))
    }

    /// What renewing `cycle` requires of someone endorsed in `category`
    /// on `endorsed_on`: the era's nodes, prorated (see [`owed_years`]).
    pub fn renewal_requirements(
        &self,
        cycle: &Cycle,
        category: Category,
        endorsed_on: NaiveDate,
        provides_rsc: bool,
    ) -> (Vec<Requirement>, u32) {
        let nodes = self.eras[cycle.era].requirements.for_category(category, provides_rsc);
        let owed = owed_years(cycle, endorsed_on);
        (prorate(nodes, owed, cycle.years), owed)
    }

    /// What reinstating someone endorsed in `category` requires.
    pub fn reinstatement_requirements(&self, category: Category, provides_rsc: bool) -> Vec<Requirement> {
        self.reinstatement.for_category(category, provides_rsc)
    }
}

/// Years of `cycle` owed by someone endorsed on `endorsed_on`: all of them
/// when endorsed before it began; else the years endorsed at the deadline,
/// rounded up to whole years.
pub fn owed_years(cycle: &Cycle, endorsed_on: NaiveDate) -> u32 {
    if endorsed_on < cycle.starts {
        return cycle.years;
    }
    (1..=cycle.years).find(|n| add_years(endorsed_on, *n) > cycle.ends).unwrap_or(cycle.years)
}

/// `owed / years` of `hours`, rounded up to whole hours.
pub fn prorated_hours(hours: f64, owed: u32, years: u32) -> f64 {
    if owed >= years || years == 0 {
        return hours;
    }
    // Whole hours: rounded up, with a tolerance so 45 x 2/3 stays 30.
    (hours * f64::from(owed) / f64::from(years) - 1e-9).ceil()
}

/// `nodes` with every hour amount (sub-minimums included) prorated, and a
/// title that says so.
pub fn prorate(nodes: Vec<Requirement>, owed: u32, years: u32) -> Vec<Requirement> {
    if owed >= years {
        return nodes;
    }
    nodes.into_iter().map(|node| prorate_node(node, owed, years)).collect()
}

fn prorate_node(mut node: Requirement, owed: u32, years: u32) -> Requirement {
    let scale = |hours: f64| prorated_hours(hours, owed, years);
    let scaled = match &mut node.rule {
        Rule::AllOf(children) | Rule::AnyOf(children) => {
            let taken = std::mem::take(children);
            *children = taken.into_iter().map(|child| prorate_node(child, owed, years)).collect();
            false
        }
        Rule::TrainingHours(rule) => {
            rule.min_hours = scale(rule.min_hours);
            for (_, hours) in &mut rule.topic_minimums {
                *hours = scale(*hours);
            }
            true
        }
        Rule::ReflectiveSupervision(rule) => {
            rule.min_hours = scale(rule.min_hours);
            rule.about_providing_min_hours = scale(rule.about_providing_min_hours);
            true
        }
        _ => false,
    };
    if scaled {
        node.title = format!("{} (prorated: {owed} of {years} years)", node.title).into();
        // The rulebook's own description names the full amounts.
        node.description = None;
    }
    node
}

/// Whether someone provides RS/C in `cycle` (up to `as_of`): endorsed as
/// ERS or Mentor-Clinical, or with RS/C provision work in the cycle.
pub fn provides_rsc(held: &[Category], portfolio: &Portfolio, since: NaiveDate, as_of: NaiveDate) -> bool {
    held.iter().any(|c| matches!(c, Category::ReflectiveSupervisor | Category::MentorClinical))
        || portfolio.work.iter().any(|work| {
            work.kind == WorkKind::RscProvision
                && work.started_on <= as_of
                && work.ended_on.is_none_or(|ended| ended >= since)
        })
}

/// `portfolio` with only what counts from `since` on: training completed
/// and RS/C sessions held on or after it, and the agreement if signed again
/// since. (The engine already ignores anything after `as_of`.)
pub fn within(portfolio: &Portfolio, since: NaiveDate) -> Portfolio {
    let mut inside = portfolio.clone();
    inside.training.retain(|entry| entry.completed_on >= since);
    inside.reflective_supervision.retain(|session| session.date >= since);
    inside.agreement = inside.agreement.filter(|agreement| agreement.signed_on >= since);
    inside
}

/// The day reinstatement counts back to from `requested_on`.
pub fn reinstatement_since(requested_on: NaiveDate) -> NaiveDate {
    requested_on.checked_sub_months(Months::new(REINSTATEMENT_LOOK_BACK_MONTHS)).unwrap_or(NaiveDate::MIN)
}

/// The day an endorsement inactive since `since` lapses unless reactivated.
pub fn inactive_lapses_on(since: NaiveDate) -> NaiveDate {
    add_years(since, MAX_INACTIVE_YEARS)
}

/// The audit sample of a window: `share_percent` of `filed` (rounded up),
/// chosen by `seed`. Reproducible by anyone with the seed: each id is
/// ranked by SHA-256 of `seed:id`, and the lowest ranks are taken. The
/// reinstated are added by the caller on top.
pub fn audit_sample(seed: &str, filed: &[String], share_percent: u32) -> Vec<String> {
    let count = (filed.len() * share_percent.min(100) as usize).div_ceil(100);
    let mut ranked: Vec<([u8; 32], &String)> = filed
        .iter()
        .map(|id| {
            let digest: [u8; 32] = Sha256::digest(format!("{seed}:{id}").as_bytes()).into();
            (digest, id)
        })
        .collect();
    ranked.sort();
    let mut chosen: Vec<String> = ranked.into_iter().take(count).map(|(_, id)| id.clone()).collect();
    chosen.sort();
    chosen
}

/// The default share of renewals audited, in percent.
pub const DEFAULT_AUDIT_PERCENT: u32 = 10;
/// Default reminders: days before the window opens.
pub const DEFAULT_DAYS_BEFORE_WINDOW: [u32; 1] = [30];
/// Default reminders: days before the deadline.
pub const DEFAULT_DAYS_BEFORE_DEADLINE: [u32; 2] = [30, 7];

/// A renewal reminder: what it says, and the day it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminder {
    pub kind: ReminderKind,
    pub due_on: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReminderKind {
    /// The window opens in a few days.
    WindowOpensSoon,
    /// The window is open.
    WindowOpen,
    /// The deadline is near.
    DeadlineSoon,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::WindowOpensSoon => "WINDOW_OPENS_SOON",
            ReminderKind::WindowOpen => "WINDOW_OPEN",
            ReminderKind::DeadlineSoon => "DEADLINE_SOON",
        }
    }
}

/// The reminders of `cycle` on a schedule, in date order.
pub fn reminders(cycle: &Cycle, days_before_window: &[u32], days_before_deadline: &[u32]) -> Vec<Reminder> {
    let before = |day: NaiveDate, days: u32| day - chrono::Days::new(u64::from(days));
    let mut all: Vec<Reminder> = days_before_window
        .iter()
        .filter(|days| **days > 0)
        .map(|days| Reminder { kind: ReminderKind::WindowOpensSoon, due_on: before(cycle.window_opens, *days) })
        .chain(std::iter::once(Reminder { kind: ReminderKind::WindowOpen, due_on: cycle.window_opens }))
        .chain(
            days_before_deadline
                .iter()
                .map(|days| Reminder { kind: ReminderKind::DeadlineSoon, due_on: before(cycle.ends, *days) }),
        )
        .filter(|reminder| reminder.due_on <= cycle.ends)
        .collect();
    all.sort_by_key(|reminder| (reminder.due_on, reminder.kind));
    all.dedup_by_key(|reminder| reminder.due_on);
    all
}

/// The one reminder to send on `today`, if any: the latest due on or
/// before it and after `last_sent` (so a sweep that missed days sends
/// one reminder, not every one it missed); none after the deadline.
pub fn due_reminder(schedule: &[Reminder], today: NaiveDate, last_sent: Option<NaiveDate>) -> Option<Reminder> {
    schedule
        .iter()
        .rev()
        .find(|reminder| reminder.due_on <= today)
        .filter(|reminder| last_sent.is_none_or(|sent| reminder.due_on > sent))
        .copied()
}

/// The NYS-AIMH renewal rules (process.md), the default for a rulebook
/// that has none of its own.
pub fn nys_aimh() -> &'static RenewalRules {
    static RULES: std::sync::LazyLock<RenewalRules> = std::sync::LazyLock::new(|| {
        super::rulebook::Rulebook::nys_aimh().renewal.expect("the built-in rulebook carries renewal rules")
    });
    &RULES
}

/// Why a change to an endorsed portfolio is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotContinuing(pub String);

/// Whether `after` is `before` plus continuing education only: after
/// endorsement the portfolio takes training, RS/C and work entries dated
/// on or after `frozen_before` (the start of the cycle being renewed, or
/// the endorsement day), the agreement signed again and the membership;
/// what was reviewed or renewed before stays as it was, except for the
/// evidence linked to it (an audit asks for evidence of entries already
/// attested).
pub fn check_continuing_change(
    before: &Portfolio,
    after: &Portfolio,
    frozen_before: NaiveDate,
) -> Result<(), NotContinuing> {
    fn frozen<T: Clone, D: Fn(&T) -> NaiveDate, E: Fn(&mut T)>(
        entries: &[T],
        frozen_before: NaiveDate,
        date: D,
        strip: E,
    ) -> Vec<T> {
        entries
            .iter()
            .filter(|entry| date(entry) < frozen_before)
            .cloned()
            .map(|mut entry| {
                strip(&mut entry);
                entry
            })
            .collect()
    }
    let refuse = |what: &str| {
        Err(NotContinuing(format!(
            "An endorsed portfolio takes continuing education only: {what} dated before {frozen_before} stay as they were (evidence may still be linked to them)."
        )))
    };
    let same_training = frozen(&before.training, frozen_before, |t| t.completed_on, |t| t.evidence_ids.clear())
        == frozen(&after.training, frozen_before, |t| t.completed_on, |t| t.evidence_ids.clear());
    if !same_training {
        return refuse("training entries");
    }
    let same_rsc = frozen(&before.reflective_supervision, frozen_before, |s| s.date, |s| s.evidence_ids.clear())
        == frozen(&after.reflective_supervision, frozen_before, |s| s.date, |s| s.evidence_ids.clear());
    if !same_rsc {
        return refuse("reflective supervision/consultation sessions");
    }
    let same_work = frozen(&before.work, frozen_before, |w| w.started_on, |w| w.evidence_ids.clear())
        == frozen(&after.work, frozen_before, |w| w.started_on, |w| w.evidence_ids.clear());
    if !same_work {
        return refuse("work entries");
    }
    if let Some(agreement) = &after.agreement
        && before.agreement.as_ref().map(|a| a.signed_on) != Some(agreement.signed_on)
        && agreement.signed_on < frozen_before
    {
        return refuse("agreement signatures");
    }
    // Everything else was reviewed: it does not change after endorsement.
    let reviewed = |p: &Portfolio| {
        let mut p = p.clone();
        p.training.clear();
        p.reflective_supervision.clear();
        p.work.clear();
        p.agreement = None;
        p.membership = None;
        for entry in &mut p.education {
            entry.evidence_ids.clear();
        }
        for entry in &mut p.licenses {
            entry.evidence_ids.clear();
        }
        for entry in &mut p.exams {
            entry.evidence_ids.clear();
        }
        p
    };
    if reviewed(before) != reviewed(after) {
        return Err(NotContinuing(
            "An endorsed portfolio takes continuing education only (training, RS/C, work, the agreement, membership); \
             its other sections stay as they were reviewed."
                .into(),
        ));
    }
    Ok(())
}
