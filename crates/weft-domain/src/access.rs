//! Who may do what inside a workspace: roles, permissions and the matrix joining them.
//! `docs/permissions.md` is rendered from [`Permission::ALL`]; a test keeps the two equal.

use std::fmt;
use std::str::FromStr;

/// A member's role. The order is the order of privilege: every role may do what the roles below
/// it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: expected owner, admin, member or viewer")]
pub struct UnknownRole(pub String);

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        self >= permission.min_role()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        Role::ALL.into_iter().find(|role| role.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// One thing a caller may be allowed to do in a workspace. Its name doubles as the API-key scope
/// that grants it, for the permissions a key may hold at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    WorkspaceRead,
    WorkspaceWrite,
    WorkspaceDelete,
    WorkspaceTransfer,
    MembershipLeave,
    MembersRead,
    MembersWrite,
    KeysRead,
    KeysWrite,
    AuditRead,
    WorkflowsRead,
    WorkflowsWrite,
    RunsRead,
    RunsWrite,
    WebhooksRead,
    WebhooksWrite,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}`")]
pub struct UnknownScope(pub String);

impl Permission {
    pub const ALL: [Permission; 16] = [
        Permission::WorkspaceRead,
        Permission::WorkspaceWrite,
        Permission::WorkspaceDelete,
        Permission::WorkspaceTransfer,
        Permission::MembershipLeave,
        Permission::MembersRead,
        Permission::MembersWrite,
        Permission::KeysRead,
        Permission::KeysWrite,
        Permission::AuditRead,
        Permission::WorkflowsRead,
        Permission::WorkflowsWrite,
        Permission::RunsRead,
        Permission::RunsWrite,
        Permission::WebhooksRead,
        Permission::WebhooksWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::WorkspaceRead => "workspace:read",
            Permission::WorkspaceWrite => "workspace:write",
            Permission::WorkspaceDelete => "workspace:delete",
            Permission::WorkspaceTransfer => "workspace:transfer",
            Permission::MembershipLeave => "membership:leave",
            Permission::MembersRead => "members:read",
            Permission::MembersWrite => "members:write",
            Permission::KeysRead => "keys:read",
            Permission::KeysWrite => "keys:write",
            Permission::AuditRead => "audit:read",
            Permission::WorkflowsRead => "workflows:read",
            Permission::WorkflowsWrite => "workflows:write",
            Permission::RunsRead => "runs:read",
            Permission::RunsWrite => "runs:write",
            Permission::WebhooksRead => "webhooks:read",
            Permission::WebhooksWrite => "webhooks:write",
        }
    }

    /// The least role that holds this permission.
    pub fn min_role(self) -> Role {
        match self {
            Permission::WorkspaceRead
            | Permission::MembershipLeave
            | Permission::MembersRead
            | Permission::WorkflowsRead
            | Permission::RunsRead => Role::Viewer,
            Permission::WorkflowsWrite | Permission::RunsWrite | Permission::WebhooksRead => Role::Member,
            Permission::WorkspaceWrite
            | Permission::MembersWrite
            | Permission::KeysRead
            | Permission::KeysWrite
            | Permission::AuditRead
            | Permission::WebhooksWrite => Role::Admin,
            Permission::WorkspaceDelete | Permission::WorkspaceTransfer => Role::Owner,
        }
    }

    /// Whether an API key can be granted this permission as a scope. Deleting or handing over a
    /// workspace, and leaving it, are acts of a person, never of a key.
    pub fn is_key_scope(self) -> bool {
        !matches!(self, Permission::WorkspaceDelete | Permission::WorkspaceTransfer | Permission::MembershipLeave)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Permission::WorkspaceRead => "See the workspace's name, slug and settings",
            Permission::WorkspaceWrite => "Rename the workspace or change its slug",
            Permission::WorkspaceDelete => "Delete the workspace, or restore it during the grace period",
            Permission::WorkspaceTransfer => "Hand ownership to another member",
            Permission::MembershipLeave => "Leave the workspace",
            Permission::MembersRead => "List members and pending invitations",
            Permission::MembersWrite => "Invite, remove and change the role of members",
            Permission::KeysRead => "List API keys",
            Permission::KeysWrite => "Create and revoke API keys",
            Permission::AuditRead => "Read the audit log",
            Permission::WorkflowsRead => "See workflows and their versions",
            Permission::WorkflowsWrite => "Create, edit, publish and delete workflows",
            Permission::RunsRead => "See runs, their steps and attachments",
            Permission::RunsWrite => "Start, cancel, retry and delete runs",
            Permission::WebhooksRead => "See webhook endpoints, their delivery attempts and the workspace's events",
            Permission::WebhooksWrite => {
                "Create, change, delete and test webhook endpoints, rotate their secrets, replay events"
            }
        }
    }

    /// Every scope an API key may carry.
    pub fn key_scopes() -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(|p| p.is_key_scope())
    }

    /// The permission matrix as the Markdown table in `docs/permissions.md`.
    pub fn markdown_table() -> String {
        let mut table = String::from("| permission | viewer | member | admin | owner | API-key scope | allows |\n");
        table.push_str("|---|:-:|:-:|:-:|:-:|:-:|---|\n");
        for permission in Permission::ALL {
            table.push_str(&format!("| `{}` ", permission.as_str()));
            for role in Role::ALL {
                table.push_str(if role.allows(permission) { "| ✓ " } else { "| – " });
            }
            table.push_str(if permission.is_key_scope() { "| ✓ " } else { "| – " });
            table.push_str(&format!("| {} |\n", permission.describe()));
        }
        table
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, UnknownScope> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_privilege_and_inherit_lower_permissions() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member && Role::Member > Role::Viewer);
        for permission in Permission::ALL {
            for pair in Role::ALL.windows(2) {
                assert!(!pair[0].allows(permission) || pair[1].allows(permission), "{permission} not monotone");
            }
            assert!(Role::Owner.allows(permission), "owners may do everything, not {permission}");
        }
    }

    #[test]
    fn viewers_read_members_write_admins_manage_owners_own() {
        assert!(Role::Viewer.allows(Permission::RunsRead));
        assert!(!Role::Viewer.allows(Permission::RunsWrite));
        assert!(Role::Member.allows(Permission::WorkflowsWrite));
        assert!(!Role::Member.allows(Permission::MembersWrite));
        assert!(Role::Admin.allows(Permission::KeysWrite));
        assert!(!Role::Admin.allows(Permission::WorkspaceDelete));
    }

    #[test]
    fn names_round_trip_and_owner_acts_are_not_scopes() {
        for permission in Permission::ALL {
            assert_eq!(permission.as_str().parse::<Permission>(), Ok(permission));
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("workflows:admin".parse::<Permission>().is_err());
        assert!(!Permission::key_scopes().any(|p| p == Permission::WorkspaceDelete));
        assert_eq!(Permission::key_scopes().count(), 13);
    }
}
