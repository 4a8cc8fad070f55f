//! Synthetic portfolios for load tests, reports and benchmarks: mixed
//! tracks, categories and statuses, dates over several years, plausible
//! hours. Portfolio `i` of seed `s` is always the same document (its own
//! ChaCha stream), so a run can be repeated, resumed or split into batches.

use chrono::{Days, NaiveDate, TimeDelta};
use mongodb::bson::{DateTime, oid::ObjectId};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::blob::keys;
use crate::domain::association::AssociationCode;
use crate::domain::model::{
    AgeBand, Agreement, Category, Credential, CredentialBasis, DegreeLevel, EducationEntry, EvidenceKind,
    EvidenceStatus, Membership, Portfolio, PortfolioStatus, ReferenceEntry, ReferenceRole, ReferenceSource, RscEntry,
    RscFormat, Track, TrainingEntry, TrainingTopic, WorkEntry, WorkKind,
};
use crate::store::evidence::EvidenceRecord;
use crate::store::portfolio::{Applicant, PortfolioDocument, SCHEMA_VERSION};

/// Regions of New York State, most populous first; the last ones are rare
/// on purpose, so reports over them exercise small-cell suppression.
pub const REGIONS: &[(&str, u32)] = &[
    ("New York City", 30),
    ("Long Island", 14),
    ("Hudson Valley", 12),
    ("Capital Region", 10),
    ("Western New York", 10),
    ("Finger Lakes", 8),
    ("Central New York", 7),
    ("Southern Tier", 5),
    ("Mohawk Valley", 3),
    ("North Country", 1),
];

const CATEGORIES: &[(Category, u32)] = &[
    (Category::FamilyAssociate, 14),
    (Category::FamilySpecialist, 30),
    (Category::MentalHealthSpecialist, 32),
    (Category::MentorClinical, 12),
    (Category::MentorPolicy, 3),
    (Category::MentorResearchFaculty, 3),
    (Category::ReflectiveSupervisor, 6),
];

const STATUSES: &[(PortfolioStatus, u32)] = &[
    (PortfolioStatus::Draft, 24),
    (PortfolioStatus::Submitted, 8),
    (PortfolioStatus::InReview, 7),
    (PortfolioStatus::Returned, 8),
    (PortfolioStatus::Approved, 4),
    (PortfolioStatus::ExamEligible, 5),
    (PortfolioStatus::Endorsed, 39),
    (PortfolioStatus::Withdrawn, 5),
];

/// The synthetic world's first and last day.
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2019, 1, 1).expect("valid date")
}
fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date")
}

fn weighted<T: Copy>(rng: &mut ChaCha8Rng, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (value, weight) in table {
        if pick < *weight {
            return *value;
        }
        pick -= weight;
    }
    table[table.len() - 1].0
}

fn instant(day: NaiveDate, rng: &mut ChaCha8Rng) -> DateTime {
    let seconds = rng.random_range(8 * 3600..18 * 3600);
    DateTime::from_chrono(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + TimeDelta::seconds(seconds))
}

fn days_after(day: NaiveDate, min: u64, max: u64, rng: &mut ChaCha8Rng) -> NaiveDate {
    (day + Days::new(rng.random_range(min..=max))).min(last_day())
}

/// Quarter hours, as certificates state them.
fn quarter_hours(rng: &mut ChaCha8Rng, min: u32, max: u32) -> f64 {
    f64::from(rng.random_range(min * 4..=max * 4)) / 4.0
}

/// Synthetic portfolio `index` of `seed`, with the evidence records it
/// links (metadata only: synthetic evidence has no object in S3).
pub fn portfolio(association: &AssociationCode, seed: u64, index: u64) -> (PortfolioDocument, Vec<EvidenceRecord>) {
    let seed = tenant_seed(association, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let category = weighted(&mut rng, CATEGORIES);
    let status = weighted(&mut rng, STATUSES);
    let region = weighted(&mut rng, REGIONS);
    let span = (last_day() - first_day()).num_days() as u64;
    let created = first_day() + Days::new(rng.random_range(0..span - 120));
    // The early-childhood track opened with the 2025 rulebook.
    let early_childhood_open = created >= NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid date");
    let track = if early_childhood_open && rng.random_bool(0.35) { Track::EarlyChildhood } else { Track::Infant };

    let submitted = (status != PortfolioStatus::Draft).then(|| days_after(created, 14, 400, &mut rng));
    let decided = match status {
        PortfolioStatus::Returned
        | PortfolioStatus::Approved
        | PortfolioStatus::ExamEligible
        | PortfolioStatus::Endorsed => submitted.map(|day| days_after(day, 3, 180, &mut rng)),
        _ => None,
    };
    let endorsed = (status == PortfolioStatus::Endorsed).then(|| decided.map(|day| days_after(day, 0, 150, &mut rng)));
    let as_of = submitted.unwrap_or(last_day());
    // Further along means more complete: endorsed portfolios meet most
    // requirements, drafts few.
    let completeness = match status {
        PortfolioStatus::Draft => rng.random_range(0.0..0.7),
        PortfolioStatus::Returned | PortfolioStatus::Withdrawn => rng.random_range(0.4..0.9),
        _ => rng.random_range(0.8..1.05),
    };

    let id = object_id(created, seed, index);
    let owner = format!("synthetic-{seed}-{index}");
    let mut content = Portfolio::new(track, category);
    fill(&mut content, as_of, completeness, &mut rng);
    let evidence = evidence_for(association, &mut content, id, &owner, submitted.unwrap_or(created), &mut rng);

    let created_at = instant(created, &mut rng);
    let submitted_at = submitted.map(|day| instant(day, &mut rng));
    let decided_at = decided.map(|day| instant(day, &mut rng));
    let endorsed_at = endorsed.flatten().map(|day| instant(day, &mut rng));
    let updated_at = [Some(created_at), submitted_at, decided_at, endorsed_at].into_iter().flatten().max();
    let document = PortfolioDocument {
        id,
        association: association.clone(),
        owner_id: owner,
        status,
        schema_version: SCHEMA_VERSION,
        version: 1,
        applicant: Some(Applicant {
            name: format!("Synthetic Applicant {index}"),
            email: None,
            region: Some(region.to_owned()),
        }),
        created_at: Some(created_at),
        updated_at,
        submitted_at,
        decided_at,
        endorsed_at,
        review_note: None,
        extra: None,
        content,
    };
    (document, evidence)
}

/// An ObjectId whose time part is the creation day (so ids sort like real
/// ones) and whose rest is a function of `(seed, index)`: re-seeding writes
/// the same ids.
/// The seed of `association`'s data: the default association's is the
/// seed itself, so its data does not change with tenancy; another's is
/// mixed with its code, so that two associations seeded alike get
/// different ids (ids are unique across the deployment).
fn tenant_seed(association: &AssociationCode, seed: u64) -> u64 {
    if association.as_str() == "nys-aimh" {
        return seed;
    }
    let fnv = association
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    seed ^ (fnv & 0x00ff_ffff)
}

fn object_id(created: NaiveDate, seed: u64, index: u64) -> ObjectId {
    let seconds = created.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp() as u32;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4] = 0xE5; // marks synthetic data
    bytes[5..8].copy_from_slice(&(seed as u32).to_be_bytes()[1..]);
    bytes[8..].copy_from_slice(&(index as u32).to_be_bytes());
    ObjectId::from_bytes(bytes)
}

fn fill(p: &mut Portfolio, as_of: NaiveDate, completeness: f64, rng: &mut ChaCha8Rng) {
    let scaled = |n: u32, rng: &mut ChaCha8Rng| {
        let base = (f64::from(n) * completeness).round() as u32;
        base.saturating_sub(1) + rng.random_range(0..=2)
    };
    let back = |years: u64, rng: &mut ChaCha8Rng| as_of - Days::new(rng.random_range(30..years * 365));

    let level = match p.target_category {
        Category::FamilyAssociate => DegreeLevel::Associate,
        Category::FamilySpecialist => DegreeLevel::Bachelor,
        _ => DegreeLevel::Master,
    };
    let degree_levels: &[DegreeLevel] = match level {
        DegreeLevel::Master => &[DegreeLevel::Bachelor, DegreeLevel::Master],
        DegreeLevel::Bachelor => &[DegreeLevel::Associate, DegreeLevel::Bachelor],
        _ => &[DegreeLevel::Associate],
    };
    for (i, level) in degree_levels.iter().take(scaled(2, rng).clamp(0, 2) as usize).enumerate() {
        p.education.push(EducationEntry {
            id: format!("edu-{i}"),
            level: *level,
            field: Some("Social Work".into()),
            institution: Some("SUNY".into()),
            related_field: rng.random_bool(0.85),
            conferred_on: as_of - Days::new(rng.random_range(2 * 365..12 * 365) / (i as u64 + 1)),
            evidence_ids: Vec::new(),
        });
    }
    for i in 0..scaled(8, rng) {
        let topics = [TrainingTopic::Iecmh, TrainingTopic::Dei, TrainingTopic::RscProvision, TrainingTopic::Other];
        p.training.push(TrainingEntry {
            id: format!("tr-{i}"),
            title: format!("Training module {i}"),
            provider: Some("NYS-AIMH".into()),
            hours: quarter_hours(rng, 1, 12),
            completed_on: back(5, rng),
            topics: vec![*topics.choose(rng).expect("topics")],
            evidence_ids: Vec::new(),
        });
    }
    for i in 0..scaled(3, rng).min(4) {
        let started = back(8, rng);
        let kinds =
            [WorkKind::DirectService, WorkKind::DirectService, WorkKind::RscProvision, WorkKind::PolicyLeadership];
        p.work.push(WorkEntry {
            id: format!("work-{i}"),
            role: "Home visitor".into(),
            employer: Some("Family services agency".into()),
            kind: *kinds.choose(rng).expect("kinds"),
            paid: rng.random_bool(0.9),
            supervised: rng.random_bool(0.7),
            specialized_training: rng.random_bool(0.5),
            age_band: *[AgeBand::Infant, AgeBand::Both, AgeBand::EarlyChildhood].choose(rng).expect("bands"),
            started_on: started,
            ended_on: rng.random_bool(0.6).then(|| days_after(started, 180, 1500, rng).min(as_of)),
            fte: *[1.0, 1.0, 0.5, 0.8].choose(rng).expect("fte"),
            evidence_ids: Vec::new(),
        });
    }
    if matches!(p.target_category, Category::FamilyAssociate) {
        // No reflective supervision requirement.
    } else {
        let first = as_of - Days::new(rng.random_range(300..700));
        for i in 0..scaled(16, rng) {
            p.reflective_supervision.push(RscEntry {
                id: format!("rsc-{i}"),
                date: days_after(first, 0, 600, rng).min(as_of),
                hours: quarter_hours(rng, 1, 3),
                format: if rng.random_bool(0.7) { RscFormat::Individual } else { RscFormat::Group },
                age_band: AgeBand::Infant,
                provider_name: "Reflective Supervisor".into(),
                provider_credential: *[
                    Credential::MentorClinical,
                    Credential::MentalHealthSpecialist,
                    Credential::Peer,
                ]
                .choose(rng)
                .expect("credentials"),
                about_providing_rsc: rng.random_bool(0.2),
                evidence_ids: Vec::new(),
            });
        }
    }
    let roles = [ReferenceRole::ProgramSupervisor, ReferenceRole::RscProvider, ReferenceRole::Colleague];
    for (i, role) in roles.iter().take(scaled(3, rng) as usize).enumerate() {
        p.references.push(ReferenceEntry {
            id: format!("ref-{i}"),
            rater_name: format!("Rater {i}"),
            rater_email: None,
            role: *role,
            rater_credential: *[Credential::MentalHealthSpecialist, Credential::None].choose(rng).expect("creds"),
            completed_on: Some(as_of - Days::new(rng.random_range(5..400))),
            not_enough_info_count: 0,
            waived: false,
            source: ReferenceSource::Imported,
            recommends: None,
            credential_basis: Some(CredentialBasis::Vetted),
        });
    }
    if rng.random_bool(completeness.clamp(0.0, 1.0)) {
        p.agreement =
            Some(Agreement { signed_on: as_of - Days::new(rng.random_range(1..300)), evidence_ids: Vec::new() });
    }
    if rng.random_bool(completeness.clamp(0.0, 1.0)) {
        p.membership =
            Some(Membership { association: "NYS-AIMH".into(), valid_until: as_of + Days::new(200), checked_by: None });
    }
}

/// Evidence records for some entries: mostly reviewed long ago, the recent
/// ones waiting (UPLOADED), a few rejected. Entries link what they cite.
fn evidence_for(
    association: &AssociationCode,
    p: &mut Portfolio,
    portfolio_id: ObjectId,
    owner: &str,
    around: NaiveDate,
    rng: &mut ChaCha8Rng,
) -> Vec<EvidenceRecord> {
    let mut records = Vec::new();
    let mut record = |kind: EvidenceKind, rng: &mut ChaCha8Rng| {
        let id = ObjectId::from_bytes({
            let mut bytes = portfolio_id.bytes();
            bytes[4] = 0xE6;
            bytes[7] = records.len() as u8;
            bytes
        });
        let status = if rng.random_bool(0.3) {
            EvidenceStatus::Uploaded
        } else if rng.random_bool(0.95) {
            EvidenceStatus::Verified
        } else {
            EvidenceStatus::Rejected
        };
        let at = instant(around, rng);
        records.push(EvidenceRecord {
            id,
            association: association.clone(),
            portfolio_id,
            owner_id: owner.to_owned(),
            kind,
            status,
            file_name: "certificate.pdf".into(),
            content_type: "application/pdf".into(),
            byte_size: Some(rng.random_range(20_000..900_000)),
            sha256: None,
            object_key: keys::original(association, portfolio_id, id),
            preview_key: None,
            thumbnail_key: None,
            created_at: at,
            created_by: owner.to_owned(),
            expires_at: None,
            verifying_since: None,
            uploaded_at: Some(at),
            reject_reason: None,
            reviewed_by: (status != EvidenceStatus::Uploaded).then(|| "synthetic-reviewer".to_owned()),
            reviewed_at: (status != EvidenceStatus::Uploaded).then_some(at),
            review_note: None,
        });
        id.to_hex()
    };
    for entry in p.education.iter_mut() {
        if rng.random_bool(0.6) {
            entry.evidence_ids.push(record(EvidenceKind::Transcript, rng));
        }
    }
    for entry in p.training.iter_mut().take(3) {
        if rng.random_bool(0.5) {
            entry.evidence_ids.push(record(EvidenceKind::TrainingCertificate, rng));
        }
    }
    if let Some(agreement) = &mut p.agreement
        && rng.random_bool(0.7)
    {
        agreement.evidence_ids.push(record(EvidenceKind::EthicsAgreement, rng));
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate;

    #[test]
    fn the_same_seed_and_index_give_the_same_portfolio() {
        let nys = AssociationCode::nys_aimh();
        assert_eq!(portfolio(&nys, 7, 42), portfolio(&nys, 7, 42));
        assert_ne!(portfolio(&nys, 7, 42).0, portfolio(&nys, 7, 43).0);
        assert_ne!(portfolio(&nys, 8, 42).0.id, portfolio(&nys, 7, 42).0.id);
    }

    #[test]
    fn associations_seeded_alike_get_their_own_ids() {
        let ct = AssociationCode::parse("ct-aimh").unwrap();
        let (nys_doc, nys_evidence) = portfolio(&AssociationCode::nys_aimh(), 7, 42);
        let (ct_doc, ct_evidence) = portfolio(&ct, 7, 42);
        assert_ne!(nys_doc.id, ct_doc.id);
        assert_eq!(ct_doc.association, ct);
        assert!(ct_evidence.iter().all(|e| e.association == ct && e.object_key.starts_with("evidence/ct-aimh/")));
        assert!(nys_evidence.iter().all(|e| !ct_evidence.iter().any(|c| c.id == e.id)));
    }

    #[test]
    fn documents_are_consistent() {
        for index in 0..2000 {
            let (document, evidence) = portfolio(&AssociationCode::nys_aimh(), 1, index);
            let draft = document.status == PortfolioStatus::Draft;
            assert_eq!(document.submitted_at.is_none(), draft, "{index}");
            if let (Some(submitted), Some(decided)) = (document.submitted_at, document.decided_at) {
                assert!(decided >= submitted || decided.to_chrono().date_naive() == last_day(), "{index}");
            }
            assert_eq!(document.endorsed_at.is_some(), document.status == PortfolioStatus::Endorsed, "{index}");
            let c = &document.content;
            let today = last_day();
            assert!(c.education.iter().all(|e| validate::education(e, today).is_ok()), "{index}");
            assert!(c.training.iter().all(|e| validate::training(e, today).is_ok()), "{index}");
            assert!(c.work.iter().all(|e| validate::work(e, today).is_ok()), "{index}");
            assert!(c.reflective_supervision.iter().all(|e| validate::rsc(e, today).is_ok()), "{index}");
            assert!(c.references.iter().all(|e| validate::reference(e, today).is_ok()), "{index}");
            for record in &evidence {
                assert_eq!(record.portfolio_id, document.id);
            }
            let ids: std::collections::HashSet<_> = evidence.iter().map(|r| r.id).collect();
            assert_eq!(ids.len(), evidence.len(), "{index}: evidence ids are unique");
        }
    }
}
