//! The records use cases hand to the adapters, and the filters they take:
//! the application's vocabulary. Stored as-is by `store`, re-exported here
//! so that `graphql` and `http` depend on the application alone (a test
//! keeps them from importing `store`).

pub use crate::store::applications::ApplicationDocument;
pub use crate::store::assignments::{AssignmentDocument, CommentDocument};
pub use crate::store::associations::{AssociationDocument, ReferenceFormRevision};
pub use crate::store::audit::AuditRecord;
pub use crate::store::endorsements::{EndorsementDocument, StatusChange};
pub use crate::store::evidence::EvidenceRecord;
pub use crate::store::ledger::LedgerEntry;
pub use crate::store::memberships::MembershipRecord;
pub use crate::store::portfolio::{Applicant, ListFilter, PortfolioDocument, Projection, SECTION_FIELDS};
pub use crate::store::renewals::{Attestation, AuditDraw, AuditOutcome, RenewalDocument, RenewalKind};
pub use crate::store::rounds::{Review, ReviewRoundDocument, RoundOutcome, RoundReviewer, SectionVerdict};
pub use crate::store::stats::{Distribution, Facet, PortfolioAggregates, StatsFilter};

/// Idempotency keys belong to the HTTP transport (the `Idempotency-Key`
/// header) and are scoped to the caller; they hold no tenant data.
pub mod idempotency {
    pub use crate::store::idempotency::{Claim, IdempotencyStore as IdempotencyKeys};
}
