//! Dedupe histories: the values a `remove_duplicates` node with `across_runs` let through, so
//! that later runs of the workflow drop items seen before (n8n's "remove items seen in previous
//! executions"). A history belongs to a workflow (deleted with it) and is named by its node, or
//! shared by the workflow's nodes.

use weft_domain::{TenantScope, WorkflowId};

use crate::{Result, Store, now_ms};

/// Which history of which workflow, for which node activation.
#[derive(Debug, Clone, Copy)]
pub struct DedupeHistory<'a> {
    pub workflow: &'a WorkflowId,
    /// The node's name, or `""` for the workflow's shared history.
    pub name: &'a str,
    /// The activation looking, `<run>:<activation>`: what it lets through stays new to it.
    pub by: &'a str,
    /// How many values the history keeps, the newest.
    pub keep: u64,
}

impl Store {
    /// Records `values` (digests, not the values themselves) in the history and says, for each
    /// in order, whether it is new: not let through by another activation (of this run or an
    /// earlier one), and not earlier in `values`. The activation that first let a value through
    /// sees it as new again, so a step repeated after a crash lets the same items through. Then
    /// only the newest `keep` values are kept.
    pub async fn let_through_new(
        &self,
        scope: &TenantScope,
        history: DedupeHistory<'_>,
        values: &[String],
    ) -> Result<Vec<bool>> {
        let (workspace, workflow, name) = (scope.workspace().as_str(), history.workflow.as_str(), history.name);
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let mut new = Vec::with_capacity(values.len());
        let mut earlier = std::collections::HashSet::new();
        for value in values {
            // On a conflict the no-op update makes the row come back: who let the value through.
            let first_by: String = sqlx::query_scalar(
                "INSERT INTO dedupe_history (workspace_id, workflow_id, history, value, let_through_by, seen_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (workspace_id, workflow_id, history, value)
                 DO UPDATE SET seen_at = dedupe_history.seen_at
                 RETURNING let_through_by",
            )
            .bind(workspace)
            .bind(workflow)
            .bind(name)
            .bind(value)
            .bind(history.by)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            new.push(first_by == history.by && earlier.insert(value));
        }
        let oldest_kept: Option<i64> = sqlx::query_scalar(
            "SELECT seen_at FROM dedupe_history WHERE workspace_id = $1 AND workflow_id = $2 AND history = $3
             ORDER BY seen_at DESC LIMIT 1 OFFSET $4",
        )
        .bind(workspace)
        .bind(workflow)
        .bind(name)
        .bind(i64::try_from(history.keep.saturating_sub(1)).unwrap_or(i64::MAX))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(oldest_kept) = oldest_kept {
            sqlx::query(
                "DELETE FROM dedupe_history
                 WHERE workspace_id = $1 AND workflow_id = $2 AND history = $3 AND seen_at < $4",
            )
            .bind(workspace)
            .bind(workflow)
            .bind(name)
            .bind(oldest_kept)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(new)
    }
}
