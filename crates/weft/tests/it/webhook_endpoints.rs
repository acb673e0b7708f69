//! Outbound webhooks end to end: a local receiver (allow-listed) records every delivery and
//! checks its signature with an HMAC written here, independent of weft-domain's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signatures: Vec<String>,
    body: String,
}

/// An HTTP receiver on 127.0.0.1 that answers with `script` in turn (then 200) and keeps what
/// it got.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: Vec<(u16, Vec<(&'static str, &'static str)>)>) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::<Received>::new()));
        let script = Arc::new(Mutex::new(script.into_iter()));
        let app = axum::Router::new().fallback({
            let got = Arc::clone(&got);
            move |headers: HeaderMap, body: String| {
                let (got, script) = (Arc::clone(&got), Arc::clone(&script));
                async move {
                    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    got.lock().unwrap().push(Received {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signatures: header("webhook-signature").split(' ').map(str::to_owned).collect(),
                        body,
                    });
                    let (status, extra) = script.lock().unwrap().next().unwrap_or((200, Vec::new()));
                    let mut response_headers = HeaderMap::new();
                    for (name, value) in extra {
                        response_headers.insert(name, value.parse().unwrap());
                    }
                    (StatusCode::from_u16(status).unwrap(), response_headers, "thanks")
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, got }
    }

    /// Waits (up to 20 s) until `count` requests arrived; returns them all.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver got {} requests, not {count}", self.got.lock().unwrap().len());
    }
}

/// Standard Webhooks verification, written from the spec: HMAC-SHA256 keyed with the base64
/// after `whsec_`, over `{id}.{timestamp}.{body}`, as `v1,<base64>`.
fn signed_by(secret: &str, received: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("whsec_ prefix")).expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received.signatures.contains(&expected)
}

async fn spawn_allowing_loopback(backend: weft_testkit::TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        config.outbound_allow_cidrs = vec!["127.0.0.0/8".to_owned()];
        // Retries at once, so failing receivers do not make the tests wait.
        config.webhook_retry_schedule = vec![0; 8];
    })
    .await
}

/// Creates an endpoint; returns its id and secret.
async fn new_endpoint(app: &TestApp, ws: &TestWorkspace, body: Value) -> (String, String) {
    let created: Value =
        expect_status(app.post(&ws.path("/webhook-endpoints"), Some(&ws.owner.access_token), &body).await, 201).await;
    (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

async fn attempts(app: &TestApp, ws: &TestWorkspace, endpoint: &str) -> Vec<Value> {
    let path = ws.path(&format!("/webhook-endpoints/{endpoint}/attempts"));
    let page: Value = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
    page["items"].as_array().unwrap().clone()
}

async fn events_of_type(app: &TestApp, ws: &TestWorkspace, event_type: &str) -> Vec<Value> {
    let page: Value = expect_status(
        app.get(&ws.path(&format!("/events?type={event_type}")), Some(&ws.owner.access_token)).await,
        200,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

async fn endpoint(app: &TestApp, ws: &TestWorkspace, id: &str) -> Value {
    let path = ws.path(&format!("/webhook-endpoints/{id}"));
    expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await
}

/// Waits until the endpoint's attempts number `count`.
async fn wait_for_attempts(app: &TestApp, ws: &TestWorkspace, id: &str, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let found = attempts(app, ws, id).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} attempts recorded");
}

backend_test! {
    async fn a_receiver_failing_twice_gets_three_signed_attempts_of_one_delivery(backend) {
        let app = spawn_allowing_loopback(backend).await;
        let ws = app.new_workspace("hooks@example.com").await;
        let receiver = Receiver::start(vec![(500, vec![]), (503, vec![])]).await;
        let (id, secret) =
            new_endpoint(&app, &ws, json!({ "url": receiver.url, "event_types": ["workflow.created"] })).await;
        let workflow = app.new_workflow(&ws, "signed").await;

        let got = receiver.wait_for(3).await;
        assert!(got.iter().all(|r| signed_by(&secret, r)), "every delivery verifies: {got:?}");
        assert!(got.iter().all(|r| r.id == got[0].id), "one webhook-id across retries");
        let body: Value = serde_json::from_str(&got[2].body).unwrap();
        assert_eq!(body["type"], "workflow.created");
        assert_eq!(body["data"]["workflow"]["id"], workflow.as_str());
        let recorded = wait_for_attempts(&app, &ws, &id, 3).await;
        let outcomes: Vec<_> = recorded.iter().map(|a| (a["succeeded"].as_bool().unwrap(), a["status_code"].as_u64())).collect();
        assert_eq!(outcomes, [(true, Some(200)), (false, Some(503)), (false, Some(500))], "newest first");
        assert_eq!(recorded[0]["response"], "thanks");
        assert_eq!(recorded[0]["event_id"], got[0].id.as_str());
    }
}

backend_test! {
    async fn a_rotated_secret_signs_alongside_the_old_one_for_a_day(backend) {
        let app = spawn_allowing_loopback(backend).await;
        let ws = app.new_workspace("rotate@example.com").await;
        let receiver = Receiver::start(vec![]).await;
        let (id, old) = new_endpoint(&app, &ws, json!({ "url": receiver.url })).await;
        let owner = Some(ws.owner.access_token.as_str());
        let rotated: Value = expect_status(
            app.post(&ws.path(&format!("/webhook-endpoints/{id}/rotate-secret")), owner, &json!({})).await,
            200,
        )
        .await;
        let new = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);

        let test = ws.path(&format!("/webhook-endpoints/{id}/test"));
        expect_status::<Value>(app.post(&test, owner, &json!({})).await, 202).await;
        let first = receiver.wait_for(1).await.remove(0);
        assert_eq!(first.signatures.len(), 2, "{first:?}");
        assert!(signed_by(&old, &first) && signed_by(&new, &first));

        // A day later (the overlap's end moved into the past) only the new secret signs.
        app.execute_sql("UPDATE webhook_endpoints SET previous_secret_until = 1").await;
        expect_status::<Value>(app.post(&test, owner, &json!({})).await, 202).await;
        let second = receiver.wait_for(2).await.remove(1);
        assert_eq!(second.signatures.len(), 1, "{second:?}");
        assert!(signed_by(&new, &second) && !signed_by(&old, &second));
        let body: Value = serde_json::from_str(&second.body).unwrap();
        assert_eq!(body["type"], "endpoint.test");
    }
}

backend_test! {
    async fn gone_disables_the_endpoint_and_records_endpoint_disabled(backend) {
        let app = spawn_allowing_loopback(backend).await;
        let ws = app.new_workspace("gone@example.com").await;
        let receiver = Receiver::start(vec![(410, vec![])]).await;
        let (id, _) = new_endpoint(&app, &ws, json!({ "url": receiver.url })).await;
        let owner = Some(ws.owner.access_token.as_str());
        expect_status::<Value>(app.post(&ws.path(&format!("/webhook-endpoints/{id}/test")), owner, &json!({})).await, 202)
            .await;
        wait_for_attempts(&app, &ws, &id, 1).await;
        // The attempt is recorded first, then the endpoint disabled.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let disabled = loop {
            let current = endpoint(&app, &ws, &id).await;
            if current["enabled"] == false || std::time::Instant::now() > deadline {
                break current;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert_eq!(disabled["enabled"], false);
        assert_eq!(disabled["disabled_reason"], "the endpoint answered 410 Gone");
        let events = events_of_type(&app, &ws, "endpoint.disabled").await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["payload"]["data"]["endpoint"]["id"], id.as_str());
        app.smtp.next_message().await;
    }
}

backend_test! {
    async fn five_days_of_failure_disable_the_endpoint_and_email_the_admins(backend) {
        let app = spawn_allowing_loopback(backend).await;
        let ws = app.new_workspace("failing@example.com").await;
        let receiver = Receiver::start(vec![(500, vec![]); 20]).await;
        let (id, _) = new_endpoint(&app, &ws, json!({ "url": receiver.url, "event_types": ["run.failed"] })).await;
        // Failing for six days already.
        let six_days_ago = weft_store::now_ms() - 6 * 24 * 60 * 60 * 1000;
        app.execute_sql(&format!("UPDATE webhook_endpoints SET failing_since = {six_days_ago}")).await;
        let owner = Some(ws.owner.access_token.as_str());
        expect_status::<Value>(app.post(&ws.path(&format!("/webhook-endpoints/{id}/test")), owner, &json!({})).await, 202)
            .await;
        let mail = app.smtp.next_message().await;
        assert!(mail.text_body().contains(&id), "{}", mail.text_body());
        assert_eq!(mail.subject(), "A webhook endpoint was disabled");
        let disabled = endpoint(&app, &ws, &id).await;
        assert_eq!(disabled["enabled"], false);
        assert_eq!(disabled["disabled_reason"], "every delivery to the endpoint failed for 5 days");
        assert_eq!(events_of_type(&app, &ws, "endpoint.disabled").await.len(), 1);
    }
}

backend_test! {
    async fn a_redirect_is_a_failed_attempt_and_retry_after_delays_the_next(backend) {
        let app = spawn_allowing_loopback(backend).await;
        let ws = app.new_workspace("redirect@example.com").await;
        let receiver = Receiver::start(vec![
            (302, vec![("location", "http://127.0.0.1:9/elsewhere")]),
            (503, vec![("retry-after", "3")]),
        ])
        .await;
        let (id, _) = new_endpoint(&app, &ws, json!({ "url": receiver.url })).await;
        let owner = Some(ws.owner.access_token.as_str());
        expect_status::<Value>(app.post(&ws.path(&format!("/webhook-endpoints/{id}/test")), owner, &json!({})).await, 202)
            .await;
        let recorded = wait_for_attempts(&app, &ws, &id, 2).await;
        assert_eq!(recorded[1]["status_code"], 302);
        assert!(recorded[1]["error"].as_str().unwrap().contains("redirects are not followed"));
        assert_eq!(recorded[0]["status_code"], 503);
        // The schedule says "at once", Retry-After says 3 s: the next attempt waits.
        let deferred = app
            .execute_sql("UPDATE webhook_deliveries SET manual = manual WHERE status = 'pending' AND next_attempt_at >= updated_at + 2900")
            .await;
        assert_eq!(deferred, 1, "the next attempt is at least Retry-After away");
        let recorded = wait_for_attempts(&app, &ws, &id, 3).await;
        assert_eq!(recorded[0]["succeeded"], true);
        assert_eq!(recorded.iter().filter(|a| a["trigger"] == "manual").count(), 3, "a test is a manual delivery");
    }
}

backend_test! {
    async fn private_and_local_urls_are_refused_unless_allow_listed(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ssrf@example.com").await;
        let owner = Some(ws.owner.access_token.as_str());
        for url in [
            "http://127.0.0.1/hook",
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://localhost:8080/hook",
        ] {
            let refused: Value =
                expect_status(app.post(&ws.path("/webhook-endpoints"), owner, &json!({ "url": url })).await, 400).await;
            assert_eq!(refused["type"], "https://weft.dev/problems/blocked-url", "{url}");
            assert!(refused["detail"].as_str().unwrap().contains("not allowed"), "{refused}");
        }
        let bad: Value =
            expect_status(app.post(&ws.path("/webhook-endpoints"), owner, &json!({ "url": "ftp://x.example" })).await, 422)
                .await;
        assert_eq!(bad["errors"][0]["pointer"], "/url");

        let allowing = TestApp::spawn_with(backend, |c| c.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await;
        let ws = allowing.new_workspace("ssrf-allowed@example.com").await;
        let body = json!({ "url": "http://[::ffff:127.0.0.1]/hook" });
        expect_status::<Value>(
            allowing.post(&ws.path("/webhook-endpoints"), Some(&ws.owner.access_token), &body).await,
            201,
        )
        .await;
    }
}

backend_test! {
    async fn replay_sends_the_same_event_again_and_run_ends_are_events(backend) {
        let app = spawn_allowing_loopback(backend).await;
        let ws = app.new_workspace("replay@example.com").await;
        let receiver = Receiver::start(vec![]).await;
        let (id, secret) =
            new_endpoint(&app, &ws, json!({ "url": receiver.url, "event_types": ["run.succeeded"] })).await;
        let owner = Some(ws.owner.access_token.as_str());
        let workflow = app.new_workflow(&ws, "replayed").await;
        let runs = ws.path(&format!("/workflows/{workflow}/runs"));
        let run: Value = expect_status(app.post(&runs, owner, &json!({ "version": 1 })).await, 202).await;

        let first = receiver.wait_for(1).await.remove(0);
        let body: Value = serde_json::from_str(&first.body).unwrap();
        assert_eq!(body["type"], "run.succeeded");
        assert_eq!(body["data"]["run"]["id"], run["run_id"]);
        assert_eq!(body["data"]["run"]["status"], "succeeded");
        assert!(body["data"]["run"].get("output").is_none(), "payloads stay small");

        let replay = ws.path(&format!("/events/{}/replay", first.id));
        let replayed: Value = expect_status(app.post(&replay, owner, &json!({})).await, 202).await;
        assert_eq!(replayed["deliveries"], 1);
        let again = receiver.wait_for(2).await.remove(1);
        assert_eq!((again.id.as_str(), again.body.as_str()), (first.id.as_str(), first.body.as_str()));
        assert!(signed_by(&secret, &again));
        let replay_one = ws.path(&format!("/events/{}/replay?endpoint={id}", first.id));
        expect_status::<Value>(app.post(&replay_one, owner, &json!({})).await, 202).await;
        receiver.wait_for(3).await;

        // Only workflow.created went out besides (filtered away); a refused publish leaves no event.
        let publish = ws.path(&format!("/workflows/{workflow}/publish"));
        app.post(&publish, owner, &json!({ "version": 99 })).await;
        assert!(events_of_type(&app, &ws, "workflow.published").await.is_empty());
        expect_status::<Value>(app.post(&publish, owner, &json!({ "version": 1 })).await, 200).await;
        assert_eq!(events_of_type(&app, &ws, "workflow.published").await.len(), 1);
    }
}
