#![forbid(unsafe_code)]
//! Weft's background work. Today that is only the mailer.

pub mod mail;

pub use mail::{Email, MailError, Mailer};
