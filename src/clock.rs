//! The one clock every rule that depends on "now" reads (process.md, "Time
//! and errors"): the association's calendar day comes from it. In
//! development it can be set (demos, tests that walk through a renewal
//! cycle); in production it is the system clock and cannot be moved.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone)]
pub struct Clock {
    /// Milliseconds added to the system clock.
    offset_ms: Arc<AtomicI64>,
    settable: bool,
}

/// The clock cannot be set here (production).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the clock can only be set in development")]
pub struct NotSettable;

impl Clock {
    /// The system clock; `settable` only in development.
    pub fn new(settable: bool) -> Self {
        Clock { offset_ms: Arc::new(AtomicI64::new(0)), settable }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock so that it reads `at` now (and runs on from there).
    pub fn set(&self, at: DateTime<Utc>) -> Result<(), NotSettable> {
        if !self.settable {
            return Err(NotSettable);
        }
        let offset = (at - Utc::now()).num_milliseconds();
        self.offset_ms.store(offset, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the clock reads the system time.
    pub fn is_real(&self) -> bool {
        self.offset_ms.load(Ordering::Relaxed) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_development_clock_moves() {
        let at = DateTime::parse_from_rfc3339("2027-10-15T12:00:00Z").unwrap().with_timezone(&Utc);
        let production = Clock::new(false);
        assert_eq!(production.set(at), Err(NotSettable));
        assert!(production.is_real());
        let development = Clock::new(true);
        let copy = development.clone();
        development.set(at).unwrap();
        assert!((copy.now() - at).num_seconds().abs() < 5, "clones read the same clock");
    }
}
