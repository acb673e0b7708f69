//! Counting a workspace's runs over time, for the dashboard's charts and usage figures.

use sqlx::Row;
use weft_domain::TenantScope;

use crate::{Result, Store, StoreError};

/// The runs created in one time bucket, by how they went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunTally {
    /// The bucket's index: 0 is the one starting at the counted span's start.
    pub bucket: i64,
    pub succeeded: i64,
    /// Failed or timed out.
    pub failed: i64,
    /// Every run of the bucket, also those still going and the cancelled.
    pub total: i64,
}

impl Store {
    /// The workspace's runs created at or after `since` (epoch ms), counted per `bucket_ms` wide
    /// bucket; buckets without runs are left out. One bucket as wide as `i64::MAX` counts all.
    pub async fn run_tallies(&self, scope: &TenantScope, since: i64, bucket_ms: i64) -> Result<Vec<RunTally>> {
        if bucket_ms <= 0 {
            return Err(StoreError::Invariant("a tally's bucket is at least a millisecond wide"));
        }
        let rows = sqlx::query(
            "SELECT (created_at - $2) / $3 AS bucket, \
                 SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded, \
                 SUM(CASE WHEN status IN ('failed', 'timed_out') THEN 1 ELSE 0 END) AS failed, \
                 COUNT(*) AS total \
             FROM runs WHERE workspace_id = $1 AND created_at >= $2 \
             GROUP BY (created_at - $2) / $3 ORDER BY bucket",
        )
        .bind(scope.workspace().as_str())
        .bind(since)
        .bind(bucket_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RunTally {
                    bucket: row.try_get("bucket")?,
                    succeeded: row.try_get("succeeded")?,
                    failed: row.try_get("failed")?,
                    total: row.try_get("total")?,
                })
            })
            .collect()
    }
}
