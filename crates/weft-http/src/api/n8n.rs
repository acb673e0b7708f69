//! n8n import: n8n workflow exports become draft Weft workflows, one per export, all created in
//! one transaction. The conversion is `weft_engine::n8n`; the export side is the workflow
//! export's `?format=n8n`.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::TenantScope;
use weft_store::{Origin, Store};

use crate::api::workflows::{CheckedWorkflow, WorkflowIn, problems_of};
use crate::api::workspaces::WsPath;
use crate::error::{ApiError, FieldError};
use crate::extract::Authorized;
use crate::extract::gate::WorkflowsWrite;
use crate::json::{ApiJson, parse_body};
use crate::state::AppState;

/// The most workflows one import creates.
pub const IMPORT_MAX: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_workflows))
}

/// The formats Weft imports.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub(crate) enum ImportFormat {
    #[serde(rename = "n8n")]
    N8n,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportIn {
    format: ImportFormat,
    /// One n8n workflow export (an object with `nodes` and `connections`), or an array of them.
    #[schema(value_type = Object)]
    workflow: serde_json::Value,
}

/// The multipart form: one JSON file holding an n8n export or an array of them.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the form for the OpenAPI document only
struct ImportUpload {
    /// `n8n` (the default).
    format: Option<String>,
    #[schema(value_type = String, format = Binary)]
    file: String,
}

/// One created workflow, with what its conversion could not carry over.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportedWorkflowOut {
    pub id: String,
    pub name: String,
    pub latest_version: i64,
    /// What keeps the draft from being published (placeholders for unsupported nodes, empty
    /// credentials), by JSON pointer into the definition.
    pub problems: Vec<FieldError>,
    /// `{unsupported: [{node, n8n_type, type_version, reason?}], credentials: [{node, slot,
    /// name}], sticky_notes, pinned_nodes, warnings}` (docs/n8n.md).
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportedOut {
    /// In the order of the exports.
    pub items: Vec<ImportedWorkflowOut>,
}

/// Import n8n workflows: each export becomes a Weft workflow whose version 1 is a draft (never
/// published), all or none. Send JSON `{format: "n8n", workflow}` or a multipart form with a
/// `file`. An input that is not an n8n workflow is a 422 whose pointer names its index.
#[utoipa::path(post, path = "/workspaces/{ws}/workflows/import", tag = "workflows", params(WsPath),
    request_body(content((ImportIn = "application/json"), (ImportUpload = "multipart/form-data"))),
    responses((status = 201, body = ImportedOut)),
    security(("user" = ["workflows:write"]), ("api_key" = ["workflows:write"])))]
async fn import_workflows(
    State(state): State<AppState>,
    auth: Authorized<WorkflowsWrite>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    let (exports, pointer) = if multipart {
        (uploaded_file(Multipart::from_request(request, &state).await.map_err(multipart_error)?).await?, "/file")
    } else {
        let ApiJson(input) = ApiJson::<ImportIn>::from_request(request, &state).await?;
        let ImportFormat::N8n = input.format;
        (input.workflow, "/workflow")
    };
    let items = import_n8n(&state.store, &auth.scope, &auth.origin, &exports, pointer).await?;
    Ok((StatusCode::CREATED, axum::Json(ImportedOut { items })))
}

fn multipart_error(rejection: axum::extract::multipart::MultipartRejection) -> ApiError {
    ApiError::field("", format!("not a readable multipart form: {}", rejection.body_text()))
}

/// The JSON in the form's `file` field.
async fn uploaded_file(mut form: Multipart) -> Result<serde_json::Value, ApiError> {
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(|e| ApiError::field("", e.body_text()))? {
        match field.name() {
            Some("file") => {
                let bytes = field.bytes().await.map_err(|e| ApiError::field("/file", e.body_text()))?;
                let value = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .map_err(|e| ApiError::field("/file", format!("is not JSON: {e}")))?;
                file = Some(value);
            }
            Some("format") => {
                let format = field.text().await.map_err(|e| ApiError::field("/format", e.body_text()))?;
                if format.trim() != "n8n" {
                    return Err(ApiError::field("/format", "the only format is `n8n`"));
                }
            }
            _ => {}
        }
    }
    file.ok_or_else(|| ApiError::field("/file", "attach an n8n workflow export as `file`"))
}

/// Converts n8n exports (`exports` is one or an array) and creates one draft workflow each, in
/// one transaction: the API's import, the "new workflow" page's paste and `weft import n8n`.
/// Problems point into the input below `pointer` (`/workflow/2/name`).
pub async fn import_n8n(
    store: &Store,
    scope: &TenantScope,
    origin: &Origin,
    exports: &serde_json::Value,
    pointer: &str,
) -> Result<Vec<ImportedWorkflowOut>, ApiError> {
    let listed: Vec<(String, &serde_json::Value)> = match exports {
        serde_json::Value::Array(list) => {
            list.iter().enumerate().map(|(index, export)| (format!("{pointer}/{index}"), export)).collect()
        }
        single => vec![(pointer.to_owned(), single)],
    };
    if listed.is_empty() {
        return Err(ApiError::field(pointer, "the array holds no workflows"));
    }
    if listed.len() > IMPORT_MAX {
        return Err(ApiError::field(pointer, format!("at most {IMPORT_MAX} workflows at once")));
    }
    let mut checked = Vec::with_capacity(listed.len());
    let mut reports = Vec::with_capacity(listed.len());
    let mut errors = Vec::new();
    for (at, export) in listed {
        let converted = weft_engine::n8n::import_workflow(export)
            .map_err(|error| vec![FieldError { pointer: at.clone(), detail: error.to_string() }])
            .and_then(|imported| {
                let report = serde_json::to_value(&imported.report).unwrap_or_default();
                let body = serde_json::to_vec(&imported.workflow).unwrap_or_default();
                let input: WorkflowIn = parse_body(&body).map_err(|error| below(&at, error))?;
                let workflow = CheckedWorkflow::new(input).map_err(|error| below(&at, error))?;
                Ok((workflow, report))
            });
        match converted {
            Ok((workflow, report)) => {
                checked.push(workflow);
                reports.push(report);
            }
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let created = store.create_workflows(scope, origin, checked.iter().map(CheckedWorkflow::as_new).collect()).await?;
    Ok(created
        .into_iter()
        .zip(reports)
        .map(|((workflow, version), report)| ImportedWorkflowOut {
            id: workflow.id.to_string(),
            name: workflow.name,
            latest_version: workflow.latest_version,
            problems: problems_of(&version.definition),
            report,
        })
        .collect())
}

/// A converted workflow's problems, pointed into the input it came from.
fn below(at: &str, error: ApiError) -> Vec<FieldError> {
    match error {
        ApiError::Validation(problems) => problems
            .into_iter()
            .map(|problem| FieldError { pointer: format!("{at}{}", problem.pointer), detail: problem.detail })
            .collect(),
        other => vec![FieldError { pointer: at.to_owned(), detail: other.to_string() }],
    }
}
