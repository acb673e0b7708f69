//! Workflow pages: the list with search and tag filter, creating one (blank or from pasted
//! JSON in the export format), the editor (details, the definition as JSON saved as a new
//! version with its problems by pointer, the graph, webhook URLs, a "Run" form and a node-type
//! reference), and the versions with publish, roll back and unpublish.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use weft_domain::TenantScope;
use weft_store::{Workflow, WorkflowFilter, WorkflowVersion};

use crate::api::n8n::{ImportedWorkflowOut, import_n8n};
use crate::api::page::{PageOut, PageQuery, request};
use crate::api::runs::start_manual_run;
use crate::api::workflows::{
    DefinitionIn, ExportFormat, WebhookOut, WorkflowIn, WorkflowPatchIn, edit_metadata, export_file, new_workflow,
    problems_of, publish_version, webhook_urls,
};
use crate::error::{ApiError, FieldError};
use crate::extract::gate::{WorkflowsRead, WorkflowsWrite};
use crate::json::parse_body;
use crate::state::AppState;
use crate::ui::forms::FormErrors;
use crate::ui::session::{CsrfForm, Flash, NoFields, Page, Shell, redirect_with};
use crate::ui::text::utc_minute;
use crate::ui::{UiError, graph, render, render_with};

/// Workflows and versions per page.
const PAGE_SIZE: u32 = 25;

/// The workflow pages' routes.
#[allow(clippy::disallowed_methods)] // pages are not API endpoints and stay out of the OpenAPI document
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/workflows", get(list))
        .route("/w/{ws}/workflows/new", get(new_page).post(create))
        .route("/w/{ws}/workflows/{wf}", get(editor))
        .route("/w/{ws}/workflows/{wf}/details", post(save_details))
        .route("/w/{ws}/workflows/{wf}/export", get(export))
        .route("/w/{ws}/workflows/{wf}/versions", get(versions).post(save_version))
        .route("/w/{ws}/workflows/{wf}/versions/{n}", get(version))
        .route("/w/{ws}/workflows/{wf}/publish", post(publish))
        .route("/w/{ws}/workflows/{wf}/unpublish", post(unpublish))
        .route("/w/{ws}/workflows/{wf}/delete", post(delete))
        .route("/w/{ws}/workflows/{wf}/runs", post(run))
}

/// A form value for a query string or path segment.
fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// ----- the list -----

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    cursor: Option<String>,
}

struct WorkflowRow {
    workflow: Workflow,
    updated: String,
}

#[derive(Template)]
#[template(path = "workflow_list.html")]
struct ListPage {
    shell: Shell,
    section: &'static str,
    q: String,
    tag: String,
    rows: Vec<WorkflowRow>,
    next_page: Option<String>,
}

impl ListPage {
    fn filtered(&self) -> bool {
        !self.q.is_empty() || !self.tag.is_empty()
    }
}

async fn list(
    State(state): State<AppState>,
    page: Page<WorkflowsRead>,
    Query(query): Query<ListQuery>,
) -> Result<Response, UiError> {
    let (limit, after) = PageQuery { limit: Some(PAGE_SIZE), cursor: query.cursor }.decode()?;
    let q = query.q.trim().to_owned();
    let tag = query.tag.trim().to_lowercase();
    let filter = WorkflowFilter {
        name: Some(q.as_str()).filter(|q| !q.is_empty()),
        tag: Some(tag.as_str()).filter(|t| !t.is_empty()),
    };
    let found = state.store.workflows(&page.auth.scope, &filter, request(limit, &after)).await?;
    let found =
        PageOut::from_page(found, |workflow| WorkflowRow { updated: utc_minute(workflow.updated_at), workflow });
    let next_page = found.next_cursor.map(|cursor| {
        format!("/w/{}/workflows?q={}&tag={}&cursor={cursor}", page.shell.slug(), encode(&q), encode(&tag))
    });
    render(&ListPage { shell: page.shell, section: "workflows", q, tag, rows: found.items, next_page })
}

// ----- creating -----

#[derive(Template)]
#[template(path = "workflow_new.html")]
struct NewPage {
    shell: Shell,
    section: &'static str,
    name: String,
    json: String,
    errors: FormErrors,
    problems: Vec<Problem>,
}

async fn new_page(page: Page<WorkflowsWrite>) -> Result<Response, UiError> {
    let page = NewPage {
        shell: page.shell,
        section: "workflows",
        name: String::new(),
        json: String::new(),
        errors: FormErrors::default(),
        problems: Vec::new(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct NewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    json: String,
}

/// What the form asks to create.
enum Pasted {
    /// Weft's export format (or nothing, for a blank workflow).
    Weft(WorkflowIn),
    /// n8n exports: one, or an array.
    N8n(serde_json::Value),
}

/// Whether pasted JSON is n8n's rather than Weft's: an array (Weft's export is one object),
/// nodes with a `typeVersion` or a dotted type (`n8n-nodes-base.set`), or `connections` that is
/// an object keyed by node name.
fn is_n8n(value: &serde_json::Value) -> bool {
    let n8n_node = |node: &serde_json::Value| {
        node.get("typeVersion").is_some() || node.get("type").and_then(|t| t.as_str()).is_some_and(|t| t.contains('.'))
    };
    match value {
        serde_json::Value::Array(_) => true,
        serde_json::Value::Object(members) => {
            members.get("connections").is_some_and(serde_json::Value::is_object)
                || members
                    .get("nodes")
                    .and_then(|nodes| nodes.as_array())
                    .is_some_and(|nodes| nodes.iter().any(n8n_node))
        }
        _ => false,
    }
}

/// The pasted JSON (or nothing, for a blank workflow) in its format, its name replaced by the
/// name field when that is filled in.
fn create_body(form: &NewForm) -> Result<Pasted, ApiError> {
    let mut body = if form.json.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str::<serde_json::Value>(&form.json).map_err(|e| ApiError::MalformedJson(e.to_string()))?
    };
    let name = form.name.trim();
    if is_n8n(&body) {
        if let Some(object) = body.as_object_mut().filter(|_| !name.is_empty()) {
            object.insert("name".to_owned(), serde_json::Value::String(name.to_owned()));
        }
        return Ok(Pasted::N8n(body));
    }
    let Some(object) = body.as_object_mut() else {
        return Err(ApiError::MalformedJson("the JSON must be an object, as an export is".to_owned()));
    };
    if !name.is_empty() {
        object.insert("name".to_owned(), serde_json::Value::String(name.to_owned()));
    }
    let bytes = serde_json::to_vec(&body).map_err(ApiError::internal)?;
    parse_body(&bytes).map(Pasted::Weft)
}

/// The most unsupported node types a flash names.
const FLASH_TYPES_MAX: usize = 5;

/// Where to go after an n8n import, and what to say: the editor of a single workflow, with the
/// node types left to replace; the list after several.
fn imported_n8n(slug: &str, items: &[ImportedWorkflowOut]) -> (String, Flash) {
    let mut unsupported: Vec<String> = Vec::new();
    for item in items {
        for node in item.report["unsupported"].as_array().into_iter().flatten() {
            let n8n_type = node["n8n_type"].as_str().unwrap_or_default();
            let described = format!("{n8n_type} v{}", node["type_version"]);
            if !unsupported.contains(&described) {
                unsupported.push(described);
            }
        }
    }
    let left = if unsupported.is_empty() {
        String::new()
    } else {
        let more = unsupported.len().saturating_sub(FLASH_TYPES_MAX);
        let mut named = unsupported.into_iter().take(FLASH_TYPES_MAX).collect::<Vec<_>>().join(", ");
        if more > 0 {
            named.push_str(&format!(" and {more} more"));
        }
        format!(" Unsupported n8n nodes to replace before publishing: {named}.")
    };
    match items {
        [item] => (
            format!("/w/{slug}/workflows/{}", item.id),
            Flash::success(format!("Workflow “{}” imported from n8n as a draft.{left}", item.name)),
        ),
        _ => (
            format!("/w/{slug}/workflows"),
            Flash::success(format!("{} workflows imported from n8n as drafts.{left}", items.len())),
        ),
    }
}

async fn create(
    State(state): State<AppState>,
    page: Page<WorkflowsWrite>,
    CsrfForm(form): CsrfForm<NewForm>,
) -> Result<Response, UiError> {
    let (scope, origin) = (&page.auth.scope, &page.auth.origin);
    let created = match create_body(&form) {
        Ok(Pasted::Weft(body)) => new_workflow(&state, scope, origin, body).await.map(|(workflow, _)| {
            let to = format!("/w/{}/workflows/{}", page.shell.slug(), workflow.id);
            (to, Flash::success(format!("Workflow “{}” created.", workflow.name)))
        }),
        Ok(Pasted::N8n(exports)) => import_n8n(&state.store, scope, origin, &exports, "")
            .await
            .map(|items| imported_n8n(page.shell.slug(), &items)),
        Err(error) => Err(error),
    };
    match created {
        Ok((to, flash)) => Ok(redirect_with(&state, &to, flash)),
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            let (json, problems) = reshown_json(&form.json, &errors, &["/name"]);
            let page = NewPage { shell: page.shell, section: "workflows", name: form.name, json, errors, problems };
            render_with(status, &page)
        }
    }
}

// ----- problems located in the JSON -----

/// A validation problem: where (a JSON pointer, and the line of the shown JSON when known) and
/// what.
pub(crate) struct Problem {
    pub pointer: String,
    pub detail: String,
    pub line: Option<usize>,
}

/// Problems with the line each pointer is on in `lines`, from [`pretty`].
fn located(problems: impl IntoIterator<Item = (String, String)>, lines: &HashMap<String, usize>) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|(pointer, detail)| {
            // A missing member is reported at its own pointer: show its parent's line.
            let line = lines.get(&pointer).copied().or_else(|| {
                let parent = pointer.rsplit_once('/').map_or("", |(parent, _)| parent);
                lines.get(parent).copied()
            });
            Problem { pointer, detail, line }
        })
        .collect()
}

/// Submitted JSON shown again: pretty-printed when it parses, so each problem can name its
/// line; as typed otherwise. `skip` lists pointers shown by their own fields.
fn reshown_json(text: &str, errors: &FormErrors, skip: &[&str]) -> (String, Vec<Problem>) {
    let fields = errors.fields().iter().filter(|(pointer, _)| !skip.contains(&pointer.as_str())).cloned();
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => {
            let (pretty, lines) = pretty(&value);
            (pretty, located(fields, &lines))
        }
        Err(_) => (text.to_owned(), located(fields, &HashMap::new())),
    }
}

/// JSON laid out as `serde_json::to_string_pretty` does, with the line (from 1) each value
/// starts on, by JSON pointer.
pub(crate) fn pretty(value: &serde_json::Value) -> (String, HashMap<String, usize>) {
    fn write(
        value: &serde_json::Value,
        pointer: &str,
        indent: usize,
        out: &mut String,
        lines: &mut HashMap<String, usize>,
    ) {
        lines.insert(pointer.to_owned(), out.matches('\n').count() + 1);
        let pad = "  ".repeat(indent + 1);
        match value {
            serde_json::Value::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (index, item) in items.iter().enumerate() {
                    out.push_str(&pad);
                    write(item, &format!("{pointer}/{index}"), indent + 1, out, lines);
                    out.push_str(if index + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
            serde_json::Value::Object(members) if !members.is_empty() => {
                out.push_str("{\n");
                for (index, (key, member)) in members.iter().enumerate() {
                    out.push_str(&pad);
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push_str(": ");
                    let token = key.replace('~', "~0").replace('/', "~1");
                    write(member, &format!("{pointer}/{token}"), indent + 1, out, lines);
                    out.push_str(if index + 1 < members.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    let mut lines = HashMap::new();
    write(value, "", 0, &mut out, &mut lines);
    (out, lines)
}

// ----- the editor -----

/// A node type for the reference panel.
struct NodeType {
    name: &'static str,
    summary: &'static str,
    params: &'static [(&'static str, &'static str)],
    outputs: String,
}

fn node_types() -> Vec<NodeType> {
    weft_engine::NodeKind::ALL
        .into_iter()
        .map(|kind| NodeType {
            name: kind.type_name(),
            summary: kind.summary(),
            params: kind.params_reference(),
            outputs: kind.outputs(&serde_json::Map::new()).join(", "),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "workflow_edit.html")]
struct EditorPage {
    shell: Shell,
    section: &'static str,
    workflow: Workflow,
    graph: String,
    /// The definition in the text area, and the errors of the last attempt to save it.
    definition: String,
    definition_errors: FormErrors,
    /// Problems by pointer: those of the refused text, else the latest version's.
    problems: Vec<Problem>,
    problems_saved: bool,
    name: String,
    description: String,
    tags: String,
    details_errors: FormErrors,
    run_input: String,
    /// Whether `run_input` is the trigger's pinned sample data.
    run_input_pinned: bool,
    run_versions: Vec<VersionChoice>,
    run_errors: FormErrors,
    webhooks: Vec<WebhookOut>,
    node_types: Vec<NodeType>,
}

/// A version in the Run form's list.
struct VersionChoice {
    number: i64,
    label: String,
    selected: bool,
}

/// Newest first, the published one (else the latest) chosen unless the form chose another.
fn version_choices(workflow: &Workflow, chosen: Option<i64>) -> Vec<VersionChoice> {
    let chosen = chosen.or(workflow.published_version).unwrap_or(workflow.latest_version);
    (1..=workflow.latest_version)
        .rev()
        .map(|number| {
            let mut label = format!("Version {number}");
            if Some(number) == workflow.published_version {
                label.push_str(" (published)");
            }
            if number == workflow.latest_version {
                label.push_str(" (latest)");
            }
            VersionChoice { number, label, selected: number == chosen }
        })
        .collect()
}

/// What a refused form on the editor brings back to it.
#[derive(Default)]
struct Refused {
    definition: Option<(String, FormErrors)>,
    details: Option<(DetailsForm, FormErrors)>,
    run: Option<(RunForm, FormErrors)>,
}

/// The definition as shown for editing: `{nodes, connections, settings?}`.
fn stored_definition_value(version: &WorkflowVersion) -> serde_json::Value {
    let mut value = serde_json::json!({
        "nodes": version.definition.get("nodes").cloned().unwrap_or_else(|| serde_json::json!([])),
        "connections": version.definition.get("connections").cloned().unwrap_or_else(|| serde_json::json!([])),
    });
    if let Some(settings) = version.definition.get("settings") {
        value["settings"] = settings.clone();
    }
    value
}

/// The sample items pinned on the trigger a manual run starts at (an imported n8n workflow's
/// `pinData`), as the Run form's input: what the workflow was built and tested with.
fn pinned_trigger_items(definition: &serde_json::Value) -> Option<String> {
    let parsed = weft_engine::parse(definition).ok()?;
    let trigger =
        parsed.nodes.iter().find(|node| node.node_type == weft_engine::NodeKind::ManualTrigger.type_name())?;
    let items = parsed.settings.pin_data.get(&trigger.name)?;
    let items: Vec<serde_json::Value> =
        items.iter().map(|item| item.get("json").cloned().unwrap_or_else(|| serde_json::json!({}))).collect();
    serde_json::to_string_pretty(&items).ok()
}

/// The graph of a stored definition (stored definitions always parse; an empty picture if not).
fn graph_of(definition: &serde_json::Value, states: Option<&HashMap<String, weft_store::StepStatus>>) -> String {
    weft_engine::parse(definition).map(|parsed| graph::render(&parsed, states)).unwrap_or_default()
}

async fn editor_page(
    state: &AppState,
    shell: Shell,
    scope: &TenantScope,
    workflow: Workflow,
    refused: Refused,
) -> Result<EditorPage, UiError> {
    let latest = state.store.workflow_version(scope, &workflow.id, workflow.latest_version).await?;
    let webhooks = webhook_urls(state, scope, &workflow).await?;
    let graph = graph_of(&latest.definition, None);
    let (definition, definition_errors, problems, problems_saved) = match refused.definition {
        Some((text, errors)) => {
            let (text, problems) = reshown_json(&text, &errors, &[]);
            (text, errors, problems, false)
        }
        None => {
            let (text, lines) = pretty(&stored_definition_value(&latest));
            let problems =
                problems_of(&latest.definition).into_iter().map(|FieldError { pointer, detail }| (pointer, detail));
            (text, FormErrors::default(), located(problems, &lines), true)
        }
    };
    let (details, details_errors) = refused.details.unwrap_or_else(|| {
        let form = DetailsForm {
            name: workflow.name.clone(),
            description: workflow.description.clone(),
            tags: workflow.tags.join(", "),
        };
        (form, FormErrors::default())
    });
    let pinned = pinned_trigger_items(&latest.definition);
    let run_input_pinned = refused.run.is_none() && pinned.is_some();
    let (run, run_errors) = refused.run.unwrap_or_else(|| {
        let input = pinned.unwrap_or_else(|| "{}".to_owned());
        (RunForm { input, version: None }, FormErrors::default())
    });
    Ok(EditorPage {
        shell,
        section: "workflows",
        graph,
        definition,
        definition_errors,
        problems,
        problems_saved,
        name: details.name,
        description: details.description,
        tags: details.tags,
        details_errors,
        run_input: run.input,
        run_input_pinned,
        run_versions: version_choices(&workflow, run.version),
        run_errors,
        webhooks,
        node_types: node_types(),
        workflow,
    })
}

async fn editor(State(state): State<AppState>, page: Page<WorkflowsRead, Workflow>) -> Result<Response, UiError> {
    render(&editor_page(&state, page.shell, &page.auth.scope, page.auth.resource, Refused::default()).await?)
}

#[derive(Deserialize)]
pub struct ExportQuery {
    format: Option<ExportFormat>,
}

/// The latest version as a download, in Weft's format or (`?format=n8n`) n8n's.
async fn export(
    State(state): State<AppState>,
    page: Page<WorkflowsRead, Workflow>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, UiError> {
    let format = query.format.unwrap_or_default();
    Ok(export_file(&state, &page.auth.scope, page.auth.resource, None, format).await?)
}

/// The editor shown again with one form's errors, with the status the API would have given.
async fn refused_editor<G>(
    state: &AppState,
    page: Page<G, Workflow>,
    status: StatusCode,
    refused: Refused,
) -> Result<Response, UiError> {
    render_with(status, &editor_page(state, page.shell, &page.auth.scope, page.auth.resource, refused).await?)
}

#[derive(Deserialize)]
pub struct DefinitionForm {
    #[serde(default)]
    definition: String,
}

async fn save_version(
    State(state): State<AppState>,
    page: Page<WorkflowsWrite, Workflow>,
    CsrfForm(form): CsrfForm<DefinitionForm>,
) -> Result<Response, UiError> {
    let saved = match parse_body::<DefinitionIn>(form.definition.as_bytes()).and_then(DefinitionIn::into_stored) {
        Ok(definition) => state
            .store
            .save_workflow_version(&page.auth.scope, &page.auth.origin, &page.auth.resource.id, &definition)
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match saved {
        Ok(version) => {
            let problems = problems_of(&version.definition).len();
            let message = match problems {
                0 => format!("Saved version {}. It can be published.", version.version),
                1 => format!("Saved version {} as a draft: 1 problem to fix before publishing.", version.version),
                n => format!("Saved version {} as a draft: {n} problems to fix before publishing.", version.version),
            };
            let to = format!("/w/{}/workflows/{}", page.shell.slug(), page.auth.resource.id);
            Ok(redirect_with(&state, &to, Flash::success(message)))
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            let refused = Refused { definition: Some((form.definition, errors)), ..Refused::default() };
            refused_editor(&state, page, status, refused).await
        }
    }
}

#[derive(Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// Comma-separated.
    #[serde(default)]
    tags: String,
}

async fn save_details(
    State(state): State<AppState>,
    page: Page<WorkflowsWrite, Workflow>,
    CsrfForm(form): CsrfForm<DetailsForm>,
) -> Result<Response, UiError> {
    let tags = form.tags.split(',').map(str::trim).filter(|tag| !tag.is_empty()).map(str::to_owned).collect();
    let patch = WorkflowPatchIn {
        name: Some(form.name.clone()),
        description: Some(form.description.clone()),
        tags: Some(tags),
    };
    match edit_metadata(&state, &page.auth.scope, &page.auth.origin, &page.auth.resource, patch).await {
        Ok(workflow) => {
            let to = format!("/w/{}/workflows/{}", page.shell.slug(), workflow.id);
            Ok(redirect_with(&state, &to, Flash::success("Details saved.")))
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            refused_editor(&state, page, status, Refused { details: Some((form, errors)), ..Refused::default() }).await
        }
    }
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    input: String,
    version: Option<i64>,
}

async fn run(
    State(state): State<AppState>,
    page: Page<crate::extract::gate::RunsWrite, Workflow>,
    CsrfForm(form): CsrfForm<RunForm>,
) -> Result<Response, UiError> {
    let input = if form.input.trim().is_empty() {
        Ok(None)
    } else {
        serde_json::from_str::<serde_json::Value>(&form.input)
            .map(Some)
            .map_err(|e| ApiError::field("/input", format!("is not valid JSON: {e}")))
    };
    let started = match input {
        Ok(input) => start_manual_run(&state, &page.auth.scope, &page.auth.resource, input, form.version).await,
        Err(error) => Err(error),
    };
    match started {
        Ok(run) => {
            let to = format!("/w/{}/runs/{}", page.shell.slug(), run.id);
            Ok(redirect_with(&state, &to, Flash::success("Run started.")))
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            refused_editor(&state, page, status, Refused { run: Some((form, errors)), ..Refused::default() }).await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    page: Page<WorkflowsWrite, Workflow>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    let workflow = &page.auth.resource;
    state.store.delete_workflow(&page.auth.scope, &page.auth.origin, &workflow.id).await?;
    let to = format!("/w/{}/workflows", page.shell.slug());
    Ok(redirect_with(&state, &to, Flash::success(format!("Workflow “{}” deleted.", workflow.name))))
}

// ----- versions -----

struct VersionRow {
    version: WorkflowVersion,
    created: String,
    problems: usize,
    published: bool,
    /// The publish button's label, when it can be published.
    action: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "workflow_versions.html")]
struct VersionsPage {
    shell: Shell,
    section: &'static str,
    workflow: Workflow,
    rows: Vec<VersionRow>,
    next_page: Option<String>,
}

#[derive(Deserialize)]
pub struct CursorQuery {
    cursor: Option<String>,
}

async fn versions(
    State(state): State<AppState>,
    page: Page<WorkflowsRead, Workflow>,
    Query(query): Query<CursorQuery>,
) -> Result<Response, UiError> {
    let (limit, after) = PageQuery { limit: Some(PAGE_SIZE), cursor: query.cursor }.decode()?;
    let workflow = page.auth.resource;
    let found = state.store.workflow_versions(&page.auth.scope, &workflow.id, request(limit, &after)).await?;
    let found = PageOut::from_page(found, |version| {
        let problems = problems_of(&version.definition).len();
        let published = Some(version.version) == workflow.published_version;
        let action = match workflow.published_version {
            _ if published || problems > 0 => None,
            Some(current) if current > version.version => Some("Roll back to this"),
            _ => Some("Publish"),
        };
        VersionRow { created: utc_minute(version.created_at), problems, published, action, version }
    });
    let next_page = found
        .next_cursor
        .map(|cursor| format!("/w/{}/workflows/{}/versions?cursor={cursor}", page.shell.slug(), workflow.id));
    render(&VersionsPage { shell: page.shell, section: "workflows", workflow, rows: found.items, next_page })
}

#[derive(Template)]
#[template(path = "workflow_version.html")]
struct VersionPage {
    shell: Shell,
    section: &'static str,
    workflow: Workflow,
    version: WorkflowVersion,
    created: String,
    published: bool,
    graph: String,
    definition: String,
    problems: Vec<Problem>,
}

async fn version(
    State(state): State<AppState>,
    page: Page<WorkflowsRead, Workflow>,
    Path((_, _, number)): Path<(String, String, String)>,
) -> Result<Response, UiError> {
    let number = number.parse::<i64>().ok().filter(|n| *n >= 1).ok_or(ApiError::NotFound)?;
    let workflow = page.auth.resource;
    let version = state.store.workflow_version(&page.auth.scope, &workflow.id, number).await?;
    let (definition, lines) = pretty(&stored_definition_value(&version));
    let problems = problems_of(&version.definition).into_iter().map(|FieldError { pointer, detail }| (pointer, detail));
    let page = VersionPage {
        shell: page.shell,
        section: "workflows",
        created: utc_minute(version.created_at),
        published: Some(version.version) == workflow.published_version,
        graph: graph_of(&version.definition, None),
        problems: located(problems, &lines),
        definition,
        workflow,
        version,
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct PublishForm {
    version: i64,
}

async fn publish(
    State(state): State<AppState>,
    page: Page<WorkflowsWrite, Workflow>,
    CsrfForm(form): CsrfForm<PublishForm>,
) -> Result<Response, UiError> {
    let workflow = &page.auth.resource;
    let base = format!("/w/{}/workflows/{}", page.shell.slug(), workflow.id);
    match publish_version(&state, &page.auth.scope, &page.auth.origin, workflow, form.version).await {
        Ok(_) => {
            let message = match workflow.published_version {
                Some(before) if before > form.version => format!("Rolled back to version {}.", form.version),
                _ => format!("Published version {}: its triggers are live.", form.version),
            };
            Ok(redirect_with(&state, &format!("{base}/versions"), Flash::success(message)))
        }
        Err(ApiError::Validation(problems)) => {
            let message = format!(
                "Version {} was not published: it has {} problem(s), listed below.",
                form.version,
                problems.len()
            );
            Ok(redirect_with(&state, &format!("{base}/versions/{}", form.version), Flash::error(message)))
        }
        Err(other) => Err(other.into()),
    }
}

async fn unpublish(
    State(state): State<AppState>,
    page: Page<WorkflowsWrite, Workflow>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    let workflow = state.store.unpublish_workflow(&page.auth.scope, &page.auth.origin, &page.auth.resource.id).await?;
    let to = format!("/w/{}/workflows/{}/versions", page.shell.slug(), workflow.id);
    Ok(redirect_with(&state, &to, Flash::success("Unpublished: webhooks, schedules and events start nothing now.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_matches_serde_and_knows_each_pointers_line() {
        // Members in alphabetical order, so the layout is the same with or without preserve_order.
        let value =
            serde_json::json!({"connections": [], "nodes": [{"name": "a/b", "params": {}}, {"list": [], "name": "c"}]});
        let (text, lines) = pretty(&value);
        assert_eq!(text, serde_json::to_string_pretty(&value).unwrap());
        assert_eq!(lines.get("/nodes/0/name"), Some(&5));
        assert_eq!(lines.get("/nodes/1"), Some(&8));
        let found = located([("/nodes/1/type".to_owned(), "is required".to_owned())], &lines);
        assert_eq!(found[0].line, Some(8), "a missing member points at its parent's line");
    }
}
