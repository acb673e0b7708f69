//! `http_request` with binary data and pages, end to end against a local fake server: a file
//! download becomes a workspace-scoped attachment whose bytes read back, and that the API and
//! the run page list and download; uploads send them as a raw body and as multipart, the
//! response-size limit holds for files, and pagination by page parameter and by next URL stops
//! on each completion rule and at `max_requests`.

// The fake server is not Weft's API: its routes have no place in the OpenAPI spec.
#![allow(clippy::disallowed_methods)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use weft_http::Problem;
use weft_http::api::attachments::AttachmentOut;
use weft_http::api::page::PageOut;
use weft_http::api::runs::{RunOut, RunStartedOut, StepOut};
use weft_store::{FsBlobStore, StoreError};
use weft_testkit::{TEST_PASSWORD, TestApp, TestBackend, TestWorkspace, UiSession, backend_test, expect_status};

use crate::runs::finished;

/// Not UTF-8, so any text conversion on the way would show.
const REPORT: &[u8] = b"%PDF-1.7\n\x00\xff\xfe binary \x80\x81 end";

/// The response-size limit of the outbound client (`OutboundDefaults`).
const LIMIT: usize = 10 * 1024 * 1024;

/// A multipart part as the fake server read it: name, file name, content type and bytes.
type ReceivedPart = (String, Option<String>, Option<String>, Vec<u8>);

/// What the fake server received.
#[derive(Default)]
struct Received {
    /// `Content-Type` and bytes of each raw upload.
    uploads: Vec<(String, Vec<u8>)>,
    /// Each multipart upload's parts.
    forms: Vec<Vec<ReceivedPart>>,
    /// The path and query of every page request.
    pages: Vec<String>,
    /// The `Idempotency-Key` of every numbered page's request.
    page_keys: Vec<String>,
}

type Shared = Arc<Mutex<Received>>;

async fn report() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/pdf")], REPORT)
}

/// A page a browser would run, named in a way that needs RFC 8187 encoding.
async fn page() -> impl IntoResponse {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_DISPOSITION, "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.html"),
    ];
    (headers, "<script>alert(document.cookie)</script>")
}

/// A body of more than [`LIMIT`] bytes, streamed without a declared length.
async fn huge() -> impl IntoResponse {
    let chunks = (0..11).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 1024 * 1024])));
    ([(header::CONTENT_TYPE, "application/octet-stream")], Body::from_stream(futures_util::stream::iter(chunks)))
}

async fn upload(State(received): State<Shared>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    received.lock().unwrap().uploads.push((content_type, body.to_vec()));
    axum::Json(json!({"stored": body.len()}))
}

async fn form(State(received): State<Shared>, mut multipart: Multipart) -> impl IntoResponse {
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.unwrap() {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        parts.push((name, file_name, content_type, field.bytes().await.unwrap().to_vec()));
    }
    let count = parts.len();
    received.lock().unwrap().forms.push(parts);
    axum::Json(json!({"parts": count}))
}

fn record(received: &Shared, path: &str, query: &[(String, String)]) {
    let query: Vec<String> = query.iter().map(|(name, value)| format!("{name}={value}")).collect();
    received.lock().unwrap().pages.push(format!("{path}?{}", query.join("&")));
}

fn param(query: &[(String, String)], name: &str) -> u64 {
    query.iter().find(|(key, _)| key == name).and_then(|(_, value)| value.parse().ok()).unwrap_or(1)
}

/// Pages 1 to 3 of two items each, then empty pages.
async fn numbered(
    State(received): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> impl IntoResponse {
    record(&received, "/numbered", &query);
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    received.lock().unwrap().page_keys.push(key);
    let page = param(&query, "page");
    let items: Vec<Value> =
        if page <= 3 { vec![json!({"n": page * 10 + 1}), json!({"n": page * 10 + 2})] } else { vec![] };
    axum::Json(json!(items))
}

/// Pages that say where the next one is, three in all.
async fn linked(State(received): State<Shared>, Query(query): Query<Vec<(String, String)>>) -> impl IntoResponse {
    record(&received, "/linked", &query);
    let after = param(&query, "after");
    let next = (after < 3).then(|| format!("/linked?after={}", after + 1));
    axum::Json(json!({"items": [{"page": after}], "next": next}))
}

/// Pages 1 and 2, then 404.
async fn until_missing(
    State(received): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
) -> impl IntoResponse {
    record(&received, "/until-missing", &query);
    let page = param(&query, "page");
    if page < 3 {
        (StatusCode::OK, axum::Json(json!({"page": page})))
    } else {
        (StatusCode::NOT_FOUND, axum::Json(json!({"error": "no such page"})))
    }
}

/// Never empty, never done.
async fn endless(State(received): State<Shared>, Query(query): Query<Vec<(String, String)>>) -> impl IntoResponse {
    record(&received, "/endless", &query);
    axum::Json(json!([{"page": param(&query, "page")}]))
}

async fn fake_server() -> (String, Shared) {
    let received = Shared::default();
    let app = Router::new()
        .route("/files/report.pdf", get(report))
        .route("/page", get(page))
        .route("/huge", get(huge))
        .route("/upload", post(upload))
        .route("/form", post(form))
        .route("/numbered", get(numbered))
        .route("/linked", get(linked))
        .route("/until-missing", get(until_missing))
        .route("/endless", get(endless))
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), received)
}

async fn app_for_local_servers(backend: TestBackend) -> TestApp {
    TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await
}

/// Publishes the workflow, runs it with `input` and waits for its end.
async fn run_workflow(app: &TestApp, ws: &TestWorkspace, nodes: Value, connections: Value, input: Value) -> RunOut {
    let token = Some(ws.owner.access_token.as_str());
    let body = json!({"name": "Files", "nodes": nodes, "connections": connections});
    let created: Value = expect_status(app.post(&ws.path("/workflows"), token, &body).await, 201).await;
    assert_eq!(created["version"]["problems"], json!([]), "the test workflow must be valid");
    let id = created["id"].as_str().unwrap();
    expect_status::<Value>(
        app.post(&ws.path(&format!("/workflows/{id}/publish")), token, &json!({"version": 1})).await,
        200,
    )
    .await;
    let path = ws.path(&format!("/workflows/{id}/runs"));
    let started: RunStartedOut = expect_status(app.post(&path, token, &json!({"input": input})).await, 202).await;
    finished(app, ws, &started.run_id).await
}

/// The items the last attempt of `node` emitted on its first output.
async fn step_items(app: &TestApp, ws: &TestWorkspace, run: &str, node: &str) -> Vec<Value> {
    let path = ws.path(&format!("/runs/{run}/steps"));
    let page: PageOut<StepOut> = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
    let step = page.items.iter().rev().find(|step| step.node == node).expect("the node ran");
    step.output.as_ref().and_then(|output| output[0].as_array().cloned()).unwrap_or_default()
}

/// A workflow of one `http_request` with `params` after a manual trigger.
fn single(params: Value) -> (Value, Value) {
    let nodes = json!([
        {"name": "Start", "type": "manual_trigger"},
        {"name": "Call", "type": "http_request", "params": params},
    ]);
    (nodes, json!([{"from": "Start", "to": "Call"}]))
}

backend_test! {
    async fn a_downloaded_file_is_an_attachment_that_uploads_raw_and_as_multipart(backend) {
        let (server, received) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Download", "type": "http_request", "params": {
                "url": format!("{server}/files/report.pdf"), "response": "file", "output": "body"
            }},
            {"name": "Upload", "type": "http_request", "params": {
                "method": "POST", "url": format!("{server}/upload"), "body": {"binary": "data"}, "output": "body"
            }},
            {"name": "Form", "type": "http_request", "params": {
                "method": "POST", "url": format!("{server}/form"), "output": "body",
                "body": {"multipart": [{"name": "model", "value": "whisper-1"}, {"name": "file", "binary": "data"}]}
            }},
        ]);
        let connections = json!([
            {"from": "Start", "to": "Download"},
            {"from": "Download", "to": "Upload"},
            {"from": "Download", "to": "Form"},
        ]);
        let out = run_workflow(&app, &ws, nodes, connections, json!({"invoice": 7})).await;
        assert_eq!(out.status, "succeeded", "{out:?}");

        let downloaded = step_items(&app, &ws, &out.id, "Download").await;
        assert_eq!(downloaded.len(), 1);
        assert_eq!(downloaded[0]["json"], json!({"invoice": 7}), "the item keeps its JSON, as n8n's does");
        let attachment = &downloaded[0]["binary"]["data"];
        assert_eq!(attachment["mime_type"], "application/pdf");
        assert_eq!(attachment["size"], REPORT.len());
        assert_eq!(attachment["file_name"], "report.pdf", "named after the URL's last segment");
        let key = attachment["key"].as_str().unwrap();
        assert!(key.starts_with(&format!("{}/{}/", ws.id, out.id)), "kept under its workspace and run: {key}");

        let (_, scope) = app.store.system_scope(&ws.id).await.unwrap();
        let blobs = Arc::new(FsBlobStore::new(app.config.data_dir.join("blobs")));
        let store = app.store.clone().with_payloads(blobs, app.config.max_inline_payload_bytes);
        assert_eq!(store.binary(&scope, key).await.unwrap(), REPORT, "the bytes read back");

        let received = received.lock().unwrap();
        assert_eq!(received.uploads, [("application/pdf".to_owned(), REPORT.to_vec())]);
        assert_eq!(
            received.forms,
            [vec![
                ("model".to_owned(), None, None, b"whisper-1".to_vec()),
                ("file".to_owned(), Some("report.pdf".to_owned()), Some("application/pdf".to_owned()), REPORT.to_vec()),
            ]]
        );
        let uploaded = out.output.as_ref().unwrap();
        assert_eq!(uploaded["Upload"], json!([{"stored": REPORT.len()}]));
        assert_eq!(uploaded["Form"], json!([{"parts": 2}]));
    }
}

backend_test! {
    async fn an_attachment_of_another_workspace_reads_as_not_found(backend) {
        let (server, _) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let (ada, grace) = (app.new_workspace("ada@example.com").await, app.new_workspace("grace@example.com").await);
        let (nodes, connections) =
            single(json!({"url": format!("{server}/files/report.pdf"), "response": "file", "output_field": "pdf"}));
        let out = run_workflow(&app, &ada, nodes, connections, json!({})).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let items = step_items(&app, &ada, &out.id, "Call").await;
        assert_eq!(items[0]["json"]["status"], 200, "a full response keeps the status and headers");
        assert_eq!(items[0]["json"]["headers"]["content-type"], "application/pdf");
        let key = items[0]["binary"]["pdf"]["key"].as_str().unwrap().to_owned();

        let blobs = Arc::new(FsBlobStore::new(app.config.data_dir.join("blobs")));
        let store = app.store.clone().with_payloads(blobs, app.config.max_inline_payload_bytes);
        let (_, ada_scope) = app.store.system_scope(&ada.id).await.unwrap();
        let (_, grace_scope) = app.store.system_scope(&grace.id).await.unwrap();
        assert_eq!(store.binary(&ada_scope, &key).await.unwrap(), REPORT);
        assert!(matches!(store.binary(&grace_scope, &key).await, Err(StoreError::NotFound)));
        assert!(matches!(store.binary(&ada_scope, "../../etc/passwd").await, Err(StoreError::NotFound)));

        // A workflow of Grace's that names Ada's attachment cannot upload it either.
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Smuggle", "type": "code", "params": {"code": format!(
                "return [{{json: {{}}, binary: {{data: {{key: '{key}', mime_type: 'application/pdf', size: 1}}}}}}]"
            )}},
            {"name": "Upload", "type": "http_request", "params": {
                "method": "POST", "url": format!("{server}/upload"), "body": {"binary": "data"}
            }},
        ]);
        let connections = json!([{"from": "Start", "to": "Smuggle"}, {"from": "Smuggle", "to": "Upload"}]);
        let out = run_workflow(&app, &grace, nodes, connections, json!({})).await;
        assert_eq!(out.status, "failed", "{out:?}");
        let message = out.error.as_ref().unwrap()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("attachment `data` no longer exists"), "{message}");
    }
}

backend_test! {
    async fn an_oversize_download_fails_the_step_with_the_limit_in_the_message(backend) {
        let (server, _) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = single(json!({"url": format!("{server}/huge"), "response": "file"}));
        let out = run_workflow(&app, &ws, nodes, connections, json!({})).await;
        assert_eq!(out.status, "failed", "{out:?}");
        let message = out.error.as_ref().unwrap()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(&format!("larger than the limit of {LIMIT} bytes")), "{message}");
    }
}

backend_test! {
    async fn pages_by_parameter_are_concatenated_until_one_is_empty(backend) {
        let (server, received) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = single(json!({
            "url": format!("{server}/numbered"), "query": {"page": 1, "size": 2}, "output": "body",
            "pagination": {"mode": "update_params", "params": [{"target": "query", "name": "page", "value": "{{ $pageCount + 1 }}"}]}
        }));
        let out = run_workflow(&app, &ws, nodes, connections, json!({})).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let numbers: Vec<Value> = out.output.unwrap()["Call"].as_array().unwrap().iter().map(|item| item["n"].clone()).collect();
        assert_eq!(numbers, [json!(11), json!(12), json!(21), json!(22), json!(31), json!(32)]);
        let pages = received.lock().unwrap().pages.clone();
        assert_eq!(
            pages,
            ["/numbered?page=1&size=2", "/numbered?size=2&page=2", "/numbered?size=2&page=3", "/numbered?size=2&page=4"]
        );
        let keys = received.lock().unwrap().page_keys.clone();
        let first = format!("{}:Call:1", out.id);
        assert_eq!(keys, [first.clone(), format!("{first}:page2"), format!("{first}:page3"), format!("{first}:page4")]);
    }
}

backend_test! {
    async fn pages_by_next_url_end_when_the_expression_says_so(backend) {
        let (server, received) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = single(json!({
            "url": format!("{server}/linked"), "output": "body",
            "pagination": {
                "mode": "next_url", "next_url": "{{ $response.body.next }}",
                "complete_when": "expression", "complete_expression": "{{ !$response.body.next }}"
            }
        }));
        let out = run_workflow(&app, &ws, nodes, connections, json!({})).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let pages: Vec<Value> = out.output.unwrap()["Call"].as_array().unwrap().iter().map(|item| item["items"][0]["page"].clone()).collect();
        assert_eq!(pages, [json!(1), json!(2), json!(3)]);
        assert_eq!(received.lock().unwrap().pages, ["/linked?", "/linked?after=2", "/linked?after=3"]);
    }
}

backend_test! {
    async fn pages_end_on_a_completion_status_which_does_not_fail_the_node(backend) {
        let (server, received) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = single(json!({
            "url": format!("{server}/until-missing"), "output": "body",
            "pagination": {
                "mode": "update_params", "params": [{"target": "query", "name": "page", "value": "{{ $pageCount + 1 }}"}],
                "complete_when": "status_codes", "status_codes": [404]
            }
        }));
        let out = run_workflow(&app, &ws, nodes, connections, json!({})).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        assert_eq!(
            out.output.unwrap()["Call"],
            json!([{"page": 1}, {"page": 2}, {"error": "no such page"}]),
            "the last page is kept, as n8n keeps it"
        );
        assert_eq!(received.lock().unwrap().pages.len(), 3);

        // Without that rule, the 404 page is not empty, so another would follow: it fails.
        let (nodes, connections) = single(json!({
            "url": format!("{server}/until-missing"), "output": "body",
            "pagination": {"mode": "update_params", "params": [{"target": "query", "name": "page", "value": "{{ $pageCount + 1 }}"}]}
        }));
        let out = run_workflow(&app, &ws, nodes, connections, json!({})).await;
        assert_eq!(out.status, "failed", "{out:?}");
        let message = out.error.as_ref().unwrap()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("answered 404 Not Found on page 3"), "{message}");
    }
}

backend_test! {
    async fn pages_stop_at_max_requests_and_at_the_cap_without_it(backend) {
        let (server, received) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let paged = |max_requests: Value| {
            let mut pagination = json!({
                "mode": "update_params", "params": [{"target": "query", "name": "page", "value": "{{ $pageCount + 1 }}"}]
            });
            if !max_requests.is_null() {
                pagination["max_requests"] = max_requests;
            }
            single(json!({"url": format!("{server}/endless"), "output": "body", "pagination": pagination}))
        };
        let (nodes, connections) = paged(json!("{{ $json.pages }}"));
        let out = run_workflow(&app, &ws, nodes, connections, json!({"pages": 2})).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        assert_eq!(out.output.unwrap()["Call"], json!([{"page": 1}, {"page": 2}]));
        assert_eq!(received.lock().unwrap().pages.len(), 2);

        received.lock().unwrap().pages.clear();
        let (nodes, connections) = paged(Value::Null);
        let out = run_workflow(&app, &ws, nodes, connections, json!({})).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        assert_eq!(out.output.unwrap()["Call"].as_array().unwrap().len(), 100);
        assert_eq!(received.lock().unwrap().pages.len(), 100, "the hard cap");
    }
}

/// A run that downloads the report (`data`), then a page (`page`) onto the same item.
async fn run_with_attachments(app: &TestApp, ws: &TestWorkspace, server: &str) -> RunOut {
    let nodes = json!([
        {"name": "Start", "type": "manual_trigger"},
        {"name": "Download", "type": "http_request", "params": {
            "url": format!("{server}/files/report.pdf"), "response": "file", "output": "body"
        }},
        {"name": "Page", "type": "http_request", "params": {
            "url": format!("{server}/page"), "response": "file", "output": "body", "output_field": "page"
        }},
    ]);
    let connections = json!([{"from": "Start", "to": "Download"}, {"from": "Download", "to": "Page"}]);
    let out = run_workflow(app, ws, nodes, connections, json!({})).await;
    assert_eq!(out.status, "succeeded", "{out:?}");
    out
}

async fn attachments(app: &TestApp, ws: &TestWorkspace, run: &str) -> Vec<AttachmentOut> {
    let path = ws.path(&format!("/runs/{run}/attachments"));
    let page: PageOut<AttachmentOut> = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
    page.items
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
}

backend_test! {
    async fn a_runs_attachments_are_listed_and_download_as_files_with_their_type_and_name(backend) {
        let (server, _) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let out = run_with_attachments(&app, &ws, &server).await;

        let listed = attachments(&app, &ws, &out.id).await;
        let seen: Vec<(&str, Option<&str>, &str, u64, &str)> = listed
            .iter()
            .map(|a| (a.field.as_str(), a.file_name.as_deref(), a.mime_type.as_str(), a.size, a.node.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("data", Some("report.pdf"), "application/pdf", REPORT.len() as u64, "Download"),
                ("page", Some("résumé.html"), "text/html", 39, "Page"),
            ],
            "each once, from the step that emitted it first, though `Page` passes `data` on"
        );
        let steps = ws.path(&format!("/runs/{}/steps", out.id));
        let steps: PageOut<StepOut> = expect_status(app.get(&steps, Some(&ws.owner.access_token)).await, 200).await;
        for attachment in &listed {
            assert!(attachment.name.starts_with("binary-"), "{attachment:?}");
            let step = steps.items.iter().find(|step| step.node == attachment.node).expect("its step");
            assert_eq!(attachment.activation, step.activation);
        }
        let limited = ws.path(&format!("/runs/{}/attachments?limit=1", out.id));
        let first: PageOut<AttachmentOut> = expect_status(app.get(&limited, Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(first.items[0].name, listed[0].name);
        let cursor = first.next_cursor.expect("a second page");
        let rest = format!("{limited}&cursor={cursor}");
        let second: PageOut<AttachmentOut> = expect_status(app.get(&rest, Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!((second.items[0].name.as_str(), second.next_cursor), (listed[1].name.as_str(), None));

        let report = ws.path(&format!("/runs/{}/attachments/{}", out.id, listed[0].name));
        let response = app.get(&report, Some(&ws.owner.access_token)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), "application/pdf");
        assert_eq!(header(&response, "content-disposition"), "attachment; filename=\"report.pdf\"");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "cache-control"), "private");
        assert_eq!(response.bytes().await.unwrap().as_ref(), REPORT, "the very bytes");

        let page = ws.path(&format!("/runs/{}/attachments/{}", out.id, listed[1].name));
        let response = app.get(&page, Some(&ws.owner.access_token)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), "text/html");
        assert_eq!(
            header(&response, "content-disposition"),
            "attachment; filename=\"r_sum_.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9.html",
            "HTML too is a file to save, never a page of Weft's origin"
        );

        let unknown = app.get(&ws.path(&format!("/runs/{}/attachments/binary-nope", out.id)), Some(&ws.owner.access_token)).await;
        assert_eq!(unknown.status(), 404);
        assert_eq!(header(&unknown, "content-type"), "application/problem+json");
        let problem: Problem = unknown.json().await.unwrap();
        assert_eq!(problem.status, 404);
    }
}

backend_test! {
    async fn another_workspace_gets_404_for_a_runs_attachments(backend) {
        let (server, _) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let (ada, grace) = (app.new_workspace("ada@example.com").await, app.new_workspace("grace@example.com").await);
        let out = run_with_attachments(&app, &ada, &server).await;
        let name = attachments(&app, &ada, &out.id).await.remove(0).name;
        let (grace_key, _) = app.new_api_key(&grace, &["runs:read"]).await;

        for workspace in [&ada.id, &grace.id] {
            let list = format!("/api/v1/workspaces/{workspace}/runs/{}/attachments", out.id);
            let file = format!("{list}/{name}");
            for token in [grace.owner.access_token.as_str(), grace_key.as_str()] {
                for path in [&list, &file] {
                    let response = app.get(path, Some(token)).await;
                    assert_eq!(response.status(), 404, "{path}");
                    assert_eq!(header(&response, "content-type"), "application/problem+json", "{path}");
                }
            }
        }

        let grace_ui = UiSession::sign_in(&app, "grace@example.com", TEST_PASSWORD).await;
        for slug in [&ada.slug, &grace.slug] {
            let path = format!("/w/{slug}/runs/{}/attachments/{name}", out.id);
            let response = grace_ui.download(&path).await;
            assert_eq!(response.status(), 404, "{path}");
            assert!(!response.bytes().await.unwrap().starts_with(b"%PDF"), "{path} leaks the file");
        }
    }
}

backend_test! {
    async fn the_run_page_links_each_attachment_and_downloads_it_with_the_session(backend) {
        let (server, _) = fake_server().await;
        let app = app_for_local_servers(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let mut ui = UiSession::sign_in(&app, "ada@example.com", TEST_PASSWORD).await;

        let plain = app.new_workflow(&ws, "No files").await;
        let path = ws.path(&format!("/workflows/{plain}/runs"));
        let started: RunStartedOut =
            expect_status(app.post(&path, Some(&ws.owner.access_token), &json!({"version": 1})).await, 202).await;
        finished(&app, &ws, &started.run_id).await;
        let page = ui.get(&format!("/w/{}/runs/{}", ws.slug, started.run_id)).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("Attachments"), "no section without attachments: {}", page.body);

        let out = run_with_attachments(&app, &ws, &server).await;
        let listed = attachments(&app, &ws, &out.id).await;
        let page = ui.get(&format!("/w/{}/runs/{}", ws.slug, out.id)).await;
        assert_eq!(page.status, 200);
        let section = page.body.split_once("id=\"attachments-title\"").expect("an Attachments section").1;
        let link = format!("/w/{}/runs/{}/attachments/{}", ws.slug, out.id, listed[0].name);
        assert!(section.contains(&format!("href=\"{link}\"")), "{section}");
        let size = format!("{} B", REPORT.len());
        for shown in ["report.pdf", "application/pdf", &size, "Download", "résumé.html", "Page"] {
            assert!(section.contains(shown), "{shown} is shown: {section}");
        }

        let response = ui.download(&link).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), "application/pdf");
        assert_eq!(header(&response, "content-disposition"), "attachment; filename=\"report.pdf\"");
        assert_eq!(response.bytes().await.unwrap().as_ref(), REPORT, "the same bytes as the API's");
    }
}
