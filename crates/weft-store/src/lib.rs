//! Weft's storage. One intent-level [`Store`] over SQLite (embedded, the default) and PostgreSQL
//! (scale-out). Both backends run the same SQL through sqlx's `Any` driver; the schema keeps to
//! types both decode alike (TEXT, BIGINT): times are epoch milliseconds, booleans 0/1.
//!
//! Every function that reads or changes a workspace's data takes a [`weft_domain::TenantScope`]
//! and binds its workspace id; every mutation appends its audit entry in its own transaction.
#![forbid(unsafe_code)]

mod accounts;
mod api_keys;
mod audit;
mod binaries;
mod blobs;
mod checkpoint;
mod coalesce;
mod connect;
mod dedupe;
mod error;
mod events;
mod invitations;
mod members;
mod migrations;
mod page;
mod payload;
mod retention;
mod run_stats;
mod runs;
mod schedules;
mod signals;
mod triggers;
mod webhook_endpoints;
mod workflows;
mod workspaces;

pub use accounts::{EmailTokenPurpose, NewEmailToken, NewSession, NewUser, RefreshOutcome, Session, User};
pub use api_keys::{ApiKey, KeyCredential, NewApiKey};
pub use audit::{AuditEntry, AuditFilter, BrokenLink, ChainReport, Origin};
pub use blobs::{BlobError, BlobKey, BlobPrefix, BlobStore, FsBlobStore};
pub use checkpoint::{Checkpoint, QueuedRun};
pub use connect::{Backend, DbConfig, PoolStats, Store};
pub use dedupe::DedupeHistory;
pub use error::{Result, StoreError};
pub use events::{Event, Replay};
pub use invitations::{AcceptOutcome, Invitation, InvitationOffer, NewInvitation};
pub use members::Member;
pub use page::{Page, PageRequest};
pub use payload::{load_payload, store_payload};
pub use retention::Compaction;
pub use run_stats::RunTally;
pub use runs::{
    ClaimRequest, ClaimedRun, NewRun, Renewal, RetryFrom, Run, RunEnd, RunFilter, RunStatus, Step, StepOutcome,
    StepStart, StepStatus, UnknownStatus, WEBHOOK_TRIGGER,
};
pub use schedules::{DueSchedule, FiringPlan, PlannedFiring, ScheduleEntry};
pub use signals::{CANCEL_CHANNEL, QueuedSignal, RUNS_CHANNEL, SETTLED_CHANNEL, SettledSignal, Signals};
pub use triggers::{EVENT_TRIGGER, Hook, HookRun, HookTarget, IDEMPOTENCY_WINDOW_MS};
pub use webhook_endpoints::{
    AttemptRecord, DueDelivery, NewWebhookEndpoint, ROTATION_OVERLAP_MS, WebhookAttempt, WebhookEndpoint,
    WebhookEndpointPatch,
};
pub use workflows::{NewWorkflow, Workflow, WorkflowFilter, WorkflowPatch, WorkflowVersion};
pub use workspaces::{Workspace, WorkspacePatch};

/// Milliseconds since the Unix epoch, the unit of every stored time.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
