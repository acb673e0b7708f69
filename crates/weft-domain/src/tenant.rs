//! The tenant boundary. A [`TenantScope`] is proof that a caller's credential and membership were
//! verified for one workspace; every store function touching workspace data takes one and binds
//! its workspace id. It has one constructor, allowed by `clippy.toml` only where credentials are
//! checked and in the store's run claim (which scopes a worker to the workspace of the run it
//! claimed), so no handler can scope itself to a workspace id taken from a request.

use std::fmt;

use crate::access::{Permission, Role};
use crate::id::{ApiKeyId, UserId, WorkspaceId};

/// Who did something, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    ApiKey(ApiKeyId),
    /// A platform operator acting through the admin tools.
    Operator(UserId),
    /// Weft itself: purges, schedules, recovery.
    System,
    /// Nobody authenticated, e.g. a failed login for an unknown address.
    Anonymous,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ApiKey(_) => "api_key",
            Actor::Operator(_) => "operator",
            Actor::System => "system",
            Actor::Anonymous => "anonymous",
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::User(id) | Actor::Operator(id) => Some(id.as_str()),
            Actor::ApiKey(id) => Some(id.as_str()),
            Actor::System | Actor::Anonymous => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "{}:{id}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// What the verified credential may do in the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// A member, with the role their membership holds.
    Member { user: UserId, role: Role },
    /// An API key of this workspace, with its scopes.
    Key { key: ApiKeyId, scopes: Vec<Permission> },
    /// Weft itself acting on the workspace's behalf, e.g. a worker executing a run it claimed:
    /// whoever started the run was allowed to, so every permission holds.
    System,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    workspace: WorkspaceId,
    grant: Grant,
}

impl TenantScope {
    /// Only the credential checks and the run claim may call this (see `clippy.toml`): the caller
    /// vouches that the grant was loaded from the database for exactly this workspace.
    pub fn verified(workspace: WorkspaceId, grant: Grant) -> Self {
        TenantScope { workspace, grant }
    }

    pub fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }

    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    pub fn actor(&self) -> Actor {
        match &self.grant {
            Grant::Member { user, .. } => Actor::User(user.clone()),
            Grant::Key { key, .. } => Actor::ApiKey(key.clone()),
            Grant::System => Actor::System,
        }
    }

    /// The member's role; `None` for an API key or Weft itself.
    pub fn role(&self) -> Option<Role> {
        match &self.grant {
            Grant::Member { role, .. } => Some(*role),
            Grant::Key { .. } | Grant::System => None,
        }
    }

    /// The member acting, if a person is acting.
    pub fn user(&self) -> Option<&UserId> {
        match &self.grant {
            Grant::Member { user, .. } => Some(user),
            Grant::Key { .. } | Grant::System => None,
        }
    }

    pub fn allows(&self, permission: Permission) -> bool {
        match &self.grant {
            Grant::Member { role, .. } => role.allows(permission),
            Grant::Key { scopes, .. } => permission.is_key_scope() && scopes.contains(&permission),
            Grant::System => true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_exactly_their_scopes_and_never_owner_acts() {
        let scope = TenantScope::verified(
            WorkspaceId::generate(),
            Grant::Key { key: ApiKeyId::generate(), scopes: vec![Permission::RunsRead, Permission::WorkspaceDelete] },
        );
        assert!(scope.allows(Permission::RunsRead));
        assert!(!scope.allows(Permission::RunsWrite));
        assert!(!scope.allows(Permission::WorkspaceDelete), "owner acts are not scopes");
        assert_eq!(scope.role(), None);
        assert_eq!(scope.actor().kind(), "api_key");
    }

    #[test]
    fn members_hold_their_roles_permissions() {
        let user = UserId::generate();
        let scope =
            TenantScope::verified(WorkspaceId::generate(), Grant::Member { user: user.clone(), role: Role::Member });
        assert!(scope.allows(Permission::WorkflowsWrite));
        assert!(!scope.allows(Permission::KeysWrite));
        assert_eq!(scope.user(), Some(&user));
        assert_eq!(scope.actor(), Actor::User(user));
    }

    #[test]
    fn the_system_grant_acts_as_weft_with_every_permission_and_no_person() {
        let scope = TenantScope::verified(WorkspaceId::generate(), Grant::System);
        assert!(Permission::ALL.into_iter().all(|permission| scope.allows(permission)));
        assert_eq!(scope.actor(), Actor::System);
        assert_eq!(scope.role(), None);
        assert_eq!(scope.user(), None);
    }
}
