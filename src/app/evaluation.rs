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
#[derive(Debug, Clone, Default, PartialEq)]
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

/// Every applicant's records in the association, for reports that
/// evaluate every portfolio: memberships by email, endorsements by subject.
pub struct AllRecords {
    memberships: HashMap<String, Vec<MembershipRecordRef>>,
    endorsements: HashMap<String, Vec<EndorsementDocument>>,
}

impl AllRecords {
    pub async fn load(services: &Services, tenant: &Tenant) -> AppResult<Self> {
        let memberships = services.memberships(tenant)?.all_by_email().await?;
        let mut endorsements: HashMap<String, Vec<EndorsementDocument>> = HashMap::new();
        for endorsement in services.endorsements(tenant)?.all().await? {
            endorsements.entry(endorsement.subject.clone()).or_default().push(endorsement);
        }
        Ok(AllRecords { memberships, endorsements })
    }

    pub fn of(&self, portfolio: &PortfolioDocument) -> ApplicantRecords {
        let email = portfolio.applicant.as_ref().and_then(|a| a.email.as_deref()).map(str::to_lowercase);
        let memberships = email.and_then(|email| self.memberships.get(&email)).cloned().unwrap_or_default();
        let endorsements = self
            .endorsements
            .get(&portfolio.owner_id)
            .map(|all| all.iter().filter(|e| e.portfolio_id != portfolio.id).filter_map(prior).collect())
            .unwrap_or_default();
        ApplicantRecords { memberships, endorsements }
    }
}
