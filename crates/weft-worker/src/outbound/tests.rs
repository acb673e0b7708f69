//! The client against fake HTTP servers on 127.0.0.1. A fake is a bare TCP listener that answers
//! in hand-written HTTP/1.1, so a test controls the exact framing (a declared length, a chunked
//! stream, no answer at all) and can tell whether a connection was made.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

enum Answer {
    Raw(Vec<u8>),
    /// Accept the request and never answer.
    Silence,
}

struct FakeServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    /// Each request as received, head and body, with header names as sent.
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeServer {
    /// Binds before returning, so the first request cannot race the listener. `answer` sees the
    /// request's head and body.
    async fn start(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server =
            Self { addr: listener.local_addr().unwrap(), connections: Arc::default(), requests: Arc::default() };
        let (connections, requests, answer) = (server.connections.clone(), server.requests.clone(), Arc::new(answer));
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let (requests, answer) = (requests.clone(), answer.clone());
                tokio::spawn(async move {
                    let request = read_request(&mut stream).await;
                    let reply = answer(&request);
                    requests.lock().unwrap().push(request);
                    match reply {
                        Answer::Raw(bytes) => {
                            // The client may hang up first (a refused body); that is its business.
                            let _ = stream.write_all(&bytes).await;
                            let _ = stream.shutdown().await;
                        }
                        Answer::Silence => std::future::pending().await,
                    }
                });
            }
        });
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Reads one request: the head, then as many body bytes as its `Content-Length` says.
async fn read_request(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        if let Some(head_end) = data.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
            let body_length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |length| length.trim().parse().unwrap());
            if data.len() >= head_end + 4 + body_length {
                return String::from_utf8_lossy(&data).into_owned();
            }
        }
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&data).into_owned(),
            Ok(read) => data.extend_from_slice(&buffer[..read]),
        }
    }
}

fn respond(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut head = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    if !headers.iter().any(|(name, _)| *name == "content-length") {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    Answer::Raw([head.as_bytes(), body].concat())
}

fn ok(body: &str) -> Answer {
    respond("200 OK", &[], body.as_bytes())
}

fn redirect(status: &str, location: &str) -> Answer {
    respond(status, &[("location", location)], b"")
}

/// A 200 whose body is `chunks` chunks of 1 KiB with no declared length, so only counting the
/// bytes as they arrive can enforce a limit.
fn chunked(chunks: usize) -> Answer {
    let mut raw = b"HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..chunks {
        raw.extend_from_slice(b"400\r\n");
        raw.extend_from_slice(&[b'x'; 1024]);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    Answer::Raw(raw)
}

/// The request line's method and path, e.g. `GET /greeting`.
fn request_line(request: &str) -> &str {
    request.split(" HTTP/1.1").next().unwrap()
}

fn client(allow: &[&str]) -> OutboundClient {
    OutboundClient::new(OutboundPolicy::from_cidrs(allow).unwrap(), OutboundDefaults::default()).unwrap()
}

async fn get(client: &OutboundClient, url: &str) -> Result<OutboundResponse, OutboundError> {
    client.send(OutboundRequest::new(Method::GET, url)).await
}

/// Asserts a refusal for `expected_host` whose address lies in `expected_range`.
fn assert_blocked(result: Result<OutboundResponse, OutboundError>, expected_host: &str, expected_range: &str) {
    match result {
        Err(OutboundError::Blocked { host, blocked }) => {
            assert_eq!((host.as_str(), blocked.range), (expected_host, expected_range));
        }
        other => panic!("expected {expected_host} to be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_address_is_refused_by_default() {
    let server = FakeServer::start(|_| ok("hello")).await;
    assert_blocked(get(&client(&[]), &server.url("/")).await, "127.0.0.1", "127.0.0.0/8");
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn loopback_address_is_reached_once_allow_listed() {
    let server = FakeServer::start(|_| ok("hello")).await;
    let response = get(&client(&["127.0.0.0/8"]), &server.url("/greeting")).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, "hello");
    assert_eq!(response.final_url.as_str(), server.url("/greeting"));
    let user_agent = format!("user-agent: {USER_AGENT}");
    assert!(server.requests()[0].contains(&user_agent), "{:?}", server.requests());
}

#[tokio::test]
async fn localhost_is_refused_because_it_resolves_to_loopback() {
    let server = FakeServer::start(|_| ok("hello")).await;
    let url = format!("http://localhost:{}/", server.addr.port());
    let result = get(&client(&[]), &url).await;
    // `localhost` may resolve to ::1 before 127.0.0.1; either refusal will do.
    match result {
        Err(OutboundError::Blocked { host, blocked }) => {
            assert_eq!(host, "localhost");
            assert!(blocked.ip.is_loopback(), "{blocked:?}");
        }
        other => panic!("expected localhost to be refused, got {other:?}"),
    }
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn refusal_message_for_a_name_does_not_reveal_what_it_resolved_to() {
    let error = get(&client(&[]), "http://localhost/").await.unwrap_err();
    assert_eq!(error.to_string(), "requests to localhost are not allowed: it is a private, local or reserved address");
}

#[tokio::test]
async fn localhost_is_reached_through_the_checked_lookup_when_its_addresses_are_allow_listed() {
    let server = FakeServer::start(|_| ok("hello")).await;
    let url = format!("http://localhost:{}/", server.addr.port());
    let response = get(&client(&["127.0.0.0/8", "::1/128"]), &url).await.unwrap();
    assert_eq!(response.body, "hello", "the checked addresses are connected to on the URL's port");
}

#[tokio::test]
async fn ipv4_mapped_ipv6_literal_is_refused() {
    let server = FakeServer::start(|_| ok("hello")).await;
    let url = format!("http://[::ffff:127.0.0.1]:{}/", server.addr.port());
    assert_blocked(get(&client(&[]), &url).await, "[::ffff:7f00:1]", "127.0.0.0/8");
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn cloud_metadata_address_is_refused_without_a_connection_attempt() {
    // Nothing listens there; an attempt would end in a connection error or the timeout instead.
    let mut request = OutboundRequest::new(Method::GET, "http://169.254.169.254/latest/meta-data/");
    request.timeout = Some(Duration::from_secs(10));
    assert_blocked(client(&[]).send(request).await, "169.254.169.254", "169.254.0.0/16");
}

#[tokio::test]
async fn metadata_host_names_are_refused_before_any_lookup() {
    let client = client(&["0.0.0.0/0", "::/0"]);
    for url in ["http://metadata.google.internal/computeMetadata/v1/", "http://METADATA.amazonaws.com./"] {
        let error = get(&client, url).await.unwrap_err();
        assert!(matches!(error, OutboundError::BlockedName { .. }), "{url}: {error:?}");
    }
}

#[tokio::test]
async fn numeric_spellings_of_loopback_are_refused() {
    let server = FakeServer::start(|_| ok("hello")).await;
    let client = client(&[]);
    for host in ["0x7f000001", "2130706433", "0177.0.0.1", "127.1", "0x7f.0.0.1", "127.0.0.1."] {
        let url = format!("http://{host}:{}/", server.addr.port());
        assert_blocked(get(&client, &url).await, "127.0.0.1", "127.0.0.0/8");
    }
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn only_absolute_http_and_https_urls_are_sent() {
    let client = client(&["0.0.0.0/0"]);
    for url in ["file:///etc/passwd", "ftp://8.8.8.8/", "gopher://8.8.8.8:70/", "data:text/plain,hi", "/relative", ""] {
        let error = get(&client, url).await.unwrap_err();
        assert!(matches!(error, OutboundError::BadUrl(_)), "{url:?}: {error:?}");
    }
}

#[tokio::test]
async fn redirect_to_a_blocked_address_is_refused_at_the_hop() {
    let server = FakeServer::start(|_| redirect("302 Found", "http://169.254.169.254/latest/meta-data/")).await;
    let result = get(&client(&["127.0.0.0/8"]), &server.url("/")).await;
    assert_blocked(result, "169.254.169.254", "169.254.0.0/16");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn five_redirects_are_followed_and_a_sixth_is_refused() {
    // `/n` redirects to `/n-1` until `/0`, which answers.
    let server = FakeServer::start(|request| {
        let hops: usize = request_line(request).trim_start_matches("GET /").parse().unwrap();
        if hops == 0 { ok("arrived") } else { redirect("302 Found", &format!("/{}", hops - 1)) }
    })
    .await;
    let client = client(&["127.0.0.0/8"]);
    let response = get(&client, &server.url("/5")).await.unwrap();
    assert_eq!((response.status, response.final_url.as_str()), (StatusCode::OK, server.url("/0").as_str()));
    assert_eq!(response.body, "arrived");
    let error = get(&client, &server.url("/6")).await.unwrap_err();
    assert!(matches!(error, OutboundError::TooManyRedirects { limit: 5 }), "{error:?}");
}

#[tokio::test]
async fn redirect_is_returned_as_it_is_when_not_following() {
    let server = FakeServer::start(|_| redirect("302 Found", "http://169.254.169.254/")).await;
    let mut request = OutboundRequest::new(Method::GET, server.url("/"));
    request.follow_redirects = false;
    let response = client(&["127.0.0.0/8"]).send(request).await.unwrap();
    assert_eq!(response.status, StatusCode::FOUND);
    assert_eq!(response.headers[header::LOCATION], "http://169.254.169.254/");
    assert_eq!(response.final_url.as_str(), server.url("/"));
}

#[tokio::test]
async fn redirect_to_another_origin_keeps_method_and_body_but_drops_credentials() {
    let target = FakeServer::start(|_| ok("received")).await;
    let target_url = target.url("/hook");
    let origin = FakeServer::start(move |_| redirect("307 Temporary Redirect", &target_url)).await;
    let mut request = OutboundRequest::new(Method::POST, origin.url("/hook"));
    request.headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer secret"));
    request.headers.insert(COOKIE, HeaderValue::from_static("session=secret"));
    request.headers.insert("x-request-id", HeaderValue::from_static("7"));
    request.body = Some(Bytes::from_static(b"payload"));

    let response = client(&["127.0.0.0/8"]).send(request).await.unwrap();
    assert_eq!(response.body, "received");
    let forwarded = &target.requests()[0];
    assert_eq!(request_line(forwarded), "POST /hook");
    assert!(forwarded.ends_with("\r\n\r\npayload"), "{forwarded:?}");
    assert!(forwarded.contains("x-request-id: 7"), "{forwarded:?}");
    assert!(!forwarded.contains("secret"), "credentials reached another origin: {forwarded:?}");
    assert!(origin.requests()[0].contains("authorization: Bearer secret"), "the first hop got them");
}

#[tokio::test]
async fn see_other_turns_a_post_into_a_get_without_its_body() {
    let server = FakeServer::start(|request| match request_line(request) {
        "POST /submit" => redirect("303 See Other", "/result"),
        _ => ok("done"),
    })
    .await;
    let mut request = OutboundRequest::new(Method::POST, server.url("/submit"));
    request.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    request.headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer same-origin"));
    request.body = Some(Bytes::from_static(b"{}"));

    let response = client(&["127.0.0.0/8"]).send(request).await.unwrap();
    assert_eq!(response.body, "done");
    let second = &server.requests()[1];
    assert_eq!(request_line(second), "GET /result");
    assert!(second.ends_with("\r\n\r\n"), "no body: {second:?}");
    assert!(!second.contains("content-type"), "{second:?}");
    assert!(second.contains("authorization: Bearer same-origin"), "same origin keeps credentials: {second:?}");
}

#[tokio::test]
async fn streamed_body_over_the_limit_is_cut_off() {
    let server = FakeServer::start(|_| chunked(64)).await;
    let mut request = OutboundRequest::new(Method::GET, server.url("/"));
    request.max_response_bytes = Some(10_000);
    let error = client(&["127.0.0.0/8"]).send(request).await.unwrap_err();
    assert!(matches!(error, OutboundError::TooLarge { limit: 10_000 }), "{error:?}");
}

#[tokio::test]
async fn streamed_body_of_exactly_the_limit_is_accepted() {
    let server = FakeServer::start(|_| chunked(4)).await;
    let mut request = OutboundRequest::new(Method::GET, server.url("/"));
    request.max_response_bytes = Some(4096);
    let response = client(&["127.0.0.0/8"]).send(request).await.unwrap();
    assert_eq!(response.body.len(), 4096);
}

#[tokio::test]
async fn declared_length_over_the_limit_is_refused_before_reading() {
    // The body is far shorter than declared: reading it would fail, so TooLarge proves that
    // nothing was read.
    let server = FakeServer::start(|_| respond("200 OK", &[("content-length", "1000000")], b"short")).await;
    let mut request = OutboundRequest::new(Method::GET, server.url("/"));
    request.max_response_bytes = Some(1000);
    let error = client(&["127.0.0.0/8"]).send(request).await.unwrap_err();
    assert!(matches!(error, OutboundError::TooLarge { limit: 1000 }), "{error:?}");
}

#[tokio::test]
async fn silent_server_times_out() {
    let server = FakeServer::start(|_| Answer::Silence).await;
    let mut request = OutboundRequest::new(Method::GET, server.url("/"));
    request.timeout = Some(Duration::from_millis(200));
    let error = client(&["127.0.0.0/8"]).send(request).await.unwrap_err();
    assert!(matches!(error, OutboundError::Timeout { after } if after == Duration::from_millis(200)), "{error:?}");
    assert_eq!(error.to_string(), "the request timed out after 200ms");
}
