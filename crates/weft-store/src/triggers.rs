//! What the triggers of a workflow's versions register: webhook URLs (`hooks`), kept for every
//! webhook trigger a saved version has had so its URL never moves, and the published version's
//! event subscriptions. They are written in the transaction that saves or publishes the version,
//! reading the definition's JSON only for node names and types (validating it is the engine's
//! job, and a version is published only once it is valid).

use rand::RngCore;
use rand::rngs::OsRng;
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use weft_domain::{Grant, TenantScope, WorkflowId, WorkspaceId};

use crate::accounts::parse_id;
use crate::schedules::sync_schedules;
use crate::{Result, Store, StoreError, now_ms};

const WEBHOOK_TRIGGER: &str = "webhook_trigger";
const EVENT_TRIGGER: &str = "event_trigger";

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
    for (node, _) in enabled_nodes(definition, WEBHOOK_TRIGGER) {
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
    for (node, params) in definition.into_iter().flat_map(|definition| enabled_nodes(definition, EVENT_TRIGGER)) {
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
