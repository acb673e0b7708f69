//! The credential checks. `Authorization: Bearer` carries either a user's access token (a JWT)
//! or an API key (`weft_…`). [`Authorized`] turns a verified credential plus the `{ws}` path
//! segment into a [`TenantScope`] — the only place outside the worker where one is built.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header;
use axum::http::request::Parts;
use weft_domain::{Grant, SessionId, TenantScope, api_key};
use weft_store::{ApiKey, Invitation, KeyCredential, Member, Origin, Run, User, Workflow, Workspace, now_ms};

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

/// A resource named by a path segment, loaded through the caller's scope: one of another
/// workspace, or a malformed id, is 404 — decided before the request body is even read.
pub trait PathResource: Sized + Send {
    /// The path parameter that names it; `None` for routes about the workspace itself.
    const PARAM: Option<&'static str>;

    fn load(state: &AppState, scope: &TenantScope, raw: &str) -> impl Future<Output = Result<Self, ApiError>> + Send;
}

impl PathResource for () {
    const PARAM: Option<&'static str> = None;

    async fn load(_: &AppState, _: &TenantScope, _: &str) -> Result<(), ApiError> {
        Ok(())
    }
}

/// A path id that does not parse names nothing that exists.
fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

impl PathResource for Member {
    const PARAM: Option<&'static str> = Some("user");

    async fn load(state: &AppState, scope: &TenantScope, raw: &str) -> Result<Member, ApiError> {
        Ok(state.store.member(scope, &path_id(raw)?).await?)
    }
}

impl PathResource for Invitation {
    const PARAM: Option<&'static str> = Some("invitation");

    async fn load(state: &AppState, scope: &TenantScope, raw: &str) -> Result<Invitation, ApiError> {
        Ok(state.store.invitation(scope, &path_id(raw)?).await?)
    }
}

impl PathResource for ApiKey {
    const PARAM: Option<&'static str> = Some("key");

    async fn load(state: &AppState, scope: &TenantScope, raw: &str) -> Result<ApiKey, ApiError> {
        Ok(state.store.api_key(scope, &path_id(raw)?).await?)
    }
}

impl PathResource for Workflow {
    const PARAM: Option<&'static str> = Some("wf");

    async fn load(state: &AppState, scope: &TenantScope, raw: &str) -> Result<Workflow, ApiError> {
        Ok(state.store.workflow(scope, &path_id(raw)?).await?)
    }
}

impl PathResource for Run {
    const PARAM: Option<&'static str> = Some("run");

    async fn load(state: &AppState, scope: &TenantScope, raw: &str) -> Result<Run, ApiError> {
        Ok(state.store.run(scope, &path_id(raw)?).await?)
    }
}

/// A caller verified as allowed `G`'s permission in the workspace named by the `{ws}` path
/// segment (its id or slug), and the resource `R` the path names in it. A workspace the caller
/// cannot see is 404, never 403.
#[derive(Debug)]
pub struct Authorized<G, R = ()> {
    pub scope: TenantScope,
    pub workspace: Workspace,
    pub resource: R,
    /// Where the request came from, for the audit log.
    pub origin: Origin,
    gate: PhantomData<G>,
}

fn path_param(params: &RawPathParams, name: &str) -> Result<String, ApiError> {
    params.iter().find(|(param, _)| *param == name).map(|(_, value)| value.to_owned()).ok_or(ApiError::NotFound)
}

impl<G: Gate, R: PathResource> FromRequestParts<AppState> for Authorized<G, R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        Self::for_caller(parts, state, caller).await
    }
}

impl<G: Gate, R: PathResource> Authorized<G, R> {
    /// The checks behind the extractor, for a caller already authenticated some other way (the
    /// web UI's session cookie).
    pub(crate) async fn for_caller(parts: &mut Parts, state: &AppState, caller: Caller) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        let named = path_param(&params, "ws")?;
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
        let resource = match R::PARAM {
            Some(name) => R::load(state, &scope, &path_param(&params, name)?).await?,
            None => R::load(state, &scope, "").await?,
        };
        let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
        Ok(Authorized { scope, workspace, resource, origin: client.origin(), gate: PhantomData })
    }
}
