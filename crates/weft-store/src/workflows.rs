//! Workflows: metadata, tags, immutable numbered versions of the definition, and which version
//! is published. Definitions are stored as JSON text; validating them is the engine's job.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use weft_domain::{Actor, AuditAction, EventType, TenantScope, WorkflowId};

use crate::accounts::parse_id;
use crate::audit::{Origin, Record, append};
use crate::events::{record as record_event, workflow_data};
use crate::triggers::{register_hooks, sync_published};
use crate::{Page, PageRequest, Result, Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub id: WorkflowId,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub latest_version: i64,
    pub published_version: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowVersion {
    pub version: i64,
    pub definition: serde_json::Value,
    /// `user:usr_…` or `api_key:key_…`.
    pub created_by: String,
    pub created_at: i64,
}

pub struct NewWorkflow<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
    /// Becomes version 1.
    pub definition: &'a serde_json::Value,
}

/// Changes to a workflow's metadata; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkflowPatch<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub tags: Option<&'a [String]>,
}

/// Narrows a workflow list; both optional.
#[derive(Debug, Clone, Default)]
pub struct WorkflowFilter<'a> {
    /// Case-insensitive substring of the name.
    pub name: Option<&'a str>,
    pub tag: Option<&'a str>,
}

const WORKFLOW_COLUMNS: &str = "id, name, description, tags, latest_version, published_version, created_at, updated_at";

fn workflow_from_row(row: &AnyRow) -> Result<Workflow> {
    let tags: String = row.try_get("tags")?;
    Ok(Workflow {
        id: parse_id(row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        latest_version: row.try_get("latest_version")?,
        published_version: row.try_get("published_version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn parse_definition(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Db(sqlx::Error::ColumnDecode { index: "definition".into(), source: Box::new(e) }))
}

fn version_from_row(row: &AnyRow) -> Result<WorkflowVersion> {
    let definition: String = row.try_get("definition")?;
    let by_type: String = row.try_get("created_by_type")?;
    let by_id: Option<String> = row.try_get("created_by_id")?;
    Ok(WorkflowVersion {
        version: row.try_get("version")?,
        definition: parse_definition(&definition)?,
        created_by: by_id.map_or_else(|| by_type.clone(), |id| format!("{by_type}:{id}")),
        created_at: row.try_get("created_at")?,
    })
}

/// `LIKE` pattern for a case-insensitive substring, with the user's wildcards escaped.
fn contains_pattern(text: &str) -> String {
    let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

async fn insert_version(
    conn: &mut AnyConnection,
    scope: &TenantScope,
    workflow: &WorkflowId,
    version: i64,
    definition: &serde_json::Value,
    now: i64,
) -> Result<WorkflowVersion> {
    let actor = scope.actor();
    let row = sqlx::query(
        "INSERT INTO workflow_versions (workspace_id, workflow_id, version, definition, created_by_type, \
         created_by_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         RETURNING version, definition, created_by_type, created_by_id, created_at",
    )
    .bind(scope.workspace().as_str())
    .bind(workflow.as_str())
    .bind(version)
    .bind(definition.to_string())
    .bind(actor.kind())
    .bind(actor.id())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    register_hooks(conn, scope.workspace(), workflow, definition).await?;
    version_from_row(&row)
}

async fn replace_tags(
    conn: &mut AnyConnection,
    scope: &TenantScope,
    workflow: &WorkflowId,
    tags: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM workflow_tags WHERE workspace_id = $1 AND workflow_id = $2")
        .bind(scope.workspace().as_str())
        .bind(workflow.as_str())
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO workflow_tags (workspace_id, workflow_id, tag) VALUES ($1, $2, $3)")
            .bind(scope.workspace().as_str())
            .bind(workflow.as_str())
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn record<'a>(scope: &'a TenantScope, actor: &'a Actor, action: AuditAction, workflow: &'a WorkflowId) -> Record<'a> {
    Record::new(Some(scope.workspace()), actor, action).target("workflow", workflow.as_str())
}

/// Inserts a workflow, its version 1, its audit entry and its event; also how many deliveries
/// were queued (to ring the dispatcher after commit).
async fn insert_workflow(
    tx: &mut AnyConnection,
    scope: &TenantScope,
    origin: &Origin,
    new: NewWorkflow<'_>,
    cloned_from: Option<&WorkflowId>,
) -> Result<((Workflow, WorkflowVersion), usize)> {
    let now = now_ms();
    let id = WorkflowId::generate();
    let row = sqlx::query(&format!(
        "INSERT INTO workflows (id, workspace_id, name, description, tags, latest_version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING {WORKFLOW_COLUMNS}"
    ))
    .bind(id.as_str())
    .bind(scope.workspace().as_str())
    .bind(new.name)
    .bind(new.description)
    .bind(serde_json::to_string(new.tags).unwrap_or_else(|_| "[]".into()))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let workflow = workflow_from_row(&row)?;
    replace_tags(tx, scope, &id, new.tags).await?;
    let version = insert_version(tx, scope, &id, 1, new.definition, now).await?;
    let actor = scope.actor();
    let metadata = serde_json::json!({ "name": new.name, "cloned_from": cloned_from.map(WorkflowId::as_str) });
    append(tx, origin, record(scope, &actor, AuditAction::WorkflowCreated, &id).metadata(metadata)).await?;
    let queued = record_event(tx, scope.workspace(), EventType::WorkflowCreated, workflow_data(&workflow), now).await?;
    Ok(((workflow, version), queued))
}

impl Store {
    /// Creates a workflow with its first version. `cloned_from` is recorded in the audit entry.
    pub async fn create_workflow(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        new: NewWorkflow<'_>,
        cloned_from: Option<&WorkflowId>,
    ) -> Result<(Workflow, WorkflowVersion)> {
        let mut tx = self.pool.begin().await?;
        let (created, queued) = insert_workflow(&mut tx, scope, origin, new, cloned_from).await?;
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        Ok(created)
    }

    /// Creates several workflows in one transaction, all or none: an import of many files.
    pub async fn create_workflows(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        news: Vec<NewWorkflow<'_>>,
    ) -> Result<Vec<(Workflow, WorkflowVersion)>> {
        let mut tx = self.pool.begin().await?;
        let mut created = Vec::with_capacity(news.len());
        let mut queued = 0;
        for new in news {
            let (workflow, deliveries) = insert_workflow(&mut tx, scope, origin, new, None).await?;
            created.push(workflow);
            queued += deliveries;
        }
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        Ok(created)
    }

    /// Workflows by id, optionally by name substring and tag.
    pub async fn workflows(
        &self,
        scope: &TenantScope,
        filter: &WorkflowFilter<'_>,
        page: PageRequest<'_>,
    ) -> Result<Page<Workflow>> {
        let rows = sqlx::query(&format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows w WHERE workspace_id = $1 AND id > $2 \
             AND ($3 IS NULL OR LOWER(name) LIKE $3 ESCAPE '\\') \
             AND ($4 IS NULL OR EXISTS (SELECT 1 FROM workflow_tags t \
                  WHERE t.workspace_id = w.workspace_id AND t.workflow_id = w.id AND t.tag = $4)) \
             ORDER BY id LIMIT $5"
        ))
        .bind(scope.workspace().as_str())
        .bind(page.after_or_start())
        .bind(filter.name.map(contains_pattern))
        .bind(filter.tag)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(workflow_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |w| w.id.to_string()))
    }

    pub async fn workflow(&self, scope: &TenantScope, id: &WorkflowId) -> Result<Workflow> {
        let row = sqlx::query(&format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE workspace_id = $1 AND id = $2"))
            .bind(scope.workspace().as_str())
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        workflow_from_row(&row)
    }

    pub async fn update_workflow(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        id: &WorkflowId,
        patch: WorkflowPatch<'_>,
    ) -> Result<Workflow> {
        let tags_json = patch.tags.map(|tags| serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()));
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE workflows SET name = COALESCE($1, name), description = COALESCE($2, description), \
             tags = COALESCE($3, tags), updated_at = $4 WHERE workspace_id = $5 AND id = $6 RETURNING {WORKFLOW_COLUMNS}"
        ))
        .bind(patch.name)
        .bind(patch.description)
        .bind(tags_json)
        .bind(now)
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if let Some(tags) = patch.tags {
            replace_tags(&mut tx, scope, id, tags).await?;
        }
        let actor = scope.actor();
        let metadata = serde_json::json!({ "name": patch.name, "description": patch.description, "tags": patch.tags });
        append(&mut tx, origin, record(scope, &actor, AuditAction::WorkflowUpdated, id).metadata(metadata)).await?;
        let workflow = workflow_from_row(&row)?;
        let queued =
            record_event(&mut tx, scope.workspace(), EventType::WorkflowUpdated, workflow_data(&workflow), now).await?;
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        Ok(workflow)
    }

    /// Deletes the workflow and all its versions.
    pub async fn delete_workflow(&self, scope: &TenantScope, origin: &Origin, id: &WorkflowId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "DELETE FROM workflows WHERE workspace_id = $1 AND id = $2 RETURNING {WORKFLOW_COLUMNS}"
        ))
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let workflow = workflow_from_row(&row)?;
        let actor = scope.actor();
        let metadata = serde_json::json!({ "name": workflow.name });
        append(&mut tx, origin, record(scope, &actor, AuditAction::WorkflowDeleted, id).metadata(metadata)).await?;
        let queued =
            record_event(&mut tx, scope.workspace(), EventType::WorkflowDeleted, workflow_data(&workflow), now_ms())
                .await?;
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        Ok(())
    }

    /// Saves `definition` as the next version. Bumping the counter comes first, so concurrent
    /// saves get consecutive numbers.
    pub async fn save_workflow_version(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        id: &WorkflowId,
        definition: &serde_json::Value,
    ) -> Result<WorkflowVersion> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let number: i64 = sqlx::query_scalar(
            "UPDATE workflows SET latest_version = latest_version + 1, updated_at = $1 \
             WHERE workspace_id = $2 AND id = $3 RETURNING latest_version",
        )
        .bind(now)
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let version = insert_version(&mut tx, scope, id, number, definition, now).await?;
        let actor = scope.actor();
        let metadata = serde_json::json!({ "version": number });
        append(&mut tx, origin, record(scope, &actor, AuditAction::WorkflowVersionSaved, id).metadata(metadata))
            .await?;
        let row = sqlx::query(&format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE workspace_id = $1 AND id = $2"))
            .bind(scope.workspace().as_str())
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let queued = record_event(
            &mut tx,
            scope.workspace(),
            EventType::WorkflowUpdated,
            workflow_data(&workflow_from_row(&row)?),
            now,
        )
        .await?;
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        Ok(version)
    }

    /// Versions, newest first.
    pub async fn workflow_versions(
        &self,
        scope: &TenantScope,
        id: &WorkflowId,
        page: PageRequest<'_>,
    ) -> Result<Page<WorkflowVersion>> {
        let before = match page.after {
            Some(cursor) => cursor.parse::<i64>().map_err(|_| StoreError::BadCursor)?,
            None => i64::MAX,
        };
        let rows = sqlx::query(
            "SELECT version, definition, created_by_type, created_by_id, created_at FROM workflow_versions \
             WHERE workspace_id = $1 AND workflow_id = $2 AND version < $3 ORDER BY version DESC LIMIT $4",
        )
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .bind(before)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(version_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |v| v.version.to_string()))
    }

    pub async fn workflow_version(
        &self,
        scope: &TenantScope,
        id: &WorkflowId,
        version: i64,
    ) -> Result<WorkflowVersion> {
        let row = sqlx::query(
            "SELECT version, definition, created_by_type, created_by_id, created_at FROM workflow_versions \
             WHERE workspace_id = $1 AND workflow_id = $2 AND version = $3",
        )
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        version_from_row(&row)
    }

    /// Makes `version` the one triggers run (an older one: a rollback), and registers its
    /// triggers.
    pub async fn publish_workflow(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        id: &WorkflowId,
        version: i64,
    ) -> Result<Workflow> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE workflows SET published_version = $1, updated_at = $2 WHERE workspace_id = $3 AND id = $4 \
             AND EXISTS (SELECT 1 FROM workflow_versions v WHERE v.workflow_id = $4 AND v.version = $1) \
             RETURNING {WORKFLOW_COLUMNS}, \
             (SELECT v.definition FROM workflow_versions v WHERE v.workflow_id = $4 AND v.version = $1) AS definition"
        ))
        .bind(version)
        .bind(now)
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let workflow = workflow_from_row(&row)?;
        let definition = parse_definition(&row.try_get::<String, _>("definition")?)?;
        sync_published(&mut tx, scope.workspace(), id, Some(&definition)).await?;
        let actor = scope.actor();
        let metadata = serde_json::json!({ "version": version });
        append(&mut tx, origin, record(scope, &actor, AuditAction::WorkflowPublished, id).metadata(metadata)).await?;
        let queued =
            record_event(&mut tx, scope.workspace(), EventType::WorkflowPublished, workflow_data(&workflow), now)
                .await?;
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        Ok(workflow)
    }

    /// Stops the triggers of the published version: no webhook, schedule or event starts the
    /// workflow until a version is published again. Manual runs still work.
    pub async fn unpublish_workflow(&self, scope: &TenantScope, origin: &Origin, id: &WorkflowId) -> Result<Workflow> {
        let mut tx = self.pool.begin().await?;
        let previous: Option<i64> =
            sqlx::query_scalar("SELECT published_version FROM workflows WHERE workspace_id = $1 AND id = $2")
                .bind(scope.workspace().as_str())
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let now = now_ms();
        let row = sqlx::query(&format!(
            "UPDATE workflows SET published_version = NULL, updated_at = $1 WHERE workspace_id = $2 AND id = $3 \
             RETURNING {WORKFLOW_COLUMNS}"
        ))
        .bind(now)
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let workflow = workflow_from_row(&row)?;
        sync_published(&mut tx, scope.workspace(), id, None).await?;
        let actor = scope.actor();
        let metadata = serde_json::json!({ "version": previous });
        append(&mut tx, origin, record(scope, &actor, AuditAction::WorkflowUnpublished, id).metadata(metadata)).await?;
        let queued =
            record_event(&mut tx, scope.workspace(), EventType::WorkflowUnpublished, workflow_data(&workflow), now)
                .await?;
        tx.commit().await?;
        self.ring_queued_if(queued).await;
        Ok(workflow)
    }
}
