//! Weft's storage. One intent-level [`Store`] over SQLite (embedded, the default) and PostgreSQL
//! (scale-out). Both backends run the same SQL through sqlx's `Any` driver; the schema keeps to
//! types both decode alike (TEXT, BIGINT): times are epoch milliseconds, booleans 0/1.
#![forbid(unsafe_code)]

mod accounts;
mod connect;
mod error;
mod migrations;

pub use accounts::{EmailTokenPurpose, NewEmailToken, NewSession, NewUser, RefreshOutcome, Session, User};
pub use connect::{Backend, DbConfig, PoolStats, Store};
pub use error::{Result, StoreError};

/// Milliseconds since the Unix epoch, the unit of every stored time.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
