//! Liveness, readiness and metrics, outside `/api`.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(get_metrics))
}

/// The process is up and answering.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// The database answers and its schema is current.
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

async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], state.metrics.render(state.store.pool_stats()))
}
