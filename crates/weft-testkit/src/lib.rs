//! Test support for Weft: a fresh database per test on either backend, the real application on
//! a port bound before it starts, fixtures, and a real SMTP listener.
#![forbid(unsafe_code)]

mod app;
mod database;
mod services;

pub use app::{TEST_PASSWORD, TEST_SECRET_KEY, TestApp, TestUser, TestWorkspace, expect_status};
pub use database::{TestBackend, TestDb};
pub use services::redis_url;

pub mod smtp;
pub use smtp::{FakeSmtp, ReceivedMail};
