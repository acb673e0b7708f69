//! Request rate limiting: the GCRA of [`weft_domain::rate_limit`] over a store of one TAT per key,
//! either in this process or in Redis so every process of a deployment spends one budget, and the
//! IETF `RateLimit-Policy` / `RateLimit` response headers. A failing Redis degrades to the
//! in-process store: a request is never refused because the limiter is unwell.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use weft_domain::rate_limit::{Decision, Quota, decide};

const KEY_PREFIX: &str = "weft:rl:";
/// How long a request waits for Redis before it is decided in process instead.
const REDIS_DEADLINE: Duration = Duration::from_millis(250);
const SHARDS: usize = 16;
/// Keys per shard above which keys with a past TAT are swept before another is added.
const SWEEP_ABOVE: usize = 1024;

/// GCRA on Redis's own clock, so processes whose clocks disagree still share one budget.
/// KEYS[1]: the key; ARGV[1]: the emission interval T and ARGV[2]: the tolerance τ, both in µs.
/// Applies the rule of [`decide`] and returns `{now, tat}` (the TAT it read, or now) for
/// [`decide`] to turn into the same decision. A key expires when its TAT passes, the moment it
/// becomes equal to no key. Numbers stay below 2^53, so Lua's doubles hold them exactly; they are
/// written with `%.0f` because Redis may print a large number in exponent form.
const GCRA_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now)
if now + tolerance >= tat then
  local new_tat = tat + interval
  local ttl_ms = math.ceil((new_tat - now) / 1000)
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', ttl_ms))
end
return {now, tat}
";

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("the Redis URL is invalid")]
    Url(#[source] RedisError),
    #[error("Redis did not answer")]
    Connect(#[source] RedisError),
}

/// Decides requests against per-key quotas. Clones share one store.
#[derive(Clone)]
pub struct RateLimiter(Arc<Stores>);

struct Stores {
    local: LocalStore,
    redis: Option<RedisStore>,
}

impl RateLimiter {
    /// Limits each process on its own: right for a single instance.
    pub fn in_process() -> Self {
        RateLimiter::with(None)
    }

    /// Shares the budget through Redis. Connects and pings, so a wrong URL fails at start.
    pub async fn redis(url: &str) -> Result<Self, RateLimitError> {
        let store = RedisStore::open(url)?;
        let mut connection = store.connection.clone();
        redis::cmd("PING").query_async::<()>(&mut connection).await.map_err(RateLimitError::Connect)?;
        Ok(RateLimiter::with(Some(store)))
    }

    fn with(redis: Option<RedisStore>) -> Self {
        RateLimiter(Arc::new(Stores { local: LocalStore::new(), redis }))
    }

    /// Counts one request for `key`. Never fails: if Redis does not answer in time the request
    /// is decided by this process's store, trading strictness for availability.
    pub async fn check(&self, key: &str, quota: &Quota) -> Decision {
        if let Some(redis) = &self.0.redis {
            match tokio::time::timeout(REDIS_DEADLINE, redis.check(key, quota)).await {
                Ok(Ok(decision)) => return decision,
                Ok(Err(error)) => tracing::warn!(error = %error, "Redis rate limit failed; deciding in process"),
                Err(_) => tracing::warn!("Redis rate limit timed out; deciding in process"),
            }
        }
        self.0.local.check(key, quota)
    }
}

/// The response headers of draft-ietf-httpapi-ratelimit-headers for one policy, e.g.
/// `RateLimit-Policy: "api-key";q=60;w=60` and `RateLimit: "api-key";r=9;t=1`.
pub fn headers(policy: &str, quota: &Quota, decision: &Decision) -> Vec<(HeaderName, HeaderValue)> {
    let name = sf_string(policy);
    let (remaining, wait) = match *decision {
        Decision::Allowed { remaining, reset_after } => (remaining, reset_after),
        Decision::Limited { retry_after } => (0, retry_after),
    };
    let policy_value = format!("{name};q={};w=60", quota.per_minute);
    let limit_value = format!("{name};r={remaining};t={}", whole_seconds_up(wait));
    [("ratelimit-policy", policy_value), ("ratelimit", limit_value)]
        .into_iter()
        .map(|(header, value)| {
            let value = HeaderValue::try_from(value).expect("printable ASCII is a valid header value");
            (HeaderName::from_static(header), value)
        })
        .collect()
}

/// A structured-field String (RFC 9651 §3.3.3). It can only hold printable ASCII, so anything
/// else is dropped rather than producing a field clients must ignore.
fn sf_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars().filter(|c| matches!(c, ' '..='~')) {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Delay-seconds are whole; rounding down would invite a retry that is refused again.
fn whole_seconds_up(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// TATs in this process, on a monotonic clock so wall-clock steps cannot reset a budget.
/// Sharded so concurrent requests for different keys rarely wait for one another.
struct LocalStore {
    started: Instant,
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

impl LocalStore {
    fn new() -> Self {
        LocalStore {
            started: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
        }
    }

    fn check(&self, key: &str, quota: &Quota) -> Decision {
        let now_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let shard = &self.shards[(self.hasher.hash_one(key) % SHARDS as u64) as usize];
        // A shard stays consistent even if a holder panicked; keep using it.
        shard.lock().unwrap_or_else(PoisonError::into_inner).check(key, quota, now_us)
    }
}

struct Shard {
    tats: HashMap<String, u64>,
    /// Raised with the number of live keys, so the cost of a sweep is spread over the insertions
    /// that made it necessary.
    sweep_above: usize,
}

impl Shard {
    fn new() -> Self {
        Shard { tats: HashMap::new(), sweep_above: SWEEP_ABOVE }
    }

    fn check(&mut self, key: &str, quota: &Quota, now_us: u64) -> Decision {
        let (decision, new_tat) = decide(quota, self.tats.get(key).copied(), now_us);
        if let Some(new_tat) = new_tat {
            match self.tats.get_mut(key) {
                Some(tat) => *tat = new_tat,
                None => {
                    self.sweep(now_us);
                    self.tats.insert(key.to_owned(), new_tat);
                }
            }
        }
        decision
    }

    /// Forgets keys whose TAT has passed: their bucket is full, the same as having no entry.
    fn sweep(&mut self, now_us: u64) {
        if self.tats.len() < self.sweep_above {
            return;
        }
        self.tats.retain(|_, tat| *tat > now_us);
        self.sweep_above = SWEEP_ABOVE.max(self.tats.len() * 2);
    }
}

struct RedisStore {
    connection: ConnectionManager,
    script: Script,
}

impl RedisStore {
    /// Does not connect yet; the manager connects on first use and reconnects after a failure.
    fn open(url: &str) -> Result<Self, RateLimitError> {
        let client = redis::Client::open(url).map_err(RateLimitError::Url)?;
        // Few, short retries: a request waits no longer than REDIS_DEADLINE anyway, and a server
        // that is down should fail the start within seconds.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500))
            .set_response_timeout(Some(REDIS_DEADLINE));
        let connection = ConnectionManager::new_lazy_with_config(client, config).map_err(RateLimitError::Connect)?;
        Ok(RedisStore { connection, script: Script::new(GCRA_SCRIPT) })
    }

    async fn check(&self, key: &str, quota: &Quota) -> Result<Decision, RedisError> {
        let mut connection = self.connection.clone();
        // EVALSHA, falling back to EVAL once when Redis does not have the script cached.
        let (now_us, tat_us): (u64, u64) = self
            .script
            .key(format!("{KEY_PREFIX}{key}"))
            .arg(quota.emission_interval_us())
            .arg(quota.tolerance_us())
            .invoke_async(&mut connection)
            .await?;
        Ok(decide(quota, Some(tat_us), now_us).0)
    }
}

#[cfg(test)]
mod tests {
    use tokio::task::JoinSet;

    use super::*;

    const REDIS_URL_VAR: &str = "WEFT_TEST_REDIS_URL";

    /// The Redis to test against, if the run has one. Under `CI=true` a missing one is a
    /// failure, so CI cannot silently skip the shared store.
    fn redis_url() -> Option<String> {
        match std::env::var(REDIS_URL_VAR) {
            Ok(url) => Some(url),
            Err(_) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                panic!("CI=true but {REDIS_URL_VAR} is not set: the Redis rate limit tests would be skipped")
            }
            Err(_) => {
                eprintln!("skipped: set {REDIS_URL_VAR} to run the Redis rate limit tests");
                None
            }
        }
    }

    /// A key no other test or earlier run uses.
    fn fresh_key() -> String {
        format!("test:{}", ulid::Ulid::new())
    }

    fn quota(per_minute: u32, burst: u32) -> Quota {
        Quota::new(per_minute, burst).expect("a valid quota")
    }

    fn header_map(headers: Vec<(HeaderName, HeaderValue)>) -> HashMap<String, String> {
        headers.into_iter().map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned())).collect()
    }

    /// Sends `n` requests for one key at once and counts the accepted ones.
    async fn allowed_of_concurrent(limiter: &RateLimiter, key: &str, quota: Quota, n: usize) -> usize {
        let mut tasks = JoinSet::new();
        for _ in 0..n {
            let (limiter, key) = (limiter.clone(), key.to_owned());
            tasks.spawn(async move { limiter.check(&key, &quota).await });
        }
        tasks.join_all().await.iter().filter(|d| matches!(d, Decision::Allowed { .. })).count()
    }

    #[test]
    fn allowed_headers_carry_the_quota_the_remaining_and_the_reset() {
        let decision = Decision::Allowed { remaining: 9, reset_after: Duration::from_millis(1_200) };
        let headers = header_map(headers("api-key", &quota(60, 10), &decision));
        assert_eq!(headers["ratelimit-policy"], r#""api-key";q=60;w=60"#);
        assert_eq!(headers["ratelimit"], r#""api-key";r=9;t=2"#);
    }

    #[test]
    fn limited_headers_report_nothing_remaining_until_the_retry() {
        let decision = Decision::Limited { retry_after: Duration::from_secs(30) };
        let headers = header_map(headers("ip", &quota(120, 5), &decision));
        assert_eq!(headers["ratelimit-policy"], r#""ip";q=120;w=60"#);
        assert_eq!(headers["ratelimit"], r#""ip";r=0;t=30"#);
    }

    #[test]
    fn policy_names_are_escaped_as_structured_field_strings() {
        assert_eq!(sf_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(sf_string("naïve\n"), r#""nave""#);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn in_process_store_allows_exactly_the_burst_to_concurrent_requests() {
        let limiter = RateLimiter::in_process();
        assert_eq!(allowed_of_concurrent(&limiter, "user:ada", quota(60, 10), 50).await, 10);
        let other = limiter.check("user:bob", &quota(60, 10)).await;
        assert!(matches!(other, Decision::Allowed { remaining: 9, .. }), "other keys are unaffected: {other:?}");
    }

    #[test]
    fn a_full_shard_forgets_keys_whose_tat_has_passed() {
        let q = quota(60, 1);
        let mut shard = Shard::new();
        for i in 0..SWEEP_ABOVE - 1 {
            shard.check(&format!("old-{i}"), &q, 0);
        }
        shard.check("live", &q, 900_000);
        assert_eq!(shard.tats.len(), SWEEP_ABOVE, "no sweep below the bar");

        shard.check("new", &q, 1_000_000);
        assert_eq!(shard.tats.len(), 2, "only the live key and the new one remain");
        assert!(matches!(shard.check("live", &q, 1_000_000), Decision::Limited { .. }), "live state is kept");
    }

    #[tokio::test]
    async fn a_bad_redis_url_or_an_unreachable_server_fails_at_start() {
        let bad = RateLimiter::redis("http://127.0.0.1:6379").await;
        assert!(matches!(bad, Err(RateLimitError::Url(_))));

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let unreachable = RateLimiter::redis(&format!("redis://{closed}")).await;
        assert!(matches!(unreachable, Err(RateLimitError::Connect(_))));
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_the_in_process_store() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let limiter = RateLimiter::with(Some(RedisStore::open(&format!("redis://{closed}")).unwrap()));
        let q = quota(60, 2);
        assert!(matches!(limiter.check("k", &q).await, Decision::Allowed { remaining: 1, .. }));
        assert!(matches!(limiter.check("k", &q).await, Decision::Allowed { remaining: 0, .. }));
        assert!(matches!(limiter.check("k", &q).await, Decision::Limited { .. }));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_store_allows_exactly_the_burst_to_concurrent_requests() {
        let Some(url) = redis_url() else { return };
        let limiter = RateLimiter::redis(&url).await.expect("Redis answers");
        assert_eq!(allowed_of_concurrent(&limiter, &fresh_key(), quota(60, 10), 50).await, 10);
    }

    #[tokio::test]
    async fn two_redis_limiters_share_one_budget() {
        let Some(url) = redis_url() else { return };
        let (a, b) = (RateLimiter::redis(&url).await.unwrap(), RateLimiter::redis(&url).await.unwrap());
        let (key, q) = (fresh_key(), quota(60, 5));
        for expected in [4, 3, 2] {
            let decision = a.check(&key, &q).await;
            assert!(matches!(decision, Decision::Allowed { remaining, .. } if remaining == expected), "{decision:?}");
        }
        for expected in [1, 0] {
            let decision = b.check(&key, &q).await;
            assert!(matches!(decision, Decision::Allowed { remaining, .. } if remaining == expected), "{decision:?}");
        }
        for limiter in [&a, &b] {
            let decision = limiter.check(&key, &q).await;
            let Decision::Limited { retry_after } = decision else {
                panic!("the shared budget is spent: {decision:?}")
            };
            assert!(retry_after <= Duration::from_secs(1), "{retry_after:?}");
        }
    }

    #[tokio::test]
    async fn redis_keys_expire_when_the_bucket_is_full_again() {
        let Some(url) = redis_url() else { return };
        let limiter = RateLimiter::redis(&url).await.unwrap();
        let (key, q) = (fresh_key(), quota(60, 10));
        for _ in 0..3 {
            limiter.check(&key, &q).await;
        }
        let mut connection = limiter.0.redis.as_ref().unwrap().connection.clone();
        let ttl_ms: i64 =
            redis::cmd("PTTL").arg(format!("{KEY_PREFIX}{key}")).query_async(&mut connection).await.unwrap();
        assert!((2_000..=3_000).contains(&ttl_ms), "expires when the TAT passes, 3 s ahead: {ttl_ms} ms");
    }
}
