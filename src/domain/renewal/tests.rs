use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

use super::*;
use crate::domain::engine::{Tree, evaluate_tree};
use crate::domain::model::{Agreement, Basis, Credential, Membership, RscEntry, Track, TrainingEntry, TrainingTopic};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn rules() -> &'static RenewalRules {
    nys_aimh()
}

#[test]
fn cycles_are_annual_until_2026_then_three_years_ending_2027_2030() {
    let r = rules();
    let c2024 = r.cycle(day(2024, 3, 1));
    assert_eq!((c2024.starts, c2024.ends, c2024.years), (day(2024, 1, 1), day(2024, 12, 31), 1));
    assert_eq!(r.cycle(day(2026, 12, 31)).ends, day(2026, 12, 31));
    let c2027 = r.cycle(day(2027, 1, 1));
    // The first three-year cycle covers 2025-2027 (process.md).
    assert_eq!((c2027.starts, c2027.ends, c2027.years), (day(2025, 1, 1), day(2027, 12, 31), 3));
    assert_eq!(c2027.window_opens, day(2027, 10, 1));
    assert_eq!(r.cycle(day(2028, 6, 1)).ends, day(2030, 12, 31));
    assert_eq!(r.cycle(day(2031, 1, 1)).starts, day(2031, 1, 1));
    assert_eq!(r.next(&r.cycle(day(2026, 5, 5))).ends, day(2027, 12, 31));
    assert!(c2027.window_is_open(day(2027, 10, 1)) && c2027.window_is_open(day(2027, 12, 31)));
    assert!(!c2027.window_is_open(day(2027, 9, 30)) && !c2027.window_is_open(day(2028, 1, 1)));
}

#[test]
fn proration_follows_whole_years_endorsed_at_the_deadline() {
    let cycle = rules().cycle(day(2027, 6, 1));
    assert_eq!(owed_years(&cycle, day(2024, 5, 1)), 3, "endorsed before the cycle: all of it");
    assert_eq!(owed_years(&cycle, day(2025, 1, 1)), 3);
    assert_eq!(owed_years(&cycle, day(2026, 1, 1)), 2, "exactly two years");
    assert_eq!(owed_years(&cycle, day(2026, 6, 1)), 2, "1 year 7 months rounds up");
    assert_eq!(owed_years(&cycle, day(2027, 1, 2)), 1);
    assert_eq!(prorated_hours(45.0, 2, 3), 30.0);
    assert_eq!(prorated_hours(9.0, 1, 3), 3.0);
    assert_eq!(prorated_hours(36.0, 2, 3), 24.0);
    assert_eq!(prorated_hours(10.0, 1, 3), 4.0, "rounded up to whole hours");

    let (nodes, owed) = rules().renewal_requirements(&cycle, Category::MentorClinical, day(2026, 6, 1), true);
    assert_eq!(owed, 2);
    let hours: Vec<(String, f64)> = nodes
        .iter()
        .filter_map(|node| match &node.rule {
            Rule::TrainingHours(rule) => Some((node.key.to_string(), rule.min_hours)),
            Rule::ReflectiveSupervision(rule) => Some((node.key.to_string(), rule.min_hours)),
            _ => None,
        })
        .collect();
    assert_eq!(
        hours,
        [
            ("renewal.training".to_owned(), 30.0),
            ("renewal.rsc".to_owned(), 24.0),
            ("renewal.training.rsc-provision".to_owned(), 6.0)
        ]
    );
    assert!(nodes[0].title.contains("prorated: 2 of 3 years"), "{}", nodes[0].title);
}

#[test]
fn what_each_category_owes() {
    let cycle = rules().cycle(day(2027, 6, 1));
    let keys = |category, provides| {
        let (nodes, _) = rules().renewal_requirements(&cycle, category, day(2020, 1, 1), provides);
        nodes.iter().map(|n| n.key.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(keys(Category::FamilyAssociate, false), ["renewal.training", "renewal.agreement", "renewal.membership"]);
    assert!(keys(Category::FamilySpecialist, false).contains(&"renewal.rsc".to_owned()));
    assert!(!keys(Category::MentorPolicy, false).contains(&"renewal.rsc".to_owned()));
    assert!(keys(Category::MentorPolicy, true).contains(&"renewal.training.rsc-provision".to_owned()));
    // The annual cycles before 2023 had no DEI minimum; those from 2023 do.
    let topics = |on| {
        let (nodes, _) =
            rules().renewal_requirements(&rules().cycle(on), Category::FamilySpecialist, day(2010, 1, 1), false);
        match &nodes[0].rule {
            Rule::TrainingHours(rule) => rule.topic_minimums.clone(),
            _ => unreachable!(),
        }
    };
    assert!(topics(day(2022, 5, 1)).is_empty());
    assert_eq!(topics(day(2024, 5, 1)), [(TrainingTopic::Dei, 1.0)]);
}

fn training(id: &str, hours: f64, on: NaiveDate, topics: &[TrainingTopic]) -> TrainingEntry {
    TrainingEntry {
        id: id.into(),
        title: "t".into(),
        provider: None,
        hours,
        completed_on: on,
        topics: topics.to_vec(),
        evidence_ids: Vec::new(),
    }
}

fn session(id: &str, on: NaiveDate, hours: f64) -> RscEntry {
    RscEntry {
        id: id.into(),
        date: on,
        hours,
        format: crate::domain::model::RscFormat::Individual,
        age_band: crate::domain::model::AgeBand::Both,
        provider_name: "Pat Provider".into(),
        provider_credential: Credential::MentorClinical,
        about_providing_rsc: false,
        evidence_ids: Vec::new(),
    }
}

#[test]
fn a_renewal_counts_only_entries_inside_the_cycle() {
    let cycle = rules().cycle(day(2027, 6, 1));
    let mut portfolio = Portfolio::new(Track::Infant, Category::FamilySpecialist);
    portfolio.training = vec![
        training("old", 40.0, day(2024, 12, 31), &[]),
        training("a", 20.0, day(2025, 3, 1), &[]),
        training("b", 12.0, day(2027, 2, 1), &[]),
    ];
    portfolio.reflective_supervision = (0..12).map(|i| session(&format!("s{i}"), day(2026, 1 + i, 10), 2.0)).collect();
    portfolio.agreement = Some(Agreement { signed_on: day(2027, 9, 1), evidence_ids: Vec::new() });
    portfolio.membership =
        Some(Membership { association: "NYS-AIMH".into(), valid_until: day(2028, 1, 1), checked_by: None });
    let (nodes, owed) = rules().renewal_requirements(&cycle, Category::FamilySpecialist, day(2026, 6, 1), false);
    assert_eq!(owed, 2);
    let inside = within(&portfolio, cycle.starts);
    let policy = crate::domain::rulebook::EvidencePolicy::default();
    let tree = Tree { id: "renewal".into(), requirements: &nodes, policy: &policy };
    let result =
        evaluate_tree(&inside, Category::FamilySpecialist, Track::Infant, day(2027, 10, 15), Basis::Claimed, &tree);
    let training = result.requirements.iter().find(|r| &*r.key == "renewal.training").unwrap();
    assert_eq!(training.progress.as_ref().map(|p| (p.current, p.required)), Some((32.0, 30.0)), "{training:?}");
    assert!(training.met);
    let rsc = result.requirements.iter().find(|r| &*r.key == "renewal.rsc").unwrap();
    assert!(rsc.met, "24 hours in 2026 of 24 owed: {rsc:?}");
    // An agreement signed before the cycle does not count again.
    portfolio.agreement = Some(Agreement { signed_on: day(2024, 9, 1), evidence_ids: Vec::new() });
    let result = evaluate_tree(
        &within(&portfolio, cycle.starts),
        Category::FamilySpecialist,
        Track::Infant,
        day(2027, 10, 15),
        Basis::Claimed,
        &tree,
    );
    assert!(!result.requirements.iter().find(|r| &*r.key == "renewal.agreement").unwrap().met);
}

#[test]
fn reminders_come_once_each_in_date_order() {
    let cycle = rules().cycle(day(2027, 6, 1));
    let schedule = reminders(&cycle, &DEFAULT_DAYS_BEFORE_WINDOW, &DEFAULT_DAYS_BEFORE_DEADLINE);
    let days: Vec<(ReminderKind, NaiveDate)> = schedule.iter().map(|r| (r.kind, r.due_on)).collect();
    assert_eq!(
        days,
        [
            (ReminderKind::WindowOpensSoon, day(2027, 9, 1)),
            (ReminderKind::WindowOpen, day(2027, 10, 1)),
            (ReminderKind::DeadlineSoon, day(2027, 12, 1)),
            (ReminderKind::DeadlineSoon, day(2027, 12, 24)),
        ]
    );
    assert_eq!(due_reminder(&schedule, day(2027, 8, 31), None), None);
    assert_eq!(due_reminder(&schedule, day(2027, 9, 1), None).map(|r| r.kind), Some(ReminderKind::WindowOpensSoon));
    assert_eq!(due_reminder(&schedule, day(2027, 9, 20), Some(day(2027, 9, 1))), None);
    // A sweep that missed days sends the latest reminder only.
    assert_eq!(
        due_reminder(&schedule, day(2027, 12, 2), Some(day(2027, 9, 1))).map(|r| r.due_on),
        Some(day(2027, 12, 1))
    );
}

#[test]
fn a_rulebook_without_renewal_rules_still_loads_and_bad_ones_are_named() {
    let bad =
        crate::domain::rulebook::NYS_AIMH_JSON.replace("\"windowOpens\": \"10-01\"", "\"windowOpens\": \"13-01\"");
    let error = crate::domain::Rulebook::from_json("nys.json", &bad).unwrap_err().to_string();
    assert!(error.contains("renewal.windowOpens"), "{error}");
    let dup = crate::domain::rulebook::NYS_AIMH_JSON.replace("renewal.training.rsc-provision", "renewal.training");
    let error = crate::domain::Rulebook::from_json("nys.json", &dup).unwrap_err().to_string();
    assert!(error.contains("renewal.cycles[2]"), "{error}");
}

#[test]
fn inactive_status_lapses_after_two_years_and_reinstatement_counts_back_a_year() {
    assert_eq!(inactive_lapses_on(day(2025, 3, 1)), day(2027, 3, 1));
    assert_eq!(reinstatement_since(day(2028, 2, 29)), day(2027, 2, 28));
}

proptest! {
    /// Every day is in the cycle `cycle` gives: inside it, a cycle of its
    /// era's length, and the next cycle starts the day after it ends.
    #[test]
    fn every_day_falls_in_exactly_one_cycle(offset in 0u64..30_000) {
        let on = day(2010, 1, 1) + chrono::Days::new(offset);
        let cycle = rules().cycle(on);
        prop_assert!(cycle.starts <= on && on <= cycle.ends);
        prop_assert_eq!((cycle.ends.month(), cycle.ends.day()), (12, 31));
        prop_assert_eq!(cycle.ends.year() - cycle.starts.year() + 1, cycle.years as i32);
        prop_assert!(cycle.window_opens <= cycle.ends && cycle.window_opens.year() == cycle.ends.year());
        let next = rules().next(&cycle);
        prop_assert!(next.ends > cycle.ends);
        if on.year() >= 2027 {
            prop_assert_eq!(cycle.years, 3);
            prop_assert_eq!((cycle.ends.year() - 2027) % 3, 0);
        }
    }

    /// Proration never asks more than the full amount nor less than the
    /// share owed, and owes more the earlier one was endorsed.
    #[test]
    fn proration_is_monotone_and_bounded(offset in 0u64..1_200, hours in 1u32..100) {
        let cycle = rules().cycle(day(2027, 6, 1));
        let endorsed = day(2024, 6, 1) + chrono::Days::new(offset);
        let owed = owed_years(&cycle, endorsed);
        prop_assert!((1..=3).contains(&owed));
        let later = owed_years(&cycle, endorsed + chrono::Days::new(30));
        prop_assert!(later <= owed);
        let full = f64::from(hours);
        let share = prorated_hours(full, owed, 3);
        prop_assert!(share <= full && share >= full * f64::from(owed) / 3.0 - 1e-9);
        prop_assert_eq!(share.fract(), 0.0);
    }

    /// The sample is a function of its seed: the same seed draws the same
    /// people, whatever order they are listed in; its size is the share
    /// rounded up.
    #[test]
    fn the_audit_sample_is_reproducible_from_its_seed(n in 0usize..200, share in 0u32..=100, seed in "[a-z0-9]{1,16}") {
        let ids: Vec<String> = (0..n).map(|i| format!("renewal-{i}")).collect();
        let drawn = audit_sample(&seed, &ids, share);
        prop_assert_eq!(drawn.len(), (n * share as usize).div_ceil(100));
        let mut reversed = ids.clone();
        reversed.reverse();
        prop_assert_eq!(&audit_sample(&seed, &reversed, share), &drawn);
        prop_assert!(drawn.iter().all(|id| ids.contains(id)));
    }
}
