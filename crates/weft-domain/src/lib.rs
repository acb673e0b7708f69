//! Weft's vocabulary: typed ids, account rules, password policy and hashing, opaque tokens, the
//! login throttle and the request rate limit rule. Nothing here performs I/O, so every rule is
//! tested without a runtime.
#![forbid(unsafe_code)]

pub mod email;
pub mod id;
pub mod password;
pub mod rate_limit;
pub mod throttle;
pub mod token;

pub use email::{EmailAddress, EmailError};
pub use id::{IdError, SessionId, UserId};
pub use password::{PasswordError, PasswordHash};
pub use rate_limit::{Decision, Quota};
pub use throttle::LoginThrottle;
pub use token::OpaqueToken;
