//! The long-lived services a request can use, built once at start-up.

use std::sync::Arc;

use crate::auth::jwt::TokenVerifier;
use crate::blob::BlobStore;
use crate::config::Config;
use crate::domain::Rulebook;
use crate::graphql::error::{ApiError, ApiResult};
use crate::health::Health;
use crate::store::Store;
use crate::store::audit::{AuditLog, ReadAudit};
use crate::store::evidence::EvidenceStore;
use crate::store::portfolio::PortfolioStore;
use crate::store::stats::StatsStore;

#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    store: Store,
    pub blob: BlobStore,
    pub audit: AuditLog,
    /// Batched writer of personal-data read records.
    pub read_audit: ReadAudit,
    portfolios: PortfolioStore,
    evidence: EvidenceStore,
    stats: StatsStore,
    /// The association's rulebook (all versions), loaded once at start-up.
    pub rulebook: Arc<Rulebook>,
    pub verifier: Arc<TokenVerifier>,
    pub health: Health,
    /// Bounds concurrent image decoding (CPU and memory heavy).
    pub image_permits: Arc<tokio::sync::Semaphore>,
}

impl Services {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        blob: BlobStore,
        verifier: TokenVerifier,
        rulebook: Rulebook,
        health: Health,
    ) -> Self {
        Services {
            audit: AuditLog::new(&store),
            read_audit: ReadAudit::spawn(AuditLog::new(&store)),
            portfolios: PortfolioStore::new(&store),
            evidence: EvidenceStore::new(&store),
            stats: StatsStore::new(&store, config.request_timeout()),
            store,
            blob,
            rulebook: Arc::new(rulebook),
            verifier: Arc::new(verifier),
            health,
            image_permits: Arc::new(tokio::sync::Semaphore::new(config.evidence.image_concurrency)),
            config,
        }
    }

    /// The portfolio collection, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn portfolios(&self) -> ApiResult<&PortfolioStore> {
        self.store()?;
        Ok(&self.portfolios)
    }

    /// The evidence collection, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn evidence_store(&self) -> ApiResult<&EvidenceStore> {
        self.store()?;
        Ok(&self.evidence)
    }

    /// Reporting aggregates, or SERVICE_UNAVAILABLE while MongoDB is down.
    pub fn stats_store(&self) -> ApiResult<&StatsStore> {
        self.store()?;
        Ok(&self.stats)
    }

    /// The database, or SERVICE_UNAVAILABLE at once while it is known to be down.
    pub fn store(&self) -> ApiResult<&Store> {
        if self.health.mongo_available() { Ok(&self.store) } else { Err(ApiError::ServiceUnavailable("The database")) }
    }

    /// The database regardless of health (probes, start-up).
    pub fn store_unchecked(&self) -> &Store {
        &self.store
    }
}
