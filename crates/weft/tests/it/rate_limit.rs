//! Request budgets over HTTP: per user, per API key and per client address; in this process or
//! shared through Redis. N concurrent requests against a burst of B: exactly B succeed.

use futures_util::future::join_all;
use serde_json::{Value, json};
use weft::Secret;
use weft_testkit::{TestApp, TestBackend, expect_status, redis_url};

const BURST: u32 = 5;
const PER_MINUTE: u32 = 6;

async fn spawn_limited(redis: Option<&str>) -> TestApp {
    TestApp::spawn_with(TestBackend::Sqlite, |config| {
        config.rate_limit_per_minute = PER_MINUTE;
        config.rate_limit_burst = BURST;
        config.redis_url = redis.map(Secret::new);
    })
    .await
}

/// Sends `count` GETs at once and returns each response's status and headers.
async fn burst(app: &TestApp, path: &str, token: &str, count: usize) -> Vec<reqwest::Response> {
    join_all((0..count).map(|_| app.get(path, Some(token)))).await
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

async fn assert_exactly_the_burst_passes(responses: Vec<reqwest::Response>, policy: &str) {
    let (ok, limited): (Vec<_>, Vec<_>) = responses.into_iter().partition(|r| r.status() == 200);
    assert_eq!(ok.len(), BURST as usize, "exactly the burst passes");
    for response in &ok {
        assert_eq!(header(response, "ratelimit-policy"), format!("\"{policy}\";q={PER_MINUTE};w=60"));
        assert!(header(response, "ratelimit").starts_with(&format!("\"{policy}\";r=")), "{response:?}");
    }
    for response in limited {
        assert_eq!(response.status(), 429);
        let retry_after: u64 = header(&response, "retry-after").parse().expect("Retry-After seconds");
        assert!((1..=10).contains(&retry_after), "one request comes back every 10 s, not {retry_after}");
        assert_eq!(header(&response, "ratelimit"), format!("\"{policy}\";r=0;t={retry_after}"));
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "https://iana.org/assignments/http-problem-types#quota-exceeded");
        assert_eq!(problem["violated-policies"], json!([policy]));
    }
}

#[tokio::test]
async fn a_user_gets_exactly_the_burst_then_429_with_retry_after() {
    let app = spawn_limited(None).await;
    let user = app.new_user("ada@example.com").await;
    assert_exactly_the_burst_passes(burst(&app, "/api/v1/me", &user.access_token, 20).await, "user").await;
    // Someone else's budget is untouched.
    let other = app.new_user("bob@example.com").await;
    assert_eq!(app.get("/api/v1/me", Some(&other.access_token)).await.status(), 200);
}

#[tokio::test]
async fn an_api_key_has_its_own_budget() {
    let app = spawn_limited(None).await;
    let ws = app.new_workspace("owner@example.com").await;
    let (key, _) = app.new_api_key(&ws, &["workspace:read"]).await;
    assert_exactly_the_burst_passes(burst(&app, &ws.path(""), &key, 20).await, "api-key").await;
}

#[tokio::test]
async fn routes_without_a_credential_are_limited_per_address() {
    let app = TestApp::spawn_with(TestBackend::Sqlite, |config| {
        config.rate_limit_ip_per_minute = 60;
        config.rate_limit_ip_burst = 3;
    })
    .await;
    let bodies: Vec<Value> =
        (0..10).map(|i| json!({"email": format!("nobody{i}@example.com"), "password": "x"})).collect();
    let attempts = bodies.iter().map(|body| app.post("/api/v1/auth/login", None, body));
    let statuses: Vec<u16> = join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 7, "{statuses:?}");
}

#[tokio::test]
async fn redis_shares_one_budget_between_two_processes() {
    let Some(redis) = redis_url() else {
        eprintln!("skipped: set WEFT_TEST_REDIS_URL to run the Redis rate-limit test");
        return;
    };
    let first = spawn_limited(Some(&redis)).await;
    let user = first.new_user("ada@example.com").await;
    // A second Weft on the same database and Redis: the same token works on both.
    let database = first.config.database_url.clone();
    let second = TestApp::spawn_with(TestBackend::Sqlite, |config| {
        config.rate_limit_per_minute = PER_MINUTE;
        config.rate_limit_burst = BURST;
        config.redis_url = Some(Secret::new(redis.as_str()));
        config.database_url = database;
    })
    .await;
    let (a, b) = tokio::join!(
        burst(&first, "/api/v1/me", &user.access_token, 10),
        burst(&second, "/api/v1/me", &user.access_token, 10)
    );
    assert_exactly_the_burst_passes(a.into_iter().chain(b).collect(), "user").await;
    let _: Value = expect_status(second.get("/healthz", None).await, 200).await;
}
