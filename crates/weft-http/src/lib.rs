//! Weft's HTTP service: the JSON API, health and metrics, and the middleware every request
//! passes through (request id and tracing, metrics, deadline, panic guard, security headers,
//! CORS, body limit). Every error leaves as RFC 9457 problem+json.
#![forbid(unsafe_code)]

mod account_mail;
pub mod api;
pub mod error;
mod extract;
mod hooks;
mod json;
pub mod metrics;
mod observe;
pub mod openapi;
pub mod rate_limit;
mod security;
mod state;
pub mod tokens;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use api::auth::TokensOut;
pub use api::me::{SessionOut, SessionsOut, UserOut};
pub use error::{ApiError, FieldError, Problem};
pub use state::{AppState, HttpSettings, Quotas};
pub use tokens::TokenKeys;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (routes, openapi) = OpenApiRouter::with_openapi(openapi::base())
        .merge(api::health::router())
        .merge(hooks::router())
        .nest("/api/v1", api::router(&state))
        .split_for_parts();
    let docs = SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi::finish(openapi));
    routes
        .merge(docs)
        .merge(ui::router(&state))
        .route_layer(from_fn(observe::tag_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn(extract::rate_limit_headers))
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
        .layer(from_fn_with_state(state.clone(), security::deadline))
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::Internal("a request handler panicked".into()).into_response()
        }))
        // Outside the panic guard and the deadline, so a browser gets a page for theirs too.
        .layer(from_fn(ui::error_pages_for_browsers))
        // Outside the deadline and the panic guard, so their answers get these headers too.
        .layer(from_fn_with_state(state.clone(), security::security_headers))
        .layer(cors(&state.settings.cors_origins))
        .layer(from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NoRoute
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins = origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok());
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(observe::REQUEST_ID_HEADER),
        ])
        .expose_headers([
            HeaderName::from_static(observe::REQUEST_ID_HEADER),
            header::RETRY_AFTER,
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Serves on an already-bound listener until `shutdown` completes, then stops accepting and
/// waits for in-flight requests (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = state.background.clone();
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, service).with_graceful_shutdown(shutdown).await;
    // Mail queued by the last requests still goes out; the caller bounds the whole drain.
    background.close();
    background.wait().await;
    served
}
