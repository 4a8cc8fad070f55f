use super::super::model::*;
use super::super::rulebook::Rulebook;
use super::fixtures::*;
use super::*;

const BOTH_TRACKS: [Track; 2] = [Track::Infant, Track::EarlyChildhood];

fn empty(track: Track) -> Portfolio {
    Portfolio::new(track, Category::FamilyAssociate)
}

// ---- every category, both tracks, both versions -------------------------

#[test]
fn full_fixture_meets_every_category_of_both_tracks_in_2025() {
    for track in BOTH_TRACKS {
        let p = full(track);
        for category in Category::ALL {
            for basis in [Basis::Claimed, Basis::Verified] {
                let e = evaluate(&p, *category, track, as_of(), basis, nys()).unwrap();
                let open: Vec<_> = e.requirements.iter().filter(|r| !r.met && !r.optional).collect();
                assert!(e.met, "{} {basis:?}: {open:#?}", e.code);
                assert_eq!(e.rulebook, "nys-aimh@2025-01-01");
            }
        }
    }
}

#[test]
fn full_fixture_meets_every_2017_category_and_early_childhood_is_not_offered() {
    let on = date(2024, 6, 1);
    let p = full(Track::Infant);
    for category in &Category::ALL[..6] {
        let e = nys_eval(&p, *category, on);
        assert!(e.met, "{}: {:#?}", e.code, e.requirements);
        assert_eq!(e.rulebook, "nys-aimh@2017-01-01");
    }
    let ers = nys_eval(&p, Category::ReflectiveSupervisor, on);
    assert!(!ers.met);
    assert_eq!(&*ers.requirements[0].key, "category.offered");
    let ec = full(Track::EarlyChildhood);
    let e = evaluate(&ec, Category::FamilySpecialist, Track::EarlyChildhood, date(2024, 5, 1), Basis::Claimed, nys())
        .unwrap();
    assert!(!e.met);
    assert_eq!(e.requirements.len(), 1);
    assert_eq!(e.requirements[0].explanation, "ECFS is not offered under nys-aimh@2017-01-01, in force on 2024-05-01.");
}

#[test]
fn every_category_has_a_knockout() {
    type Knock = fn(&mut Portfolio);
    let cases: [(Category, &str, Knock); 8] = [
        (Category::FamilyAssociate, "education", |p| {
            p.education.clear();
            p.work.clear();
        }),
        (Category::FamilySpecialist, "rsc.hours", |p| p.reflective_supervision.clear()),
        (Category::MentalHealthSpecialist, "work", |p| p.work.clear()),
        (Category::MentorClinical, "leadership", |p| p.leadership.clear()),
        (Category::MentorClinical, "work.rsc-provision", |p| p.work.retain(|w| w.kind != WorkKind::RscProvision)),
        (Category::MentorPolicy, "work.years", |p| p.work.retain(|w| w.kind != WorkKind::PolicyLeadership)),
        (Category::MentorResearchFaculty, "references", |p| p.references.retain(|r| r.role != ReferenceRole::Student)),
        (Category::ReflectiveSupervisor, "prior", |p| p.prior_endorsements.clear()),
    ];
    for track in BOTH_TRACKS {
        for (category, key, knock) in cases {
            let mut p = full(track);
            knock(&mut p);
            let e = evaluate(&p, category, track, as_of(), Basis::Claimed, nys()).unwrap();
            assert!(!e.met, "{} should be unmet", e.code);
            assert!(!req(&e, key).met, "{} {key}", e.code);
            assert!(!req(&e, key).missing.is_empty(), "{} {key} names what is missing", e.code);
        }
    }
}

#[test]
fn empty_portfolio_meets_nothing() {
    for track in BOTH_TRACKS {
        for e in recommend(&empty(track), track, as_of(), Basis::Claimed, nys()).unwrap() {
            assert!(!e.met, "{}", e.code);
            assert!(e.requirements.iter().all(|r| !r.explanation.is_empty()));
        }
    }
}

// ---- training -------------------------------------------------------------

#[test]
fn training_29_5_hours_is_short_of_30() {
    let mut p = full(Track::Infant);
    p.training = vec![training("a", 20.0, date(2024, 1, 1), &[]), training("b", 9.5, date(2024, 2, 1), &[])];
    let e = nys_eval(&p, Category::FamilySpecialist, as_of());
    let t = req(&e, "training.hours");
    assert!(!t.met);
    assert_eq!(t.missing, vec!["0.5 more training hours"]);
    assert_eq!(t.explanation, "29.5 of 30 training hours completed by 2025-06-01.");
    p.training.push(training("c", 0.5, date(2024, 3, 1), &[]));
    let e = nys_eval(&p, Category::FamilySpecialist, as_of());
    assert!(req(&e, "training.hours").met);
    assert!(e.met);
}

#[test]
fn training_after_as_of_does_not_count() {
    let mut p = full(Track::Infant);
    p.training = vec![training("a", 30.0, date(2025, 6, 2), &[])];
    assert!(!req(&nys_eval(&p, Category::FamilySpecialist, as_of()), "training.hours").met);
    assert!(req(&nys_eval(&p, Category::FamilySpecialist, date(2025, 6, 2)), "training.hours").met);
}

#[test]
fn ers_training_needs_rsc_provision_topic() {
    let mut p = full(Track::Infant);
    p.training = vec![
        training("a", 14.0, date(2024, 1, 1), &[TrainingTopic::RscProvision]),
        training("b", 20.0, date(2024, 1, 1), &[TrainingTopic::Iecmh]),
    ];
    let t = req(&nys_eval(&p, Category::ReflectiveSupervisor, as_of()), "training.hours").clone();
    assert!(!t.met);
    assert_eq!(t.missing, vec!["1.0 more RS/C provision training hours"]);
    p.training.push(training("c", 1.0, date(2024, 1, 2), &[TrainingTopic::RscProvision, TrainingTopic::Dei]));
    assert!(req(&nys_eval(&p, Category::ReflectiveSupervisor, as_of()), "training.hours").met);
}

// ---- work -----------------------------------------------------------------

fn ifs_work(p: &Portfolio, on: NaiveDate) -> RequirementResult {
    req(&nys_eval(p, Category::FamilySpecialist, on), "work.years").clone()
}

#[test]
fn work_729_vs_730_days() {
    let mut p = full(Track::Infant);
    p.work = vec![work("w", WorkKind::DirectService, date(2022, 1, 3), Some(date(2024, 1, 3)))];
    let w = ifs_work(&p, as_of());
    assert!(w.met, "{}", w.explanation);
    assert!(w.explanation.contains("730 of 730"), "{}", w.explanation);
    p.work[0].ended_on = Some(date(2024, 1, 2));
    let w = ifs_work(&p, as_of());
    assert!(!w.met);
    assert!(w.missing[0].starts_with("1 more days"), "{:?}", w.missing);
}

#[test]
fn ongoing_work_ends_at_as_of() {
    let mut p = full(Track::Infant);
    p.work = vec![work("w", WorkKind::DirectService, date(2022, 1, 3), None)];
    assert!(ifs_work(&p, date(2024, 1, 3)).met);
    assert!(!ifs_work(&p, date(2024, 1, 2)).met);
    // An end date after as_of is cut at as_of.
    p.work[0].ended_on = Some(date(2030, 1, 1));
    assert!(!ifs_work(&p, date(2024, 1, 2)).met);
}

#[test]
fn fte_weighting_and_overlap_merging() {
    let mut p = full(Track::Infant);
    // 2021-01-01..2023-01-01 is 730 days; ending 2022-12-31 makes 729.
    let (start, end, short) = (date(2021, 1, 1), Some(date(2023, 1, 1)), Some(date(2022, 12, 31)));
    let job = |id: &str, fte: f64, until| WorkEntry { fte, ..work(id, WorkKind::DirectService, start, until) };
    // Two full-time jobs over the same days count once.
    p.work = vec![job("a", 1.0, short), job("b", 1.0, short)];
    assert!(!ifs_work(&p, as_of()).met, "729 days, not 1458");
    // Two half-time jobs at once make one full-time day each.
    p.work = vec![job("a", 0.5, end), job("b", 0.5, end)];
    assert!(ifs_work(&p, as_of()).met);
    // 0.7 + 0.7 is capped at 1 per day.
    p.work = vec![job("a", 0.7, short), job("b", 0.7, short)];
    assert!(!ifs_work(&p, as_of()).met);
    // Half time for 1460 days = 730 days; 1459 days = 729.5.
    let start = date(2019, 1, 1);
    p.work = vec![WorkEntry {
        fte: 0.5,
        ..work("a", WorkKind::DirectService, start, Some(start + chrono::Days::new(1460)))
    }];
    assert!(ifs_work(&p, as_of()).met);
    p.work[0].ended_on = Some(start + chrono::Days::new(1459));
    let w = ifs_work(&p, as_of());
    assert!(!w.met);
    assert!(w.explanation.contains("729.5 of 730"), "{}", w.explanation);
    assert_eq!(w.missing[0], "0.5 more days (about 0.00 years) of paid direct service work with infants");
}

#[test]
fn work_filters_kind_pay_and_age_band() {
    let mut p = full(Track::Infant);
    let base = work("w", WorkKind::DirectService, date(2020, 1, 1), Some(date(2023, 1, 1)));
    p.work = vec![WorkEntry { kind: WorkKind::Other, ..base.clone() }];
    assert!(!ifs_work(&p, as_of()).met);
    p.work = vec![WorkEntry { paid: false, specialized_training: true, ..base.clone() }];
    assert!(!ifs_work(&p, as_of()).met);
    p.work = vec![WorkEntry { age_band: AgeBand::EarlyChildhood, ..base.clone() }];
    assert!(!ifs_work(&p, as_of()).met);
    p.track = Track::EarlyChildhood;
    assert!(ifs_work(&p, as_of()).met);
}

#[test]
fn post_degree_cut() {
    let mut p = full(Track::Infant);
    p.education = vec![edu("ba", DegreeLevel::Bachelor, true, date(2020, 6, 1))];
    p.work = vec![work("w", WorkKind::DirectService, date(2018, 6, 1), Some(date(2022, 6, 1)))];
    let w = ifs_work(&p, as_of());
    assert!(w.met, "{}", w.explanation);
    assert!(w.explanation.contains("730 of 730"), "{}", w.explanation);
    p.education[0].conferred_on = date(2020, 6, 2);
    assert!(!ifs_work(&p, as_of()).met);
    // A higher degree earlier counts as the cut too.
    p.education.push(edu("ma", DegreeLevel::Master, true, date(2019, 1, 1)));
    assert!(ifs_work(&p, as_of()).met);
    // Without any degree of the level no post-degree work counts.
    p.education.clear();
    let w = ifs_work(&p, as_of());
    assert!(!w.met);
    assert!(w.missing.iter().any(|m| m == "a bachelor's or higher degree"), "{:?}", w.missing);
}

#[test]
fn internship_alternative_for_imhs() {
    let mut p = full(Track::Infant);
    let intern =
        WorkEntry { paid: false, ..work("intern", WorkKind::Internship, date(2009, 9, 1), Some(date(2010, 9, 1))) };
    p.education.push(edu("ba", DegreeLevel::Bachelor, true, date(2008, 5, 1)));
    p.work = vec![intern.clone()];
    let e = nys_eval(&p, Category::MentalHealthSpecialist, as_of());
    assert!(!req(&e, "work.years").met);
    assert!(req(&e, "work.internship").met);
    assert!(req(&e, "work").met);
    assert_eq!(req(&e, "work.internship").parent.as_deref(), Some("work"));
    assert!(e.met);
    p.work = vec![WorkEntry { supervised: false, ..intern }];
    let e = nys_eval(&p, Category::MentalHealthSpecialist, as_of());
    assert!(!req(&e, "work").met);
    assert!(!e.met);
}

#[test]
fn ifa_volunteer_alternative_starts_in_2025() {
    let mut p = empty(Track::Infant);
    p.work = vec![WorkEntry {
        paid: false,
        supervised: true,
        specialized_training: true,
        ..work("casa", WorkKind::DirectService, date(2020, 1, 1), Some(date(2024, 6, 1)))
    }];
    let before = nys_eval(&p, Category::FamilyAssociate, date(2024, 12, 31));
    assert!(!req(&before, "education.work").met);
    let after = nys_eval(&p, Category::FamilyAssociate, date(2025, 1, 1));
    assert!(req(&after, "education.work").met);
    assert!(req(&after, "education").met);
    p.work[0].specialized_training = false;
    let untrained = nys_eval(&p, Category::FamilyAssociate, date(2025, 1, 1));
    assert!(!req(&untrained, "education.work").met);
}

// ---- reflective supervision -------------------------------------------------

/// 27 h in the first month and 27 h in the last: only a window holding both reaches 50.
fn two_month_sessions(first: NaiveDate, last: NaiveDate) -> Vec<RscEntry> {
    let mut out = Vec::new();
    for (tag, month) in [("a", first), ("b", last)] {
        for day in 0..3u64 {
            out.push(session(&format!("{tag}{day}"), month + chrono::Days::new(day), 9.0, Credential::MentorClinical));
        }
    }
    out
}

fn imhs_rsc(p: &Portfolio) -> RequirementResult {
    req(&nys_eval(p, Category::MentalHealthSpecialist, as_of()), "rsc.hours").clone()
}

#[test]
fn rsc_span_of_11_12_24_and_25_months() {
    let mut p = full(Track::Infant);
    let first = date(2023, 1, 10);
    for (last, months, met) in [
        (date(2023, 11, 10), 11, false),
        (date(2023, 12, 10), 12, true),
        (date(2024, 12, 10), 24, true),
        (date(2025, 1, 10), 25, false),
    ] {
        p.reflective_supervision = two_month_sessions(first, last);
        let r = imhs_rsc(&p);
        assert_eq!(r.met, met, "{months} months: {}", r.explanation);
        if met {
            assert_eq!(
                r.explanation,
                format!(
                    "54.0 of 50 RS/C hours between 2023-01-10 and {} ({months} months) from qualified providers.",
                    last + chrono::Days::new(2)
                )
            );
            assert_eq!(r.counted_entry_ids.len(), 6);
        }
    }
}

#[test]
fn rsc_span_too_short_is_explained() {
    let mut p = full(Track::Infant);
    p.reflective_supervision = two_month_sessions(date(2023, 1, 10), date(2023, 11, 10));
    let r = imhs_rsc(&p);
    assert!(r.explanation.contains("must span at least 12 months"), "{}", r.explanation);
    assert!(r.missing.iter().any(|m| m.contains("spanning at least 12 months")), "{:?}", r.missing);
}

#[test]
fn rsc_best_window_and_explanation() {
    let mut p = full(Track::Infant);
    // 26 h between 2022-01-10 and 2023-03-02 for IFS (24 h).
    p.reflective_supervision = (0..12)
        .map(|i| {
            session(&format!("s{i}"), date(2022, 1, 10) + chrono::Days::new(i * 35), 2.0, Credential::MentorClinical)
        })
        .collect();
    p.reflective_supervision.push(session("late", date(2023, 3, 2), 2.0, Credential::MentorClinical));
    let e = nys_eval(&p, Category::FamilySpecialist, as_of());
    let r = req(&e, "rsc.hours");
    assert!(r.met);
    assert_eq!(
        r.explanation,
        "26.0 of 24 RS/C hours between 2022-01-10 and 2023-03-02 (15 months) from qualified providers."
    );
    let progress = r.progress.as_ref().unwrap();
    assert_eq!((progress.current, progress.required, progress.unit), (26.0, 24.0, "hours"));
}

#[test]
fn rsc_peer_and_wrong_age_band_never_count() {
    let mut p = full(Track::Infant);
    for s in &mut p.reflective_supervision {
        s.provider_credential = Credential::Peer;
    }
    assert!(!imhs_rsc(&p).met);
    let mut p = full(Track::Infant);
    for s in &mut p.reflective_supervision {
        s.age_band = AgeBand::EarlyChildhood;
    }
    assert!(!imhs_rsc(&p).met);
    p.track = Track::EarlyChildhood;
    assert!(imhs_rsc(&p).met);
}

#[test]
fn rsc_providers_differ_by_category() {
    let mut p = full(Track::Infant);
    for s in &mut p.reflective_supervision {
        s.provider_credential = Credential::MentalHealthSpecialist;
    }
    assert!(req(&nys_eval(&p, Category::MentalHealthSpecialist, as_of()), "rsc.hours").met);
    assert!(!req(&nys_eval(&p, Category::MentorClinical, as_of()), "rsc.hours").met);
    // Optional for the policy mentor: shown but not needed.
    for s in &mut p.reflective_supervision {
        s.provider_credential = Credential::Vetted;
    }
    let e = nys_eval(&p, Category::MentorPolicy, as_of());
    let r = req(&e, "rsc.hours");
    assert!(r.optional && !r.met);
    assert!(e.met);
}

#[test]
fn ers_rsc_has_no_minimum_span_but_must_be_about_providing() {
    let mut p = full(Track::Infant);
    p.reflective_supervision = (0..4)
        .map(|i| {
            session(&format!("s{i}"), date(2025, 3, 3) + chrono::Days::new(i), 3.0, Credential::ReflectiveSupervisor)
        })
        .collect();
    let e = nys_eval(&p, Category::ReflectiveSupervisor, as_of());
    assert!(req(&e, "rsc.hours").met, "{}", req(&e, "rsc.hours").explanation);
    p.reflective_supervision[0].about_providing_rsc = false;
    let e = nys_eval(&p, Category::ReflectiveSupervisor, as_of());
    assert!(!req(&e, "rsc.hours").met);
    assert_eq!(
        req(&e, "rsc.hours").missing,
        vec!["3.0 more RS/C hours about providing RS/C within a window of at most 24 months"]
    );
}

// ---- references -------------------------------------------------------------

fn ifs_refs(p: &Portfolio, on: NaiveDate) -> RequirementResult {
    req(&nys_eval(p, Category::FamilySpecialist, on), "references").clone()
}

#[test]
fn references_12_vs_13_months_old() {
    let mut p = full(Track::Infant);
    let on = date(2025, 6, 15);
    p.references = vec![
        reference("a", ReferenceRole::ProgramSupervisor, Credential::MentorClinical, date(2024, 6, 15)),
        reference("b", ReferenceRole::Colleague, Credential::None, date(2025, 1, 1)),
        reference("c", ReferenceRole::Colleague, Credential::None, date(2025, 1, 2)),
    ];
    assert!(ifs_refs(&p, on).met, "exactly 12 months old is fine");
    p.references[0].completed_on = Some(date(2024, 5, 15));
    let r = ifs_refs(&p, on);
    assert!(!r.met, "13 months old is not");
    assert!(r.explanation.contains("1 older than 12 months"), "{}", r.explanation);
    assert_eq!(
        r.missing,
        vec!["1 more valid reference rating", "1 more rating from a rater endorsed at Level II or above"]
    );
    p.references[0].completed_on = Some(date(2024, 6, 14));
    assert!(!ifs_refs(&p, on).met, "12 months and a day is too old");
}

#[test]
fn references_not_enough_info_5_vs_6_and_pending() {
    let mut p = full(Track::Infant);
    p.references = vec![
        reference("a", ReferenceRole::ProgramSupervisor, Credential::FamilySpecialist, date(2025, 1, 1)),
        reference("b", ReferenceRole::Colleague, Credential::None, date(2025, 1, 1)),
        reference("c", ReferenceRole::Colleague, Credential::None, date(2025, 1, 2)),
    ];
    p.references[1].not_enough_info_count = 5;
    assert!(ifs_refs(&p, as_of()).met);
    p.references[1].not_enough_info_count = 6;
    assert!(!ifs_refs(&p, as_of()).met);
    p.references[1].not_enough_info_count = 0;
    p.references[2].completed_on = None;
    let r = ifs_refs(&p, as_of());
    assert!(!r.met);
    assert!(r.explanation.contains("1 not completed"), "{}", r.explanation);
}

#[test]
fn references_count_only_what_raters_submitted_or_coordinators_imported() {
    let mut p = full(Track::Infant);
    let on = date(2025, 1, 1);
    p.references = vec![
        reference("a", ReferenceRole::ProgramSupervisor, Credential::FamilySpecialist, on),
        reference("b", ReferenceRole::Colleague, Credential::None, on),
        reference("c", ReferenceRole::Colleague, Credential::None, on),
    ];
    assert!(ifs_refs(&p, as_of()).met);
    p.references[2].source = ReferenceSource::Imported;
    assert!(ifs_refs(&p, as_of()).met, "an imported rating counts");
    p.references[2].source = ReferenceSource::Typed;
    let r = ifs_refs(&p, as_of());
    assert!(!r.met);
    assert!(r.explanation.contains("1 typed by the applicant, not submitted by the rater"), "{}", r.explanation);
}

#[test]
fn a_rating_that_does_not_recommend_does_not_count_unless_the_rulebook_says_so() {
    let mut p = full(Track::Infant);
    let on = date(2025, 1, 1);
    p.references = vec![
        reference("a", ReferenceRole::ProgramSupervisor, Credential::FamilySpecialist, on),
        reference("b", ReferenceRole::Colleague, Credential::None, on),
        reference("c", ReferenceRole::Colleague, Credential::None, on),
    ];
    p.references[1].recommends = Some(false);
    let r = ifs_refs(&p, as_of());
    assert!(!r.met);
    assert!(r.explanation.contains("1 that do not recommend the applicant"), "{}", r.explanation);
    p.references[1].recommends = None;
    assert!(ifs_refs(&p, as_of()).met, "imported ratings without a recommendation count");
    use super::super::rulebook::{EvidencePolicy, ReferencesRule};
    use super::context::{Ctx, Prepared};
    let rule = ReferencesRule { count: 3, min_level_two: 1, roles: vec![], count_not_recommending: true };
    p.references[1].recommends = Some(false);
    let policy = EvidencePolicy::default();
    let prep = Prepared::new(&p, Basis::Claimed, &policy);
    let ctx = Ctx {
        portfolio: &p,
        track: Track::Infant,
        category: Category::FamilySpecialist,
        as_of: as_of(),
        basis: Basis::Claimed,
        policy: &policy,
        prep: &prep,
    };
    assert!(super::checks::references(&ctx, &rule).met, "the association counts them");
}

#[test]
fn under_verified_only_a_confirmed_or_vetted_rater_counts_as_level_two() {
    let mut p = full(Track::Infant);
    let on = date(2025, 1, 1);
    p.references = vec![
        reference("a", ReferenceRole::ProgramSupervisor, Credential::FamilySpecialist, on),
        reference("b", ReferenceRole::Colleague, Credential::None, on),
        reference("c", ReferenceRole::Colleague, Credential::None, on),
    ];
    p.references[0].credential_basis = Some(CredentialBasis::Stated);
    let verified = |p: &Portfolio| {
        evaluate(p, Category::FamilySpecialist, Track::Infant, as_of(), Basis::Verified, nys()).unwrap()
    };
    assert!(ifs_refs(&p, as_of()).met, "claimed: as stated");
    assert!(!req(&verified(&p), "references").met, "verified: a stated credential is not enough");
    p.references[0].credential_basis = Some(CredentialBasis::Vetted);
    assert!(req(&verified(&p), "references").met);
}

#[test]
fn references_level_two_and_roles() {
    let mut p = full(Track::Infant);
    let on = date(2025, 1, 1);
    p.references = vec![
        reference("a", ReferenceRole::ProgramSupervisor, Credential::FamilyAssociate, on),
        reference("b", ReferenceRole::RscProvider, Credential::Vetted, on),
        reference("c", ReferenceRole::Colleague, Credential::None, on),
    ];
    let e = nys_eval(&p, Category::MentorClinical, as_of());
    let r = req(&e, "references");
    assert!(!r.met);
    assert_eq!(
        r.missing,
        vec!["1 more rating from a rater endorsed at Level II or above", "a reference from a supervisee"]
    );
    p.references[2].role = ReferenceRole::Supervisee;
    p.references[2].rater_credential = Credential::MentorPolicy;
    assert!(req(&nys_eval(&p, Category::MentorClinical, as_of()), "references").met);
}

// ---- exam, agreement, membership, prior, leadership ---------------------------

#[test]
fn imhs_exam_until_2024_12_31_and_none_from_2025() {
    let mut p = full(Track::Infant);
    p.exams.clear();
    p.references.push(reference("fresh", ReferenceRole::Colleague, Credential::MentorClinical, date(2024, 10, 1)));
    let old = nys_eval(&p, Category::MentalHealthSpecialist, date(2024, 12, 31));
    assert_eq!(old.rulebook, "nys-aimh@2017-01-01");
    assert!(old.exam_required);
    assert!(!req(&old, "exam").met);
    assert_eq!(req(&old, "exam").missing, vec!["a passed IMHS exam"]);
    assert!(!old.met);
    let new = nys_eval(&p, Category::MentalHealthSpecialist, date(2025, 1, 1));
    assert_eq!(new.rulebook, "nys-aimh@2025-01-01");
    assert!(!new.exam_required);
    assert!(new.requirements.iter().all(|r| &*r.key != "exam"));
    assert!(new.met, "{:#?}", new.requirements);
    // Mentors keep their exam.
    assert!(nys_eval(&p, Category::MentorClinical, date(2025, 1, 1)).exam_required);
}

#[test]
fn exam_must_be_passed_for_this_category_by_as_of() {
    let mut p = full(Track::Infant);
    p.exams = vec![ExamResult {
        id: "x".into(),
        category: Category::MentorPolicy,
        taken_on: date(2025, 6, 2),
        passed: true,
        evidence_ids: Vec::new(),
    }];
    assert!(!req(&nys_eval(&p, Category::MentorClinical, date(2025, 7, 1)), "exam").met);
    assert!(!req(&nys_eval(&p, Category::MentorPolicy, as_of()), "exam").met);
    assert!(req(&nys_eval(&p, Category::MentorPolicy, date(2025, 6, 2)), "exam").met);
    p.exams[0].passed = false;
    assert!(!req(&nys_eval(&p, Category::MentorPolicy, date(2025, 6, 2)), "exam").met);
}

#[test]
fn agreement_membership_prior_and_leadership_dates() {
    let mut p = full(Track::Infant);
    p.agreement.as_mut().unwrap().signed_on = date(2025, 6, 2);
    p.membership_records[0].valid_until = date(2025, 5, 31);
    p.prior_endorsements[0].endorsed_on = date(2025, 6, 2);
    p.leadership[0].started_on = Some(date(2025, 6, 2));
    let e = nys_eval(&p, Category::ReflectiveSupervisor, as_of());
    assert!(!req(&e, "agreement").met);
    assert_eq!(
        req(&e, "membership").explanation,
        "The association's records show membership ended on 2025-05-31, before 2025-06-01."
    );
    assert!(!req(&e, "prior").met);
    assert!(!req(&nys_eval(&p, Category::MentorClinical, as_of()), "leadership").met);
    p.membership_records[0].valid_until = as_of();
    assert!(
        req(&nys_eval(&p, Category::ReflectiveSupervisor, as_of()), "membership").met,
        "valid through its last day"
    );
    p.membership_records[0].valid_from = date(2025, 6, 2);
    assert!(!req(&nys_eval(&p, Category::ReflectiveSupervisor, as_of()), "membership").met, "not yet valid");
}

#[test]
fn a_membership_claim_counts_only_once_staff_checked_it() {
    let mut p = full(Track::Infant);
    p.membership_records.clear();
    p.membership = Some(Membership { association: "MI-AIMH".into(), valid_until: date(2026, 3, 1), checked_by: None });
    let membership = |p: &Portfolio| req(&nys_eval(p, Category::FamilyAssociate, as_of()), "membership").clone();
    let claimed = membership(&p);
    assert!(!claimed.met);
    assert!(claimed.explanation.contains("claimed but not on the association's records"), "{}", claimed.explanation);
    p.membership.as_mut().unwrap().checked_by = Some("coordinator-cora".into());
    assert!(membership(&p).met);
    p.membership.as_mut().unwrap().valid_until = date(2025, 5, 31);
    assert!(!membership(&p).met, "a checked claim still expires");
    p.membership = None;
    assert_eq!(membership(&p).explanation, "No membership is on the association's records.");
}

// ---- basis ------------------------------------------------------------------

#[test]
fn verified_basis_counts_only_backed_entries() {
    let mut p = full(Track::Infant);
    let on = as_of();
    let verified = |p: &Portfolio, c| evaluate(p, c, Track::Infant, on, Basis::Verified, nys()).unwrap();
    assert!(verified(&p, Category::FamilySpecialist).met);
    // Training evidence only uploaded: claimed yes, verified no.
    for e in &mut p.evidence {
        if e.kind == EvidenceKind::TrainingCertificate {
            e.status = EvidenceStatus::Uploaded;
        }
    }
    assert!(nys_eval(&p, Category::FamilySpecialist, on).met);
    let e = verified(&p, Category::FamilySpecialist);
    let t = req(&e, "training.hours");
    assert!(!t.met);
    assert!(t.explanation.contains("(2 entries without verified evidence not counted)"), "{}", t.explanation);
    // Verified but of a kind the rulebook does not accept for training.
    for e in &mut p.evidence {
        if e.kind == EvidenceKind::TrainingCertificate {
            e.status = EvidenceStatus::Verified;
            e.kind = EvidenceKind::Transcript;
        }
    }
    assert!(!req(&verified(&p, Category::FamilySpecialist), "training.hours").met);
    // Work and RS/C need no evidence; the agreement and degrees do.
    let mut bare = full(Track::Infant);
    bare.evidence.clear();
    let e = verified(&bare, Category::FamilySpecialist);
    assert!(req(&e, "rsc.hours").met);
    assert!(!req(&e, "agreement").met);
    assert!(!req(&e, "education.degree").met);
    // ...and post-degree work needs a verified degree to start from.
    assert!(!req(&e, "work.years").met);
}

// ---- rulebook versions and errors ---------------------------------------------

#[test]
fn no_version_in_force_is_an_error() {
    let err = evaluate(
        &empty(Track::Infant),
        Category::FamilyAssociate,
        Track::Infant,
        date(2016, 12, 31),
        Basis::Claimed,
        nys(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no version of rulebook nys-aimh is in force on 2016-12-31 (the earliest takes effect 2017-01-01)"
    );
    assert!(recommend(&empty(Track::Infant), Track::Infant, date(2016, 1, 1), Basis::Claimed, nys()).is_err());
}

#[test]
fn recommend_puts_met_first_then_progress() {
    let mut p = full(Track::Infant);
    p.exams.clear();
    p.leadership.clear();
    let list = recommend(&p, Track::Infant, as_of(), Basis::Claimed, nys()).unwrap();
    let codes: Vec<&str> = list.iter().map(|e| e.code).collect();
    assert_eq!(codes, ["IFA", "IFS", "IMHS", "ERS", "IMHM-C", "IMHM-P", "IMHM-RF"]);
    assert!(list[..4].iter().all(|e| e.met));
    // Without RS/C-provision and research work: ERS misses 1 of 7 (0.86),
    // IMHM-P 2 of 8 (0.75), IMHM-C 3 of 9 (0.67), IMHM-RF 3 of 8 (0.63).
    p.work.retain(|w| w.kind != WorkKind::ResearchFaculty && w.kind != WorkKind::RscProvision);
    let list = recommend(&p, Track::Infant, as_of(), Basis::Claimed, nys()).unwrap();
    let codes: Vec<&str> = list.iter().map(|e| e.code).collect();
    assert_eq!(codes, ["IFA", "IFS", "IMHS", "ERS", "IMHM-P", "IMHM-C", "IMHM-RF"]);
    assert!(!list[3].met);
}

#[test]
fn results_are_flattened_pre_order() {
    let e = nys_eval(&full(Track::Infant), Category::MentorClinical, as_of());
    let keys: Vec<(&str, Option<&str>)> = e.requirements.iter().map(|r| (&*r.key, r.parent.as_deref())).collect();
    assert_eq!(
        keys[2..7],
        [
            ("work", None),
            ("work.clinical", Some("work")),
            ("work.years", Some("work.clinical")),
            ("work.internship", Some("work.clinical")),
            ("work.rsc-provision", Some("work")),
        ]
    );
    let work = req(&e, "work");
    let progress = work.progress.as_ref().unwrap();
    assert_eq!((progress.current, progress.required, progress.unit), (2.0, 2.0, "requirements"));
}

// ---- a second association -------------------------------------------------------

#[test]
fn ct_rulebook_changes_outcomes() {
    let mut p = full(Track::Infant);
    p.training = vec![training("t", 32.0, date(2023, 1, 1), &[TrainingTopic::Dei, TrainingTopic::RscProvision])];
    for r in &mut p.references {
        r.completed_on = Some(date(2023, 10, 1));
    }
    for s in &mut p.reflective_supervision {
        s.hours = 3.0; // 19 sessions by 2023-12-31
    }
    p.agreement.as_mut().unwrap().signed_on = date(2023, 6, 1);
    let ct_eval = |p: &Portfolio, c, on| evaluate(p, c, Track::Infant, on, Basis::Claimed, ct()).unwrap();
    // Mentors need 48 h from 2024-01-01 in CT; NYS keeps 30.
    let e = ct_eval(&p, Category::MentorClinical, date(2023, 12, 31));
    assert!(e.met, "{:#?}", e.requirements.iter().filter(|r| !r.met).collect::<Vec<_>>());
    let e = ct_eval(&p, Category::MentorClinical, date(2024, 6, 1));
    assert_eq!(e.rulebook, "ct-aimh@2024-01-01");
    assert_eq!(req(&e, "training.hours").missing, vec!["16.0 more training hours"]);
    assert!(nys_eval(&p, Category::MentorClinical, date(2024, 6, 1)).met);
    // IMHS needs 33 h incl. 3 DEI from 2025-01-01 in CT.
    assert!(req(&ct_eval(&p, Category::MentalHealthSpecialist, date(2024, 6, 1)), "training.hours").met);
    let e = ct_eval(&p, Category::MentalHealthSpecialist, as_of());
    assert_eq!(req(&e, "training.hours").missing, vec!["1.0 more training hours"]);
    // RS/C only from endorsed reflective supervisors or clinical mentors.
    let mut p = full(Track::Infant);
    for s in &mut p.reflective_supervision {
        s.provider_credential = Credential::MentalHealthSpecialist;
    }
    assert!(nys_eval(&p, Category::FamilySpecialist, as_of()).met);
    assert!(!ct_eval(&p, Category::FamilySpecialist, as_of()).met);
}

#[test]
fn sub_minimum_look_back_and_licence_primitives() {
    let source = r#"{
      "association": "test-aimh", "name": "Test",
      "versions": [{
        "effectiveFrom": "2020-01-01", "tracks": ["INFANT"], "examFee": 0,
        "categories": [{
          "category": "MENTAL_HEALTH_SPECIALIST", "title": {"INFANT": "Renewal"},
          "requirements": [
            {"key": "education.degree", "title": "Degree or licence",
             "degree": {"minLevel": "DOCTORATE", "orLicense": true}},
            {"key": "training.hours", "title": "15 h this year",
             "trainingHours": {"minHours": 15, "topics": {"DEI": 1}, "lookBackMonths": 12}},
            {"key": "rsc.hours", "title": "12 h", "reflectiveSupervision":
              {"minHours": 12, "providers": ["MENTOR_CLINICAL"], "minMonths": 1,
               "aboutProvidingMinHours": 4}}
          ]}]}]}"#;
    let rb = Rulebook::from_json("test.json", source).unwrap();
    let on = date(2025, 6, 1);
    let mut p = empty(Track::Infant);
    p.licenses.push(LicenseEntry {
        id: "lic".into(),
        kind: "LCSW".into(),
        valid_from: date(2020, 1, 1),
        valid_until: Some(date(2025, 6, 1)),
        evidence_ids: Vec::new(),
    });
    p.training = vec![
        training("old", 15.0, date(2024, 5, 31), &[TrainingTopic::Dei]),
        training("new", 15.0, date(2024, 6, 1), &[]),
    ];
    p.reflective_supervision = (0..6)
        .map(|i| RscEntry {
            about_providing_rsc: i < 1,
            ..session(&format!("s{i}"), date(2025, 1, 5) + chrono::Days::new(i * 7), 2.0, Credential::MentorClinical)
        })
        .collect();
    let e = evaluate(&p, Category::MentalHealthSpecialist, Track::Infant, on, Basis::Claimed, &rb).unwrap();
    let degree = req(&e, "education.degree");
    assert!(degree.met, "{}", degree.explanation);
    assert_eq!(degree.counted_entry_ids, vec![EntryId::from("lic")]);
    let t = req(&e, "training.hours");
    assert_eq!(t.missing, vec!["1.0 more diversity, equity and inclusion training hours"]);
    assert!(t.explanation.starts_with("15.0 of 15 training hours completed between 2024-06-01 and 2025-06-01"));
    let r = req(&e, "rsc.hours");
    assert!(!r.met);
    assert_eq!(r.missing, vec!["2.0 more RS/C hours about providing RS/C"]);
    p.reflective_supervision[1].about_providing_rsc = true;
    let e = evaluate(&p, Category::MentalHealthSpecialist, Track::Infant, on, Basis::Claimed, &rb).unwrap();
    assert!(req(&e, "rsc.hours").met);
    // The licence lapses the day after.
    let later = date(2025, 6, 2);
    let e = evaluate(&p, Category::MentalHealthSpecialist, Track::Infant, later, Basis::Claimed, &rb).unwrap();
    assert!(!req(&e, "education.degree").met);
}

#[test]
fn explanations_name_terms_as_people_do() {
    let mut p = full(Track::Infant);
    p.reflective_supervision.clear();
    let e = nys_eval(&p, Category::MentalHealthSpecialist, as_of());
    let rsc = e.requirements.iter().find(|r| r.key.starts_with("rsc") && !r.met).expect("an unmet RS/C rule");
    assert!(rsc.explanation.contains("Mental Health Specialist"), "{}", rsc.explanation);
    for r in &e.requirements {
        for text in std::iter::once(&r.explanation).chain(&r.missing) {
            let shouty = text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|w| w.contains('_'));
            assert!(!shouty, "an enum spelling in {:?}: {text}", r.key);
        }
    }
}
