use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use weft_domain::SessionId;
use weft_store::User;

use crate::error::ApiError;
use crate::state::AppState;

/// A user authenticated by a valid access token whose session is still live.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub session: SessionId,
}

const MISSING: &str = "this endpoint needs `Authorization: Bearer <access token>`";
const INVALID: &str = "the access token is invalid, expired or revoked";

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or(ApiError::Unauthorized(MISSING))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .ok_or(ApiError::Unauthorized(MISSING))?;
        let claims = state.tokens.verify(token.trim()).ok_or(ApiError::Unauthorized(INVALID))?;
        let user = state
            .store
            .session_user(&claims.sid)
            .await?
            .filter(|user| user.id == claims.sub)
            .ok_or(ApiError::Unauthorized(INVALID))?;
        Ok(CurrentUser { user, session: claims.sid })
    }
}
