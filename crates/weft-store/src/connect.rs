//! Opening the database: backend choice from the URL, pool sizing, SQLite pragmas, migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::BlobStore;
use crate::coalesce::Coalescer;
use crate::migrations::{latest_version, migrator};
use crate::payload::Payloads;
use crate::signals::{ListenUrl, Signals};
use crate::{Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Keeps a URL's scheme and host but never its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://…{}", &url[..scheme_end], &url[at..]),
        _ => url.to_owned(),
    }
}

#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

/// The handle every other crate uses for persistence. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// The hot path's writes (runs queued, workers' checkpoints) go through it.
    pub(crate) writes: Coalescer,
    backend: Backend,
    pub(crate) signals: Signals,
    /// Set on PostgreSQL, whose signals travel between processes.
    pub(crate) listen_url: Option<ListenUrl>,
    /// Where step payloads over the inline limit go; without it every payload stays inline.
    pub(crate) payloads: Option<Arc<Payloads>>,
}

/// Per-connection SQLite settings: write-ahead log, enforced foreign keys, and waiting for the
/// single writer instead of failing at once. New databases also get incremental auto-vacuum, so
/// [`Store::compact`] can shrink the file after runs are pruned.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";

impl Store {
    pub async fn connect(config: &DbConfig) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(&config.url)?;
        let options = AnyConnectOptions::from_str(&config.url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Only a database without pages can take it: before the first table, and
                        // before `journal_mode` writes the first page. An existing database keeps
                        // its mode (see `retention.rs`), and setting it again would rewrite the
                        // header on every connect.
                        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut *conn).await?;
                        if pages == 0 {
                            conn.execute("PRAGMA auto_vacuum = INCREMENTAL").await?;
                        }
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let writes = Coalescer::start(pool.clone(), backend);
        let listen_url = (backend == Backend::Postgres).then(|| ListenUrl(config.url.as_str().into()));
        Ok(Store { pool, writes, backend, signals: Signals::default(), listen_url, payloads: None })
    }

    /// Step inputs, outputs and logs whose JSON is longer than `max_inline_bytes` are written to
    /// `blobs`, and their columns hold a reference; reading a step resolves it.
    pub fn with_payloads(mut self, blobs: Arc<dyn BlobStore>, max_inline_bytes: usize) -> Store {
        self.payloads = Some(Arc::new(Payloads { blobs, max_inline_bytes }));
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every embedded migration not yet applied.
    pub async fn migrate(&self) -> Result<()> {
        migrator(self.backend).run(&self.pool).await?;
        Ok(())
    }

    /// True when the newest embedded migration has been applied successfully.
    pub async fn migrations_current(&self) -> Result<bool> {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT CAST(MAX(version) AS BIGINT) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(applied == Some(latest_version()))
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        self.pool.execute("SELECT 1").await?;
        Ok(())
    }

    pub fn pool_stats(&self) -> PoolStats {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolStats { size, idle }
    }

    /// Waits for checked-out connections to return, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(Backend::from_url("sqlite:///tmp/x.db?mode=rwc").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
        assert!(
            matches!(Backend::from_url("mysql://root:pw@h/db"), Err(StoreError::UnsupportedUrl(u)) if !u.contains("pw"))
        );
    }

    #[test]
    fn redaction_hides_credentials() {
        assert_eq!(redact_url("postgres://weft:s3cret@db:5432/weft"), "postgres://…@db:5432/weft");
        assert_eq!(redact_url("sqlite://data/weft.db"), "sqlite://data/weft.db");
    }
}
