//! Workspaces: create and list mine; read, rename, delete, restore, hand over, leave.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::workspace::workspace_name;
use weft_domain::{Role, Slug, UserId};
use weft_store::{StoreError, Workspace, WorkspacePatch};

use crate::api::page::{ApiQuery, PageOut, PageQuery, request};
use crate::api::rfc3339;
use crate::error::{ApiError, Validation};
use crate::extract::gate::{
    MembershipLeave, WorkspaceDelete, WorkspaceRead, WorkspaceRestore, WorkspaceTransfer, WorkspaceWrite,
};
use crate::extract::{Authorized, ClientInfo, CurrentUser};
use crate::json::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workspace, list_workspaces))
        .routes(routes!(get_workspace, update_workspace, delete_workspace))
        .routes(routes!(restore_workspace))
        .routes(routes!(transfer_ownership))
        .routes(routes!(leave_workspace))
}

/// The `{ws}` path segment, declared for the spec; the `Authorized` extractor reads it.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WsPath {
    /// The workspace's id (`ws_…`) or its slug.
    pub ws: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkspaceOut {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// Created with the account; otherwise like any other workspace.
    pub personal: bool,
    /// The caller's role; absent when an API key is calling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Set while a deleted workspace awaits its purge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// When a deleted workspace is purged for good; restorable until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_at: Option<String>,
}

impl WorkspaceOut {
    pub fn new(workspace: &Workspace, role: Option<Role>) -> Self {
        WorkspaceOut {
            id: workspace.id.to_string(),
            slug: workspace.slug.clone(),
            name: workspace.name.clone(),
            personal: workspace.personal,
            role: role.map(|r| r.as_str().to_owned()),
            created_at: rfc3339(workspace.created_at),
            updated_at: rfc3339(workspace.updated_at),
            deleted_at: workspace.deleted_at.map(rfc3339),
            purge_at: workspace.purge_at.map(rfc3339),
        }
    }
}

fn slug_conflict(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict { .. } => ApiError::Conflict("this slug is taken"),
        other => other.into(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WorkspaceIn {
    name: String,
    /// `[a-z0-9-]{3,40}`; generated from the name when absent.
    slug: Option<String>,
}

/// Create a workspace; the caller becomes its owner.
#[utoipa::path(post, path = "/workspaces", tag = "workspaces", request_body = WorkspaceIn,
    responses((status = 201, body = WorkspaceOut), (status = 409, description = "The slug is taken", body = crate::Problem)),
    security(("user" = [])))]
async fn create_workspace(
    State(state): State<AppState>,
    current: CurrentUser,
    client: ClientInfo,
    ApiJson(input): ApiJson<WorkspaceIn>,
) -> Result<impl IntoResponse, ApiError> {
    let workspace =
        new_workspace(&state, &current.user.id, &client.origin(), &input.name, input.slug.as_deref()).await?;
    Ok((StatusCode::CREATED, axum::Json(WorkspaceOut::new(&workspace, Some(Role::Owner)))))
}

/// Validates a new workspace's name and optional slug and creates it, owned by `owner`.
pub(crate) async fn new_workspace(
    state: &AppState,
    owner: &UserId,
    origin: &weft_store::Origin,
    name: &str,
    slug: Option<&str>,
) -> Result<Workspace, ApiError> {
    let mut validation = Validation::default();
    let name = validation.check("/name", workspace_name(name));
    let slug = slug.and_then(|slug| validation.check("/slug", Slug::parse(slug)));
    validation.finish()?;
    let name = name.unwrap_or_default();
    state.store.create_workspace(owner, origin, &name, slug.as_ref()).await.map_err(slug_conflict)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WorkspaceFilter {
    /// List the workspaces awaiting purge instead (restorable by their owners).
    #[serde(default)]
    deleted: bool,
}

/// List the workspaces I belong to, with my role in each.
#[utoipa::path(get, path = "/workspaces", tag = "workspaces", params(WorkspaceFilter, PageQuery),
    responses((status = 200, body = PageOut<WorkspaceOut>)), security(("user" = [])))]
async fn list_workspaces(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(filter): ApiQuery<WorkspaceFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let page = state.store.workspaces_of(&current.user.id, filter.deleted, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, |(workspace, role)| WorkspaceOut::new(&workspace, Some(role)))))
}

/// Read a workspace.
#[utoipa::path(get, path = "/workspaces/{ws}", tag = "workspaces", params(WsPath),
    responses((status = 200, body = WorkspaceOut)),
    security(("user" = ["workspace:read"]), ("api_key" = ["workspace:read"])))]
async fn get_workspace(auth: Authorized<WorkspaceRead>) -> impl IntoResponse {
    axum::Json(WorkspaceOut::new(&auth.workspace, auth.scope.role()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WorkspacePatchIn {
    name: Option<String>,
    slug: Option<String>,
}

/// Rename a workspace or change its slug.
#[utoipa::path(patch, path = "/workspaces/{ws}", tag = "workspaces", params(WsPath), request_body = WorkspacePatchIn,
    responses((status = 200, body = WorkspaceOut), (status = 409, description = "The slug is taken", body = crate::Problem)),
    security(("user" = ["workspace:write"]), ("api_key" = ["workspace:write"])))]
async fn update_workspace(
    State(state): State<AppState>,
    auth: Authorized<WorkspaceWrite>,
    ApiJson(input): ApiJson<WorkspacePatchIn>,
) -> Result<impl IntoResponse, ApiError> {
    let workspace = edit_workspace(&state, &auth, input.name.as_deref(), input.slug.as_deref()).await?;
    Ok(axum::Json(WorkspaceOut::new(&workspace, auth.scope.role())))
}

/// Validates and applies a new name, slug or both: for the API and the settings page.
pub(crate) async fn edit_workspace(
    state: &AppState,
    auth: &Authorized<WorkspaceWrite>,
    name: Option<&str>,
    slug: Option<&str>,
) -> Result<Workspace, ApiError> {
    if name.is_none() && slug.is_none() {
        return Err(ApiError::field("", "give `name`, `slug` or both"));
    }
    let mut validation = Validation::default();
    let name = name.and_then(|name| validation.check("/name", workspace_name(name)));
    let slug = slug.and_then(|slug| validation.check("/slug", Slug::parse(slug)));
    validation.finish()?;
    let patch = WorkspacePatch { name: name.as_deref(), slug: slug.as_ref() };
    state.store.update_workspace(&auth.scope, &auth.origin, patch).await.map_err(slug_conflict)
}

/// Delete a workspace. It disappears at once and is purged after the grace period
/// (`WEFT_WORKSPACE_PURGE_GRACE_DAYS`, default 7); until then its owners can restore it.
#[utoipa::path(delete, path = "/workspaces/{ws}", tag = "workspaces", params(WsPath),
    responses((status = 200, description = "Deleted; `purge_at` says when it goes for good", body = WorkspaceOut)),
    security(("user" = ["workspace:delete"])))]
async fn delete_workspace(
    State(state): State<AppState>,
    auth: Authorized<WorkspaceDelete>,
) -> Result<impl IntoResponse, ApiError> {
    let workspace = remove_workspace(&state, &auth).await?;
    Ok(axum::Json(WorkspaceOut::new(&workspace, auth.scope.role())))
}

/// Deletes a workspace, to be purged after the configured grace period: for the API and the
/// settings page.
pub(crate) async fn remove_workspace(
    state: &AppState,
    auth: &Authorized<WorkspaceDelete>,
) -> Result<Workspace, ApiError> {
    let grace = i64::try_from(state.settings.workspace_purge_grace.as_millis()).unwrap_or(i64::MAX);
    Ok(state.store.delete_workspace(&auth.scope, &auth.origin, grace).await?)
}

/// Restore a deleted workspace before its purge.
#[utoipa::path(post, path = "/workspaces/{ws}/restore", tag = "workspaces", params(WsPath),
    responses((status = 200, body = WorkspaceOut), (status = 409, description = "The workspace is not deleted, or its grace period is over", body = crate::Problem)),
    security(("user" = ["workspace:delete"])))]
async fn restore_workspace(
    State(state): State<AppState>,
    auth: Authorized<WorkspaceRestore>,
) -> Result<impl IntoResponse, ApiError> {
    let workspace = state.store.restore_workspace(&auth.scope, &auth.origin).await?;
    Ok(axum::Json(WorkspaceOut::new(&workspace, auth.scope.role())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransferIn {
    /// The member who becomes an owner; the caller becomes an admin.
    user: String,
}

/// Hand ownership to another member.
#[utoipa::path(post, path = "/workspaces/{ws}/transfer-ownership", tag = "workspaces", params(WsPath),
    request_body = TransferIn, responses((status = 204, description = "Ownership handed over")),
    security(("user" = ["workspace:transfer"])))]
async fn transfer_ownership(
    State(state): State<AppState>,
    auth: Authorized<WorkspaceTransfer>,
    ApiJson(input): ApiJson<TransferIn>,
) -> Result<impl IntoResponse, ApiError> {
    let to: UserId = input.user.parse().map_err(|e: weft_domain::IdError| ApiError::field("/user", e.to_string()))?;
    state.store.transfer_ownership(&auth.scope, &auth.origin, &to).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::field("/user", "is not a member of this workspace"),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a workspace. The last owner cannot; hand over ownership or delete the workspace.
#[utoipa::path(post, path = "/workspaces/{ws}/leave", tag = "workspaces", params(WsPath),
    responses((status = 204, description = "Left"), (status = 409, description = "The caller is the last owner", body = crate::Problem)),
    security(("user" = ["membership:leave"])))]
async fn leave_workspace(
    State(state): State<AppState>,
    auth: Authorized<MembershipLeave>,
) -> Result<impl IntoResponse, ApiError> {
    state.store.leave_workspace(&auth.scope, &auth.origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
