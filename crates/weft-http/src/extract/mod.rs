//! Request extractors: who is calling, from where, and what they may do in which workspace.

mod auth;
mod client;
pub mod gate;
mod limit;

pub use auth::{Authorized, Caller, CurrentUser, PathResource};
pub use client::ClientInfo;
pub use limit::{limit_by_ip, rate_limit_headers};
