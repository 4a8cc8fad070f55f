//! Dependency health, probed in the background so that requests fail fast
//! (SERVICE_UNAVAILABLE at once) while MongoDB is known to be down, instead of
//! each one waiting for the driver's server-selection timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::store::Store;

#[derive(Clone)]
pub struct Health {
    mongo_down: Arc<AtomicBool>,
    /// A ping slower than this counts as down (a refused connection fails
    /// at once whatever it is).
    probe_timeout: Duration,
}

/// How often MongoDB is pinged.
const PROBE_INTERVAL: Duration = Duration::from_millis(500);

impl Health {
    pub fn new(probe_timeout: Duration) -> Self {
        Health { mongo_down: Arc::default(), probe_timeout }
    }

    pub fn mongo_available(&self) -> bool {
        !self.mongo_down.load(Ordering::Relaxed)
    }

    pub fn record_mongo(&self, up: bool) {
        let was_down = self.mongo_down.swap(!up, Ordering::Relaxed);
        if was_down && up {
            tracing::info!("MongoDB is reachable again");
        } else if !was_down && !up {
            tracing::warn!("MongoDB is unreachable; answering SERVICE_UNAVAILABLE until it is back");
        }
    }

    /// Pings MongoDB with a short deadline.
    pub async fn probe_mongo(&self, store: &Store) -> bool {
        let up = matches!(tokio::time::timeout(self.probe_timeout, store.ping()).await, Ok(Ok(())));
        self.record_mongo(up);
        up
    }

    /// Runs until the returned handle is aborted.
    pub fn spawn_monitor(&self, store: Store) -> tokio::task::JoinHandle<()> {
        let health = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(PROBE_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                health.probe_mongo(&store).await;
            }
        })
    }
}
