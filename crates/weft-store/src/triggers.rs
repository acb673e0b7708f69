//! What the triggers of a workflow's versions register: webhook URLs (`hooks`), kept for every
//! webhook trigger a saved version has had so its URL never moves, and the published version's
//! event subscriptions. They are written in the transaction that saves or publishes the version,
//! reading the definition's JSON only for node names and types (validating it is the engine's
//! job, and a version is published only once it is valid).

use futures_util::future::BoxFuture;
use rand::RngCore;
use rand::rngs::OsRng;
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use weft_domain::{Grant, RunId, TenantScope, WorkflowId, WorkspaceId};

use crate::accounts::{parse_id, parse_stored_id};
use crate::checkpoint::{NewRunWrite, insert_run_row};
use crate::runs::WEBHOOK_TRIGGER;
use crate::schedules::sync_schedules;
use crate::{NewRun, Result, Store, StoreError, now_ms};

const WEBHOOK_NODE: &str = "webhook_trigger";
const EVENT_NODE: &str = "event_trigger";

/// The enabled nodes of `type_name` in a definition: (name, params).
pub(crate) fn enabled_nodes<'a>(
    definition: &'a Value,
    type_name: &'a str,
) -> impl Iterator<Item = (&'a str, &'a Value)> {
    let nodes = definition.get("nodes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    nodes.iter().filter_map(move |node| {
        let disabled = node.get("disabled").and_then(Value::as_bool).unwrap_or(false);
        let of_type = node.get("type").and_then(Value::as_str) == Some(type_name);
        let name = node.get("name").and_then(Value::as_str)?;
        (of_type && !disabled).then(|| (name, node.get("params").unwrap_or(&Value::Null)))
    })
}

/// A new hook token: 128 random bits as 32 lower-case hex digits.
fn hook_token() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Gives every webhook trigger of a saved version a URL token, keeping the ones it has.
pub(crate) async fn register_hooks(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    workflow: &WorkflowId,
    definition: &Value,
) -> Result<()> {
    for (node, _) in enabled_nodes(definition, WEBHOOK_NODE) {
        sqlx::query(
            "INSERT INTO hooks (token, workspace_id, workflow_id, node, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (workflow_id, node) DO NOTHING",
        )
        .bind(hook_token())
        .bind(workspace.as_str())
        .bind(workflow.as_str())
        .bind(node)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Replaces the workflow's published registrations with those of `definition` (`None`: it is
/// no longer published).
pub(crate) async fn sync_published(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    workflow: &WorkflowId,
    definition: Option<&Value>,
) -> Result<()> {
    sync_schedules(conn, workspace, workflow, definition).await?;
    sqlx::query("DELETE FROM event_subscriptions WHERE workspace_id = $1 AND workflow_id = $2")
        .bind(workspace.as_str())
        .bind(workflow.as_str())
        .execute(&mut *conn)
        .await?;
    for (node, params) in definition.into_iter().flat_map(|definition| enabled_nodes(definition, EVENT_NODE)) {
        let events = params.get("events").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for event in events.iter().filter_map(Value::as_str) {
            sqlx::query(
                "INSERT INTO event_subscriptions (workspace_id, workflow_id, node, event_type) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(workspace.as_str())
            .bind(workflow.as_str())
            .bind(node)
            .bind(event)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A webhook URL's target, found by its token. The scope is the hook's workspace: knowing the
/// unguessable token is the credential, as a claim is for a worker.
#[derive(Debug, Clone)]
pub struct HookTarget {
    pub scope: TenantScope,
    pub token: String,
    pub workflow: WorkflowId,
    pub workflow_name: String,
    /// The trigger node's name.
    pub node: String,
    pub published_version: Option<i64>,
    pub latest_version: i64,
}

/// A workflow's webhook trigger and its URL token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub node: String,
    pub token: String,
}

impl Store {
    /// The hook with this token, in a workspace that is not deleted; `NotFound` otherwise.
    pub async fn hook_target(&self, token: &str) -> Result<HookTarget> {
        let row = sqlx::query(
            "SELECT h.workspace_id, h.workflow_id, h.node, w.name, w.published_version, w.latest_version \
             FROM hooks h JOIN workflows w ON w.workspace_id = h.workspace_id AND w.id = h.workflow_id \
             JOIN workspaces s ON s.id = h.workspace_id \
             WHERE h.token = $1 AND s.deleted_at IS NULL",
        )
        .bind(token)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let workspace: WorkspaceId = parse_id(&row, "workspace_id")?;
        // The token was presented and found: the request acts in the hook's own workspace only.
        #[allow(clippy::disallowed_methods)]
        let scope = TenantScope::verified(workspace, Grant::System);
        Ok(HookTarget {
            scope,
            token: token.to_owned(),
            workflow: parse_id(&row, "workflow_id")?,
            workflow_name: row.try_get("name")?,
            node: row.try_get("node")?,
            published_version: row.try_get("published_version")?,
            latest_version: row.try_get("latest_version")?,
        })
    }

    /// The workflow's webhook triggers (of any saved version) with their URL tokens, by node.
    pub async fn hooks(&self, scope: &TenantScope, workflow: &WorkflowId) -> Result<Vec<Hook>> {
        let rows =
            sqlx::query("SELECT node, token FROM hooks WHERE workspace_id = $1 AND workflow_id = $2 ORDER BY node")
                .bind(scope.workspace().as_str())
                .bind(workflow.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|row| Ok(Hook { node: row.try_get("node")?, token: row.try_get("token")? })).collect()
    }
}

/// How long an `Idempotency-Key` names the run it started.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The run a webhook request started.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRun {
    pub run: RunId,
    /// The request repeated an `Idempotency-Key` seen within 24 hours: `run` is the one it
    /// started then, and nothing new was queued.
    pub repeated: bool,
}

struct HookRunWrite {
    workspace: String,
    token: String,
    idempotency_key: Option<String>,
    new: NewRunWrite,
}

/// Remembers the idempotency key (unless it names a run already) and queues the run, in the
/// same transaction.
fn start_hook_run<'c>(conn: &'c mut AnyConnection, write: &'c HookRunWrite) -> BoxFuture<'c, Result<HookRun>> {
    Box::pin(async move {
        if let Some(key) = &write.idempotency_key {
            let now = write.new.at;
            // A key older than the window is taken over, as if it were new.
            let claimed: Option<String> = sqlx::query_scalar(
                "INSERT INTO hook_requests (token, idempotency_key, run_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (token, idempotency_key) DO UPDATE SET run_id = excluded.run_id, \
                 created_at = excluded.created_at WHERE hook_requests.created_at < $5 RETURNING run_id",
            )
            .bind(write.token.as_str())
            .bind(key.as_str())
            .bind(write.new.id.as_str())
            .bind(now)
            .bind(now - IDEMPOTENCY_WINDOW_MS)
            .fetch_optional(&mut *conn)
            .await?;
            if claimed.is_none() {
                let earlier: String =
                    sqlx::query_scalar("SELECT run_id FROM hook_requests WHERE token = $1 AND idempotency_key = $2")
                        .bind(write.token.as_str())
                        .bind(key.as_str())
                        .fetch_one(&mut *conn)
                        .await?;
                return Ok(HookRun { run: parse_stored_id(&earlier, "run_id")?, repeated: true });
            }
        }
        let run = insert_run_row(conn, &write.workspace, None, &write.new).await?;
        Ok(HookRun { run: run.id, repeated: false })
    })
}

impl Store {
    /// Queues a run of `version` started by a request to the hook (one coalesced commit), or
    /// finds the run an earlier request with the same `Idempotency-Key` started.
    pub async fn start_hook_run(
        &self,
        target: &HookTarget,
        version: i64,
        input: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<HookRun> {
        let new = NewRun {
            workflow: &target.workflow,
            version,
            input,
            trigger: WEBHOOK_TRIGGER,
            trigger_node: Some(&target.node),
        };
        let write = HookRunWrite {
            workspace: target.scope.workspace().to_string(),
            token: target.token.clone(),
            idempotency_key: idempotency_key.map(str::to_owned),
            new: NewRunWrite::new(new),
        };
        let started = self.writes.write(write.new.id.to_string(), true, write, start_hook_run).await?;
        if !started.repeated {
            self.signals.ring_queued_here();
        }
        Ok(started)
    }

    /// Forgets idempotency keys older than the window; how many.
    pub async fn forget_hook_requests(&self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM hook_requests WHERE created_at < $1")
            .bind(now - IDEMPOTENCY_WINDOW_MS)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// The `trigger` of a run started by a workspace event.
pub const EVENT_TRIGGER: &str = "event";

/// Queues, in the transaction that records a workspace event, one run of each published
/// workflow whose enabled `event_trigger` subscribes to the event's type, with the event
/// (`{id, type, timestamp, data}`) as its item. Returns how many. The caller passes
/// `from_event_run` for an event about a run that an event started, which starts nothing, so
/// an event workflow that fails cannot start itself again and again.
pub(crate) async fn start_event_runs(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    event_type: &str,
    event: &Value,
    from_event_run: bool,
) -> Result<usize> {
    if from_event_run {
        return Ok(0);
    }
    let rows = sqlx::query(
        "SELECT s.workflow_id, s.node, w.published_version FROM event_subscriptions s \
         JOIN workflows w ON w.workspace_id = s.workspace_id AND w.id = s.workflow_id \
         WHERE s.workspace_id = $1 AND s.event_type = $2 AND w.published_version IS NOT NULL \
         ORDER BY s.workflow_id, s.node",
    )
    .bind(workspace.as_str())
    .bind(event_type)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let workflow: WorkflowId = parse_id(row, "workflow_id")?;
        let node: String = row.try_get("node")?;
        let new = NewRun {
            workflow: &workflow,
            version: row.try_get("published_version")?,
            input: event,
            trigger: EVENT_TRIGGER,
            trigger_node: Some(&node),
        };
        insert_run_row(conn, workspace.as_str(), None, &NewRunWrite::new(new)).await?;
    }
    Ok(rows.len())
}
