//! The published versions' schedule triggers and their firings. Publishing registers a row per
//! enabled `schedule_trigger` ([`sync_schedules`]); a scheduler takes the due rows
//! ([`Store::due_schedules`]) and fires each in one transaction ([`Store::fire_schedule`]):
//! it takes the row if no other scheduler holds it, claims each firing through the unique
//! `(schedule_id, fire_at)` row, queues a run per claimed firing, and moves `next_fire_at` on
//! with a compare-and-set. Any number of schedulers therefore fire each firing exactly once.
//!
//! When a schedule fires and which firings a catch-up runs are the scheduler's decisions; the
//! store only reads the params as JSON.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use weft_domain::{RunId, ScheduleId, TenantScope, WorkflowId, WorkspaceId};

use crate::accounts::parse_id;
use crate::runs::skip_locked;
use crate::triggers::enabled_nodes;
use crate::{Result, Store, StoreError, now_ms};

const SCHEDULE_TRIGGER: &str = "schedule_trigger";

/// How long firings are kept once past: long enough to see what fired lately. A firing older
/// than its schedule's `next_fire_at` is never attempted again, so its row guards nothing more.
const FIRINGS_KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// A workflow's registered schedule trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEntry {
    pub id: ScheduleId,
    pub workflow: WorkflowId,
    /// The trigger node's name.
    pub node: String,
    /// The node's params as published.
    pub params: Value,
    /// `None` until a scheduler has seen the schedule (or its changed params).
    pub next_fire_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A schedule whose `next_fire_at` has come (or which no scheduler has seen yet).
#[derive(Debug, Clone, PartialEq)]
pub struct DueSchedule {
    pub workspace: WorkspaceId,
    pub schedule: ScheduleEntry,
}

/// What firing a due schedule does, decided by the scheduler from the schedule as it read it.
#[derive(Debug, Clone, PartialEq)]
pub struct FiringPlan {
    /// The firings to run, oldest first.
    pub firings: Vec<PlannedFiring>,
    /// The schedule's next firing afterwards; `None`: it never fires again.
    pub next_fire_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFiring {
    pub fire_at: i64,
    /// The run's input.
    pub input: Value,
}

const SCHEDULE_COLUMNS: &str = "id, workspace_id, workflow_id, node, params, next_fire_at, created_at, updated_at";

fn entry_from_row(row: &AnyRow) -> Result<ScheduleEntry> {
    let params: String = row.try_get("params")?;
    Ok(ScheduleEntry {
        id: parse_id(row, "id")?,
        workflow: parse_id(row, "workflow_id")?,
        node: row.try_get("node")?,
        params: serde_json::from_str(&params)
            .map_err(|e| StoreError::Db(sqlx::Error::ColumnDecode { index: "params".into(), source: Box::new(e) }))?,
        next_fire_at: row.try_get("next_fire_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Replaces the workflow's schedules with the enabled schedule triggers of `definition` (`None`:
/// it is no longer published). A node whose params did not change keeps its `next_fire_at`;
/// one whose params changed, or a new one, gets it from the scheduler's next tick.
pub(crate) async fn sync_schedules(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    workflow: &WorkflowId,
    definition: Option<&Value>,
) -> Result<()> {
    let triggers: Vec<(&str, &Value)> =
        definition.into_iter().flat_map(|definition| enabled_nodes(definition, SCHEDULE_TRIGGER)).collect();
    let rows =
        sqlx::query(&format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE workspace_id = $1 AND workflow_id = $2"))
            .bind(workspace.as_str())
            .bind(workflow.as_str())
            .fetch_all(&mut *conn)
            .await?;
    let registered = rows.iter().map(entry_from_row).collect::<Result<Vec<_>>>()?;
    for gone in registered.iter().filter(|entry| !triggers.iter().any(|(node, _)| *node == entry.node)) {
        sqlx::query("DELETE FROM schedules WHERE id = $1").bind(gone.id.as_str()).execute(&mut *conn).await?;
    }
    let now = now_ms();
    for (node, params) in triggers {
        match registered.iter().find(|entry| entry.node == node) {
            Some(entry) if entry.params == *params => {}
            Some(entry) => {
                sqlx::query("UPDATE schedules SET params = $1, next_fire_at = NULL, updated_at = $2 WHERE id = $3")
                    .bind(params.to_string())
                    .bind(now)
                    .bind(entry.id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO schedules (id, workspace_id, workflow_id, node, params, next_fire_at, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $6)",
                )
                .bind(ScheduleId::generate().as_str())
                .bind(workspace.as_str())
                .bind(workflow.as_str())
                .bind(node)
                .bind(params.to_string())
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// The workflow's schedules, by node.
    pub async fn schedules(&self, scope: &TenantScope, workflow: &WorkflowId) -> Result<Vec<ScheduleEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE workspace_id = $1 AND workflow_id = $2 ORDER BY node"
        ))
        .bind(scope.workspace().as_str())
        .bind(workflow.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Up to `limit` schedules due at `now` (those no scheduler has seen first), in workspaces
    /// that are not deleted, earliest first. Read without locks: [`Store::fire_schedule`] takes
    /// each.
    pub async fn due_schedules(&self, now: i64, limit: u32) -> Result<Vec<DueSchedule>> {
        let rows = sqlx::query(
            "SELECT c.id, c.workspace_id, c.workflow_id, c.node, c.params, c.next_fire_at, c.created_at, c.updated_at \
             FROM schedules c JOIN workspaces s ON s.id = c.workspace_id \
             WHERE (c.next_fire_at IS NULL OR c.next_fire_at <= $1) AND s.deleted_at IS NULL \
             ORDER BY c.next_fire_at, c.id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(DueSchedule { workspace: parse_id(row, "workspace_id")?, schedule: entry_from_row(row)? }))
            .collect()
    }

    /// The earliest `next_fire_at` of all schedules (a schedule no scheduler has seen counts as
    /// due at `now`): how long a scheduler may sleep.
    pub async fn earliest_fire_at(&self, now: i64) -> Result<Option<i64>> {
        let earliest: Option<i64> = sqlx::query_scalar("SELECT MIN(COALESCE(next_fire_at, $1)) FROM schedules")
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(earliest)
    }

    /// Carries out `plan` for `due`, in one transaction, unless another scheduler holds the
    /// schedule or has moved its `next_fire_at` since `due` was read (then nothing happens).
    /// Each firing is claimed by its unique row; one another scheduler claimed is passed over.
    /// Returns the runs queued, and rings "runs were queued" if there are any.
    pub async fn fire_schedule(&self, due: &DueSchedule, plan: &FiringPlan) -> Result<Vec<RunId>> {
        let schedule = &due.schedule;
        let seen = schedule.next_fire_at.unwrap_or(-1);
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let held: Option<String> = sqlx::query_scalar(&format!(
            "SELECT id FROM schedules WHERE id = $1 AND COALESCE(next_fire_at, -1) = $2 {}",
            skip_locked(self.backend())
        ))
        .bind(schedule.id.as_str())
        .bind(seen)
        .fetch_optional(&mut *tx)
        .await?;
        if held.is_none() {
            return Ok(Vec::new());
        }
        let moved = sqlx::query(
            "UPDATE schedules SET next_fire_at = $1, updated_at = $2 WHERE id = $3 AND COALESCE(next_fire_at, -1) = $4",
        )
        .bind(plan.next_fire_at)
        .bind(now)
        .bind(schedule.id.as_str())
        .bind(seen)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(Vec::new());
        }
        let mut queued = Vec::with_capacity(plan.firings.len());
        for firing in &plan.firings {
            let run = RunId::generate();
            let claimed = sqlx::query(
                "INSERT INTO schedule_firings (schedule_id, fire_at, run_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(schedule.id.as_str())
            .bind(firing.fire_at)
            .bind(run.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO runs (id, workspace_id, workflow_id, version, status, input, trigger, trigger_node, \
                 created_at, updated_at) SELECT $1, w.workspace_id, w.id, w.published_version, 'queued', $2, \
                 'schedule', $3, $4, $4 FROM workflows w \
                 WHERE w.workspace_id = $5 AND w.id = $6 AND w.published_version IS NOT NULL RETURNING id",
            )
            .bind(run.as_str())
            .bind(firing.input.to_string())
            .bind(schedule.node.as_str())
            .bind(now)
            .bind(due.workspace.as_str())
            .bind(schedule.workflow.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            queued.push(run);
        }
        if let Some(oldest_kept) = plan.firings.last().map(|firing| firing.fire_at - FIRINGS_KEPT_MS) {
            sqlx::query("DELETE FROM schedule_firings WHERE schedule_id = $1 AND fire_at < $2")
                .bind(schedule.id.as_str())
                .bind(oldest_kept)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if !queued.is_empty() {
            self.ring_queued().await;
        }
        Ok(queued)
    }
}
