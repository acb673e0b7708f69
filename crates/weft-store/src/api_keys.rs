//! API keys: stored by SHA-256 only, bound to one workspace, with scopes, an optional expiry and
//! revocation that takes effect on the next request.

use sqlx::Row;
use sqlx::any::AnyRow;
use weft_domain::{ApiKeyId, AuditAction, Permission, TenantScope};

use crate::accounts::parse_id;
use crate::audit::{Origin, Record, append};
use crate::workspaces::{W_COLUMNS, workspace_from_row};
use crate::{Page, PageRequest, Result, Store, StoreError, Workspace, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Permission>,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a [Permission],
    pub expires_at: Option<i64>,
}

/// What the credential check needs to know about a presented key.
#[derive(Debug, Clone)]
pub struct KeyCredential {
    pub id: ApiKeyId,
    pub workspace: Workspace,
    pub scopes: Vec<Permission>,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    pub last_used_at: Option<i64>,
}

/// `last_used_at` is written at most this often per key, so busy keys cost no write per request.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

fn parse_scopes(raw: &str) -> Vec<Permission> {
    // A scope this version does not know grants nothing rather than failing the key.
    raw.split_whitespace().filter_map(|s| s.parse().ok()).collect()
}

const KEY_COLUMNS: &str =
    "id, name, prefix, scopes, created_by_type, created_by_id, created_at, expires_at, last_used_at";

fn key_from_row(row: &AnyRow) -> Result<ApiKey> {
    let by_type: String = row.try_get("created_by_type")?;
    let by_id: Option<String> = row.try_get("created_by_id")?;
    Ok(ApiKey {
        id: parse_id(row, "id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        scopes: parse_scopes(&row.try_get::<String, _>("scopes")?),
        created_by: by_id.map_or_else(|| by_type.clone(), |id| format!("{by_type}:{id}")),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

impl Store {
    pub async fn create_api_key(&self, scope: &TenantScope, origin: &Origin, new: NewApiKey<'_>) -> Result<ApiKey> {
        let scopes = new.scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ");
        let actor = scope.actor();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, scopes, created_by_type, created_by_id, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {KEY_COLUMNS}"
        ))
        .bind(ApiKeyId::generate().as_str())
        .bind(scope.workspace().as_str())
        .bind(new.name)
        .bind(new.prefix)
        .bind(new.key_hash)
        .bind(&scopes)
        .bind(actor.kind())
        .bind(actor.id())
        .bind(now_ms())
        .bind(new.expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let key = key_from_row(&row)?;
        let record = Record::new(Some(scope.workspace()), &actor, AuditAction::ApiKeyCreated)
            .target("api_key", key.id.as_str())
            .metadata(serde_json::json!({ "name": new.name, "scopes": scopes, "expires_at": new.expires_at }));
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Keys that are not revoked (expired ones included, so they can be seen and cleaned up).
    pub async fn api_keys(&self, scope: &TenantScope, page: PageRequest<'_>) -> Result<Page<ApiKey>> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1 AND revoked_at IS NULL AND id > $2 \
             ORDER BY id LIMIT $3"
        ))
        .bind(scope.workspace().as_str())
        .bind(page.after_or_start())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let keys = rows.iter().map(key_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(keys, page.limit, |k| k.id.to_string()))
    }

    /// A live (not revoked) key of the scope's workspace.
    pub async fn api_key(&self, scope: &TenantScope, id: &ApiKeyId) -> Result<ApiKey> {
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL"
        ))
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    pub async fn revoke_api_key(&self, scope: &TenantScope, origin: &Origin, id: &ApiKeyId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(scope.workspace().as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if revoked == 0 {
            return Err(StoreError::NotFound);
        }
        let actor = scope.actor();
        let record =
            Record::new(Some(scope.workspace()), &actor, AuditAction::ApiKeyRevoked).target("api_key", id.as_str());
        append(&mut tx, origin, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// For the credential check: the key with this hash and its workspace.
    pub async fn key_credential(&self, key_hash: &str) -> Result<Option<KeyCredential>> {
        let row = sqlx::query(&format!(
            "SELECT {W_COLUMNS}, k.id AS key_id, k.scopes, k.expires_at, k.revoked_at, k.last_used_at \
             FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.key_hash = $1"
        ))
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(KeyCredential {
                id: parse_id(&row, "key_id")?,
                workspace: workspace_from_row(&row)?,
                scopes: parse_scopes(&row.try_get::<String, _>("scopes")?),
                expires_at: row.try_get("expires_at")?,
                revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .transpose()
    }

    /// Records that the key was used now, unless that was already recorded within the minute.
    pub async fn touch_api_key(&self, key: &KeyCredential) -> Result<()> {
        let now = now_ms();
        if key.last_used_at.is_some_and(|at| now - at < LAST_USED_RESOLUTION_MS) {
            return Ok(());
        }
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(key.id.as_str())
        .bind(now - LAST_USED_RESOLUTION_MS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
