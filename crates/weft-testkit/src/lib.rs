//! Test support for Weft: a fresh database per test on either backend, the real application on
//! a port bound before it starts, fixtures, a real SMTP listener, and for the web UI a
//! cookie-carrying HTTP client and a headless Chromium.
#![forbid(unsafe_code)]

mod app;
pub mod browser;
mod database;
mod services;

pub use app::{TEST_PASSWORD, TEST_SECRET_KEY, TestApp, TestUser, TestWorkspace, expect_status};
pub use database::{TestBackend, TestDb};
pub use services::redis_url;

pub mod smtp;
pub mod ui;
pub use browser::Browser;
pub use smtp::{FakeSmtp, ReceivedMail};
pub use ui::UiSession;
