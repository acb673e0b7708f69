//! Applying the request budgets. The credential checks decide per API key or per user; public
//! routes decide per client address. Every decision's `RateLimit-Policy` and `RateLimit` headers
//! reach the response through a slot the outer middleware reads after the handler ran.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use weft_domain::{Decision, Quota};

use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::rate_limit::headers;
use crate::state::AppState;

/// Where a decision leaves its headers for the response.
#[derive(Clone, Default)]
pub struct RateLimitSlot(Arc<Mutex<Vec<(HeaderName, HeaderValue)>>>);

/// Outer middleware: gives each request a slot and copies what it holds onto the response.
pub async fn rate_limit_headers(mut request: Request, next: Next) -> Response {
    let slot = RateLimitSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let decided = std::mem::take(&mut *slot.0.lock().unwrap_or_else(PoisonError::into_inner));
    response.headers_mut().extend(decided);
    response
}

/// Spends one request of `key`'s budget; over budget is a 429 quota problem.
pub(crate) async fn enforce(
    parts: &Parts,
    state: &AppState,
    policy: &'static str,
    key: &str,
    quota: &Quota,
) -> Result<(), ApiError> {
    let decision = state.limiter.check(key, quota).await;
    if let Some(slot) = parts.extensions.get::<RateLimitSlot>() {
        slot.0.lock().unwrap_or_else(PoisonError::into_inner).extend(headers(policy, quota, &decision));
    }
    match decision {
        Decision::Allowed { .. } => Ok(()),
        Decision::Limited { retry_after } => Err(ApiError::QuotaExceeded { policy, retry_after }),
    }
}

/// Route middleware for routes that need no credential: a budget per client address.
pub async fn limit_by_ip(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(client) =
        <ClientInfo as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state).await;
    let key = format!("ip:{}", client.ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()));
    if let Err(error) = enforce(&parts, &state, "ip", &key, &state.settings.quotas.ip).await {
        return error.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
