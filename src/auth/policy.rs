//! The ownership rule, in one place: whether a caller is the person a record
//! belongs to is decided by comparing subjects, never by roles. A reviewer,
//! coordinator or admin who also has a portfolio is still its owner, and
//! nobody judges (decides, reviews, verifies) anything of their own.

use super::{Role, Viewer};

/// The roles that judge other people's work.
pub const JUDGES: &[Role] = &[Role::Reviewer, Role::Coordinator, Role::Admin];

/// Whether `viewer` is the subject of a record owned by `owner_id`.
pub fn is_subject_of(viewer: &Viewer, owner_id: &str) -> bool {
    viewer.subject == owner_id
}

/// Why a judgement is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgeRefusal {
    /// The caller holds none of the roles that may judge.
    NotAJudge,
    /// The record is the caller's own.
    OwnRecord,
}

/// Whether `viewer` may decide, review or verify a record of `owner_id`,
/// holding one of `roles` (a subset of [`JUDGES`] for narrower actions).
/// Every mutation that judges goes through here.
pub fn may_judge(viewer: &Viewer, owner_id: &str, roles: &[Role]) -> Result<(), JudgeRefusal> {
    if !viewer.has_any_role(roles) {
        return Err(JudgeRefusal::NotAJudge);
    }
    if is_subject_of(viewer, owner_id) {
        return Err(JudgeRefusal::OwnRecord);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(subject: &str, roles: &[Role]) -> Viewer {
        Viewer { subject: subject.into(), roles: roles.to_vec() }
    }

    #[test]
    fn the_subject_owns_whatever_their_roles() {
        for role in [Role::Applicant, Role::Reviewer, Role::Coordinator, Role::Reporter, Role::Admin] {
            assert!(is_subject_of(&viewer("ann", &[role]), "ann"), "{role:?}");
            assert!(!is_subject_of(&viewer("ann", &[role]), "bob"), "{role:?}");
        }
        assert!(is_subject_of(&viewer("ann", &[]), "ann"));
    }

    #[test]
    fn nobody_judges_their_own_record() {
        for role in JUDGES {
            assert_eq!(may_judge(&viewer("ann", &[*role]), "ann", JUDGES), Err(JudgeRefusal::OwnRecord), "{role:?}");
            assert_eq!(may_judge(&viewer("ann", &[*role]), "bob", JUDGES), Ok(()), "{role:?}");
        }
        let everyone = [Role::Applicant, Role::Reviewer, Role::Coordinator, Role::Reporter, Role::Admin];
        assert_eq!(may_judge(&viewer("ann", &everyone), "ann", JUDGES), Err(JudgeRefusal::OwnRecord));
    }

    #[test]
    fn applicants_and_reporters_never_judge() {
        for role in [Role::Applicant, Role::Reporter] {
            assert_eq!(may_judge(&viewer("ann", &[role]), "bob", JUDGES), Err(JudgeRefusal::NotAJudge), "{role:?}");
        }
        let narrow = &[Role::Reviewer, Role::Coordinator];
        assert_eq!(may_judge(&viewer("ann", &[Role::Admin]), "bob", narrow), Err(JudgeRefusal::NotAJudge));
    }
}
