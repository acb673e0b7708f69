//! Webhook endpoints of a workspace: where its events are delivered, signed per Standard
//! Webhooks. The secret is shown once, at creation and at rotation. URLs pass the SSRF guard
//! when saved (a refusal is a `blocked-url` problem saying why) and again at every delivery.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::{EventType, TenantScope};
use weft_store::{NewWebhookEndpoint, Origin, WebhookAttempt, WebhookEndpoint, WebhookEndpointPatch};
use weft_worker::outbound::{OutboundError, vet_url};

use crate::api::events::EventOut;
use crate::api::page::{ApiQuery, PageOut, PageQuery, request};
use crate::api::rfc3339;
use crate::api::workspaces::WsPath;
use crate::error::{ApiError, Validation};
use crate::extract::Authorized;
use crate::extract::PathResource;
use crate::extract::gate::{WebhooksRead, WebhooksWrite};
use crate::json::ApiJson;
use crate::state::AppState;

const URL_MAX: usize = 2048;
const DESCRIPTION_MAX: usize = 500;
const RATE_LIMIT_MAX: u32 = 10_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook_endpoint, list_webhook_endpoints))
        .routes(routes!(get_webhook_endpoint, update_webhook_endpoint, delete_webhook_endpoint))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(list_webhook_attempts))
        .routes(routes!(send_test_event))
}

impl PathResource for WebhookEndpoint {
    const PARAM: Option<&'static str> = Some("ep");

    async fn load(state: &AppState, scope: &TenantScope, raw: &str) -> Result<WebhookEndpoint, ApiError> {
        let id = raw.parse().map_err(|_| ApiError::NotFound)?;
        Ok(state.store.webhook_endpoint(scope, &id).await?)
    }
}

/// The `{ep}` path segment, declared for the spec; the `Authorized` extractor loads it.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EndpointPath {
    /// The endpoint's id (`ep_…`).
    pub ep: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpointOut {
    pub id: String,
    pub url: String,
    pub description: String,
    /// The event types it receives; empty for every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why Weft disabled it: it answered 410 Gone, or every delivery failed for 5 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Deliveries per second; more are deferred, not failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// After a rotation, until when the previous secret also signs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<String>,
    /// Since when every delivery has failed; it is disabled 5 days after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<WebhookEndpoint> for WebhookEndpointOut {
    fn from(endpoint: WebhookEndpoint) -> Self {
        WebhookEndpointOut {
            id: endpoint.id.to_string(),
            url: endpoint.url,
            description: endpoint.description,
            event_types: endpoint.event_types,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            rate_limit: endpoint.rate_limit,
            previous_secret_expires_at: endpoint.previous_secret_until.map(rfc3339),
            failing_since: endpoint.failing_since.map(rfc3339),
            created_at: rfc3339(endpoint.created_at),
            updated_at: rfc3339(endpoint.updated_at),
        }
    }
}

/// An endpoint with its signing secret: shown at creation and rotation only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpointSecretOut {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointOut,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it. It cannot be shown again.
    pub secret: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookAttemptOut {
    pub id: String,
    /// The event delivered; also the `webhook-id` header.
    pub event_id: String,
    /// A 2xx answer.
    pub succeeded: bool,
    /// Absent when no answer came (refused, unreachable, timed out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The first 4 KB of the response body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `scheduled`, or `manual` for a replay or a test.
    pub trigger: String,
    pub created_at: String,
}

impl From<WebhookAttempt> for WebhookAttemptOut {
    fn from(attempt: WebhookAttempt) -> Self {
        WebhookAttemptOut {
            id: attempt.id.to_string(),
            event_id: attempt.event.to_string(),
            succeeded: attempt.succeeded,
            status_code: attempt.status_code,
            latency_ms: attempt.latency_ms,
            response: attempt.response,
            error: attempt.error,
            trigger: attempt.trigger,
            created_at: rfc3339(attempt.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookEndpointIn {
    /// `http` or `https`; private, loopback and link-local addresses are refused unless the
    /// operator allow-listed them.
    url: String,
    #[serde(default)]
    description: String,
    /// Event types to receive (see the `EventType` schema); empty or absent for all.
    #[serde(default)]
    event_types: Vec<String>,
    /// Deliveries per second, 1 to 10000.
    rate_limit: Option<u32>,
}

/// A present field, even `null`, is `Some`: `null` clears, absent leaves as is.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookEndpointPatchIn {
    url: Option<String>,
    description: Option<String>,
    event_types: Option<Vec<String>>,
    /// `true` enables a disabled endpoint again (and forgets why it was disabled).
    enabled: Option<bool>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    rate_limit: Option<Option<u32>>,
}

/// Checks the URL as the SSRF guard will: malformed is a validation error, refused a
/// `blocked-url` problem.
async fn check_url(state: &AppState, validation: &mut Validation, url: &str) -> Result<(), ApiError> {
    if url.len() > URL_MAX {
        validation.check("/url", Err::<(), _>(format!("must be at most {URL_MAX} characters")));
        return Ok(());
    }
    match vet_url(&state.outbound_policy, url).await {
        Ok(_) => Ok(()),
        Err(OutboundError::BadUrl(reason)) => {
            validation.check("/url", Err::<(), _>(reason));
            Ok(())
        }
        Err(refused) => Err(ApiError::BlockedUrl(refused.to_string())),
    }
}

fn check_event_types(validation: &mut Validation, raw: &[String]) -> Vec<EventType> {
    let mut types = Vec::new();
    for (index, name) in raw.iter().enumerate() {
        let parsed = EventType::parse(name).ok_or_else(|| format!("`{name}` is not an event type"));
        types.extend(validation.check(&format!("/event_types/{index}"), parsed));
    }
    types.sort_unstable_by_key(|t| t.as_str());
    types.dedup();
    types
}

fn check_description(validation: &mut Validation, description: &str) {
    if description.chars().count() > DESCRIPTION_MAX {
        validation.check("/description", Err::<(), _>(format!("must be at most {DESCRIPTION_MAX} characters")));
    }
}

fn check_rate_limit(validation: &mut Validation, limit: Option<u32>) {
    if limit.is_some_and(|limit| !(1..=RATE_LIMIT_MAX).contains(&limit)) {
        validation.check("/rate_limit", Err::<(), _>(format!("must be between 1 and {RATE_LIMIT_MAX}")));
    }
}

/// A new endpoint as a client asked for it, unchecked.
pub(crate) struct NewEndpointSpec<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a [String],
    pub rate_limit: Option<u32>,
}

/// Checks and creates an endpoint, for the API and the pages alike; returns it with its
/// signing secret, which is never shown again.
pub(crate) async fn new_webhook_endpoint(
    state: &AppState,
    scope: &TenantScope,
    origin: &Origin,
    spec: NewEndpointSpec<'_>,
) -> Result<(WebhookEndpoint, String), ApiError> {
    let mut validation = Validation::default();
    let url = spec.url.trim();
    check_url(state, &mut validation, url).await?;
    check_description(&mut validation, spec.description);
    let event_types = check_event_types(&mut validation, spec.event_types);
    check_rate_limit(&mut validation, spec.rate_limit);
    validation.finish()?;
    let new = NewWebhookEndpoint {
        url,
        description: spec.description.trim(),
        event_types: &event_types,
        rate_limit: spec.rate_limit,
    };
    let (endpoint, secret) = state.store.create_webhook_endpoint(scope, origin, new).await?;
    Ok((endpoint, secret.expose()))
}

/// Create a webhook endpoint; the answer holds its signing secret, shown this once.
#[utoipa::path(post, path = "/workspaces/{ws}/webhook-endpoints", tag = "webhooks", params(WsPath),
    request_body = WebhookEndpointIn,
    responses((status = 201, body = WebhookEndpointSecretOut)),
    security(("user" = ["webhooks:write"]), ("api_key" = ["webhooks:write"])))]
async fn create_webhook_endpoint(
    State(state): State<AppState>,
    auth: Authorized<WebhooksWrite>,
    ApiJson(input): ApiJson<WebhookEndpointIn>,
) -> Result<impl IntoResponse, ApiError> {
    let spec = NewEndpointSpec {
        url: &input.url,
        description: &input.description,
        event_types: &input.event_types,
        rate_limit: input.rate_limit,
    };
    let (endpoint, secret) = new_webhook_endpoint(&state, &auth.scope, &auth.origin, spec).await?;
    let created = WebhookEndpointSecretOut { endpoint: endpoint.into(), secret };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// List the workspace's webhook endpoints.
#[utoipa::path(get, path = "/workspaces/{ws}/webhook-endpoints", tag = "webhooks", params(WsPath, PageQuery),
    responses((status = 200, body = PageOut<WebhookEndpointOut>)),
    security(("user" = ["webhooks:read"]), ("api_key" = ["webhooks:read"])))]
async fn list_webhook_endpoints(
    State(state): State<AppState>,
    auth: Authorized<WebhooksRead>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let page = state.store.webhook_endpoints(&auth.scope, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, WebhookEndpointOut::from)))
}

/// Read a webhook endpoint (its secret is never shown again).
#[utoipa::path(get, path = "/workspaces/{ws}/webhook-endpoints/{ep}", tag = "webhooks",
    params(WsPath, EndpointPath), responses((status = 200, body = WebhookEndpointOut)),
    security(("user" = ["webhooks:read"]), ("api_key" = ["webhooks:read"])))]
async fn get_webhook_endpoint(auth: Authorized<WebhooksRead, WebhookEndpoint>) -> impl IntoResponse {
    axum::Json(WebhookEndpointOut::from(auth.resource))
}

/// Change an endpoint's URL, description, event types, rate limit, or enable/disable it.
#[utoipa::path(patch, path = "/workspaces/{ws}/webhook-endpoints/{ep}", tag = "webhooks",
    params(WsPath, EndpointPath), request_body = WebhookEndpointPatchIn,
    responses((status = 200, body = WebhookEndpointOut)),
    security(("user" = ["webhooks:write"]), ("api_key" = ["webhooks:write"])))]
async fn update_webhook_endpoint(
    State(state): State<AppState>,
    auth: Authorized<WebhooksWrite, WebhookEndpoint>,
    ApiJson(input): ApiJson<WebhookEndpointPatchIn>,
) -> Result<impl IntoResponse, ApiError> {
    let mut validation = Validation::default();
    let url = input.url.as_deref().map(str::trim);
    if let Some(url) = url {
        check_url(&state, &mut validation, url).await?;
    }
    if let Some(description) = &input.description {
        check_description(&mut validation, description);
    }
    let event_types = input.event_types.as_deref().map(|raw| check_event_types(&mut validation, raw));
    check_rate_limit(&mut validation, input.rate_limit.flatten());
    validation.finish()?;
    let patch = WebhookEndpointPatch {
        url,
        description: input.description.as_deref().map(str::trim),
        event_types: event_types.as_deref(),
        enabled: input.enabled,
        rate_limit: input.rate_limit,
    };
    let endpoint = state.store.update_webhook_endpoint(&auth.scope, &auth.origin, &auth.resource.id, patch).await?;
    Ok(axum::Json(WebhookEndpointOut::from(endpoint)))
}

/// Delete an endpoint with its deliveries and attempts.
#[utoipa::path(delete, path = "/workspaces/{ws}/webhook-endpoints/{ep}", tag = "webhooks",
    params(WsPath, EndpointPath), responses((status = 204, description = "Deleted")),
    security(("user" = ["webhooks:write"]), ("api_key" = ["webhooks:write"])))]
async fn delete_webhook_endpoint(
    State(state): State<AppState>,
    auth: Authorized<WebhooksWrite, WebhookEndpoint>,
) -> Result<impl IntoResponse, ApiError> {
    state.store.delete_webhook_endpoint(&auth.scope, &auth.origin, &auth.resource.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the signing secret. The old one keeps signing too for 24 hours (two signatures in
/// `webhook-signature`), so the receiver can switch without missing a delivery.
#[utoipa::path(post, path = "/workspaces/{ws}/webhook-endpoints/{ep}/rotate-secret", tag = "webhooks",
    params(WsPath, EndpointPath), responses((status = 200, body = WebhookEndpointSecretOut)),
    security(("user" = ["webhooks:write"]), ("api_key" = ["webhooks:write"])))]
async fn rotate_webhook_secret(
    State(state): State<AppState>,
    auth: Authorized<WebhooksWrite, WebhookEndpoint>,
) -> Result<impl IntoResponse, ApiError> {
    let (endpoint, secret) = state.store.rotate_webhook_secret(&auth.scope, &auth.origin, &auth.resource.id).await?;
    Ok(axum::Json(WebhookEndpointSecretOut { endpoint: endpoint.into(), secret: secret.expose() }))
}

/// The endpoint's delivery attempts, newest first.
#[utoipa::path(get, path = "/workspaces/{ws}/webhook-endpoints/{ep}/attempts", tag = "webhooks",
    params(WsPath, EndpointPath, PageQuery), responses((status = 200, body = PageOut<WebhookAttemptOut>)),
    security(("user" = ["webhooks:read"]), ("api_key" = ["webhooks:read"])))]
async fn list_webhook_attempts(
    State(state): State<AppState>,
    auth: Authorized<WebhooksRead, WebhookEndpoint>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    let page = state.store.webhook_attempts(&auth.scope, &auth.resource.id, request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, WebhookAttemptOut::from)))
}

/// Send an `endpoint.test` event to this endpoint alone; its attempt appears under `attempts`.
#[utoipa::path(post, path = "/workspaces/{ws}/webhook-endpoints/{ep}/test", tag = "webhooks",
    params(WsPath, EndpointPath), responses((status = 202, body = EventOut)),
    security(("user" = ["webhooks:write"]), ("api_key" = ["webhooks:write"])))]
async fn send_test_event(
    State(state): State<AppState>,
    auth: Authorized<WebhooksWrite, WebhookEndpoint>,
) -> Result<impl IntoResponse, ApiError> {
    let event = state.store.send_test_event(&auth.scope, &auth.resource.id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(EventOut::from(event))))
}
