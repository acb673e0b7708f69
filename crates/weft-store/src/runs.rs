//! Runs and their steps. The runs table is the queue: a worker claims queued runs under a lease
//! ([`Store::claim_runs`]), renews it by heartbeat, records each step attempt, and finally ends or
//! parks the run. Every write a worker makes is checked against its claim in the same
//! transaction, so a worker whose lease expired can never write; the reaper
//! ([`Store::requeue_expired`]) queues such runs again and the next owner resumes from the
//! recorded steps.

use std::str::FromStr;

use futures_util::future::BoxFuture;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};
use weft_domain::{Grant, RunId, StepId, TenantScope, WorkflowId, WorkspaceId};

use crate::accounts::{parse_id, parse_stored_id};
use crate::events::record_run_end;
use crate::{Backend, BlobPrefix, Page, PageRequest, Result, Store, StoreError, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Queued,
    Running,
    Waiting,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
}

/// A stored status this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownStatus(pub String);

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Cancelled,
        RunStatus::TimedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::TimedOut => "timed_out",
        }
    }

    /// Whether the run is over: succeeded, failed, cancelled or timed out.
    pub fn is_finished(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled | RunStatus::TimedOut)
    }
}

/// The `trigger` of a run started by a request to its workflow's webhook.
pub const WEBHOOK_TRIGGER: &str = "webhook";

impl StepStatus {
    pub const ALL: [StepStatus; 4] =
        [StepStatus::Running, StepStatus::Succeeded, StepStatus::Failed, StepStatus::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }
}

impl FromStr for RunStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, UnknownStatus> {
        RunStatus::ALL.into_iter().find(|status| status.as_str() == s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl FromStr for StepStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, UnknownStatus> {
        StepStatus::ALL.into_iter().find(|status| status.as_str() == s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// One execution of one workflow version.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub workflow: WorkflowId,
    pub version: i64,
    pub status: RunStatus,
    pub input: serde_json::Value,
    pub output: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
    /// What started it: `manual`, `webhook`, `schedule`, `event`, `workflow` (a parent run),
    /// `error` (a failed run's error workflow).
    pub trigger: String,
    /// The trigger node it starts at; `None`: the first `manual_trigger`.
    pub trigger_node: Option<String>,
    /// The answer a `respond_to_webhook` node set for the request that started it.
    pub response: Option<serde_json::Value>,
    /// A cancel arrived while a worker held the run; the worker learns it when it renews.
    pub cancel_requested: bool,
    /// The worker holding the run, while it is running.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    /// How many times a worker has claimed the run (more than once after a wait or a recovery).
    pub claims: i64,
    /// The run this one retries.
    pub retry_of: Option<RunId>,
    /// The run whose `execute_workflow` node started this one, and waits for it.
    pub parent: Option<RunId>,
    pub wake_at: Option<i64>,
    pub created_at: i64,
    /// The first claim.
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub updated_at: i64,
}

/// One attempt of one activation of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: StepId,
    pub run: RunId,
    pub node: String,
    /// The planner's key for this activation of the node.
    pub activation: String,
    pub attempt: i64,
    pub status: StepStatus,
    pub input: Option<serde_json::Value>,
    pub output: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
    pub logs: Option<serde_json::Value>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct NewRun<'a> {
    pub workflow: &'a WorkflowId,
    /// Must be one of the workflow's saved versions.
    pub version: i64,
    pub input: &'a serde_json::Value,
    pub trigger: &'a str,
    /// The trigger node to start at; `None`: the first `manual_trigger`.
    pub trigger_node: Option<&'a str>,
}

/// What a worker asks of [`Store::claim_runs`].
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// Names the claimer in the lease; unique per worker process.
    pub worker: &'a str,
    /// At most this many runs.
    pub limit: u32,
    /// The lease lasts this long unless renewed.
    pub lease_ms: i64,
    /// No workspace gets more than this many runs running at once.
    pub per_workspace_cap: u32,
}

/// A run a worker holds under a lease, with the scope of its workspace to act in. Only
/// [`Store::claim_runs`] makes one; it is the worker's capability to write the run's steps and
/// end it, and stops working as soon as the lease is lost.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    scope: TenantScope,
    run: Run,
    workflow_name: String,
}

impl ClaimedRun {
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    /// The run as it was claimed.
    pub fn run(&self) -> &Run {
        &self.run
    }

    /// The name of the run's workflow when the run was claimed (`$workflow.name`).
    pub fn workflow_name(&self) -> &str {
        &self.workflow_name
    }

    /// Whether an earlier claim may have recorded steps: the run was claimed before, or it
    /// retries a run whose steps it copied.
    pub fn may_have_steps(&self) -> bool {
        self.run.claims > 1 || self.run.retry_of.is_some()
    }
}

/// The columns that prove a claim still holds its run, owned so a write can carry them to the
/// coalescer.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    pub(crate) workspace: String,
    pub(crate) run: String,
    owner: Option<String>,
    claims: i64,
}

impl ClaimedRun {
    pub(crate) fn fence(&self) -> Fence {
        Fence {
            workspace: self.scope.workspace().to_string(),
            run: self.run.id.to_string(),
            owner: self.run.lease_owner.clone(),
            claims: self.run.claims,
        }
    }
}

/// What a heartbeat learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    Held,
    /// Still held, but the run should stop: someone asked to cancel it.
    CancelRequested,
    /// Another worker may own the run now; stop without writing anything.
    Lost,
}

#[derive(Debug, Clone, Copy)]
pub struct StepStart<'a> {
    pub node: &'a str,
    pub activation: &'a str,
    /// 1 for the first attempt; a retry or a recovered run uses the next number.
    pub attempt: i64,
    pub input: Option<&'a serde_json::Value>,
}

#[derive(Debug, Clone, Copy)]
pub enum StepOutcome<'a> {
    Succeeded {
        output: &'a serde_json::Value,
    },
    Failed {
        error: &'a serde_json::Value,
    },
    Skipped,
    /// The attempt released the worker to wait; `note` says for what (kept as its output).
    Paused {
        note: &'a serde_json::Value,
    },
}

/// Where a retried run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryFrom {
    Start,
    FailedStep,
}

pub enum RunEnd<'a> {
    Succeeded { output: &'a serde_json::Value },
    Failed { error: &'a serde_json::Value },
    Cancelled,
    TimedOut,
}

/// Narrows a run list; every part optional. Times are epoch ms of creation.
#[derive(Debug, Clone, Default)]
pub struct RunFilter<'a> {
    pub workflow: Option<&'a WorkflowId>,
    pub status: Option<RunStatus>,
    /// Created at or after.
    pub since: Option<i64>,
    /// Created before.
    pub until: Option<i64>,
}

pub(crate) const RUN_COLUMNS: &str = "id, workflow_id, version, status, input, output, error, trigger, trigger_node, \
     response, cancel_requested, lease_owner, lease_expires_at, claims, retry_of, parent_run_id, wake_at, created_at, started_at, finished_at, updated_at";
pub(crate) const STEP_COLUMNS: &str =
    "id, run_id, node, activation, attempt, status, input, output, error, logs, started_at, finished_at";
pub(crate) const FINISHED: &str = "('succeeded', 'failed', 'cancelled', 'timed_out')";
/// The run is still held by the claim bound as $1..$4 (see [`bind_claim`]). The claim count
/// fences off an older claim by the same worker, e.g. one whose lease expired before the same
/// process claimed the run again.
pub(crate) const HELD: &str =
    "workspace_id = $1 AND id = $2 AND status = 'running' AND lease_owner = $3 AND claims = $4";

pub(crate) fn bind_claim<'q>(sql: &'q str, fence: &'q Fence) -> Query<'q, Any, AnyArguments<'q>> {
    sqlx::query(sql)
        .bind(fence.workspace.as_str())
        .bind(fence.run.as_str())
        .bind(fence.owner.as_deref())
        .bind(fence.claims)
}

fn decode_json(column: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Db(sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) }))
}

fn json_column(row: &AnyRow, column: &str) -> Result<Option<serde_json::Value>> {
    row.try_get::<Option<String>, _>(column)?.map(|text| decode_json(column, &text)).transpose()
}

pub(crate) fn run_from_row(row: &AnyRow) -> Result<Run> {
    Ok(Run {
        id: parse_id(row, "id")?,
        workflow: parse_id(row, "workflow_id")?,
        version: row.try_get("version")?,
        status: parse_id(row, "status")?,
        input: decode_json("input", &row.try_get::<String, _>("input")?)?,
        output: json_column(row, "output")?,
        error: json_column(row, "error")?,
        trigger: row.try_get("trigger")?,
        trigger_node: row.try_get("trigger_node")?,
        response: json_column(row, "response")?,
        cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        claims: row.try_get("claims")?,
        retry_of: row
            .try_get::<Option<String>, _>("retry_of")?
            .map(|id| parse_stored_id(&id, "retry_of"))
            .transpose()?,
        parent: row
            .try_get::<Option<String>, _>("parent_run_id")?
            .map(|id| parse_stored_id(&id, "parent_run_id"))
            .transpose()?,
        wake_at: row.try_get("wake_at")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn step_from_row(row: &AnyRow) -> Result<Step> {
    Ok(Step {
        id: parse_id(row, "id")?,
        run: parse_id(row, "run_id")?,
        node: row.try_get("node")?,
        activation: row.try_get("activation")?,
        attempt: row.try_get("attempt")?,
        status: parse_id(row, "status")?,
        input: json_column(row, "input")?,
        output: json_column(row, "output")?,
        error: json_column(row, "error")?,
        logs: json_column(row, "logs")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// The first write of a worker's transaction: touches the run if the claim still holds it. From
/// here to the commit the run's row is locked (PostgreSQL) or the single writer is ours
/// (SQLite), so no reaper or claimer can take the run over in between.
pub(crate) async fn hold_lease(conn: &mut AnyConnection, fence: &Fence, now: i64) -> Result<()> {
    let sql = format!("UPDATE runs SET updated_at = $5 WHERE {HELD}");
    let held = bind_claim(&sql, fence).bind(now).execute(&mut *conn).await?.rows_affected();
    if held == 0 { Err(StoreError::LeaseLost) } else { Ok(()) }
}

/// A claim considers this many times its limit of the oldest queued runs, so that runs of a
/// workspace reaching its cap among them do not leave the claim short.
const CLAIM_WINDOW: i64 = 4;

/// PostgreSQL lets concurrent claimers pass over each other's candidate rows; SQLite has no such
/// clause and needs none, its single writer runs one claim at a time.
pub(crate) fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    }
}

/// A claim's request, owned for the coalescer.
struct ClaimWrite {
    worker: String,
    lease_ms: i64,
    per_workspace_cap: u32,
    limit: u32,
    lock: &'static str,
}

fn claim<'c>(conn: &'c mut AnyConnection, request: &'c ClaimWrite) -> BoxFuture<'c, Result<Vec<ClaimedRun>>> {
    Box::pin(async move {
        let now = now_ms();
        let lock = request.lock;
        let rows = sqlx::query(&format!(
            "WITH busy AS ( \
                 SELECT workspace_id, COUNT(*) AS running FROM runs WHERE status = 'running' GROUP BY workspace_id \
             ), candidates AS ( \
                 SELECT q.id, q.workspace_id, q.created_at FROM runs q WHERE q.status = 'queued' \
                 AND COALESCE((SELECT b.running FROM busy b WHERE b.workspace_id = q.workspace_id), 0) < $4 \
                 ORDER BY q.created_at, q.id LIMIT $6 {lock} \
             ), ranked AS ( \
                 SELECT c.id, c.created_at, COALESCE(b.running, 0) \
                     + ROW_NUMBER() OVER (PARTITION BY c.workspace_id ORDER BY c.created_at, c.id) AS slot \
                 FROM candidates c LEFT JOIN busy b ON b.workspace_id = c.workspace_id \
             ) \
             UPDATE runs SET status = 'running', lease_owner = $1, lease_expires_at = $2, claims = claims + 1, \
                 started_at = COALESCE(started_at, $3), updated_at = $3 \
             WHERE status = 'queued' \
             AND id IN (SELECT id FROM ranked WHERE slot <= $4 ORDER BY created_at, id LIMIT $5) \
             RETURNING workspace_id, {RUN_COLUMNS}, (SELECT w.name FROM workflows w \
                 WHERE w.workspace_id = runs.workspace_id AND w.id = runs.workflow_id) AS workflow_name"
        ))
        .bind(request.worker.as_str())
        .bind(now.saturating_add(request.lease_ms))
        .bind(now)
        .bind(i64::from(request.per_workspace_cap))
        .bind(i64::from(request.limit))
        .bind(i64::from(request.limit) * CLAIM_WINDOW)
        .fetch_all(&mut *conn)
        .await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let workspace: WorkspaceId = parse_id(row, "workspace_id")?;
                // The worker acts as Weft in the workspace the run was just claimed from, and in
                // no other: the scope's workspace is the run's own.
                #[allow(clippy::disallowed_methods)]
                let scope = TenantScope::verified(workspace, Grant::System);
                let workflow_name = row.try_get::<Option<String>, _>("workflow_name")?.unwrap_or_default();
                Ok(ClaimedRun { scope, run: run_from_row(row)?, workflow_name })
            })
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by(|a, b| (a.run.created_at, &a.run.id).cmp(&(b.run.created_at, &b.run.id)));
        Ok(claimed)
    })
}

impl Store {
    /// Queues a new run of a finished run's version with its input. From the failed step, the
    /// old run's succeeded steps are copied into it, so execution resumes where it failed and
    /// completed nodes keep their outputs; from the start, everything runs again.
    pub async fn retry_run(&self, scope: &TenantScope, run: &RunId, from: RetryFrom) -> Result<Run> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO runs (id, workspace_id, workflow_id, version, status, input, trigger, trigger_node, retry_of, \
             created_at, updated_at) SELECT $1, workspace_id, workflow_id, version, 'queued', input, trigger, trigger_node, \
             id, $2, $2 FROM runs \
             WHERE workspace_id = $3 AND id = $4 AND status IN {FINISHED} RETURNING {RUN_COLUMNS}"
        ))
        .bind(RunId::generate().as_str())
        .bind(now)
        .bind(scope.workspace().as_str())
        .bind(run.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            self.run(scope, run).await?;
            return Err(StoreError::Invariant("the run has not finished yet"));
        };
        let retry = run_from_row(&row)?;
        if from == RetryFrom::FailedStep {
            let steps = sqlx::query(&format!(
                "SELECT {STEP_COLUMNS} FROM steps WHERE workspace_id = $1 AND run_id = $2 AND status = 'succeeded' \
                 ORDER BY started_at, id"
            ))
            .bind(scope.workspace().as_str())
            .bind(run.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let workspace = scope.workspace();
            for step in steps.iter().map(step_from_row) {
                // Payloads in blobs are copied under the new run, which outlives the old one.
                let step = self.resolve_payloads(workspace, step?).await?;
                let id = StepId::generate();
                let input = self.column_text(workspace, &retry.id, &id, "input", step.input).await?;
                let output = self.column_text(workspace, &retry.id, &id, "output", step.output).await?;
                let logs = self.column_text(workspace, &retry.id, &id, "logs", step.logs).await?;
                sqlx::query(
                    "INSERT INTO steps (id, workspace_id, run_id, node, activation, attempt, status, input, output, \
                     logs, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7, $8, $9, $10, $11)",
                )
                .bind(id.as_str())
                .bind(scope.workspace().as_str())
                .bind(retry.id.as_str())
                .bind(&step.node)
                .bind(&step.activation)
                .bind(step.attempt)
                .bind(input)
                .bind(output)
                .bind(logs)
                .bind(step.started_at)
                .bind(step.finished_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.ring_queued().await;
        Ok(retry)
    }

    /// Moves up to `request.limit` queued runs, oldest first, to running under a lease for
    /// `request.worker`. Workspaces already running `per_workspace_cap` runs are passed over, and
    /// one claim gives no workspace more than its free slots, so a busy workspace cannot take
    /// every worker. Concurrent claimers on PostgreSQL skip each other's rows, so each run goes
    /// to exactly one of them; they do not see each other's uncommitted claims, though, so a
    /// workspace can pass its cap by what several of them claim at the same instant.
    pub async fn claim_runs(&self, request: ClaimRequest<'_>) -> Result<Vec<ClaimedRun>> {
        let write = ClaimWrite {
            worker: request.worker.to_owned(),
            lease_ms: request.lease_ms,
            per_workspace_cap: request.per_workspace_cap,
            limit: request.limit,
            lock: skip_locked(self.backend()),
        };
        // Through the coalescer, so a claim shares the single SQLite writer's transaction with
        // the checkpoints instead of waiting for it in the busy handler.
        self.writes.write(String::new(), false, write, claim).await
    }

    /// The worker's heartbeat: extends the lease to `lease_ms` from now while the claim holds
    /// it, and reports a cancel request.
    pub async fn renew_lease(&self, claim: &ClaimedRun, lease_ms: i64) -> Result<Renewal> {
        let now = now_ms();
        let fence = claim.fence();
        let sql =
            format!("UPDATE runs SET lease_expires_at = $5, updated_at = $6 WHERE {HELD} RETURNING cancel_requested");
        let cancel: Option<i64> = bind_claim(&sql, &fence)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get("cancel_requested"))
            .transpose()?;
        Ok(match cancel {
            None => Renewal::Lost,
            Some(0) => Renewal::Held,
            Some(_) => Renewal::CancelRequested,
        })
    }

    /// The reaper: runs whose lease expired before `now` are queued again for another worker.
    /// Their steps stay as recorded; one left running is attempted again by the new owner.
    pub async fn requeue_expired(&self, now: i64) -> Result<u64> {
        let requeued = sqlx::query(
            "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE status = 'running' AND lease_expires_at < $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if requeued > 0 {
            self.ring_queued().await;
        }
        Ok(requeued)
    }

    /// Every step attempt of the run, in the order they started: what a new owner resumes from.
    pub async fn recorded_steps(&self, scope: &TenantScope, run: &RunId) -> Result<Vec<Step>> {
        self.run(scope, run).await?;
        let rows = sqlx::query(&format!(
            "SELECT {STEP_COLUMNS} FROM steps WHERE workspace_id = $1 AND run_id = $2 ORDER BY started_at, id"
        ))
        .bind(scope.workspace().as_str())
        .bind(run.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut steps = Vec::with_capacity(rows.len());
        for row in &rows {
            steps.push(self.resolve_payloads(scope.workspace(), step_from_row(row)?).await?);
        }
        Ok(steps)
    }

    /// The step with the payloads that went to blobs read back.
    pub(crate) async fn resolve_payloads(&self, workspace: &WorkspaceId, mut step: Step) -> Result<Step> {
        if let Some(payloads) = &self.payloads {
            for field in [&mut step.input, &mut step.output, &mut step.error, &mut step.logs] {
                if let Some(value) = field.take() {
                    *field = Some(payloads.load(workspace, value).await?);
                }
            }
        }
        Ok(step)
    }

    /// The column text of a step's payload `field`, offloaded when it is too long.
    async fn column_text(
        &self,
        workspace: &WorkspaceId,
        run: &RunId,
        step: &StepId,
        field: &str,
        value: Option<serde_json::Value>,
    ) -> Result<Option<String>> {
        let Some(value) = value else { return Ok(None) };
        match &self.payloads {
            Some(payloads) => Ok(Some(payloads.offload(workspace, run, step, field, value.to_string()).await?)),
            None => Ok(Some(value.to_string())),
        }
    }

    /// Queues the waiting runs whose wake time is at or before `now`.
    pub async fn wake_due(&self, now: i64) -> Result<u64> {
        let woken = sqlx::query(
            "UPDATE runs SET status = 'queued', wake_at = NULL, updated_at = $1 \
             WHERE status = 'waiting' AND wake_at <= $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if woken > 0 {
            self.ring_queued().await;
        }
        Ok(woken)
    }

    /// Cancels a queued or waiting run at once; a running one is marked for its worker to stop
    /// (the cancel signal tells it at once, its next lease renewal at the latest). A finished run
    /// is returned as it is.
    pub async fn request_cancel(&self, scope: &TenantScope, id: &RunId) -> Result<Run> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE runs SET \
                 status = CASE WHEN status = 'running' THEN status ELSE 'cancelled' END, \
                 finished_at = CASE WHEN status = 'running' THEN finished_at ELSE $1 END, \
                 cancel_requested = CASE WHEN status = 'running' THEN 1 ELSE cancel_requested END, \
                 updated_at = $1 \
             WHERE workspace_id = $2 AND id = $3 AND status IN ('queued', 'waiting', 'running') \
             RETURNING {RUN_COLUMNS}"
        ))
        .bind(now)
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return self.run(scope, id).await };
        let run = run_from_row(&row)?;
        let queued = record_run_end(&mut tx, scope.workspace(), &run, now).await?;
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        if run.status == RunStatus::Running {
            self.ring_cancel(&run.id).await;
        }
        Ok(run)
    }

    /// The workspace's runs, newest first.
    pub async fn runs(&self, scope: &TenantScope, filter: &RunFilter<'_>, page: PageRequest<'_>) -> Result<Page<Run>> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE workspace_id = $1 AND ($2 IS NULL OR id < $2) \
             AND ($3 IS NULL OR workflow_id = $3) AND ($4 IS NULL OR status = $4) \
             AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
             ORDER BY id DESC LIMIT $7"
        ))
        .bind(scope.workspace().as_str())
        .bind(page.after)
        .bind(filter.workflow.map(WorkflowId::as_str))
        .bind(filter.status.map(RunStatus::as_str))
        .bind(filter.since)
        .bind(filter.until)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(run_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |run| run.id.to_string()))
    }

    pub async fn run(&self, scope: &TenantScope, id: &RunId) -> Result<Run> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE workspace_id = $1 AND id = $2"))
            .bind(scope.workspace().as_str())
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        run_from_row(&row)
    }

    /// Deletes a finished run with its steps. One still queued, running or waiting is
    /// `Invariant`: cancel it first.
    pub async fn delete_run(&self, scope: &TenantScope, id: &RunId) -> Result<()> {
        let deleted: Option<String> = sqlx::query_scalar(&format!(
            "DELETE FROM runs WHERE workspace_id = $1 AND id = $2 AND status IN {FINISHED} RETURNING id"
        ))
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        if deleted.is_some() {
            // The run is gone either way; a blob left behind is only disk space.
            if let Some(payloads) = &self.payloads
                && let Err(error) = payloads.blobs.delete_prefix(&BlobPrefix::run(scope.workspace(), id)).await
            {
                tracing::warn!(run = %id, error = %error, "deleting a deleted run's payloads failed");
            }
            return Ok(());
        }
        self.run(scope, id).await?;
        Err(StoreError::Invariant("only a finished run can be deleted"))
    }
}
