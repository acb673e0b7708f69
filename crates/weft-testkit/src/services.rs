//! Shared services a test may need beyond the database.

pub const REDIS_URL_VAR: &str = "WEFT_TEST_REDIS_URL";

/// The Redis server for tests of shared state, if the run has one. Under `CI=true` a missing one
/// is a failure, so CI never silently skips the Redis half of a test.
pub fn redis_url() -> Option<String> {
    let url = std::env::var(REDIS_URL_VAR).ok().filter(|url| !url.is_empty());
    if url.is_none() && std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true but {REDIS_URL_VAR} is not set: the Redis tests would be skipped");
    }
    url
}
