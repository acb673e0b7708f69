//! The workspace's events (the outbox): listed, read, and replayed to the webhook endpoints.
//! The catalogue of event types is in the OpenAPI document as the `EventType` schema.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::{EventType, TenantScope};
use weft_store::Event;

use crate::api::page::{ApiQuery, PageOut, PageQuery, request};
use crate::api::rfc3339;
use crate::api::workspaces::WsPath;
use crate::error::ApiError;
use crate::extract::Authorized;
use crate::extract::PathResource;
use crate::extract::gate::{WebhooksRead, WebhooksWrite};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events)).routes(routes!(get_event)).routes(routes!(replay_event))
}

/// The event-type catalogue as a schema: one string constant per type, with its description.
pub struct EventTypeName;

impl PartialSchema for EventTypeName {
    fn schema() -> RefOr<Schema> {
        let mut one_of = OneOfBuilder::new().description(Some("A workspace event type (docs/webhooks.md)."));
        for event in EventType::ALL {
            one_of = one_of.item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([event.as_str()]))
                    .description(Some(event.description())),
            );
        }
        one_of.into()
    }
}

impl ToSchema for EventTypeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventType")
    }
}

impl PathResource for Event {
    const PARAM: Option<&'static str> = Some("evt");

    async fn load(state: &AppState, scope: &TenantScope, raw: &str) -> Result<Event, ApiError> {
        let id = raw.parse().map_err(|_| ApiError::NotFound)?;
        Ok(state.store.event(scope, &id).await?)
    }
}

/// The `{evt}` path segment, declared for the spec; the `Authorized` extractor loads it.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EventPath {
    /// The event's id (`evt_…`), also the `webhook-id` of its deliveries.
    pub evt: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    pub id: String,
    #[serde(rename = "type")]
    #[schema(value_type = EventTypeName)]
    pub event_type: String,
    /// The exact body delivered: `{type, timestamp, data}`.
    pub payload: serde_json::Value,
    pub created_at: String,
}

impl From<Event> for EventOut {
    fn from(event: Event) -> Self {
        EventOut {
            id: event.id.to_string(),
            event_type: event.event_type,
            payload: event.payload,
            created_at: rfc3339(event.created_at),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventListQuery {
    /// Only events of this type, e.g. `run.failed`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReplayQuery {
    /// Deliver to this endpoint (`ep_…`) alone, subscribed or not; otherwise to every enabled
    /// endpoint subscribed to the event's type now.
    endpoint: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplayOut {
    /// Deliveries queued.
    pub deliveries: u64,
}

/// List the workspace's events, newest first.
#[utoipa::path(get, path = "/workspaces/{ws}/events", tag = "webhooks", params(WsPath, EventListQuery, PageQuery),
    responses((status = 200, body = PageOut<EventOut>)),
    security(("user" = ["webhooks:read"]), ("api_key" = ["webhooks:read"])))]
async fn list_events(
    State(state): State<AppState>,
    auth: Authorized<WebhooksRead>,
    ApiQuery(query): ApiQuery<EventListQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, after) = page.decode()?;
    if let Some(name) = &query.event_type
        && EventType::parse(name).is_none()
    {
        return Err(ApiError::field("?type", format!("`{name}` is not an event type")));
    }
    let page = state.store.events(&auth.scope, query.event_type.as_deref(), request(limit, &after)).await?;
    Ok(axum::Json(PageOut::from_page(page, EventOut::from)))
}

/// Read an event.
#[utoipa::path(get, path = "/workspaces/{ws}/events/{evt}", tag = "webhooks", params(WsPath, EventPath),
    responses((status = 200, body = EventOut)),
    security(("user" = ["webhooks:read"]), ("api_key" = ["webhooks:read"])))]
async fn get_event(auth: Authorized<WebhooksRead, Event>) -> impl IntoResponse {
    axum::Json(EventOut::from(auth.resource))
}

/// Deliver an event again, with the same id and body.
#[utoipa::path(post, path = "/workspaces/{ws}/events/{evt}/replay", tag = "webhooks",
    params(WsPath, EventPath, ReplayQuery), responses((status = 202, body = ReplayOut)),
    security(("user" = ["webhooks:write"]), ("api_key" = ["webhooks:write"])))]
async fn replay_event(
    State(state): State<AppState>,
    auth: Authorized<WebhooksWrite, Event>,
    ApiQuery(query): ApiQuery<ReplayQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let endpoint = query
        .endpoint
        .as_deref()
        .map(|raw| raw.parse().map_err(|_| ApiError::field("?endpoint", "is not an endpoint id")))
        .transpose()?;
    let replay = state.store.replay_event(&auth.scope, &auth.resource.id, endpoint.as_ref()).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(ReplayOut { deliveries: replay.deliveries })))
}
