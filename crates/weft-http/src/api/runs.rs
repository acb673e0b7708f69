//! Runs: start one by hand, list and read them with their steps, cancel, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::TenantScope;
use weft_store::{NewRun, RetryFrom, Run, RunFilter, RunStatus, Step, StoreError, Workflow};

use crate::api::page::{ApiQuery, PageOut, PageQuery, page_of, request, time_param};
use crate::api::rfc3339;
use crate::api::workflows::{WfPath, problems_of};
use crate::api::workspaces::WsPath;
use crate::error::{ApiError, Validation};
use crate::extract::Authorized;
use crate::extract::gate::{RunsRead, RunsWrite};
use crate::json::ApiJson;
use crate::state::AppState;

/// What started a run started through this API.
pub const MANUAL_TRIGGER: &str = "manual";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_run))
        .routes(routes!(list_runs))
        .routes(routes!(get_run, delete_run))
        .routes(routes!(list_steps))
        .routes(routes!(cancel_run))
        .routes(routes!(retry_run))
        .routes(routes!(run_events))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunOut {
    pub id: String,
    pub workflow_id: String,
    pub version: i64,
    /// queued, running, waiting, succeeded, failed, cancelled or timed_out.
    pub status: String,
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// For a succeeded run: the items of each node that ended a branch, by node name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    /// For a failed run: the node and the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
    pub trigger: String,
    /// The run this one retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    /// The run whose `execute_workflow` node started this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_run_id: Option<String>,
    pub cancel_requested: bool,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Milliseconds from the first claim to the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

impl From<Run> for RunOut {
    fn from(run: Run) -> Self {
        RunOut {
            id: run.id.to_string(),
            workflow_id: run.workflow.to_string(),
            version: run.version,
            status: run.status.as_str().to_owned(),
            input: run.input,
            output: run.output,
            error: run.error,
            trigger: run.trigger,
            retry_of: run.retry_of.map(|id| id.to_string()),
            parent_run_id: run.parent.map(|id| id.to_string()),
            cancel_requested: run.cancel_requested,
            created_at: rfc3339(run.created_at),
            started_at: run.started_at.map(rfc3339),
            finished_at: run.finished_at.map(rfc3339),
            duration_ms: run.started_at.zip(run.finished_at).map(|(start, end)| end - start),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepOut {
    pub id: String,
    pub node: String,
    /// The activation: the node, and its loop iterations inside loop bodies.
    pub activation: String,
    pub attempt: i64,
    /// running, succeeded, failed or skipped.
    pub status: String,
    /// Items per input.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub input: Option<serde_json::Value>,
    /// Items per output.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
    /// Lines a `code` node logged with `console.log` and friends.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub logs: Option<serde_json::Value>,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

impl From<Step> for StepOut {
    fn from(step: Step) -> Self {
        StepOut {
            id: step.id.to_string(),
            node: step.node,
            activation: step.activation,
            attempt: step.attempt,
            status: step.status.as_str().to_owned(),
            input: step.input,
            output: step.output,
            error: step.error,
            logs: step.logs,
            started_at: rfc3339(step.started_at),
            finished_at: step.finished_at.map(rfc3339),
            duration_ms: step.finished_at.map(|end| end - step.started_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RunIn {
    /// The trigger's items: an object (one item) or an array of objects. Default: one empty item.
    #[schema(value_type = Option<Object>)]
    input: Option<serde_json::Value>,
    /// The version to run; default: the published one.
    version: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunStartedOut {
    pub run_id: String,
}

/// Start a run by hand. The run is queued and executes in the background; follow it with
/// `GET …/runs/{run}`.
#[utoipa::path(post, path = "/workspaces/{ws}/workflows/{wf}/runs", tag = "runs", params(WsPath, WfPath),
    request_body = RunIn, responses((status = 202, body = RunStartedOut),
        (status = 409, description = "No version is published and none was given", body = crate::Problem)),
    security(("user" = ["runs:write"]), ("api_key" = ["runs:write"])))]
async fn start_run(
    State(state): State<AppState>,
    auth: Authorized<RunsWrite, Workflow>,
    ApiJson(input): ApiJson<RunIn>,
) -> Result<impl IntoResponse, ApiError> {
    let run = start_manual_run(&state, &auth.scope, &auth.resource, input.input, input.version).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(RunStartedOut { run_id: run.id.to_string() })))
}

/// Queues a run started by hand with `input` items (default: one empty item) of `version`
/// (default: the published one), refusing a version with problems: the API's start and the
/// workflow page's "Run" form.
pub(crate) async fn start_manual_run(
    state: &AppState,
    scope: &TenantScope,
    workflow: &Workflow,
    input: Option<serde_json::Value>,
    version: Option<i64>,
) -> Result<Run, ApiError> {
    let items = input.unwrap_or_else(|| serde_json::json!({}));
    let shape_ok = items.is_object() || items.as_array().is_some_and(|all| all.iter().all(|item| item.is_object()));
    if !shape_ok {
        return Err(ApiError::field("/input", "must be an object or an array of objects"));
    }
    let version = version
        .or(workflow.published_version)
        .ok_or(ApiError::Conflict("no version of this workflow is published; publish one or pass `version`"))?;
    let stored = state.store.workflow_version(scope, &workflow.id, version).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::field("/version", "this workflow has no such version"),
        other => other.into(),
    })?;
    let problems = problems_of(&stored.definition);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let new = NewRun { workflow: &workflow.id, version, input: &items, trigger: MANUAL_TRIGGER, trigger_node: None };
    Ok(state.store.enqueue_run(scope, new).await?)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RunListQuery {
    /// Only runs of this workflow (`wf_…`).
    workflow: Option<String>,
    /// Only runs in this state.
    status: Option<String>,
    /// RFC 3339; runs created at or after.
    since: Option<String>,
    /// RFC 3339; runs created before.
    until: Option<String>,
}

/// List runs, newest first.
#[utoipa::path(get, path = "/workspaces/{ws}/runs", tag = "runs", params(WsPath, RunListQuery, PageQuery),
    responses((status = 200, body = PageOut<RunOut>)),
    security(("user" = ["runs:read"]), ("api_key" = ["runs:read"])))]
async fn list_runs(
    State(state): State<AppState>,
    auth: Authorized<RunsRead>,
    ApiQuery(query): ApiQuery<RunListQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let mut validation = Validation::default();
    let workflow = query.workflow.as_deref().and_then(|raw| validation.check("?workflow", raw.parse()));
    let status = query.status.as_deref().and_then(|raw| validation.check("?status", raw.parse::<RunStatus>()));
    let since = time_param(&mut validation, "?since", query.since.as_deref());
    let until = time_param(&mut validation, "?until", query.until.as_deref());
    validation.finish()?;
    let filter = RunFilter { workflow: workflow.as_ref(), status, since, until };
    let page = state.store.runs(&auth.scope, &filter, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, RunOut::from)))
}

/// The `{run}` path segment, declared for the spec; the `Authorized` extractor loads it.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RunPath {
    /// The run's id (`run_…`).
    pub run: String,
}

/// Read a run.
#[utoipa::path(get, path = "/workspaces/{ws}/runs/{run}", tag = "runs", params(WsPath, RunPath),
    responses((status = 200, body = RunOut)), security(("user" = ["runs:read"]), ("api_key" = ["runs:read"])))]
async fn get_run(auth: Authorized<RunsRead, Run>) -> impl IntoResponse {
    axum::Json(RunOut::from(auth.resource))
}

/// Every attempt of every node activation of a run, in the order they started.
#[utoipa::path(get, path = "/workspaces/{ws}/runs/{run}/steps", tag = "runs", params(WsPath, RunPath, PageQuery),
    responses((status = 200, body = PageOut<StepOut>)),
    security(("user" = ["runs:read"]), ("api_key" = ["runs:read"])))]
async fn list_steps(
    State(state): State<AppState>,
    auth: Authorized<RunsRead, Run>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let steps = state.store.recorded_steps(&auth.scope, &auth.resource.id).await?;
    let page = page_of(steps, limit, after.as_deref(), |step: &Step| step.id.to_string())?;
    Ok(axum::Json(PageOut::from_page(page, StepOut::from)))
}

/// Cancel a run. A queued or waiting run ends at once; a running one stops at once, interrupting the
/// node in flight where it can (a node that cannot be interrupted finishes first).
#[utoipa::path(post, path = "/workspaces/{ws}/runs/{run}/cancel", tag = "runs", params(WsPath, RunPath),
    responses((status = 200, body = RunOut)), security(("user" = ["runs:write"]), ("api_key" = ["runs:write"])))]
async fn cancel_run(
    State(state): State<AppState>,
    auth: Authorized<RunsWrite, Run>,
) -> Result<impl IntoResponse, ApiError> {
    let run = state.store.request_cancel(&auth.scope, &auth.resource.id).await?;
    Ok(axum::Json(RunOut::from(run)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RetryIn {
    /// `failed_step` (default): keep what succeeded and run again from where it failed;
    /// `start`: run everything again.
    #[serde(default)]
    from: Option<String>,
}

/// Retry a finished run as a new run of the same version with the same input.
#[utoipa::path(post, path = "/workspaces/{ws}/runs/{run}/retry", tag = "runs", params(WsPath, RunPath),
    request_body = RetryIn, responses((status = 202, body = RunStartedOut),
        (status = 409, description = "The run has not finished", body = crate::Problem)),
    security(("user" = ["runs:write"]), ("api_key" = ["runs:write"])))]
async fn retry_run(
    State(state): State<AppState>,
    auth: Authorized<RunsWrite, Run>,
    ApiJson(input): ApiJson<RetryIn>,
) -> Result<impl IntoResponse, ApiError> {
    let retry = retry(&state, &auth.scope, &auth.resource, input.from.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(RunStartedOut { run_id: retry.id.to_string() })))
}

/// Queues a retry of a finished run, `from` `failed_step` (the default) or `start`: the API's
/// retry and the run page's buttons.
pub(crate) async fn retry(
    state: &AppState,
    scope: &TenantScope,
    run: &Run,
    from: Option<&str>,
) -> Result<Run, ApiError> {
    let from = match from {
        None | Some("failed_step") => RetryFrom::FailedStep,
        Some("start") => RetryFrom::Start,
        Some(_) => return Err(ApiError::field("/from", "must be `failed_step` or `start`")),
    };
    Ok(state.store.retry_run(scope, &run.id, from).await?)
}

/// How often the event stream looks for changes.
const EVENTS_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// What the event stream has already told the client.
struct Told {
    status: Option<String>,
    steps: std::collections::HashMap<String, String>,
    done: bool,
}

/// Follow a run live: server-sent events `step` (a step started or changed state, with the step)
/// and `run` (the run changed state, with the run). The stream ends after the run finishes.
#[utoipa::path(get, path = "/workspaces/{ws}/runs/{run}/events", tag = "runs", params(WsPath, RunPath),
    responses((status = 200, description = "`text/event-stream` of `step` and `run` events", content_type = "text/event-stream")),
    security(("user" = ["runs:read"]), ("api_key" = ["runs:read"])))]
async fn run_events(State(state): State<AppState>, auth: Authorized<RunsRead, Run>) -> impl IntoResponse {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures_util::stream::{self, StreamExt};

    let (scope, run) = (auth.scope, auth.resource.id);
    let told = Told { status: None, steps: Default::default(), done: false };
    let events = stream::unfold((told, true), move |(mut told, first)| {
        let (state, scope, run) = (state.clone(), scope.clone(), run.clone());
        async move {
            if told.done {
                return None;
            }
            if !first {
                tokio::time::sleep(EVENTS_POLL).await;
            }
            let mut events = Vec::new();
            let (current, steps) =
                match (state.store.run(&scope, &run).await, state.store.recorded_steps(&scope, &run).await) {
                    (Ok(current), Ok(steps)) => (current, steps),
                    // Deleted meanwhile, or the database is away: end the stream; clients reconnect.
                    _ => return None,
                };
            for step in steps {
                let status = step.status.as_str().to_owned();
                if told.steps.get(step.id.as_str()) != Some(&status) {
                    told.steps.insert(step.id.to_string(), status);
                    events.push(Event::default().event("step").json_data(StepOut::from(step)));
                }
            }
            let status = current.status.as_str().to_owned();
            if told.status.as_ref() != Some(&status) {
                told.status = Some(status);
                told.done = current.finished_at.is_some();
                events.push(Event::default().event("run").json_data(RunOut::from(current)));
            }
            Some((stream::iter(events), (told, false)))
        }
    })
    .flatten();
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// Delete a finished run and its steps.
#[utoipa::path(delete, path = "/workspaces/{ws}/runs/{run}", tag = "runs", params(WsPath, RunPath),
    responses((status = 204, description = "Deleted"), (status = 409, description = "The run has not finished", body = crate::Problem)),
    security(("user" = ["runs:write"]), ("api_key" = ["runs:write"])))]
async fn delete_run(
    State(state): State<AppState>,
    auth: Authorized<RunsWrite, Run>,
) -> Result<impl IntoResponse, ApiError> {
    state.store.delete_run(&auth.scope, &auth.resource.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
