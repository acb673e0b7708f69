//! Invitations to a workspace: a single-use token sent by mail, accepted by the account whose
//! verified address it was sent to, within its lifetime.

use sqlx::Row;
use sqlx::any::AnyRow;
use weft_domain::{Actor, AuditAction, EmailAddress, InvitationId, Role, TenantScope};

use crate::accounts::parse_id;
use crate::audit::{Origin, Record, append};
use crate::workspaces::{W_COLUMNS, lock_workspace, role_from_row, workspace_from_row};
use crate::{Page, PageRequest, Result, Store, StoreError, User, Workspace, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub struct NewInvitation<'a> {
    pub email: &'a EmailAddress,
    pub role: Role,
    pub token_hash: &'a str,
    pub lifetime_ms: i64,
}

/// What presenting an invitation token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    Accepted {
        workspace: Workspace,
        role: Role,
    },
    /// Unknown, used, revoked or expired, or its workspace is deleted.
    Invalid,
    /// The invitation was sent to another address, or the account's address is unverified.
    WrongAccount,
    AlreadyMember,
}

/// What an invitation link offers, shown before it is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationOffer {
    pub email: String,
    pub role: Role,
    pub workspace_name: String,
}

const INVITATION_COLUMNS: &str = "id, email, role, created_by_type, created_by_id, created_at, expires_at";

fn invitation_from_row(row: &AnyRow) -> Result<Invitation> {
    let by_type: String = row.try_get("created_by_type")?;
    let by_id: Option<String> = row.try_get("created_by_id")?;
    Ok(Invitation {
        id: parse_id(row, "id")?,
        email: row.try_get("email")?,
        role: role_from_row(row)?,
        created_by: by_id.map_or_else(|| by_type.clone(), |id| format!("{by_type}:{id}")),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

impl Store {
    /// Invites an address, replacing any pending invitation for it. Inviting an owner takes an
    /// owner; inviting a current member is refused.
    pub async fn create_invitation(
        &self,
        scope: &TenantScope,
        origin: &Origin,
        new: NewInvitation<'_>,
    ) -> Result<Invitation> {
        if new.role == Role::Owner && scope.role() != Some(Role::Owner) {
            return Err(StoreError::Forbidden("only an owner can invite an owner"));
        }
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        lock_workspace(&mut tx, scope.workspace()).await?;
        let member: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND u.email = $2",
        )
        .bind(scope.workspace().as_str())
        .bind(new.email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if member.is_some() {
            return Err(StoreError::Invariant("this address already belongs to a member"));
        }
        sqlx::query("DELETE FROM invitations WHERE workspace_id = $1 AND email = $2 AND accepted_at IS NULL")
            .bind(scope.workspace().as_str())
            .bind(new.email.as_str())
            .execute(&mut *tx)
            .await?;
        let actor = scope.actor();
        let row = sqlx::query(&format!(
            "INSERT INTO invitations (id, workspace_id, email, role, token_hash, created_by_type, created_by_id, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {INVITATION_COLUMNS}"
        ))
        .bind(InvitationId::generate().as_str())
        .bind(scope.workspace().as_str())
        .bind(new.email.as_str())
        .bind(new.role.as_str())
        .bind(new.token_hash)
        .bind(actor.kind())
        .bind(actor.id())
        .bind(now)
        .bind(now.saturating_add(new.lifetime_ms))
        .fetch_one(&mut *tx)
        .await?;
        let invitation = invitation_from_row(&row)?;
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::InvitationCreated)
            .target("invitation", invitation.id.as_str())
            .metadata(serde_json::json!({ "email": new.email.as_str(), "role": new.role.as_str() }));
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(invitation)
    }

    /// Pending invitations (expired ones included, until replaced or revoked), by id.
    pub async fn invitations(&self, scope: &TenantScope, page: PageRequest<'_>) -> Result<Page<Invitation>> {
        let rows = sqlx::query(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL \
             AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(scope.workspace().as_str())
        .bind(page.after_or_start())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(invitation_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |i| i.id.to_string()))
    }

    /// A pending invitation of the scope's workspace.
    pub async fn invitation(&self, scope: &TenantScope, id: &InvitationId) -> Result<Invitation> {
        let row = sqlx::query(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL"
        ))
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        invitation_from_row(&row)
    }

    pub async fn revoke_invitation(&self, scope: &TenantScope, origin: &Origin, id: &InvitationId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let email: String = sqlx::query_scalar(
            "DELETE FROM invitations WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL RETURNING email",
        )
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let actor = scope.actor();
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::InvitationRevoked)
            .target("invitation", id.as_str())
            .metadata(serde_json::json!({ "email": email }));
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The offer of a usable invitation token (pending, unexpired, its workspace not deleted).
    /// The token itself is the credential, so no scope is needed to read what it offers.
    pub async fn invitation_offer(&self, token_hash: &str) -> Result<Option<InvitationOffer>> {
        let row = sqlx::query(
            "SELECT i.email, i.role, w.name FROM invitations i JOIN workspaces w ON w.id = i.workspace_id \
             WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.expires_at > $2 AND w.deleted_at IS NULL",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(InvitationOffer {
                email: row.try_get("email")?,
                role: role_from_row(&row)?,
                workspace_name: row.try_get("name")?,
            })
        })
        .transpose()
    }

    /// Spends the invitation and makes `user` a member. The spend comes first, so one token
    /// makes at most one member; every refusal rolls it back.
    pub async fn accept_invitation(&self, user: &User, origin: &Origin, token_hash: &str) -> Result<AcceptOutcome> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let spent = sqlx::query(
            "UPDATE invitations SET accepted_at = $1, accepted_by = $2 \
             WHERE token_hash = $3 AND accepted_at IS NULL AND expires_at > $1 \
             RETURNING id, workspace_id, email, role",
        )
        .bind(now)
        .bind(user.id.as_str())
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(spent) = spent else { return Ok(AcceptOutcome::Invalid) };
        let (invitation_id, workspace_id, email): (String, String, String) =
            (spent.try_get("id")?, spent.try_get("workspace_id")?, spent.try_get("email")?);
        let role = role_from_row(&spent)?;
        if email != user.email || user.email_verified_at.is_none() {
            return Ok(AcceptOutcome::WrongAccount);
        }
        let workspace = sqlx::query(&format!("SELECT {W_COLUMNS} FROM workspaces w WHERE w.id = $1"))
            .bind(&workspace_id)
            .fetch_one(&mut *tx)
            .await?;
        let workspace = workspace_from_row(&workspace)?;
        if workspace.deleted_at.is_some() {
            return Ok(AcceptOutcome::Invalid);
        }
        let joined = sqlx::query(
            "INSERT INTO memberships (workspace_id, user_id, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(&workspace_id)
        .bind(user.id.as_str())
        .bind(role.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await;
        match joined.map_err(StoreError::from) {
            Err(StoreError::Conflict { .. }) => return Ok(AcceptOutcome::AlreadyMember),
            other => other?,
        };
        let actor = Actor::User(user.id.clone());
        let record = Record::new(Some(&workspace.id), &actor, AuditAction::InvitationAccepted)
            .target("invitation", &invitation_id)
            .metadata(serde_json::json!({ "role": role.as_str() }));
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(AcceptOutcome::Accepted { workspace, role })
    }
}
