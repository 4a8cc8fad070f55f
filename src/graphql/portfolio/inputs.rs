//! Mutation inputs as in the contract, and their conversion to domain
//! entries (ids are always generated here, never taken from the client).

use async_graphql::{ID, InputObject, Json, OneofObject};

use crate::app::portfolios::{ApplicantDetails, Changes, Upsert};
use crate::domain::changes::Entry;
use crate::domain::model::{
    AgeBand, Agreement, Category, Credential, DegreeLevel, EducationEntry, ExamResult, LeadershipEntry, LicenseEntry,
    Membership, PriorEndorsement, ReferenceEntry, ReferenceRole, ReferenceSource, RscEntry, RscFormat, Track,
    TrainingEntry, TrainingTopic, WorkEntry, WorkKind,
};
use crate::graphql::scalars::Date;

#[derive(InputObject)]
pub struct ApplicantInput {
    pub name: String,
    pub email: Option<String>,
    pub region: Option<String>,
}

#[derive(InputObject)]
pub struct CreatePortfolioInput {
    pub track: Track,
    pub target_category: Category,
    pub applicant: ApplicantInput,
    pub extra: Option<Json<serde_json::Value>>,
}

#[derive(InputObject)]
pub struct EducationInput {
    pub level: DegreeLevel,
    pub field: Option<String>,
    pub institution: Option<String>,
    pub related_field: bool,
    pub conferred_on: Date,
    pub evidence_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct TrainingInput {
    pub title: String,
    pub provider: Option<String>,
    pub hours: f64,
    pub completed_on: Date,
    pub topics: Option<Vec<TrainingTopic>>,
    pub evidence_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct WorkInput {
    pub role: String,
    pub employer: Option<String>,
    pub kind: WorkKind,
    pub paid: bool,
    pub supervised: Option<bool>,
    pub specialized_training: Option<bool>,
    pub age_band: AgeBand,
    pub started_on: Date,
    pub ended_on: Option<Date>,
    pub fte: Option<f64>,
    pub evidence_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct RscInput {
    pub date: Date,
    pub hours: f64,
    pub format: RscFormat,
    pub age_band: AgeBand,
    pub provider_name: String,
    pub provider_credential: Credential,
    pub about_providing_rsc: Option<bool>,
    pub evidence_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct LeadershipInput {
    pub description: String,
    pub started_on: Option<Date>,
    pub ended_on: Option<Date>,
}

#[derive(InputObject)]
pub struct ReferenceInput {
    pub rater_name: String,
    pub rater_email: Option<String>,
    pub role: ReferenceRole,
    pub rater_credential: Credential,
    pub completed_on: Option<Date>,
    pub not_enough_info_count: Option<i32>,
    pub waived: Option<bool>,
}

#[derive(InputObject)]
pub struct ExamInput {
    pub category: Category,
    pub taken_on: Date,
    pub passed: bool,
    pub evidence_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct AgreementInput {
    pub signed_on: Date,
    pub evidence_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct MembershipInput {
    pub association: String,
    pub valid_until: Date,
}

#[derive(InputObject)]
pub struct PriorEndorsementInput {
    pub category: Category,
    pub track: Track,
    pub endorsed_on: Date,
}

/// A professional mental-health licence (counts for a degree rule that
/// accepts one, while valid on the evaluation date).
#[derive(InputObject)]
pub struct LicenseInput {
    /// E.g. "LCSW", "LMHC".
    pub kind: String,
    pub valid_from: Date,
    /// Absent when the licence does not expire.
    pub valid_until: Option<Date>,
    pub evidence_ids: Option<Vec<ID>>,
}

/// Exactly one field set.
#[derive(OneofObject)]
pub enum EntryInput {
    Education(EducationInput),
    Training(TrainingInput),
    Work(WorkInput),
    ReflectiveSupervision(RscInput),
    Leadership(LeadershipInput),
    Reference(ReferenceInput),
    Exam(ExamInput),
    PriorEndorsement(PriorEndorsementInput),
    License(LicenseInput),
}

/// `id` absent: add; present: replace that entry.
#[derive(InputObject)]
pub struct EntryChange {
    pub id: Option<ID>,
    pub entry: EntryInput,
}

#[derive(InputObject)]
pub struct PortfolioChanges {
    pub applicant: Option<ApplicantInput>,
    pub target_category: Option<Category>,
    pub track: Option<Track>,
    pub extra: Option<Json<serde_json::Value>>,
    pub agreement: Option<AgreementInput>,
    pub membership: Option<MembershipInput>,
    pub upsert: Option<Vec<EntryChange>>,
    pub remove: Option<Vec<ID>>,
}

impl ApplicantInput {
    pub fn into_domain(self) -> ApplicantDetails {
        ApplicantDetails { name: self.name, email: self.email, region: self.region }
    }
}

impl PortfolioChanges {
    pub fn into_domain(self) -> Changes {
        Changes {
            applicant: self.applicant.map(ApplicantInput::into_domain),
            target_category: self.target_category,
            track: self.track,
            extra: self.extra.map(|Json(value)| value),
            agreement: self.agreement.map(AgreementInput::into_domain),
            membership: self.membership.map(MembershipInput::into_domain),
            upsert: self
                .upsert
                .unwrap_or_default()
                .into_iter()
                .map(|change| Upsert { id: change.id.map(|id| id.0), entry: change.entry.into_entry(String::new()) })
                .collect(),
            remove: self.remove.unwrap_or_default().into_iter().map(|id| id.0).collect(),
        }
    }
}

fn ids(list: Option<Vec<ID>>) -> Vec<String> {
    list.unwrap_or_default().into_iter().map(|id| id.0).collect()
}

impl EntryInput {
    /// The domain entry with `id` (empty: the use case assigns one).
    pub fn into_entry(self, id: String) -> Entry {
        match self {
            EntryInput::Education(e) => Entry::Education(EducationEntry {
                id,
                level: e.level,
                field: e.field,
                institution: e.institution,
                related_field: e.related_field,
                conferred_on: e.conferred_on.0,
                evidence_ids: ids(e.evidence_ids),
            }),
            EntryInput::Training(t) => Entry::Training(TrainingEntry {
                id,
                title: t.title,
                provider: t.provider,
                hours: t.hours,
                completed_on: t.completed_on.0,
                topics: t.topics.unwrap_or_default(),
                evidence_ids: ids(t.evidence_ids),
            }),
            EntryInput::Work(w) => Entry::Work(WorkEntry {
                id,
                role: w.role,
                employer: w.employer,
                kind: w.kind,
                paid: w.paid,
                supervised: w.supervised.unwrap_or(false),
                specialized_training: w.specialized_training.unwrap_or(false),
                age_band: w.age_band,
                started_on: w.started_on.0,
                ended_on: w.ended_on.map(|d| d.0),
                fte: w.fte.unwrap_or(1.0),
                evidence_ids: ids(w.evidence_ids),
            }),
            EntryInput::ReflectiveSupervision(r) => Entry::ReflectiveSupervision(RscEntry {
                id,
                date: r.date.0,
                hours: r.hours,
                format: r.format,
                age_band: r.age_band,
                provider_name: r.provider_name,
                provider_credential: r.provider_credential,
                about_providing_rsc: r.about_providing_rsc.unwrap_or(false),
                evidence_ids: ids(r.evidence_ids),
            }),
            EntryInput::Leadership(l) => Entry::Leadership(LeadershipEntry {
                id,
                description: l.description,
                started_on: l.started_on.map(|d| d.0),
                ended_on: l.ended_on.map(|d| d.0),
            }),
            EntryInput::Reference(r) => Entry::Reference(ReferenceEntry {
                id,
                rater_name: r.rater_name,
                rater_email: r.rater_email,
                role: r.role,
                rater_credential: r.rater_credential,
                completed_on: r.completed_on.map(|d| d.0),
                not_enough_info_count: r.not_enough_info_count.unwrap_or(0),
                waived: r.waived.unwrap_or(false),
                source: ReferenceSource::Typed,
                recommends: None,
                credential_basis: None,
            }),
            EntryInput::Exam(e) => Entry::Exam(ExamResult {
                id,
                category: e.category,
                taken_on: e.taken_on.0,
                passed: e.passed,
                evidence_ids: ids(e.evidence_ids),
            }),
            EntryInput::PriorEndorsement(p) => Entry::PriorEndorsement(PriorEndorsement {
                id,
                category: p.category,
                track: p.track,
                endorsed_on: p.endorsed_on.0,
            }),
            EntryInput::License(l) => Entry::License(LicenseEntry {
                id,
                kind: l.kind,
                valid_from: l.valid_from.0,
                valid_until: l.valid_until.map(|d| d.0),
                evidence_ids: ids(l.evidence_ids),
            }),
        }
    }
}

impl AgreementInput {
    pub fn into_domain(self) -> Agreement {
        Agreement { signed_on: self.signed_on.0, evidence_ids: ids(self.evidence_ids) }
    }
}

impl MembershipInput {
    pub fn into_domain(self) -> Membership {
        Membership { association: self.association, valid_until: self.valid_until.0, checked_by: None }
    }
}
