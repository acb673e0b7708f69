//! A run's attachments: the files its nodes made (an `http_request` download), found through
//! the references in its steps' outputs, since items carry only those. A download is always an
//! `attachment`, never inline, so that an HTML file a workflow fetched cannot run in Weft's origin.

use std::collections::HashSet;
use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::{RunId, TenantScope};
use weft_engine::BinaryRef;
use weft_store::{BlobKey, Run, Step};

use crate::api::page::{ApiQuery, PageOut, PageQuery, page_of};
use crate::api::runs::RunPath;
use crate::api::workspaces::WsPath;
use crate::error::ApiError;
use crate::extract::Authorized;
use crate::extract::gate::RunsRead;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_attachments)).routes(routes!(get_attachment))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentOut {
    /// Its name within the run (`binary-…`), the last segment of its download address.
    pub name: String,
    /// The item's binary field that held it (`data`, …).
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    pub mime_type: String,
    /// Length in bytes.
    pub size: u64,
    /// The node whose step emitted it first.
    pub node: String,
    /// That step's activation.
    pub activation: String,
}

/// An attachment of a run, as the step that emitted it first references it.
pub(crate) struct Attachment {
    pub name: String,
    pub field: String,
    pub reference: BinaryRef,
    pub node: String,
    pub activation: String,
}

impl Attachment {
    /// The name to save it under: its file name, or its name in the run if it has none.
    pub fn file_name(&self) -> &str {
        self.reference.file_name.as_deref().filter(|given| !given.trim().is_empty()).unwrap_or(&self.name)
    }
}

impl From<Attachment> for AttachmentOut {
    fn from(attachment: Attachment) -> Self {
        AttachmentOut {
            name: attachment.name,
            field: attachment.field,
            file_name: attachment.reference.file_name,
            mime_type: attachment.reference.mime_type,
            size: attachment.reference.size,
            node: attachment.node,
            activation: attachment.activation,
        }
    }
}

/// The attachments of `run` that its steps' outputs reference, each once, in the order they
/// first appear. References to another run's blobs (in steps a retry copied, or items another
/// run handed over) are left out: those bytes belong to, and go with, the other run.
pub(crate) fn attachments_of(run: &RunId, steps: &[Step]) -> Vec<Attachment> {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for step in steps {
        for (field, value) in step.output.iter().flat_map(binary_fields) {
            let Ok(reference) = BinaryRef::deserialize(value) else { continue };
            let Ok(key) = BlobKey::parse(&reference.key) else { continue };
            if key.run() != run.as_str() || !key.is_binary() || !seen.insert(key.name().to_owned()) {
                continue;
            }
            found.push(Attachment {
                name: key.name().to_owned(),
                field: field.clone(),
                reference,
                node: step.node.clone(),
                activation: step.activation.clone(),
            });
        }
    }
    found
}

/// Every `binary` member of every item of a step's output (items per output).
fn binary_fields(output: &Value) -> impl Iterator<Item = (&String, &Value)> {
    output
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|item| item.get("binary")?.as_object())
        .flatten()
}

/// Attachment `name` of `run` as a download: the API's and the run page's. 404 unless the run's
/// steps emitted it and its bytes are still there.
pub(crate) async fn download(
    state: &AppState,
    scope: &TenantScope,
    run: &RunId,
    name: &str,
) -> Result<Response, ApiError> {
    let steps = state.store.recorded_steps(scope, run).await?;
    let attachment =
        attachments_of(run, &steps).into_iter().find(|attachment| attachment.name == name).ok_or(ApiError::NotFound)?;
    let bytes = state.store.binary(scope, &attachment.reference.key).await?;
    // Set here, not only by the security layer: serving a workflow's bytes depends on them.
    let headers = [
        (header::CONTENT_TYPE, content_type(&attachment.reference.mime_type)),
        (header::CONTENT_DISPOSITION, disposition(attachment.file_name())),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private")),
    ];
    Ok((headers, bytes).into_response())
}

/// The recorded MIME type, which came from a remote server; anything that is not a plain
/// `type/subtype[; parameters]` in ASCII is served as opaque bytes.
pub(crate) fn content_type(mime_type: &str) -> HeaderValue {
    let plausible = mime_type.contains('/') && mime_type.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    plausible
        .then(|| HeaderValue::from_str(mime_type).ok())
        .flatten()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

/// `attachment; filename="…"` with quotes, backslashes and control characters replaced (and, in
/// that quoted form, anything not ASCII), plus `filename*` (RFC 8187) for a name that is not ASCII.
fn disposition(file_name: &str) -> HeaderValue {
    let clean: String =
        file_name.chars().map(|c| if c.is_control() || c == '"' || c == '\\' { '_' } else { c }).collect();
    let ascii: String = clean.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let mut value = format!("attachment; filename=\"{ascii}\"");
    if !clean.is_ascii() {
        value.push_str("; filename*=UTF-8''");
        for byte in clean.bytes() {
            // RFC 8187 `attr-char`; everything else is percent-encoded.
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                value.push(char::from(byte));
            } else {
                let _ = write!(value, "%{byte:02X}");
            }
        }
    }
    // Every character left is visible ASCII, so this always succeeds.
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

/// The run's attachments, in the order its steps first emitted them.
#[utoipa::path(get, path = "/workspaces/{ws}/runs/{run}/attachments", tag = "runs", params(WsPath, RunPath, PageQuery),
    responses((status = 200, body = PageOut<AttachmentOut>)),
    security(("user" = ["runs:read"]), ("api_key" = ["runs:read"])))]
async fn list_attachments(
    State(state): State<AppState>,
    auth: Authorized<RunsRead, Run>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let steps = state.store.recorded_steps(&auth.scope, &auth.resource.id).await?;
    let attachments = attachments_of(&auth.resource.id, &steps);
    let page = page_of(attachments, limit, after.as_deref(), |attachment: &Attachment| attachment.name.clone())?;
    Ok(axum::Json(PageOut::from_page(page, AttachmentOut::from)))
}

/// Download an attachment: its bytes as its MIME type, always as a file to save
/// (`Content-Disposition: attachment`), never shown inline.
#[utoipa::path(get, path = "/workspaces/{ws}/runs/{run}/attachments/{name}", tag = "runs",
    params(WsPath, RunPath, ("name" = String, Path, description = "The attachment's name (`binary-…`)")),
    responses((status = 200, description = "The bytes, with the attachment's `Content-Type` and file name",
        content_type = "application/octet-stream",
        headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`, and `filename*` for a name that is not ASCII")))),
    security(("user" = ["runs:read"]), ("api_key" = ["runs:read"])))]
async fn get_attachment(
    State(state): State<AppState>,
    auth: Authorized<RunsRead, Run>,
    Path(path): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    download(&state, &auth.scope, &auth.resource.id, &path.2).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn file_names_are_quoted_safely_and_encoded_when_not_ascii() {
        let header = |name: &str| disposition(name).to_str().unwrap().to_owned();
        assert_eq!(header("report.pdf"), "attachment; filename=\"report.pdf\"");
        assert_eq!(header("a\"b\\c\r\nd.txt"), "attachment; filename=\"a_b_c__d.txt\"");
        assert_eq!(
            header("résumé 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
    }

    #[test]
    fn an_implausible_mime_type_is_served_as_opaque_bytes() {
        assert_eq!(content_type("application/pdf"), "application/pdf");
        assert_eq!(content_type("text/plain; charset=utf-8"), "text/plain; charset=utf-8");
        for odd in ["", "pdf", "text/html\r\nx: y", "bild/übel"] {
            assert_eq!(content_type(odd), "application/octet-stream", "{odd:?}");
        }
    }

    #[test]
    fn only_this_runs_attachments_are_found_once_each_in_order() {
        let (ws, run, other) = (weft_domain::WorkspaceId::generate(), RunId::generate(), RunId::generate());
        let reference = |run: &RunId, name: &str| json!({"key": format!("{ws}/{run}/{name}"), "mime_type": "text/plain", "size": 1});
        let step = |node: &str, output: Value| Step {
            id: weft_domain::StepId::generate(),
            run: run.clone(),
            node: node.to_owned(),
            activation: node.to_owned(),
            attempt: 1,
            status: weft_store::StepStatus::Succeeded,
            input: None,
            output: Some(output),
            error: None,
            logs: None,
            started_at: 0,
            finished_at: Some(1),
        };
        let steps = [
            step("Download", json!([[{"json": {}, "binary": {"data": reference(&run, "binary-b")}}]])),
            step(
                "Pass",
                json!([
                    [{"json": {}, "binary": {"copy": reference(&run, "binary-b"), "old": reference(&other, "binary-x")}}],
                    [{"json": {}, "binary": {"payload": reference(&run, "stp_1.output"), "bad": {"key": 1}}},
                     {"json": {}, "binary": {"second": reference(&run, "binary-a")}}]
                ]),
            ),
        ];
        let found: Vec<(String, String, String)> =
            attachments_of(&run, &steps).into_iter().map(|a| (a.name, a.field, a.node)).collect();
        assert_eq!(
            found,
            [
                ("binary-b".to_owned(), "data".to_owned(), "Download".to_owned()),
                ("binary-a".to_owned(), "second".to_owned(), "Pass".to_owned()),
            ]
        );
    }
}
