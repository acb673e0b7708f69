//! Request rate limits by GCRA (the generic cell rate algorithm): a key's whole state is one
//! timestamp, its theoretical arrival time (TAT), so a store keeps a single number per key and the
//! window rolls without a background refill. Pure arithmetic on microseconds: the caller supplies
//! the clock and the stored TAT, so the in-process and Redis stores share one rule and tests need
//! no sleeps.

use std::time::Duration;

const MINUTE_US: u64 = 60_000_000;

/// A sustained rate per minute, with up to `burst` requests accepted at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub per_minute: u32,
    pub burst: u32,
}

impl Quota {
    /// `None` for a zero rate or a zero burst, which would refuse everything.
    pub fn new(per_minute: u32, burst: u32) -> Option<Quota> {
        (per_minute > 0 && burst > 0).then_some(Quota { per_minute, burst })
    }

    /// T: the spacing of requests at the sustained rate. Never zero, even for a quota built by
    /// hand with a zero or absurd rate, so the arithmetic below cannot divide by zero.
    pub fn emission_interval_us(&self) -> u64 {
        (MINUTE_US / u64::from(self.per_minute.max(1))).max(1)
    }

    /// τ: how far ahead of the clock the TAT may run, which is what lets a burst through.
    pub fn tolerance_us(&self) -> u64 {
        self.emission_interval_us() * u64::from(self.burst.max(1) - 1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `remaining`: further requests that would be accepted right now; `reset_after`: until the
    /// key has its whole burst back.
    Allowed { remaining: u32, reset_after: Duration },
    /// `retry_after`: until the next request would be accepted.
    Limited { retry_after: Duration },
}

/// Decides one request at `now_us` against the key's stored TAT and returns the TAT to store,
/// or `None` when the request is refused and the state stays as it was.
pub fn decide(quota: &Quota, stored_tat_us: Option<u64>, now_us: u64) -> (Decision, Option<u64>) {
    let interval = quota.emission_interval_us();
    let tolerance = quota.tolerance_us();
    // A TAT in the past is the same as none: the key has been idle long enough to be full.
    let tat = stored_tat_us.unwrap_or(now_us).max(now_us);
    if now_us + tolerance < tat {
        let retry_after = Duration::from_micros(tat - tolerance - now_us);
        return (Decision::Limited { retry_after }, None);
    }
    let new_tat = tat + interval;
    // The k-th further request fits while new_tat + (k − 1)·T − τ ≤ now; accepting this one
    // guarantees new_tat ≤ now + τ + T, so the numerator is never negative.
    let remaining = (now_us + tolerance + interval - new_tat) / interval;
    let decision = Decision::Allowed {
        // At most burst − 1 by the bound above.
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset_after: Duration::from_micros(new_tat - now_us),
    };
    (decision, Some(new_tat))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND_US: u64 = 1_000_000;

    fn quota(per_minute: u32, burst: u32) -> Quota {
        Quota::new(per_minute, burst).expect("a valid quota")
    }

    /// Runs `n` requests at `now_us` and returns the decisions and the final TAT.
    fn run(quota: &Quota, mut tat: Option<u64>, now_us: u64, n: usize) -> (Vec<Decision>, Option<u64>) {
        let decisions = (0..n)
            .map(|_| {
                let (decision, new_tat) = decide(quota, tat, now_us);
                tat = new_tat.or(tat);
                decision
            })
            .collect();
        (decisions, tat)
    }

    fn allowed(decisions: &[Decision]) -> usize {
        decisions.iter().filter(|d| matches!(d, Decision::Allowed { .. })).count()
    }

    #[test]
    fn zero_rate_or_zero_burst_is_refused() {
        assert_eq!(Quota::new(0, 1), None);
        assert_eq!(Quota::new(60, 0), None);
        assert_eq!(Quota::new(60, 1), Some(Quota { per_minute: 60, burst: 1 }));
    }

    #[test]
    fn intervals_are_exact_in_microseconds() {
        assert_eq!(quota(60, 10).emission_interval_us(), SECOND_US);
        assert_eq!(quota(60, 10).tolerance_us(), 9 * SECOND_US);
        assert_eq!(quota(6000, 1).emission_interval_us(), 10_000);
        assert_eq!(quota(6000, 1).tolerance_us(), 0);
    }

    #[test]
    fn a_burst_is_accepted_then_the_key_is_limited() {
        let (decisions, _) = run(&quota(60, 10), None, 5 * SECOND_US, 12);
        assert_eq!(allowed(&decisions), 10);
        assert!(decisions[..10].iter().all(|d| matches!(d, Decision::Allowed { .. })));
        assert!(decisions[10..].iter().all(|d| matches!(d, Decision::Limited { .. })));
    }

    #[test]
    fn remaining_counts_down_and_reset_grows_by_one_interval() {
        let (decisions, _) = run(&quota(60, 3), None, 0, 3);
        let expected = [(2, 1), (1, 2), (0, 3)]
            .map(|(remaining, secs)| Decision::Allowed { remaining, reset_after: Duration::from_secs(secs) });
        assert_eq!(decisions, expected);
    }

    #[test]
    fn retry_after_is_exactly_when_the_next_request_fits() {
        let q = quota(60, 2);
        let t0 = 100 * SECOND_US;
        let (_, tat) = run(&q, None, t0, 2);
        let later = t0 + 250_000;
        let (decision, stored) = decide(&q, tat, later);
        assert_eq!(decision, Decision::Limited { retry_after: Duration::from_millis(750) });
        assert_eq!(stored, None, "a refused request leaves the state alone");

        assert!(matches!(decide(&q, tat, t0 + SECOND_US - 1).0, Decision::Limited { .. }));
        assert_eq!(
            decide(&q, tat, t0 + SECOND_US).0,
            Decision::Allowed { remaining: 0, reset_after: Duration::from_secs(2) }
        );
    }

    #[test]
    fn one_request_comes_back_after_each_interval() {
        let q = quota(60, 10);
        let (_, tat) = run(&q, None, 0, 10);
        let (decisions, tat) = run(&q, tat, SECOND_US, 2);
        assert_eq!(allowed(&decisions), 1);
        let (decisions, _) = run(&q, tat, 3 * SECOND_US, 3);
        assert_eq!(allowed(&decisions), 2);
    }

    #[test]
    fn an_idle_key_behaves_as_fresh() {
        let q = quota(60, 10);
        let (_, tat) = run(&q, None, 0, 10);
        let much_later = 3600 * SECOND_US;
        assert_eq!(decide(&q, tat, much_later), decide(&q, None, much_later));
        assert_eq!(
            decide(&q, tat, much_later).0,
            Decision::Allowed { remaining: 9, reset_after: Duration::from_secs(1) }
        );
    }

    #[test]
    fn a_burst_of_one_allows_one_request_per_interval() {
        let q = quota(6000, 1);
        let (decisions, tat) = run(&q, None, 0, 2);
        assert_eq!(decisions[0], Decision::Allowed { remaining: 0, reset_after: Duration::from_millis(10) });
        assert_eq!(decisions[1], Decision::Limited { retry_after: Duration::from_millis(10) });
        assert!(matches!(decide(&q, tat, 10_000).0, Decision::Allowed { .. }));
    }
}
