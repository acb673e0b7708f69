//! Typed, sortable, prefixed ids: `usr_01j…`. The ULID inside sorts by creation time.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id: expected `{prefix}_` followed by a 26-character ULID")]
pub struct IdError {
    pub kind: &'static str,
    pub prefix: &'static str,
}

/// The next ULID of this process. One generator for every id type makes ids created one after
/// another sort in that order even within a millisecond, where a fresh ULID's random part would
/// order them at random (steps of a run, runs in a queue).
fn next_ulid() -> ulid::Ulid {
    static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR.lock().unwrap_or_else(PoisonError::into_inner);
    // Running out takes 2^80 ids in one millisecond; a random one is then as good as any.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

/// Declares an id type with its prefix. The value is always `prefix_ulid` in lower case.
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, next_ulid().to_string().to_ascii_lowercase()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                let error = IdError { kind: $kind, prefix: $prefix };
                let body = s
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .ok_or(error.clone())?;
                let ulid = ulid::Ulid::from_string(body).map_err(|_| error)?;
                Ok(Self(format!("{}_{}", $prefix, ulid.to_string().to_ascii_lowercase())))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// A person's account.
    UserId, "usr", "user"
);
define_id!(
    /// A login session: one refresh-token family and the access tokens issued from it.
    SessionId, "ses", "session"
);
define_id!(
    /// A workspace: the tenant that owns workflows, runs, members and keys.
    WorkspaceId, "ws", "workspace"
);
define_id!(
    /// A pending invitation to join a workspace.
    InvitationId, "inv", "invitation"
);
define_id!(
    /// An API key (the id, not the secret).
    ApiKeyId, "key", "API key"
);
define_id!(
    /// One entry of the audit log.
    AuditEntryId, "aud", "audit entry"
);
define_id!(
    /// A workflow (its versions are numbered within it).
    WorkflowId, "wf", "workflow"
);
define_id!(
    /// One execution of one workflow version.
    RunId, "run", "run"
);
define_id!(
    /// One attempt of one activation of a node within a run.
    StepId, "stp", "step"
);
define_id!(
    /// A published schedule trigger's registration.
    ScheduleId, "sch", "schedule"
);
define_id!(
    /// A workspace event, the message outbound webhooks deliver (its `webhook-id`).
    EventId, "evt", "event"
);
define_id!(
    /// An outbound webhook endpoint: a URL that receives a workspace's events.
    WebhookEndpointId, "ep", "webhook endpoint"
);
define_id!(
    /// One event's delivery to one endpoint, over all its attempts.
    DeliveryId, "dlv", "delivery"
);
define_id!(
    /// One HTTP attempt of a delivery.
    AttemptId, "att", "delivery attempt"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_parse_back() {
        let id = UserId::generate();
        assert!(id.as_str().starts_with("usr_"), "{id}");
        assert_eq!(id.as_str().len(), 4 + 26);
        assert_eq!(id.as_str().parse::<UserId>(), Ok(id));
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let first = SessionId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = SessionId::generate();
        assert!(first < second);
    }

    #[test]
    fn ids_made_within_one_millisecond_still_sort_in_the_order_they_were_made() {
        let made: Vec<_> = (0..1_000).map(|_| RunId::generate()).collect();
        assert!(made.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn wrong_prefix_or_body_is_rejected() {
        let user = UserId::generate();
        assert!(user.as_str().parse::<SessionId>().is_err());
        assert!("usr_nope".parse::<UserId>().is_err());
        assert!("usr01j0000000000000000000000".parse::<UserId>().is_err());
    }

    #[test]
    fn upper_case_input_is_normalised() {
        let id = UserId::generate();
        let upper = format!("usr_{}", &id.as_str()[4..].to_ascii_uppercase());
        assert_eq!(upper.parse::<UserId>(), Ok(id));
    }
}
