//! The run queue and step checkpoints in the store: claims, leases, recovery, waits, cancels and
//! lists, the same on both backends.
// Tests stand in for the credential checks: they scope themselves to the workspaces they make.
#![allow(clippy::disallowed_methods)]

use std::collections::HashSet;

use serde_json::{Value, json};
use weft_domain::{Actor, EmailAddress, Grant, PasswordHash, Role, RunId, TenantScope, WorkflowId};
use weft_store::{
    Checkpoint, ClaimRequest, ClaimedRun, DbConfig, NewRun, NewUser, NewWorkflow, Origin, PageRequest, Renewal, Run,
    RunEnd, RunFilter, RunStatus, Step, StepOutcome, StepStart, StepStatus, Store, StoreError, now_ms,
};
use weft_testkit::{TestDb, backend_test};

/// A workspace of its own owner, scoped as that owner, with one workflow.
pub(crate) struct Tenant {
    pub(crate) scope: TenantScope,
    pub(crate) workflow: WorkflowId,
}

/// A cheap stand-in hash: these tests are about runs, not Argon2's cost.
fn some_hash() -> PasswordHash {
    PasswordHash::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into())
}

pub(crate) async fn tenant(store: &Store, name: &str) -> Tenant {
    let email = EmailAddress::parse(&format!("{name}@example.com")).unwrap();
    let new = NewUser { email: &email, name, password_hash: &some_hash(), is_operator: false };
    let (user, workspace) = store.create_user(new, &Origin::default()).await.unwrap();
    let scope = TenantScope::verified(workspace.id, Grant::Member { user: user.id, role: Role::Owner });
    let workflow = workflow(store, &scope, "Hello").await;
    Tenant { scope, workflow }
}

async fn workflow(store: &Store, scope: &TenantScope, name: &str) -> WorkflowId {
    let definition = json!({
        "nodes": [{"name": "Start", "type": "manual_trigger"}, {"name": "Greet", "type": "set"}],
        "connections": [{"from": "Start", "to": "Greet"}],
    });
    let new = NewWorkflow { name, description: "", tags: &[], definition: &definition };
    store.create_workflow(scope, &Origin::default(), new, None).await.unwrap().0.id
}

pub(crate) async fn enqueue(store: &Store, tenant: &Tenant) -> Run {
    enqueue_of(store, tenant, &tenant.workflow).await
}

async fn enqueue_of(store: &Store, tenant: &Tenant, workflow: &WorkflowId) -> Run {
    let input = json!({"name": "Ada"});
    store
        .enqueue_run(
            &tenant.scope,
            NewRun { workflow, version: 1, input: &input, trigger: "manual", trigger_node: None },
        )
        .await
        .unwrap()
}

async fn claim(store: &Store, worker: &str, limit: u32, cap: u32) -> Vec<ClaimedRun> {
    let request = ClaimRequest { worker, limit, lease_ms: 30_000, per_workspace_cap: cap };
    store.claim_runs(request).await.unwrap()
}

pub(crate) async fn claim_one(store: &Store, worker: &str) -> ClaimedRun {
    let mut claimed = claim(store, worker, 1, 10).await;
    assert_eq!(claimed.len(), 1, "one run to claim");
    claimed.remove(0)
}

fn step<'a>(node: &'a str, attempt: i64, input: &'a Value) -> StepStart<'a> {
    StepStart { node, activation: node, attempt, input: Some(input) }
}

/// Runs one attempt of `node` to success.
pub(crate) async fn succeed_step(store: &Store, claimed: &ClaimedRun, node: &str, attempt: i64) -> Step {
    let input = json!([{"json": {}}]);
    let id = store.start_step(claimed, step(node, attempt, &input)).await.unwrap();
    let output = json!([{"json": {"node": node}}]);
    store.finish_step(claimed, &id, StepOutcome::Succeeded { output: &output }, None).await.unwrap()
}

fn ids(runs: &[ClaimedRun]) -> Vec<RunId> {
    runs.iter().map(|claimed| claimed.run().id.clone()).collect()
}

backend_test! {
    async fn a_run_is_enqueued_claimed_stepped_and_finished(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        let queued = enqueue(&store, &ada).await;
        assert!(queued.id.as_str().starts_with("run_"));
        assert_eq!((queued.status, queued.claims, queued.started_at), (RunStatus::Queued, 0, None));
        assert_eq!(
            (queued.workflow.clone(), queued.version, queued.trigger.as_str()),
            (ada.workflow.clone(), 1, "manual")
        );
        assert_eq!(queued.input, json!({"name": "Ada"}));

        let claimed = claim_one(&store, "worker-1").await;
        let run = claimed.run();
        assert_eq!((&run.id, run.status, run.claims), (&queued.id, RunStatus::Running, 1));
        assert_eq!(run.lease_owner.as_deref(), Some("worker-1"));
        assert!(run.started_at.is_some() && run.lease_expires_at > run.started_at);
        assert_eq!(claimed.scope().workspace(), ada.scope.workspace(), "the scope is the run's own workspace");
        assert_eq!(claimed.scope().actor(), Actor::System);
        assert!(claim(&store, "worker-2", 10, 10).await.is_empty(), "a claimed run is nobody else's");

        assert_eq!(store.renew_lease(&claimed, 120_000).await.unwrap(), Renewal::Held);
        let renewed = store.run(&ada.scope, &queued.id).await.unwrap();
        assert!(renewed.lease_expires_at > run.lease_expires_at, "the heartbeat extends the lease");

        let input = json!([{"json": {"name": "Ada"}}]);
        let start = store.start_step(&claimed, step("Start", 1, &input)).await.unwrap();
        assert!(start.as_str().starts_with("stp_"));
        let output = json!([{"json": {"name": "Ada"}}]);
        let logs = json!(["started by hand"]);
        let finished =
            store.finish_step(&claimed, &start, StepOutcome::Succeeded { output: &output }, Some(&logs)).await.unwrap();
        assert_eq!(
            (finished.status, finished.output.as_ref(), finished.logs.as_ref()),
            (StepStatus::Succeeded, Some(&output), Some(&logs))
        );
        let greet = store.start_step(&claimed, step("Greet", 1, &output)).await.unwrap();
        let error = json!({"message": "no greeting configured"});
        store.finish_step(&claimed, &greet, StepOutcome::Failed { error: &error }, None).await.unwrap();
        let skipped = store.start_step(&claimed, step("Log", 1, &output)).await.unwrap();
        store.finish_step(&claimed, &skipped, StepOutcome::Skipped, None).await.unwrap();

        let steps = store.recorded_steps(&ada.scope, &queued.id).await.unwrap();
        let summary: Vec<_> = steps.iter().map(|s| (s.node.as_str(), s.attempt, s.status)).collect();
        assert_eq!(
            summary,
            [("Start", 1, StepStatus::Succeeded), ("Greet", 1, StepStatus::Failed), ("Log", 1, StepStatus::Skipped)]
        );
        assert_eq!((steps[0].input.as_ref(), steps[0].id.clone()), (Some(&input), start));
        assert_eq!((steps[1].error.as_ref(), steps[1].output.as_ref()), (Some(&error), None));
        assert!(steps.iter().all(|s| s.run == queued.id && s.finished_at >= Some(s.started_at)));

        let result = json!({"greeting": "hello"});
        let done = store.finish_run(&claimed, RunEnd::Succeeded { output: &result }).await.unwrap();
        assert_eq!(
            (done.status, done.output.as_ref(), done.lease_owner.as_deref()),
            (RunStatus::Succeeded, Some(&result), None)
        );
        assert!(done.finished_at.is_some());
        assert_eq!(store.run(&ada.scope, &queued.id).await.unwrap(), done);
        assert_eq!(store.renew_lease(&claimed, 30_000).await.unwrap(), Renewal::Lost, "a finished run has no lease");
        assert!(claim(&store, "worker-1", 10, 10).await.is_empty());
    }
}

backend_test! {
    async fn concurrent_claimers_each_take_every_run_exactly_once(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let mut tenants = Vec::new();
        for name in ["ada", "grace", "edsger", "barbara"] {
            let tenant = tenant(&store, name).await;
            for _ in 0..100 {
                enqueue(&store, &tenant).await;
            }
            tenants.push(tenant);
        }
        // More connections than claimers, so all eight claim at the same time.
        let shared = Store::connect(&DbConfig {
            url: db.url.clone(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: std::time::Duration::from_secs(30),
        })
        .await
        .unwrap();
        let mut claimers = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let store = shared.clone();
            claimers.spawn(async move {
                let worker = format!("worker-{worker}");
                let mut taken = Vec::new();
                loop {
                    let batch = claim(&store, &worker, 7, 1_000).await;
                    if batch.is_empty() {
                        return taken;
                    }
                    taken.extend(ids(&batch));
                }
            });
        }
        let mut taken = Vec::new();
        while let Some(batch) = claimers.join_next().await {
            taken.extend(batch.unwrap());
        }
        let distinct: HashSet<_> = taken.iter().collect();
        assert_eq!((taken.len(), distinct.len()), (400, 400), "every run handed out, none twice");
        for tenant in &tenants {
            let runs = store
                .runs(&tenant.scope, &RunFilter::default(), PageRequest { limit: 200, after: None })
                .await
                .unwrap();
            assert_eq!(runs.items.len(), 100);
            assert!(
                runs.items.iter().all(|run| run.status == RunStatus::Running && run.claims == 1),
                "claimed exactly once"
            );
        }
    }
}

backend_test! {
    async fn a_busy_workspace_gets_no_more_than_its_cap_and_leaves_slots_to_others(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let (busy, quiet) = (tenant(&store, "busy").await, tenant(&store, "quiet").await);
        let mut busy_runs = Vec::new();
        for _ in 0..5 {
            busy_runs.push(enqueue(&store, &busy).await.id);
        }
        let quiet_runs = [enqueue(&store, &quiet).await.id, enqueue(&store, &quiet).await.id];

        let first = claim(&store, "worker-1", 3, 2).await;
        assert_eq!(
            ids(&first),
            [busy_runs[0].clone(), busy_runs[1].clone(), quiet_runs[0].clone()],
            "oldest first, two of the busy one's"
        );
        assert_eq!(first[2].scope().workspace(), quiet.scope.workspace());
        let second = claim(&store, "worker-2", 10, 2).await;
        assert_eq!(ids(&second), [quiet_runs[1].clone()], "the busy workspace is at its cap");
        assert!(claim(&store, "worker-2", 10, 2).await.is_empty());

        store.finish_run(&first[0], RunEnd::Cancelled).await.unwrap();
        assert_eq!(
            ids(&claim(&store, "worker-2", 10, 2).await),
            [busy_runs[2].clone()],
            "a freed slot goes to the next in line"
        );
        assert_eq!(claim(&store, "worker-2", 10, 4).await.len(), 2, "a higher cap lets the rest through");
    }
}

backend_test! {
    async fn an_expired_lease_goes_to_a_new_owner_who_resumes_and_the_old_one_can_no_longer_write(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        let id = enqueue(&store, &ada).await.id;
        let old = claim_one(&store, "worker-1").await;
        succeed_step(&store, &old, "Start", 1).await;
        let input = json!([{"json": {}}]);
        let in_flight = store.start_step(&old, step("Greet", 1, &input)).await.unwrap();

        assert_eq!(store.requeue_expired(now_ms()).await.unwrap(), 0, "the lease has not expired yet");
        assert_eq!(store.requeue_expired(now_ms() + 60_000).await.unwrap(), 1);
        let requeued = store.run(&ada.scope, &id).await.unwrap();
        assert_eq!((requeued.status, requeued.lease_owner, requeued.lease_expires_at), (RunStatus::Queued, None, None));
        assert_eq!(store.renew_lease(&old, 30_000).await.unwrap(), Renewal::Lost);

        let new = claim_one(&store, "worker-2").await;
        assert_eq!((new.run().claims, new.run().started_at), (2, old.run().started_at), "started once, claimed twice");
        let recorded = store.recorded_steps(new.scope(), &id).await.unwrap();
        let summary: Vec<_> = recorded.iter().map(|s| (s.node.as_str(), s.attempt, s.status)).collect();
        assert_eq!(
            summary,
            [("Start", 1, StepStatus::Succeeded), ("Greet", 1, StepStatus::Running)],
            "what the new owner resumes from"
        );

        let output = json!([]);
        let lost = store.finish_step(&old, &in_flight, StepOutcome::Succeeded { output: &output }, None).await;
        assert!(matches!(lost, Err(StoreError::LeaseLost)), "{lost:?}");
        let lost = store.start_step(&old, step("Greet", 2, &input)).await;
        assert!(matches!(lost, Err(StoreError::LeaseLost)), "{lost:?}");
        let lost = store.finish_run(&old, RunEnd::Succeeded { output: &output }).await;
        assert!(matches!(lost, Err(StoreError::LeaseLost)), "{lost:?}");
        let lost = store.park_run(&old, now_ms()).await;
        assert!(matches!(lost, Err(StoreError::LeaseLost)), "{lost:?}");

        succeed_step(&store, &new, "Greet", 2).await;
        let done = store.finish_run(&new, RunEnd::Succeeded { output: &output }).await.unwrap();
        assert_eq!(done.status, RunStatus::Succeeded);
        let recorded = store.recorded_steps(&ada.scope, &id).await.unwrap();
        let attempts: Vec<_> = recorded.iter().map(|s| (s.node.as_str(), s.attempt, s.status)).collect();
        assert_eq!(
            attempts,
            [
                ("Start", 1, StepStatus::Succeeded),
                ("Greet", 1, StepStatus::Running),
                ("Greet", 2, StepStatus::Succeeded)
            ],
            "the old owner wrote nothing after losing the lease"
        );
    }
}

backend_test! {
    async fn a_worker_that_claims_its_own_expired_run_again_cannot_write_with_the_old_claim(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        enqueue(&store, &ada).await;
        let old = claim_one(&store, "worker-1").await;
        store.requeue_expired(now_ms() + 60_000).await.unwrap();
        let new = claim_one(&store, "worker-1").await;
        let input = json!([]);
        let lost = store.start_step(&old, step("Start", 1, &input)).await;
        assert!(matches!(lost, Err(StoreError::LeaseLost)), "{lost:?}");
        assert_eq!(store.renew_lease(&old, 30_000).await.unwrap(), Renewal::Lost);
        assert_eq!(store.renew_lease(&new, 30_000).await.unwrap(), Renewal::Held);
        succeed_step(&store, &new, "Start", 1).await;
    }
}

backend_test! {
    async fn a_duplicate_step_attempt_is_a_conflict_and_a_step_finishes_once(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        enqueue(&store, &ada).await;
        let claimed = claim_one(&store, "worker-1").await;
        let first = succeed_step(&store, &claimed, "Start", 1).await;
        let input = json!([]);
        let again = store.start_step(&claimed, step("Start", 1, &input)).await;
        assert!(matches!(again, Err(StoreError::Conflict { .. })), "{again:?}");
        let twice = store.finish_step(&claimed, &first.id, StepOutcome::Skipped, None).await;
        assert!(matches!(twice, Err(StoreError::Invariant(_))), "{twice:?}");
        let retry = succeed_step(&store, &claimed, "Start", 2).await;
        assert_eq!((retry.activation.as_str(), retry.attempt), ("Start", 2), "the next attempt is a new step");
        let loop_turn = StepStart { node: "Start", activation: "Start#2", attempt: 1, input: None };
        store.start_step(&claimed, loop_turn).await.unwrap();
        assert_eq!(store.recorded_steps(&ada.scope, &claimed.run().id).await.unwrap().len(), 3);
    }
}

backend_test! {
    async fn a_parked_run_holds_no_lease_and_is_queued_again_when_its_wait_is_due(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        let id = enqueue(&store, &ada).await.id;
        let claimed = claim_one(&store, "worker-1").await;
        let wake_at = now_ms() + 60_000;
        let parked = store.park_run(&claimed, wake_at).await.unwrap();
        assert_eq!((parked.status, parked.wake_at, parked.lease_owner), (RunStatus::Waiting, Some(wake_at), None));
        assert_eq!(store.renew_lease(&claimed, 30_000).await.unwrap(), Renewal::Lost, "waiting holds no worker");
        assert!(claim(&store, "worker-1", 10, 10).await.is_empty(), "a waiting run is not claimable");
        assert_eq!(store.requeue_expired(wake_at + 60_000).await.unwrap(), 0, "no lease to expire");

        assert_eq!(store.wake_due(wake_at - 1).await.unwrap(), 0);
        assert_eq!(store.wake_due(wake_at).await.unwrap(), 1);
        let woken = store.run(&ada.scope, &id).await.unwrap();
        assert_eq!((woken.status, woken.wake_at), (RunStatus::Queued, None));
        let resumed = claim_one(&store, "worker-2").await;
        assert_eq!((&resumed.run().id, resumed.run().claims), (&id, 2));
    }
}

backend_test! {
    async fn cancel_ends_queued_and_waiting_runs_at_once_and_asks_a_running_one_to_stop(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;

        let queued = enqueue(&store, &ada).await;
        let cancelled = store.request_cancel(&ada.scope, &queued.id).await.unwrap();
        assert_eq!(cancelled.status, RunStatus::Cancelled);
        assert!(cancelled.finished_at.is_some());
        assert!(claim(&store, "worker-1", 10, 10).await.is_empty(), "a cancelled run is never claimed");

        let waiting = enqueue(&store, &ada).await;
        let claimed = claim_one(&store, "worker-1").await;
        let wake_at = now_ms() + 60_000;
        store.park_run(&claimed, wake_at).await.unwrap();
        assert_eq!(store.request_cancel(&ada.scope, &waiting.id).await.unwrap().status, RunStatus::Cancelled);
        assert_eq!(store.wake_due(wake_at).await.unwrap(), 0, "a cancelled wait never wakes");

        let running = enqueue(&store, &ada).await;
        let claimed = claim_one(&store, "worker-1").await;
        let asked = store.request_cancel(&ada.scope, &running.id).await.unwrap();
        assert_eq!((asked.status, asked.cancel_requested, asked.finished_at), (RunStatus::Running, true, None));
        assert_eq!(store.renew_lease(&claimed, 30_000).await.unwrap(), Renewal::CancelRequested);
        let stopped = store.finish_run(&claimed, RunEnd::Cancelled).await.unwrap();
        assert_eq!(stopped.status, RunStatus::Cancelled);
        assert_eq!(
            store.request_cancel(&ada.scope, &running.id).await.unwrap(),
            stopped,
            "a finished run stays as it is"
        );
    }
}

backend_test! {
    async fn runs_list_newest_first_by_workflow_status_and_time_in_pages(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        let other = workflow(&store, &ada.scope, "Other").await;
        let mut early = Vec::new();
        for _ in 0..3 {
            early.push(enqueue(&store, &ada).await.id);
        }
        early.push(enqueue_of(&store, &ada, &other).await.id);
        // Created in a later millisecond than every run above.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let mut late = Vec::new();
        for _ in 0..2 {
            late.push(enqueue(&store, &ada).await.id);
        }
        late.push(enqueue_of(&store, &ada, &other).await.id);
        let failed = claim_one(&store, "worker-1").await;
        store.finish_run(&failed, RunEnd::Failed { error: &json!({"message": "boom"}) }).await.unwrap();

        let list = |filter: RunFilter<'static>| {
            let (store, scope) = (store.clone(), ada.scope.clone());
            async move {
                let page = store.runs(&scope, &filter, PageRequest { limit: 100, after: None }).await.unwrap();
                page.items.into_iter().map(|run| run.id).collect::<HashSet<_>>()
            }
        };
        let all: HashSet<_> = early.iter().chain(&late).cloned().collect();
        assert_eq!(list(RunFilter::default()).await, all);
        let since = store.run(&ada.scope, &late[0]).await.unwrap().created_at;
        assert_eq!(list(RunFilter { since: Some(since), ..Default::default() }).await, late.iter().cloned().collect());
        assert_eq!(list(RunFilter { until: Some(since), ..Default::default() }).await, early.iter().cloned().collect());
        assert_eq!(
            list(RunFilter { status: Some(RunStatus::Failed), ..Default::default() }).await,
            HashSet::from([failed.run().id.clone()])
        );
        assert_eq!(list(RunFilter { status: Some(RunStatus::Queued), ..Default::default() }).await.len(), 6);
        let of_other = store
            .runs(
                &ada.scope,
                &RunFilter { workflow: Some(&other), ..Default::default() },
                PageRequest { limit: 100, after: None },
            )
            .await
            .unwrap();
        let of_other: HashSet<_> = of_other.items.into_iter().map(|run| run.id).collect();
        assert_eq!(of_other, HashSet::from([early[3].clone(), late[2].clone()]));

        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .runs(&ada.scope, &RunFilter::default(), PageRequest { limit: 3, after: cursor.as_deref() })
                .await
                .unwrap();
            assert!(page.items.len() <= 3);
            paged.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(paged.len(), 7, "every run once across the pages");
        // Ids are ULIDs, which sort by creation time.
        assert!(paged.windows(2).all(|pair| pair[0].id > pair[1].id), "newest first");
    }
}

backend_test! {
    async fn another_workspace_gets_not_found_for_runs_steps_cancel_delete_and_enqueue(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let (ada, eve) = (tenant(&store, "ada").await, tenant(&store, "eve").await);
        let id = enqueue(&store, &ada).await.id;
        let claimed = claim_one(&store, "worker-1").await;
        succeed_step(&store, &claimed, "Start", 1).await;
        store.finish_run(&claimed, RunEnd::TimedOut).await.unwrap();

        assert!(matches!(store.run(&eve.scope, &id).await, Err(StoreError::NotFound)));
        assert!(matches!(store.recorded_steps(&eve.scope, &id).await, Err(StoreError::NotFound)));
        assert!(matches!(store.request_cancel(&eve.scope, &id).await, Err(StoreError::NotFound)));
        assert!(matches!(store.delete_run(&eve.scope, &id).await, Err(StoreError::NotFound)));
        let listed =
            store.runs(&eve.scope, &RunFilter::default(), PageRequest { limit: 10, after: None }).await.unwrap();
        assert!(listed.items.is_empty());
        let input = json!({});
        let foreign = NewRun { workflow: &ada.workflow, version: 1, input: &input, trigger: "manual", trigger_node: None };
        assert!(
            matches!(store.enqueue_run(&eve.scope, foreign).await, Err(StoreError::NotFound)),
            "another workspace's workflow"
        );
        let unsaved = NewRun { workflow: &ada.workflow, version: 2, input: &input, trigger: "manual", trigger_node: None };
        assert!(
            matches!(store.enqueue_run(&ada.scope, unsaved).await, Err(StoreError::NotFound)),
            "a version never saved"
        );
        assert_eq!(store.run(&ada.scope, &id).await.unwrap().status, RunStatus::TimedOut, "untouched");
    }
}

backend_test! {
    async fn only_a_finished_run_can_be_deleted_and_its_steps_go_with_it(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        let id = enqueue(&store, &ada).await.id;
        let refused = store.delete_run(&ada.scope, &id).await;
        assert!(matches!(refused, Err(StoreError::Invariant(_))), "{refused:?}");
        let claimed = claim_one(&store, "worker-1").await;
        succeed_step(&store, &claimed, "Start", 1).await;
        let refused = store.delete_run(&ada.scope, &id).await;
        assert!(matches!(refused, Err(StoreError::Invariant(_))), "{refused:?}");
        store.finish_run(&claimed, RunEnd::Succeeded { output: &json!({}) }).await.unwrap();

        store.delete_run(&ada.scope, &id).await.unwrap();
        assert!(matches!(store.run(&ada.scope, &id).await, Err(StoreError::NotFound)));
        assert!(matches!(store.recorded_steps(&ada.scope, &id).await, Err(StoreError::NotFound)));
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
        let steps: i64 =
            sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM steps").fetch_one(&mut conn).await.unwrap();
        assert_eq!(steps, 0, "the run's steps were deleted with it");
    }
}

backend_test! {
    async fn concurrent_checkpoints_commit_together_and_one_failing_write_fails_alone(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = tenant(&store, "ada").await;
        // Many runs queued at once: the coalescer groups the inserts; each still gets its own run.
        let queued = futures_util::future::join_all((0..40).map(|_| enqueue(&store, &ada))).await;
        assert_eq!(queued.iter().map(|run| &run.id).collect::<HashSet<_>>().len(), 40);
        let claimed = claim(&store, "worker-1", 40, 40).await;
        assert_eq!(claimed.len(), 40);

        // One checkpoint repeats an attempt already recorded; it fails, the 39 others commit.
        let input = json!([]);
        succeed_step(&store, &claimed[7], "Start", 1).await;
        let output = json!([[{"json": {"done": true}}]]);
        let writes = claimed.iter().map(|run| {
            let mut checkpoint = Checkpoint::new();
            checkpoint.record(step("Start", 1, &input), now_ms(), StepOutcome::Succeeded { output: &output }, None);
            checkpoint.end(RunEnd::Succeeded { output: &output });
            store.checkpoint(run, checkpoint)
        });
        let results = futures_util::future::join_all(writes).await;
        for (index, result) in results.iter().enumerate() {
            if index == 7 {
                assert!(matches!(result, Err(StoreError::Conflict { .. })), "{result:?}");
            } else {
                let run = result.as_ref().unwrap().as_ref().expect("an ended checkpoint returns the run");
                assert_eq!(run.status, RunStatus::Succeeded);
            }
        }
        let failed = store.run(&ada.scope, &claimed[7].run().id).await.unwrap();
        assert_eq!(failed.status, RunStatus::Running, "nothing of the failed checkpoint was written");
        let steps = store.recorded_steps(&ada.scope, &claimed[7].run().id).await.unwrap();
        assert_eq!(steps.len(), 1, "only the attempt recorded before: {steps:?}");
        let done = store.runs(&ada.scope, &RunFilter { status: Some(RunStatus::Succeeded), ..RunFilter::default() }, PageRequest { limit: 100, after: None }).await.unwrap();
        assert_eq!(done.items.len(), 39);
    }
}
