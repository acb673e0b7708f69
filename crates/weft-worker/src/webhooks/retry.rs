//! When a failed delivery is tried again: the retry schedule with its jitter, the receiver's
//! `Retry-After`, and the per-endpoint rate limit. Pure, so it is tested without a clock.

use std::collections::HashMap;
use std::time::Duration;

use weft_domain::WebhookEndpointId;

/// Svix's schedule (SPECS §2): the first attempt at once, then 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h and 10 h after each failure: 8 attempts over about 27.5 hours.
pub const DEFAULT_SCHEDULE_SECS: [u64; 8] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

/// The waits of a delivery's attempts. Entry `n` is the wait before attempt `n + 1`; the first
/// attempt is sent as soon as its event commits, so entry 0 only counts it. There are as many
/// attempts as entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::from_secs(&DEFAULT_SCHEDULE_SECS)
    }
}

impl RetrySchedule {
    pub fn from_secs(secs: &[u64]) -> Self {
        Self(secs.iter().map(|&s| Duration::from_secs(s)).collect())
    }

    /// When to try again after `attempts` attempts failed, the last at `now` (epoch ms):
    /// the scheduled wait give or take 10 % (`jitter` in -1..=1 scales that), but no sooner
    /// than the receiver's `retry_after`. `None` when the attempts are used up.
    pub fn next_attempt_at(&self, attempts: i64, now: i64, jitter: f64, retry_after: Option<i64>) -> Option<i64> {
        let wait = self.0.get(usize::try_from(attempts).ok()?)?;
        let wait_ms = wait.as_millis() as f64 * (1.0 + 0.1 * jitter.clamp(-1.0, 1.0));
        let scheduled = now.saturating_add(wait_ms.round() as i64);
        Some(retry_after.map_or(scheduled, |at| scheduled.max(at)))
    }
}

/// A `Retry-After` value as epoch ms: delay seconds, or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u32>() {
        return Some(now.saturating_add(i64::from(secs) * 1000));
    }
    jiff::fmt::rfc2822::parse(value).ok().map(|zoned| zoned.timestamp().as_millisecond())
}

/// Spaces the deliveries to each rate-limited endpoint at least `1000 / limit` ms apart, in this
/// process. A delivery that comes too early is deferred to its slot, not failed.
#[derive(Debug, Default)]
pub struct EndpointPacer {
    next_free: HashMap<WebhookEndpointId, i64>,
}

impl EndpointPacer {
    /// `None` if the delivery may go now (its slot is taken), or the time it may go.
    pub fn admit(&mut self, endpoint: &WebhookEndpointId, per_second: u32, now: i64) -> Option<i64> {
        let spacing = 1000 / i64::from(per_second.max(1));
        let free = self.next_free.get(endpoint).copied().unwrap_or(i64::MIN);
        if free > now {
            return Some(free);
        }
        self.next_free.insert(endpoint.clone(), now + spacing);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_eight_attempts_with_svix_waits() {
        let schedule = RetrySchedule::default();
        let now = 1_000_000;
        assert_eq!(schedule.next_attempt_at(1, now, 0.0, None), Some(now + 5_000));
        assert_eq!(schedule.next_attempt_at(2, now, 0.0, None), Some(now + 300_000));
        assert_eq!(schedule.next_attempt_at(7, now, 0.0, None), Some(now + 36_000_000));
        assert_eq!(schedule.next_attempt_at(8, now, 0.0, None), None, "8 attempts in all");
    }

    #[test]
    fn jitter_moves_a_wait_by_at_most_ten_percent() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.next_attempt_at(2, 0, 1.0, None), Some(330_000));
        assert_eq!(schedule.next_attempt_at(2, 0, -1.0, None), Some(270_000));
        assert_eq!(schedule.next_attempt_at(2, 0, 7.0, None), Some(330_000), "clamped");
    }

    #[test]
    fn retry_after_is_a_minimum_not_a_maximum() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.next_attempt_at(1, 0, 0.0, Some(60_000)), Some(60_000));
        assert_eq!(schedule.next_attempt_at(2, 0, 0.0, Some(60_000)), Some(300_000));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("120", 1_000), Some(121_000));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 0), Some(784_111_777_000));
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn a_rate_limited_endpoint_is_paced_and_others_are_not() {
        let mut pacer = EndpointPacer::default();
        let (slow, other) = (WebhookEndpointId::generate(), WebhookEndpointId::generate());
        assert_eq!(pacer.admit(&slow, 2, 0), None);
        assert_eq!(pacer.admit(&slow, 2, 100), Some(500), "deferred to its slot");
        assert_eq!(pacer.admit(&other, 2, 100), None);
        assert_eq!(pacer.admit(&slow, 2, 500), None);
    }
}
