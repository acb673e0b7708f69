//! Weft's vocabulary: typed ids, account rules, password policy and hashing, opaque tokens, the
//! login throttle, the request rate limit rule, roles and permissions, the tenant scope, API-key
//! secrets and the audit chain. Nothing here performs I/O, so every rule is tested without a
//! runtime.
#![forbid(unsafe_code)]

pub mod access;
pub mod api_key;
pub mod audit;
pub mod email;
pub mod event;
pub mod id;
pub mod password;
pub mod rate_limit;
pub mod schedule;
pub mod tenant;
pub mod throttle;
pub mod token;
pub mod webhook_signature;
pub mod workspace;

pub use access::{Permission, Role};
pub use api_key::ApiKeySecret;
pub use audit::AuditAction;
pub use email::{EmailAddress, EmailError};
pub use event::EventType;
pub use id::{
    ApiKeyId, AttemptId, AuditEntryId, DeliveryId, EventId, IdError, InvitationId, RunId, ScheduleId, SessionId,
    StepId, UserId, WebhookEndpointId, WorkflowId, WorkspaceId,
};
pub use password::{PasswordError, PasswordHash};
pub use rate_limit::{Decision, Quota};
pub use schedule::{Due, Schedule, ScheduleError};
pub use tenant::{Actor, Grant, TenantScope};
pub use throttle::LoginThrottle;
pub use token::OpaqueToken;
pub use workspace::Slug;
