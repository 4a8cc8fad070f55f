//! What the engine reads besides the portfolio's own sections: the
//! association's records of its applicant. Membership counts from the
//! association's membership records (matched by email), and its
//! endorsement records are prior endorsements (matched by subject). Every
//! caller of the engine (eligibility, the submission gate, reports) adds
//! them through here.

use std::collections::HashMap;

use super::error::AppResult;
use super::{Tenant, memberships};
use crate::domain::model::{EndorsementStatus, MembershipRecordRef, Portfolio, PriorEndorsement};
use crate::services::Services;
use crate::store::endorsements::EndorsementDocument;
use crate::store::portfolio::PortfolioDocument;

/// The association's records of one applicant, as the engine reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ApplicantRecords {
    pub memberships: Vec<MembershipRecordRef>,
    /// Current endorsements granted here.
    pub endorsements: Vec<PriorEndorsement>,
}

impl ApplicantRecords {
    pub fn is_empty(&self) -> bool {
        self.memberships.is_empty() && self.endorsements.is_empty()
    }

    /// `content` with these records added.
    pub fn apply(&self, content: &mut Portfolio) {
        content.membership_records = self.memberships.clone();
        content.prior_endorsements.extend(self.endorsements.iter().cloned());
    }
}

fn prior(endorsement: &EndorsementDocument) -> Option<PriorEndorsement> {
    (endorsement.status == EndorsementStatus::Current).then(|| PriorEndorsement {
        id: format!("endorsement:{}", endorsement.number),
        category: endorsement.category,
        track: endorsement.track,
        endorsed_on: endorsement.endorsed_on,
    })
}

/// The records of `portfolio`'s applicant.
pub async fn records(
    services: &Services,
    tenant: &Tenant,
    portfolio: &PortfolioDocument,
) -> AppResult<ApplicantRecords> {
    let memberships = memberships::refs(&memberships::of_portfolio(services, tenant, portfolio).await?);
    let endorsements = services.endorsements(tenant)?.of_subject(&portfolio.owner_id).await?;
    // An endorsement is a prior one for other portfolios, not for the one
    // that earned it.
    let endorsements = endorsements.iter().filter(|e| e.portfolio_id != portfolio.id).filter_map(prior).collect();
    Ok(ApplicantRecords { memberships, endorsements })
}

/// Many applicants' records at once: every applicant's in the
/// association, for reports that evaluate every portfolio, or a page's,
/// so that a page that evaluates each portfolio reads them in two queries
/// rather than two per portfolio. Memberships by email, endorsements by
/// subject.
pub struct AllRecords {
    memberships: HashMap<String, Vec<MembershipRecordRef>>,
    endorsements: HashMap<String, Vec<EndorsementDocument>>,
}

fn email_of(portfolio: &PortfolioDocument) -> Option<String> {
    portfolio.applicant.as_ref().and_then(|a| a.email.as_deref()).map(str::to_lowercase)
}

impl AllRecords {
    pub async fn load(services: &Services, tenant: &Tenant) -> AppResult<Self> {
        let memberships = services.memberships(tenant)?.all_by_email().await?;
        let endorsements = services.endorsements(tenant)?.all().await?;
        Ok(AllRecords { memberships, endorsements: by_subject(endorsements) })
    }

    /// The records of the applicants of `portfolios` only.
    pub async fn of_page(services: &Services, tenant: &Tenant, portfolios: &[PortfolioDocument]) -> AppResult<Self> {
        let mut emails: Vec<String> = portfolios.iter().filter_map(email_of).collect();
        emails.sort();
        emails.dedup();
        let mut subjects: Vec<String> = portfolios.iter().map(|p| p.owner_id.clone()).collect();
        subjects.sort();
        subjects.dedup();
        let (memberships, endorsements) = futures::try_join!(
            async { Ok::<_, super::error::AppError>(services.memberships(tenant)?.by_emails(&emails).await?) },
            async { Ok::<_, super::error::AppError>(services.endorsements(tenant)?.of_subjects(&subjects).await?) },
        )?;
        Ok(AllRecords { memberships, endorsements: by_subject(endorsements) })
    }

    pub fn of(&self, portfolio: &PortfolioDocument) -> ApplicantRecords {
        let email = email_of(portfolio);
        let memberships = email.and_then(|email| self.memberships.get(&email)).cloned().unwrap_or_default();
        let endorsements = self
            .endorsements
            .get(&portfolio.owner_id)
            .map(|all| all.iter().filter(|e| e.portfolio_id != portfolio.id).filter_map(prior).collect())
            .unwrap_or_default();
        ApplicantRecords { memberships, endorsements }
    }
}

fn by_subject(endorsements: Vec<EndorsementDocument>) -> HashMap<String, Vec<EndorsementDocument>> {
    let mut by_subject: HashMap<String, Vec<EndorsementDocument>> = HashMap::new();
    for endorsement in endorsements {
        by_subject.entry(endorsement.subject.clone()).or_default().push(endorsement);
    }
    by_subject
}
