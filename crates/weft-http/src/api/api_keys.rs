//! API keys of a workspace: create (the secret is shown once), list, revoke.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::{ApiKeySecret, Permission};
use weft_store::{ApiKey, NewApiKey};

use crate::api::page::{ApiQuery, PageOut, PageQuery, request};
use crate::api::rfc3339;
use crate::api::workspaces::WsPath;
use crate::error::{ApiError, Validation};
use crate::extract::Authorized;
use crate::extract::gate::{KeysRead, KeysWrite};
use crate::json::ApiJson;
use crate::state::AppState;

const NAME_MAX: usize = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_api_key, list_api_keys)).routes(routes!(revoke_api_key))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: String,
    pub name: String,
    /// The key's first characters, to recognise it: `weft_` and 8 more.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// `user:usr_…` or `api_key:key_…`.
    pub created_by: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Updated at most once a minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(key: ApiKey) -> Self {
        ApiKeyOut {
            id: key.id.to_string(),
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_by: key.created_by,
            created_at: rfc3339(key.created_at),
            expires_at: key.expires_at.map(rfc3339),
            last_used_at: key.last_used_at.map(rfc3339),
        }
    }
}

/// A new key, with its secret: the only time the secret is shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiKeyOut {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    /// `weft_…`: send as `Authorization: Bearer <key>`. Store it now; it cannot be shown again.
    pub secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ApiKeyIn {
    name: String,
    /// Scopes such as `workflows:read` or `runs:write` (see docs/permissions.md). A key cannot
    /// hold a scope its creator lacks.
    scopes: Vec<String>,
    /// RFC 3339 time after which the key stops working.
    expires_at: Option<String>,
}

/// Create an API key for this workspace.
#[utoipa::path(post, path = "/workspaces/{ws}/api-keys", tag = "api-keys", params(WsPath), request_body = ApiKeyIn,
    responses((status = 201, body = CreatedApiKeyOut)),
    security(("user" = ["keys:write"]), ("api_key" = ["keys:write"])))]
async fn create_api_key(
    State(state): State<AppState>,
    auth: Authorized<KeysWrite>,
    ApiJson(input): ApiJson<ApiKeyIn>,
) -> Result<impl IntoResponse, ApiError> {
    let (key, secret) = issue_key(&state, &auth, &input.name, &input.scopes, input.expires_at.as_deref()).await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedApiKeyOut { key: key.into(), secret: secret.expose().to_owned() })))
}

/// Validates a new key (no scope its creator lacks) and creates it: for the API and the keys
/// page. The secret is returned once and stored only as a hash.
pub(crate) async fn issue_key(
    state: &AppState,
    auth: &Authorized<KeysWrite>,
    name: &str,
    requested: &[String],
    expires_at: Option<&str>,
) -> Result<(ApiKey, ApiKeySecret), ApiError> {
    let mut validation = Validation::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        validation.check("/name", Err::<(), _>(format!("must be 1 to {NAME_MAX} characters")));
    }
    if requested.is_empty() {
        validation.check("/scopes", Err::<(), _>("must list at least one scope"));
    }
    let mut scopes = Vec::new();
    for (index, raw) in requested.iter().enumerate() {
        let pointer = format!("/scopes/{index}");
        let scope = match raw.parse::<Permission>() {
            Ok(scope) if !scope.is_key_scope() => Err(format!("`{scope}` is an act of a person, not a key scope")),
            Ok(scope) if !auth.scope.allows(scope) => Err(format!("you cannot grant `{scope}`, which you lack")),
            Ok(scope) => Ok(scope),
            Err(e) => Err(e.to_string()),
        };
        scopes.extend(validation.check(&pointer, scope));
    }
    scopes.sort_unstable();
    scopes.dedup();
    let expires_at = expires_at.and_then(|raw| {
        let at = raw.parse::<jiff::Timestamp>().map_err(|_| "must be an RFC 3339 time".to_owned());
        let at = at.and_then(|at| {
            if at.as_millisecond() > weft_store::now_ms() {
                Ok(at.as_millisecond())
            } else {
                Err("must be in the future".to_owned())
            }
        });
        validation.check("/expires_at", at)
    });
    validation.finish()?;
    let secret = ApiKeySecret::generate();
    let new =
        NewApiKey { name, prefix: secret.display_prefix(), key_hash: &secret.hash(), scopes: &scopes, expires_at };
    let key = state.store.create_api_key(&auth.scope, &auth.origin, new).await?;
    Ok((key, secret))
}

/// List the workspace's keys (revoked ones are gone).
#[utoipa::path(get, path = "/workspaces/{ws}/api-keys", tag = "api-keys", params(WsPath, PageQuery),
    responses((status = 200, body = PageOut<ApiKeyOut>)),
    security(("user" = ["keys:read"]), ("api_key" = ["keys:read"])))]
async fn list_api_keys(
    State(state): State<AppState>,
    auth: Authorized<KeysRead>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let page = state.store.api_keys(&auth.scope, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, ApiKeyOut::from)))
}

/// Revoke a key; requests with it fail from now on.
#[utoipa::path(delete, path = "/workspaces/{ws}/api-keys/{key}", tag = "api-keys",
    params(WsPath, ("key" = String, Path, description = "The key's id (`key_…`)")),
    responses((status = 204, description = "Revoked")),
    security(("user" = ["keys:write"]), ("api_key" = ["keys:write"])))]
async fn revoke_api_key(
    State(state): State<AppState>,
    auth: Authorized<KeysWrite, ApiKey>,
) -> Result<impl IntoResponse, ApiError> {
    state.store.revoke_api_key(&auth.scope, &auth.origin, &auth.resource.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
