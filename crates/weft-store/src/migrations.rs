//! Migrations per backend, embedded in the binary. Forward only: add a file to both directories
//! and a line to [`MIGRATIONS`].

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Backend;

/// (version, description, SQLite SQL, PostgreSQL SQL)
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "accounts",
        include_str!("../migrations/sqlite/0001_accounts.sql"),
        include_str!("../migrations/postgres/0001_accounts.sql"),
    ),
    (
        2,
        "tenancy",
        include_str!("../migrations/sqlite/0002_tenancy.sql"),
        include_str!("../migrations/postgres/0002_tenancy.sql"),
    ),
    (
        3,
        "workflows",
        include_str!("../migrations/sqlite/0003_workflows.sql"),
        include_str!("../migrations/postgres/0003_workflows.sql"),
    ),
    (
        4,
        "runs",
        include_str!("../migrations/sqlite/0004_runs.sql"),
        include_str!("../migrations/postgres/0004_runs.sql"),
    ),
    (
        5,
        "run_retries",
        include_str!("../migrations/sqlite/0005_run_retries.sql"),
        include_str!("../migrations/postgres/0005_run_retries.sql"),
    ),
    (
        6,
        "run_retention",
        include_str!("../migrations/sqlite/0006_run_retention.sql"),
        include_str!("../migrations/postgres/0006_run_retention.sql"),
    ),
    (
        7,
        "sub_runs",
        include_str!("../migrations/sqlite/0007_sub_runs.sql"),
        include_str!("../migrations/postgres/0007_sub_runs.sql"),
    ),
    (
        8,
        "triggers",
        include_str!("../migrations/sqlite/0008_triggers.sql"),
        include_str!("../migrations/postgres/0008_triggers.sql"),
    ),
    (
        9,
        "outbound_events",
        include_str!("../migrations/sqlite/0009_outbound_events.sql"),
        include_str!("../migrations/postgres/0009_outbound_events.sql"),
    ),
    (
        10,
        "schedules",
        include_str!("../migrations/sqlite/0010_schedules.sql"),
        include_str!("../migrations/postgres/0010_schedules.sql"),
    ),
    (
        11,
        "claim_index",
        include_str!("../migrations/sqlite/0011_claim_index.sql"),
        include_str!("../migrations/postgres/0011_claim_index.sql"),
    ),
    (
        12,
        "run_tallies_index",
        include_str!("../migrations/sqlite/0012_run_tallies_index.sql"),
        include_str!("../migrations/postgres/0012_run_tallies_index.sql"),
    ),
    (
        13,
        "dedupe_history",
        include_str!("../migrations/sqlite/0013_dedupe_history.sql"),
        include_str!("../migrations/postgres/0013_dedupe_history.sql"),
    ),
];

pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
        })
        .collect::<Vec<_>>();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}
