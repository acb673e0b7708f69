//! The credential checks. `Authorization: Bearer` carries either a user's access token (a JWT)
//! or an API key (`weft_…`). [`Authorized`] turns a verified credential plus the `{ws}` path
//! segment into a [`TenantScope`] — the only place outside the worker where one is built.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header;
use axum::http::request::Parts;
use weft_domain::{Grant, SessionId, TenantScope, api_key};
use weft_store::{KeyCredential, Origin, User, Workspace, now_ms};

use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::extract::gate::Gate;
use crate::extract::limit::enforce;
use crate::state::AppState;

const MISSING: &str = "this endpoint needs `Authorization: Bearer <access token or API key>`";
const INVALID: &str = "the access token is invalid, expired or revoked";
const INVALID_KEY: &str = "the API key is unknown, expired or revoked";
const USERS_ONLY: &str = "this endpoint needs a user's access token; API keys act only inside their workspace";

/// Whoever presented a valid credential, already charged one request of their budget.
#[derive(Debug, Clone)]
pub enum Caller {
    User(CurrentUser),
    Key(KeyCredential),
}

/// A user authenticated by a valid access token whose session is still live.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub session: SessionId,
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or(ApiError::Unauthorized(MISSING))?;
    value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized(MISSING))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        if token.starts_with(api_key::KEY_PREFIX) {
            // A mistyped key fails its checksum here, before any database work.
            let hash = api_key::check_presented(token).map_err(|_| ApiError::Unauthorized(INVALID_KEY))?;
            let key = state.store.key_credential(&hash).await?.ok_or(ApiError::Unauthorized(INVALID_KEY))?;
            if key.revoked || key.expires_at.is_some_and(|at| at <= now_ms()) {
                return Err(ApiError::Unauthorized(INVALID_KEY));
            }
            enforce(parts, state, "api-key", &format!("key:{}", key.id), &state.settings.quotas.api_key).await?;
            state.store.touch_api_key(&key).await?;
            return Ok(Caller::Key(key));
        }
        let claims = state.tokens.verify(token).ok_or(ApiError::Unauthorized(INVALID))?;
        let user = state
            .store
            .session_user(&claims.sid)
            .await?
            .filter(|user| user.id == claims.sub)
            .ok_or(ApiError::Unauthorized(INVALID))?;
        enforce(parts, state, "user", &format!("user:{}", user.id), &state.settings.quotas.user).await?;
        Ok(Caller::User(CurrentUser { user, session: claims.sid }))
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::User(user) => Ok(user),
            Caller::Key(_) => Err(ApiError::Unauthorized(USERS_ONLY)),
        }
    }
}

/// A caller verified as allowed `G`'s permission in the workspace named by the `{ws}` path
/// segment (its id or slug). A workspace the caller cannot see is 404, never 403.
#[derive(Debug)]
pub struct Authorized<G> {
    pub scope: TenantScope,
    pub workspace: Workspace,
    /// Where the request came from, for the audit log.
    pub origin: Origin,
    gate: PhantomData<G>,
}

impl<G: Gate> FromRequestParts<AppState> for Authorized<G> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        let named = params.iter().find(|(name, _)| *name == "ws").map(|(_, value)| value.to_owned());
        let named = named.ok_or(ApiError::NotFound)?;
        let (workspace, grant) = match caller {
            Caller::User(current) => {
                let (workspace, role) =
                    state.store.membership(&current.user.id, &named).await?.ok_or(ApiError::NotFound)?;
                (workspace, Grant::Member { user: current.user.id, role })
            }
            Caller::Key(key) => {
                if key.workspace.id.as_str() != named && key.workspace.slug != named {
                    return Err(ApiError::NotFound);
                }
                (key.workspace, Grant::Key { key: key.id, scopes: key.scopes })
            }
        };
        if workspace.deleted_at.is_some() && !G::DELETED_WORKSPACE {
            return Err(ApiError::NotFound);
        }
        #[allow(clippy::disallowed_methods)] // The credential and membership were verified just above.
        let scope = TenantScope::verified(workspace.id.clone(), grant);
        if !scope.allows(G::PERMISSION) {
            return Err(ApiError::MissingPermission { permission: G::PERMISSION, key: scope.role().is_none() });
        }
        let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
        Ok(Authorized { scope, workspace, origin: client.origin(), gate: PhantomData })
    }
}
