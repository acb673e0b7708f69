//! A real `weft serve` is killed with SIGKILL while runs of a multi-step workflow are in flight,
//! then started again: every run finishes, and every node activation of every run has exactly
//! one successful attempt recorded — completed steps are never executed twice.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};
use weft_testkit::{TEST_PASSWORD, TestDb, backend_test};

use crate::cli::{serve, weft};

const RUNS: usize = 120;
const NODES: usize = 25;

/// Starts `weft serve` on the database with a short lease, and returns it with its base URL.
async fn start(dir: &Path, database_url: &str) -> (Child, String) {
    let mut command = weft(dir);
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--migrate", "--database-url", database_url])
        .env("WEFT_DATA_DIR", dir)
        .env("WEFT_RUN_LEASE_SECS", "3")
        .env("WEFT_WORKER_CONCURRENCY", "4");
    without_rate_limits(&mut command);
    let (child, url) = serve(command).await;
    (child, format!("{url}/api/v1"))
}

/// One client sends everything in these tests.
pub(crate) fn without_rate_limits(command: &mut Command) {
    command
        .env("WEFT_RATE_LIMIT_PER_MINUTE", "1000000")
        .env("WEFT_RATE_LIMIT_BURST", "100000")
        .env("WEFT_RATE_LIMIT_IP_PER_MINUTE", "1000000")
        .env("WEFT_RATE_LIMIT_IP_BURST", "100000");
}

pub(crate) async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {value}");
    value
}

/// A new account with a workspace and an API key for workflows and runs (in the database, so it
/// outlives any process); returns the workspace's id and the key.
pub(crate) async fn workspace_with_key(client: &reqwest::Client, api: &str) -> (String, String) {
    let register = json!({"email": "ops@example.com", "password": TEST_PASSWORD, "name": "Ops"});
    client.post(format!("{api}/auth/register")).json(&register).send().await.unwrap();
    let login = json!({"email": "ops@example.com", "password": TEST_PASSWORD});
    let tokens: Value =
        client.post(format!("{api}/auth/login")).json(&login).send().await.unwrap().json().await.unwrap();
    let user = tokens["access_token"].as_str().unwrap().to_owned();
    let workspaces = call(client, reqwest::Method::GET, &format!("{api}/workspaces"), &user, None).await;
    let ws_id = workspaces["items"][0]["id"].as_str().unwrap().to_owned();
    let scopes = json!({"name": "ops", "scopes": ["workflows:write", "runs:write", "runs:read"]});
    let key_url = format!("{api}/workspaces/{ws_id}/api-keys");
    let key = call(client, reqwest::Method::POST, &key_url, &user, Some(scopes)).await;
    (ws_id, key["secret"].as_str().unwrap().to_owned())
}

async fn count(client: &reqwest::Client, base: &str, key: &str, status: &str) -> usize {
    let page = call(client, reqwest::Method::GET, &format!("{base}?status={status}&limit=200"), key, None).await;
    page["items"].as_array().unwrap().len()
}

backend_test! {
    async fn runs_killed_mid_flight_finish_after_a_restart_without_repeating_a_step(backend) {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let (mut first, api) = start(dir.path(), &db.url).await;

        let (ws_id, key) = workspace_with_key(&client, &api).await;
        let ws = format!("{api}/workspaces/{ws_id}");

        // A chain of NODES steps after the trigger.
        let mut nodes = vec![json!({"name": "Start", "type": "manual_trigger"})];
        let mut connections = Vec::new();
        // Every fifth step computes for 10 ms, so runs are still in flight when the process dies.
        for n in 0..NODES {
            let name = format!("Step {n}");
            if n % 5 == 0 {
                let code = format!("const end = Date.now() + 10; while (Date.now() < end) {{}} return items.map(i => ({{json: {{...i.json, s{n}: {n}}}}}))");
                nodes.push(json!({"name": name, "type": "code", "params": {"code": code}}));
            } else {
                nodes.push(json!({"name": name, "type": "set", "params": {"assignments": [{"name": format!("s{n}"), "value": n}]}}));
            }
            let from = if n == 0 { "Start".to_owned() } else { format!("Step {}", n - 1) };
            connections.push(json!({"from": from, "to": name}));
        }
        let body = json!({"name": "Long chain", "nodes": nodes, "connections": connections});
        let workflow = call(&client, reqwest::Method::POST, &format!("{ws}/workflows"), &key, Some(body)).await;
        let workflow = workflow["id"].as_str().unwrap().to_owned();
        let publish = format!("{ws}/workflows/{workflow}/publish");
        call(&client, reqwest::Method::POST, &publish, &key, Some(json!({"version": 1}))).await;
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            let started = call(&client, reqwest::Method::POST, &format!("{ws}/workflows/{workflow}/runs"), &key, Some(json!({}))).await;
            runs.push(started["run_id"].as_str().unwrap().to_owned());
        }

        // Kill the process once some runs are done and others are not.
        let runs_url = format!("{ws}/runs");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let done = count(&client, &runs_url, &key, "succeeded").await;
            if done > 0 {
                assert!(done < RUNS, "every run finished before the crash; make the workflow longer");
                break;
            }
            assert!(Instant::now() < deadline, "no run finished in 30 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pid = first.id().unwrap().to_string();
        assert!(Command::new("kill").args(["-KILL", &pid]).status().await.unwrap().success());
        first.wait().await.unwrap();

        // The same data directory and database; a new port.
        let (second, api) = start(dir.path(), &db.url).await;
        let runs_url = format!("{api}/workspaces/{ws_id}/runs");
        let deadline = Instant::now() + Duration::from_secs(60);
        while count(&client, &runs_url, &key, "succeeded").await < RUNS {
            assert_eq!(count(&client, &runs_url, &key, "failed").await, 0, "no run may fail");
            assert!(Instant::now() < deadline, "the runs did not all finish after the restart");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let mut retried = 0;
        for run in &runs {
            let steps = call(&client, reqwest::Method::GET, &format!("{runs_url}/{run}/steps?limit=200"), &key, None).await;
            let mut succeeded: HashMap<String, usize> = HashMap::new();
            for step in steps["items"].as_array().unwrap() {
                if step["status"] == "succeeded" {
                    *succeeded.entry(step["activation"].as_str().unwrap().to_owned()).or_default() += 1;
                }
                retried += usize::from(step["attempt"].as_i64().unwrap() > 1);
            }
            assert_eq!(succeeded.len(), NODES, "run {run}: every node ran: {succeeded:?}");
            assert!(succeeded.values().all(|n| *n == 1), "run {run}: a completed step ran twice: {succeeded:?}");
        }
        eprintln!("{RUNS} runs finished after the crash; {retried} steps in flight at the crash ran again");
        drop(second);
    }
}
