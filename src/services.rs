//! The long-lived services a request can use, built once at start-up.
//! Stores of tenant data are handed out per association: there is no way
//! to reach those collections without naming one.

use std::sync::Arc;

use crate::app::Tenant;
use crate::app::error::{AppError, AppResult};
use crate::app::tenants::Tenants;
use crate::auth::jwt::TokenVerifier;
use crate::blob::BlobStore;
use crate::config::Config;
use crate::health::Health;
use crate::store::Store;
use crate::store::audit::{AuditLog, ReadAudit};
use crate::store::evidence::{EvidenceStore, EvidenceSweep};
use crate::store::outbox::Outbox;
use crate::store::portfolio::PortfolioStore;
use crate::store::references::ReferenceStore;
use crate::store::stats::StatsStore;

#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    store: Store,
    pub blob: BlobStore,
    pub audit: AuditLog,
    /// Batched writer of personal-data read records.
    pub read_audit: ReadAudit,
    /// The associations, with their calendars and rulebooks.
    pub tenants: Tenants,
    pub verifier: Arc<TokenVerifier>,
    /// The associations' credential signing keys.
    pub signing: Arc<crate::signing::SigningKeys>,
    pub health: Health,
    /// Bounds concurrent image decoding (CPU and memory heavy).
    pub image_permits: Arc<tokio::sync::Semaphore>,
    /// Wakes this instance's outbox worker when a change queued mail.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Live portfolio events for subscribers on this instance.
    pub events: crate::app::events::EventHub,
    /// Requirement evaluations kept across requests.
    pub evaluations: Arc<crate::app::evaluation_cache::EvaluationCache>,
}

impl Services {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        blob: BlobStore,
        verifier: TokenVerifier,
        signing: crate::signing::SigningKeys,
        tenants: Tenants,
        health: Health,
    ) -> Self {
        Services {
            audit: AuditLog::new(&store),
            read_audit: ReadAudit::spawn(AuditLog::new(&store)),
            store,
            blob,
            tenants,
            verifier: Arc::new(verifier),
            signing: Arc::new(signing),
            health,
            image_permits: Arc::new(tokio::sync::Semaphore::new(config.evidence.image_concurrency)),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            events: crate::app::events::EventHub::default(),
            evaluations: Arc::new(crate::app::evaluation_cache::EvaluationCache::new(config.limits.evaluations_kept)),
            config,
        }
    }

    /// The association's portfolios, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn portfolios(&self, tenant: &Tenant) -> AppResult<PortfolioStore> {
        Ok(PortfolioStore::new(self.store()?, &tenant.scope()))
    }

    /// The association's registrations, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn applications(&self, tenant: &Tenant) -> AppResult<crate::store::applications::ApplicationStore> {
        Ok(crate::store::applications::ApplicationStore::new(self.store()?, tenant.code()))
    }

    /// The association's ledger, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn ledger(&self, tenant: &Tenant) -> AppResult<crate::store::ledger::LedgerStore> {
        Ok(crate::store::ledger::LedgerStore::new(self.store()?, tenant.code()))
    }

    /// The association's membership records, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn memberships(&self, tenant: &Tenant) -> AppResult<crate::store::memberships::MembershipStore> {
        Ok(crate::store::memberships::MembershipStore::new(self.store()?, tenant.code()))
    }

    /// Who is connected to the association's portfolios, and their comments.
    pub fn assignments(&self, tenant: &Tenant) -> AppResult<crate::store::assignments::AssignmentStore> {
        Ok(crate::store::assignments::AssignmentStore::new(self.store()?, tenant.code()))
    }

    /// The association's endorsement records.
    pub fn endorsements(&self, tenant: &Tenant) -> AppResult<crate::store::endorsements::EndorsementStore> {
        Ok(crate::store::endorsements::EndorsementStore::new(self.store()?, tenant.code()))
    }

    pub fn renewals(&self, tenant: &Tenant) -> AppResult<crate::store::renewals::RenewalStore> {
        Ok(crate::store::renewals::RenewalStore::new(self.store()?, tenant.code()))
    }

    /// The association's review rounds.
    pub fn rounds(&self, tenant: &Tenant) -> AppResult<crate::store::rounds::RoundStore> {
        Ok(crate::store::rounds::RoundStore::new(self.store()?, tenant.code()))
    }

    /// The association's evidence, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn evidence(&self, tenant: &Tenant) -> AppResult<EvidenceStore> {
        Ok(EvidenceStore::new(self.store()?, tenant.code()))
    }

    /// The association's reporting aggregates, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn stats(&self, tenant: &Tenant) -> AppResult<StatsStore> {
        Ok(StatsStore::new(self.store()?, tenant.scope(), self.config.request_timeout()))
    }

    /// The association's reference requests, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn references(&self, tenant: &Tenant) -> AppResult<ReferenceStore> {
        Ok(ReferenceStore::new(self.store()?, tenant.code()))
    }

    /// Every association's queued mail (the outbox worker's view).
    pub fn outbox(&self) -> AppResult<Outbox> {
        Ok(Outbox::new(self.store()?))
    }

    /// The sweeper's deployment-wide view of evidence.
    pub fn evidence_sweep(&self) -> AppResult<EvidenceSweep> {
        Ok(EvidenceSweep::new(self.store()?))
    }

    /// The database, or SERVICE_UNAVAILABLE at once while it is known to be down.
    pub fn store(&self) -> AppResult<&Store> {
        if self.health.mongo_available() { Ok(&self.store) } else { Err(AppError::ServiceUnavailable("The database")) }
    }

    /// The database regardless of health (probes, start-up).
    pub fn store_unchecked(&self) -> &Store {
        &self.store
    }
}
