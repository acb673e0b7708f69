//! Everything that can stop an outbound request. The messages are written for the workflow author
//! who supplied the URL: they say what went wrong in their terms and leave out what only Weft's
//! network knows (resolved internal addresses, which reserved range matched, socket errors). The
//! `#[source]` chain keeps those details for the logs.

use std::time::Duration;

use super::policy::Blocked;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL does not parse, or its scheme is not `http` or `https`.
    #[error("invalid URL: {0}")]
    BadUrl(String),
    /// The host is, or resolves to, an address the policy refuses. The address is not in the
    /// message: for a name it would tell the author what Weft's DNS says about internal hosts.
    #[error("requests to {host} are not allowed: it is a private, local or reserved address")]
    Blocked {
        host: String,
        #[source]
        blocked: Blocked,
    },
    /// The host is a name refused outright (a cloud metadata service).
    #[error("requests to {host} are not allowed")]
    BlockedName { host: String },
    #[error("could not resolve the host name {host}")]
    Unresolvable {
        host: String,
        #[source]
        source: reqwest::Error,
    },
    /// No connection to the host's addresses, or the TLS handshake failed.
    #[error("could not connect to {host}")]
    Connect {
        host: String,
        #[source]
        source: reqwest::Error,
    },
    /// The whole exchange — lookup, connection, every redirect and the body — took longer than
    /// the request's timeout.
    #[error("the request timed out after {after:?}")]
    Timeout { after: Duration },
    #[error("the response is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request was redirected more than {limit} times")]
    TooManyRedirects { limit: usize },
    /// Anything else between connecting and the end of the body: a dropped connection, a
    /// response that is not HTTP.
    #[error("the request failed: the connection broke or the server did not answer with valid HTTP")]
    Http(#[source] reqwest::Error),
}
