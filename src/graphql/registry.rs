//! The public registry, verification and credentials through GraphQL. See
//! [`crate::app::registry`] and [`crate::app::credentials`].

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};

use super::context::{actor, change_audit, services};
use super::endorsement::Endorsement;
use super::portfolio::query::PageInfo;
use super::scalars::Date;
use crate::app::credentials::{self, PublicUrls};
use crate::app::error::AppResult;
use crate::app::portfolios::parse_id;
use crate::app::registry::{self, RegistrySearch};
use crate::domain::credential::PublicEndorsement;
use crate::domain::model::{Category, EndorsementStatus, Track};

/// A current endorsement as the public registry lists it.
#[derive(SimpleObject)]
pub struct RegistryEntry {
    pub number: String,
    pub name: String,
    pub category: Category,
    pub track: Track,
    /// The published code, e.g. "IMHS".
    pub code: String,
    /// The category's title, e.g. "Infant Mental Health Specialist".
    pub title: String,
    pub endorsed_since: Date,
    /// The end of the renewal cycle.
    pub current_through: Date,
    pub verification_url: String,
    /// Only when the endorsee opted in.
    pub location: Option<String>,
    pub employer: Option<String>,
}

impl RegistryEntry {
    fn new(entry: PublicEndorsement, urls: &PublicUrls) -> Self {
        RegistryEntry {
            verification_url: urls.verification(&entry.number),
            number: entry.number,
            name: entry.name,
            category: entry.category,
            track: entry.track,
            code: entry.code,
            title: entry.title,
            endorsed_since: Date(entry.endorsed_on),
            current_through: Date(entry.current_through),
            location: entry.location,
            employer: entry.employer,
        }
    }
}

#[derive(SimpleObject)]
pub struct RegistryEdge {
    pub cursor: String,
    pub node: RegistryEntry,
}

#[derive(SimpleObject)]
pub struct RegistryConnection {
    pub edges: Vec<RegistryEdge>,
    pub page_info: PageInfo,
}

/// What a verifier learns from an endorsement number.
#[derive(SimpleObject)]
pub struct EndorsementVerification {
    pub number: String,
    pub name: String,
    pub association: String,
    pub category: Category,
    pub track: Track,
    pub code: String,
    pub title: String,
    pub current: bool,
    pub status: EndorsementStatus,
    /// The day the status took effect.
    pub status_since: Date,
    pub endorsed_since: Date,
    pub current_through: Date,
    /// One sentence, e.g. "Not current: revoked on 2 June 2027."
    pub verdict: String,
}

/// A credential as issued.
#[derive(SimpleObject)]
pub struct IssuedCredential {
    /// The Open Badges 3.0 credential as a compact VC-JWT (EdDSA).
    pub jwt: String,
    /// The credential the JWT carries, for display.
    pub credential: Json<serde_json::Value>,
    pub status_list_index: i32,
}

#[derive(InputObject)]
pub struct RegistryListingInput {
    /// Shown on the registry (e.g. "Albany, NY"); blank or left out hides it.
    pub location: Option<String>,
    pub employer: Option<String>,
}

#[derive(Default)]
pub struct RegistryQuery;

#[Object]
impl RegistryQuery {
    /// The public registry of an association (the default one when left
    /// out): current endorsements in name order, no login needed. `search`
    /// matches the beginnings of the name's words ("ada lov").
    #[allow(clippy::too_many_arguments)]
    async fn registry(
        &self,
        ctx: &Context<'_>,
        association: Option<String>,
        search: Option<String>,
        category: Option<Category>,
        track: Option<Track>,
        #[graphql(desc = "At most 100 [default: 20].")] first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<RegistryConnection> {
        let services = services(ctx);
        let code = association.unwrap_or_else(|| services.config.default_association.to_string());
        let tenant = registry::association(services, &code).await?;
        let first = usize::try_from(first.unwrap_or(20)).unwrap_or(0);
        let page =
            registry::registry(services, &tenant, RegistrySearch { search, category, track, first, after }).await?;
        let urls = PublicUrls::new(services, &tenant);
        let edges: Vec<RegistryEdge> = page
            .entries
            .into_iter()
            .map(|(cursor, entry)| RegistryEdge { cursor, node: RegistryEntry::new(entry, &urls) })
            .collect();
        let end_cursor = edges.last().map(|e| e.cursor.clone());
        Ok(RegistryConnection { edges, page_info: PageInfo { has_next_page: page.has_next_page, end_cursor } })
    }

    /// Whether the endorsement `number` is current, and if not since when
    /// and why; no login needed. NOT_FOUND for a number never issued.
    async fn verify_endorsement(&self, ctx: &Context<'_>, number: String) -> AppResult<EndorsementVerification> {
        let (tenant, entry) = registry::verify(services(ctx), &number).await?;
        Ok(EndorsementVerification {
            verdict: entry.verdict(),
            current: entry.is_current(),
            association: tenant.code().to_string(),
            number: entry.number,
            name: entry.name,
            category: entry.category,
            track: entry.track,
            code: entry.code,
            title: entry.title,
            status: entry.status,
            status_since: Date(entry.status_since),
            endorsed_since: Date(entry.endorsed_on),
            current_through: Date(entry.current_through),
        })
    }
}

#[derive(Default)]
pub struct RegistryMutation;

#[Object]
impl RegistryMutation {
    /// Issues the endorsement as a signed Open Badges 3.0 credential (the
    /// endorsee, or COORDINATOR/ADMIN for them); FAILED_PRECONDITION unless
    /// it is current.
    async fn issue_credential(&self, ctx: &Context<'_>, endorsement_id: ID) -> AppResult<IssuedCredential> {
        let actor = actor(ctx).await?;
        let issued = credentials::issue(services(ctx), &actor, parse_id("endorsementId", &endorsement_id)?).await?;
        Ok(IssuedCredential {
            jwt: issued.jwt,
            credential: Json(issued.credential),
            status_list_index: issued.status_list_index as i32,
        })
    }

    /// What the registry shows besides the name (the endorsee only).
    async fn set_registry_listing(
        &self,
        ctx: &Context<'_>,
        endorsement_id: ID,
        input: RegistryListingInput,
    ) -> AppResult<Endorsement> {
        let actor = actor(ctx).await?;
        let audit = change_audit(ctx);
        let id = parse_id("endorsementId", &endorsement_id)?;
        Ok(registry::set_listing(services(ctx), &actor, id, input.location, input.employer, &audit).await?.into())
    }

    /// Moves an endorsement to another status (COORDINATOR, ADMIN; a reason
    /// for REVOKED and WITHDRAWN, which are final). The registry, the
    /// verification page and the status lists follow at once.
    async fn change_endorsement_status(
        &self,
        ctx: &Context<'_>,
        endorsement_id: ID,
        status: EndorsementStatus,
        reason: Option<String>,
    ) -> AppResult<Endorsement> {
        let actor = actor(ctx).await?;
        let audit = change_audit(ctx);
        let id = parse_id("endorsementId", &endorsement_id)?;
        Ok(registry::change_status(services(ctx), &actor, id, status, reason, &audit).await?.into())
    }
}
