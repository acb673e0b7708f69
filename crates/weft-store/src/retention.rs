//! Run retention and database housekeeping, system-wide maintenance like
//! [`Store::purge_workspaces`]: finished runs past their retention go with their steps and
//! blobs, and the space they held is given back.
//!
//! SQLite databases are created with `auto_vacuum = INCREMENTAL` (see `connect.rs`), so freed
//! pages can be handed back to the file system a chunk at a time. A database created before that
//! keeps `auto_vacuum = NONE`: Weft leaves it as it is and [`Store::compact`] reports it, once
//! logged by the binary. Converting it takes a full `VACUUM`, which locks the database for its
//! whole duration and needs as much free disk again as the file's size, too much to do
//! unasked at start. Its free pages are still reused, so it never grows past its high-water
//! mark; to shrink it, stop Weft and run
//! `sqlite3 weft.db 'PRAGMA auto_vacuum = INCREMENTAL; VACUUM;'`.

use weft_domain::{RunId, WorkspaceId};

use crate::accounts::parse_id;
use crate::runs::FINISHED;
use crate::{Backend, BlobPrefix, BlobStore, Result, Store};

/// What [`Store::compact`] did. Always the default on PostgreSQL, whose autovacuum does the work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Free pages handed back to the file system.
    pub pages_released: u64,
    /// An SQLite database created without incremental auto-vacuum: its file cannot shrink.
    pub auto_vacuum_off: bool,
}

/// Pages one `incremental_vacuum` frees (4 MiB at the default page size), so each of its
/// write transactions stays short.
const VACUUM_CHUNK_PAGES: i64 = 1024;

/// `PRAGMA auto_vacuum`'s value for INCREMENTAL.
const AUTO_VACUUM_INCREMENTAL: i64 = 2;

impl Store {
    /// Deletes, in every workspace, the finished runs (succeeded, failed, cancelled, timed out)
    /// that finished before `finished_before` (epoch ms), with their steps (the foreign key
    /// cascades) and their blobs; returns how many runs went. Works through them oldest first,
    /// `batch` at a time, each batch in its own short transaction, so a large backlog never holds
    /// the write lock for long.
    ///
    /// A batch's blobs are deleted before its rows: if that fails, the rows stay for the next
    /// sweep, so no blob outlives the row that points to it.
    pub async fn prune_runs(&self, blobs: &dyn BlobStore, finished_before: i64, batch: u32) -> Result<u64> {
        let batch = i64::from(batch.max(1));
        let mut pruned = 0;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT workspace_id, id FROM runs WHERE status IN {FINISHED} AND finished_at < $1 \
                 ORDER BY finished_at, id LIMIT $2"
            ))
            .bind(finished_before)
            .bind(batch)
            .fetch_all(&self.pool)
            .await?;
            let due = rows
                .iter()
                .map(|row| Ok((parse_id::<WorkspaceId>(row, "workspace_id")?, parse_id::<RunId>(row, "id")?)))
                .collect::<Result<Vec<_>>>()?;
            for (workspace, run) in &due {
                blobs.delete_prefix(&BlobPrefix::run(workspace, run)).await?;
            }
            let mut tx = self.pool.begin().await?;
            for (workspace, run) in &due {
                pruned += sqlx::query(&format!(
                    "DELETE FROM runs WHERE workspace_id = $1 AND id = $2 AND status IN {FINISHED}"
                ))
                .bind(workspace.as_str())
                .bind(run.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            if i64::try_from(due.len()).unwrap_or(i64::MAX) < batch {
                return Ok(pruned);
            }
        }
    }

    /// Deletes events recorded before `created_before`, with their deliveries and attempts,
    /// `batch` at a time; an event with a delivery still pending stays until it is settled.
    /// Returns how many.
    pub async fn prune_events(&self, created_before: i64, batch: u32) -> Result<u64> {
        let mut pruned = 0;
        loop {
            let deleted = sqlx::query(
                "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.created_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.workspace_id = e.workspace_id \
                 AND d.event_id = e.id AND d.status = 'pending') ORDER BY e.created_at LIMIT $2)",
            )
            .bind(created_before)
            .bind(i64::from(batch.max(1)))
            .execute(&self.pool)
            .await?
            .rows_affected();
            pruned += deleted;
            if deleted < u64::from(batch.max(1)) {
                return Ok(pruned);
            }
        }
    }

    /// Gives the space of deleted rows back to the file system. On SQLite: frees the free pages
    /// `VACUUM_CHUNK_PAGES` at a time, then checkpoints the write-ahead log into the database
    /// and truncates it. A reader in the middle of a transaction can keep the log from being
    /// truncated; the next compaction does it then. On PostgreSQL it does nothing.
    pub async fn compact(&self) -> Result<Compaction> {
        if self.backend() != Backend::Sqlite {
            return Ok(Compaction::default());
        }
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(&self.pool).await?;
        let mut compaction = Compaction { pages_released: 0, auto_vacuum_off: mode != AUTO_VACUUM_INCREMENTAL };
        if !compaction.auto_vacuum_off {
            let mut free = free_pages(self).await?;
            while free > 0 {
                let vacuum = format!("PRAGMA incremental_vacuum({VACUUM_CHUNK_PAGES})");
                sqlx::query(&vacuum).execute(&self.pool).await?;
                let left = free_pages(self).await?;
                // Others may free pages meanwhile; stop when a chunk no longer gains ground.
                if left >= free {
                    break;
                }
                compaction.pages_released += u64::try_from(free - left).unwrap_or(0);
                free = left;
            }
        }
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_all(&self.pool).await?;
        Ok(compaction)
    }
}

async fn free_pages(store: &Store) -> Result<i64> {
    Ok(sqlx::query_scalar("PRAGMA freelist_count").fetch_one(&store.pool).await?)
}
