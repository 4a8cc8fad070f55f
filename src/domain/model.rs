//! The portfolio model: enums and entries exactly as named in the GraphQL
//! contract, stored in MongoDB as-is (camelCase fields, dates "YYYY-MM-DD").

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A closed vocabulary shared by the API, the store and the rulebooks.
pub trait Term: Sized + Copy + 'static {
    /// What one value is called in messages ("credential", "category").
    const NOUN: &'static str;
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The wire name ("MENTOR_CLINICAL").
    fn as_str(self) -> &'static str;
    /// Parses the wire name.
    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == text)
    }
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $noun:literal { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, async_graphql::Enum,
        )]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// The wire name, as in the GraphQL contract.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }
        }

        impl Term for $name {
            const NOUN: &'static str = $noun;
            const ALL: &'static [Self] = $name::ALL;
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// IMH-E® (prenatal to 36 months) or ECMH-E® (3 up to 6 years).
    Track, "track" { Infant = "INFANT", EarlyChildhood = "EARLY_CHILDHOOD" }
);
vocabulary!(
    /// What kind of work an endorsement recognises (not a ladder).
    Category, "category" {
        FamilyAssociate = "FAMILY_ASSOCIATE",
        FamilySpecialist = "FAMILY_SPECIALIST",
        MentalHealthSpecialist = "MENTAL_HEALTH_SPECIALIST",
        MentorClinical = "MENTOR_CLINICAL",
        MentorPolicy = "MENTOR_POLICY",
        MentorResearchFaculty = "MENTOR_RESEARCH_FACULTY",
        ReflectiveSupervisor = "REFLECTIVE_SUPERVISOR",
    }
);
vocabulary!(
    PortfolioStatus, "portfolio status" {
        Draft = "DRAFT", Submitted = "SUBMITTED", InReview = "IN_REVIEW",
        Returned = "RETURNED", Approved = "APPROVED", ExamEligible = "EXAM_ELIGIBLE",
        Endorsed = "ENDORSED", Withdrawn = "WITHDRAWN",
        /// Reviewers wait for something named (the decision's note).
        OnHold = "ON_HOLD",
        /// ERS only: most requirements met, up to two years to complete the rest.
        Emerging = "EMERGING",
    }
);
vocabulary!(
    /// Ordered: CDA < ASSOCIATE < BACHELOR < MASTER < DOCTORATE.
    DegreeLevel, "degree level" {
        Cda = "CDA", Associate = "ASSOCIATE", Bachelor = "BACHELOR",
        Master = "MASTER", Doctorate = "DOCTORATE",
    }
);
vocabulary!(
    AgeBand, "age band" { Infant = "INFANT", EarlyChildhood = "EARLY_CHILDHOOD", Both = "BOTH" }
);
vocabulary!(
    WorkKind, "work kind" {
        DirectService = "DIRECT_SERVICE", RscProvision = "RSC_PROVISION",
        PolicyLeadership = "POLICY_LEADERSHIP", ResearchFaculty = "RESEARCH_FACULTY",
        Internship = "INTERNSHIP", Other = "OTHER",
    }
);
vocabulary!(
    TrainingTopic, "training topic" {
        Iecmh = "IECMH", Dei = "DEI", RscProvision = "RSC_PROVISION", Other = "OTHER",
    }
);
vocabulary!(RscFormat, "RS/C format" { Individual = "INDIVIDUAL", Group = "GROUP" });
vocabulary!(
    /// The credential a person (RS/C provider, reference rater) holds.
    Credential, "credential" {
        None = "NONE", Peer = "PEER", Vetted = "VETTED",
        FamilyAssociate = "FAMILY_ASSOCIATE", FamilySpecialist = "FAMILY_SPECIALIST",
        MentalHealthSpecialist = "MENTAL_HEALTH_SPECIALIST", MentorClinical = "MENTOR_CLINICAL",
        MentorPolicy = "MENTOR_POLICY", MentorResearchFaculty = "MENTOR_RESEARCH_FACULTY",
        ReflectiveSupervisor = "REFLECTIVE_SUPERVISOR",
    }
);
vocabulary!(
    ReferenceRole, "reference role" {
        ProgramSupervisor = "PROGRAM_SUPERVISOR", RscProvider = "RSC_PROVIDER",
        Supervisee = "SUPERVISEE", Colleague = "COLLEAGUE", Student = "STUDENT",
        ServiceRecipient = "SERVICE_RECIPIENT",
    }
);
vocabulary!(
    /// Where a reference rating came from. Only ratings the rater submitted
    /// (or a coordinator imported from an earlier system) count. Stored
    /// entries without one were typed.
    #[derive(Default)]
    ReferenceSource, "reference source" {
        /// Entered by the applicant before raters filled the form themselves.
        #[default]
        Typed = "TYPED",
        /// Submitted by the rater through their link.
        Submitted = "SUBMITTED",
        /// Moved from an earlier system by a coordinator (audited).
        Imported = "IMPORTED",
    }
);
vocabulary!(
    /// How the rater's own endorsement is known.
    CredentialBasis, "credential basis" {
        /// As the rater stated it, not matched in the association's records.
        Stated = "STATED",
        /// Matched against a person the association endorsed.
        Confirmed = "CONFIRMED",
        /// Checked by a coordinator (a phone call, recorded), or imported.
        Vetted = "VETTED",
    }
);
vocabulary!(
    /// Where a reference request stands, as the applicant sees it.
    ReferenceRequestStatus, "reference request status" {
        /// The link was mailed (or is waiting in the outbox).
        Sent = "SENT",
        /// The rater has started the form (saved a draft).
        Opened = "OPENED",
        Submitted = "SUBMITTED",
        /// The link's time ran out before a submission.
        Expired = "EXPIRED",
        /// The mail could not be delivered.
        Bounced = "BOUNCED",
        /// Withdrawn by the applicant or a coordinator.
        Revoked = "REVOKED",
    }
);
vocabulary!(
    /// What happened to a portfolio, as subscribers are told.
    PortfolioEventKind, "portfolio event" {
        /// A decision or submission moved its status.
        StatusChanged = "STATUS_CHANGED",
        /// A rater submitted a requested rating.
        ReferenceSubmitted = "REFERENCE_SUBMITTED",
        /// A reviewer verified or rejected evidence.
        EvidenceReviewed = "EVIDENCE_REVIEWED",
        /// Events may have been missed (the subscriber fell behind, or the
        /// server's feed restarted): read the portfolio again.
        Resync = "RESYNC",
    }
);
vocabulary!(
    /// A language the rater page and the mail are offered in.
    Language, "language" { En = "EN", Es = "ES" }
);
vocabulary!(
    /// How a person other than the applicant is connected to a portfolio.
    AssignmentKind, "assignment" { Adviser = "ADVISER", Reviewer = "REVIEWER" }
);
vocabulary!(
    /// The parts of a portfolio reviewers and advisers speak to.
    PortfolioSection, "portfolio section" {
        Education = "EDUCATION", Training = "TRAINING", Work = "WORK",
        ReflectiveSupervision = "REFLECTIVE_SUPERVISION", References = "REFERENCES",
        Agreement = "AGREEMENT", Membership = "MEMBERSHIP", Competencies = "COMPETENCIES",
        /// The portfolio as a whole.
        General = "GENERAL",
    }
);
vocabulary!(
    /// Where an endorsement stands.
    EndorsementStatus, "endorsement status" {
        Current = "CURRENT", Lapsed = "LAPSED", Inactive = "INACTIVE", Revoked = "REVOKED", Withdrawn = "WITHDRAWN",
    }
);
vocabulary!(
    /// What a fee is for.
    FeeKind, "fee" {
        /// Charged when an applicant registers for a category (never refunded).
        Registration = "REGISTRATION",
        /// Due when the applicant asks to submit the portfolio.
        Processing = "PROCESSING",
        /// Paid to the Alliance when registering for the exam (shown, not charged here).
        Exam = "EXAM",
        Membership = "MEMBERSHIP",
        Renewal = "RENEWAL",
        Reinstatement = "REINSTATEMENT",
    }
);
vocabulary!(
    /// The kinds of association membership a fee schedule prices.
    MembershipType, "membership type" {
        Individual = "INDIVIDUAL", TwoYear = "TWO_YEAR", Student = "STUDENT",
        Organisational = "ORGANISATIONAL", OrganisationalTwoYear = "ORGANISATIONAL_TWO_YEAR",
    }
);
vocabulary!(Currency, "currency" { Usd = "USD" });
vocabulary!(
    /// Who is paid a fee: the association (charged in its ledger) or the
    /// Alliance (the exam: shown to the applicant, paid elsewhere).
    Payee, "payee" { Association = "ASSOCIATION", Alliance = "ALLIANCE" }
);
vocabulary!(
    /// One line of an applicant's ledger.
    LedgerEntryKind, "ledger entry" {
        Charge = "CHARGE", Payment = "PAYMENT", Waiver = "WAIVER", Refund = "REFUND",
    }
);
vocabulary!(
    /// When the processing fee must be settled (an association setting).
    ProcessingFeeDue, "processing fee timing" {
        /// Submission waits until it is paid or waived (the default).
        AtSubmission = "AT_SUBMISSION",
        /// The portfolio may be submitted; approval waits for the fee.
        BeforeApproval = "BEFORE_APPROVAL",
    }
);
vocabulary!(
    /// The messages an association sends; each has its templates per language.
    MailKind, "mail kind" {
        /// To a rater: the link to the rating form.
        ReferenceRequest = "REFERENCE_REQUEST",
        /// To a rater who has not submitted yet: the link again.
        ReferenceReminder = "REFERENCE_REMINDER",
        /// To a rater: thanks, their rating arrived.
        ReferenceReceived = "REFERENCE_RECEIVED",
        /// To the applicant: a rater submitted (never what they said).
        ReferenceSubmitted = "REFERENCE_SUBMITTED",
        /// To the applicant: a reviewer did not accept a file.
        EvidenceRejected = "EVIDENCE_REJECTED",
        /// To the applicant: reviewers decided on the portfolio.
        Decision = "DECISION",
        /// To an endorsee: the renewal window opens soon, is open, or closes soon.
        RenewalReminder = "RENEWAL_REMINDER",
        /// To an endorsee: the endorsement lapsed.
        EndorsementLapsed = "ENDORSEMENT_LAPSED",
    }
);
vocabulary!(
    EvidenceKind, "evidence kind" {
        Transcript = "TRANSCRIPT", CdaCertificate = "CDA_CERTIFICATE",
        TrainingCertificate = "TRAINING_CERTIFICATE", EthicsAgreement = "ETHICS_AGREEMENT",
        License = "LICENSE", Membership = "MEMBERSHIP", ExamResult = "EXAM_RESULT",
        ReferenceRating = "REFERENCE_RATING", Other = "OTHER",
    }
);
vocabulary!(
    EvidenceStatus, "evidence status" {
        /// Waiting for the file (and, for direct uploads, for completion).
        PendingUpload = "PENDING_UPLOAD",
        /// One request is checking the stored bytes; others get CONFLICT.
        Verifying = "VERIFYING",
        Uploaded = "UPLOADED",
        Verified = "VERIFIED",
        Rejected = "REJECTED",
    }
);
vocabulary!(
    /// CLAIMED counts what the applicant entered; VERIFIED only what evidence backs.
    Basis, "basis" { Claimed = "CLAIMED", Verified = "VERIFIED" }
);
vocabulary!(
    /// What a reviewer or coordinator decides about a submitted portfolio.
    Decision, "decision" {
        /// SUBMITTED -> IN_REVIEW: a reviewer has taken it.
        StartReview = "START_REVIEW",
        /// SUBMITTED or IN_REVIEW -> RETURNED: the applicant must revise it.
        Return = "RETURN",
        /// SUBMITTED or IN_REVIEW -> EXAM_ELIGIBLE where the category requires an
        /// exam, APPROVED otherwise.
        Approve = "APPROVE",
        /// APPROVED or EXAM_ELIGIBLE -> ENDORSED: the endorsement is granted.
        Endorse = "ENDORSE",
        /// Any status but ENDORSED and WITHDRAWN -> WITHDRAWN (e.g. at the
        /// applicant's request).
        Withdraw = "WITHDRAW",
        /// SUBMITTED or IN_REVIEW -> ON_HOLD: waiting for what the note names.
        Hold = "HOLD",
        /// ERS only; SUBMITTED, IN_REVIEW or ON_HOLD -> EMERGING: two years
        /// from the decision day to complete the rest.
        Emerging = "EMERGING",
    }
);

impl Category {
    /// The published code of this category on a track ("IMHS", "ECFS", "ERS").
    pub fn code(self, track: Track) -> &'static str {
        let infant = track == Track::Infant;
        match self {
            Category::FamilyAssociate if infant => "IFA",
            Category::FamilyAssociate => "ECFA",
            Category::FamilySpecialist if infant => "IFS",
            Category::FamilySpecialist => "ECFS",
            Category::MentalHealthSpecialist if infant => "IMHS",
            Category::MentalHealthSpecialist => "ECMHS",
            Category::MentorClinical if infant => "IMHM-C",
            Category::MentorClinical => "ECMHM-C",
            Category::MentorPolicy if infant => "IMHM-P",
            Category::MentorPolicy => "ECMHM-P",
            Category::MentorResearchFaculty if infant => "IMHM-RF",
            Category::MentorResearchFaculty => "ECMHM-RF",
            Category::ReflectiveSupervisor => "ERS",
        }
    }
}

impl Credential {
    /// Endorsed at Level II or above: FAMILY_SPECIALIST, MENTAL_HEALTH_SPECIALIST,
    /// any MENTOR_*.
    pub fn is_level_two_or_above(self) -> bool {
        // why: the ERS add-on can only be earned on top of a FAMILY_SPECIALIST or
        // MENTAL_HEALTH_SPECIALIST endorsement, so an ERS rater is Level II+ too.
        matches!(
            self,
            Credential::FamilySpecialist
                | Credential::MentalHealthSpecialist
                | Credential::MentorClinical
                | Credential::MentorPolicy
                | Credential::MentorResearchFaculty
                | Credential::ReflectiveSupervisor
        )
    }
}

impl AgeBand {
    /// Whether work or RS/C in this age band counts on `track` (BOTH matches either).
    pub fn matches(self, track: Track) -> bool {
        matches!(
            (self, track),
            (AgeBand::Both, _) | (AgeBand::Infant, Track::Infant) | (AgeBand::EarlyChildhood, Track::EarlyChildhood)
        )
    }
}

fn full_time() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EducationEntry {
    pub id: String,
    pub level: DegreeLevel,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub institution: Option<String>,
    #[serde(default)]
    pub related_field: bool,
    pub conferred_on: NaiveDate,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingEntry {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub provider: Option<String>,
    pub hours: f64,
    pub completed_on: NaiveDate,
    #[serde(default)]
    pub topics: Vec<TrainingTopic>,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkEntry {
    pub id: String,
    pub role: String,
    #[serde(default)]
    pub employer: Option<String>,
    pub kind: WorkKind,
    pub paid: bool,
    #[serde(default)]
    pub supervised: bool,
    #[serde(default)]
    pub specialized_training: bool,
    pub age_band: AgeBand,
    pub started_on: NaiveDate,
    /// None while ongoing.
    #[serde(default)]
    pub ended_on: Option<NaiveDate>,
    /// Share of full time, 0 < fte <= 1.
    #[serde(default = "full_time")]
    pub fte: f64,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RscEntry {
    pub id: String,
    pub date: NaiveDate,
    pub hours: f64,
    pub format: RscFormat,
    pub age_band: AgeBand,
    pub provider_name: String,
    pub provider_credential: Credential,
    #[serde(default)]
    pub about_providing_rsc: bool,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadershipEntry {
    pub id: String,
    pub description: String,
    #[serde(default)]
    pub started_on: Option<NaiveDate>,
    #[serde(default)]
    pub ended_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceEntry {
    pub id: String,
    pub rater_name: String,
    #[serde(default)]
    pub rater_email: Option<String>,
    pub role: ReferenceRole,
    pub rater_credential: Credential,
    /// None until the rater has completed the rating.
    #[serde(default)]
    pub completed_on: Option<NaiveDate>,
    /// GraphQL `Int` (validated to 0..=50).
    #[serde(default)]
    pub not_enough_info_count: i32,
    #[serde(default)]
    pub waived: bool,
    /// Stored documents from before raters submitted their own ratings
    /// have none: those were typed by the applicant.
    #[serde(default)]
    pub source: ReferenceSource,
    /// The rater's overall recommendation (none for typed entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommends: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_basis: Option<CredentialBasis>,
}

impl Language {
    /// The BCP 47 tag (`lang` attributes, `Content-Language`).
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
        }
    }
}

impl Credential {
    /// The credential of someone endorsed in `category`.
    pub fn of_category(category: Category) -> Credential {
        // The two vocabularies share their endorsed spellings.
        Credential::parse(category.as_str()).unwrap_or(Credential::None)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExamResult {
    pub id: String,
    pub category: Category,
    pub taken_on: NaiveDate,
    pub passed: bool,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
}

/// The signed Code of Ethics & Endorsement Agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    pub signed_on: NaiveDate,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub association: String,
    pub valid_until: NaiveDate,
    /// The staff member who checked this claim of another infant mental
    /// health association's membership (where the association accepts
    /// those); an unchecked claim never counts. A change by the applicant
    /// clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_by: Option<String>,
}

/// A membership on the association's own records (imported or entered by
/// staff), as the engine needs it: valid from the first day through the
/// last, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipRecordRef {
    pub kind: MembershipType,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorEndorsement {
    /// Not in the GraphQL type, but stored so `EntryChange.id` can replace it.
    #[serde(default)]
    pub id: String,
    pub category: Category,
    pub track: Track,
    pub endorsed_on: NaiveDate,
}

/// A professional mental-health licence (the "or a licence" degree option).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseEntry {
    pub id: String,
    pub kind: String,
    pub valid_from: NaiveDate,
    /// None when the licence does not expire.
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
}

/// What the engine needs to know about an evidence item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceRef {
    pub id: String,
    pub kind: EvidenceKind,
    pub status: EvidenceStatus,
}

/// The engine's view of a portfolio. Unknown fields of a stored document are
/// ignored, and every section may be missing, so projections deserialize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Portfolio {
    pub track: Track,
    pub target_category: Category,
    #[serde(default)]
    pub education: Vec<EducationEntry>,
    #[serde(default)]
    pub training: Vec<TrainingEntry>,
    #[serde(default)]
    pub work: Vec<WorkEntry>,
    #[serde(default)]
    pub reflective_supervision: Vec<RscEntry>,
    #[serde(default)]
    pub leadership: Vec<LeadershipEntry>,
    #[serde(default)]
    pub references: Vec<ReferenceEntry>,
    #[serde(default)]
    pub exams: Vec<ExamResult>,
    #[serde(default)]
    pub agreement: Option<Agreement>,
    #[serde(default)]
    pub membership: Option<Membership>,
    #[serde(default)]
    pub prior_endorsements: Vec<PriorEndorsement>,
    #[serde(default)]
    pub licenses: Vec<LicenseEntry>,
    /// Filled by the caller from the evidence collection (basis VERIFIED).
    #[serde(default)]
    pub evidence: Vec<EvidenceRef>,
    /// Filled by the caller from the association's membership records
    /// (matched by the applicant's email); never stored with the portfolio.
    #[serde(skip)]
    pub membership_records: Vec<MembershipRecordRef>,
}

impl Portfolio {
    /// An empty portfolio.
    pub fn new(track: Track, target_category: Category) -> Self {
        Portfolio {
            track,
            target_category,
            education: Vec::new(),
            training: Vec::new(),
            work: Vec::new(),
            reflective_supervision: Vec::new(),
            leadership: Vec::new(),
            references: Vec::new(),
            exams: Vec::new(),
            agreement: None,
            membership: None,
            prior_endorsements: Vec::new(),
            licenses: Vec::new(),
            evidence: Vec::new(),
            membership_records: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire<T: Term + Serialize>() {
        for v in T::ALL {
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(T::parse(v.as_str()).map(|p| p.as_str()), Some(v.as_str()));
        }
    }

    #[test]
    fn wire_names_match_serde() {
        wire::<Track>();
        wire::<Category>();
        wire::<PortfolioStatus>();
        wire::<DegreeLevel>();
        wire::<AgeBand>();
        wire::<WorkKind>();
        wire::<TrainingTopic>();
        wire::<RscFormat>();
        wire::<Credential>();
        wire::<ReferenceRole>();
        wire::<ReferenceSource>();
        wire::<CredentialBasis>();
        wire::<ReferenceRequestStatus>();
        wire::<Language>();
        wire::<PortfolioEventKind>();
        wire::<EvidenceKind>();
        wire::<EvidenceStatus>();
        wire::<Basis>();
        wire::<Decision>();
    }

    #[test]
    fn graphql_names_match_wire_names() {
        use async_graphql::resolver_utils::EnumType;
        for item in Credential::items() {
            assert_eq!(item.name, item.value.as_str());
        }
        for item in Category::items() {
            assert_eq!(item.name, item.value.as_str());
        }
    }

    #[test]
    fn degree_levels_are_ordered() {
        assert!(DegreeLevel::Cda < DegreeLevel::Associate);
        assert!(DegreeLevel::Associate < DegreeLevel::Bachelor);
        assert!(DegreeLevel::Bachelor < DegreeLevel::Master);
        assert!(DegreeLevel::Master < DegreeLevel::Doctorate);
    }

    #[test]
    fn codes_per_track() {
        assert_eq!(Category::MentorClinical.code(Track::Infant), "IMHM-C");
        assert_eq!(Category::MentalHealthSpecialist.code(Track::EarlyChildhood), "ECMHS");
        assert_eq!(Category::ReflectiveSupervisor.code(Track::Infant), "ERS");
        assert_eq!(Category::ALL.len(), 7);
    }

    #[test]
    fn level_two_raters() {
        assert!(!Credential::FamilyAssociate.is_level_two_or_above());
        assert!(!Credential::Peer.is_level_two_or_above());
        assert!(Credential::FamilySpecialist.is_level_two_or_above());
        assert!(Credential::MentorPolicy.is_level_two_or_above());
    }

    #[test]
    fn stored_document_with_defaults_deserializes() {
        let doc = r#"{"_id":"p1","track":"INFANT","targetCategory":"FAMILY_SPECIALIST",
            "work":[{"id":"w1","role":"Home visitor","kind":"DIRECT_SERVICE","paid":true,
                     "ageBand":"BOTH","startedOn":"2020-01-01"}]}"#;
        let p: Portfolio = serde_json::from_str(doc).unwrap();
        assert_eq!(p.work[0].fte, 1.0);
        assert!(p.work[0].ended_on.is_none());
        assert!(p.training.is_empty());
    }
}
