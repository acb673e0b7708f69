//! Webhook endpoints: list, create (the signing secret shown once), and an endpoint's page with
//! its delivery attempts, test and replay, enable/disable, secret rotation and deletion. The
//! checks are the API's (`new_webhook_endpoint`), SSRF guard included.

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use weft_domain::TenantScope;
use weft_domain::{EventId, EventType};
use weft_store::{WebhookEndpoint, WebhookEndpointPatch};

use crate::api::page::{PageOut, PageQuery, request};
use crate::api::webhook_endpoints::{NewEndpointSpec, new_webhook_endpoint};
use crate::error::ApiError;
use crate::extract::gate::{WebhooksRead, WebhooksWrite};
use crate::state::AppState;
use crate::ui::forms::FormErrors;
use crate::ui::session::{CsrfForm, Flash, NoFields, Page, Shell, redirect_with};
use crate::ui::text::{duration_text, utc_minute};
use crate::ui::{UiError, render, render_with};

/// Endpoints per page of the list.
const ENDPOINTS_PER_PAGE: u32 = 50;
/// Attempts per page of an endpoint's page.
const ATTEMPTS_PER_PAGE: u32 = 25;

/// The webhook pages: page routes, not API, so they are routed without the OpenAPI router.
#[allow(clippy::disallowed_methods)]
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/webhooks", get(list_page))
        .route("/w/{ws}/webhooks/new", get(new_page).post(create))
        .route("/w/{ws}/webhooks/{ep}", get(endpoint_page))
        .route("/w/{ws}/webhooks/{ep}/test", post(send_test))
        .route("/w/{ws}/webhooks/{ep}/enabled", post(set_enabled))
        .route("/w/{ws}/webhooks/{ep}/rotate", post(rotate))
        .route("/w/{ws}/webhooks/{ep}/replay", post(replay))
        .route("/w/{ws}/webhooks/{ep}/delete", post(delete))
}

#[derive(Debug, Default, Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

fn cursor_of(raw: Option<String>) -> Result<CursorQuery, UiError> {
    raw.map_or_else(
        || Ok(CursorQuery::default()),
        |raw| {
            serde_urlencoded::from_str(&raw).map_err(|e| UiError::BadRequest(format!("the address is malformed: {e}")))
        },
    )
}

/// An endpoint as the pages show it.
struct EndpointView {
    id: String,
    url: String,
    description: String,
    /// Event type names; empty for every type.
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    failing_since: Option<String>,
    previous_secret_until: Option<String>,
    created: String,
}

impl From<WebhookEndpoint> for EndpointView {
    fn from(endpoint: WebhookEndpoint) -> Self {
        EndpointView {
            id: endpoint.id.to_string(),
            url: endpoint.url,
            description: endpoint.description,
            event_types: endpoint.event_types,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            failing_since: endpoint.failing_since.map(utc_minute),
            previous_secret_until: endpoint.previous_secret_until.map(utc_minute),
            created: utc_minute(endpoint.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    shell: Shell,
    section: &'static str,
    endpoints: Vec<EndpointView>,
    next_url: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    page: Page<WebhooksRead>,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let query = cursor_of(raw)?;
    let (limit, after) = PageQuery { limit: Some(ENDPOINTS_PER_PAGE), cursor: query.cursor }.decode()?;
    let endpoints = state.store.webhook_endpoints(&page.auth.scope, request(limit, &after)).await?;
    let endpoints = PageOut::from_page(endpoints, EndpointView::from);
    let next_url = endpoints.next_cursor.map(|cursor| format!("/w/{}/webhooks?cursor={cursor}", page.shell.slug()));
    render(&ListPage { shell: page.shell, section: "webhooks", endpoints: endpoints.items, next_url })
}

/// One event type's checkbox.
struct EventChoice {
    name: &'static str,
    description: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "webhook_new.html")]
struct NewPage {
    shell: Shell,
    section: &'static str,
    url: String,
    description: String,
    events: Vec<EventChoice>,
    errors: FormErrors,
    /// A refused event type (only a tampered form sends one).
    events_error: Option<String>,
}

fn event_choices(checked: &[String]) -> Vec<EventChoice> {
    EventType::ALL
        .into_iter()
        .map(|event| EventChoice {
            name: event.as_str(),
            description: event.description(),
            checked: checked.iter().any(|name| name == event.as_str()),
        })
        .collect()
}

async fn new_page(page: Page<WebhooksWrite>) -> Result<Response, UiError> {
    render(&NewPage {
        shell: page.shell,
        section: "webhooks",
        url: String::new(),
        description: String::new(),
        events: event_choices(&[]),
        errors: FormErrors::default(),
        events_error: None,
    })
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct EndpointPage {
    shell: Shell,
    section: &'static str,
    endpoint: EndpointView,
    /// The signing secret, right after creation or rotation: shown this once.
    secret: Option<String>,
    attempts: Vec<AttemptRow>,
    next_url: Option<String>,
    newest_url: Option<String>,
}

/// One delivery attempt as a row.
struct AttemptRow {
    event: String,
    succeeded: bool,
    answer: String,
    latency: String,
    trigger: String,
    at: String,
}

/// An endpoint's page: its settings and a page of its attempts, with the secret when just made.
async fn endpoint_view(
    state: &AppState,
    scope: &TenantScope,
    shell: Shell,
    endpoint: WebhookEndpoint,
    cursor: Option<String>,
    secret: Option<String>,
) -> Result<EndpointPage, UiError> {
    let (limit, after) = PageQuery { limit: Some(ATTEMPTS_PER_PAGE), cursor: cursor.clone() }.decode()?;
    let attempts = state.store.webhook_attempts(scope, &endpoint.id, request(limit, &after)).await?;
    let attempts = PageOut::from_page(attempts, |attempt| AttemptRow {
        event: attempt.event.to_string(),
        succeeded: attempt.succeeded,
        answer: match (attempt.status_code, attempt.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(error)) => error,
            (None, None) => "no answer".to_owned(),
        },
        latency: duration_text(attempt.latency_ms),
        trigger: attempt.trigger,
        at: utc_minute(attempt.created_at),
    });
    let base = format!("/w/{}/webhooks/{}", shell.slug(), endpoint.id);
    Ok(EndpointPage {
        section: "webhooks",
        secret,
        attempts: attempts.items,
        next_url: attempts.next_cursor.map(|next| format!("{base}?cursor={next}")),
        newest_url: cursor.map(|_| base),
        endpoint: endpoint.into(),
        shell,
    })
}

async fn endpoint_page(
    State(state): State<AppState>,
    page: Page<WebhooksRead, WebhookEndpoint>,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let query = cursor_of(raw)?;
    let view = endpoint_view(&state, &page.auth.scope, page.shell, page.auth.resource, query.cursor, None).await?;
    render(&view)
}

/// The create form's fields; event types repeat, one per ticked box.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str())
}

/// Creates the endpoint and shows its page with the secret, this once (the response is not a
/// redirect so the secret never lands in a URL, cookie or history entry that could replay it).
async fn create(
    State(state): State<AppState>,
    page: Page<WebhooksWrite>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let (url, description) = (field(&fields, "url"), field(&fields, "description"));
    let event_types: Vec<String> =
        fields.iter().filter(|(key, _)| key == "event_types").map(|(_, value)| value.clone()).collect();
    let spec = NewEndpointSpec { url, description, event_types: &event_types, rate_limit: None };
    match new_webhook_endpoint(&state, &page.auth.scope, &page.auth.origin, spec).await {
        Ok((endpoint, secret)) => {
            let mut view = endpoint_view(&state, &page.auth.scope, page.shell, endpoint, None, Some(secret)).await?;
            view.shell.flash = Some(Flash::success("The endpoint is ready. Copy its signing secret now."));
            render(&view)
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            let events_error = errors
                .fields()
                .iter()
                .find(|(pointer, _)| pointer.starts_with("/event_types"))
                .map(|(_, detail)| detail.clone());
            let view = NewPage {
                shell: page.shell,
                section: "webhooks",
                url: url.to_owned(),
                description: description.to_owned(),
                events: event_choices(&event_types),
                errors,
                events_error,
            };
            render_with(status, &view)
        }
    }
}

fn endpoint_path(page: &Page<WebhooksWrite, WebhookEndpoint>) -> String {
    format!("/w/{}/webhooks/{}", page.shell.slug(), page.auth.resource.id)
}

async fn send_test(
    State(state): State<AppState>,
    page: Page<WebhooksWrite, WebhookEndpoint>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    let event = state.store.send_test_event(&page.auth.scope, &page.auth.resource.id).await?;
    let flash = Flash::success(format!("Test event {} is on its way; its attempt appears below.", event.id));
    Ok(redirect_with(&state, &endpoint_path(&page), flash))
}

#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: bool,
}

async fn set_enabled(
    State(state): State<AppState>,
    page: Page<WebhooksWrite, WebhookEndpoint>,
    CsrfForm(form): CsrfForm<EnabledForm>,
) -> Result<Response, UiError> {
    let patch = WebhookEndpointPatch { enabled: Some(form.enabled), ..WebhookEndpointPatch::default() };
    let (scope, origin) = (&page.auth.scope, &page.auth.origin);
    state.store.update_webhook_endpoint(scope, origin, &page.auth.resource.id, patch).await?;
    let message =
        if form.enabled { "The endpoint is enabled." } else { "The endpoint is disabled; events wait for it." };
    Ok(redirect_with(&state, &endpoint_path(&page), Flash::success(message)))
}

/// Replaces the secret and shows the new one this once; the old one signs too for 24 hours.
async fn rotate(
    State(state): State<AppState>,
    page: Page<WebhooksWrite, WebhookEndpoint>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    let (scope, origin) = (&page.auth.scope, &page.auth.origin);
    let (endpoint, secret) = state.store.rotate_webhook_secret(scope, origin, &page.auth.resource.id).await?;
    let mut view = endpoint_view(&state, scope, page.shell, endpoint, None, Some(secret.expose())).await?;
    view.shell.flash = Some(Flash::success("The secret is rotated. Copy the new one now."));
    render(&view)
}

#[derive(Deserialize)]
pub struct ReplayForm {
    event: String,
}

async fn replay(
    State(state): State<AppState>,
    page: Page<WebhooksWrite, WebhookEndpoint>,
    CsrfForm(form): CsrfForm<ReplayForm>,
) -> Result<Response, UiError> {
    let event: EventId = form.event.parse().map_err(|_| ApiError::NotFound)?;
    state.store.replay_event(&page.auth.scope, &event, Some(&page.auth.resource.id)).await?;
    let flash = Flash::success(format!("Event {event} is queued again for this endpoint."));
    Ok(redirect_with(&state, &endpoint_path(&page), flash))
}

async fn delete(
    State(state): State<AppState>,
    page: Page<WebhooksWrite, WebhookEndpoint>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    let endpoint = &page.auth.resource;
    state.store.delete_webhook_endpoint(&page.auth.scope, &page.auth.origin, &endpoint.id).await?;
    let flash = Flash::success(format!("The endpoint for {} is deleted.", endpoint.url));
    Ok(redirect_with(&state, &format!("/w/{}/webhooks", page.shell.slug()), flash))
}
