//! The audit log: one entry per mutation, appended inside the mutation's own transaction and
//! hash-chained per workspace (see `weft_domain::audit`).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use weft_domain::audit::{ACCOUNT_CHAIN, ChainedFields};
use weft_domain::{Actor, AuditAction, AuditEntryId, TenantScope, WorkspaceId};

use crate::{Page, PageRequest, Result, Store, StoreError, now_ms};

/// Where a request came from, recorded with what it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One change to record.
pub(crate) struct Record<'a> {
    pub workspace: Option<&'a WorkspaceId>,
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub target: Option<(&'a str, &'a str)>,
    pub metadata: serde_json::Value,
}

impl<'a> Record<'a> {
    pub fn new(workspace: Option<&'a WorkspaceId>, actor: &'a Actor, action: AuditAction) -> Self {
        Record { workspace, actor, action, target: None, metadata: serde_json::Value::Object(Default::default()) }
    }

    pub fn target(mut self, kind: &'a str, id: &'a str) -> Self {
        self.target = Some((kind, id));
        self
    }

    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }
}

/// Appends `record` to its chain on `conn`, which must be inside the change's transaction. The
/// head row's upsert is the lock that keeps concurrent appenders to one chain in order.
pub(crate) async fn append(conn: &mut AnyConnection, origin: &Origin, record: Record<'_>) -> Result<()> {
    let chain = record.workspace.map_or(ACCOUNT_CHAIN, WorkspaceId::as_str);
    let head = sqlx::query(
        "INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 1, '') \
         ON CONFLICT (chain) DO UPDATE SET seq = audit_heads.seq + 1 RETURNING seq, hash",
    )
    .bind(chain)
    .fetch_one(&mut *conn)
    .await?;
    let seq: i64 = head.try_get("seq")?;
    let prev_hash: String = head.try_get("hash")?;
    let id = AuditEntryId::generate();
    let metadata = record.metadata.to_string();
    let fields = ChainedFields {
        chain,
        seq,
        id: id.as_str(),
        actor_type: record.actor.kind(),
        actor_id: record.actor.id(),
        action: record.action.as_str(),
        target_type: record.target.map(|t| t.0),
        target_id: record.target.map(|t| t.1),
        ip: origin.ip.as_deref(),
        user_agent: origin.user_agent.as_deref(),
        metadata: &metadata,
        created_at: now_ms(),
        prev_hash: &prev_hash,
    };
    let hash = fields.hash();
    sqlx::query(
        "INSERT INTO audit_log (id, chain, seq, workspace_id, actor_type, actor_id, action, target_type, target_id, \
         ip, user_agent, metadata, created_at, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(fields.id)
    .bind(chain)
    .bind(seq)
    .bind(record.workspace.map(WorkspaceId::as_str))
    .bind(fields.actor_type)
    .bind(fields.actor_id)
    .bind(fields.action)
    .bind(fields.target_type)
    .bind(fields.target_id)
    .bind(fields.ip)
    .bind(fields.user_agent)
    .bind(&metadata)
    .bind(fields.created_at)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_heads SET hash = $1 WHERE chain = $2")
        .bind(&hash)
        .bind(chain)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub seq: i64,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub metadata: serde_json::Value,
    pub created_at: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// Filters for reading a workspace's log; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter<'a> {
    /// `user:usr_…`, `api_key:key_…` or a bare kind such as `system`.
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// The first inconsistency found in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub id: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub chain: String,
    pub entries: u64,
    pub broken: Option<BrokenLink>,
}

const ENTRY_COLUMNS: &str = "id, chain, seq, actor_type, actor_id, action, target_type, target_id, ip, user_agent, \
                             metadata, created_at, prev_hash, hash";

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry> {
    let metadata: String = row.try_get("metadata")?;
    Ok(AuditEntry {
        id: crate::accounts::parse_id(row, "id")?,
        seq: row.try_get("seq")?,
        actor_type: row.try_get("actor_type")?,
        actor_id: row.try_get("actor_id")?,
        action: row.try_get("action")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::String(metadata)),
        created_at: row.try_get("created_at")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Recomputes one stored entry's hash from its columns.
fn recompute(row: &AnyRow) -> Result<(i64, String, String, String)> {
    let get = |column: &str| row.try_get::<Option<String>, _>(column);
    let (chain, id, metadata, prev): (String, String, String, String) =
        (row.try_get("chain")?, row.try_get("id")?, row.try_get("metadata")?, row.try_get("prev_hash")?);
    let (actor_type, action): (String, String) = (row.try_get("actor_type")?, row.try_get("action")?);
    let (actor_id, target_type, target_id, ip, user_agent) =
        (get("actor_id")?, get("target_type")?, get("target_id")?, get("ip")?, get("user_agent")?);
    let seq: i64 = row.try_get("seq")?;
    let fields = ChainedFields {
        chain: &chain,
        seq,
        id: &id,
        actor_type: &actor_type,
        actor_id: actor_id.as_deref(),
        action: &action,
        target_type: target_type.as_deref(),
        target_id: target_id.as_deref(),
        ip: ip.as_deref(),
        user_agent: user_agent.as_deref(),
        metadata: &metadata,
        created_at: row.try_get("created_at")?,
        prev_hash: &prev,
    };
    let hash = fields.hash();
    Ok((seq, id, prev, hash))
}

impl Store {
    /// Records an event that changes nothing else (a failed login), in its own transaction.
    pub async fn record_event(
        &self,
        origin: &Origin,
        actor: &Actor,
        action: AuditAction,
        metadata: serde_json::Value,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        append(&mut tx, origin, Record::new(None, actor, action).metadata(metadata)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The workspace's log, newest first.
    pub async fn audit_log(
        &self,
        scope: &TenantScope,
        filter: &AuditFilter<'_>,
        page: PageRequest<'_>,
    ) -> Result<Page<AuditEntry>> {
        let (actor_type, actor_id) = match filter.actor.map(|a| a.split_once(':')) {
            Some(Some((kind, id))) => (Some(kind), Some(id)),
            Some(None) => (filter.actor, None),
            None => (None, None),
        };
        let before = match page.after {
            Some(cursor) => cursor.parse::<i64>().map_err(|_| StoreError::BadCursor)?,
            None => i64::MAX,
        };
        let rows = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE workspace_id = $1 AND seq < $2 \
             AND ($3 IS NULL OR actor_type = $3) AND ($4 IS NULL OR actor_id = $4) \
             AND ($5 IS NULL OR action = $5) AND ($6 IS NULL OR target_type = $6) \
             AND ($7 IS NULL OR target_id = $7) AND ($8 IS NULL OR created_at >= $8) \
             AND ($9 IS NULL OR created_at < $9) ORDER BY seq DESC LIMIT $10"
        ))
        .bind(scope.workspace().as_str())
        .bind(before)
        .bind(actor_type)
        .bind(actor_id)
        .bind(filter.action)
        .bind(filter.target_type)
        .bind(filter.target_id)
        .bind(filter.since_ms)
        .bind(filter.until_ms)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        let entries = rows.iter().map(entry_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(entries, page.limit, |entry| entry.seq.to_string()))
    }

    /// The chains to verify: one workspace's (by id), or every chain — those with a head and
    /// those with entries, so a deleted head row cannot hide a chain.
    pub async fn audit_chains(&self, workspace: Option<&str>) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT chain FROM audit_heads WHERE ($1 IS NULL OR chain = $1) \
             UNION SELECT DISTINCT chain FROM audit_log WHERE ($1 IS NULL OR chain = $1) ORDER BY chain",
        )
        .bind(workspace)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Walks one chain in order, recomputing every hash, and reports the first broken link:
    /// an entry whose content no longer matches its hash, whose `prev_hash` is not the previous
    /// entry's hash, a gap in the sequence, or a head that does not match the last entry.
    pub async fn verify_audit_chain(&self, chain: &str) -> Result<ChainReport> {
        use futures_util::TryStreamExt;

        let mut conn = self.pool.acquire().await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_heads WHERE chain = $1")
            .bind(chain)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| Ok::<_, sqlx::Error>((row.try_get::<i64, _>("seq")?, row.try_get::<String, _>("hash")?)))
            .transpose()?;
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE chain = $1 ORDER BY seq");
        let mut rows = sqlx::query(&sql).bind(chain).fetch(&mut *conn);
        let (mut entries, mut expected_prev, mut last_seq) = (0u64, String::new(), 0i64);
        let mut broken = None;
        while let Some(row) = rows.try_next().await? {
            let stored_hash: String = row.try_get("hash")?;
            let (seq, id, prev, hash) = recompute(&row)?;
            entries += 1;
            let reason = if seq != last_seq + 1 {
                Some("an entry is missing before this one")
            } else if prev != expected_prev {
                Some("prev_hash does not match the previous entry")
            } else if hash != stored_hash {
                Some("the entry's content does not match its hash")
            } else {
                None
            };
            if let Some(reason) = reason {
                broken = Some(BrokenLink { seq, id, reason });
                break;
            }
            (expected_prev, last_seq) = (stored_hash, seq);
        }
        drop(rows);
        if broken.is_none() {
            let reason = match &head {
                None if entries > 0 => Some("the chain's head record is missing"),
                Some((seq, hash)) if *seq != last_seq || *hash != expected_prev => {
                    Some("the chain's newest entries are missing")
                }
                _ => None,
            };
            broken = reason.map(|reason| BrokenLink { seq: last_seq + 1, id: String::new(), reason });
        }
        Ok(ChainReport { chain: chain.to_owned(), entries, broken })
    }
}
