//! Members and invitations of a workspace, and accepting an invitation.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::token::hash_presented;
use weft_domain::{Actor, EmailAddress, OpaqueToken, Role};
use weft_store::{AcceptOutcome, Invitation, Member, NewInvitation, User, Workspace};

use crate::account_mail;
use crate::api::page::{ApiQuery, PageOut, PageQuery, request};
use crate::api::rfc3339;
use crate::api::workspaces::{WorkspaceOut, WsPath};
use crate::error::{ApiError, Validation};
use crate::extract::gate::{MembersRead, MembersWrite};
use crate::extract::{Authorized, ClientInfo, CurrentUser};
use crate::json::ApiJson;
use crate::state::AppState;

const INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(update_member, remove_member))
        .routes(routes!(create_invitation, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberOut {
    pub user_id: String,
    pub email: String,
    pub name: String,
    /// owner, admin, member or viewer.
    pub role: String,
    pub joined_at: String,
}

impl From<Member> for MemberOut {
    fn from(member: Member) -> Self {
        MemberOut {
            user_id: member.user_id.to_string(),
            email: member.email,
            name: member.name,
            role: member.role.as_str().to_owned(),
            joined_at: rfc3339(member.joined_at),
        }
    }
}

/// List the workspace's members.
#[utoipa::path(get, path = "/workspaces/{ws}/members", tag = "members", params(WsPath, PageQuery),
    responses((status = 200, body = PageOut<MemberOut>)),
    security(("user" = ["members:read"]), ("api_key" = ["members:read"])))]
async fn list_members(
    State(state): State<AppState>,
    auth: Authorized<MembersRead>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let page = state.store.members(&auth.scope, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, MemberOut::from)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemberPatchIn {
    /// owner, admin, member or viewer. Only an owner makes or demotes owners.
    role: String,
}

/// Change a member's role. Only an owner makes, demotes or removes owners; the last owner
/// cannot be demoted.
#[utoipa::path(patch, path = "/workspaces/{ws}/members/{user}", tag = "members",
    params(WsPath, ("user" = String, Path, description = "The member's user id")), request_body = MemberPatchIn,
    responses((status = 200, body = MemberOut), (status = 409, description = "The last owner would be demoted", body = crate::Problem)),
    security(("user" = ["members:write"]), ("api_key" = ["members:write"])))]
async fn update_member(
    State(state): State<AppState>,
    auth: Authorized<MembersWrite, Member>,
    ApiJson(input): ApiJson<MemberPatchIn>,
) -> Result<impl IntoResponse, ApiError> {
    let member = change_role(&state, &auth, &input.role).await?;
    Ok(axum::Json(MemberOut::from(member)))
}

/// Gives the member the path names the role `raw`: for the API and the members page alike.
pub(crate) async fn change_role(
    state: &AppState,
    auth: &Authorized<MembersWrite, Member>,
    raw: &str,
) -> Result<Member, ApiError> {
    let role: Role =
        raw.parse().map_err(|e: weft_domain::access::UnknownRole| ApiError::field("/role", e.to_string()))?;
    Ok(state.store.change_member_role(&auth.scope, &auth.origin, &auth.resource.user_id, role).await?)
}

/// Remove a member from the workspace.
#[utoipa::path(delete, path = "/workspaces/{ws}/members/{user}", tag = "members",
    params(WsPath, ("user" = String, Path, description = "The member's user id")),
    responses((status = 204, description = "Removed"), (status = 409, description = "The last owner would be removed", body = crate::Problem)),
    security(("user" = ["members:write"]), ("api_key" = ["members:write"])))]
async fn remove_member(
    State(state): State<AppState>,
    auth: Authorized<MembersWrite, Member>,
) -> Result<impl IntoResponse, ApiError> {
    state.store.remove_member(&auth.scope, &auth.origin, &auth.resource.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationOut {
    pub id: String,
    pub email: String,
    pub role: String,
    /// `user:usr_…` or `api_key:key_…`.
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub expired: bool,
}

impl From<Invitation> for InvitationOut {
    fn from(invitation: Invitation) -> Self {
        InvitationOut {
            id: invitation.id.to_string(),
            email: invitation.email,
            role: invitation.role.as_str().to_owned(),
            created_by: invitation.created_by,
            created_at: rfc3339(invitation.created_at),
            expires_at: rfc3339(invitation.expires_at),
            expired: invitation.expires_at <= weft_store::now_ms(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InvitationIn {
    email: String,
    /// owner, admin, member or viewer. Only an owner invites owners.
    role: String,
}

/// Invite someone by email. The mail carries a single-use link valid for 7 days; a new
/// invitation to the same address replaces the pending one.
#[utoipa::path(post, path = "/workspaces/{ws}/invitations", tag = "members", params(WsPath), request_body = InvitationIn,
    responses((status = 201, body = InvitationOut), (status = 409, description = "The address belongs to a member", body = crate::Problem)),
    security(("user" = ["members:write"]), ("api_key" = ["members:write"])))]
async fn create_invitation(
    State(state): State<AppState>,
    auth: Authorized<MembersWrite>,
    ApiJson(input): ApiJson<InvitationIn>,
) -> Result<impl IntoResponse, ApiError> {
    let invitation = invite(&state, &auth, &input.email, &input.role).await?;
    Ok((StatusCode::CREATED, axum::Json(InvitationOut::from(invitation))))
}

/// Validates an invitation, records it and mails its link: for the API and the members page.
pub(crate) async fn invite(
    state: &AppState,
    auth: &Authorized<MembersWrite>,
    email: &str,
    role: &str,
) -> Result<Invitation, ApiError> {
    let mut validation = Validation::default();
    let email = validation.check("/email", EmailAddress::parse(email));
    let role = validation.check("/role", role.parse::<Role>());
    validation.finish()?;
    let (Some(email), Some(role)) = (email, role) else { unreachable!("validation passed") };
    let token = OpaqueToken::generate();
    let lifetime_ms = i64::try_from(INVITATION_TTL.as_millis()).unwrap_or(i64::MAX);
    let new = NewInvitation { email: &email, role, token_hash: &token.hash(), lifetime_ms };
    let invitation = state.store.create_invitation(&auth.scope, &auth.origin, new).await?;
    let inviter = match auth.scope.actor() {
        Actor::User(id) => state.store.user(&id).await?.name,
        _ => "An administrator".to_owned(),
    };
    state.send_mail_later(account_mail::invitation(
        &state.settings.public_url,
        email.as_str(),
        &auth.workspace.name,
        &inviter,
        role.as_str(),
        token.expose(),
    ));
    Ok(invitation)
}

/// List pending invitations.
#[utoipa::path(get, path = "/workspaces/{ws}/invitations", tag = "members", params(WsPath, PageQuery),
    responses((status = 200, body = PageOut<InvitationOut>)),
    security(("user" = ["members:read"]), ("api_key" = ["members:read"])))]
async fn list_invitations(
    State(state): State<AppState>,
    auth: Authorized<MembersRead>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let page = state.store.invitations(&auth.scope, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, InvitationOut::from)))
}

/// Revoke a pending invitation; its link stops working.
#[utoipa::path(delete, path = "/workspaces/{ws}/invitations/{invitation}", tag = "members",
    params(WsPath, ("invitation" = String, Path, description = "The invitation's id")),
    responses((status = 204, description = "Revoked")),
    security(("user" = ["members:write"]), ("api_key" = ["members:write"])))]
async fn revoke_invitation(
    State(state): State<AppState>,
    auth: Authorized<MembersWrite, Invitation>,
) -> Result<impl IntoResponse, ApiError> {
    state.store.revoke_invitation(&auth.scope, &auth.origin, &auth.resource.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an invitation as the signed-in user, whose verified email must be the invited one.
#[utoipa::path(post, path = "/invitations/{token}/accept", tag = "members",
    params(("token" = String, Path, description = "The token from the invitation link")),
    responses((status = 200, description = "Joined", body = WorkspaceOut),
        (status = 403, description = "Signed in with another or an unverified address", body = crate::Problem),
        (status = 409, description = "Already a member", body = crate::Problem)),
    security(("user" = [])))]
async fn accept_invitation(
    State(state): State<AppState>,
    current: CurrentUser,
    client: ClientInfo,
    Path(token): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (workspace, role) = accept(&state, &current.user, &client, &token).await?;
    Ok(axum::Json(WorkspaceOut::new(&workspace, Some(role))))
}

/// Makes `user` a member through the invitation token `token`: for the API and the invitation page.
pub(crate) async fn accept(
    state: &AppState,
    user: &User,
    client: &ClientInfo,
    token: &str,
) -> Result<(Workspace, Role), ApiError> {
    match state.store.accept_invitation(user, &client.origin(), &hash_presented(token)).await? {
        AcceptOutcome::Accepted { workspace, role } => Ok((workspace, role)),
        AcceptOutcome::Invalid => Err(ApiError::NotFound),
        AcceptOutcome::WrongAccount => {
            Err(ApiError::Forbidden("this invitation was sent to another address, or your address is not verified yet"))
        }
        AcceptOutcome::AlreadyMember => Err(ApiError::Conflict("you are already a member of this workspace")),
    }
}
