//! Response hardening and request deadlines.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

const CSP: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";
const HSTS: &str = "max-age=63072000; includeSubDomains";

/// True when the client reached us over TLS: directly, or through a trusted proxy that says so.
fn over_https(request: &Request, trust_proxy: bool) -> bool {
    request.uri().scheme_str() == Some("https")
        || (trust_proxy
            && request
                .headers()
                .get("x-forwarded-proto")
                .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https")))
}

pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let https = over_https(&request, state.settings.trust_proxy);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

/// Abandons a request that runs past the configured deadline with a 503 problem. A webhook
/// request may also wait `webhook_wait` for its run's answer.
pub async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let mut limit = state.settings.request_timeout;
    if path.starts_with("/hooks/") || path.starts_with("/hooks-test/") {
        limit += state.settings.webhook_wait;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}
