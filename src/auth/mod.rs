//! Identity: who is calling (from a verified JWT), with which roles, in
//! which association. What those roles allow is the application's access
//! policy (`app::policy`). Pure apart from key loading in [`jwt`].

pub mod jwt;

use serde::{Deserialize, Serialize};

use crate::domain::association::AssociationCode;

/// What a caller may do. A token may carry several roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Applicant,
    Reviewer,
    Coordinator,
    Reporter,
    Admin,
    /// Connected to applicants by a coordinator: reads their portfolios and
    /// comments, never decides.
    Adviser,
    /// Runs the deployment: creates associations and names their first
    /// admin. Holds no role inside any association.
    PlatformAdmin,
}

impl Role {
    pub fn parse(name: &str) -> Option<Role> {
        Some(match name {
            "APPLICANT" => Role::Applicant,
            "REVIEWER" => Role::Reviewer,
            "COORDINATOR" => Role::Coordinator,
            "REPORTER" => Role::Reporter,
            "ADMIN" => Role::Admin,
            "ADVISER" => Role::Adviser,
            "PLATFORM_ADMIN" => Role::PlatformAdmin,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "APPLICANT",
            Role::Reviewer => "REVIEWER",
            Role::Coordinator => "COORDINATOR",
            Role::Reporter => "REPORTER",
            Role::Admin => "ADMIN",
            Role::Adviser => "ADVISER",
            Role::PlatformAdmin => "PLATFORM_ADMIN",
        }
    }
}

/// An authenticated caller. Roles hold within `association` only; a
/// platform admin's token names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub subject: String,
    pub roles: Vec<Role>,
    pub association: Option<AssociationCode>,
}

impl Viewer {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.has_role(*role))
    }
}

/// The outcome of reading the `Authorization` header. Kept per request so that
/// fields which need no identity still answer when the token is bad, while
/// fields that need one report exactly why it was refused.
#[derive(Debug, Clone)]
pub enum Identity {
    Anonymous,
    Authenticated(Viewer),
    Rejected(jwt::TokenError),
}
