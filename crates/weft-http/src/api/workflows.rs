//! Workflows and their versions: create (the body is the export format), list with search and tag
//! filter, read, edit metadata, delete, save versions, publish or roll back, unpublish, clone,
//! export, and the webhook URLs of its triggers.
//!
//! A version may be saved while it still breaks validation rules (a draft); its `problems` say
//! what to fix. Publishing refuses a version with problems.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::TenantScope;
use weft_engine::DefinitionProblem;
use weft_store::{NewWorkflow, Origin, Workflow, WorkflowFilter, WorkflowPatch, WorkflowVersion};

use crate::api::page::{ApiQuery, PageOut, PageQuery, request};
use crate::api::rfc3339;
use crate::api::workspaces::WsPath;
use crate::error::{ApiError, FieldError, Validation};
use crate::extract::Authorized;
use crate::extract::gate::{WorkflowsRead, WorkflowsWrite};
use crate::json::{ApiJson, JsonOrYaml};
use crate::state::AppState;

const NAME_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 10_000;
const TAG_MAX: usize = 40;
const TAGS_MAX: usize = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workflow, list_workflows))
        .routes(routes!(get_workflow, update_workflow, delete_workflow))
        .routes(routes!(save_version, list_versions))
        .routes(routes!(get_version))
        .routes(routes!(publish_workflow))
        .routes(routes!(unpublish_workflow))
        .routes(routes!(list_webhooks))
        .routes(routes!(clone_workflow))
        .routes(routes!(export_workflow))
}

/// The definition's parts, as they appear at the top level of create, version and export bodies.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionIn {
    /// Nodes: `{name, type, params, position?, retry?, timeout_ms?, on_error?, disabled?, notes?}`
    /// (docs/workflow-format.md).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub nodes: Vec<serde_json::Value>,
    /// Connections: `{from, output?, to, input?}`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub connections: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
}

impl DefinitionIn {
    /// The definition as stored, after checking its shape (422 with pointers if it has none).
    pub(crate) fn into_stored(self) -> Result<serde_json::Value, ApiError> {
        let mut value = serde_json::json!({ "nodes": self.nodes, "connections": self.connections });
        if let Some(settings) = self.settings {
            value["settings"] = settings;
        }
        let definition = weft_engine::parse(&value).map_err(problems_to_validation)?;
        serde_json::to_value(definition).map_err(ApiError::internal)
    }
}

fn field_errors(problems: Vec<DefinitionProblem>) -> Vec<FieldError> {
    problems.into_iter().map(|p| FieldError { pointer: p.pointer, detail: p.detail }).collect()
}

fn problems_to_validation(problems: Vec<DefinitionProblem>) -> ApiError {
    ApiError::Validation(field_errors(problems))
}

/// What keeps a stored definition from being published.
pub(crate) fn problems_of(definition: &serde_json::Value) -> Vec<FieldError> {
    match weft_engine::parse(definition) {
        Ok(parsed) => field_errors(weft_engine::validate(&parsed)),
        Err(problems) => field_errors(problems),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub latest_version: i64,
    /// The version triggers run; absent until one is published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_version: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Workflow> for WorkflowOut {
    fn from(workflow: Workflow) -> Self {
        WorkflowOut {
            id: workflow.id.to_string(),
            name: workflow.name,
            description: workflow.description,
            tags: workflow.tags,
            latest_version: workflow.latest_version,
            published_version: workflow.published_version,
            created_at: rfc3339(workflow.created_at),
            updated_at: rfc3339(workflow.updated_at),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionOut {
    pub version: i64,
    #[serde(flatten)]
    #[schema(inline)]
    pub definition: DefinitionIn,
    /// Validation problems by JSON pointer into the definition; empty when it can be published.
    pub problems: Vec<FieldError>,
    pub created_by: String,
    pub created_at: String,
}

impl VersionOut {
    fn new(version: WorkflowVersion) -> Result<Self, ApiError> {
        let problems = problems_of(&version.definition);
        let definition = serde_json::from_value(version.definition).map_err(ApiError::internal)?;
        Ok(VersionOut {
            version: version.version,
            definition,
            problems,
            created_by: version.created_by,
            created_at: rfc3339(version.created_at),
        })
    }
}

/// A workflow with one of its versions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowWithVersionOut {
    #[serde(flatten)]
    pub workflow: WorkflowOut,
    pub version: VersionOut,
}

/// Trims and checks name, description and tags, reporting every problem.
fn check_metadata(
    validation: &mut Validation,
    name: Option<&str>,
    description: Option<&str>,
    tags: Option<&[String]>,
) -> (Option<String>, Option<String>, Option<Vec<String>>) {
    let name = name.and_then(|raw| {
        let name = raw.trim();
        let ok = !name.is_empty() && name.chars().count() <= NAME_MAX;
        validation
            .check("/name", if ok { Ok(name.to_owned()) } else { Err(format!("must be 1 to {NAME_MAX} characters")) })
    });
    let description = description.and_then(|raw| {
        let ok = raw.chars().count() <= DESCRIPTION_MAX;
        validation.check(
            "/description",
            if ok { Ok(raw.to_owned()) } else { Err(format!("must be at most {DESCRIPTION_MAX} characters")) },
        )
    });
    let tags = tags.and_then(|raw| {
        if raw.len() > TAGS_MAX {
            return validation.check("/tags", Err::<Vec<String>, _>(format!("at most {TAGS_MAX} tags")));
        }
        let mut tags = Vec::new();
        for (index, tag) in raw.iter().enumerate() {
            let tag = tag.trim().to_lowercase();
            let ok = !tag.is_empty() && tag.chars().count() <= TAG_MAX;
            let checked = if ok { Ok(tag) } else { Err(format!("must be 1 to {TAG_MAX} characters")) };
            tags.extend(validation.check(&format!("/tags/{index}"), checked));
        }
        tags.sort();
        tags.dedup();
        Some(tags)
    });
    (name, description, tags)
}

/// Create and import body: the export format. (Spelled out rather than flattened: serde cannot
/// refuse unknown fields through a flattened struct.)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkflowIn {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    nodes: Vec<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    connections: Vec<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    settings: Option<serde_json::Value>,
}

/// A create body whose metadata and definition shape passed the checks.
pub(crate) struct CheckedWorkflow {
    name: String,
    description: String,
    tags: Vec<String>,
    definition: serde_json::Value,
}

impl CheckedWorkflow {
    pub(crate) fn new(input: WorkflowIn) -> Result<Self, ApiError> {
        let mut validation = Validation::default();
        let (name, description, tags) =
            check_metadata(&mut validation, Some(&input.name), Some(&input.description), Some(&input.tags));
        validation.finish()?;
        let definition = DefinitionIn { nodes: input.nodes, connections: input.connections, settings: input.settings }
            .into_stored()?;
        Ok(CheckedWorkflow {
            name: name.unwrap_or_default(),
            description: description.unwrap_or_default(),
            tags: tags.unwrap_or_default(),
            definition,
        })
    }

    pub(crate) fn as_new(&self) -> NewWorkflow<'_> {
        NewWorkflow { name: &self.name, description: &self.description, tags: &self.tags, definition: &self.definition }
    }
}

/// Creates a workflow from the export format after checking its metadata and the shape of its
/// definition: the API's create and the web UI's "new workflow" form.
pub(crate) async fn new_workflow(
    state: &AppState,
    scope: &TenantScope,
    origin: &Origin,
    input: WorkflowIn,
) -> Result<(Workflow, WorkflowVersion), ApiError> {
    let checked = CheckedWorkflow::new(input)?;
    Ok(state.store.create_workflow(scope, origin, checked.as_new(), None).await?)
}

/// Create a workflow; its definition becomes version 1 (a draft until published). The body has
/// the same shape as an export, so an exported workflow can be created again as it is.
#[utoipa::path(post, path = "/workspaces/{ws}/workflows", tag = "workflows", params(WsPath),
    request_body(content((WorkflowIn = "application/json"), (WorkflowIn = "application/yaml"))),
    responses((status = 201, body = WorkflowWithVersionOut)),
    security(("user" = ["workflows:write"]), ("api_key" = ["workflows:write"])))]
async fn create_workflow(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsWrite>,
    JsonOrYaml(input): JsonOrYaml<WorkflowIn>,
) -> Result<impl IntoResponse, ApiError> {
    let (workflow, version) = new_workflow(&state, &auth.scope, &auth.origin, input).await?;
    let out = WorkflowWithVersionOut { workflow: workflow.into(), version: VersionOut::new(version)? };
    Ok((StatusCode::CREATED, axum::Json(out)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WorkflowListQuery {
    /// Part of the name, any case.
    q: Option<String>,
    /// Only workflows with this tag.
    tag: Option<String>,
}

/// List workflows, optionally by name and tag.
#[utoipa::path(get, path = "/workspaces/{ws}/workflows", tag = "workflows", params(WsPath, WorkflowListQuery, PageQuery),
    responses((status = 200, body = PageOut<WorkflowOut>)),
    security(("user" = ["workflows:read"]), ("api_key" = ["workflows:read"])))]
async fn list_workflows(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsRead>,
    ApiQuery(query): ApiQuery<WorkflowListQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let tag = query.tag.map(|tag| tag.trim().to_lowercase());
    let filter = WorkflowFilter { name: query.q.as_deref().filter(|q| !q.is_empty()), tag: tag.as_deref() };
    let page = state.store.workflows(&auth.scope, &filter, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, WorkflowOut::from)))
}

/// The `{wf}` path segment, declared for the spec; the `Authorized` extractor loads it.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WfPath {
    /// The workflow's id (`wf_…`).
    pub wf: String,
}

/// Read a workflow with its latest version.
#[utoipa::path(get, path = "/workspaces/{ws}/workflows/{wf}", tag = "workflows", params(WsPath, WfPath),
    responses((status = 200, body = WorkflowWithVersionOut)),
    security(("user" = ["workflows:read"]), ("api_key" = ["workflows:read"])))]
async fn get_workflow(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsRead, Workflow>,
) -> Result<impl IntoResponse, ApiError> {
    let workflow = auth.resource;
    let version = state.store.workflow_version(&auth.scope, &workflow.id, workflow.latest_version).await?;
    Ok(axum::Json(WorkflowWithVersionOut { workflow: workflow.into(), version: VersionOut::new(version)? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkflowPatchIn {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) tags: Option<Vec<String>>,
}

/// Rename a workflow, or change its description or tags. The definition changes by saving a
/// version.
#[utoipa::path(patch, path = "/workspaces/{ws}/workflows/{wf}", tag = "workflows", params(WsPath, WfPath),
    request_body = WorkflowPatchIn, responses((status = 200, body = WorkflowOut)),
    security(("user" = ["workflows:write"]), ("api_key" = ["workflows:write"])))]
async fn update_workflow(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsWrite, Workflow>,
    ApiJson(input): ApiJson<WorkflowPatchIn>,
) -> Result<impl IntoResponse, ApiError> {
    if input.name.is_none() && input.description.is_none() && input.tags.is_none() {
        return Err(ApiError::field("", "give `name`, `description` or `tags`"));
    }
    let workflow = edit_metadata(&state, &auth.scope, &auth.origin, &auth.resource, input).await?;
    Ok(axum::Json(WorkflowOut::from(workflow)))
}

/// Checks and applies new metadata (`None` keeps a field): the API's PATCH and the editor's form.
pub(crate) async fn edit_metadata(
    state: &AppState,
    scope: &TenantScope,
    origin: &Origin,
    workflow: &Workflow,
    input: WorkflowPatchIn,
) -> Result<Workflow, ApiError> {
    let mut validation = Validation::default();
    let (name, description, tags) =
        check_metadata(&mut validation, input.name.as_deref(), input.description.as_deref(), input.tags.as_deref());
    validation.finish()?;
    let patch = WorkflowPatch { name: name.as_deref(), description: description.as_deref(), tags: tags.as_deref() };
    Ok(state.store.update_workflow(scope, origin, &workflow.id, patch).await?)
}

/// Delete a workflow and all its versions.
#[utoipa::path(delete, path = "/workspaces/{ws}/workflows/{wf}", tag = "workflows", params(WsPath, WfPath),
    responses((status = 204, description = "Deleted")),
    security(("user" = ["workflows:write"]), ("api_key" = ["workflows:write"])))]
async fn delete_workflow(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsWrite, Workflow>,
) -> Result<impl IntoResponse, ApiError> {
    state.store.delete_workflow(&auth.scope, &auth.origin, &auth.resource.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Save a new immutable version of the definition. It may still have problems (a draft); they
/// are listed in the answer and block publishing.
#[utoipa::path(post, path = "/workspaces/{ws}/workflows/{wf}/versions", tag = "workflows", params(WsPath, WfPath),
    request_body(content((DefinitionIn = "application/json"), (DefinitionIn = "application/yaml"))), responses((status = 201, body = VersionOut)),
    security(("user" = ["workflows:write"]), ("api_key" = ["workflows:write"])))]
async fn save_version(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsWrite, Workflow>,
    JsonOrYaml(input): JsonOrYaml<DefinitionIn>,
) -> Result<impl IntoResponse, ApiError> {
    let definition = input.into_stored()?;
    let version = state.store.save_workflow_version(&auth.scope, &auth.origin, &auth.resource.id, &definition).await?;
    Ok((StatusCode::CREATED, axum::Json(VersionOut::new(version)?)))
}

/// List versions, newest first.
#[utoipa::path(get, path = "/workspaces/{ws}/workflows/{wf}/versions", tag = "workflows",
    params(WsPath, WfPath, PageQuery), responses((status = 200, body = PageOut<VersionOut>)),
    security(("user" = ["workflows:read"]), ("api_key" = ["workflows:read"])))]
async fn list_versions(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsRead, Workflow>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let page = state.store.workflow_versions(&auth.scope, &auth.resource.id, request(limit, &after)).await?;
    let items = page.items.into_iter().map(VersionOut::new).collect::<Result<Vec<_>, _>>()?;
    Ok(axum::Json(PageOut::from_page(weft_store::Page { items, next: page.next }, |v| v)))
}

/// A version number from the path; anything else names no version.
fn version_number(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|n| *n >= 1).ok_or(ApiError::NotFound)
}

/// Read one version.
#[utoipa::path(get, path = "/workspaces/{ws}/workflows/{wf}/versions/{n}", tag = "workflows",
    params(WsPath, WfPath, ("n" = i64, Path, description = "The version number, from 1")),
    responses((status = 200, body = VersionOut)),
    security(("user" = ["workflows:read"]), ("api_key" = ["workflows:read"])))]
async fn get_version(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsRead, Workflow>,
    Path(path): Path<(String, String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let number = version_number(&path.2)?;
    let version = state.store.workflow_version(&auth.scope, &auth.resource.id, number).await?;
    Ok(axum::Json(VersionOut::new(version)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PublishIn {
    /// The version to publish; an older one rolls back.
    version: i64,
}

/// Publish a version: triggers run it from now on. Refused (422, with the version's problems)
/// while it breaks validation rules.
#[utoipa::path(post, path = "/workspaces/{ws}/workflows/{wf}/publish", tag = "workflows", params(WsPath, WfPath),
    request_body = PublishIn, responses((status = 200, body = WorkflowOut)),
    security(("user" = ["workflows:write"]), ("api_key" = ["workflows:write"])))]
async fn publish_workflow(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsWrite, Workflow>,
    ApiJson(input): ApiJson<PublishIn>,
) -> Result<impl IntoResponse, ApiError> {
    let workflow = publish_version(&state, &auth.scope, &auth.origin, &auth.resource, input.version).await?;
    Ok(axum::Json(WorkflowOut::from(workflow)))
}

/// Publishes one of the workflow's versions (an older one rolls back), unless it has problems:
/// the API's publish and the versions page's buttons.
pub(crate) async fn publish_version(
    state: &AppState,
    scope: &TenantScope,
    origin: &Origin,
    workflow: &Workflow,
    number: i64,
) -> Result<Workflow, ApiError> {
    let version = state.store.workflow_version(scope, &workflow.id, number).await.map_err(|error| match error {
        weft_store::StoreError::NotFound => ApiError::field("/version", "this workflow has no such version"),
        other => other.into(),
    })?;
    let problems = problems_of(&version.definition);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    Ok(state.store.publish_workflow(scope, origin, &workflow.id, number).await?)
}

/// Withdraw the published version: webhooks answer 404 and schedules and events start nothing
/// until a version is published again. Manual runs still work.
#[utoipa::path(post, path = "/workspaces/{ws}/workflows/{wf}/unpublish", tag = "workflows", params(WsPath, WfPath),
    responses((status = 200, body = WorkflowOut)),
    security(("user" = ["workflows:write"]), ("api_key" = ["workflows:write"])))]
async fn unpublish_workflow(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsWrite, Workflow>,
) -> Result<impl IntoResponse, ApiError> {
    let workflow = state.store.unpublish_workflow(&auth.scope, &auth.origin, &auth.resource.id).await?;
    Ok(axum::Json(WorkflowOut::from(workflow)))
}

/// A webhook trigger's addresses.
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookOut {
    /// The trigger node's name.
    pub(crate) node: String,
    /// Runs the published version.
    pub(crate) url: String,
    /// Runs the latest saved version, published or not.
    pub(crate) test_url: String,
}

#[derive(Serialize, ToSchema)]
struct WebhooksOut {
    items: Vec<WebhookOut>,
}

/// The workflow's webhook URLs: one per webhook trigger any saved version has had. A URL stays
/// the same across versions; it answers only while the version it runs has that trigger.
#[utoipa::path(get, path = "/workspaces/{ws}/workflows/{wf}/webhooks", tag = "workflows", params(WsPath, WfPath),
    responses((status = 200, body = WebhooksOut)),
    security(("user" = ["workflows:read"]), ("api_key" = ["workflows:read"])))]
async fn list_webhooks(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsRead, Workflow>,
) -> Result<impl IntoResponse, ApiError> {
    let items = webhook_urls(&state, &auth.scope, &auth.resource).await?;
    Ok(axum::Json(WebhooksOut { items }))
}

/// The addresses of the workflow's webhook triggers: the API's list and the editor page's.
pub(crate) async fn webhook_urls(
    state: &AppState,
    scope: &TenantScope,
    workflow: &Workflow,
) -> Result<Vec<WebhookOut>, ApiError> {
    let base = &state.settings.public_url;
    let hooks = state.store.hooks(scope, &workflow.id).await?;
    Ok(hooks
        .into_iter()
        .map(|hook| WebhookOut {
            url: format!("{base}/hooks/{}", hook.token),
            test_url: format!("{base}/hooks-test/{}", hook.token),
            node: hook.node,
        })
        .collect())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CloneIn {
    /// The copy's name; default: "<name> (copy)".
    name: Option<String>,
}

/// Copy a workflow: its latest version becomes the copy's version 1 (unpublished).
#[utoipa::path(post, path = "/workspaces/{ws}/workflows/{wf}/clone", tag = "workflows", params(WsPath, WfPath),
    request_body = CloneIn, responses((status = 201, body = WorkflowWithVersionOut)),
    security(("user" = ["workflows:write"]), ("api_key" = ["workflows:write"])))]
async fn clone_workflow(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsWrite, Workflow>,
    ApiJson(input): ApiJson<CloneIn>,
) -> Result<impl IntoResponse, ApiError> {
    let source = &auth.resource;
    let wanted = input.name.unwrap_or_else(|| format!("{} (copy)", source.name));
    let mut validation = Validation::default();
    let (name, ..) = check_metadata(&mut validation, Some(&wanted), None, None);
    validation.finish()?;
    let name = name.unwrap_or_default();
    let latest = state.store.workflow_version(&auth.scope, &source.id, source.latest_version).await?;
    let new = NewWorkflow {
        name: &name,
        description: &source.description,
        tags: &source.tags,
        definition: &latest.definition,
    };
    let (workflow, version) = state.store.create_workflow(&auth.scope, &auth.origin, new, Some(&source.id)).await?;
    let out = WorkflowWithVersionOut { workflow: workflow.into(), version: VersionOut::new(version)? };
    Ok((StatusCode::CREATED, axum::Json(out)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// The version to export; default: the latest.
    version: Option<i64>,
    /// `weft` (the default, what `POST /workflows` accepts) or `n8n` (an n8n workflow export).
    format: Option<ExportFormat>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ExportFormat {
    #[default]
    Weft,
    N8n,
}

/// The export format: what `POST /workflows` accepts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowExport {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    #[serde(flatten)]
    #[schema(inline)]
    pub definition: DefinitionIn,
}

/// Download a workflow as JSON, in the format `POST /workflows` accepts, or with `format=n8n`
/// as an n8n workflow export (what n8n's importer and `POST /workflows/import` accept).
#[utoipa::path(get, path = "/workspaces/{ws}/workflows/{wf}/export", tag = "workflows",
    params(WsPath, WfPath, ExportQuery),
    responses((status = 200, body = WorkflowExport,
        description = "Sent as an attachment named after the workflow; with `format=n8n`, an n8n export")),
    security(("user" = ["workflows:read"]), ("api_key" = ["workflows:read"])))]
async fn export_workflow(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsRead, Workflow>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export_file(&state, &auth.scope, auth.resource, query.version, query.format.unwrap_or_default()).await
}

/// A version (default: the latest) as a JSON attachment in Weft's or n8n's format: the API's
/// export and the editor's "Export to n8n" link.
pub(crate) async fn export_file(
    state: &AppState,
    scope: &TenantScope,
    workflow: Workflow,
    version: Option<i64>,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let number = version.unwrap_or(workflow.latest_version);
    let version = state.store.workflow_version(scope, &workflow.id, number).await?;
    let definition: DefinitionIn = serde_json::from_value(version.definition).map_err(ApiError::internal)?;
    let export =
        WorkflowExport { name: workflow.name, description: workflow.description, tags: workflow.tags, definition };
    if format == ExportFormat::N8n {
        let weft = serde_json::to_value(&export).map_err(ApiError::internal)?;
        let n8n = weft_engine::n8n::export_workflow(&weft).map_err(problems_to_validation)?;
        let file = format!("attachment; filename=\"{}.n8n.json\"", workflow.id);
        return Ok(([(header::CONTENT_DISPOSITION, file)], axum::Json(n8n)).into_response());
    }
    let file = format!("attachment; filename=\"{}.json\"", workflow.id);
    Ok(([(header::CONTENT_DISPOSITION, file)], axum::Json(export)).into_response())
}
