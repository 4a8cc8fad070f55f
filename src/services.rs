//! The long-lived services a request can use, built once at start-up.

use std::sync::Arc;

use crate::auth::jwt::TokenVerifier;
use crate::blob::BlobStore;
use crate::config::Config;
use crate::graphql::error::{ApiError, ApiResult};
use crate::health::Health;
use crate::store::Store;
use crate::store::audit::AuditLog;

#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    store: Store,
    pub blob: BlobStore,
    pub audit: AuditLog,
    pub verifier: Arc<TokenVerifier>,
    pub health: Health,
}

impl Services {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        blob: BlobStore,
        verifier: TokenVerifier,
        health: Health,
    ) -> Self {
        let audit = AuditLog::new(&store);
        Services {
            config,
            store,
            blob,
            audit,
            verifier: Arc::new(verifier),
            health,
        }
    }

    /// The database, or SERVICE_UNAVAILABLE at once while it is known to be down.
    pub fn store(&self) -> ApiResult<&Store> {
        if self.health.mongo_available() {
            Ok(&self.store)
        } else {
            Err(ApiError::ServiceUnavailable("The database"))
        }
    }

    /// The database regardless of health (probes, start-up).
    pub fn store_unchecked(&self) -> &Store {
        &self.store
    }
}
