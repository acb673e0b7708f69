//! Members of a workspace: listing, role changes, removal and leaving, under two rules kept in
//! the same transaction as the change: only an owner makes, demotes or removes owners, and a
//! workspace always keeps at least one owner.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use weft_domain::{AuditAction, Role, TenantScope, UserId, WorkspaceId};

use crate::accounts::parse_id;
use crate::audit::{Origin, Record, append};
use crate::workspaces::{lock_workspace, role_from_row};
use crate::{Page, PageRequest, Result, Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: i64,
}

const MEMBER_COLUMNS: &str = "m.user_id, u.email, u.name, m.role, m.created_at";

fn member_from_row(row: &AnyRow) -> Result<Member> {
    Ok(Member {
        user_id: parse_id(row, "user_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role_from_row(row)?,
        joined_at: row.try_get("created_at")?,
    })
}

const OWNERS_ONLY: &str = "only an owner can make, demote or remove an owner";
const LAST_OWNER: &str = "a workspace needs at least one owner; make someone else owner first";

async fn member_role(conn: &mut AnyConnection, workspace: &WorkspaceId, user: &UserId) -> Result<Role> {
    let row = sqlx::query("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
        .bind(workspace.as_str())
        .bind(user.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    role_from_row(&row)
}

async fn ensure_an_owner_remains(conn: &mut AnyConnection, workspace: &WorkspaceId) -> Result<()> {
    let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND role = 'owner'")
        .bind(workspace.as_str())
        .fetch_one(&mut *conn)
        .await?;
    if owners == 0 { Err(StoreError::Invariant(LAST_OWNER)) } else { Ok(()) }
}

impl Store {
    /// Members by user id.
    pub async fn members(&self, scope: &TenantScope, page: PageRequest<'_>) -> Result<Page<Member>> {
        let rows = sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.workspace_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3"
        ))
        .bind(scope.workspace().as_str())
        .bind(page.after_or_start())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let members = rows.iter().map(member_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(members, page.limit, |m| m.user_id.to_string()))
    }

    pub async fn member(&self, scope: &TenantScope, user: &UserId) -> Result<Member> {
        let row = sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.workspace_id = $1 AND m.user_id = $2"
        ))
        .bind(scope.workspace().as_str())
        .bind(user.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        member_from_row(&row)
    }

    pub async fn change_member_role(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        user: &UserId,
        role: Role,
    ) -> Result<Member> {
        let mut tx = self.pool.begin().await?;
        lock_workspace(&mut tx, scope.workspace()).await?;
        let from = member_role(&mut tx, scope.workspace(), user).await?;
        if (role == Role::Owner || from == Role::Owner) && scope.role() != Some(Role::Owner) {
            return Err(StoreError::Forbidden(OWNERS_ONLY));
        }
        sqlx::query("UPDATE memberships SET role = $1, updated_at = $2 WHERE workspace_id = $3 AND user_id = $4")
            .bind(role.as_str())
            .bind(now_ms())
            .bind(scope.workspace().as_str())
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?;
        ensure_an_owner_remains(&mut tx, scope.workspace()).await?;
        let actor = scope.actor();
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::MemberRoleChanged)
            .target("user", user.as_str())
            .metadata(serde_json::json!({ "from": from.as_str(), "to": role.as_str() }));
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        self.member(scope, user).await
    }

    pub async fn remove_member(&self, scope: &TenantScope, origin: &Origin, user: &UserId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        lock_workspace(&mut tx, scope.workspace()).await?;
        let role = member_role(&mut tx, scope.workspace(), user).await?;
        if role == Role::Owner && scope.role() != Some(Role::Owner) {
            return Err(StoreError::Forbidden(OWNERS_ONLY));
        }
        sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(scope.workspace().as_str())
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?;
        ensure_an_owner_remains(&mut tx, scope.workspace()).await?;
        let actor = scope.actor();
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::MemberRemoved)
            .target("user", user.as_str())
            .metadata(serde_json::json!({ "role": role.as_str() }));
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The acting member leaves. The last owner cannot.
    pub async fn leave_workspace(&self, scope: &TenantScope, origin: &Origin) -> Result<()> {
        let me = scope.user().ok_or(StoreError::Forbidden("only a person can leave a workspace"))?;
        let mut tx = self.pool.begin().await?;
        lock_workspace(&mut tx, scope.workspace()).await?;
        sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(scope.workspace().as_str())
            .bind(me.as_str())
            .execute(&mut *tx)
            .await?;
        ensure_an_owner_remains(&mut tx, scope.workspace()).await?;
        let actor = scope.actor();
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::MemberLeft).target("user", me.as_str());
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(())
    }
}
