//! The one way Weft sends HTTP requests to URLs that users supply (HTTP Request nodes, outbound
//! webhooks). Such a URL could point at Weft's own network — a database's admin port, another
//! tenant's service, the cloud metadata endpoint — so every destination goes through
//! [`OutboundPolicy`] before a connection is made (SSRF protection, SPECS §7):
//!
//! - only `http` and `https`;
//! - a host given as an IP address is checked before the request is sent (the HTTP client does
//!   not resolve it, so the resolver below never sees it);
//! - a host name is resolved once by [`resolve::CheckedResolver`], every address is checked, and
//!   the connection goes to exactly those addresses;
//! - redirects are never followed by the HTTP client; [`OutboundClient::send`] follows them itself
//!   and checks each hop like the first request;
//! - environment proxy settings are ignored, since a proxy would do the lookup instead of us;
//! - one timeout covers the whole exchange and the body is read up to a size limit.
//!
//! See `docs/outbound.md` for the operator's view.

mod error;
mod policy;
mod resolve;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName};
use reqwest::{Method, StatusCode, Url};

pub use error::OutboundError;
pub use policy::{Blocked, CidrError, OutboundPolicy};

use resolve::{CheckedResolver, ResolveError};

/// How many redirects one request follows before giving up with
/// [`OutboundError::TooManyRedirects`].
pub const MAX_REDIRECTS: usize = 5;

/// Sent unless the request sets its own, because some APIs (GitHub's among them) refuse requests
/// without a `User-Agent`.
const USER_AGENT: &str = concat!("Weft/", env!("CARGO_PKG_VERSION"));

/// Headers that carry the author's credentials for one site; they are dropped when a redirect
/// leads to another origin, so a redirect cannot hand them to a third party.
static CREDENTIAL_HEADERS: [HeaderName; 3] = [header::AUTHORIZATION, header::COOKIE, header::PROXY_AUTHORIZATION];

/// Headers that describe a request body; they go when a redirect turns the request into a GET.
static BODY_HEADERS: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
    header::CONTENT_LANGUAGE,
    header::CONTENT_LOCATION,
    header::TRANSFER_ENCODING,
];

/// The limits a request gets unless it sets its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundDefaults {
    pub timeout: Duration,
    pub max_response_bytes: usize,
}

impl Default for OutboundDefaults {
    /// 30 seconds and 10 MiB.
    fn default() -> Self {
        Self { timeout: Duration::from_secs(30), max_response_bytes: 10 * 1024 * 1024 }
    }
}

/// One request to a user-supplied URL.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: Method,
    /// As the user wrote it; [`OutboundClient::send`] parses it and answers
    /// [`OutboundError::BadUrl`] if it is not an absolute `http` or `https` URL.
    pub url: String,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// For the whole exchange, redirects and body included; [`OutboundDefaults::timeout`] if unset.
    pub timeout: Option<Duration>,
    /// [`OutboundDefaults::max_response_bytes`] if unset.
    pub max_response_bytes: Option<usize>,
    /// Follow up to [`MAX_REDIRECTS`] redirects (301, 302, 303, 307, 308), each hop checked like
    /// the first URL. When false, a redirect is returned as the response. Webhook deliveries set
    /// this to false: a receiver that redirects is misconfigured, and its delivery should fail.
    pub follow_redirects: bool,
}

impl OutboundRequest {
    /// A request with no headers or body, the default limits, following redirects.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            max_response_bytes: None,
            follow_redirects: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The URL that answered, after any redirects.
    pub final_url: Url,
}

/// The SSRF-guarded HTTP client. Cheap to clone; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    defaults: OutboundDefaults,
    /// A test setting: every request goes to this origin instead, path and query kept.
    host_override: Option<Url>,
}

impl OutboundClient {
    /// Fails only if the TLS backend cannot be set up.
    pub fn new(policy: OutboundPolicy, defaults: OutboundDefaults) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver::new(Arc::clone(&policy))))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(USER_AGENT)
            .build()?;
        Ok(Self { http, policy, defaults, host_override: None })
    }

    /// For tests that run real workflows against a local fake server: each request's scheme,
    /// host and port become `origin`'s (its path and query stay), then pass the usual checks,
    /// so the origin's address must be allowed by the policy.
    pub fn with_host_override(mut self, origin: Url) -> Self {
        self.host_override = Some(origin);
        self
    }

    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let after = request.timeout.unwrap_or(self.defaults.timeout);
        tokio::time::timeout(after, self.exchange(request)).await.map_err(|_| OutboundError::Timeout { after })?
    }

    async fn exchange(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let limit = request.max_response_bytes.unwrap_or(self.defaults.max_response_bytes);
        let OutboundRequest { mut method, url, mut headers, mut body, follow_redirects, .. } = request;
        let mut url = Url::parse(&url).map_err(|error| OutboundError::BadUrl(error.to_string()))?;
        if let Some(origin) = &self.host_override {
            url = overridden(&url, origin)?;
        }
        let mut redirects = 0;
        loop {
            check_destination(&self.policy, &url)?;
            let mut builder = self.http.request(method.clone(), url.clone()).headers(headers.clone());
            if let Some(body) = &body {
                builder = builder.body(body.clone());
            }
            let response = builder.send().await.map_err(|error| classify(error, &url))?;
            let status = response.status();
            let next = if follow_redirects { redirect_target(&response, &url) } else { None };
            let Some(next) = next else {
                let headers = response.headers().clone();
                let body = read_capped(response, limit).await?;
                return Ok(OutboundResponse { status, headers, body, final_url: url });
            };
            if redirects == MAX_REDIRECTS {
                return Err(OutboundError::TooManyRedirects { limit: MAX_REDIRECTS });
            }
            redirects += 1;
            // What browsers do (Fetch standard, "HTTP-redirect fetch"): 303 means "GET the
            // answer over there", and 301/302 after a POST are treated the same way for
            // historical reasons. 307 and 308 repeat the request as it was.
            let becomes_get = (status == StatusCode::SEE_OTHER && method != Method::GET && method != Method::HEAD)
                || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND) && method == Method::POST);
            if becomes_get {
                method = Method::GET;
                body = None;
                for name in &BODY_HEADERS {
                    headers.remove(name);
                }
            }
            if next.origin() != url.origin() {
                for name in &CREDENTIAL_HEADERS {
                    headers.remove(name);
                }
            }
            url = next;
        }
    }
}

/// `url` sent to `origin`: its scheme, host and port replaced.
fn overridden(url: &Url, origin: &Url) -> Result<Url, OutboundError> {
    let mut moved = url.clone();
    let refused = |_| OutboundError::BadUrl(format!("the host override {origin} cannot take {url}"));
    moved.set_scheme(origin.scheme()).map_err(refused)?;
    moved.set_host(origin.host_str()).map_err(|error| OutboundError::BadUrl(error.to_string()))?;
    moved.set_port(origin.port()).map_err(refused)?;
    Ok(moved)
}

/// What can be checked before sending: the scheme, a host given as an IP address (which the
/// HTTP client connects to without asking the resolver) and the names refused outright.
/// URL parsing has already turned `0x7f000001`, `2130706433`, `0177.0.0.1` and `127.1` into
/// `127.0.0.1`, so every spelling of an address arrives here as that address.
fn check_destination(policy: &OutboundPolicy, url: &Url) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::BadUrl(format!("the scheme {:?} is not allowed; use http or https", url.scheme())));
    }
    let Some(host) = url.host_str() else {
        return Err(OutboundError::BadUrl("the URL has no host".to_owned()));
    };
    let literal = host.strip_prefix('[').and_then(|host| host.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        policy.check(ip).map_err(|blocked| OutboundError::Blocked { host: host.to_owned(), blocked })
    } else if policy::is_blocked_name(host) {
        Err(OutboundError::BlockedName { host: host.to_owned() })
    } else {
        Ok(())
    }
}

/// Checks a URL before anything is sent to it, as a request would be checked: for a URL that a
/// user saves now and Weft calls later (webhook endpoints), so a bad one is refused at once. A
/// host name's current addresses are checked too; one that does not resolve now passes, and
/// every request to it is checked again anyway.
pub async fn vet_url(policy: &OutboundPolicy, url: &str) -> Result<Url, OutboundError> {
    let url = Url::parse(url).map_err(|error| OutboundError::BadUrl(error.to_string()))?;
    check_destination(policy, &url)?;
    let (Some(name), Some(port)) = (url.host_str(), url.port_or_known_default()) else { return Ok(url) };
    if name.starts_with('[') || name.parse::<IpAddr>().is_ok() {
        return Ok(url);
    }
    if let Ok(addresses) = tokio::net::lookup_host((name, port)).await {
        for address in addresses {
            policy.check(address.ip()).map_err(|blocked| OutboundError::Blocked { host: name.to_owned(), blocked })?;
        }
    }
    Ok(url)
}

/// Where a redirect response points, resolved against the URL that answered. `None` for other
/// responses, and for a redirect without a usable `Location`, which is then returned as it is.
fn redirect_target(response: &reqwest::Response, from: &Url) -> Option<Url> {
    let status = response.status();
    let redirects = [
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::FOUND,
        StatusCode::SEE_OTHER,
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
    ];
    if !redirects.contains(&status) {
        return None;
    }
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    from.join(location).ok()
}

/// Turns reqwest's error into ours. A refusal or failed lookup in [`CheckedResolver`] reaches us
/// wrapped in reqwest's and hyper's connection errors, so the cause chain is searched for it.
fn classify(error: reqwest::Error, url: &Url) -> OutboundError {
    let mut cause = std::error::Error::source(&error);
    while let Some(current) = cause {
        match current.downcast_ref::<ResolveError>() {
            Some(ResolveError::Blocked { host, blocked }) => {
                return OutboundError::Blocked { host: host.clone(), blocked: *blocked };
            }
            Some(ResolveError::NotFound { host, .. }) => {
                return OutboundError::Unresolvable { host: host.clone(), source: error };
            }
            None => cause = current.source(),
        }
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    if error.is_connect() { OutboundError::Connect { host, source: error } } else { OutboundError::Http(error) }
}

/// Reads the body, stopping as soon as it would pass `limit` bytes, so a huge or endless
/// response costs at most `limit` bytes of memory. A declared `Content-Length` over the limit
/// is refused before reading anything.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Bytes, OutboundError> {
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(OutboundError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(OutboundError::Http)? {
        if chunk.len() > limit - body.len() {
            return Err(OutboundError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}
