//! The access policy, in one place: who may see and do what inside their
//! association. Answers are plain values ([`PortfolioAccess`]) that the
//! store turns into filters, or refusals. Ownership is decided by comparing
//! subjects, never by roles: a reviewer, coordinator or admin who also has
//! a portfolio is still its owner, and nobody judges (decides, reviews,
//! verifies) anything of their own. Nothing here crosses associations:
//! every answer holds within the caller's.

use super::error::{AppError, AppResult};
use crate::auth::{Role, Viewer};
use crate::domain::access::PortfolioAccess;

/// The roles that judge other people's work.
pub const JUDGES: &[Role] = &[Role::Reviewer, Role::Coordinator, Role::Admin];
/// Who verifies or rejects evidence (admins manage, they do not review).
pub const EVIDENCE_REVIEWERS: &[Role] = &[Role::Reviewer, Role::Coordinator];
/// Who may read aggregates.
pub const REPORTING_ROLES: &[Role] = &[Role::Reporter, Role::Coordinator, Role::Admin];
/// Who keeps the association's records: payments, waivers and refunds,
/// memberships, checked claims, incomplete submissions let through.
pub const STAFF: &[Role] = &[Role::Coordinator, Role::Admin];
/// Who may read the audit log.
pub const AUDIT_READERS: &[Role] = &[Role::Coordinator, Role::Admin];
/// Who may download evidence besides its owner.
const EVIDENCE_READERS: &[Role] = &[Role::Reviewer, Role::Coordinator, Role::Admin];

/// Whether `viewer` is the subject of a record owned by `owner_id`.
pub fn is_subject_of(viewer: &Viewer, owner_id: &str) -> bool {
    viewer.subject == owner_id
}

/// FORBIDDEN unless `viewer` holds one of `roles`.
pub fn require_role(viewer: &Viewer, roles: &[Role]) -> AppResult<()> {
    if viewer.has_any_role(roles) { Ok(()) } else { Err(AppError::Forbidden) }
}

/// Which portfolios `viewer` sees: applicants their own, reviewers every
/// portfolio submitted at least once (a draft withdrawn before submission
/// stays private), advisers those they are `assigned` to, coordinators and
/// admins everything, reporters none (they get aggregates only). Several
/// roles see the union.
pub fn portfolio_access(viewer: &Viewer, assigned: Vec<String>) -> PortfolioAccess {
    if viewer.has_any_role(&[Role::Coordinator, Role::Admin]) {
        return PortfolioAccess::Everything;
    }
    let owner = viewer.has_role(Role::Applicant).then(|| viewer.subject.clone());
    let submitted = viewer.has_role(Role::Reviewer);
    let assigned = if viewer.has_role(Role::Adviser) { assigned } else { Vec::new() };
    if owner.is_none() && !submitted && assigned.is_empty() {
        return PortfolioAccess::Nothing;
    }
    PortfolioAccess::Some { owner, submitted, assigned }
}

/// Whether `viewer` may decide, review or verify a record of `owner_id`,
/// holding one of `roles` (a subset of [`JUDGES`] for narrower actions).
/// Every use case that judges goes through here.
pub fn may_judge(viewer: &Viewer, owner_id: &str, roles: &[Role]) -> AppResult<()> {
    require_role(viewer, roles)?;
    if is_subject_of(viewer, owner_id) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Changing a portfolio (and its evidence) is its owner's alone.
pub fn may_edit(viewer: &Viewer, owner_id: &str) -> AppResult<()> {
    if is_subject_of(viewer, owner_id) { Ok(()) } else { Err(AppError::Forbidden) }
}

/// The owner, reviewers, coordinators and admins may download evidence of
/// a portfolio they can see.
pub fn may_download(viewer: &Viewer, owner_id: &str) -> bool {
    is_subject_of(viewer, owner_id) || viewer.has_any_role(EVIDENCE_READERS)
}

/// Whether reading this portfolio's personal data is recorded (S24): by
/// anyone but its owner.
pub fn read_is_audited(viewer: &Viewer, owner_id: &str) -> bool {
    !is_subject_of(viewer, owner_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::association::AssociationCode;

    fn viewer(subject: &str, roles: &[Role]) -> Viewer {
        Viewer {
            subject: subject.into(),
            roles: roles.to_vec(),
            association: Some(AssociationCode::parse("nys-aimh").unwrap()),
        }
    }

    const EVERY_ROLE: [Role; 6] =
        [Role::Applicant, Role::Reviewer, Role::Coordinator, Role::Reporter, Role::Admin, Role::Adviser];

    #[test]
    fn the_subject_owns_whatever_their_roles() {
        for role in EVERY_ROLE {
            assert!(is_subject_of(&viewer("ann", &[role]), "ann"), "{role:?}");
            assert!(!is_subject_of(&viewer("ann", &[role]), "bob"), "{role:?}");
        }
        assert!(is_subject_of(&viewer("ann", &[]), "ann"));
    }

    #[test]
    fn nobody_judges_their_own_record() {
        for role in JUDGES {
            assert!(may_judge(&viewer("ann", &[*role]), "ann", JUDGES).is_err(), "{role:?}");
            assert!(may_judge(&viewer("ann", &[*role]), "bob", JUDGES).is_ok(), "{role:?}");
        }
        assert!(may_judge(&viewer("ann", &EVERY_ROLE), "ann", JUDGES).is_err());
    }

    #[test]
    fn applicants_and_reporters_never_judge() {
        for role in [Role::Applicant, Role::Reporter, Role::Adviser, Role::PlatformAdmin] {
            assert!(may_judge(&viewer("ann", &[role]), "bob", JUDGES).is_err(), "{role:?}");
        }
        assert!(may_judge(&viewer("ann", &[Role::Admin]), "bob", EVIDENCE_REVIEWERS).is_err());
    }

    #[test]
    fn access_follows_roles() {
        let none = Vec::new;
        assert_eq!(portfolio_access(&viewer("ada", &[Role::Reporter]), none()), PortfolioAccess::Nothing);
        assert_eq!(portfolio_access(&viewer("ada", &[Role::PlatformAdmin]), none()), PortfolioAccess::Nothing);
        assert_eq!(portfolio_access(&viewer("ada", &[Role::Coordinator]), none()), PortfolioAccess::Everything);
        assert_eq!(
            portfolio_access(&viewer("ada", &[Role::Applicant]), none()),
            PortfolioAccess::Some { owner: Some("ada".into()), submitted: false, assigned: none() }
        );
        assert_eq!(
            portfolio_access(&viewer("ada", &[Role::Applicant, Role::Reviewer]), none()),
            PortfolioAccess::Some { owner: Some("ada".into()), submitted: true, assigned: none() }
        );
        assert_eq!(portfolio_access(&viewer("ada", &[Role::Adviser]), none()), PortfolioAccess::Nothing);
        assert_eq!(
            portfolio_access(&viewer("ada", &[Role::Adviser]), vec!["p".into()]),
            PortfolioAccess::Some { owner: None, submitted: false, assigned: vec!["p".into()] }
        );
        assert_eq!(
            portfolio_access(&viewer("ada", &[Role::Applicant]), vec!["p".into()]),
            PortfolioAccess::Some { owner: Some("ada".into()), submitted: false, assigned: none() },
            "only advisers see what they are assigned to"
        );
    }
}
