//! The hot path's writes, through the commit coalescer: queueing a run, and a worker's
//! checkpoints. A [`Checkpoint`] is everything a worker has to record at one moment — attempts
//! started, attempts finished, attempts recorded whole, and maybe the run's end or its parking —
//! and is committed in one transaction under the claim's fence, so a successor's readiness is
//! never recorded without the step that made it ready.

use futures_util::future::BoxFuture;
use sqlx::AnyConnection;
use weft_domain::{RunId, StepId, TenantScope, WorkspaceId};

use crate::accounts::parse_stored_id;
use crate::events::record_run_end;
use crate::payload::Payloads;
use crate::runs::{
    Fence, HELD, RUN_COLUMNS, RunStatus, STEP_COLUMNS, StepStatus, WEBHOOK_TRIGGER, bind_claim, hold_lease,
    run_from_row, step_from_row,
};
use crate::{ClaimedRun, NewRun, Result, Run, RunEnd, Step, StepOutcome, StepStart, Store, StoreError, now_ms};

/// One step write of a checkpoint, with its JSON already serialised.
#[derive(Debug)]
enum StepWrite {
    /// A new attempt: still running (`finished_at` none), or recorded whole.
    Insert {
        id: StepId,
        node: String,
        activation: String,
        attempt: i64,
        input: Option<String>,
        started_at: i64,
        ended: Ended,
        finished_at: Option<i64>,
    },
    /// A running attempt ended.
    Finish { id: StepId, ended: Ended, at: i64 },
}

/// How an attempt ended, serialised.
#[derive(Debug)]
struct Ended {
    status: StepStatus,
    output: Option<String>,
    error: Option<String>,
    logs: Option<String>,
}

impl Ended {
    fn new(outcome: StepOutcome<'_>, logs: Option<&serde_json::Value>) -> Ended {
        let (status, output, error) = match outcome {
            StepOutcome::Succeeded { output } => (StepStatus::Succeeded, Some(output.to_string()), None),
            StepOutcome::Failed { error } => (StepStatus::Failed, None, Some(error.to_string())),
            StepOutcome::Skipped => (StepStatus::Skipped, None, None),
            StepOutcome::Paused { note } => (StepStatus::Skipped, Some(note.to_string()), None),
        };
        Ended { status, output, error, logs: logs.map(serde_json::Value::to_string) }
    }
}

#[derive(Debug)]
enum RunWrite {
    End { status: RunStatus, output: Option<String>, error: Option<String> },
    Park { wake_at: i64 },
}

/// What a worker records at once for its run. Build it up, then [`Store::checkpoint`] it.
#[derive(Debug, Default)]
pub struct Checkpoint {
    steps: Vec<StepWrite>,
    run: Option<RunWrite>,
    /// Runs of other workflows of the workspace queued with it.
    queued: Vec<NewRunWrite>,
    /// The answer for the webhook request that started the run (JSON text).
    response: Option<String>,
}

/// What queueing a run from a checkpoint needs.
#[derive(Debug, Clone, Copy)]
pub struct QueuedRun<'a> {
    pub new: NewRun<'a>,
    /// The claimed run waits for this one (`execute_workflow`): it becomes its parent, and
    /// ending this one wakes it.
    pub child: bool,
}

impl Checkpoint {
    pub fn new() -> Checkpoint {
        Checkpoint::default()
    }

    /// Whether it ends the run or parks it.
    pub fn ends_run(&self) -> bool {
        self.run.is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.run.is_none() && self.queued.is_empty() && self.response.is_none()
    }

    /// Sets the answer of the webhook request that started the run: `{status, headers, body}`.
    pub fn respond(&mut self, response: &serde_json::Value) {
        self.response = Some(response.to_string());
    }

    /// Queues a run of a workflow of the claimed run's workspace, committed with the rest.
    pub fn enqueue(&mut self, run: QueuedRun<'_>) -> RunId {
        let write = NewRunWrite::new(run.new);
        let id = write.id.clone();
        self.queued.push(NewRunWrite { child: run.child, ..write });
        id
    }

    /// An attempt begins now; its id is what [`Checkpoint::finish`] later names.
    pub fn start(&mut self, step: StepStart<'_>) -> StepId {
        let running = Ended { status: StepStatus::Running, output: None, error: None, logs: None };
        self.insert(step, now_ms(), running, None)
    }

    /// A started attempt ended now.
    pub fn finish(&mut self, step: &StepId, outcome: StepOutcome<'_>, logs: Option<&serde_json::Value>) {
        self.steps.push(StepWrite::Finish { id: step.clone(), ended: Ended::new(outcome, logs), at: now_ms() });
    }

    /// An attempt that began at `started_at` ended now, recorded only once it is over: for
    /// nodes without effects, which a successor may simply run again.
    pub fn record(
        &mut self,
        step: StepStart<'_>,
        started_at: i64,
        outcome: StepOutcome<'_>,
        logs: Option<&serde_json::Value>,
    ) {
        self.insert(step, started_at, Ended::new(outcome, logs), Some(now_ms()));
    }

    fn insert(&mut self, step: StepStart<'_>, started_at: i64, ended: Ended, finished_at: Option<i64>) -> StepId {
        let id = StepId::generate();
        self.steps.push(StepWrite::Insert {
            id: id.clone(),
            node: step.node.to_owned(),
            activation: step.activation.to_owned(),
            attempt: step.attempt,
            input: step.input.map(serde_json::Value::to_string),
            started_at,
            ended,
            finished_at,
        });
        id
    }

    /// Adds what `other` records after what this one does.
    pub fn append(&mut self, other: Checkpoint) {
        self.steps.extend(other.steps);
        self.queued.extend(other.queued);
        if other.run.is_some() {
            self.run = other.run;
        }
        if other.response.is_some() {
            self.response = other.response;
        }
    }

    /// Moves the payloads longer than the store's inline limit to blobs.
    async fn offload(&mut self, payloads: &Payloads, workspace: &WorkspaceId, run: &RunId) -> Result<()> {
        for step in &mut self.steps {
            let (id, fields) = match step {
                StepWrite::Finish { id, ended, .. } => {
                    (&*id, [&mut None, &mut ended.output, &mut ended.error, &mut ended.logs])
                }
                StepWrite::Insert { id, input, ended, .. } => {
                    (&*id, [input, &mut ended.output, &mut ended.error, &mut ended.logs])
                }
            };
            for (name, field) in ["input", "output", "error", "logs"].into_iter().zip(fields) {
                if let Some(text) = field.take() {
                    *field = Some(payloads.offload(workspace, run, id, name, text).await?);
                }
            }
        }
        Ok(())
    }

    /// The run ends, releasing its lease.
    pub fn end(&mut self, end: RunEnd<'_>) {
        let (status, output, error) = match end {
            RunEnd::Succeeded { output } => (RunStatus::Succeeded, Some(output.to_string()), None),
            RunEnd::Failed { error } => (RunStatus::Failed, None, Some(error.to_string())),
            RunEnd::Cancelled => (RunStatus::Cancelled, None, None),
            RunEnd::TimedOut => (RunStatus::TimedOut, None, None),
        };
        self.run = Some(RunWrite::End { status, output, error });
    }

    /// The run sleeps until `wake_at` without a lease: nothing holds a worker while it waits.
    pub fn park(&mut self, wake_at: i64) {
        self.run = Some(RunWrite::Park { wake_at });
    }
}

struct CheckpointWrite {
    fence: Fence,
    checkpoint: Checkpoint,
}

fn apply_checkpoint<'c>(conn: &'c mut AnyConnection, write: &'c CheckpointWrite) -> BoxFuture<'c, Result<Option<Run>>> {
    Box::pin(async move {
        let CheckpointWrite { fence, checkpoint } = write;
        let now = now_ms();
        // Ending the run checks the fence itself; otherwise touching the run does.
        let run = match &checkpoint.run {
            Some(end) => Some(write_run(conn, fence, end, now).await?),
            None => {
                hold_lease(conn, fence, now).await?;
                None
            }
        };
        if let Some(ended) = &run {
            record_run_end(conn, &parse_stored_id(&fence.workspace, "workspace_id")?, ended, now).await?;
        }
        for step in &checkpoint.steps {
            write_step(conn, fence, step).await?;
        }
        for queued in &checkpoint.queued {
            let parent = queued.child.then_some(fence.run.as_str());
            insert_run_row(conn, &fence.workspace, parent, queued).await?;
        }
        if let Some(response) = &checkpoint.response {
            // The fence was checked above, in this transaction.
            sqlx::query("UPDATE runs SET response = $1 WHERE workspace_id = $2 AND id = $3")
                .bind(response.as_str())
                .bind(fence.workspace.as_str())
                .bind(fence.run.as_str())
                .execute(&mut *conn)
                .await?;
        }
        if let Some(parent) = run.as_ref().and_then(|run| run.parent.as_ref()) {
            wake_parent(conn, fence, parent, now).await?;
        }
        Ok(run)
    })
}

async fn write_run(conn: &mut AnyConnection, fence: &Fence, write: &RunWrite, now: i64) -> Result<Run> {
    let row = match write {
        RunWrite::End { status, output, error } => {
            let sql = format!(
                "UPDATE runs SET status = $5, output = $6, error = $7, finished_at = $8, updated_at = $8, \
                 lease_owner = NULL, lease_expires_at = NULL WHERE {HELD} RETURNING {RUN_COLUMNS}"
            );
            bind_claim(&sql, fence)
                .bind(status.as_str())
                .bind(output.as_deref())
                .bind(error.as_deref())
                .bind(now)
                .fetch_optional(&mut *conn)
                .await?
        }
        RunWrite::Park { wake_at } => {
            let sql = format!(
                "UPDATE runs SET status = 'waiting', wake_at = $5, updated_at = $6, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE {HELD} RETURNING {RUN_COLUMNS}"
            );
            bind_claim(&sql, fence).bind(wake_at).bind(now).fetch_optional(&mut *conn).await?
        }
    };
    run_from_row(&row.ok_or(StoreError::LeaseLost)?)
}

async fn write_step(conn: &mut AnyConnection, fence: &Fence, step: &StepWrite) -> Result<()> {
    match step {
        StepWrite::Insert { id, node, activation, attempt, input, started_at, ended, finished_at } => {
            sqlx::query(
                "INSERT INTO steps (id, workspace_id, run_id, node, activation, attempt, status, input, output, \
                 error, logs, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(id.as_str())
            .bind(fence.workspace.as_str())
            .bind(fence.run.as_str())
            .bind(node.as_str())
            .bind(activation.as_str())
            .bind(*attempt)
            .bind(ended.status.as_str())
            .bind(input.as_deref())
            .bind(ended.output.as_deref())
            .bind(ended.error.as_deref())
            .bind(ended.logs.as_deref())
            .bind(*started_at)
            .bind(*finished_at)
            .execute(&mut *conn)
            .await?;
        }
        StepWrite::Finish { id, ended, at } => {
            let finished = sqlx::query(
                "UPDATE steps SET status = $1, output = $2, error = $3, logs = $4, finished_at = $5 \
                 WHERE workspace_id = $6 AND run_id = $7 AND id = $8 AND status = 'running'",
            )
            .bind(ended.status.as_str())
            .bind(ended.output.as_deref())
            .bind(ended.error.as_deref())
            .bind(ended.logs.as_deref())
            .bind(*at)
            .bind(fence.workspace.as_str())
            .bind(fence.run.as_str())
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if finished == 0 {
                return Err(StoreError::Invariant("the step is not in flight"));
            }
        }
    }
    Ok(())
}

/// A parent waiting for its child is queued again when the child ends.
async fn wake_parent(conn: &mut AnyConnection, fence: &Fence, parent: &RunId, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE runs SET status = 'queued', wake_at = NULL, updated_at = $1 \
         WHERE workspace_id = $2 AND id = $3 AND status = 'waiting'",
    )
    .bind(now)
    .bind(fence.workspace.as_str())
    .bind(parent.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug)]
pub(crate) struct NewRunWrite {
    pub(crate) id: RunId,
    workflow: String,
    version: i64,
    input: String,
    trigger: String,
    trigger_node: Option<String>,
    child: bool,
    pub(crate) at: i64,
}

impl NewRunWrite {
    pub(crate) fn new(new: NewRun<'_>) -> NewRunWrite {
        NewRunWrite {
            id: RunId::generate(),
            workflow: new.workflow.to_string(),
            version: new.version,
            input: new.input.to_string(),
            trigger: new.trigger.to_owned(),
            trigger_node: new.trigger_node.map(str::to_owned),
            child: false,
            at: now_ms(),
        }
    }
}

/// Inserts a queued run of a saved version; `NotFound` if the version is not one of the
/// workspace's.
pub(crate) async fn insert_run_row(
    conn: &mut AnyConnection,
    workspace: &str,
    parent: Option<&str>,
    new: &NewRunWrite,
) -> Result<Run> {
    let row = sqlx::query(&format!(
        "INSERT INTO runs (id, workspace_id, workflow_id, version, status, input, trigger, trigger_node, parent_run_id, \
         created_at, updated_at) SELECT $1, v.workspace_id, v.workflow_id, v.version, 'queued', $2, $3, $4, $5, $6, $6 \
         FROM workflow_versions v WHERE v.workspace_id = $7 AND v.workflow_id = $8 AND v.version = $9 \
         RETURNING {RUN_COLUMNS}"
    ))
    .bind(new.id.as_str())
    .bind(new.input.as_str())
    .bind(new.trigger.as_str())
    .bind(new.trigger_node.as_deref())
    .bind(parent)
    .bind(new.at)
    .bind(workspace)
    .bind(new.workflow.as_str())
    .bind(new.version)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    run_from_row(&row)
}

struct EnqueueWrite {
    workspace: String,
    new: NewRunWrite,
}

fn enqueue<'c>(conn: &'c mut AnyConnection, write: &'c EnqueueWrite) -> BoxFuture<'c, Result<Run>> {
    Box::pin(insert_run_row(conn, &write.workspace, None, &write.new))
}

impl Store {
    /// Queues a run of `new.version`, which must be a saved version of the scope's workflow.
    pub async fn enqueue_run(&self, scope: &TenantScope, new: NewRun<'_>) -> Result<Run> {
        let write = EnqueueWrite { workspace: scope.workspace().to_string(), new: NewRunWrite::new(new) };
        let run = self.writes.write(write.new.id.to_string(), true, write, enqueue).await?;
        self.signals.ring_queued_here();
        Ok(run)
    }

    /// Commits `checkpoint` while the claim holds its run; the run as it is afterwards when the
    /// checkpoint ended or parked it. A claim that lost its lease is `LeaseLost`, and nothing of
    /// the checkpoint is written; so is a checkpoint that repeats an attempt (`Conflict`) or
    /// finishes a step that is not in flight (`Invariant`).
    pub async fn checkpoint(&self, claim: &ClaimedRun, mut checkpoint: Checkpoint) -> Result<Option<Run>> {
        if let Some(payloads) = &self.payloads {
            checkpoint.offload(payloads, claim.scope().workspace(), &claim.run().id).await?;
        }
        let fence = claim.fence();
        // A run queued, or one ending (which frees a slot of its workspace, maybe wakes a parent).
        let frees_work = !checkpoint.queued.is_empty() || checkpoint.run.is_some();
        let responds = checkpoint.response.is_some();
        let run = self
            .writes
            .write(fence.run.clone(), frees_work, CheckpointWrite { fence, checkpoint }, apply_checkpoint)
            .await?;
        if frees_work {
            self.signals.ring_queued_here();
        }
        if responds || run.as_ref().is_some_and(|run| run.status.is_finished()) {
            self.ring_settled(&claim.run().id, claim.run().trigger == WEBHOOK_TRIGGER).await;
        }
        Ok(run)
    }

    /// Records that an attempt of a node's activation began (a checkpoint of that alone).
    pub async fn start_step(&self, claim: &ClaimedRun, step: StepStart<'_>) -> Result<StepId> {
        let mut checkpoint = Checkpoint::new();
        let id = checkpoint.start(step);
        self.checkpoint(claim, checkpoint).await?;
        Ok(id)
    }

    /// Records how a step attempt ended, with its logs (a checkpoint of that alone).
    pub async fn finish_step(
        &self,
        claim: &ClaimedRun,
        step: &StepId,
        outcome: StepOutcome<'_>,
        logs: Option<&serde_json::Value>,
    ) -> Result<Step> {
        let mut checkpoint = Checkpoint::new();
        checkpoint.finish(step, outcome, logs);
        self.checkpoint(claim, checkpoint).await?;
        let row = sqlx::query(&format!("SELECT {STEP_COLUMNS} FROM steps WHERE workspace_id = $1 AND id = $2"))
            .bind(claim.scope().workspace().as_str())
            .bind(step.as_str())
            .fetch_one(&self.pool)
            .await?;
        self.resolve_payloads(claim.scope().workspace(), step_from_row(&row)?).await
    }

    /// Ends the run and releases its lease.
    pub async fn finish_run(&self, claim: &ClaimedRun, end: RunEnd<'_>) -> Result<Run> {
        let mut checkpoint = Checkpoint::new();
        checkpoint.end(end);
        self.checkpoint(claim, checkpoint).await?.ok_or(StoreError::Invariant("an ended run was not returned"))
    }

    /// Puts the run to sleep until `wake_at` and releases its lease.
    pub async fn park_run(&self, claim: &ClaimedRun, wake_at: i64) -> Result<Run> {
        let mut checkpoint = Checkpoint::new();
        checkpoint.park(wake_at);
        self.checkpoint(claim, checkpoint).await?.ok_or(StoreError::Invariant("a parked run was not returned"))
    }
}
