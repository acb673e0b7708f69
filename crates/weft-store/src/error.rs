/// Storage failures, classified once from sqlx's errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key rule refused the change; the database decided, not a prior read.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The caller may act in the workspace but not on this target (e.g. an admin demoting an owner).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The change would break a rule the data must keep (e.g. a workspace without an owner).
    #[error("{0}")]
    Invariant(&'static str),
    /// A worker's claim on a run no longer holds its lease (it expired, or the run was taken
    /// over or ended); the worker must stop and write nothing more for the run.
    #[error("the run's lease is no longer held by this claim")]
    LeaseLost,
    /// A page cursor that this store did not issue.
    #[error("the cursor is not one this list issued")]
    BadCursor,
    #[error("unsupported database URL `{0}`: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error")]
    Db(#[source] sqlx::Error),
    #[error("blob storage failed")]
    Blob(#[from] crate::BlobError),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => {
                StoreError::Conflict {
                    constraint: db.constraint().map_or_else(|| db.message().to_owned(), str::to_owned),
                }
            }
            _ => StoreError::Db(error),
        }
    }
}
