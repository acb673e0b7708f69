use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::state::AppState;

/// The caller's address and user agent, for sessions, throttling and audit.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The request's origin as the audit log records it.
    pub fn origin(&self) -> weft_store::Origin {
        weft_store::Origin { ip: self.ip.map(|ip| ip.to_string()), user_agent: self.user_agent.clone() }
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let forwarded = state
            .settings
            .trust_proxy
            // The last hop is the one our own proxy appended; earlier ones are the client's word.
            .then(|| parts.headers.get("x-forwarded-for")?.to_str().ok()?.rsplit(',').next()?.trim().parse().ok())
            .flatten();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        Ok(ClientInfo { ip: forwarded.or(peer), user_agent })
    }
}
