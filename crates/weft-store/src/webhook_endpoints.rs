//! Webhook endpoints of a workspace, the record of every delivery attempt, and what the
//! dispatcher needs: claiming due deliveries under a lease, recording an attempt with the
//! delivery's new state, deferring one, and disabling an endpoint that keeps failing.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use weft_domain::webhook_signature::SigningSecret;
use weft_domain::{AttemptId, AuditAction, EventId, EventType, TenantScope, WebhookEndpointId, WorkspaceId};

use crate::accounts::parse_id;
use crate::audit::{Origin, Record, append};
use crate::events::{record, stored_filter};
use crate::{Backend, Page, PageRequest, Result, Store, StoreError, now_ms};

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub url: String,
    pub description: String,
    /// The event types it receives; empty for every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why Weft disabled it (410 Gone, or days of failures).
    pub disabled_reason: Option<String>,
    /// Deliveries per second.
    pub rate_limit: Option<u32>,
    /// Until when the previous secret also signs, after a rotation.
    pub previous_secret_until: Option<i64>,
    /// Since when every delivery has failed.
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewWebhookEndpoint<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a [EventType],
    pub rate_limit: Option<u32>,
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookEndpointPatch<'a> {
    pub url: Option<&'a str>,
    pub description: Option<&'a str>,
    pub event_types: Option<&'a [EventType]>,
    /// Enabling again also forgets why it was disabled and since when it failed.
    pub enabled: Option<bool>,
    /// `Some(None)` removes the limit.
    pub rate_limit: Option<Option<u32>>,
}

/// One try at sending one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub id: AttemptId,
    pub event: EventId,
    pub succeeded: bool,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The first 4 KB of the response body.
    pub response: Option<String>,
    pub error: Option<String>,
    /// `scheduled`, or `manual` for a replay or a test.
    pub trigger: String,
    pub created_at: i64,
}

/// A delivery claimed by a dispatcher, with everything sending it needs. Only
/// [`Store::claim_deliveries`] makes one; its lease is the fence its outcome is recorded under.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    id: String,
    lease_until: i64,
    pub workspace: WorkspaceId,
    pub event: EventId,
    pub endpoint: WebhookEndpointId,
    pub url: String,
    /// The stored event body, sent byte for byte.
    pub payload: String,
    /// The current secret, then the previous one while it still signs.
    pub secrets: Vec<SigningSecret>,
    pub rate_limit: Option<u32>,
    /// Attempts recorded before this one.
    pub attempts: i64,
    /// Queued by a replay or a test.
    pub manual: bool,
}

/// What one attempt found, to record.
#[derive(Debug, Clone, Copy)]
pub struct AttemptRecord<'a> {
    pub succeeded: bool,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub response: Option<&'a str>,
    pub error: Option<&'a str>,
    /// When to try again after a failure; `None` gives up (the delivery fails).
    pub retry_at: Option<i64>,
}

const ENDPOINT_COLUMNS: &str = "id, url, description, event_types, enabled, disabled_reason, rate_limit, \
     previous_secret_until, failing_since, created_at, updated_at";
const ATTEMPT_COLUMNS: &str = "id, event_id, succeeded, status_code, latency_ms, response, error, trigger, created_at";

fn endpoint_from_row(row: &AnyRow) -> Result<WebhookEndpoint> {
    let types: String = row.try_get("event_types")?;
    Ok(WebhookEndpoint {
        id: parse_id(row, "id")?,
        url: row.try_get("url")?,
        description: row.try_get("description")?,
        event_types: types.split_whitespace().map(str::to_owned).collect(),
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: row.try_get("disabled_reason")?,
        rate_limit: row.try_get::<Option<i64>, _>("rate_limit")?.and_then(|limit| u32::try_from(limit).ok()),
        previous_secret_until: row.try_get("previous_secret_until")?,
        failing_since: row.try_get("failing_since")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn attempt_from_row(row: &AnyRow) -> Result<WebhookAttempt> {
    Ok(WebhookAttempt {
        id: parse_id(row, "id")?,
        event: parse_id(row, "event_id")?,
        succeeded: row.try_get::<i64, _>("succeeded")? != 0,
        status_code: row.try_get::<Option<i64>, _>("status_code")?.and_then(|code| u16::try_from(code).ok()),
        latency_ms: row.try_get("latency_ms")?,
        response: row.try_get("response")?,
        error: row.try_get("error")?,
        trigger: row.try_get("trigger")?,
        created_at: row.try_get("created_at")?,
    })
}

fn secret_from_text(text: &str) -> Result<SigningSecret> {
    SigningSecret::parse(text)
        .map_err(|e| StoreError::Db(sqlx::Error::ColumnDecode { index: "secret".into(), source: Box::new(e) }))
}

/// `NotFound` unless `endpoint` is one of the scope's.
pub(crate) async fn require_endpoint(
    conn: &mut AnyConnection,
    scope: &TenantScope,
    endpoint: &WebhookEndpointId,
) -> Result<()> {
    sqlx::query_scalar::<_, String>("SELECT id FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2")
        .bind(scope.workspace().as_str())
        .bind(endpoint.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(())
}

fn audit<'a>(
    scope: &'a TenantScope,
    actor: &'a weft_domain::Actor,
    action: AuditAction,
    id: &'a WebhookEndpointId,
) -> Record<'a> {
    Record::new(Some(scope.workspace()), actor, action).target("webhook_endpoint", id.as_str())
}

/// PostgreSQL's concurrent dispatchers pass over each other's rows; SQLite's single writer
/// serialises claims anyway.
fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    }
}

impl Store {
    /// Creates an endpoint with a new signing secret, returned here and never again.
    pub async fn create_webhook_endpoint(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        new: NewWebhookEndpoint<'_>,
    ) -> Result<(WebhookEndpoint, SigningSecret)> {
        let id = WebhookEndpointId::generate();
        let secret = SigningSecret::generate();
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO webhook_endpoints (id, workspace_id, url, description, event_types, rate_limit, secret, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(id.as_str())
        .bind(scope.workspace().as_str())
        .bind(new.url)
        .bind(new.description)
        .bind(stored_filter(new.event_types))
        .bind(new.rate_limit.map(i64::from))
        .bind(secret.expose())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let endpoint = endpoint_from_row(&row)?;
        let actor = scope.actor();
        let metadata = serde_json::json!({ "url": new.url, "event_types": endpoint.event_types });
        append(&mut tx, origin, audit(scope, &actor, AuditAction::WebhookEndpointCreated, &id).metadata(metadata))
            .await?;
        tx.commit().await?;
        Ok((endpoint, secret))
    }

    pub async fn webhook_endpoints(&self, scope: &TenantScope, page: PageRequest<'_>) -> Result<Page<WebhookEndpoint>> {
        let rows = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(scope.workspace().as_str())
        .bind(page.after_or_start())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(endpoint_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |e| e.id.to_string()))
    }

    pub async fn webhook_endpoint(&self, scope: &TenantScope, id: &WebhookEndpointId) -> Result<WebhookEndpoint> {
        let row = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        endpoint_from_row(&row)
    }

    pub async fn update_webhook_endpoint(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        id: &WebhookEndpointId,
        patch: WebhookEndpointPatch<'_>,
    ) -> Result<WebhookEndpoint> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE webhook_endpoints SET url = COALESCE($1, url), description = COALESCE($2, description), \
             event_types = COALESCE($3, event_types), enabled = COALESCE($4, enabled), \
             disabled_reason = CASE WHEN $4 = 1 THEN NULL ELSE disabled_reason END, \
             failing_since = CASE WHEN $4 = 1 THEN NULL ELSE failing_since END, \
             rate_limit = CASE WHEN $5 = 1 THEN $6 ELSE rate_limit END, updated_at = $7 \
             WHERE workspace_id = $8 AND id = $9 RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(patch.url)
        .bind(patch.description)
        .bind(patch.event_types.map(stored_filter))
        .bind(patch.enabled.map(i64::from))
        .bind(i64::from(patch.rate_limit.is_some()))
        .bind(patch.rate_limit.flatten().map(i64::from))
        .bind(now_ms())
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let endpoint = endpoint_from_row(&row)?;
        let actor = scope.actor();
        let metadata = serde_json::json!({
            "url": patch.url,
            "description": patch.description,
            "event_types": patch.event_types.map(|_| &endpoint.event_types),
            "enabled": patch.enabled,
            "rate_limit": patch.rate_limit,
        });
        append(&mut tx, origin, audit(scope, &actor, AuditAction::WebhookEndpointUpdated, id).metadata(metadata))
            .await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// Deletes the endpoint with its deliveries and attempts.
    pub async fn delete_webhook_endpoint(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        id: &WebhookEndpointId,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let url: String =
            sqlx::query_scalar("DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2 RETURNING url")
                .bind(scope.workspace().as_str())
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let actor = scope.actor();
        let metadata = serde_json::json!({ "url": url });
        append(&mut tx, origin, audit(scope, &actor, AuditAction::WebhookEndpointDeleted, id).metadata(metadata))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new secret signs from now on; the old one also signs for [`ROTATION_OVERLAP_MS`], so
    /// receivers can switch without missing a delivery. Returns the new secret, shown once.
    pub async fn rotate_webhook_secret(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        id: &WebhookEndpointId,
    ) -> Result<(WebhookEndpoint, SigningSecret)> {
        let secret = SigningSecret::generate();
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $1, secret = $2, \
             updated_at = $3 WHERE workspace_id = $4 AND id = $5 RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(now + ROTATION_OVERLAP_MS)
        .bind(secret.expose())
        .bind(now)
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let actor = scope.actor();
        append(&mut tx, origin, audit(scope, &actor, AuditAction::WebhookSecretRotated, id)).await?;
        tx.commit().await?;
        Ok((endpoint_from_row(&row)?, secret))
    }

    /// The endpoint's delivery attempts, newest first.
    pub async fn webhook_attempts(
        &self,
        scope: &TenantScope,
        endpoint: &WebhookEndpointId,
        page: PageRequest<'_>,
    ) -> Result<Page<WebhookAttempt>> {
        let rows = sqlx::query(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE workspace_id = $1 AND endpoint_id = $2 \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(scope.workspace().as_str())
        .bind(endpoint.as_str())
        .bind(page.after)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(attempt_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |a| a.id.to_string()))
    }

    /// For the dispatcher: up to `limit` pending deliveries due at `now` to enabled endpoints,
    /// each held until `now + lease_ms`. One whose outcome is never recorded (its sender died)
    /// is due again when the lease runs out.
    pub async fn claim_deliveries(&self, now: i64, limit: u32, lease_ms: i64) -> Result<Vec<DueDelivery>> {
        let lease_until = now.saturating_add(lease_ms);
        let lock = skip_locked(self.backend());
        let rows = sqlx::query(&format!(
            "UPDATE webhook_deliveries SET lease_until = $1, updated_at = $2 \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d WHERE d.status = 'pending' \
                 AND d.next_attempt_at <= $2 AND (d.lease_until IS NULL OR d.lease_until <= $2) \
                 AND EXISTS (SELECT 1 FROM webhook_endpoints p WHERE p.id = d.endpoint_id AND p.enabled = 1) \
                 ORDER BY d.next_attempt_at LIMIT $3 {lock}) \
             AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $2) \
             RETURNING id, workspace_id, event_id, endpoint_id, attempts, manual, \
                 (SELECT e.payload FROM events e WHERE e.id = webhook_deliveries.event_id) AS payload, \
                 (SELECT p.url FROM webhook_endpoints p WHERE p.id = webhook_deliveries.endpoint_id) AS url, \
                 (SELECT p.secret FROM webhook_endpoints p WHERE p.id = webhook_deliveries.endpoint_id) AS secret, \
                 (SELECT p.previous_secret FROM webhook_endpoints p \
                     WHERE p.id = webhook_deliveries.endpoint_id AND p.previous_secret_until > $2) AS previous_secret, \
                 (SELECT p.rate_limit FROM webhook_endpoints p \
                     WHERE p.id = webhook_deliveries.endpoint_id) AS rate_limit"
        ))
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let mut secrets = vec![secret_from_text(&row.try_get::<String, _>("secret")?)?];
                if let Some(previous) = row.try_get::<Option<String>, _>("previous_secret")? {
                    secrets.push(secret_from_text(&previous)?);
                }
                Ok(DueDelivery {
                    id: row.try_get("id")?,
                    lease_until,
                    workspace: parse_id(row, "workspace_id")?,
                    event: parse_id(row, "event_id")?,
                    endpoint: parse_id(row, "endpoint_id")?,
                    url: row.try_get("url")?,
                    payload: row.try_get("payload")?,
                    secrets,
                    rate_limit: row
                        .try_get::<Option<i64>, _>("rate_limit")?
                        .and_then(|limit| u32::try_from(limit).ok()),
                    attempts: row.try_get("attempts")?,
                    manual: row.try_get::<i64, _>("manual")? != 0,
                })
            })
            .collect()
    }

    /// Records one attempt of a claimed delivery and the delivery's new state together: done on
    /// success, due again at `retry_at` or failed for good otherwise. A success clears the
    /// endpoint's `failing_since`, a failure starts it. Returns the endpoint's `failing_since`
    /// afterwards. `LeaseLost` if the claim's lease was taken over, and nothing is written.
    pub async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        attempt: AttemptRecord<'_>,
        now: i64,
    ) -> Result<Option<i64>> {
        let status = match (attempt.succeeded, attempt.retry_at) {
            (true, _) => "succeeded",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
             lease_until = NULL, updated_at = $3 WHERE id = $4 AND status = 'pending' AND lease_until = $5",
        )
        .bind(status)
        .bind(if attempt.succeeded { None } else { attempt.retry_at })
        .bind(now)
        .bind(delivery.id.as_str())
        .bind(delivery.lease_until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::LeaseLost);
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (id, workspace_id, endpoint_id, delivery_id, event_id, succeeded, \
             status_code, latency_ms, response, error, trigger, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(AttemptId::generate().as_str())
        .bind(delivery.workspace.as_str())
        .bind(delivery.endpoint.as_str())
        .bind(delivery.id.as_str())
        .bind(delivery.event.as_str())
        .bind(i64::from(attempt.succeeded))
        .bind(attempt.status_code.map(i64::from))
        .bind(attempt.latency_ms)
        .bind(attempt.response)
        .bind(attempt.error)
        .bind(if delivery.manual { "manual" } else { "scheduled" })
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let failing_since: Option<i64> = sqlx::query_scalar(
            "UPDATE webhook_endpoints SET failing_since = CASE WHEN $1 = 1 THEN NULL \
             ELSE COALESCE(failing_since, $2) END WHERE workspace_id = $3 AND id = $4 RETURNING failing_since",
        )
        .bind(i64::from(attempt.succeeded))
        .bind(now)
        .bind(delivery.workspace.as_str())
        .bind(delivery.endpoint.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        tx.commit().await?;
        Ok(failing_since)
    }

    /// Puts a claimed delivery back, untried, until `until` (the endpoint's rate limit).
    pub async fn defer_delivery(&self, delivery: &DueDelivery, until: i64) -> Result<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $1, lease_until = NULL, updated_at = $2 \
             WHERE id = $3 AND status = 'pending' AND lease_until = $4",
        )
        .bind(until)
        .bind(now_ms())
        .bind(delivery.id.as_str())
        .bind(delivery.lease_until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Disables an enabled endpoint for `reason` and records `endpoint.disabled` with it (for the
    /// workspace's other endpoints). Returns the endpoint's URL, or `None` if it was not enabled
    /// (already disabled, or deleted), in which case nothing is written.
    pub async fn disable_webhook_endpoint(
        &self,
        workspace: &WorkspaceId,
        endpoint: &WebhookEndpointId,
        reason: &str,
        now: i64,
    ) -> Result<Option<String>> {
        let mut tx = self.pool.begin().await?;
        let url: Option<String> = sqlx::query_scalar(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1, updated_at = $2 \
             WHERE workspace_id = $3 AND id = $4 AND enabled = 1 RETURNING url",
        )
        .bind(reason)
        .bind(now)
        .bind(workspace.as_str())
        .bind(endpoint.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(url) = url else { return Ok(None) };
        let data = serde_json::json!({ "endpoint": { "id": endpoint.as_str(), "url": url, "reason": reason } });
        let queued = record(&mut tx, workspace, EventType::EndpointDisabled, data, now).await?;
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        Ok(Some(url))
    }

    /// The addresses of the workspace's owners and admins, who hear about disabled endpoints.
    pub async fn workspace_admin_emails(&self, workspace: &WorkspaceId) -> Result<Vec<String>> {
        let emails = sqlx::query_scalar(
            "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.workspace_id = $1 AND m.role IN ('owner', 'admin') ORDER BY u.email",
        )
        .bind(workspace.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(emails)
    }
}
