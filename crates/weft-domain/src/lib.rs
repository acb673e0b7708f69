//! Weft's vocabulary: typed ids, account rules, password policy and hashing, opaque tokens and the
//! login throttle. Nothing here performs I/O, so every rule is tested without a runtime.
#![forbid(unsafe_code)]

pub mod email;
pub mod id;
pub mod password;
pub mod throttle;
pub mod token;

pub use email::{EmailAddress, EmailError};
pub use id::{IdError, SessionId, UserId};
pub use password::{PasswordError, PasswordHash};
pub use throttle::LoginThrottle;
pub use token::OpaqueToken;
