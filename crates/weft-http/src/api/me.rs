//! The signed-in user's own account and sessions.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use weft_domain::{PasswordHash, SessionId, password};
use weft_store::{Session, User};

use crate::api::auth::display_name;
use crate::api::rfc3339;
use crate::error::{ApiError, Validation};
use crate::extract::CurrentUser;
use crate::json::ApiJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(get_me).patch(update_me))
        .route("/me/sessions", get(list_sessions))
        .route("/me/sessions/{id}", delete(revoke_session))
}

#[derive(Debug, Serialize, Deserialize)]
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

async fn get_me(current: CurrentUser) -> impl IntoResponse {
    axum::Json(UserOut::from(&current.user))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MePatch {
    name: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Renames, and/or changes the password. A password change needs the current password and
/// signs out every other session.
async fn update_me(
    State(state): State<AppState>,
    current: CurrentUser,
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
        state.store.change_password(&current.user.id, &hash, &current.session).await?;
    }
    let user = match name {
        Some(name) => state.store.rename_user(&current.user.id, &name).await?,
        None => state.store.user(&current.user.id).await?,
    };
    Ok(axum::Json(UserOut::from(&user)))
}

#[derive(Debug, Serialize, Deserialize)]
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

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionsOut {
    pub items: Vec<SessionOut>,
}

async fn list_sessions(State(state): State<AppState>, current: CurrentUser) -> Result<impl IntoResponse, ApiError> {
    let sessions = state.store.active_sessions(&current.user.id).await?;
    let items = sessions.iter().map(|s| SessionOut::new(s, &current.session)).collect();
    Ok(axum::Json(SessionsOut { items }))
}

/// Another user's session, or a malformed id, is simply not found.
async fn revoke_session(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: SessionId = id.parse().map_err(|_| ApiError::NotFound)?;
    if !state.store.revoke_session(&current.user.id, &id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}
