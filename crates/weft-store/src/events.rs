//! The transactional outbox. A state change calls [`record`] inside its own transaction: the
//! event row, one pending delivery per subscribed endpoint, and one queued run per published
//! `event_trigger` subscribed to its type commit with the change or not at all. [`record`] is the
//! single place where an event fans out.

use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use weft_domain::{EventId, EventType, TenantScope, WebhookEndpointId, WorkspaceId};

use crate::accounts::parse_id;
use crate::triggers::{EVENT_TRIGGER, start_event_runs};
use crate::{Page, PageRequest, Result, Run, Store, StoreError, Workflow, now_ms};

/// One stored event: its payload is the exact body every endpoint receives.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    /// As stored; a type this build no longer knows is still listed.
    pub event_type: String,
    pub payload: Value,
    pub created_at: i64,
}

const EVENT_COLUMNS: &str = "id, type, payload, created_at";

fn event_from_row(row: &AnyRow) -> Result<Event> {
    let payload: String = row.try_get("payload")?;
    Ok(Event {
        id: parse_id(row, "id")?,
        event_type: row.try_get("type")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Db(sqlx::Error::ColumnDecode { index: "payload".into(), source: Box::new(e) }))?,
        created_at: row.try_get("created_at")?,
    })
}

/// RFC 3339 in UTC with millisecond precision, as the API writes times.
pub(crate) fn rfc3339(epoch_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(epoch_ms).map_or_else(|_| epoch_ms.to_string(), |t| t.to_string())
}

/// The `LIKE` pattern that finds `event` in an endpoint's space-separated `event_types`.
fn type_pattern(event: &str) -> String {
    format!("% {} %", event.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// A filter as stored: each type between spaces, or '' for every type.
pub(crate) fn stored_filter(types: &[EventType]) -> String {
    if types.is_empty() {
        return String::new();
    }
    let names = types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" ");
    format!(" {names} ")
}

/// Records `event` with `data` in the transaction of the change it reports, and queues a
/// delivery of it to every enabled endpoint of the workspace whose filter takes it. Returns how
/// many runs it queued (event triggers): the caller rings "runs were queued" after its commit.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    event: EventType,
    data: Value,
    now: i64,
) -> Result<usize> {
    record_from(conn, workspace, event, data, now, false).await
}

/// [`record`], told whether the event is about a run an event started: such an event starts no
/// runs, so an event workflow cannot set itself off again and again.
async fn record_from(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    event: EventType,
    data: Value,
    now: i64,
    from_event_run: bool,
) -> Result<usize> {
    let (id, mut item) = insert_event(conn, workspace, event, data, now).await?;
    queue_deliveries(conn, workspace, &id, event.as_str(), None, false, now).await?;
    item["id"] = Value::String(id.to_string());
    start_event_runs(conn, workspace, event.as_str(), &item, from_event_run).await
}

async fn insert_event(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    event: EventType,
    data: Value,
    now: i64,
) -> Result<(EventId, Value)> {
    let id = EventId::generate();
    let payload = json!({ "type": event.as_str(), "timestamp": rfc3339(now), "data": data });
    sqlx::query("INSERT INTO events (id, workspace_id, type, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.as_str())
        .bind(workspace.as_str())
        .bind(event.as_str())
        .bind(payload.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok((id, payload))
}

/// Queues deliveries of a stored event in one statement: to the enabled endpoints subscribed
/// to its type, or to `only` (if enabled) whatever its filter. Returns how many were queued.
async fn queue_deliveries(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    event: &EventId,
    event_type: &str,
    only: Option<&WebhookEndpointId>,
    manual: bool,
    now: i64,
) -> Result<u64> {
    // A delivery's id is a fresh ULID joined with its endpoint's id, made by the database: unique
    // per statement and endpoint, so one statement serves any number of endpoints.
    let queued = sqlx::query(
        "INSERT INTO webhook_deliveries (id, workspace_id, event_id, endpoint_id, status, attempts, \
         next_attempt_at, manual, created_at, updated_at) \
         SELECT 'dlv_' || $1 || '_' || e.id, e.workspace_id, $2, e.id, 'pending', 0, $3, $4, $3, $3 \
         FROM webhook_endpoints e WHERE e.workspace_id = $5 AND e.enabled = 1 \
         AND (($6 IS NULL AND (e.event_types = '' OR e.event_types LIKE $7 ESCAPE '\\')) OR e.id = $6)",
    )
    .bind(ulid::Ulid::new().to_string().to_ascii_lowercase())
    .bind(event.as_str())
    .bind(now)
    .bind(i64::from(manual))
    .bind(workspace.as_str())
    .bind(only.map(WebhookEndpointId::as_str))
    .bind(type_pattern(event_type))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(queued)
}

/// `{run: {…}}`, small: no step outputs.
fn run_data(run: &Run) -> Value {
    json!({ "run": {
        "id": run.id.as_str(),
        "workflow_id": run.workflow.as_str(),
        "version": run.version,
        "status": run.status.as_str(),
        "trigger": run.trigger,
        "error": run.error,
        "created_at": rfc3339(run.created_at),
        "finished_at": run.finished_at.map(rfc3339),
    }})
}

/// The event of a run that just ended; none for a run that has not. Returns how many runs it
/// queued, as [`record`] does.
pub(crate) async fn record_run_end(
    conn: &mut AnyConnection,
    workspace: &WorkspaceId,
    run: &Run,
    now: i64,
) -> Result<usize> {
    use crate::RunStatus;
    let event = match run.status {
        RunStatus::Succeeded => EventType::RunSucceeded,
        RunStatus::Failed => EventType::RunFailed,
        RunStatus::Cancelled => EventType::RunCancelled,
        RunStatus::TimedOut => EventType::RunTimedOut,
        RunStatus::Queued | RunStatus::Running | RunStatus::Waiting => return Ok(0),
    };
    record_from(conn, workspace, event, run_data(run), now, run.trigger == EVENT_TRIGGER).await
}

/// `{workflow: {id, name, published_version}}`.
pub(crate) fn workflow_data(workflow: &Workflow) -> Value {
    json!({ "workflow": {
        "id": workflow.id.as_str(),
        "name": workflow.name,
        "published_version": workflow.published_version,
    }})
}

/// What replaying an event queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replay {
    pub deliveries: u64,
}

impl Store {
    /// The workspace's events, newest first, optionally of one type.
    pub async fn events(
        &self,
        scope: &TenantScope,
        event_type: Option<&str>,
        page: PageRequest<'_>,
    ) -> Result<Page<Event>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE workspace_id = $1 AND ($2 IS NULL OR id < $2) \
             AND ($3 IS NULL OR type = $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(scope.workspace().as_str())
        .bind(page.after)
        .bind(event_type)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(event_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |event| event.id.to_string()))
    }

    pub async fn event(&self, scope: &TenantScope, id: &EventId) -> Result<Event> {
        let row = sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE workspace_id = $1 AND id = $2"))
            .bind(scope.workspace().as_str())
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        event_from_row(&row)
    }

    /// Delivers a stored event again, as it was (same id and body): to the endpoints subscribed
    /// to its type now, or to `endpoint` alone. An unknown or foreign endpoint is `NotFound`.
    pub async fn replay_event(
        &self,
        scope: &TenantScope,
        id: &EventId,
        endpoint: Option<&WebhookEndpointId>,
    ) -> Result<Replay> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let event_type: String = sqlx::query_scalar("SELECT type FROM events WHERE workspace_id = $1 AND id = $2")
            .bind(scope.workspace().as_str())
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(endpoint) = endpoint {
            crate::webhook_endpoints::require_endpoint(&mut tx, scope, endpoint).await?;
        }
        let deliveries = queue_deliveries(&mut tx, scope.workspace(), id, &event_type, endpoint, true, now).await?;
        tx.commit().await?;
        Ok(Replay { deliveries })
    }

    /// Sends an `endpoint.test` event to `endpoint` alone (enabled or not makes no difference
    /// to whether it is recorded; a disabled endpoint gets no delivery).
    pub async fn send_test_event(&self, scope: &TenantScope, endpoint: &WebhookEndpointId) -> Result<Event> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        crate::webhook_endpoints::require_endpoint(&mut tx, scope, endpoint).await?;
        let data = json!({ "endpoint": { "id": endpoint.as_str() }, "message": "a test event sent on request" });
        let (id, _) = insert_event(&mut tx, scope.workspace(), EventType::EndpointTest, data, now).await?;
        queue_deliveries(&mut tx, scope.workspace(), &id, EventType::EndpointTest.as_str(), Some(endpoint), true, now)
            .await?;
        tx.commit().await?;
        self.event(scope, &id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_stored_between_spaces_and_match_whole_names() {
        assert_eq!(stored_filter(&[]), "");
        assert_eq!(stored_filter(&[EventType::RunFailed, EventType::RunTimedOut]), " run.failed run.timed_out ");
        // `_` is a LIKE wildcard; escaped, `run.timed_out` matches only itself.
        assert_eq!(type_pattern("run.timed_out"), "% run.timed\\_out %");
    }
}
