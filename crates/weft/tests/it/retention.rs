//! Run retention: the sweep deletes old finished runs in every workspace with their steps and
//! blobs, and leaves active and recent runs alone; on SQLite, compaction then gives the space
//! back, so the database file does not grow without bound.
// Tests stand in for the credential checks: they scope themselves to the workspaces they make.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use serde_json::json;
use sqlx::Connection;
use weft_domain::RunId;
use weft_store::{BlobError, BlobKey, BlobStore, FsBlobStore, RunEnd, RunStatus, Store, StoreError, now_ms};
use weft_testkit::{TestBackend, TestDb, backend_test};

use crate::runs_store::{Tenant, claim_one, enqueue, succeed_step, tenant};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Runs a run of the tenant's workflow to `end` with one step and one blob; returns its id.
async fn finished_run(store: &Store, blobs: &FsBlobStore, tenant: &Tenant, end: RunEnd<'_>) -> RunId {
    let id = enqueue(store, tenant).await.id;
    let claimed = claim_one(store, "worker-1").await;
    assert_eq!(claimed.run().id, id, "no other run is queued");
    succeed_step(store, &claimed, "Start", 1).await;
    put_blob(blobs, tenant, &id).await;
    store.finish_run(&claimed, end).await.unwrap();
    id
}

fn blob_key(tenant: &Tenant, run: &RunId) -> BlobKey {
    BlobKey::new(tenant.scope.workspace(), run, "output").unwrap()
}

async fn put_blob(blobs: &FsBlobStore, tenant: &Tenant, run: &RunId) {
    blobs.put(&blob_key(tenant, run), b"[]".to_vec()).await.unwrap();
}

/// Sets a run's time column (`sql` binds the time as $1 and the run as $2), to make it old.
async fn execute(db: &TestDb, sql: &str, time: i64, id: &RunId) {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let changed = sqlx::query(sql).bind(time).bind(id.as_str()).execute(&mut conn).await.unwrap().rows_affected();
    assert_eq!(changed, 1, "{sql}");
}

async fn steps_of(db: &TestDb, run: &RunId) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM steps WHERE run_id = $1")
        .bind(run.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

backend_test! {
    async fn pruning_deletes_only_old_finished_runs_in_every_workspace_with_their_steps_and_blobs(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::new(dir.path());
        let (ada, grace) = (tenant(&store, "ada").await, tenant(&store, "grace").await);
        let now = now_ms();
        let cutoff = now - 14 * DAY_MS;

        let error = json!({"message": "boom"});
        let output = json!({"done": true});
        let mut old = vec![
            (&ada, finished_run(&store, &blobs, &ada, RunEnd::Succeeded { output: &output }).await),
            (&ada, finished_run(&store, &blobs, &ada, RunEnd::Failed { error: &error }).await),
            (&ada, finished_run(&store, &blobs, &ada, RunEnd::TimedOut).await),
            (&grace, finished_run(&store, &blobs, &grace, RunEnd::Cancelled).await),
        ];
        let cancelled_while_queued = enqueue(&store, &grace).await.id;
        store.request_cancel(&grace.scope, &cancelled_while_queued).await.unwrap();
        old.push((&grace, cancelled_while_queued));
        for (_, id) in &old {
            execute(&db, "UPDATE runs SET finished_at = $1 WHERE id = $2", now - 30 * DAY_MS, id).await;
        }
        let at_cutoff = finished_run(&store, &blobs, &ada, RunEnd::Succeeded { output: &output }).await;
        execute(&db, "UPDATE runs SET finished_at = $1 WHERE id = $2", cutoff, &at_cutoff).await;
        let recent = finished_run(&store, &blobs, &ada, RunEnd::Succeeded { output: &output }).await;
        let other_recent = finished_run(&store, &blobs, &grace, RunEnd::Failed { error: &error }).await;

        // Active runs that were created long ago: one running with a step, one waiting, one queued.
        let running = enqueue(&store, &ada).await.id;
        let claimed = claim_one(&store, "worker-1").await;
        succeed_step(&store, &claimed, "Start", 1).await;
        put_blob(&blobs, &ada, &running).await;
        let waiting = enqueue(&store, &ada).await.id;
        let parked = claim_one(&store, "worker-1").await;
        store.park_run(&parked, now + DAY_MS).await.unwrap();
        let queued = enqueue(&store, &grace).await.id;
        for id in [&running, &waiting, &queued] {
            execute(&db, "UPDATE runs SET created_at = $1 WHERE id = $2", now - 60 * DAY_MS, id).await;
        }

        assert_eq!(store.prune_runs(&blobs, cutoff, 2).await.unwrap(), 5, "three batches of at most two");
        for (tenant, id) in &old {
            assert!(matches!(store.run(&tenant.scope, id).await, Err(StoreError::NotFound)), "{id} was pruned");
            assert_eq!(steps_of(&db, id).await, 0, "the steps of {id} went with it");
            assert!(matches!(blobs.get(&blob_key(tenant, id)).await, Err(BlobError::NotFound)), "{id}'s blob");
        }
        let kept = [
            (&ada, &at_cutoff, RunStatus::Succeeded),
            (&ada, &recent, RunStatus::Succeeded),
            (&grace, &other_recent, RunStatus::Failed),
            (&ada, &running, RunStatus::Running),
            (&ada, &waiting, RunStatus::Waiting),
            (&grace, &queued, RunStatus::Queued),
        ];
        for (tenant, id, status) in kept {
            assert_eq!(store.run(&tenant.scope, id).await.unwrap().status, status, "{id} is kept");
        }
        for (tenant, id) in [(&ada, &at_cutoff), (&ada, &recent), (&grace, &other_recent), (&ada, &running)] {
            assert_eq!(steps_of(&db, id).await, 1, "{id} keeps its step");
            assert_eq!(blobs.get(&blob_key(tenant, id)).await.unwrap(), b"[]", "{id} keeps its blob");
        }
        assert_eq!(store.prune_runs(&blobs, cutoff, 2).await.unwrap(), 0, "nothing left to prune");
        assert!(!store.compact().await.unwrap().auto_vacuum_off);
    }
}

/// The file of an SQLite test database and its write-ahead log.
fn sqlite_files(db: &TestDb) -> (PathBuf, PathBuf) {
    let path = db.url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default();
    (PathBuf::from(path), PathBuf::from(format!("{path}-wal")))
}

fn size_of(files: &(PathBuf, PathBuf)) -> u64 {
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    size(&files.0) + size(&files.1)
}

/// `count` runs of the tenant with a step and a run output of about 100 KB each.
async fn large_runs(store: &Store, tenant: &Tenant, count: usize) {
    let large = json!([{"json": {"text": "x".repeat(100_000)}}]);
    for _ in 0..count {
        enqueue(store, tenant).await;
        let claimed = claim_one(store, "worker-1").await;
        let step = weft_store::StepStart { node: "Start", activation: "Start", attempt: 1, input: None };
        let step = store.start_step(&claimed, step).await.unwrap();
        let outcome = weft_store::StepOutcome::Succeeded { output: &large };
        store.finish_step(&claimed, &step, outcome, None).await.unwrap();
        store.finish_run(&claimed, RunEnd::Succeeded { output: &large }).await.unwrap();
    }
}

#[tokio::test]
async fn on_sqlite_pruning_and_compacting_keep_the_database_file_from_growing_without_bound() {
    let db = TestDb::new(TestBackend::Sqlite).await;
    let store = db.store().await;
    let files = sqlite_files(&db);
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobStore::new(dir.path());
    let ada = tenant(&store, "ada").await;
    let empty = size_of(&files);

    large_runs(&store, &ada, 100).await;
    let full = size_of(&files);
    assert!(full > 20_000_000, "100 runs of 2 × 100 KB: {full} bytes");
    assert_eq!(store.prune_runs(&blobs, now_ms() + 1, 25).await.unwrap(), 100);
    assert!(store.prune_events(now_ms() + 1, 25).await.unwrap() >= 100);
    let compaction = store.compact().await.unwrap();
    assert!(!compaction.auto_vacuum_off, "a new database has incremental auto-vacuum");
    let pruned = size_of(&files);
    eprintln!(
        "empty {empty} B, 100 large runs {full} B, pruned and compacted {pruned} B ({} pages released)",
        compaction.pages_released
    );
    assert!(pruned * 10 < full, "the space went back: {full} → {pruned} bytes");
    assert!(compaction.pages_released > 4_000, "{compaction:?}");

    // Round after round of the same load, the file returns to the same size.
    for round in 0..3 {
        large_runs(&store, &ada, 30).await;
        assert_eq!(store.prune_runs(&blobs, now_ms() + 1, 25).await.unwrap(), 30);
        // Each run's end was an event (`run.succeeded`); retention deletes those too.
        assert_eq!(store.prune_events(now_ms() + 1, 25).await.unwrap(), 30);
        store.compact().await.unwrap();
        let size = size_of(&files);
        eprintln!("round {round}: {size} B after pruning and compacting");
        assert!(size <= pruned + 64 * 1024, "round {round}: {size} bytes, {pruned} after the first prune");
    }
}

#[tokio::test]
async fn an_sqlite_database_made_without_auto_vacuum_is_left_as_it_is_and_reported() {
    let db = TestDb::new(TestBackend::Sqlite).await;
    let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("CREATE TABLE made_by_an_older_weft (x INTEGER)").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();

    let store = db.store().await;
    assert!(store.compact().await.unwrap().auto_vacuum_off);
    let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, 0, "still NONE: converting it is the operator's call");

    let fresh = TestDb::new(TestBackend::Sqlite).await;
    let store = fresh.store().await;
    assert!(!store.compact().await.unwrap().auto_vacuum_off);
    let mut conn = sqlx::SqliteConnection::connect(&fresh.url).await.unwrap();
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, 2, "a new database is INCREMENTAL");
}
