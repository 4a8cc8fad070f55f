//! Properties: monotonicity, order independence, determinism.

use chrono::{Days, NaiveDate};
use proptest::prelude::*;

use super::super::model::*;
use super::fixtures::{date, nys};
use super::{evaluate, recommend};

fn day() -> impl Strategy<Value = NaiveDate> {
    (0u64..4200).prop_map(|n| date(2015, 1, 1) + Days::new(n))
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(all)
}

fn education() -> impl Strategy<Value = EducationEntry> {
    (pick(DegreeLevel::ALL), any::<bool>(), day()).prop_map(|(level, related_field, conferred_on)| EducationEntry {
        id: String::new(),
        level,
        field: None,
        institution: None,
        related_field,
        conferred_on,
        evidence_ids: vec!["ev-edu".into()],
    })
}

fn training() -> impl Strategy<Value = TrainingEntry> {
    (day(), 1u32..40, prop::sample::subsequence(TrainingTopic::ALL.to_vec(), 0..=2)).prop_map(|(on, halves, topics)| {
        TrainingEntry {
            id: String::new(),
            title: "T".into(),
            provider: None,
            hours: f64::from(halves) * 0.5,
            completed_on: on,
            topics,
            evidence_ids: vec!["ev-train".into()],
        }
    })
}

fn work() -> impl Strategy<Value = WorkEntry> {
    (
        pick(WorkKind::ALL),
        any::<(bool, bool, bool)>(),
        pick(AgeBand::ALL),
        day(),
        prop::option::of(0u64..1500),
        1u32..=10,
    )
        .prop_map(|(kind, (paid, supervised, specialized_training), age_band, started_on, length, tenths)| {
            WorkEntry {
                id: String::new(),
                role: "R".into(),
                employer: None,
                kind,
                paid,
                supervised,
                specialized_training,
                age_band,
                started_on,
                ended_on: length.map(|n| started_on + Days::new(n)),
                fte: f64::from(tenths) / 10.0,
                evidence_ids: Vec::new(),
            }
        })
}

fn session() -> impl Strategy<Value = RscEntry> {
    (day(), 1u32..8, pick(Credential::ALL), pick(AgeBand::ALL), any::<bool>()).prop_map(
        |(on, halves, provider_credential, age_band, about_providing_rsc)| RscEntry {
            id: String::new(),
            date: on,
            hours: f64::from(halves) * 0.5,
            format: RscFormat::Individual,
            age_band,
            provider_name: "P".into(),
            provider_credential,
            about_providing_rsc,
            evidence_ids: Vec::new(),
        },
    )
}

fn reference() -> impl Strategy<Value = ReferenceEntry> {
    (pick(ReferenceRole::ALL), pick(Credential::ALL), prop::option::of(day()), 0i32..9).prop_map(
        |(role, rater_credential, completed_on, not_enough_info_count)| ReferenceEntry {
            id: String::new(),
            rater_name: "R".into(),
            rater_email: None,
            role,
            rater_credential,
            completed_on,
            not_enough_info_count,
            waived: false,
            source: ReferenceSource::Submitted,
            recommends: Some(true),
            credential_basis: Some(CredentialBasis::Confirmed),
        },
    )
}

fn exam() -> impl Strategy<Value = ExamResult> {
    (pick(Category::ALL), day(), any::<bool>()).prop_map(|(category, taken_on, passed)| ExamResult {
        id: String::new(),
        category,
        taken_on,
        passed,
        evidence_ids: vec!["ev-exam".into()],
    })
}

fn portfolio() -> impl Strategy<Value = Portfolio> {
    (
        pick(Track::ALL),
        prop::collection::vec(education(), 0..4),
        prop::collection::vec(training(), 0..16),
        prop::collection::vec(work(), 0..8),
        prop::collection::vec(session(), 0..40),
        prop::collection::vec(reference(), 0..6),
        prop::collection::vec(exam(), 0..3),
        (prop::option::of(day()), prop::option::of(day()), 0usize..3, prop::option::of(day())),
    )
        .prop_map(
            |(track, education, training, work, rsc, references, exams, (signed, member, leaders, prior))| {
                let mut p = Portfolio::new(track, Category::FamilyAssociate);
                p.education = education;
                p.training = training;
                p.work = work;
                p.reflective_supervision = rsc;
                p.references = references;
                p.exams = exams;
                p.agreement =
                    signed.map(|signed_on| Agreement { signed_on, evidence_ids: vec!["ev-agreement".into()] });
                p.membership_records = member
                    .map(|valid_until| MembershipRecordRef {
                        kind: MembershipType::Individual,
                        valid_from: date(2000, 1, 1),
                        valid_until,
                    })
                    .into_iter()
                    .collect();
                p.leadership = (0..leaders)
                    .map(|i| LeadershipEntry {
                        id: format!("lead-{i}"),
                        description: "L".into(),
                        started_on: Some(date(2018 + i as i32 * 3, 1, 1)),
                        ended_on: None,
                    })
                    .collect();
                p.prior_endorsements = prior
                    .map(|endorsed_on| PriorEndorsement {
                        id: "prior".into(),
                        category: Category::FamilySpecialist,
                        track,
                        endorsed_on,
                    })
                    .into_iter()
                    .collect();
                for (id, kind) in [
                    ("ev-edu", EvidenceKind::Transcript),
                    ("ev-train", EvidenceKind::TrainingCertificate),
                    ("ev-exam", EvidenceKind::ExamResult),
                ] {
                    p.evidence.push(EvidenceRef { id: id.into(), kind, status: EvidenceStatus::Verified });
                }
                number(&mut p);
                p
            },
        )
}

/// Unique ids, so orderings have no ties.
fn number(p: &mut Portfolio) {
    for (i, e) in p.education.iter_mut().enumerate() {
        e.id = format!("edu-{i}");
    }
    for (i, e) in p.training.iter_mut().enumerate() {
        e.id = format!("tr-{i}");
    }
    for (i, e) in p.work.iter_mut().enumerate() {
        e.id = format!("w-{i}");
    }
    for (i, e) in p.reflective_supervision.iter_mut().enumerate() {
        e.id = format!("rsc-{i}");
    }
    for (i, e) in p.references.iter_mut().enumerate() {
        e.id = format!("ref-{i}");
    }
    for (i, e) in p.exams.iter_mut().enumerate() {
        e.id = format!("exam-{i}");
    }
}

#[derive(Debug, Clone)]
enum Addition {
    Education(EducationEntry),
    Training(TrainingEntry),
    Work(WorkEntry),
    Session(RscEntry),
    Reference(ReferenceEntry),
    Exam(ExamResult),
}

fn addition() -> impl Strategy<Value = Addition> {
    prop_oneof![
        education().prop_map(Addition::Education),
        training().prop_map(Addition::Training),
        work().prop_map(Addition::Work),
        session().prop_map(Addition::Session),
        reference().prop_map(Addition::Reference),
        exam().prop_map(Addition::Exam),
    ]
}

fn add(p: &mut Portfolio, addition: Addition) {
    match addition {
        Addition::Education(mut e) => {
            e.id = "added".into();
            p.education.push(e);
        }
        Addition::Training(mut e) => {
            e.id = "added".into();
            p.training.push(e);
        }
        Addition::Work(mut e) => {
            e.id = "added".into();
            p.work.push(e);
        }
        Addition::Session(mut e) => {
            e.id = "added".into();
            p.reflective_supervision.push(e);
        }
        Addition::Reference(mut e) => {
            e.id = "added".into();
            p.references.push(e);
        }
        Addition::Exam(mut e) => {
            e.id = "added".into();
            p.exams.push(e);
        }
    }
}

/// A deterministic Fisher-Yates shuffle driven by `seed`.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        items.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}

fn as_of() -> impl Strategy<Value = NaiveDate> {
    (0u64..1800).prop_map(|n| date(2021, 1, 1) + Days::new(n))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn adding_an_entry_never_unmeets_a_requirement(
        p in portfolio(),
        extra in addition(),
        category in pick(Category::ALL),
        on in as_of(),
        basis in pick(Basis::ALL),
    ) {
        let before = evaluate(&p, category, p.track, on, basis, nys()).unwrap();
        let mut more = p.clone();
        add(&mut more, extra);
        let after = evaluate(&more, category, p.track, on, basis, nys()).unwrap();
        prop_assert!(!before.met || after.met);
        for (b, a) in before.requirements.iter().zip(&after.requirements) {
            prop_assert_eq!(&b.key, &a.key);
            prop_assert!(!b.met || a.met, "{} became unmet: {} -> {}", b.key, b.explanation, a.explanation);
        }
    }

    #[test]
    fn entry_order_never_changes_the_result(
        p in portfolio(),
        seed in 1u64..,
        on in as_of(),
        basis in pick(Basis::ALL),
    ) {
        let mut shuffled = p.clone();
        let mut seed = seed;
        shuffle(&mut shuffled.education, &mut seed);
        shuffle(&mut shuffled.training, &mut seed);
        shuffle(&mut shuffled.work, &mut seed);
        shuffle(&mut shuffled.reflective_supervision, &mut seed);
        shuffle(&mut shuffled.references, &mut seed);
        shuffle(&mut shuffled.exams, &mut seed);
        shuffle(&mut shuffled.evidence, &mut seed);
        let a = recommend(&p, p.track, on, basis, nys()).unwrap();
        let b = recommend(&shuffled, p.track, on, basis, nys()).unwrap();
        prop_assert_eq!(a, b);
    }

    /// Recommendations and evaluations share one cache of answers
    /// (`app::evaluation_cache`), so each ranked answer must be the one
    /// `evaluate` gives for its category.
    #[test]
    fn each_recommendation_is_that_categorys_evaluation(p in portfolio(), on in as_of(), basis in pick(Basis::ALL)) {
        for ranked in recommend(&p, p.track, on, basis, nys()).unwrap() {
            let evaluated = evaluate(&p, ranked.category, p.track, on, basis, nys()).unwrap();
            prop_assert_eq!(ranked, evaluated);
        }
    }

    #[test]
    fn results_are_deterministic(p in portfolio(), on in as_of(), category in pick(Category::ALL)) {
        let first = evaluate(&p, category, p.track, on, Basis::Verified, nys()).unwrap();
        let second = evaluate(&p, category, p.track, on, Basis::Verified, nys()).unwrap();
        prop_assert_eq!(first, second);
    }
}
