//! Real n8n workflows run end to end: every corpus workflow that Weft fully supports and that
//! starts from a manual, webhook or schedule trigger is imported through the API and run by the
//! worker, with its pinned data (or a fixture) as the trigger's items and every HTTP request
//! sent to a local fake server through the `outbound_host_override` test setting.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use weft_http::api::n8n::ImportedOut;
use weft_http::api::runs::RunOut;
use weft_store::NewRun;
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

/// Corpus workflows run (fully supported, with a runnable trigger), every one of which must
/// succeed, as of this test's last update; it must never go down.
const RUN_AT_LEAST: usize = 14;

/// The triggers a run can start from without an outside service.
const RUNNABLE_TRIGGERS: [&str; 3] = ["manual_trigger", "webhook_trigger", "schedule_trigger"];

/// Trigger items for workflows whose pinned data is missing and whose nodes expect a
/// particular request: Ko-fi's webhook payload, with the token the workflow checks.
fn fixture(file: &str) -> Option<Value> {
    match file {
        "0786_Stopanderror_Stickynote_Create_Webhook.json" => Some(json!([{"body": {"data": {
            "verification_token": "7dd9d4ef-8412-4add-a0d0-b548ad4564b9",
            "type": "Donation", "from_name": "Ada", "message": "Keep going!", "amount": "5.00",
            "email": "ada@example.com", "currency": "EUR", "timestamp": "2026-12-05T07:00:00Z",
            "is_first_subscription_payment": false,
        }}}])),
        // The site to scrape for email addresses; the fake answers `.html` paths with a page.
        "0434_Splitout_Webhook_Automation_Webhook.json" => {
            Some(json!([{"query": {"Website": "http://shop.example/contact.html"}}]))
        }
        // Twitter's CRC check: the challenge comes in the query.
        "0164_Crypto_Webhook_Automate_Webhook.json" => Some(json!([{"query": {"crc_token": "challenge"}}])),
        _ => None,
    }
}

const CLOUDFLARE_NAMESPACE_1: &str = "/client/v4/accounts/65889d72a808df2e380018d87fffca5f/storage/kv/namespaces/ns-1";
const CLOUDFLARE_NAMESPACE_2_BULK: &str =
    "/client/v4/accounts/65889d72a808df2e380018d87fffca5f/storage/kv/namespaces/ns-2/bulk";

/// What some runs' output must hold, by JSON pointer into it (node name → items).
const EXPECTED: [(&str, &str, &str); 24] = [
    // HMAC-SHA256 of the challenge under the workflow's secret, base64, as Twitter expects.
    (
        "0164_Crypto_Webhook_Automate_Webhook.json",
        "/Set/0/response_token",
        "sha256=AYo/6t0MQYwJY55bXxtnvS+nOr4Aoe7rP/tEUB3a5pc=",
    ),
    // The Confluence template's placeholders filled from the webhook, then the page created.
    (
        "0559_HTTP_Webhook_Create_Webhook.json",
        "/Confluence: Create page from template/0/path",
        "/wiki/rest/api/content/",
    ),
    ("0559_HTTP_Webhook_Create_Webhook.json", "/Confluence: Create page from template/0/method", "POST"),
    // The token matched, and the switch sent the donation down its branch.
    ("0786_Stopanderror_Stickynote_Create_Webhook.json", "/Donation/0/from_name", "Ada"),
    ("0786_Stopanderror_Stickynote_Create_Webhook.json", "/Donation/0/message", "Keep going!"),
    // Facebook's Graph API, called at its path on the fake; the node asks for the full response.
    (
        "1884_Manual_Stickynote_Import_Webhook.json",
        "/Get Long Lived FB Page Token/0/body/path",
        "/v20.0/uuuuuu/accounts",
    ),
    ("1884_Manual_Stickynote_Import_Webhook.json", "/Get Long Lived FB Page Token/0/body/method", "GET"),
    // The page's addresses, found by a regular expression, split out and deduplicated.
    ("0434_Splitout_Webhook_Automation_Webhook.json", "/Respond to Webhook/0/Email", "sales@example.com"),
    ("0434_Splitout_Webhook_Automation_Webhook.json", "/Respond to Webhook/1/Email", "help@example.com"),
    // The video downloaded as a file (autodetect), uploaded as it is, then described.
    ("1876_HTTP_Manual_Automation_Webhook.json", "/Get Result/0/videoDescription", VIDEO_DESCRIPTION),
    // SplitInBatches 1 loops until its context says `noItemsLeft`, then the Set ends it.
    ("1231_Manual_Splitinbatches_Automate_Triggered.json", "/Set/0/Message", "No Items Left"),
    // Signed with `require('crypto')`'s HMAC in code, then sent to the URL the code built.
    ("1516_Manual_Stickynote_Send_Webhook.json", "/Run email verification (single)/0/path", "/api/email-verification"),
    // The account read from another node's n8n parameters, the namespace found by its title.
    ("0384_HTTP_Manual_Create_Webhook.json", "/Delete KV/0/path", CLOUDFLARE_NAMESPACE_1),
    ("0384_HTTP_Manual_Create_Webhook.json", "/Delete KV/0/method", "DELETE"),
    ("0384_HTTP_Manual_Create_Webhook.json", "/Delete KVs inside NM/0/path", CLOUDFLARE_NAMESPACE_2_BULK),
    // GraphQL as JSON, its answer kept as text (1026).
    ("1026_Manual_Graphql_Automate_Triggered.json", "/GraphQL/0/data", SPACEX_ANSWER),
    // The image's GraphQL upload, then the Liquid snippet sent as it is (its `{{` not evaluated).
    (
        "2007_Webhook_Graphql_Automate_Webhook.json",
        "/Save campaign.liquid/0/path",
        "/admin/api/2024-01/themes/125514514534/assets.json",
    ),
    (
        "2007_Webhook_Graphql_Automate_Webhook.json",
        "/Save campaign.liquid/0/received/asset/value",
        "<img src=\"{{ 'n8n-portainer.webp' | file_img_url: 'grande'}}\">",
    ),
    // Polls: each task is asked for again after a wait until it is completed (a `repeat` loop).
    ("2013_Manual_Stickynote_Create_Webhook.json", "/Get Final Video URL/0/video_url", TASK_VIDEO),
    // ... and the chat asked again until its answer held an image.
    ("1992_Wait_Code_Automation_Webhook.json", "/Fetch Final Video URL/0/watermark_free_url", TASK_VIDEO_CLEAN),
    ("1992_Wait_Code_Automation_Webhook.json", "/Fetch Final Video URL/0/video_url", TASK_VIDEO),
    // Six polls in a row, each inside the one before; the videos and the story's title combined.
    ("1395_Wait_Code_Create_Webhook.json", "/Final Video Combination/0/path", "/v1/renders"),
    (
        "1395_Wait_Code_Create_Webhook.json",
        "/Final Video Combination/0/received/modifications/Video-3.source",
        TASK_VIDEO,
    ),
    (
        "1395_Wait_Code_Create_Webhook.json",
        "/Final Video Combination/0/received/modifications/Text-1.text",
        "The Stream",
    ),
];

/// A fully supported corpus workflow with a trigger a run can start from.
struct Runnable {
    file: String,
    n8n: Value,
    /// The trigger's items: its pinned data, else a fixture for its kind.
    input: Value,
    trigger: String,
    trigger_type: String,
    /// The first method a webhook trigger takes.
    method: String,
    http_nodes: usize,
}

fn runnable_corpus() -> Vec<Runnable> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../weft-engine/tests/corpus/n8n");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus directory")
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut runnable = Vec::new();
    for path in files {
        let n8n: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Ok(imported) = weft_engine::n8n::import_workflow(&n8n) else { continue };
        let mut definition = imported.workflow.clone();
        for key in ["name", "description", "tags"] {
            definition.as_object_mut().unwrap().remove(key);
        }
        let Ok(parsed) = weft_engine::parse(&definition) else { continue };
        if !imported.report.unsupported.is_empty() || !weft_engine::validate(&parsed).is_empty() {
            continue;
        }
        let Some(trigger) = parsed.nodes.iter().find(|node| RUNNABLE_TRIGGERS.contains(&node.node_type.as_str()))
        else {
            continue;
        };
        let pinned = parsed.settings.pin_data.get(&trigger.name).map(|items| {
            Value::Array(items.iter().map(|item| item.get("json").cloned().unwrap_or(json!({}))).collect())
        });
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = pinned.or_else(|| fixture(&file)).unwrap_or_else(|| match trigger.node_type.as_str() {
            "webhook_trigger" => json!([{"body": {"name": "Ada", "email": "ada@example.com"}}]),
            _ => json!({}),
        });
        let http_nodes = parsed.nodes.iter().filter(|node| node.node_type == "http_request" && !node.disabled).count();
        let method = trigger.params.get("methods").and_then(|all| all.get(0)).and_then(Value::as_str);
        let method = method.unwrap_or("POST").to_owned();
        let (trigger, trigger_type) = (trigger.name.clone(), trigger.node_type.clone());
        runnable.push(Runnable { file, n8n, input, trigger, trigger_type, method, http_nodes });
    }
    runnable
}

/// A web page with email addresses in it, one of them twice.
const CONTACT_PAGE: &str =
    "<html><body><p>Sales: sales@example.com, support: help@example.com.</p><p>sales@example.com</p></body></html>";

/// A video file's bytes, and what the fake Gemini says it shows.
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 not really a video";
const VIDEO_DESCRIPTION: &str = "A cat plays the piano.";

/// What the SpaceX GraphQL API answers the launches query with (1026), compact as it sends it.
const SPACEX_ANSWER: &str = r#"{"data":{"launchesPast":[{"mission_name":"Starlink-15"}]}}"#;

/// Where PiAPI's finished tasks put their results (1395, 1992, 2013).
const TASK_VIDEO: &str = "https://cdn.piapi.example/video.mp4";
const TASK_VIDEO_CLEAN: &str = "https://cdn.piapi.example/video-without-watermark.mp4";
const TASK_IMAGE: &str = "https://cdn.piapi.example/try-on.png";
const CHAT_IMAGE: &str = "https://cdn.piapi.example/gpt-4o.png";

/// PiAPI's asynchronous tasks, as its API documents them: `POST /api/v1/task` creates one,
/// `GET /api/v1/task/{id}` says `processing` the first time it is asked and `completed`, with
/// the task's output, after that. Its chat completions answer in the shape the model's caller
/// expects: the story prompts as JSON text, or an image as a server-sent event stream whose
/// first answer has no image, so that the workflow asks again.
#[derive(Default)]
struct PiApi {
    tasks: AtomicUsize,
    polls: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    image_chats: AtomicUsize,
}

impl PiApi {
    fn answer(&self, method: &axum::http::Method, path: &str, body: &Value) -> Option<axum::response::Response> {
        if path == "/api/v1/task" && method == axum::http::Method::POST {
            let id = format!("task-{}", self.tasks.fetch_add(1, Ordering::SeqCst) + 1);
            return Some(
                axum::Json(json!({"code": 200, "data": {"task_id": id, "status": "pending"}})).into_response(),
            );
        }
        if let Some(id) = path.strip_prefix("/api/v1/task/") {
            let mut polls = self.polls.lock().unwrap();
            let asked = polls.entry(id.to_owned()).or_default();
            *asked += 1;
            if *asked == 1 {
                return Some(
                    axum::Json(json!({"code": 200, "data": {"task_id": id, "status": "processing"}})).into_response(),
                );
            }
            let images: Vec<String> = (1..=4).map(|n| format!("https://cdn.piapi.example/{id}-{n}.png")).collect();
            let output = json!({
                "temporary_image_urls": images, "image_url": images[0], "video_url": TASK_VIDEO,
                "works": [{"video": {"resource_without_watermark": TASK_VIDEO_CLEAN}, "image": {"resource": TASK_IMAGE}}],
            });
            return Some(
                axum::Json(json!({"code": 200, "data": {"task_id": id, "status": "completed", "output": output}}))
                    .into_response(),
            );
        }
        if path == "/v1/chat/completions" {
            if body["model"] == "gpt-4o-mini" {
                let story =
                    json!({"title": "The Stream", "prompt1": "a girl", "prompt2": "a rabbit", "prompt3": "a stream"});
                let message = json!({"role": "assistant", "content": story.to_string()});
                return Some(axum::Json(json!({"choices": [{"index": 0, "message": message}]})).into_response());
            }
            let content = if self.image_chats.fetch_add(1, Ordering::SeqCst) == 0 {
                "Still drawing...".to_owned()
            } else {
                format!("![image]({CHAT_IMAGE})")
            };
            let chunk = json!({"choices": [{"index": 0, "delta": {"content": content}}]});
            let stream = format!("data: {chunk}\n\ndata: [DONE]\n\n");
            return Some(([(CONTENT_TYPE, "text/event-stream")], stream).into_response());
        }
        None
    }
}

/// A fake of every service the workflows call: answers any request with JSON describing it
/// (a `.html` path with [`CONTACT_PAGE`], PiAPI's paths as [`PiApi`]), counting them.
async fn fake_services() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let piapi = Arc::new(PiApi::default());
    let app = axum::Router::new().fallback(move |request: Request| {
        let counted = Arc::clone(&counted);
        let piapi = Arc::clone(&piapi);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let path = request.uri().path().to_owned();
            if path.starts_with("/api/v1/task") || path == "/v1/chat/completions" {
                let method = request.method().clone();
                let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if let Some(answer) = piapi.answer(&method, &path, &body) {
                    return answer;
                }
                return (axum::http::StatusCode::NOT_FOUND, "no such PiAPI path").into_response();
            }
            if path.ends_with(".html") {
                return ([(CONTENT_TYPE, "text/html")], CONTACT_PAGE).into_response();
            }
            if path.ends_with(".mp4") {
                return ([(CONTENT_TYPE, "video/mp4")], VIDEO.to_vec()).into_response();
            }
            // Gemini's file upload takes the video's bytes (1876); anything else is refused.
            if path.starts_with("/upload/v1beta/files") {
                let sent = request.headers().get(CONTENT_TYPE).cloned();
                let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
                if body.as_ref() != VIDEO || sent.as_ref().is_none_or(|kind| kind != "video/mp4") {
                    return (axum::http::StatusCode::BAD_REQUEST, "not the video").into_response();
                }
                return axum::Json(json!({"file": {"uri": "https://generativelanguage.googleapis.com/v1beta/files/v1", "mimeType": "video/mp4"}})).into_response();
            }
            if path.ends_with(":generateContent") {
                return axum::Json(json!({"candidates": [{"content": {"parts": [{"text": VIDEO_DESCRIPTION}]}}]}))
                    .into_response();
            }
            // SpaceX's GraphQL API answers a JSON request for the past launches (1026).
            if path == "/graphql/" {
                let is_json = request.headers().get(CONTENT_TYPE).is_some_and(|kind| kind == "application/json");
                let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
                let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if !is_json || !asked["query"].as_str().is_some_and(|query| query.contains("launchesPast")) {
                    return (axum::http::StatusCode::BAD_REQUEST, "not a launches query").into_response();
                }
                return ([(CONTENT_TYPE, "application/json")], SPACEX_ANSWER).into_response();
            }
            // Cloudflare's KV namespaces, titled as the template's placeholders name them (0384).
            if path.ends_with("/storage/kv/namespaces") && request.method() == axum::http::Method::GET {
                let namespaces = json!([
                    {"id": "ns-1", "title": "<Enter Your Key-Value Namespace Here>"},
                    {"id": "ns-2", "title": "Set Key-Value Namespace for "},
                    {"id": "ns-3", "title": "<Enter your previous Namespace name>"},
                ]);
                return axum::Json(json!({"success": true, "errors": [], "result": namespaces})).into_response();
            }
            let method = request.method().to_string();
            let received = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
            axum::Json(json!({
                "ok": true,
                "method": method,
                "path": path,
                // What a JSON body held, so that outputs show what the workflow sent.
                "received": serde_json::from_slice::<Value>(&received).unwrap_or(Value::Null),
                "data": [{"id": 1, "name": "first"}, {"id": 2, "name": "second"}],
                // A Confluence template, as its API answers (0559).
                "name": "Report for $name$",
                "body": {"storage": {"value": "<p>Dear $name$, see $email$.</p>"}},
            }))
            .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), calls)
}

/// Waits for the run to end, moving its waits on as a test clock would: a waiting run's wait is
/// made to look a day old (the worker times a wait from its first recorded sighting) and the
/// run due, so the worker wakes it and finds the wait over. The polling workflows wait minutes.
async fn finished(app: &TestApp, ws: &TestWorkspace, run: &str) -> RunOut {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out: RunOut =
            expect_status(app.get(&ws.path(&format!("/runs/{run}")), Some(&ws.owner.access_token)).await, 200).await;
        match out.status.as_str() {
            "waiting" => {
                let aged = format!(
                    "UPDATE steps SET started_at = started_at - 86400000 WHERE run_id = '{run}' AND status = 'skipped'"
                );
                app.execute_sql(&aged).await;
                // Due now: the app's worker wakes it within a second.
                app.execute_sql(&format!("UPDATE runs SET wake_at = 0 WHERE id = '{run}' AND status = 'waiting'"))
                    .await;
            }
            "queued" | "running" => {}
            _ => return out,
        }
        assert!(Instant::now() < deadline, "run {run} did not finish: {out:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn import(app: &TestApp, ws: &TestWorkspace, n8n: &Value) -> String {
    let body = json!({"format": "n8n", "workflow": n8n});
    let imported: ImportedOut =
        expect_status(app.post(&ws.path("/workflows/import"), Some(&ws.owner.access_token), &body).await, 201).await;
    imported.items[0].id.clone()
}

/// Starts the workflow's draft the way its trigger would: a manual run; a request to the
/// webhook's test URL with the input's first body; or a run queued as the scheduler does.
async fn start(app: &TestApp, ws: &TestWorkspace, id: &str, workflow: &Runnable) -> String {
    let token = Some(ws.owner.access_token.as_str());
    match workflow.trigger_type.as_str() {
        "webhook_trigger" => {
            let hooks: Value =
                expect_status(app.get(&ws.path(&format!("/workflows/{id}/webhooks")), token).await, 200).await;
            let url = hooks["items"][0]["test_url"].as_str().expect("a test URL").replace("http://weft.test", "");
            let body = workflow.input.get(0).and_then(|item| item.get("body")).cloned().unwrap_or(json!({}));
            let method: reqwest::Method = workflow.method.parse().expect("an HTTP method");
            let query = workflow.input.get(0).and_then(|item| item.get("query")).and_then(Value::as_object);
            let pairs: Vec<(String, String)> = query
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect();
            let request = app.request(method.clone(), &url, None).query(&pairs);
            let request = if method == reqwest::Method::GET { request } else { request.json(&body) };
            let answer = request.send().await.expect("the webhook answers");
            // 502: the run failed before answering; it is recorded, and judged below like any run.
            let answered = answer.status().is_success() || answer.status() == reqwest::StatusCode::BAD_GATEWAY;
            assert!(answered, "{}: the webhook answered {}", workflow.file, answer.status());
            let runs: Value = expect_status(app.get(&ws.path(&format!("/runs?workflow={id}")), token).await, 200).await;
            runs["items"][0]["id"].as_str().expect("the webhook's run").to_owned()
        }
        "schedule_trigger" => {
            let (_, scope) = app.store.system_scope(&ws.id).await.unwrap();
            let workflow_id = id.parse().expect("a workflow id");
            let new = NewRun {
                workflow: &workflow_id,
                version: 1,
                input: &workflow.input,
                trigger: "schedule",
                trigger_node: Some(&workflow.trigger),
            };
            app.store.enqueue_run(&scope, new).await.unwrap().id.to_string()
        }
        _ => {
            let path = ws.path(&format!("/workflows/{id}/runs"));
            let body = json!({"version": 1, "input": workflow.input});
            let started: Value = expect_status(app.post(&path, token, &body).await, 202).await;
            started["run_id"].as_str().unwrap().to_owned()
        }
    }
}

backend_test! {
    async fn fully_supported_corpus_workflows_run_end_to_end(backend) {
        let (services, calls) = fake_services().await;
        let app = TestApp::spawn_with(backend, |config| {
            config.outbound_allow_cidrs = vec!["127.0.0.1/32".to_owned()];
            config.outbound_host_override = Some(services.clone());
        })
        .await;
        let ws = app.new_workspace("ada@example.com").await;
        let runnable = runnable_corpus();
        let (mut succeeded, mut failures) = (Vec::new(), Vec::new());
        for workflow in &runnable {
            let id = import(&app, &ws, &workflow.n8n).await;
            let before = calls.load(Ordering::SeqCst);
            let began = Instant::now();
            let run = start(&app, &ws, &id, workflow).await;
            let out = finished(&app, &ws, &run).await;
            println!("{}: {} in {:?}", workflow.file, out.status, began.elapsed());
            if out.status != "succeeded" {
                failures.push(format!("{}: {} {:?}", workflow.file, out.status, out.error));
                continue;
            }
            let output = out.output.unwrap_or_default();
            assert!(output.as_object().is_some_and(|ends| !ends.is_empty()), "{}: no output", workflow.file);
            for (_, pointer, expected) in EXPECTED.iter().filter(|(file, ..)| *file == workflow.file) {
                assert_eq!(output.pointer(pointer), Some(&json!(expected)), "{}: {output}", workflow.file);
            }
            if workflow.http_nodes > 0 {
                assert!(calls.load(Ordering::SeqCst) > before, "{}: its HTTP requests reached the fake", workflow.file);
            }
            succeeded.push(workflow.file.as_str());
        }
        println!("ran {} corpus workflows; succeeded: {succeeded:?}", runnable.len());
        assert!(failures.is_empty(), "runs that did not succeed: {failures:#?}");
        assert!(succeeded.len() >= RUN_AT_LEAST, "only {} corpus workflows ran: {succeeded:?}", succeeded.len());
    }
}
