//! Liveness, readiness and metrics, outside `/api`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(get_metrics))
}

/// Liveness: the process is up and answering.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "`{\"status\": \"ok\"}`")))]
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and its schema is current (503 otherwise).
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "`{\"status\": \"ready\", \"database\": \"sqlite\"}`")))]
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let unreachable = ApiError::Unavailable("the database is not reachable");
    state.store.ping().await.map_err(|error| {
        tracing::warn!(error = %error, "readiness: database ping failed");
        unreachable
    })?;
    let current = state.store.migrations_current().await.unwrap_or(false);
    if !current {
        return Err(ApiError::Unavailable("database migrations are not current; run `weft migrate`"));
    }
    Ok(axum::Json(json!({ "status": "ready", "database": state.store.backend().name() })))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], state.metrics.render(state.store.pool_stats()))
}
