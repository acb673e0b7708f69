//! The run page: status, the graph coloured by step state, the attachments to download, the
//! timeline of steps with their input, output, logs and errors, retry and cancel. While the run
//! is not finished, the status and timeline are a live region fed by server-sent events of
//! re-rendered HTML.

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use weft_domain::TenantScope;
use weft_store::{Run, RunStatus, Step, StepStatus, StoreError};

use crate::api::attachments::{Attachment, attachments_of, download};
use crate::api::runs::retry;
use crate::error::ApiError;
use crate::extract::gate::{RunsRead, RunsWrite};
use crate::state::AppState;
use crate::ui::session::{CsrfForm, Flash, NoFields, Page, Shell, redirect_with};
use crate::ui::text::{duration_text, size_text, utc_minute};
use crate::ui::{UiError, graph, render};

/// How often the live region looks for changes.
const LIVE_POLL: Duration = Duration::from_millis(250);

/// The run page's routes.
#[allow(clippy::disallowed_methods)] // pages are not API endpoints and stay out of the OpenAPI document
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/runs/{run}", get(run_page))
        .route("/w/{ws}/runs/{run}/live", get(live))
        .route("/w/{ws}/runs/{run}/retry", post(retry_run))
        .route("/w/{ws}/runs/{run}/cancel", post(cancel_run))
        .route("/w/{ws}/runs/{run}/attachments/{name}", get(download_attachment))
}

fn pretty_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// What failed: the node (for a run's error) and the message, else the error as JSON.
struct ErrorView {
    node: Option<String>,
    message: String,
    kind: Option<String>,
}

impl ErrorView {
    fn of(error: &serde_json::Value) -> ErrorView {
        let text = |key: &str| error.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
        ErrorView {
            node: text("node"),
            message: text("message").unwrap_or_else(|| pretty_json(error)),
            kind: text("kind"),
        }
    }
}

struct StepView {
    node: String,
    status: &'static str,
    attempt: i64,
    started: String,
    duration: Option<String>,
    input: Option<String>,
    output: Option<String>,
    error: Option<ErrorView>,
    logs: Vec<String>,
}

impl From<&Step> for StepView {
    fn from(step: &Step) -> Self {
        let logs = match &step.logs {
            Some(serde_json::Value::Array(lines)) => {
                lines.iter().map(|line| line.as_str().map_or_else(|| line.to_string(), str::to_owned)).collect()
            }
            Some(other) => vec![other.to_string()],
            None => Vec::new(),
        };
        StepView {
            node: step.node.clone(),
            status: step.status.as_str(),
            attempt: step.attempt,
            started: utc_minute(step.started_at),
            duration: step.finished_at.map(|end| duration_text(end - step.started_at)),
            input: step.input.as_ref().map(pretty_json),
            output: step.output.as_ref().map(pretty_json),
            error: step.error.as_ref().map(ErrorView::of),
            logs,
        }
    }
}

/// An attachment as the page lists it.
struct AttachmentView {
    name: String,
    label: String,
    mime_type: String,
    size: String,
    node: String,
}

impl From<Attachment> for AttachmentView {
    fn from(attachment: Attachment) -> Self {
        AttachmentView {
            label: attachment.file_name().to_owned(),
            name: attachment.name,
            mime_type: attachment.reference.mime_type,
            size: size_text(attachment.reference.size),
            node: attachment.node,
        }
    }
}

/// The part of the page that changes while the run goes on.
#[derive(Template)]
#[template(path = "run_live.html")]
struct LiveFragment {
    csrf: String,
    slug: String,
    can_write: bool,
    run: Run,
    status: &'static str,
    finished: bool,
    started: Option<String>,
    finished_at: Option<String>,
    duration: Option<String>,
    error: Option<ErrorView>,
    output: Option<String>,
    graph: String,
    attachments: Vec<AttachmentView>,
    steps: Vec<StepView>,
}

/// What the live region last showed: the run's state and each step's.
type Fingerprint = (&'static str, bool, Vec<(String, &'static str)>);

fn fingerprint(run: &Run, steps: &[Step]) -> Fingerprint {
    let steps = steps.iter().map(|step| (step.id.to_string(), step.status.as_str())).collect();
    (run.status.as_str(), run.cancel_requested, steps)
}

/// The run's definition, parsed, for the graph; `None` if its version is gone.
async fn definition_of(
    state: &AppState,
    scope: &TenantScope,
    run: &Run,
) -> Result<Option<weft_engine::WorkflowDef>, UiError> {
    match state.store.workflow_version(scope, &run.workflow, run.version).await {
        Ok(version) => Ok(weft_engine::parse(&version.definition).ok()),
        Err(StoreError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

fn fragment(shell: &Shell, run: Run, steps: &[Step], definition: Option<&weft_engine::WorkflowDef>) -> LiveFragment {
    fragment_for(&shell.csrf, shell.slug(), shell.can("runs:write"), run, steps, definition)
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    shell: Shell,
    section: &'static str,
    run: Run,
    workflow_name: Option<String>,
    created: String,
    input: String,
    live: bool,
    fragment: String,
}

async fn run_page(State(state): State<AppState>, page: Page<RunsRead, Run>) -> Result<Response, UiError> {
    let scope = &page.auth.scope;
    let run = page.auth.resource;
    let workflow_name = match state.store.workflow(scope, &run.workflow).await {
        Ok(workflow) => Some(workflow.name),
        Err(StoreError::NotFound) => None,
        Err(other) => return Err(other.into()),
    };
    let steps = state.store.recorded_steps(scope, &run.id).await?;
    let definition = definition_of(&state, scope, &run).await?;
    let fragment = fragment(&page.shell, run.clone(), &steps, definition.as_ref()).render()?;
    let page = RunPage {
        shell: page.shell,
        section: "runs",
        created: utc_minute(run.created_at),
        input: pretty_json(&run.input),
        live: run.finished_at.is_none(),
        workflow_name,
        fragment,
        run,
    };
    render(&page)
}

/// The live region's feed: `html` with the re-rendered fragment whenever the run or one of its
/// steps changed state, then `done` once the run has finished.
async fn live(State(state): State<AppState>, page: Page<RunsRead, Run>) -> Result<Response, UiError> {
    let definition = definition_of(&state, &page.auth.scope, &page.auth.resource).await?;
    let (scope, id, shell) = (page.auth.scope, page.auth.resource.id, page.shell);
    let watch = (None::<Fingerprint>, true, false);
    let events = stream::unfold(watch, move |(shown, first, done)| {
        let (state, scope, id, definition) = (state.clone(), scope.clone(), id.clone(), definition.clone());
        let (csrf, slug, can_write) = (shell.csrf.clone(), shell.slug().to_owned(), shell.can("runs:write"));
        async move {
            if done {
                return None;
            }
            if !first {
                tokio::time::sleep(LIVE_POLL).await;
            }
            // Deleted meanwhile, or the database is away: end the stream; the browser reconnects.
            let run = state.store.run(&scope, &id).await.ok()?;
            let steps = state.store.recorded_steps(&scope, &id).await.ok()?;
            let finished = run.finished_at.is_some();
            let now = fingerprint(&run, &steps);
            let mut events = Vec::new();
            if shown.as_ref() != Some(&now)
                && let Ok(html) = fragment_for(&csrf, &slug, can_write, run, &steps, definition.as_ref()).render()
            {
                events.push(Event::default().event("html").data(html));
            }
            if finished {
                events.push(Event::default().event("done").data("finished"));
            }
            Some((
                stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>)),
                (Some(now), false, finished),
            ))
        }
    })
    .flatten();
    Ok(Sse::new(events).keep_alive(KeepAlive::default()).into_response())
}

/// The live fragment from the parts of the shell it needs, for the event stream that outlives
/// the request.
fn fragment_for(
    csrf: &str,
    slug: &str,
    can_write: bool,
    run: Run,
    steps: &[Step],
    definition: Option<&weft_engine::WorkflowDef>,
) -> LiveFragment {
    let states: HashMap<String, StepStatus> = steps.iter().map(|step| (step.node.clone(), step.status)).collect();
    let graph = definition.map(|definition| graph::render(definition, Some(&states))).unwrap_or_default();
    LiveFragment {
        csrf: csrf.to_owned(),
        slug: slug.to_owned(),
        can_write,
        status: run.status.as_str(),
        finished: run.finished_at.is_some(),
        started: run.started_at.map(utc_minute),
        finished_at: run.finished_at.map(utc_minute),
        duration: run.started_at.zip(run.finished_at).map(|(start, end)| duration_text(end - start)),
        error: run.error.as_ref().map(ErrorView::of),
        output: run.output.as_ref().map(pretty_json),
        graph,
        attachments: attachments_of(&run.id, steps).into_iter().map(AttachmentView::from).collect(),
        steps: steps.iter().map(StepView::from).collect(),
        run,
    }
}

/// An attachment's bytes, as the API serves them, for the signed-in browser.
async fn download_attachment(
    State(state): State<AppState>,
    page: Page<RunsRead, Run>,
    Path((_, _, name)): Path<(String, String, String)>,
) -> Result<Response, UiError> {
    Ok(download(&state, &page.auth.scope, &page.auth.resource.id, &name).await?)
}

#[derive(Deserialize)]
pub struct RetryForm {
    from: Option<String>,
}

async fn retry_run(
    State(state): State<AppState>,
    page: Page<RunsWrite, Run>,
    CsrfForm(form): CsrfForm<RetryForm>,
) -> Result<Response, UiError> {
    let slug = page.shell.slug();
    let (to, flash) = match retry(&state, &page.auth.scope, &page.auth.resource, form.from.as_deref()).await {
        Ok(retried) => (format!("/w/{slug}/runs/{}", retried.id), Flash::success("Retry started.")),
        Err(ApiError::Conflict(reason)) => (format!("/w/{slug}/runs/{}", page.auth.resource.id), Flash::error(reason)),
        Err(ApiError::Validation(_)) => (
            format!("/w/{slug}/runs/{}", page.auth.resource.id),
            Flash::error("Choose to retry from the failed step or from the start."),
        ),
        Err(other) => return Err(other.into()),
    };
    Ok(redirect_with(&state, &to, flash))
}

async fn cancel_run(
    State(state): State<AppState>,
    page: Page<RunsWrite, Run>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    // The store returns a finished run as it is; say so rather than claim a cancel.
    let flash = if page.auth.resource.finished_at.is_some() {
        Flash::error("This run has already finished.")
    } else {
        match state.store.request_cancel(&page.auth.scope, &page.auth.resource.id).await?.status {
            RunStatus::Running => {
                Flash::success("Cancel requested: the run stops at once, or after the node in flight.")
            }
            _ => Flash::success("Run cancelled."),
        }
    };
    let to = format!("/w/{}/runs/{}", page.shell.slug(), page.auth.resource.id);
    Ok(redirect_with(&state, &to, flash))
}
