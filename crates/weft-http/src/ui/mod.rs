//! The web UI: pages rendered on the server from askama templates compiled into the binary, a
//! little hand-written JavaScript for progressive enhancement, and hand-written CSS, all served
//! by this binary. Pages call the same store functions as the API, through the same
//! `TenantScope` checks ([`session::Page`] wraps the API's `Authorized`).

mod account;
mod api_keys;
pub mod assets;
mod audit;
mod dashboard;
mod error;
mod forms;
mod graph;
mod home;
mod members;
mod run;
mod runs;
mod session;
mod settings;
mod text;
mod webhooks;
mod workflows;

use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

pub use error::UiError;

use crate::error::{PROBLEM_JSON, Problem};
use crate::state::AppState;
use crate::ui::error::ErrorPage;

/// Every page's route. Pages are not API endpoints, so they stay out of the OpenAPI document.
#[allow(clippy::disallowed_methods)]
pub fn router(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(home::index))
        .route("/login", get(account::login_page).post(account::login))
        .route("/signup", get(account::signup_page).post(account::signup))
        .route("/logout", post(account::logout))
        .route("/switch", get(home::switch))
        .route("/workspaces/new", get(home::new_workspace_page).post(home::create_workspace))
        .merge(runs::routes())
        .merge(dashboard::routes())
        .merge(webhooks::routes())
        .merge(audit::routes())
        .merge(account::routes())
        .merge(members::routes())
        .merge(api_keys::routes())
        .merge(settings::routes())
        .merge(workflows::routes())
        .merge(run::routes())
        .layer(from_fn_with_state(state.clone(), session::ui_cookies));
    Router::new().route("/assets/{name}", get(assets::serve)).merge(pages)
}

/// A rendered page, 200.
pub fn render(page: &impl Template) -> Result<Response, UiError> {
    Ok(Html(page.render()?).into_response())
}

/// A rendered page with another status (a form shown again with its errors).
pub fn render_with(status: StatusCode, page: &impl Template) -> Result<Response, UiError> {
    Ok((status, Html(page.render()?)).into_response())
}

/// Whether a request came from a browser navigating (it prefers HTML), not an API client.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// A browser that lands on an error outside the API (an unknown address, a body too large, a
/// timeout, a panic) gets the friendly page with the same status instead of problem+json.
pub async fn error_pages_for_browsers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let for_browser = wants_html(request.headers()) && !path.starts_with("/api/") && !path.starts_with("/hooks");
    let response = next.run(request).await;
    let is_problem = response.headers().get(header::CONTENT_TYPE).is_some_and(|kind| kind == PROBLEM_JSON);
    if !for_browser || !is_problem {
        return response;
    }
    let status = response.status();
    let detail = if status.is_server_error() {
        "The error has been logged. Try again in a moment.".to_owned()
    } else {
        let body = axum::body::to_bytes(response.into_body(), PROBLEM_BODY_LIMIT).await.unwrap_or_default();
        serde_json::from_slice::<Problem>(&body).map_or_else(|_| status.to_string(), |problem| problem.detail)
    };
    ErrorPage::for_status(status, detail).into_response_with(status)
}

/// Problems are small; a larger body is not one of ours.
const PROBLEM_BODY_LIMIT: usize = 64 * 1024;

/// Where to go after signing in: only a path on this site, never another origin.
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\") => path,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/w/acme/runs?status=failed")), "/w/acme/runs?status=failed");
        for hostile in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"] {
            assert_eq!(local_path(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(local_path(None), "/");
    }
}
