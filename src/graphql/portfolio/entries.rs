//! Output types of the portfolio sections (the domain entries, with the
//! contract's `Date` scalar and `ID`s).

use async_graphql::{ID, Object};

use crate::domain::model::{
    AgeBand, Agreement, Category, Credential, CredentialBasis, DegreeLevel, EducationEntry, ExamResult,
    LeadershipEntry, LicenseEntry, Membership, PriorEndorsement, ReferenceEntry, ReferenceRole, ReferenceSource,
    RscEntry, RscFormat, Track, TrainingEntry, TrainingTopic, WorkEntry, WorkKind,
};
use crate::graphql::scalars::Date;

fn ids(list: &[String]) -> Vec<ID> {
    list.iter().map(|id| ID(id.clone())).collect()
}

pub struct EducationObject<'a>(pub &'a EducationEntry);

#[Object(name = "EducationEntry")]
impl EducationObject<'_> {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn level(&self) -> DegreeLevel {
        self.0.level
    }
    async fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }
    async fn institution(&self) -> Option<&str> {
        self.0.institution.as_deref()
    }
    async fn related_field(&self) -> bool {
        self.0.related_field
    }
    async fn conferred_on(&self) -> Date {
        Date(self.0.conferred_on)
    }
    async fn evidence_ids(&self) -> Vec<ID> {
        ids(&self.0.evidence_ids)
    }
}

pub struct TrainingObject<'a>(pub &'a TrainingEntry);

#[Object(name = "TrainingEntry")]
impl TrainingObject<'_> {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn provider(&self) -> Option<&str> {
        self.0.provider.as_deref()
    }
    async fn hours(&self) -> f64 {
        self.0.hours
    }
    async fn completed_on(&self) -> Date {
        Date(self.0.completed_on)
    }
    async fn topics(&self) -> &[TrainingTopic] {
        &self.0.topics
    }
    async fn evidence_ids(&self) -> Vec<ID> {
        ids(&self.0.evidence_ids)
    }
}

pub struct WorkObject<'a>(pub &'a WorkEntry);

#[Object(name = "WorkEntry")]
impl WorkObject<'_> {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn role(&self) -> &str {
        &self.0.role
    }
    async fn employer(&self) -> Option<&str> {
        self.0.employer.as_deref()
    }
    async fn kind(&self) -> WorkKind {
        self.0.kind
    }
    async fn paid(&self) -> bool {
        self.0.paid
    }
    async fn supervised(&self) -> bool {
        self.0.supervised
    }
    async fn specialized_training(&self) -> bool {
        self.0.specialized_training
    }
    async fn age_band(&self) -> AgeBand {
        self.0.age_band
    }
    async fn started_on(&self) -> Date {
        Date(self.0.started_on)
    }
    async fn ended_on(&self) -> Option<Date> {
        self.0.ended_on.map(Date)
    }
    async fn fte(&self) -> f64 {
        self.0.fte
    }
    async fn evidence_ids(&self) -> Vec<ID> {
        ids(&self.0.evidence_ids)
    }
}

pub struct RscObject<'a>(pub &'a RscEntry);

#[Object(name = "RscEntry")]
impl RscObject<'_> {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn date(&self) -> Date {
        Date(self.0.date)
    }
    async fn hours(&self) -> f64 {
        self.0.hours
    }
    async fn format(&self) -> RscFormat {
        self.0.format
    }
    async fn age_band(&self) -> AgeBand {
        self.0.age_band
    }
    async fn provider_name(&self) -> &str {
        &self.0.provider_name
    }
    async fn provider_credential(&self) -> Credential {
        self.0.provider_credential
    }
    async fn about_providing_rsc(&self) -> bool {
        self.0.about_providing_rsc
    }
    async fn evidence_ids(&self) -> Vec<ID> {
        ids(&self.0.evidence_ids)
    }
}

pub struct LeadershipObject<'a>(pub &'a LeadershipEntry);

#[Object(name = "LeadershipEntry")]
impl LeadershipObject<'_> {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn started_on(&self) -> Option<Date> {
        self.0.started_on.map(Date)
    }
    async fn ended_on(&self) -> Option<Date> {
        self.0.ended_on.map(Date)
    }
}

pub struct ReferenceObject<'a> {
    pub entry: &'a ReferenceEntry,
    /// Whether the caller may see what the rater said (not the applicant
    /// of a waived rating).
    pub reveal: bool,
}

#[Object(name = "ReferenceEntry")]
impl ReferenceObject<'_> {
    async fn id(&self) -> ID {
        ID(self.entry.id.clone())
    }
    async fn rater_name(&self) -> &str {
        &self.entry.rater_name
    }
    async fn rater_email(&self) -> Option<&str> {
        self.entry.rater_email.as_deref()
    }
    async fn role(&self) -> ReferenceRole {
        self.entry.role
    }
    async fn rater_credential(&self) -> Credential {
        self.entry.rater_credential
    }
    async fn completed_on(&self) -> Option<Date> {
        self.entry.completed_on.map(Date)
    }
    async fn not_enough_info_count(&self) -> i32 {
        self.entry.not_enough_info_count
    }
    async fn waived(&self) -> bool {
        self.entry.waived
    }
    /// SUBMITTED by the rater, IMPORTED by a coordinator, or TYPED by the
    /// applicant before raters filled the form (those do not count).
    async fn source(&self) -> ReferenceSource {
        self.entry.source
    }
    /// The rater's overall recommendation; null for the applicant of a
    /// waived rating.
    async fn recommends(&self) -> Option<bool> {
        self.entry.recommends.filter(|_| self.reveal)
    }
    async fn credential_basis(&self) -> Option<CredentialBasis> {
        self.entry.credential_basis
    }
}

pub struct ExamObject<'a>(pub &'a ExamResult);

#[Object(name = "ExamResult")]
impl ExamObject<'_> {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn category(&self) -> Category {
        self.0.category
    }
    async fn taken_on(&self) -> Date {
        Date(self.0.taken_on)
    }
    async fn passed(&self) -> bool {
        self.0.passed
    }
    async fn evidence_ids(&self) -> Vec<ID> {
        ids(&self.0.evidence_ids)
    }
}

pub struct AgreementObject<'a>(pub &'a Agreement);

#[Object(name = "Agreement")]
impl AgreementObject<'_> {
    async fn signed_on(&self) -> Date {
        Date(self.0.signed_on)
    }
    async fn evidence_ids(&self) -> Vec<ID> {
        ids(&self.0.evidence_ids)
    }
}

pub struct MembershipObject<'a>(pub &'a Membership);

#[Object(name = "Membership")]
impl MembershipObject<'_> {
    async fn association(&self) -> &str {
        &self.0.association
    }
    async fn valid_until(&self) -> Date {
        Date(self.0.valid_until)
    }
    /// The applicant's claim was checked by the association's staff (it
    /// counts only then; the association's own records always count).
    async fn checked(&self) -> bool {
        self.0.checked_by.is_some()
    }
}

pub struct PriorEndorsementObject<'a>(pub &'a PriorEndorsement);

#[Object(name = "PriorEndorsement")]
impl PriorEndorsementObject<'_> {
    /// Entry id (for `changePortfolio` upserts and removals).
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn category(&self) -> Category {
        self.0.category
    }
    async fn track(&self) -> Track {
        self.0.track
    }
    async fn endorsed_on(&self) -> Date {
        Date(self.0.endorsed_on)
    }
}

pub struct LicenseObject<'a>(pub &'a LicenseEntry);

#[Object(name = "License")]
impl LicenseObject<'_> {
    /// Entry id (for `changePortfolio` upserts and removals).
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// E.g. "LCSW", "LMHC".
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn valid_from(&self) -> Date {
        Date(self.0.valid_from)
    }
    /// Null when the licence does not expire.
    async fn valid_until(&self) -> Option<Date> {
        self.0.valid_until.map(Date)
    }
    async fn evidence_ids(&self) -> Vec<ID> {
        self.0.evidence_ids.iter().cloned().map(ID).collect()
    }
}
