//! Per-caller rate limiting (GCRA, `governor`), weighted by query cost: a
//! request costs one point plus one per 1,000 of its cost, so that one
//! expensive report counts like many cheap reads. Limits are per instance:
//! behind a load balancer each instance keeps its own counts.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Query cost that buys one extra point.
const COST_PER_POINT: u64 = 1_000;

pub struct RateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    burst: u32,
    clock: DefaultClock,
}

impl RateLimiter {
    /// `per_minute` 0 turns limiting off.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let burst = burst.max(1);
        let limiter = NonZeroU32::new(per_minute).map(|rate| {
            let quota = Quota::per_minute(rate).allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
            governor::RateLimiter::keyed(quota)
        });
        RateLimiter { limiter, burst, clock: DefaultClock::default() }
    }

    pub fn points(&self, cost: u64) -> u32 {
        (1 + cost / COST_PER_POINT).min(u64::from(self.burst)) as u32
    }

    /// Charges `key` for a request of `cost`; `Err` tells how long to wait.
    pub fn check(&self, key: &str, cost: u64) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        let points = NonZeroU32::new(self.points(cost)).unwrap_or(NonZeroU32::MIN);
        match limiter.check_key_n(&key.to_owned(), points) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            // `points` is clamped to the burst, so this cannot happen.
            Err(_) => Err(Duration::from_secs(60)),
        }
    }

    /// Drops the state of callers whose allowance is full again, so that
    /// the table does not grow with every address ever seen.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expensive_requests_spend_more_points() {
        let limiter = RateLimiter::new(60, 10);
        assert_eq!(limiter.points(0), 1);
        assert_eq!(limiter.points(2_500), 3);
        assert_eq!(limiter.points(1_000_000), 10, "clamped to the burst");
        for _ in 0..10 {
            assert!(limiter.check("ann", 0).is_ok());
        }
        let wait = limiter.check("ann", 0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        // Another caller has their own allowance.
        assert!(limiter.check("bob", 9_000).is_ok());
        assert!(limiter.check("bob", 0).is_err());
    }

    #[test]
    fn zero_turns_limiting_off() {
        let limiter = RateLimiter::new(0, 1);
        for _ in 0..1000 {
            assert!(limiter.check("ann", 1_000_000).is_ok());
        }
    }
}
