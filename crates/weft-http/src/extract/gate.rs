//! Gates: one marker type per permission, so a handler's signature states what it needs,
//! e.g. `Authorized<gate::MembersWrite>`.

use weft_domain::Permission;

pub trait Gate: Send + Sync + 'static {
    const PERMISSION: Permission;
    /// Whether a deleted workspace is still reachable (only to restore it).
    const DELETED_WORKSPACE: bool = false;
}

macro_rules! gates {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug)]
        pub struct $name;
        impl Gate for $name {
            const PERMISSION: Permission = Permission::$name;
        }
    )*};
}

gates!(
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
);

/// Restoring needs the delete permission and is the one act on a deleted workspace.
#[derive(Debug)]
pub struct WorkspaceRestore;

impl Gate for WorkspaceRestore {
    const PERMISSION: Permission = Permission::WorkspaceDelete;
    const DELETED_WORKSPACE: bool = true;
}
