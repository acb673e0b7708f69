//! Login throttling: after a number of failed attempts for one key (an account, or a client
//! address, which may be shared by many people behind one NAT and so gets more), further attempts
//! are refused for a lock-out that doubles with each failure, up to [`MAX_LOCK`].
//! Pure bookkeeping: the caller supplies the clock, so tests need no sleeps.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures allowed per account before it is locked.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures allowed per client address before it is locked.
pub const IP_FREE_FAILURES: u32 = 20;
pub const BASE_LOCK: Duration = Duration::from_secs(30);
pub const MAX_LOCK: Duration = Duration::from_secs(60 * 60);
/// Failures older than this are forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Above this many tracked keys, stale entries are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    fn locked_until(&self, free_failures: u32) -> Option<Instant> {
        let over = self.count.checked_sub(free_failures)?;
        let lock = BASE_LOCK.saturating_mul(2u32.saturating_pow(over.min(16))).min(MAX_LOCK);
        Some(self.last + lock)
    }
}

#[derive(Debug)]
pub struct LoginThrottle {
    free_failures: u32,
    failures: HashMap<String, Failures>,
}

impl LoginThrottle {
    pub fn new(free_failures: u32) -> Self {
        LoginThrottle { free_failures, failures: HashMap::new() }
    }

    /// `Err(retry_after)` while the key is locked out.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.failures.get(key).and_then(|f| f.locked_until(self.free_failures)) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    pub fn record_failure(&mut self, key: &str, now: Instant) {
        if self.failures.len() > SWEEP_ABOVE {
            self.failures.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        }
        let entry = self.failures.entry(key.to_owned()).or_insert(Failures { count: 0, last: now });
        if now.duration_since(entry.last) >= FORGET_AFTER {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
    }

    pub fn reset(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_key_and_the_lock_doubles() {
        let mut throttle = LoginThrottle::new(ACCOUNT_FREE_FAILURES);
        let t0 = Instant::now();
        for _ in 0..4 {
            throttle.record_failure("ada", t0);
            assert_eq!(throttle.check("ada", t0), Ok(()));
        }
        throttle.record_failure("ada", t0);
        assert_eq!(throttle.check("ada", t0), Err(BASE_LOCK));
        assert_eq!(throttle.check("bob", t0), Ok(()), "other keys are unaffected");

        let later = t0 + BASE_LOCK;
        assert_eq!(throttle.check("ada", later), Ok(()), "the lock expires");
        throttle.record_failure("ada", later);
        assert_eq!(throttle.check("ada", later), Err(BASE_LOCK * 2));
    }

    #[test]
    fn lock_out_is_capped() {
        let mut throttle = LoginThrottle::new(ACCOUNT_FREE_FAILURES);
        let t0 = Instant::now();
        for _ in 0..40 {
            throttle.record_failure("ada", t0);
        }
        assert_eq!(throttle.check("ada", t0), Err(MAX_LOCK));
    }

    #[test]
    fn success_resets_and_old_failures_are_forgotten() {
        let mut throttle = LoginThrottle::new(ACCOUNT_FREE_FAILURES);
        let t0 = Instant::now();
        for _ in 0..5 {
            throttle.record_failure("ada", t0);
        }
        throttle.reset("ada");
        assert_eq!(throttle.check("ada", t0), Ok(()));

        for _ in 0..4 {
            throttle.record_failure("bob", t0);
        }
        throttle.record_failure("bob", t0 + FORGET_AFTER);
        assert_eq!(throttle.check("bob", t0 + FORGET_AFTER), Ok(()), "count restarted at one");
    }
}
