//! Webhook triggers. A request to `/hooks/{token}[/{path}]` starts a run of the published
//! version at the webhook trigger the token names; `/hooks-test/…` runs the latest saved
//! version, for editing. The request (method, path, headers, query, body, client address)
//! becomes the run's one item. Depending on the trigger's `response_mode` the answer is 202 with
//! the run id at once (one coalesced commit, nothing awaited), or the run's answer once it
//! settles, or 202 when `webhook_wait` runs out first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::RunId;
use weft_domain::webhook_signature::{SigningSecret, same_secret, verify, verify_sha256_header};
use weft_engine::params::Method as HookMethod;
use weft_engine::trigger_params::{HookAuth, WebhookTriggerParams};
use weft_engine::{NodeKind, WorkflowDef};
use weft_store::{HookRun, HookTarget, Run, RunStatus};

use crate::api::attachments::content_type;
use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::json::read_body;
use crate::state::AppState;

/// The longest `Idempotency-Key` kept.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Parsed webhook triggers of saved versions, by (workflow, version, node). A saved version
/// never changes, so entries never go stale; the map is emptied when it grows past its bound.
#[derive(Debug, Default)]
pub struct HookTriggers(Mutex<HashMap<TriggerKey, Option<Arc<WebhookTriggerParams>>>>);

/// (workflow id, version, node name).
type TriggerKey = (String, i64, String);

const HOOK_TRIGGERS_BOUND: usize = 4096;

impl HookTriggers {
    /// The trigger's params in `version`, or `None` when that version has no enabled webhook
    /// trigger of that name.
    async fn get(
        &self,
        state: &AppState,
        target: &HookTarget,
        version: i64,
    ) -> Result<Option<Arc<WebhookTriggerParams>>, ApiError> {
        let key = (target.workflow.to_string(), version, target.node.clone());
        if let Some(found) = self.0.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok(found.clone());
        }
        let saved = state.store.workflow_version(&target.scope, &target.workflow, version).await?;
        let params =
            weft_engine::parse(&saved.definition).ok().and_then(|definition| trigger_params(&definition, &target.node));
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= HOOK_TRIGGERS_BOUND {
            cache.clear();
        }
        cache.insert(key, params.clone());
        Ok(params)
    }
}

fn trigger_params(definition: &WorkflowDef, name: &str) -> Option<Arc<WebhookTriggerParams>> {
    let node = definition.nodes.iter().find(|node| node.name == name && !node.disabled)?;
    if NodeKind::from_type_name(&node.node_type) != Some(NodeKind::WebhookTrigger) {
        return None;
    }
    serde_json::from_value(Value::Object(node.params.clone())).ok().map(Arc::new)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hook))
        .routes(routes!(hook_with_path))
        .routes(routes!(test_hook))
        .routes(routes!(test_hook_with_path))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct HookPath {
    /// The trigger's URL token (32 hex digits), shown on the workflow.
    token: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct HookSubPath {
    /// The trigger's URL token (32 hex digits), shown on the workflow.
    token: String,
    /// Any further path; the item's `path` carries it.
    path: String,
}

/// The answer of the `accepted` mode, and of the waiting modes when the wait runs out.
#[derive(Serialize, ToSchema)]
struct AcceptedOut {
    run_id: String,
    /// The run's status when the answer was made.
    status: String,
}

/// Start a run of the published version at this webhook trigger. Methods, authentication and
/// the answer (202 with the run id, or the run's own answer) are the trigger's params.
#[utoipa::path(method(get, post, put, patch, delete), path = "/hooks/{token}", tag = "webhooks in", params(HookPath),
    responses((status = 202, body = AcceptedOut, description = "Queued (or still running when the wait ran out)"),
        (status = 200, description = "The run's answer (`last_node`, `respond_node`)")))]
async fn hook(
    State(state): State<AppState>,
    Path(path): Path<HookPath>,
    request: HookRequest,
) -> Result<Response, ApiError> {
    serve(&state, &path.token, "", Published::Yes, request).await
}

/// [`hook`] with a further path.
#[utoipa::path(method(get, post, put, patch, delete), path = "/hooks/{token}/{*path}", tag = "webhooks in",
    params(HookSubPath), responses((status = 202, body = AcceptedOut), (status = 200)))]
async fn hook_with_path(
    State(state): State<AppState>,
    Path(path): Path<HookSubPath>,
    request: HookRequest,
) -> Result<Response, ApiError> {
    serve(&state, &path.token, &path.path, Published::Yes, request).await
}

/// Start a run of the latest saved version (published or not), to try a trigger while editing.
#[utoipa::path(method(get, post, put, patch, delete), path = "/hooks-test/{token}", tag = "webhooks in",
    params(HookPath), responses((status = 202, body = AcceptedOut), (status = 200)))]
async fn test_hook(
    State(state): State<AppState>,
    Path(path): Path<HookPath>,
    request: HookRequest,
) -> Result<Response, ApiError> {
    serve(&state, &path.token, "", Published::No, request).await
}

/// [`test_hook`] with a further path.
#[utoipa::path(method(get, post, put, patch, delete), path = "/hooks-test/{token}/{*path}", tag = "webhooks in",
    params(HookSubPath), responses((status = 202, body = AcceptedOut), (status = 200)))]
async fn test_hook_with_path(
    State(state): State<AppState>,
    Path(path): Path<HookSubPath>,
    request: HookRequest,
) -> Result<Response, ApiError> {
    serve(&state, &path.token, &path.path, Published::No, request).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Published {
    Yes,
    No,
}

/// Everything of the request the run's item and the checks need.
struct HookRequest {
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    client: ClientInfo,
    body: Bytes,
}

impl axum::extract::FromRequest<AppState> for HookRequest {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let client = <ClientInfo as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let (method, headers, query) =
            (parts.method.clone(), parts.headers.clone(), parts.uri.query().map(str::to_owned));
        let body = read_body(axum::extract::Request::from_parts(parts, body), state).await?;
        Ok(HookRequest { method, headers, query, client, body })
    }
}

async fn serve(
    state: &AppState,
    token: &str,
    path: &str,
    published: Published,
    request: HookRequest,
) -> Result<Response, ApiError> {
    let target = state.store.hook_target(token).await?;
    let version = match published {
        Published::Yes => target.published_version.ok_or(ApiError::NotFound)?,
        Published::No => target.latest_version,
    };
    let params = state.hook_triggers.get(state, &target, version).await?.ok_or(ApiError::NotFound)?;
    let allowed = params.methods.iter().any(|method| method.as_str() == request.method.as_str())
        || (request.method == Method::HEAD && params.methods.contains(&HookMethod::Get));
    if !allowed {
        return Err(ApiError::MethodNotAllowed);
    }
    let redacted = authenticate(&params.auth, &request.headers, &request.body)?;
    let key = idempotency_key(&request.headers)?;
    let input = item(&request, path, redacted)?;
    let HookRun { run: run_id, repeated } = state.store.start_hook_run(&target, version, &input, key).await?;
    let mut response = if params.response_mode == weft_engine::trigger_params::ResponseMode::Accepted {
        accepted(&run_id, RunStatus::Queued)
    } else {
        answer_when_settled(state, &target, &run_id).await?
    };
    if repeated {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn accepted(run: &RunId, status: RunStatus) -> Response {
    let body = AcceptedOut { run_id: run.to_string(), status: status.as_str().to_owned() };
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

/// Waits up to `webhook_wait` for the run to answer or end, then answers as it says.
async fn answer_when_settled(state: &AppState, target: &HookTarget, run_id: &RunId) -> Result<Response, ApiError> {
    // Subscribed before looking, so a settling between the look and the wait is not missed.
    let mut settled = state.store.signals().settled(run_id);
    let run = state.store.run(&target.scope, run_id).await?;
    if let Some(response) = answer(state, target, &run).await {
        return response;
    }
    if tokio::time::timeout(state.settings.webhook_wait, settled.rung()).await.is_err() {
        return Ok(accepted(run_id, run.status));
    }
    let run = state.store.run(&target.scope, run_id).await?;
    answer(state, target, &run).await.unwrap_or_else(|| Ok(accepted(run_id, run.status)))
}

/// The run's answer, once it has one: what it recorded, or how it ended.
async fn answer(state: &AppState, target: &HookTarget, run: &Run) -> Option<Result<Response, ApiError>> {
    if let Some(recorded) = &run.response {
        return Some(recorded_response(state, target, recorded).await);
    }
    match run.status {
        RunStatus::Succeeded => Some(Ok(StatusCode::NO_CONTENT.into_response())),
        status if status.is_finished() => {
            Some(Err(ApiError::WorkflowFailed { run: run.id.to_string(), status: status.as_str() }))
        }
        _ => None,
    }
}

/// Headers an answer may not set: the server frames the message itself.
const FRAMING_HEADERS: [HeaderName; 4] =
    [header::CONTENT_LENGTH, header::TRANSFER_ENCODING, header::CONNECTION, header::UPGRADE];

/// `{status, headers, body}` as an HTTP response: a string body is text, `null` none, other
/// JSON values JSON; `{status, headers, attachment: {key, mime_type}}` the attachment's bytes
/// with its type. The node's headers (a `Content-Type` among them) win.
async fn recorded_response(state: &AppState, target: &HookTarget, recorded: &Value) -> Result<Response, ApiError> {
    let status =
        recorded["status"].as_u64().and_then(|code| StatusCode::from_u16(code as u16).ok()).unwrap_or(StatusCode::OK);
    let mut response = if let Some(attachment) = recorded.get("attachment").filter(|value| value.is_object()) {
        let bytes = state.store.binary(&target.scope, attachment["key"].as_str().unwrap_or_default()).await?;
        let kind = content_type(attachment["mime_type"].as_str().unwrap_or_default());
        (status, [(header::CONTENT_TYPE, kind)], bytes).into_response()
    } else {
        match &recorded["body"] {
            Value::Null => status.into_response(),
            Value::String(text) => {
                (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text.clone()).into_response()
            }
            body => (status, axum::Json(body.clone())).into_response(),
        }
    };
    for (name, value) in recorded["headers"].as_object().into_iter().flatten() {
        let (Ok(name), Some(Ok(value))) =
            (HeaderName::try_from(name.as_str()), value.as_str().map(HeaderValue::from_str))
        else {
            continue;
        };
        if !FRAMING_HEADERS.contains(&name) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY => Ok(Some(key)),
        _ => Err(ApiError::field("/headers/idempotency-key", "must be 1 to 255 visible ASCII characters")),
    }
}

/// Checks the request against the trigger's authentication; the header that carried a
/// credential (lower case), which the run's item then leaves out.
fn authenticate(auth: &HookAuth, headers: &HeaderMap, body: &[u8]) -> Result<Option<String>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let refuse = |reason| Err(ApiError::HookUnauthorized { reason, challenge: None });
    match auth {
        HookAuth::None => Ok(None),
        HookAuth::Header { name, value } => match header(name) {
            Some(presented) if same_secret(presented.as_bytes(), value.as_bytes()) => {
                Ok(Some(name.to_ascii_lowercase()))
            }
            _ => refuse("the request lacks the header secret this webhook requires"),
        },
        HookAuth::Basic { username, password } => {
            let presented = header("authorization")
                .and_then(|value| value.strip_prefix("Basic "))
                .and_then(|encoded| STANDARD.decode(encoded.trim()).ok());
            let expected = format!("{username}:{password}");
            match presented {
                Some(presented) if same_secret(&presented, expected.as_bytes()) => Ok(Some("authorization".to_owned())),
                _ => Err(ApiError::HookUnauthorized {
                    reason: "this webhook requires HTTP Basic credentials",
                    challenge: Some("Basic realm=\"weft-hook\""),
                }),
            }
        }
        HookAuth::StandardWebhooks { secret } => {
            let Ok(secret) = SigningSecret::parse(secret) else {
                return refuse("the webhook's signing secret is not valid");
            };
            let (Some(id), Some(timestamp), Some(signature)) =
                (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"))
            else {
                return refuse("the request lacks the webhook-id, webhook-timestamp and webhook-signature headers");
            };
            let now = jiff::Timestamp::now().as_second();
            match verify(&secret, id, timestamp, signature, body, now) {
                Ok(()) => Ok(None),
                Err(_) => refuse("the webhook signature does not match, or its timestamp is not within 5 minutes"),
            }
        }
        HookAuth::HmacSha256 { header: name, secret } => match header(name) {
            Some(signature) if verify_sha256_header(secret.as_bytes(), signature, body) => Ok(None),
            _ => refuse("the request's sha256= signature header is missing or does not match the body"),
        },
    }
}

/// The run's item: `{method, path, headers, query, body, client_ip}`. The body is JSON when the
/// request says so, a map for a form, text otherwise (base64 in `body_base64` if not UTF-8).
fn item(request: &HookRequest, path: &str, redacted: Option<String>) -> Result<Value, ApiError> {
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        if Some(name.as_str()) == redacted.as_deref() {
            continue;
        }
        headers.insert(name.as_str().to_owned(), Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
    }
    let query = pairs(request.query.as_deref().unwrap_or_default().as_bytes());
    let media_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let mut item = json!({
        "method": request.method.as_str(),
        "path": format!("/{path}"),
        "headers": headers,
        "query": query,
        "client_ip": request.client.ip.map(|ip| ip.to_string()),
    });
    let body = &request.body;
    item["body"] = match media_type.as_deref() {
        _ if body.is_empty() => Value::Null,
        Some(essence) if essence == "application/json" || essence.ends_with("+json") => {
            serde_json::from_slice(body).map_err(|error| ApiError::MalformedJson(error.to_string()))?
        }
        Some("application/x-www-form-urlencoded") => pairs(body),
        _ => match std::str::from_utf8(body) {
            Ok(text) => Value::String(text.to_owned()),
            Err(_) => {
                item["body_base64"] = Value::String(STANDARD.encode(body));
                Value::Null
            }
        },
    };
    Ok(item)
}

/// URL-encoded pairs as an object; a repeated name becomes a list of its values.
fn pairs(encoded: &[u8]) -> Value {
    let mut map = Map::new();
    for (name, value) in form_urlencoded::parse(encoded) {
        let value = Value::String(value.into_owned());
        match map.get_mut(name.as_ref()) {
            None => {
                map.insert(name.into_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    Value::Object(map)
}
