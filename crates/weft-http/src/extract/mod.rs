//! Request extractors: who is calling, and from where.

mod auth;
mod client;

pub use auth::CurrentUser;
pub use client::ClientInfo;
