//! The audit log's vocabulary and its tamper evidence. Entries form one SHA-256 hash chain per
//! workspace (and one for account events outside any workspace): each entry's hash covers its
//! content and the previous entry's hash, so altering, removing or reordering an entry breaks
//! every link after it.

use sha2::{Digest, Sha256};

/// The chain of events that belong to no workspace (logins, account changes).
pub const ACCOUNT_CHAIN: &str = "account";

/// Every action the audit log records. Names are stable: clients filter on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    UserRegistered,
    UserUpdated,
    PasswordChanged,
    PasswordReset,
    EmailVerified,
    LoginSucceeded,
    LoginFailed,
    Logout,
    SessionRevoked,
    RefreshTokenReused,
    WorkspaceCreated,
    WorkspaceUpdated,
    WorkspaceDeleted,
    WorkspaceRestored,
    WorkspacePurged,
    OwnershipTransferred,
    MemberRoleChanged,
    MemberRemoved,
    MemberLeft,
    InvitationCreated,
    InvitationRevoked,
    InvitationAccepted,
    ApiKeyCreated,
    ApiKeyRevoked,
    WorkflowCreated,
    WorkflowUpdated,
    WorkflowDeleted,
    WorkflowVersionSaved,
    WorkflowPublished,
    WorkflowUnpublished,
    WebhookEndpointCreated,
    WebhookEndpointUpdated,
    WebhookEndpointDeleted,
    WebhookSecretRotated,
}

impl AuditAction {
    pub const ALL: [AuditAction; 34] = [
        AuditAction::UserRegistered,
        AuditAction::UserUpdated,
        AuditAction::PasswordChanged,
        AuditAction::PasswordReset,
        AuditAction::EmailVerified,
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::Logout,
        AuditAction::SessionRevoked,
        AuditAction::RefreshTokenReused,
        AuditAction::WorkspaceCreated,
        AuditAction::WorkspaceUpdated,
        AuditAction::WorkspaceDeleted,
        AuditAction::WorkspaceRestored,
        AuditAction::WorkspacePurged,
        AuditAction::OwnershipTransferred,
        AuditAction::MemberRoleChanged,
        AuditAction::MemberRemoved,
        AuditAction::MemberLeft,
        AuditAction::InvitationCreated,
        AuditAction::InvitationRevoked,
        AuditAction::InvitationAccepted,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyRevoked,
        AuditAction::WorkflowCreated,
        AuditAction::WorkflowUpdated,
        AuditAction::WorkflowDeleted,
        AuditAction::WorkflowVersionSaved,
        AuditAction::WorkflowPublished,
        AuditAction::WorkflowUnpublished,
        AuditAction::WebhookEndpointCreated,
        AuditAction::WebhookEndpointUpdated,
        AuditAction::WebhookEndpointDeleted,
        AuditAction::WebhookSecretRotated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserRegistered => "user.registered",
            AuditAction::UserUpdated => "user.updated",
            AuditAction::PasswordChanged => "user.password_changed",
            AuditAction::PasswordReset => "user.password_reset",
            AuditAction::EmailVerified => "user.email_verified",
            AuditAction::LoginSucceeded => "auth.login_succeeded",
            AuditAction::LoginFailed => "auth.login_failed",
            AuditAction::Logout => "auth.logout",
            AuditAction::SessionRevoked => "auth.session_revoked",
            AuditAction::RefreshTokenReused => "auth.refresh_token_reused",
            AuditAction::WorkspaceCreated => "workspace.created",
            AuditAction::WorkspaceUpdated => "workspace.updated",
            AuditAction::WorkspaceDeleted => "workspace.deleted",
            AuditAction::WorkspaceRestored => "workspace.restored",
            AuditAction::WorkspacePurged => "workspace.purged",
            AuditAction::OwnershipTransferred => "workspace.ownership_transferred",
            AuditAction::MemberRoleChanged => "member.role_changed",
            AuditAction::MemberRemoved => "member.removed",
            AuditAction::MemberLeft => "member.left",
            AuditAction::InvitationCreated => "invitation.created",
            AuditAction::InvitationRevoked => "invitation.revoked",
            AuditAction::InvitationAccepted => "invitation.accepted",
            AuditAction::ApiKeyCreated => "api_key.created",
            AuditAction::ApiKeyRevoked => "api_key.revoked",
            AuditAction::WorkflowCreated => "workflow.created",
            AuditAction::WorkflowUpdated => "workflow.updated",
            AuditAction::WorkflowDeleted => "workflow.deleted",
            AuditAction::WorkflowVersionSaved => "workflow.version_saved",
            AuditAction::WorkflowPublished => "workflow.published",
            AuditAction::WorkflowUnpublished => "workflow.unpublished",
            AuditAction::WebhookEndpointCreated => "webhook_endpoint.created",
            AuditAction::WebhookEndpointUpdated => "webhook_endpoint.updated",
            AuditAction::WebhookEndpointDeleted => "webhook_endpoint.deleted",
            AuditAction::WebhookSecretRotated => "webhook_endpoint.secret_rotated",
        }
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The content of an entry that its hash covers, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedFields<'a> {
    pub chain: &'a str,
    pub seq: i64,
    pub id: &'a str,
    pub actor_type: &'a str,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub metadata: &'a str,
    pub created_at: i64,
    pub prev_hash: &'a str,
}

impl ChainedFields<'_> {
    /// SHA-256 (hex) over every field, each length-prefixed so no two entries encode alike.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |value: Option<&str>| match value {
            None => hasher.update([0u8]),
            Some(value) => {
                hasher.update([1u8]);
                hasher.update((value.len() as u64).to_be_bytes());
                hasher.update(value.as_bytes());
            }
        };
        field(Some(self.chain));
        field(Some(&self.seq.to_string()));
        field(Some(self.id));
        field(Some(self.actor_type));
        field(self.actor_id);
        field(Some(self.action));
        field(self.target_type);
        field(self.target_id);
        field(self.ip);
        field(self.user_agent);
        field(Some(self.metadata));
        field(Some(&self.created_at.to_string()));
        field(Some(self.prev_hash));
        hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>() -> ChainedFields<'a> {
        ChainedFields {
            chain: "ws_1",
            seq: 1,
            id: "aud_1",
            actor_type: "user",
            actor_id: Some("usr_1"),
            action: "member.role_changed",
            target_type: Some("user"),
            target_id: Some("usr_2"),
            ip: None,
            user_agent: Some("curl"),
            metadata: "{}",
            created_at: 5,
            prev_hash: "",
        }
    }

    #[test]
    fn hash_covers_every_field() {
        let base = fields().hash();
        assert_eq!(base.len(), 64);
        assert_eq!(base, fields().hash(), "deterministic");
        let variants = [
            ChainedFields { seq: 2, ..fields() },
            ChainedFields { actor_id: None, ..fields() },
            ChainedFields { ip: Some(""), ..fields() },
            ChainedFields { metadata: "{\"a\":1}", ..fields() },
            ChainedFields { prev_hash: "00", ..fields() },
            ChainedFields { created_at: 6, ..fields() },
            // Moving a boundary between fields must change the hash too.
            ChainedFields { target_type: Some("userusr_2"), target_id: Some(""), ..fields() },
        ];
        for variant in variants {
            assert_ne!(variant.hash(), base, "{variant:?}");
        }
    }

    #[test]
    fn action_names_are_unique() {
        let mut names: Vec<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
    }
}
