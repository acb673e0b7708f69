//! The JSON API under `/api/v1`. Every route is registered through `utoipa_axum`'s `routes!`, so
//! the OpenAPI document cannot miss one (`clippy.toml` forbids the undocumented `route`).

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub mod api_keys;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod events;
pub mod health;
pub mod me;
pub mod members;
pub mod n8n;
pub mod page;
pub mod runs;
pub mod schedules;
pub mod webhook_endpoints;
pub mod workflows;
pub mod workspaces;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router(state))
        .merge(me::router())
        .merge(workspaces::router())
        .merge(members::router())
        .merge(api_keys::router())
        .merge(audit::router())
        .merge(workflows::router())
        .merge(n8n::router())
        .merge(runs::router())
        .merge(attachments::router())
        .merge(webhook_endpoints::router())
        .merge(events::router())
        .merge(schedules::router())
}

/// API times are RFC 3339 in UTC, with millisecond precision.
pub(crate) fn rfc3339(epoch_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(epoch_ms).map_or_else(|_| epoch_ms.to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_render_as_rfc3339_utc() {
        assert_eq!(super::rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
