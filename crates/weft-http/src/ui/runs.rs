//! The runs list: filtered by status and workflow, paged, and kept current over server-sent
//! events while it is open on the newest page.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use weft_domain::{TenantScope, WorkflowId};
use weft_store::{PageRequest, Run, RunFilter, RunStatus, Workflow, WorkflowFilter};

use crate::api::page::{PageOut, PageQuery, request};
use crate::error::ApiError;
use crate::extract::gate::RunsRead;
use crate::state::AppState;
use crate::ui::session::{Page, Shell};
use crate::ui::text::{duration_text, utc_minute};
use crate::ui::{UiError, render};

/// How often the live list looks for changes.
const LIVE_POLL: Duration = Duration::from_secs(1);
/// Runs per page of the list.
const RUNS_PER_PAGE: u32 = 50;
/// Workflows read per store call when collecting a workspace's workflow names.
const WORKFLOWS_PER_READ: u32 = 200;

/// The runs pages: a page route, not API, so it is routed without the OpenAPI router.
#[allow(clippy::disallowed_methods)]
pub fn routes() -> Router<AppState> {
    Router::new().route("/w/{ws}/runs", get(runs_page)).route("/w/{ws}/runs/live", get(runs_live))
}

/// A status as people read it: `timed out` for `timed_out`.
pub(crate) fn status_label(status: RunStatus) -> String {
    status.as_str().replace('_', " ")
}

/// Every workflow of the workspace, by name, for the filter's options and the rows' names.
pub(crate) async fn workflows_of(state: &AppState, scope: &TenantScope) -> Result<Vec<Workflow>, UiError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = PageRequest { limit: WORKFLOWS_PER_READ, after: after.as_deref() };
        let page = state.store.workflows(scope, &WorkflowFilter::default(), page).await?;
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    all.sort_by_cached_key(|workflow| workflow.name.to_lowercase());
    Ok(all)
}

/// The list's query string: empty values mean "any".
#[derive(Debug, Default, Deserialize)]
struct RunsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    workflow: String,
    cursor: Option<String>,
}

/// The filters the query asks for, checked.
#[derive(Debug, Clone, Default)]
struct RunsFilter {
    status: Option<RunStatus>,
    workflow: Option<WorkflowId>,
}

impl RunsFilter {
    fn parse(query: &RunsQuery) -> Result<RunsFilter, UiError> {
        let status = Some(query.status.as_str())
            .filter(|raw| !raw.is_empty())
            .map(|raw| raw.parse::<RunStatus>().map_err(|_| ApiError::field("?status", "is not a run status")))
            .transpose()?;
        let workflow = Some(query.workflow.as_str())
            .filter(|raw| !raw.is_empty())
            .map(|raw| raw.parse::<WorkflowId>().map_err(|_| ApiError::field("?workflow", "is not a workflow id")))
            .transpose()?;
        Ok(RunsFilter { status, workflow })
    }

    fn store_filter(&self) -> RunFilter<'_> {
        RunFilter { workflow: self.workflow.as_ref(), status: self.status, since: None, until: None }
    }

    fn is_filtered(&self) -> bool {
        self.status.is_some() || self.workflow.is_some()
    }

    /// The query string for these filters, with `extra` pairs after them.
    fn query_string(&self, extra: &[(&str, &str)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(status) = self.status {
            query.append_pair("status", status.as_str());
        }
        if let Some(workflow) = &self.workflow {
            query.append_pair("workflow", workflow.as_str());
        }
        for (key, value) in extra {
            query.append_pair(key, value);
        }
        query.finish()
    }
}

fn parse_query<T: for<'de> Deserialize<'de> + Default>(raw: Option<String>) -> Result<T, UiError> {
    match raw {
        Some(raw) => {
            serde_urlencoded::from_str(&raw).map_err(|e| UiError::BadRequest(format!("the address is malformed: {e}")))
        }
        None => Ok(T::default()),
    }
}

/// One run as a row of the list.
pub(crate) struct RunRow {
    pub id: String,
    pub status: &'static str,
    pub status_label: String,
    pub workflow: String,
    pub trigger: String,
    pub started: String,
    pub duration: String,
}

impl RunRow {
    pub(crate) fn new(run: &Run, names: &HashMap<WorkflowId, String>) -> RunRow {
        let duration = match (run.started_at, run.finished_at) {
            (Some(start), Some(end)) => duration_text(end - start),
            (Some(_), None) => "in progress".to_owned(),
            (None, _) => "—".to_owned(),
        };
        RunRow {
            id: run.id.to_string(),
            status: run.status.as_str(),
            status_label: status_label(run.status),
            workflow: names.get(&run.workflow).cloned().unwrap_or_else(|| "Deleted workflow".to_owned()),
            trigger: run.trigger.clone(),
            started: run.started_at.map_or_else(|| format!("queued {}", utc_minute(run.created_at)), utc_minute),
            duration,
        }
    }
}

/// The list's body: the table, or what to do when it is empty. Also what the live stream sends.
#[derive(Template)]
#[template(path = "runs_rows.html")]
struct RunRows<'a> {
    slug: &'a str,
    rows: Vec<RunRow>,
    filtered: bool,
}

fn names_of(workflows: &[Workflow]) -> HashMap<WorkflowId, String> {
    workflows.iter().map(|workflow| (workflow.id.clone(), workflow.name.clone())).collect()
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    shell: Shell,
    section: &'static str,
    statuses: Vec<(&'static str, String)>,
    status: &'static str,
    workflows: Vec<(String, String)>,
    workflow: String,
    rows_html: String,
    /// The live stream's address, on the newest page only.
    live_url: Option<String>,
    next_url: Option<String>,
    newest_url: Option<String>,
}

async fn runs_page(
    State(state): State<AppState>,
    page: Page<RunsRead>,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let query: RunsQuery = parse_query(raw)?;
    let filter = RunsFilter::parse(&query)?;
    let (limit, after) = PageQuery { limit: Some(RUNS_PER_PAGE), cursor: query.cursor.clone() }.decode()?;
    let scope = &page.auth.scope;
    let runs = state.store.runs(scope, &filter.store_filter(), request(limit, &after)).await?;
    let runs = PageOut::from_page(runs, |run| run);
    let workflows = workflows_of(&state, scope).await?;
    let names = names_of(&workflows);
    let slug = page.shell.slug().to_owned();
    let base = format!("/w/{slug}/runs");
    let rows = RunRows {
        slug: &slug,
        rows: runs.items.iter().map(|run| RunRow::new(run, &names)).collect(),
        filtered: filter.is_filtered(),
    };
    let rows_html = rows.render()?;
    let on_newest = query.cursor.is_none();
    let view = RunsPage {
        section: "runs",
        statuses: RunStatus::ALL.into_iter().map(|status| (status.as_str(), status_label(status))).collect(),
        status: filter.status.map_or("", RunStatus::as_str),
        workflows: workflows.into_iter().map(|workflow| (workflow.id.to_string(), workflow.name)).collect(),
        workflow: filter.workflow.as_ref().map_or_else(String::new, |id| id.to_string()),
        rows_html,
        live_url: on_newest.then(|| format!("{base}/live?{}", filter.query_string(&[]))),
        next_url: runs.next_cursor.map(|cursor| format!("{base}?{}", filter.query_string(&[("cursor", &cursor)]))),
        newest_url: (!on_newest).then(|| format!("{base}?{}", filter.query_string(&[]))),
        shell: page.shell,
    };
    render(&view)
}

/// What the live stream remembers between looks.
struct LiveList {
    state: AppState,
    scope: TenantScope,
    slug: String,
    filter: RunsFilter,
    names: HashMap<WorkflowId, String>,
    sent: Option<String>,
}

impl LiveList {
    /// The newest page's rows as HTML; workflow names are read again when a run names one not seen.
    async fn render(&mut self) -> Result<String, UiError> {
        let page = PageRequest { limit: RUNS_PER_PAGE, after: None };
        let runs = self.state.store.runs(&self.scope, &self.filter.store_filter(), page).await?;
        if runs.items.iter().any(|run| !self.names.contains_key(&run.workflow)) {
            self.names = names_of(&workflows_of(&self.state, &self.scope).await?);
        }
        let rows = RunRows {
            slug: &self.slug,
            rows: runs.items.iter().map(|run| RunRow::new(run, &self.names)).collect(),
            filtered: self.filter.is_filtered(),
        };
        Ok(rows.render()?)
    }

    /// The next `html` event: waits until the rows differ from what was sent last.
    async fn next_change(mut self) -> Option<(Result<Event, Infallible>, LiveList)> {
        loop {
            if self.sent.is_some() {
                tokio::time::sleep(LIVE_POLL).await;
            }
            // The database is away or the workspace gone: end; the browser reconnects.
            let html = self.render().await.ok()?;
            if self.sent.as_ref() != Some(&html) {
                let event = Event::default().event("html").data(&html);
                self.sent = Some(html);
                return Some((Ok(event), self));
            }
        }
    }
}

/// The newest page's rows for the same filters as the page, sent as an `html` event whenever
/// they change.
async fn runs_live(
    State(state): State<AppState>,
    page: Page<RunsRead>,
    RawQuery(raw): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let query: RunsQuery = parse_query(raw)?;
    let filter = RunsFilter::parse(&query)?;
    let live = LiveList {
        state,
        scope: page.auth.scope,
        slug: page.shell.slug().to_owned(),
        filter,
        names: HashMap::new(),
        sent: None,
    };
    Ok(Sse::new(stream::unfold(live, LiveList::next_change)).keep_alive(KeepAlive::default()))
}
