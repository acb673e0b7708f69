//! A workflow's schedules: what its published version's schedule triggers are and when each
//! fires next.

use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_engine::trigger_params::{CatchUp, ScheduleTriggerParams};
use weft_store::{ScheduleEntry, Workflow};

use crate::api::rfc3339;
use crate::api::workflows::WfPath;
use crate::api::workspaces::WsPath;
use crate::error::ApiError;
use crate::extract::Authorized;
use crate::extract::gate::WorkflowsRead;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_schedules))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleOut {
    pub id: String,
    /// The `schedule_trigger` node.
    pub node: String,
    /// The cron expression, for a cron schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// Seconds between firings, for an interval schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<u64>,
    /// The IANA time zone cron fields are read in.
    pub timezone: String,
    /// skip, one or all.
    pub catch_up: String,
    /// The next firing; absent for a moment after publishing, until a scheduler has seen it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_fire_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SchedulesOut {
    pub items: Vec<ScheduleOut>,
}

impl ScheduleOut {
    fn new(entry: ScheduleEntry) -> Result<ScheduleOut, ApiError> {
        // Published params passed validation; a row that does not decode is corrupt data.
        let params: ScheduleTriggerParams = serde_json::from_value(entry.params).map_err(ApiError::internal)?;
        let catch_up = match params.catch_up {
            CatchUp::Skip => "skip",
            CatchUp::One => "one",
            CatchUp::All => "all",
        };
        Ok(ScheduleOut {
            id: entry.id.to_string(),
            node: entry.node,
            cron: params.cron,
            interval_secs: params.interval_secs,
            timezone: params.timezone,
            catch_up: catch_up.to_owned(),
            next_fire_at: entry.next_fire_at.map(rfc3339),
        })
    }
}

/// List the schedules of the workflow's published version, by node.
#[utoipa::path(get, path = "/workspaces/{ws}/workflows/{wf}/schedules", tag = "workflows", params(WsPath, WfPath),
    responses((status = 200, body = SchedulesOut)),
    security(("user" = ["workflows:read"]), ("api_key" = ["workflows:read"])))]
async fn list_schedules(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsRead, Workflow>,
) -> Result<impl IntoResponse, ApiError> {
    let entries = state.store.schedules(&auth.scope, &auth.resource.id).await?;
    let items = entries.into_iter().map(ScheduleOut::new).collect::<Result<Vec<_>, _>>()?;
    Ok(axum::Json(SchedulesOut { items }))
}
