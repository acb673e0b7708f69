#![forbid(unsafe_code)]
//! Weft's background work: the run worker, the scheduler, the mailer, and the guarded HTTP client that requests
//! to user-supplied URLs go through.

pub mod mail;
pub mod outbound;
pub mod runner;
pub mod scheduler;
pub mod webhooks;

pub use mail::{Email, Envelope, MailError, Mailer, WorkflowEmail};
pub use runner::{Runner, RunnerSettings};
pub use scheduler::{Clock, Scheduler, SystemClock};
