//! Dependency health: a breaker for MongoDB, shared by every request.
//!
//! It opens the moment the driver loses its writable server (the driver's own
//! errors and heartbeats tell it; see [`Store::connect_watched`]) or a probe
//! fails. While it is open, store use fails at once with SERVICE_UNAVAILABLE
//! instead of each request waiting for the driver's server-selection timeout.
//! A background monitor probes, more often while it is open, and closes it as
//! soon as MongoDB answers as a writable primary again. `/readyz` reads the
//! same state rather than pinging per call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::Store;

#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    /// Bit 0 set: open (MongoDB is down). The higher bits count trips, so
    /// that a probe that succeeded just before a trip cannot close the
    /// breaker that trip opened (it compares the whole word).
    state: AtomicU64,
    /// Wakes the monitor when the breaker opens, so that it probes at once.
    opened: Notify,
    /// A probe slower than this counts as down.
    probe_timeout: Duration,
}

const OPEN: u64 = 1;
/// One trip, in the counter above bit 0.
const TRIP: u64 = 2;

/// How often MongoDB is probed while it is up: trips come from the driver
/// as they happen, so this only catches a database that is up but too slow.
const PROBE_INTERVAL_UP: Duration = Duration::from_secs(1);
/// How often it is probed while down. A probe blocks in server selection
/// until the driver sees the server again, so recovery is noticed at once;
/// the pause only spaces probes that fail quickly.
const PROBE_INTERVAL_DOWN: Duration = Duration::from_millis(250);

impl Health {
    pub fn new(probe_timeout: Duration) -> Self {
        Health { inner: Arc::new(Inner { state: AtomicU64::new(0), opened: Notify::new(), probe_timeout }) }
    }

    pub fn mongo_available(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & OPEN == 0
    }

    /// Opens the breaker: MongoDB is unusable until a probe says otherwise.
    pub fn trip_mongo(&self, why: &dyn std::fmt::Display) {
        let before = self
            .inner
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| Some((state + TRIP) | OPEN))
            .unwrap_or_else(|state| state);
        if before & OPEN == 0 {
            tracing::warn!(cause = %why, "MongoDB is unusable; answering SERVICE_UNAVAILABLE until it is back");
            self.inner.opened.notify_one();
        }
    }

    /// Closes the breaker if nothing tripped it since `seen` was read.
    fn close_mongo(&self, seen: u64) {
        if seen & OPEN != 0
            && self.inner.state.compare_exchange(seen, seen & !OPEN, Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            tracing::info!("MongoDB is reachable again");
        }
    }

    /// Asks MongoDB whether it is a writable primary, with a deadline, and
    /// opens or closes the breaker by the answer.
    pub async fn probe_mongo(&self, store: &Store) {
        let seen = self.inner.state.load(Ordering::Acquire);
        match tokio::time::timeout(self.inner.probe_timeout, store.is_writable_primary()).await {
            Ok(Ok(true)) => self.close_mongo(seen),
            Ok(Ok(false)) => self.trip_mongo(&"the server is not a writable primary"),
            Ok(Err(error)) => self.trip_mongo(&error),
            Err(_) => self.trip_mongo(&format_args!("no answer within {:?}", self.inner.probe_timeout)),
        }
    }

    /// Runs until the returned handle is aborted.
    pub fn spawn_monitor(&self, store: Store) -> tokio::task::JoinHandle<()> {
        let health = self.clone();
        tokio::spawn(async move {
            loop {
                health.probe_mongo(&store).await;
                let pause = if health.mongo_available() { PROBE_INTERVAL_UP } else { PROBE_INTERVAL_DOWN };
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = health.inner.opened.notified() => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_opens_until_a_probe_closes() {
        let health = Health::new(Duration::from_secs(1));
        assert!(health.mongo_available());
        health.trip_mongo(&"test");
        assert!(!health.mongo_available());
        let seen = health.inner.state.load(Ordering::Acquire);
        health.close_mongo(seen);
        assert!(health.mongo_available());
    }

    #[test]
    fn a_probe_older_than_the_last_trip_cannot_close() {
        let health = Health::new(Duration::from_secs(1));
        health.trip_mongo(&"first");
        // A probe reads the state, then the driver trips again before the
        // probe's success is recorded: the newer trip wins.
        let seen = health.inner.state.load(Ordering::Acquire);
        health.trip_mongo(&"second");
        health.close_mongo(seen);
        assert!(!health.mongo_available());
    }
}
