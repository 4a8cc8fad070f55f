//! The application layer: one module per capability, each use case a
//! function taking the services, the caller and typed input, returning
//! typed output or an [`error::AppError`]. It owns the business rules:
//! state transitions (through `domain::workflow`), the access policy
//! ([`policy`]), and the orchestration of store, blob, media and engine.
//! GraphQL resolvers and HTTP handlers only translate to and from it.

pub mod advisers;
pub mod applications;
pub mod associations;
pub mod audit;
pub mod clock;
pub mod credentials;
pub mod cycles;
pub mod endorsements;
pub mod error;
pub mod evaluation;
pub mod evaluation_cache;
pub mod events;
pub mod evidence;
pub mod fees;
mod input;
pub mod mail;
pub mod mail_templates;
pub mod memberships;
pub mod outbox;
pub mod page_sections;
pub mod policy;
pub mod portfolios;
pub mod process_report;
pub mod records;
pub mod references;
pub mod registry;
pub mod renewals;
pub mod review;
pub mod rounds;
pub mod stats;
pub mod tenants;

use std::sync::Arc;

pub use audit::ChangeAudit;
use error::{AppError, AppResult};
pub use tenants::Tenant;

use crate::auth::{Role, Viewer};
use crate::services::Services;

/// An authenticated caller acting inside their association: the token's
/// identity, with the roles the association grants on top (its first
/// admin), and the association itself.
#[derive(Debug, Clone)]
pub struct Actor {
    pub viewer: Viewer,
    pub tenant: Arc<Tenant>,
}

impl Actor {
    /// The caller inside the association their token names. A platform
    /// admin's token names none: FORBIDDEN for anything inside one. An
    /// association that does not exist (deleted, or a token minted for
    /// another deployment) is UNAUTHENTICATED: the token does not fit.
    pub async fn resolve(services: &Services, viewer: &Viewer) -> AppResult<Actor> {
        let Some(code) = &viewer.association else {
            return Err(AppError::Forbidden);
        };
        let tenant = services
            .tenants
            .get(code)
            .await?
            .ok_or_else(|| AppError::Unauthenticated(format!("the token's association `{code}` does not exist")))?;
        let mut viewer = viewer.clone();
        if tenant.admins.contains(&viewer.subject) && !viewer.has_role(Role::Admin) {
            viewer.roles.push(Role::Admin);
            viewer.roles.sort();
        }
        Ok(Actor { viewer, tenant })
    }

    pub fn subject(&self) -> &str {
        &self.viewer.subject
    }
}
