//! Workspaces: creation (with the creator as owner), lookup for the credential checks, settings,
//! soft delete with a grace period, restore, purge, and ownership transfer.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use weft_domain::workspace::random_suffix;
use weft_domain::{Actor, AuditAction, Grant, Role, Slug, TenantScope, UserId, WorkspaceId};

use crate::accounts::{parse_id, parse_stored_id};
use crate::audit::{Origin, Record, append};
use crate::{Page, PageRequest, Result, Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub personal: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub purge_at: Option<i64>,
}

/// Changes to a workspace's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkspacePatch<'a> {
    pub name: Option<&'a str>,
    pub slug: Option<&'a Slug>,
}

const WORKSPACE_COLUMNS: &str = "id, slug, name, personal, created_at, updated_at, deleted_at, purge_at";
/// The same columns where `w` is the workspaces table among others.
pub(crate) const W_COLUMNS: &str =
    "w.id, w.slug, w.name, w.personal, w.created_at, w.updated_at, w.deleted_at, w.purge_at";

pub(crate) fn workspace_from_row(row: &AnyRow) -> Result<Workspace> {
    Ok(Workspace {
        id: parse_id(row, "id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        personal: row.try_get::<i64, _>("personal")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deleted_at: row.try_get("deleted_at")?,
        purge_at: row.try_get("purge_at")?,
    })
}

pub(crate) fn role_from_row(row: &AnyRow) -> Result<Role> {
    parse_stored_id(&row.try_get::<String, _>("role")?, "role")
}

/// Generated slugs retry with a random suffix when taken; a chosen one is the caller's to change.
const SLUG_ATTEMPTS: usize = 5;

pub(crate) fn is_slug_conflict(error: &StoreError) -> bool {
    matches!(error, StoreError::Conflict { constraint } if constraint.contains("slug"))
}

/// Runs `attempt` with the chosen slug, or with slugs derived from `name` until one is free.
pub(crate) async fn with_free_slug<T, F, Fut>(name: &str, chosen: Option<&Slug>, mut attempt: F) -> Result<T>
where
    F: FnMut(Slug) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    if let Some(slug) = chosen {
        return attempt(slug.clone()).await;
    }
    let mut tries = 0;
    loop {
        let suffix = (tries > 0).then(random_suffix);
        match attempt(Slug::from_name(name, suffix.as_deref())).await {
            Err(error) if is_slug_conflict(&error) && tries + 1 < SLUG_ATTEMPTS => tries += 1,
            other => return other,
        }
    }
}

/// Inserts a workspace with `owner` as its owner, and its first audit entry.
pub(crate) async fn insert_workspace(
    conn: &mut AnyConnection,
    origin: &Origin,
    owner: &UserId,
    name: &str,
    slug: &Slug,
    personal: bool,
) -> Result<Workspace> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO workspaces (id, slug, name, personal, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         RETURNING id, slug, name, personal, created_at, updated_at, deleted_at, purge_at",
    )
    .bind(WorkspaceId::generate().as_str())
    .bind(slug.as_str())
    .bind(name)
    .bind(i64::from(personal))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let workspace = workspace_from_row(&row)?;
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at, updated_at) VALUES ($1, $2, 'owner', $3, $3)",
    )
    .bind(workspace.id.as_str())
    .bind(owner.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let actor = Actor::User(owner.clone());
    let record = Record::new(Some(&workspace.id), &actor, AuditAction::WorkspaceCreated)
        .target("workspace", workspace.id.as_str())
        .metadata(serde_json::json!({ "name": name, "slug": slug.as_str(), "personal": personal }));
    append(conn, origin, record).await?;
    Ok(workspace)
}

/// Takes the workspace's row lock first, so membership changes in one workspace happen one at a
/// time and rules such as "at least one owner" hold under concurrency (and SQLite's transaction
/// starts as a writer).
pub(crate) async fn lock_workspace(conn: &mut AnyConnection, workspace: &WorkspaceId) -> Result<()> {
    let locked = sqlx::query("UPDATE workspaces SET updated_at = updated_at WHERE id = $1 AND deleted_at IS NULL")
        .bind(workspace.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if locked == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

impl Store {
    /// Creates a workspace owned by `owner`. A chosen slug that is taken is `Conflict`; a
    /// generated one is retried with a random suffix.
    pub async fn create_workspace(
        &self,
        owner: &UserId,
        origin: &Origin,
        name: &str,
        slug: Option<&Slug>,
    ) -> Result<Workspace> {
        with_free_slug(name, slug, |slug| async move {
            let mut tx = self.pool.begin().await?;
            let workspace = insert_workspace(&mut tx, origin, owner, name, &slug, false).await?;
            tx.commit().await?;
            Ok(workspace)
        })
        .await
    }

    /// The user's workspaces with their role, by id. `deleted` lists those awaiting purge instead.
    pub async fn workspaces_of(
        &self,
        user: &UserId,
        deleted: bool,
        page: PageRequest<'_>,
    ) -> Result<Page<(Workspace, Role)>> {
        let rows = sqlx::query(&format!(
            "SELECT {W_COLUMNS}, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
             WHERE m.user_id = $1 AND (w.deleted_at IS NOT NULL) = $2 AND w.id > $3 ORDER BY w.id LIMIT $4"
        ))
        .bind(user.as_str())
        .bind(deleted)
        .bind(page.after_or_start())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items =
            rows.iter().map(|row| Ok((workspace_from_row(row)?, role_from_row(row)?))).collect::<Result<_>>()?;
        Ok(Page::from_overfetch(items, page.limit, |(w, _)| w.id.to_string()))
    }

    /// For the credential check: the workspace named by id or slug and the user's role in it,
    /// deleted or not. `None` when it does not exist or the user is not a member.
    pub async fn membership(&self, user: &UserId, id_or_slug: &str) -> Result<Option<(Workspace, Role)>> {
        let row = sqlx::query(&format!(
            "SELECT {W_COLUMNS}, m.role FROM workspaces w \
             JOIN memberships m ON m.workspace_id = w.id AND m.user_id = $1 WHERE w.id = $2 OR w.slug = $2"
        ))
        .bind(user.as_str())
        .bind(id_or_slug)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((workspace_from_row(&row)?, role_from_row(&row)?))).transpose()
    }

    /// For the operator's command line (`weft import`), which holds the database itself: Weft
    /// acting in the live workspace named by id or slug. `NotFound` when there is none.
    pub async fn system_scope(&self, id_or_slug: &str) -> Result<(Workspace, TenantScope)> {
        let row = sqlx::query(&format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE (id = $1 OR slug = $1) AND deleted_at IS NULL"
        ))
        .bind(id_or_slug)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let workspace = workspace_from_row(&row)?;
        // Whoever can run the command line holds the database credentials: nothing to check.
        #[allow(clippy::disallowed_methods)]
        let scope = TenantScope::verified(workspace.id.clone(), Grant::System);
        Ok((workspace, scope))
    }

    pub async fn workspace(&self, scope: &TenantScope) -> Result<Workspace> {
        let row = sqlx::query(&format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE id = $1"))
            .bind(scope.workspace().as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        workspace_from_row(&row)
    }

    /// Renames the workspace or changes its slug. A taken slug is `Conflict`.
    pub async fn update_workspace(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        patch: WorkspacePatch<'_>,
    ) -> Result<Workspace> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE workspaces SET name = COALESCE($1, name), slug = COALESCE($2, slug), updated_at = $3 \
             WHERE id = $4 AND deleted_at IS NULL RETURNING {WORKSPACE_COLUMNS}"
        ))
        .bind(patch.name)
        .bind(patch.slug.map(Slug::as_str))
        .bind(now_ms())
        .bind(scope.workspace().as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let workspace = workspace_from_row(&row)?;
        let actor = scope.actor();
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::WorkspaceUpdated)
            .target("workspace", workspace.id.as_str())
            .metadata(serde_json::json!({ "name": patch.name, "slug": patch.slug.map(Slug::as_str) }));
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(workspace)
    }

    /// Hides the workspace at once and schedules its purge `grace_ms` from now.
    pub async fn delete_workspace(&self, scope: &TenantScope, origin: &Origin, grace_ms: i64) -> Result<Workspace> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE workspaces SET deleted_at = $1, purge_at = $2, updated_at = $1 \
             WHERE id = $3 AND deleted_at IS NULL RETURNING {WORKSPACE_COLUMNS}"
        ))
        .bind(now)
        .bind(now.saturating_add(grace_ms))
        .bind(scope.workspace().as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let workspace = workspace_from_row(&row)?;
        let actor = scope.actor();
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::WorkspaceDeleted)
            .target("workspace", workspace.id.as_str())
            .metadata(serde_json::json!({ "purge_at": workspace.purge_at }));
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(workspace)
    }

    /// Undoes a delete during the grace period.
    pub async fn restore_workspace(&self, scope: &TenantScope, origin: &Origin) -> Result<Workspace> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE workspaces SET deleted_at = NULL, purge_at = NULL, updated_at = $1 \
             WHERE id = $2 AND deleted_at IS NOT NULL AND purge_at > $1 RETURNING {WORKSPACE_COLUMNS}"
        ))
        .bind(now)
        .bind(scope.workspace().as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::Invariant("the workspace is not deleted, or its grace period is over"))?;
        let workspace = workspace_from_row(&row)?;
        let actor = scope.actor();
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::WorkspaceRestored)
            .target("workspace", workspace.id.as_str());
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(workspace)
    }

    /// Deletes, with everything they own, the workspaces whose grace period ended before `now`.
    /// Their own audit chains go with them; the account chain records each purge.
    pub async fn purge_workspaces(&self, now: i64) -> Result<Vec<WorkspaceId>> {
        let due: Vec<String> =
            sqlx::query_scalar("SELECT id FROM workspaces WHERE purge_at IS NOT NULL AND purge_at <= $1 ORDER BY id")
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
        let mut purged = Vec::with_capacity(due.len());
        for id in due {
            let mut tx = self.pool.begin().await?;
            let slug: Option<String> = sqlx::query_scalar(
                "DELETE FROM workspaces WHERE id = $1 AND purge_at IS NOT NULL AND purge_at <= $2 RETURNING slug",
            )
            .bind(&id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(slug) = slug else { continue };
            sqlx::query("DELETE FROM audit_heads WHERE chain = $1").bind(&id).execute(&mut *tx).await?;
            let record = Record::new(None, &Actor::System, AuditAction::WorkspacePurged)
                .target("workspace", &id)
                .metadata(serde_json::json!({ "slug": slug }));
            append(&mut tx, &Origin::default(), record).await?;
            tx.commit().await?;
            purged.push(parse_stored_id(&id, "id")?);
        }
        Ok(purged)
    }

    /// Makes `to` (a member) an owner and the acting owner an admin.
    pub async fn transfer_ownership(&self, scope: &TenantScope, origin: &Origin, to: &UserId) -> Result<()> {
        let me = scope.user().ok_or(StoreError::Forbidden("only a person can hand over ownership"))?;
        if me == to {
            return Err(StoreError::Invariant("you already own this workspace"));
        }
        let mut tx = self.pool.begin().await?;
        lock_workspace(&mut tx, scope.workspace()).await?;
        let now = now_ms();
        let promoted = sqlx::query(
            "UPDATE memberships SET role = 'owner', updated_at = $1 WHERE workspace_id = $2 AND user_id = $3",
        )
        .bind(now)
        .bind(scope.workspace().as_str())
        .bind(to.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if promoted == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE memberships SET role = 'admin', updated_at = $1 WHERE workspace_id = $2 AND user_id = $3")
            .bind(now)
            .bind(scope.workspace().as_str())
            .bind(me.as_str())
            .execute(&mut *tx)
            .await?;
        let actor = scope.actor();
        let record =
            Record::new(Some(scope.workspace()), &actor, AuditAction::OwnershipTransferred).target("user", to.as_str());
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(())
    }
}
