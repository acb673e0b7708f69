//! The DNS resolver the outbound client connects through. Checking a name's addresses and then
//! letting the HTTP client look the name up again would leave a gap: a DNS server that answers
//! with a public address the first time and `127.0.0.1` the second (DNS rebinding) would slip
//! through. Here the one lookup is the one connected to: reqwest receives exactly the addresses
//! that passed [`OutboundPolicy::check`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::{Blocked, OutboundPolicy};

#[derive(Debug)]
pub(super) struct CheckedResolver {
    policy: Arc<OutboundPolicy>,
}

impl CheckedResolver {
    pub(super) fn new(policy: Arc<OutboundPolicy>) -> Self {
        Self { policy }
    }
}

/// Travels to the caller inside reqwest's error, where `OutboundClient` finds it again to report
/// a refusal or a failed lookup in its own terms.
#[derive(Debug, thiserror::Error)]
pub(super) enum ResolveError {
    #[error("{host} did not resolve to any address")]
    NotFound {
        host: String,
        #[source]
        source: Option<io::Error>,
    },
    #[error("{host} resolves to a refused address")]
    Blocked {
        host: String,
        #[source]
        blocked: Blocked,
    },
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let addrs = resolve_checked(&policy, name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Resolves `host` once and refuses it if **any** of its addresses is refused. Connecting only to
/// the allowed ones would work too, but a name that mixes public and internal addresses is either
/// a misconfiguration or an attack, and refusing it says so plainly instead of failing now and
/// then, whenever the allowed address happens to be down.
///
/// The port is left 0: the connector puts the URL's port (or the scheme's default) in its place.
async fn resolve_checked(policy: &OutboundPolicy, host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|error| ResolveError::NotFound { host: host.to_owned(), source: Some(error) })?
        .collect();
    if addrs.is_empty() {
        return Err(ResolveError::NotFound { host: host.to_owned(), source: None });
    }
    for addr in &addrs {
        policy.check(addr.ip()).map_err(|blocked| ResolveError::Blocked { host: host.to_owned(), blocked })?;
    }
    Ok(addrs)
}
