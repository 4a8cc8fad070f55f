//! Test fixtures: builders and a portfolio that meets every category.

use std::sync::OnceLock;

use chrono::NaiveDate;

use super::super::model::*;
use super::super::rulebook::Rulebook;
pub use super::super::sample::date;
use super::{Eligibility, RequirementResult, evaluate};

pub fn nys() -> &'static Rulebook {
    static NYS: OnceLock<Rulebook> = OnceLock::new();
    NYS.get_or_init(Rulebook::nys_aimh)
}

pub fn ct() -> &'static Rulebook {
    static CT: OnceLock<Rulebook> = OnceLock::new();
    CT.get_or_init(|| {
        Rulebook::from_json("rulebooks/ct-aimh.json", include_str!("../../../rulebooks/ct-aimh.json"))
            .expect("CT rulebook loads")
    })
}

pub fn as_of() -> NaiveDate {
    date(2025, 6, 1)
}

pub fn edu(id: &str, level: DegreeLevel, related_field: bool, conferred_on: NaiveDate) -> EducationEntry {
    EducationEntry {
        id: id.into(),
        level,
        field: None,
        institution: None,
        related_field,
        conferred_on,
        evidence_ids: vec![format!("ev-{id}")],
    }
}

pub fn training(id: &str, hours: f64, completed_on: NaiveDate, topics: &[TrainingTopic]) -> TrainingEntry {
    TrainingEntry {
        id: id.into(),
        title: format!("Training {id}"),
        provider: None,
        hours,
        completed_on,
        topics: topics.to_vec(),
        evidence_ids: vec![format!("ev-{id}")],
    }
}

pub fn work(id: &str, kind: WorkKind, start: NaiveDate, end: Option<NaiveDate>) -> WorkEntry {
    WorkEntry {
        id: id.into(),
        role: "Clinician".into(),
        employer: None,
        kind,
        paid: true,
        supervised: true,
        specialized_training: false,
        age_band: AgeBand::Both,
        started_on: start,
        ended_on: end,
        fte: 1.0,
        evidence_ids: Vec::new(),
    }
}

pub fn session(id: &str, on: NaiveDate, hours: f64, provider: Credential) -> RscEntry {
    RscEntry {
        id: id.into(),
        date: on,
        hours,
        format: RscFormat::Individual,
        age_band: AgeBand::Both,
        provider_name: "Provider".into(),
        provider_credential: provider,
        about_providing_rsc: true,
        evidence_ids: Vec::new(),
    }
}

pub fn reference(id: &str, role: ReferenceRole, rater: Credential, completed_on: NaiveDate) -> ReferenceEntry {
    ReferenceEntry {
        id: id.into(),
        rater_name: format!("Rater {id}"),
        rater_email: None,
        role,
        rater_credential: rater,
        completed_on: Some(completed_on),
        not_enough_info_count: 0,
        waived: false,
        source: ReferenceSource::Submitted,
        recommends: Some(true),
        credential_basis: Some(CredentialBasis::Confirmed),
    }
}

/// Meets every category of both tracks under both NYS versions (as of
/// 2024-06-01 and 2025-06-01), with all evidence verified.
pub fn full(track: Track) -> Portfolio {
    let mut p = Portfolio::new(track, Category::MentalHealthSpecialist);
    p.education = vec![edu("edu-ma", DegreeLevel::Master, true, date(2010, 5, 15))];
    p.training = vec![
        training("tr-1", 30.0, date(2020, 1, 10), &[TrainingTopic::RscProvision, TrainingTopic::Dei]),
        training("tr-2", 18.0, date(2021, 3, 5), &[TrainingTopic::Iecmh]),
    ];
    p.work = vec![
        work("w-direct", WorkKind::DirectService, date(2011, 1, 1), Some(date(2015, 1, 1))),
        work("w-rsc", WorkKind::RscProvision, date(2015, 1, 1), None),
        work("w-policy", WorkKind::PolicyLeadership, date(2016, 1, 1), Some(date(2020, 1, 1))),
        work("w-research", WorkKind::ResearchFaculty, date(2016, 1, 1), Some(date(2020, 1, 1))),
    ];
    // 36 monthly sessions of 2.5 h, 2022-06-10 .. 2025-05-10: 60 h in any 24 months.
    p.reflective_supervision = (0..36)
        .map(|i| {
            let on = date(2022 + (5 + i) / 12, ((5 + i) % 12 + 1) as u32, 10);
            session(&format!("rsc-{i:02}"), on, 2.5, Credential::MentorClinical)
        })
        .collect();
    let done = date(2024, 5, 20);
    p.references = vec![
        reference("ref-ps", ReferenceRole::ProgramSupervisor, Credential::MentorClinical, done),
        reference("ref-rsc", ReferenceRole::RscProvider, Credential::MentorClinical, done),
        reference("ref-sup", ReferenceRole::Supervisee, Credential::None, done),
        reference("ref-stu", ReferenceRole::Student, Credential::None, done),
    ];
    // Two batches so references are fresh for both 2024-06-01 and 2025-06-01.
    for (i, r) in p.references.clone().into_iter().enumerate() {
        p.references.push(ReferenceEntry {
            id: format!("{}-2025", r.id),
            completed_on: Some(date(2025, 2, 1 + i as u32)),
            ..r
        });
    }
    p.exams = [
        Category::MentalHealthSpecialist,
        Category::MentorClinical,
        Category::MentorPolicy,
        Category::MentorResearchFaculty,
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| ExamResult {
        id: format!("exam-{i}"),
        category: *c,
        taken_on: date(2022, 4, 1),
        passed: true,
        evidence_ids: vec![format!("ev-exam-{i}")],
    })
    .collect();
    p.agreement = Some(Agreement { signed_on: date(2024, 1, 15), evidence_ids: vec!["ev-agreement".into()] });
    p.membership_records = vec![MembershipRecordRef {
        kind: MembershipType::TwoYear,
        valid_from: date(2020, 1, 1),
        valid_until: date(2026, 1, 1),
    }];
    p.leadership = vec![LeadershipEntry {
        id: "lead-1".into(),
        description: "Board member".into(),
        started_on: Some(date(2019, 1, 1)),
        ended_on: None,
    }];
    p.prior_endorsements = vec![PriorEndorsement {
        id: "prior-1".into(),
        category: Category::FamilySpecialist,
        track: Track::Infant,
        endorsed_on: date(2020, 1, 1),
    }];
    verify_all(&mut p);
    p
}

/// Adds a VERIFIED evidence item of the right kind for every linked id.
pub fn verify_all(p: &mut Portfolio) {
    let mut add = |ids: &[String], kind: EvidenceKind| {
        for id in ids {
            p.evidence.push(EvidenceRef { id: id.clone(), kind, status: EvidenceStatus::Verified });
        }
    };
    let education: Vec<String> = p.education.iter().flat_map(|e| e.evidence_ids.clone()).collect();
    let training: Vec<String> = p.training.iter().flat_map(|e| e.evidence_ids.clone()).collect();
    let exams: Vec<String> = p.exams.iter().flat_map(|e| e.evidence_ids.clone()).collect();
    let agreement: Vec<String> = p.agreement.iter().flat_map(|a| a.evidence_ids.clone()).collect();
    add(&education, EvidenceKind::Transcript);
    add(&training, EvidenceKind::TrainingCertificate);
    add(&exams, EvidenceKind::ExamResult);
    add(&agreement, EvidenceKind::EthicsAgreement);
}

/// Evaluates with the NYS rulebook, basis CLAIMED.
pub fn nys_eval(p: &Portfolio, category: Category, on: NaiveDate) -> Eligibility {
    evaluate(p, category, p.track, on, Basis::Claimed, nys()).expect("a version is in force")
}

/// The result for `key` (panics with the keys present when absent).
pub fn req<'e>(e: &'e Eligibility, key: &str) -> &'e RequirementResult {
    e.requirements.iter().find(|r| &*r.key == key).unwrap_or_else(|| {
        let keys: Vec<&str> = e.requirements.iter().map(|r| &*r.key).collect();
        panic!("no requirement {key} in {} ({keys:?})", e.code)
    })
}
