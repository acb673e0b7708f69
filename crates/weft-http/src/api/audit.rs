//! Reading a workspace's audit log.

use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::TenantScope;
use weft_store::{AuditEntry, AuditFilter, Page, PageRequest};

use crate::api::page::{ApiQuery, PageOut, PageQuery, request, time_param};
use crate::api::rfc3339;
use crate::api::workspaces::WsPath;
use crate::error::{ApiError, Validation};
use crate::extract::Authorized;
use crate::extract::gate::AuditRead;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: String,
    /// Position in the workspace's hash chain.
    pub seq: i64,
    /// user, api_key, operator, system or anonymous.
    pub actor_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// e.g. `member.role_changed`; the catalogue is in docs/audit.md.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub metadata: serde_json::Value,
    pub created_at: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(entry: AuditEntry) -> Self {
        AuditEntryOut {
            id: entry.id.to_string(),
            seq: entry.seq,
            actor_type: entry.actor_type,
            actor_id: entry.actor_id,
            action: entry.action,
            target_type: entry.target_type,
            target_id: entry.target_id,
            ip: entry.ip,
            user_agent: entry.user_agent,
            metadata: entry.metadata,
            created_at: rfc3339(entry.created_at),
            prev_hash: entry.prev_hash,
            hash: entry.hash,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// `user:usr_…`, `api_key:key_…`, or a bare actor type such as `system`.
    pub actor: Option<String>,
    /// An action name, e.g. `api_key.created`.
    pub action: Option<String>,
    /// A target type, e.g. `user`, `api_key`, `invitation`, `workspace`.
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// RFC 3339; entries at or after this time.
    pub since: Option<String>,
    /// RFC 3339; entries before this time.
    pub until: Option<String>,
}

/// Read the workspace's audit log, newest first.
#[utoipa::path(get, path = "/workspaces/{ws}/audit-log", tag = "audit", params(WsPath, AuditQuery, PageQuery),
    responses((status = 200, body = PageOut<AuditEntryOut>)),
    security(("user" = ["audit:read"]), ("api_key" = ["audit:read"])))]
async fn list_audit_log(
    State(state): State<AppState>,
    auth: Authorized<AuditRead>,
    ApiQuery(query): ApiQuery<AuditQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let page = audit_log_page(&state, &auth.scope, &query, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, AuditEntryOut::from)))
}

/// A page of the audit log narrowed by the query's filters (times in RFC 3339), for the API and
/// the audit page alike; a bad time is a validation error naming its parameter.
pub(crate) async fn audit_log_page(
    state: &AppState,
    scope: &TenantScope,
    query: &AuditQuery,
    page: PageRequest<'_>,
) -> Result<Page<AuditEntry>, ApiError> {
    let mut validation = Validation::default();
    let since_ms = time_param(&mut validation, "?since", query.since.as_deref());
    let until_ms = time_param(&mut validation, "?until", query.until.as_deref());
    validation.finish()?;
    let filter = AuditFilter {
        actor: query.actor.as_deref(),
        action: query.action.as_deref(),
        target_type: query.target_type.as_deref(),
        target_id: query.target_id.as_deref(),
        since_ms,
        until_ms,
    };
    Ok(state.store.audit_log(scope, &filter, page).await?)
}
