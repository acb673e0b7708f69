#![forbid(unsafe_code)]
//! Weft's background work: the mailer, and the guarded HTTP client that requests to
//! user-supplied URLs go through.

pub mod mail;
pub mod outbound;

pub use mail::{Email, MailError, Mailer};
