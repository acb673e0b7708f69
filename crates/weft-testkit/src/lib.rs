#![forbid(unsafe_code)]

pub mod smtp;
pub use smtp::{FakeSmtp, ReceivedMail};
