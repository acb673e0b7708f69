//! The signed-in user's own account and sessions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::{AuditAction, PasswordHash, SessionId, password};
use weft_store::{Session, User};

use crate::api::auth::display_name;
use crate::api::page::{ApiQuery, PageOut, PageQuery, request};
use crate::api::rfc3339;
use crate::error::{ApiError, Validation};
use crate::extract::{ClientInfo, CurrentUser};
use crate::json::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&User> for UserOut {
    fn from(user: &User) -> Self {
        UserOut {
            id: user.id.to_string(),
            email: user.email.clone(),
            name: user.name.clone(),
            email_verified: user.email_verified_at.is_some(),
            created_at: rfc3339(user.created_at),
            updated_at: rfc3339(user.updated_at),
        }
    }
}

/// Read my account.
#[utoipa::path(get, path = "/me", tag = "account", responses((status = 200, body = UserOut)), security(("user" = [])))]
async fn get_me(current: CurrentUser) -> impl IntoResponse {
    axum::Json(UserOut::from(&current.user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MePatch {
    name: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Rename myself and/or change my password. A password change needs the current password and
/// signs out every other session.
#[utoipa::path(patch, path = "/me", tag = "account", request_body = MePatch, responses((status = 200, body = UserOut)),
    security(("user" = [])))]
async fn update_me(
    State(state): State<AppState>,
    current: CurrentUser,
    client: ClientInfo,
    ApiJson(patch): ApiJson<MePatch>,
) -> Result<impl IntoResponse, ApiError> {
    let mut validation = Validation::default();
    let name = patch.name.as_deref().and_then(|raw| validation.check("/name", display_name(raw)));
    if let Some(new_password) = &patch.new_password {
        validation.check("/new_password", password::check_policy(new_password));
        if patch.current_password.is_none() {
            validation.check("/current_password", Err::<(), _>("is required to change the password"));
        }
    }
    validation.finish()?;

    if let (Some(new_password), Some(current_password)) = (patch.new_password, patch.current_password) {
        let stored = state.store.password_hash(&current.user.id).await?;
        let hash = tokio::task::spawn_blocking(move || {
            stored.verify(&current_password).then(|| PasswordHash::new(&new_password))
        })
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::field("/current_password", "is incorrect"))?;
        state.store.change_password(&current.user.id, &hash, &current.session, &client.origin()).await?;
    }
    let user = match name {
        Some(name) => state.store.rename_user(&current.user.id, &name, &client.origin()).await?,
        None => state.store.user(&current.user.id).await?,
    };
    Ok(axum::Json(UserOut::from(&user)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionOut {
    pub id: String,
    pub current: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl SessionOut {
    fn new(session: &Session, current: &SessionId) -> Self {
        SessionOut {
            id: session.id.to_string(),
            current: &session.id == current,
            created_at: rfc3339(session.created_at),
            last_seen_at: rfc3339(session.last_seen_at),
            expires_at: rfc3339(session.expires_at),
            ip: session.ip.clone(),
            user_agent: session.user_agent.clone(),
        }
    }
}

pub type SessionsOut = PageOut<SessionOut>;

/// List my live sessions (every login that is not signed out or expired), newest first.
#[utoipa::path(get, path = "/me/sessions", tag = "account", params(PageQuery),
    responses((status = 200, body = PageOut<SessionOut>)), security(("user" = [])))]
async fn list_sessions(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let sessions = state.store.active_sessions(&current.user.id, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(sessions, |s| SessionOut::new(&s, &current.session))))
}

/// Sign out one of my sessions. Another user's session, or a malformed id, is simply not found.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "account",
    params(("id" = String, Path, description = "The session's id (`ses_…`)")),
    responses((status = 204, description = "Signed out")), security(("user" = [])))]
async fn revoke_session(
    State(state): State<AppState>,
    current: CurrentUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: SessionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let revoked =
        state.store.revoke_session(&current.user.id, &id, &client.origin(), AuditAction::SessionRevoked).await?;
    if !revoked {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}
