//! Processes with one role each. On PostgreSQL, one `weft serve --roles api` process and three
//! `weft worker` processes share a database: 2,000 runs started through the API all succeed
//! though one worker is killed with SIGKILL midway, and every node activation of every run has
//! exactly one successful attempt. On SQLite a process with one role is refused.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use sqlx::Row;
use tokio::process::{Child, Command};
use weft_testkit::{TestBackend, TestDb};

use crate::cli::{serve, started, weft};
use crate::crash_recovery::{call, without_rate_limits, workspace_with_key};

const RUNS: usize = 2_000;
const WORKERS: usize = 3;
/// Set, code, set: the activations each run records. The code node takes 5 ms, so that a run
/// is still in flight between seeing the victim hold it and killing the victim.
const NODES: i64 = 3;
/// Far beyond the test's usual time (under a minute), so that only a stuck run fails it, not a
/// machine busy with other work.
const PATIENCE: Duration = Duration::from_secs(180);

async fn start_api(dir: &Path, database_url: &str) -> (Child, String) {
    let mut command = weft(dir);
    command
        .args(["serve", "--roles", "api", "--bind", "127.0.0.1:0", "--migrate", "--database-url", database_url])
        .env("WEFT_DATA_DIR", dir);
    without_rate_limits(&mut command);
    let (child, url) = serve(command).await;
    (child, format!("{url}/api/v1"))
}

/// Starts `weft worker`; returns it with its name in leases.
async fn start_worker(dir: &Path, database_url: &str) -> (Child, String) {
    let mut command = weft(dir);
    command
        .args(["worker", "--concurrency", "8", "--database-url", database_url])
        .env("WEFT_RUN_LEASE_SECS", "3")
        .env("WEFT_WORKSPACE_RUN_CAP", "1000")
        .env("WEFT_DB_MAX_CONNECTIONS", "8");
    let (child, ready) = started(command).await;
    assert!(ready.contains("worker role only"), "{ready}");
    let name = ready.split(" worker=").nth(1).and_then(|rest| rest.split_whitespace().next());
    (child, name.unwrap_or_else(|| panic!("no worker name in `{ready}`")).to_owned())
}

/// How many of the database's runs are in each state.
async fn statuses(db: &sqlx::PgPool) -> std::collections::HashMap<String, i64> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM runs GROUP BY status").fetch_all(db).await.unwrap();
    rows.iter().map(|row| (row.get("status"), row.get("n"))).collect()
}

#[tokio::test]
async fn an_api_process_and_three_workers_run_everything_once_though_a_worker_is_killed() {
    if TestBackend::postgres_admin_url().is_none() {
        eprintln!("skipped: set WEFT_TEST_DATABASE_URL to run the scale-out test on PostgreSQL");
        return;
    }
    let began = Instant::now();
    let db = TestDb::new(TestBackend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let (_api_process, api) = start_api(dir.path(), &db.url).await;
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        workers.push(start_worker(dir.path(), &db.url).await);
    }

    let (ws_id, key) = workspace_with_key(&client, &api).await;
    let ws = format!("{api}/workspaces/{ws_id}");
    let nodes = json!([
        {"name": "Start", "type": "manual_trigger"},
        {"name": "Tag", "type": "set", "params": {"assignments": [{"name": "tagged", "value": true}]}},
        {"name": "Double", "type": "code", "params": {"mode": "each_item", "code": "const end = Date.now() + 5; while (Date.now() < end) {} return {json: {...$json, n: $json.n * 2}}"}},
        {"name": "Done", "type": "set", "params": {"assignments": [{"name": "done", "value": true}]}},
    ]);
    let connections =
        json!([{"from": "Start", "to": "Tag"}, {"from": "Tag", "to": "Double"}, {"from": "Double", "to": "Done"}]);
    let body = json!({"name": "Scale out", "nodes": nodes, "connections": connections});
    let workflow = call(&client, reqwest::Method::POST, &format!("{ws}/workflows"), &key, Some(body)).await;
    let workflow = workflow["id"].as_str().unwrap().to_owned();
    call(
        &client,
        reqwest::Method::POST,
        &format!("{ws}/workflows/{workflow}/publish"),
        &key,
        Some(json!({"version": 1})),
    )
    .await;

    // The API process queues; only the workers, woken through PostgreSQL, execute.
    let start_url = format!("{ws}/workflows/{workflow}/runs");
    let starting = tokio::spawn({
        let (client, key) = (client.clone(), key.clone());
        async move {
            futures_util::stream::iter(0..RUNS)
                .map(|n| {
                    let (client, key, url) = (&client, &key, &start_url);
                    async move {
                        let body = json!({"input": {"n": n}});
                        let started = call(client, reqwest::Method::POST, url, key, Some(body)).await;
                        started["run_id"].as_str().unwrap().to_owned()
                    }
                })
                .buffer_unordered(16)
                .collect::<Vec<String>>()
                .await
        }
    });

    // Kill one worker once a quarter of the runs succeeded, while it holds some: it is frozen
    // (SIGSTOP) before looking, so the runs it holds cannot finish between the look and the kill.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let (mut victim, victim_name) = workers.remove(0);
    let pid = victim.id().unwrap().to_string();
    let signal = |name: &'static str| {
        let pid = pid.clone();
        async move { assert!(Command::new("kill").args([name, &pid]).status().await.unwrap().success()) }
    };
    let deadline = began + PATIENCE;
    loop {
        let done = statuses(&pool).await.get("succeeded").copied().unwrap_or(0);
        if done >= (RUNS / 4) as i64 {
            signal("-STOP").await;
            let held: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE status = 'running' AND lease_owner = $1")
                    .bind(&victim_name)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            if held > 0 {
                assert!(done < RUNS as i64, "every run finished before the kill");
                break;
            }
            signal("-CONT").await;
        }
        assert!(Instant::now() < deadline, "only {done} runs succeeded, and none held by the victim");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_at = Instant::now();
    let killed_after = began.elapsed();
    signal("-KILL").await;
    victim.wait().await.unwrap();

    let runs = starting.await.unwrap();
    let started_in = began.elapsed();
    assert_eq!(runs.len(), RUNS);
    loop {
        let statuses = statuses(&pool).await;
        if statuses.get("succeeded").copied() == Some(RUNS as i64) {
            break;
        }
        assert!(!statuses.contains_key("failed"), "no run may fail: {statuses:?}");
        assert!(Instant::now() < deadline, "the runs did not all finish: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let finished_after_kill = killed_at.elapsed();

    // Every run the API started succeeded, and nothing else ran.
    let succeeded: Vec<String> = sqlx::query_scalar("SELECT id FROM runs WHERE status = 'succeeded' ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut started = runs.clone();
    started.sort();
    assert_eq!(succeeded, started, "exactly the started runs succeeded, each once");
    // Each activation of each run succeeded once: no completed step ran twice.
    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT run_id, activation FROM steps WHERE status = 'succeeded' \
         GROUP BY run_id, activation HAVING COUNT(*) <> 1) AS repeated",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(twice, 0, "activations with more than one successful attempt");
    let activations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT DISTINCT run_id, activation FROM steps WHERE status = 'succeeded') AS done",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(activations, RUNS as i64 * NODES, "every node of every run succeeded");
    let outputs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE output LIKE '%\"done\":true%'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(outputs, RUNS as i64, "every run's output comes from its last node");
    // The killed worker held runs, which the others took over after their lease.
    let recovered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE claims > 1").fetch_one(&pool).await.unwrap();
    assert!(recovered > 0, "the killed worker held no run; kill it earlier");
    let rerun: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM steps WHERE attempt > 1").fetch_one(&pool).await.unwrap();
    eprintln!(
        "{RUNS} runs on {WORKERS} workers in {:.1?} (all started after {started_in:.1?}, a worker killed after \
         {killed_after:.1?}, the rest done {finished_after_kill:.1?} later); {recovered} runs recovered from the \
         killed worker, {rerun} steps in flight ran again",
        began.elapsed()
    );
    pool.close().await;
}

#[tokio::test]
async fn a_process_with_one_role_needs_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let worker = weft(dir.path()).args(["worker", "--concurrency", "2"]).output().await.unwrap();
    assert!(!worker.status.success());
    let message = String::from_utf8_lossy(&worker.stderr);
    assert!(message.contains("`weft worker`") && message.contains("needs PostgreSQL"), "{message}");
    assert!(!dir.path().join("weft-data").exists(), "nothing was created");

    let api = weft(dir.path()).args(["serve", "--roles", "api", "--bind", "127.0.0.1:0"]).output().await.unwrap();
    assert!(!api.status.success());
    let message = String::from_utf8_lossy(&api.stderr);
    assert!(message.contains("`--roles api` needs PostgreSQL"), "{message}");
}
