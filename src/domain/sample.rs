//! A deterministic, realistic portfolio for benchmarks and demo data: an infant
//! mental health clinician with 5 degrees, 60 trainings, 8 jobs, 60 RS/C
//! sessions and 4 reference ratings.

use chrono::{Days, NaiveDate};

use super::model::{
    AgeBand, Agreement, Category, Credential, CredentialBasis, DegreeLevel, EducationEntry, EvidenceKind, EvidenceRef,
    EvidenceStatus, ExamResult, LeadershipEntry, Membership, MembershipRecordRef, MembershipType, Portfolio,
    PriorEndorsement, ReferenceEntry, ReferenceRole, ReferenceSource, RscEntry, RscFormat, Track, TrainingEntry,
    TrainingTopic, WorkEntry, WorkKind,
};

/// A date in the sample (panics on an impossible date: the sample is fixed).
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid sample date")
}

/// The evaluation date the sample is written for.
pub fn realistic_as_of() -> NaiveDate {
    date(2025, 6, 1)
}

pub fn realistic_portfolio() -> Portfolio {
    let mut p = Portfolio::new(Track::Infant, Category::MentalHealthSpecialist);
    education(&mut p);
    training(&mut p);
    work(&mut p);
    reflective_supervision(&mut p);
    references(&mut p);
    p.leadership = vec![
        LeadershipEntry {
            id: "lead-1".into(),
            description: "Chair of the regional infant mental health coalition".into(),
            started_on: Some(date(2021, 1, 1)),
            ended_on: Some(date(2023, 12, 31)),
        },
        LeadershipEntry {
            id: "lead-2".into(),
            description: "Keynote on reflective practice at the state conference".into(),
            started_on: Some(date(2024, 10, 3)),
            ended_on: Some(date(2024, 10, 3)),
        },
    ];
    p.exams = vec![
        ExamResult {
            id: "exam-1".into(),
            category: Category::MentalHealthSpecialist,
            taken_on: date(2021, 4, 10),
            passed: true,
            evidence_ids: vec!["ev-exam-1".into()],
        },
        ExamResult {
            id: "exam-2".into(),
            category: Category::MentorClinical,
            taken_on: date(2025, 5, 2),
            passed: false,
            evidence_ids: Vec::new(),
        },
    ];
    p.agreement = Some(Agreement { signed_on: date(2025, 1, 10), evidence_ids: vec!["ev-agreement".into()] });
    // The applicant's own claim (shown, not counted) and the association's record.
    p.membership =
        Some(Membership { association: "NYS-AIMH".into(), valid_until: date(2025, 12, 31), checked_by: None });
    p.membership_records = vec![MembershipRecordRef {
        kind: MembershipType::Individual,
        valid_from: date(2025, 1, 1),
        valid_until: date(2025, 12, 31),
    }];
    p.prior_endorsements = vec![PriorEndorsement {
        id: "prior-1".into(),
        category: Category::MentalHealthSpecialist,
        track: Track::Infant,
        endorsed_on: date(2021, 6, 1),
    }];
    p.evidence.push(verified("ev-exam-1", EvidenceKind::ExamResult));
    p.evidence.push(verified("ev-agreement", EvidenceKind::EthicsAgreement));
    p
}

fn verified(id: &str, kind: EvidenceKind) -> EvidenceRef {
    EvidenceRef { id: id.into(), kind, status: EvidenceStatus::Verified }
}

fn education(p: &mut Portfolio) {
    let degrees = [
        (DegreeLevel::Cda, "Child Development", date(2008, 6, 15), true),
        (DegreeLevel::Associate, "Early Childhood Education", date(2010, 5, 20), true),
        (DegreeLevel::Bachelor, "Psychology", date(2012, 5, 19), true),
        (DegreeLevel::Master, "Social Work", date(2015, 5, 16), true),
        (DegreeLevel::Master, "Public Policy", date(2019, 12, 14), false),
    ];
    for (i, (level, field, conferred_on, related_field)) in degrees.into_iter().enumerate() {
        let id = format!("edu-{}", i + 1);
        let evidence = format!("ev-{id}");
        let kind = if level == DegreeLevel::Cda { EvidenceKind::CdaCertificate } else { EvidenceKind::Transcript };
        p.evidence.push(verified(&evidence, kind));
        p.education.push(EducationEntry {
            id,
            level,
            field: Some(field.into()),
            institution: Some("State University".into()),
            related_field,
            conferred_on,
            evidence_ids: vec![evidence],
        });
    }
}

fn training(p: &mut Portfolio) {
    const HOURS: [f64; 5] = [3.0, 1.5, 6.0, 2.0, 4.5];
    for i in 0..60u64 {
        let id = format!("train-{:02}", i + 1);
        let topics = match i % 4 {
            0 => vec![TrainingTopic::Iecmh, TrainingTopic::Dei],
            1 => vec![TrainingTopic::RscProvision],
            2 => vec![TrainingTopic::Iecmh],
            _ => vec![TrainingTopic::Other],
        };
        let evidence = format!("ev-{id}");
        p.evidence.push(EvidenceRef {
            id: evidence.clone(),
            kind: EvidenceKind::TrainingCertificate,
            status: if i % 10 == 9 { EvidenceStatus::Uploaded } else { EvidenceStatus::Verified },
        });
        p.training.push(TrainingEntry {
            id,
            title: format!("Infant mental health seminar {}", i + 1),
            provider: Some("NYS-AIMH".into()),
            hours: HOURS[(i % 5) as usize],
            completed_on: date(2016, 3, 1) + Days::new(i * 55),
            topics,
            evidence_ids: vec![evidence],
        });
    }
}

fn work(p: &mut Portfolio) {
    use WorkKind::*;
    let jobs = [
        ("Graduate intern", Internship, false, true, AgeBand::Infant, date(2014, 9, 1), Some(date(2015, 5, 1)), 1.0),
        (
            "Infant mental health clinician",
            DirectService,
            true,
            true,
            AgeBand::Infant,
            date(2015, 6, 1),
            Some(date(2019, 8, 31)),
            1.0,
        ),
        ("Senior clinician", DirectService, true, true, AgeBand::Both, date(2019, 9, 1), None, 0.6),
        ("Reflective supervisor", RscProvision, true, false, AgeBand::Both, date(2019, 9, 1), None, 0.4),
        (
            "Policy advisor",
            PolicyLeadership,
            true,
            false,
            AgeBand::Infant,
            date(2020, 1, 15),
            Some(date(2023, 6, 30)),
            0.5,
        ),
        ("Adjunct faculty", ResearchFaculty, true, false, AgeBand::Both, date(2021, 9, 1), None, 0.2),
        ("CASA volunteer", DirectService, false, true, AgeBand::Infant, date(2012, 1, 1), Some(date(2014, 6, 30)), 0.3),
        ("Preschool aide", Other, true, true, AgeBand::EarlyChildhood, date(2010, 6, 1), Some(date(2012, 5, 31)), 1.0),
    ];
    for (i, (role, kind, paid, supervised, age_band, started_on, ended_on, fte)) in jobs.into_iter().enumerate() {
        p.work.push(WorkEntry {
            id: format!("work-{}", i + 1),
            role: role.into(),
            employer: Some("Family Center".into()),
            kind,
            paid,
            supervised,
            specialized_training: !paid,
            age_band,
            started_on,
            ended_on,
            fte,
            evidence_ids: Vec::new(),
        });
    }
}

fn reflective_supervision(p: &mut Portfolio) {
    for i in 0..60u64 {
        let provider_credential = match i {
            i if i % 7 == 6 => Credential::Peer,
            i if i % 5 == 4 => Credential::MentalHealthSpecialist,
            _ => Credential::MentorClinical,
        };
        p.reflective_supervision.push(RscEntry {
            id: format!("rsc-{:02}", i + 1),
            date: date(2023, 6, 5) + Days::new(i * 12),
            hours: if i % 2 == 0 { 1.0 } else { 1.5 },
            format: if i % 3 == 0 { RscFormat::Group } else { RscFormat::Individual },
            age_band: if i % 4 == 0 { AgeBand::Both } else { AgeBand::Infant },
            provider_name: format!("Provider {}", i % 3 + 1),
            provider_credential,
            about_providing_rsc: i % 3 == 1,
            evidence_ids: Vec::new(),
        });
    }
}

fn references(p: &mut Portfolio) {
    let ratings = [
        ("Dana Whitfield", ReferenceRole::ProgramSupervisor, Credential::MentorClinical, date(2025, 3, 10), 0),
        ("Luis Ortega", ReferenceRole::RscProvider, Credential::MentorClinical, date(2025, 3, 22), 1),
        ("Kim Nguyen", ReferenceRole::Supervisee, Credential::None, date(2025, 4, 2), 2),
        ("Ari Cohen", ReferenceRole::Colleague, Credential::MentalHealthSpecialist, date(2025, 4, 15), 0),
    ];
    for (i, (name, role, rater_credential, completed_on, nei)) in ratings.into_iter().enumerate() {
        p.references.push(ReferenceEntry {
            id: format!("ref-{}", i + 1),
            rater_name: name.into(),
            rater_email: Some(format!("rater{}@example.org", i + 1)),
            role,
            rater_credential,
            completed_on: Some(completed_on),
            not_enough_info_count: nei,
            waived: true,
            // Moved from an earlier system, as the demo data are.
            source: ReferenceSource::Imported,
            recommends: None,
            credential_basis: Some(CredentialBasis::Vetted),
        });
    }
}
