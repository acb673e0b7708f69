//! Per-request observability: the request id (accepted from `x-request-id` or generated, echoed
//! back, and available to error rendering through a task-local), a tracing span, and the
//! request count and latency metrics labelled by route template.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::state::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, when called inside one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The route template that matched, carried from the router out to [`observe`].
#[derive(Clone)]
struct RouteTemplate(String);

/// A client's id is kept when it is short, visible ASCII; otherwise a new one is made.
fn acceptable_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = (1..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| text.to_owned())
}

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| ulid::Ulid::new().to_string().to_ascii_lowercase());
    let method = request.method().clone();
    let span = tracing::info_span!("request", id = %request_id, %method, path = %request.uri().path());
    let started = Instant::now();

    let mut response = REQUEST_ID.scope(request_id.clone(), next.run(request)).instrument(span.clone()).await;

    let elapsed = started.elapsed();
    let status = response.status();
    let route = response.extensions().get::<RouteTemplate>().map_or("unmatched", |r| r.0.as_str());
    state.metrics.observe_request(method.as_str(), route, status.as_u16(), elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::warn!(parent: &span, status = status.as_u16(), latency_ms, "request failed");
    } else {
        tracing::debug!(parent: &span, status = status.as_u16(), latency_ms, "request finished");
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Route layer: records which template matched so [`observe`] can label metrics without
/// exploding their cardinality with raw paths.
pub async fn tag_route(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(RouteTemplate(matched.as_str().to_owned()));
    }
    response
}
