//! What people call the vocabulary's terms, in each language offered:
//! "Infant Mental Health Specialist", never MENTAL_HEALTH_SPECIALIST.

use super::model::{
    Category, Credential, DegreeLevel, EvidenceKind, Language, MembershipType, PortfolioStatus, ReferenceRole,
    TrainingTopic, WorkKind,
};

/// A portfolio's status as the applicant is told it.
pub fn status(status: PortfolioStatus, language: Language) -> &'static str {
    use PortfolioStatus::*;
    match (language, status) {
        (Language::En, Draft) => "a draft",
        (Language::En, Submitted) => "submitted",
        (Language::En, InReview) => "in review",
        (Language::En, Returned) => "returned for revision",
        (Language::En, Approved) => "approved",
        (Language::En, ExamEligible) => "approved and eligible for the exam",
        (Language::En, Endorsed) => "endorsed",
        (Language::En, Withdrawn) => "withdrawn",
        (Language::En, OnHold) => "on hold",
        (Language::En, Emerging) => "emerging: most requirements are met, with two years to complete the rest",
        (Language::Es, Draft) => "en borrador",
        (Language::Es, Submitted) => "enviado",
        (Language::Es, InReview) => "en revisión",
        (Language::Es, Returned) => "devuelto para revisión",
        (Language::Es, Approved) => "aprobado",
        (Language::Es, ExamEligible) => "aprobado y habilitado para el examen",
        (Language::Es, Endorsed) => "endorsado",
        (Language::Es, Withdrawn) => "retirado",
        (Language::Es, OnHold) => "en espera",
        (Language::Es, Emerging) => {
            "emergente: cumple la mayoría de los requisitos y tiene dos años para completar el resto"
        }
    }
}

/// A kind of evidence as people name it.
pub fn evidence_kind(kind: EvidenceKind, language: Language) -> &'static str {
    use EvidenceKind::*;
    match (language, kind) {
        (Language::En, Transcript) => "transcript",
        (Language::En, CdaCertificate) => "CDA certificate",
        (Language::En, TrainingCertificate) => "training certificate",
        (Language::En, EthicsAgreement) => "signed ethics agreement",
        (Language::En, License) => "licence",
        (Language::En, Membership) => "membership",
        (Language::En, ExamResult) => "exam result",
        (Language::En, ReferenceRating) => "reference rating",
        (Language::En, Other) => "document",
        (Language::Es, Transcript) => "certificado de estudios",
        (Language::Es, CdaCertificate) => "certificado CDA",
        (Language::Es, TrainingCertificate) => "certificado de capacitación",
        (Language::Es, EthicsAgreement) => "acuerdo de ética firmado",
        (Language::Es, License) => "licencia",
        (Language::Es, Membership) => "membresía",
        (Language::Es, ExamResult) => "resultado del examen",
        (Language::Es, ReferenceRating) => "evaluación de referencia",
        (Language::Es, Other) => "documento",
    }
}

/// A term's name in the English sentences the engine and the rulebook
/// write (explanations, what is missing, requirement descriptions).
pub trait Human: Copy {
    fn human(self) -> &'static str;
}

impl Human for Category {
    fn human(self) -> &'static str {
        category(self, Language::En)
    }
}

impl Human for ReferenceRole {
    fn human(self) -> &'static str {
        role(self, Language::En)
    }
}

impl Human for Credential {
    fn human(self) -> &'static str {
        use Credential::*;
        match self {
            None => "not endorsed",
            Peer => "peer",
            Vetted => "vetted provider",
            FamilyAssociate => category(Category::FamilyAssociate, Language::En),
            FamilySpecialist => category(Category::FamilySpecialist, Language::En),
            MentalHealthSpecialist => category(Category::MentalHealthSpecialist, Language::En),
            MentorClinical => category(Category::MentorClinical, Language::En),
            MentorPolicy => category(Category::MentorPolicy, Language::En),
            MentorResearchFaculty => category(Category::MentorResearchFaculty, Language::En),
            ReflectiveSupervisor => category(Category::ReflectiveSupervisor, Language::En),
        }
    }
}

impl Human for WorkKind {
    fn human(self) -> &'static str {
        match self {
            WorkKind::DirectService => "direct service",
            WorkKind::RscProvision => "RS/C provision",
            WorkKind::PolicyLeadership => "policy leadership",
            WorkKind::ResearchFaculty => "research or faculty",
            WorkKind::Internship => "internship",
            WorkKind::Other => "other",
        }
    }
}

impl Human for TrainingTopic {
    fn human(self) -> &'static str {
        match self {
            TrainingTopic::Iecmh => "IECMH",
            TrainingTopic::Dei => "diversity, equity and inclusion",
            TrainingTopic::RscProvision => "RS/C provision",
            TrainingTopic::Other => "other",
        }
    }
}

impl Human for MembershipType {
    fn human(self) -> &'static str {
        match self {
            MembershipType::Individual => "individual",
            MembershipType::TwoYear => "two-year individual",
            MembershipType::Student => "student",
            MembershipType::Organisational => "organisational",
            MembershipType::OrganisationalTwoYear => "two-year organisational",
        }
    }
}

impl Human for DegreeLevel {
    fn human(self) -> &'static str {
        match self {
            DegreeLevel::Cda => "CDA",
            DegreeLevel::Associate => "associate",
            DegreeLevel::Bachelor => "bachelor's",
            DegreeLevel::Master => "master's",
            DegreeLevel::Doctorate => "doctoral",
        }
    }
}

/// The English names of `terms`, in order.
pub fn humans<T: Human>(terms: &[T]) -> Vec<&'static str> {
    terms.iter().map(|t| t.human()).collect()
}

/// The endorsement category as people name it.
pub fn category(category: Category, language: Language) -> &'static str {
    use Category::*;
    match (language, category) {
        (Language::En, FamilyAssociate) => "Family Associate",
        (Language::En, FamilySpecialist) => "Family Specialist",
        (Language::En, MentalHealthSpecialist) => "Mental Health Specialist",
        (Language::En, MentorClinical) => "Mentor (Clinical)",
        (Language::En, MentorPolicy) => "Mentor (Policy)",
        (Language::En, MentorResearchFaculty) => "Mentor (Research/Faculty)",
        (Language::En, ReflectiveSupervisor) => "Endorsed Reflective Supervisor",
        (Language::Es, FamilyAssociate) => "Asociado/a Familiar",
        (Language::Es, FamilySpecialist) => "Especialista Familiar",
        (Language::Es, MentalHealthSpecialist) => "Especialista en Salud Mental",
        (Language::Es, MentorClinical) => "Mentor/a (Clínico)",
        (Language::Es, MentorPolicy) => "Mentor/a (Políticas)",
        (Language::Es, MentorResearchFaculty) => "Mentor/a (Investigación/Docencia)",
        (Language::Es, ReflectiveSupervisor) => "Supervisor/a Reflexivo/a Endorsado/a",
    }
}

/// The rater's relation to the applicant as people name it.
pub fn role(role: ReferenceRole, language: Language) -> &'static str {
    use ReferenceRole::*;
    match (language, role) {
        (Language::En, ProgramSupervisor) => "program supervisor",
        (Language::En, RscProvider) => "reflective supervision/consultation provider",
        (Language::En, Supervisee) => "supervisee",
        (Language::En, Colleague) => "colleague",
        (Language::En, Student) => "student",
        (Language::En, ServiceRecipient) => "recipient of services",
        (Language::Es, ProgramSupervisor) => "supervisor/a del programa",
        (Language::Es, RscProvider) => "proveedor/a de supervisión/consulta reflexiva",
        (Language::Es, Supervisee) => "supervisado/a",
        (Language::Es, Colleague) => "colega",
        (Language::Es, Student) => "estudiante",
        (Language::Es, ServiceRecipient) => "persona que recibe servicios",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_has_a_name_in_every_language_and_none_is_an_enum_spelling() {
        for language in Language::ALL {
            for c in Category::ALL {
                let name = category(*c, *language);
                assert!(!name.is_empty() && name != c.as_str() && !name.contains('_'), "{c:?}");
            }
            for r in ReferenceRole::ALL {
                assert!(!role(*r, *language).contains('_'), "{r:?}");
            }
        }
        fn spelled_out<T: Human + std::fmt::Debug>(all: &[T]) {
            for t in all {
                assert!(!t.human().is_empty() && !t.human().contains('_'), "{t:?}");
            }
        }
        spelled_out(Credential::ALL);
        spelled_out(WorkKind::ALL);
        spelled_out(TrainingTopic::ALL);
        spelled_out(DegreeLevel::ALL);
        {}
    }
}
