//! A fresh database per test: a temporary SQLite file, or a new PostgreSQL database created
//! from `WEFT_TEST_DATABASE_URL` and dropped when the test ends.

use sqlx::{Connection, Executor, PgConnection};
use weft_store::{DbConfig, Store};

pub const DATABASE_URL_VAR: &str = "WEFT_TEST_DATABASE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

impl TestBackend {
    /// The PostgreSQL server to create test databases on, if the run has one. Under `CI=true`
    /// a missing one is a failure, so CI can never silently test SQLite alone.
    pub fn postgres_admin_url() -> Option<String> {
        let url = std::env::var(DATABASE_URL_VAR).ok().filter(|url| !url.is_empty());
        if url.is_none() && std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("CI=true but {DATABASE_URL_VAR} is not set: the PostgreSQL half of the suite would be skipped");
        }
        url
    }
}

pub struct TestDb {
    pub backend: TestBackend,
    pub url: String,
    /// Holds the SQLite file; deleted on drop.
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new empty database. Panics when the backend cannot be reached (it is a test helper).
    pub async fn new(backend: TestBackend) -> TestDb {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("weft.db").display());
                TestDb { backend, url, _dir: Some(dir), postgres: None }
            }
            TestBackend::Postgres => {
                let admin = TestBackend::postgres_admin_url().expect("PostgreSQL tests need WEFT_TEST_DATABASE_URL");
                TestDb::new_postgres(&admin).await
            }
        }
    }

    /// A new empty PostgreSQL database on the server of `admin` (a URL that may create
    /// databases), dropped with the returned value.
    pub async fn new_postgres(admin: &str) -> TestDb {
        let name = format!("weft_test_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
        let mut conn = PgConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {DATABASE_URL_VAR} or the given admin URL: {e}"));
        // The name is generated here, never taken from input.
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str()).await.expect("create test database");
        conn.close().await.ok();
        let url = with_database(admin, &name);
        TestDb { backend: TestBackend::Postgres, url, _dir: None, postgres: Some((admin.to_owned(), name)) }
    }

    /// A store on this database with migrations applied. Keep the `TestDb` alive while using
    /// it: dropping it deletes the database.
    pub async fn store(&self) -> Store {
        let store = self.connect().await;
        store.migrate().await.expect("migrate the test database");
        store
    }

    /// A store on this database as it is (no migrations).
    pub async fn connect(&self) -> Store {
        Store::connect(&DbConfig {
            url: self.url.clone(),
            max_connections: 5,
            min_connections: 0,
            acquire_timeout: std::time::Duration::from_secs(10),
        })
        .await
        .expect("connect to the test database")
    }
}

/// The same server URL with another database name.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on; use a thread of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str()).await?;
                conn.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: a PostgreSQL test database could not be dropped");
        }
    }
}

/// Declares a test that runs once per backend: `name::sqlite`, and `name::postgres` when
/// `WEFT_TEST_DATABASE_URL` is set (required under `CI=true`).
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($backend: $crate::TestBackend) $body

            #[tokio::test]
            async fn sqlite() {
                run($crate::TestBackend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                if $crate::TestBackend::postgres_admin_url().is_none() {
                    eprintln!("skipped: set WEFT_TEST_DATABASE_URL to run on PostgreSQL");
                    return;
                }
                run($crate::TestBackend::Postgres).await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced_keeping_server_and_options() {
        assert_eq!(super::with_database("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(
            super::with_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
    }
}
